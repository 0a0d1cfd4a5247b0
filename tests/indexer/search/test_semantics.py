"""The rules every engine shares (indexer.search.semantics), against hand-worked examples.

Every engine, the reference one included, calls these functions, so the conformance
properties (each engine against the reference) would agree on a wrong rule. Each expected
value here is worked out by hand in the comment beside it, from the rule as the guides
state it, never by calling the code under test.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from indexer.facets import Facet, facets_for
from indexer.ontology import BOOLEAN, CATEGORICAL, AttrSpec, LabelSpec, Ontology
from indexer.records import EventRecord, FrameRecord, ObjectRecord, TrackRecord, VideoMeta, Waypoint
from indexer.search.contract import Histogram, SearchRequest
from indexer.search.semantics import (
    VIDEO_TIME_WIDTHS,
    WALL_CLOCK_WIDTHS,
    append_split,
    batches,
    bin_of,
    check_frame_index,
    check_tile_level,
    check_video_id,
    clip_break_s,
    cond_holds,
    dwell_mask,
    effective_fps,
    empty_result,
    facet_frame_node,
    facet_unit,
    frame_locations,
    histogram,
    implied_pair,
    in_bbox,
    in_polygon,
    in_window,
    lead_clip_starts,
    object_holds,
    page_bounds,
    plain_attrs,
    positive_object_specs,
    recorded_epoch,
    refuse_track_records,
    requested_facets,
    scope_problem,
    seconds_of,
    sequence_leads,
    stat_unit,
    tile_of,
    time_bins,
    value_kind,
    video_values,
)

ONTOLOGY = Ontology(
    frame_attrs={"scene": AttrSpec("scene", CATEGORICAL, ["city", "highway"])},
    objects={
        "vehicle": LabelSpec("vehicle", {
            "color": AttrSpec("color", CATEGORICAL, ["black", "white"]),
            "parked": AttrSpec("parked", BOOLEAN),
        }),
        "person": LabelSpec("person", {}),
    },
    events={"brake": LabelSpec("brake", {})},
)
FACETS = facets_for(ONTOLOGY)


def request(**fields) -> SearchRequest:
    return SearchRequest(ontology=ONTOLOGY, query={"and": []}, **fields)


# Videos and frames -------------------------------------------------------------------------------


@pytest.mark.parametrize(("fps", "expected"), [(25, 25.0), (12.5, 12.5), (0, 30.0), (-5, 30.0), (None, 30.0)])
def test_fps_is_the_payloads_when_positive_else_30(fps, expected):
    assert effective_fps(VideoMeta(fps=fps)) == expected


def test_recorded_at_is_epoch_seconds_and_a_naive_datetime_is_utc():
    # 2024-05-01 is 19844 days after 1970-01-01: 19844 * 86400 + 12 * 3600 = 1714564800.
    assert recorded_epoch(VideoMeta(recorded_at=datetime(2024, 5, 1, 12))) == 1714564800.0
    assert recorded_epoch(VideoMeta(recorded_at=datetime(2024, 5, 1, 12, tzinfo=UTC))) == 1714564800.0
    # 12:00 at UTC+2 is 10:00 UTC, two hours earlier.
    east = timezone(timedelta(hours=2))
    assert recorded_epoch(VideoMeta(recorded_at=datetime(2024, 5, 1, 12, tzinfo=east))) == 1714557600.0
    assert recorded_epoch(VideoMeta()) is None


def test_a_naive_recorded_at_is_utc_whatever_the_machines_time_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert recorded_epoch(VideoMeta(recorded_at=datetime(2024, 5, 1, 12))) == 1714564800.0
    finally:
        monkeypatch.undo()
        time.tzset()


def test_video_builtins_shadow_attributes_of_the_same_name():
    meta = VideoMeta(camera="cam-1", attrs={"name": "payload name", "camera": "other", "weather": "rain"})
    assert video_values("street", meta) == {"weather": "rain", "name": "street", "camera": "cam-1"}
    # A built-in that is None leaves the name unset, even when an attribute had it.
    assert video_values("street", VideoMeta(attrs={"camera": "other"})) == {"name": "street"}


def test_frame_locations_interpolate_between_waypoints_and_never_extrapolate():
    gps = [Waypoint(0.0, 10.0, 20.0), Waypoint(10.0, 20.0, 40.0)]
    lat, lon = frame_locations(gps, np.array([5.0, 0.0, 10.0, 2.5, -1.0, 11.0]))
    # t 5 is half way: (15, 30); t 2.5 a quarter: (12.5, 25); before 0 and after 10: none.
    assert lat[:4].tolist() == [15.0, 10.0, 20.0, 12.5]
    assert lon[:4].tolist() == [30.0, 20.0, 40.0, 25.0]
    assert np.isnan(lat[4:]).all() and np.isnan(lon[4:]).all()
    none_lat, _ = frame_locations([], np.array([1.0]))
    assert np.isnan(none_lat).all()


def test_frame_indices_fit_32_bits_and_video_ids_31():
    check_frame_index(0)
    check_frame_index(2**32 - 1)
    with pytest.raises(ValueError, match=r"frame index 4294967296 is outside 0\.\.4294967295"):
        check_frame_index(2**32)
    with pytest.raises(ValueError, match="frame index -1"):
        check_frame_index(-1)
    check_video_id(2**31 - 1)
    with pytest.raises(ValueError, match=r"video id 2147483648 is outside 0\.\.2147483647"):
        check_video_id(2**31)


# Values and conditions ---------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "kind"), [
    (True, "bool"), (False, "bool"), (0, "num"), (1.5, "num"), (math.inf, "num"), ("true", "str"), ("", "str"),
    (None, None), ([1], None), ({"a": 1}, None),
])
def test_value_kinds(value, kind):
    assert value_kind(value) == kind


@pytest.mark.parametrize(("cond", "value", "holds"), [
    ({"in": [True]}, True, True),
    ({"in": ["true"]}, True, False),  # a string never equals a boolean
    ({"in": [1]}, True, False),  # nor does a number
    ({"in": [True]}, 1, False),
    ({"in": [1]}, 1.0, True),  # int and float are one kind
    ({"in": ["red", "blue"]}, "blue", True),
    ({"in": ["red"]}, "Red", False),
    ({"in": [None]}, None, False),  # a missing value meets nothing
    ({"gte": 1, "lte": 3}, 1, True),  # bounds included
    ({"gte": 1, "lte": 3}, 3.0, True),
    ({"gte": 1, "lte": 3}, 3.5, False),
    ({"gte": 1, "lte": 3}, "2", False),  # a range holds only for a number
    ({"gte": 0, "lte": 1}, True, False),  # and a boolean is not one
    ({"gte": None, "lte": None}, -7, True),  # an open range holds for any number
    ({"gte": None, "lte": None}, None, False),  # but not for a missing value
])
def test_conditions_are_typed(cond, value, holds):
    assert cond_holds(cond, value) is holds


def test_one_object_must_meet_every_constraint():
    class Detection:
        label, track, confidence = "vehicle", "7", 0.8
        attrs = {"color": "black", "parked": True}

    car = Detection()
    assert object_holds({"label": "vehicle", "attrs": {"color": {"in": ["black"]}}}, car)
    assert object_holds({}, car)  # no constraint: any detection
    assert not object_holds({"label": "person"}, car)
    assert not object_holds({"track": "8"}, car)
    assert not object_holds({"confidence": {"gte": 0.9, "lte": None}}, car)
    assert not object_holds({"attrs": {"parked": {"in": ["true"]}}}, car)
    assert not object_holds({"attrs": {"speed": {"gte": None, "lte": None}}}, car)  # no such attribute


@pytest.mark.parametrize(("lon", "lat", "inside"), [
    (5.0, 5.0, True), (0.0, 0.0, True), (10.0, 10.0, True),  # edges and corners are included
    (10.000001, 5.0, False), (5.0, -0.000001, False),
])
def test_bbox_edges_are_included(lon, lat, inside):
    assert in_bbox(lon, lat, [0.0, 0.0, 10.0, 10.0]) is inside


@pytest.mark.parametrize(("lon", "inside"), [
    (175.0, True), (-175.0, True), (180.0, True), (0.0, False), (169.9, False),
])
def test_a_bbox_with_west_beyond_east_crosses_the_antimeridian(lon, inside):
    assert in_bbox(lon, 0.0, [170.0, -10.0, -170.0, 10.0]) is inside


SQUARE = [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]]


@pytest.mark.parametrize(("lon", "lat", "inside"), [
    (1.0, 1.0, True),
    (3.0, 1.0, False),
    # PNPOLY's half-open rule, worked through its edge test (yi > y) != (yj > y) and
    # x < (xj - xi) * (y - yi) / (yj - yi) + xi: the left edge (x = 0) is crossed only by
    # points with x < 0, the right edge (x = 2) by every x < 2, so the ray from a point on
    # the left edge crosses once (inside), from the right edge never (outside).
    (0.0, 1.0, True),
    (2.0, 1.0, False),
    # y = 0 lies on the bottom edge: the vertical edges count (0 > 0) is False, (2 > 0) True,
    # so the right edge is crossed: inside. y = 2 (top edge): no edge has one end above.
    (1.0, 0.0, True),
    (1.0, 2.0, False),
    (0.0, 0.0, True),  # bottom-left corner: like the bottom and left edges
    (2.0, 2.0, False),  # top-right corner: like the top and right edges
])
def test_polygon_boundaries_follow_pnpoly(lon, lat, inside):
    assert in_polygon(lon, lat, SQUARE) is inside
    # A closing vertex equal to the first adds a zero-length edge that changes nothing.
    assert in_polygon(lon, lat, [*SQUARE, SQUARE[0]]) is inside


def test_polygons_are_even_odd():
    # The square wound twice: the ray from its centre crosses the right edge twice.
    assert in_polygon(1.0, 1.0, SQUARE + SQUARE) is False
    # A bow tie (0,0) (2,2) (2,0) (0,2): its two triangles meet at (1,1); (1.5, 1) lies in the
    # right one, (1, 0.5) between them in neither.
    bow_tie = [[0.0, 0.0], [2.0, 2.0], [2.0, 0.0], [0.0, 2.0]]
    assert in_polygon(1.5, 1.0, bow_tie) is True
    assert in_polygon(1.0, 0.5, bow_tie) is False


# Clips, pages and facets -------------------------------------------------------------------------


def test_a_clip_breaks_only_past_the_gap_and_its_float_tolerance():
    # 0.1 * 3 is 0.30000000000000004: frames 0.3 s apart by their times still share a clip.
    assert clip_break_s(0.3) == 0.3 + 1e-6
    assert clip_break_s(0.3) >= 0.1 * 3 - 0.0
    assert clip_break_s(0.3) < 0.3 + 2e-6
    assert clip_break_s(0.0) == 1e-6  # gap 0: only frames at the same time (or 1 us apart) merge


@pytest.mark.parametrize(("page", "page_size", "bounds"), [
    (1, 20, (0, 20)), (3, 20, (40, 20)), (2, 7, (7, 7)),
    (0, 20, (0, 20)), (-5, 20, (0, 20)),  # a page below 1 is read as 1
    (2, 0, (0, 0)), (4, -3, (0, 0)),  # a page size below 1: an empty page
])
def test_page_bounds(page, page_size, bounds):
    assert page_bounds(request(page=page, page_size=page_size)) == bounds


def test_requested_facets_keep_the_ontology_order_and_refuse_unknown_keys():
    assert [facet.key for facet in requested_facets(request())] == [
        "label", "object:vehicle.color", "object:vehicle.parked", "frame:scene", "event"]
    chosen = requested_facets(request(facets=["frame:scene", "label"]))
    assert [facet.key for facet in chosen] == ["frame:scene", "label"]
    with pytest.raises(ValueError, match="unknown facet 'frame:weather'"):
        requested_facets(request(facets=["label", "frame:weather"]))


def test_facet_units_default_per_facet_and_refuse_unknown_ones():
    assert facet_unit(request(), FACETS["label"]) == "objects"
    assert facet_unit(request(), FACETS["frame:scene"]) == "frames"
    assert facet_unit(request(facet_unit="videos"), FACETS["label"]) == "videos"
    with pytest.raises(ValueError, match="unknown facet unit 'hours'"):
        facet_unit(request(facet_unit="hours"), FACETS["label"])


def test_a_facets_frame_set_leaves_out_its_own_filter_only():
    filtered = request(filters={"frame:scene": (["city"], []), "label": (["person"], [])})
    own = facet_frame_node(filtered, "frame:scene")
    every = facet_frame_node(filtered, None)
    assert own["and"][0] == {"and": []}  # the query comes first
    assert "scene" not in repr(own) and "person" in repr(own)
    assert "scene" in repr(every) and "person" in repr(every)


def test_an_empty_index_answers_zeros_for_every_facet_value():
    result = empty_result(request(facets=["object:vehicle.parked", "event"]))
    assert result.counts == {"videos": 0, "clips": 0, "frames": 0, "objects": 0, "tracks": 0, "duration_s": 0.0}
    assert result.facets == {"object:vehicle.parked": {True: 0, False: 0}, "event": {"brake": 0}}
    assert (result.clips, result.total_clips) == ([], 0)
    with pytest.raises(ValueError, match="unknown facet unit"):
        empty_result(request(facet_unit="hours"))


# Statistics --------------------------------------------------------------------------------------


def test_seconds_sum_frames_over_fps_per_video_exactly_rounded():
    # 30 frames at 30 fps and 5 at 10 fps: 1.0 + 0.5.
    assert seconds_of({1: 30, 2: 5}, {1: 30.0, 2: 10.0}) == 1.5
    # Ten videos of one frame at 10 fps: ten times 0.1 is exactly 1.0 once rounded at the end
    # (a running float sum gives 0.9999999999999999).
    assert seconds_of(dict.fromkeys(range(10), 1), dict.fromkeys(range(10), 10.0)) == 1.0
    assert seconds_of({}, {}) == 0.0


def test_statistics_units():
    assert stat_unit("seconds") == "seconds"
    with pytest.raises(ValueError, match="unknown unit 'hours'"):
        stat_unit("hours")


def test_the_object_scope_takes_facets_of_one_label():
    label, color, scene = FACETS["label"], FACETS["object:vehicle.color"], FACETS["frame:scene"]
    assert scope_problem(label, color, "object") is None
    assert scope_problem(scene, color, "frame") is None
    assert scope_problem(scene, color, "clip") is None
    assert "'frame:scene' is not an object facet" in scope_problem(color, scene, "object")
    mood = Facet("object:person.mood", "object", "person", "mood", ("calm", "angry"))
    assert "describe different labels" in scope_problem(color, mood, "object")
    assert scope_problem(label, label, "video") == "unknown scope 'video'; expected one of object, frame, clip"


def test_a_label_implies_its_attributes_values():
    assert implied_pair(("label", "vehicle"), ("object:vehicle.color", "black"), FACETS)
    assert implied_pair(("object:vehicle.color", "black"), ("label", "vehicle"), FACETS)
    assert not implied_pair(("label", "person"), ("object:vehicle.color", "black"), FACETS)
    assert not implied_pair(("frame:scene", "city"), ("object:vehicle.color", "black"), FACETS)


# Tiles -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lat", "lon", "z", "tile"), [
    (12.3, 45.6, 0, (0, 0)),  # one tile holds the world
    (0.0, 0.0, 1, (1, 1)),  # the origin is the top-left corner of the south-east quarter
    (-0.000001, -0.000001, 1, (0, 1)),
    (45.0, -90.0, 2, (1, 1)),  # y = (1 - ln(1 + sqrt 2) / pi) / 2 * 4 = 1.44
    # OpenStreetMap's tile of Berlin's centre at level 10 is 550/335: x = 193.405 / 360 * 1024
    # = 550.13, y = (1 - asinh(tan 52.52 deg) / pi) / 2 * 1024 = 335.83. Sydney's at level 10:
    # x = 331.2093 / 360 * 1024 = 942.11, y = (1 - asinh(tan -33.8688 deg) / pi) / 2 * 1024 = 614.49.
    (52.52, 13.405, 10, (550, 335)),
    (-33.8688, 151.2093, 10, (942, 614)),
    # Beyond the projection's +-85.0511 latitude and at lon 180 the tile is clamped to the grid.
    (90.0, 0.0, 3, (4, 0)),
    (-90.0, 0.0, 3, (4, 7)),
    (0.0, 180.0, 3, (7, 4)),
    (0.0, -180.0, 3, (0, 4)),
])
def test_web_mercator_tiles(lat, lon, z, tile):
    assert tile_of(lat, lon, z) == tile


def test_tile_levels_go_from_0_to_22():
    check_tile_level(0)
    check_tile_level(22)
    with pytest.raises(ValueError, match=r"tile level 23 is outside 0\.\.22"):
        check_tile_level(23)


# Time bins ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high", "max_bins", "expected"), [
    # The narrowest 1-2-5 width giving at most max_bins bins, the first bin on a multiple of it:
    (0.0, 9.9, 10, (0.0, 1.0, 10)),  # width 0.5 would need 20 bins
    (0.0, 5.1, 50, (0.0, 0.2, 26)),  # 0.1 s would need 52 bins
    (0.0, 4.9, 50, (0.0, 0.1, 50)),
    (3.2, 3.7, 5, (3.2, 0.2, 3)),  # 0.1 needs 6 bins (3.2 .. 3.8); 0.2 needs 3 (3.2, 3.4, 3.6)
    (7.0, 7.0, 4, (7.0, 0.01, 1)),  # one value: the narrowest width
    (12.3, 12.3, 10, (12.3, 0.01, 1)),
    (1.4, 1.4, 1, (1.39, 0.01, 1)),  # 140 * 0.01 rounds above 1.4: the bin below is taken
    (0.0, 3e7, 10, (0.0, 5e6, 7)),
])
def test_video_time_bins_take_the_narrowest_width_that_fits(low, high, max_bins, expected):
    start, width, bins = time_bins(low, high, max_bins, VIDEO_TIME_WIDTHS)
    assert (start, width, bins) == (pytest.approx(expected[0]), expected[1], expected[2])
    assert start <= low and high < start + bins * width


def test_wall_clock_bins_are_clock_like_and_double_past_a_year():
    # A day in hours: 86399 s / 3600 s = 23.99, so 24 bins from midnight; half hours need 48.
    assert time_bins(0.0, 86399.0, 24, WALL_CLOCK_WIDTHS) == (0.0, 3600.0, 24)
    # Three years in one bin: 364 days fits 4 bins, 728 days 2, 1456 days 1.
    day = 86400.0
    assert time_bins(0.0, 3 * 364 * day, 1, WALL_CLOCK_WIDTHS) == (0.0, 1456 * day, 1)


def test_one_bin_across_zero_starts_at_the_lowest_value():
    assert time_bins(-0.2, 4.5, 1, VIDEO_TIME_WIDTHS) == (-0.2, 5.0, 1)
    assert time_bins(-0.2, 4.5, 2, VIDEO_TIME_WIDTHS) == (-5.0, 5.0, 2)


def test_histograms_count_values_in_their_bins():
    # 0 .. 2.5 in at most 3 bins: width 1 from 0; 0 and 0.5 in the first, 1.0 in the second.
    assert histogram([0.0, 0.5, 1.0, 2.5], 3, VIDEO_TIME_WIDTHS) == Histogram(start=0.0, width=1.0, counts=[2, 1, 1])
    assert histogram([], 3, VIDEO_TIME_WIDTHS) == Histogram(start=None, width=None, counts=[])
    assert bin_of(10.0, 0.0, 1.0, 3) == 2  # clamped to the last bin
    assert bin_of(-1.0, 0.0, 1.0, 3) == 0


# Labels and detections ---------------------------------------------------------------------------


def test_positive_object_predicates_sit_under_an_even_number_of_nots():
    car, person, bike = {"label": "vehicle"}, {"label": "person"}, {"label": "bike"}
    tree = {"and": [{"object": car}, {"not": {"object": person}}, {"or": [{"not": {"not": {"object": bike}}}]}]}
    assert positive_object_specs(tree) == [car, bike]
    # Under one NOT, an AND or OR of objects is negative; a NOT inside it makes one positive again.
    assert positive_object_specs({"not": {"or": [{"object": car}, {"not": {"object": bike}}]}}) == [bike]
    assert positive_object_specs({"frame": {"scene": {"in": ["city"]}}}) == []


def test_label_windows_absorb_float_error_at_their_edges():
    assert in_window(1.0, 1.0, 2.0)
    assert not in_window(2.0, 1.0, 2.0)  # the end is excluded
    assert in_window(1.0 - 5e-10, 1.0, None)  # within the 1e-9 slack
    assert not in_window(0.999999, 1.0, None)
    assert in_window(1e9, 1.0, None)


def test_plain_attributes_keep_text_booleans_and_numbers_as_floats():
    plain = plain_attrs({"speed": 3, "parked": True, "color": "red", "tags": ["a"], "note": None})
    assert plain == {"speed": 3.0, "parked": True, "color": "red"}
    assert type(plain["speed"]) is float


def test_batches():
    assert list(batches(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(batches([], 3)) == []
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        list(batches([1], 0))


# Appends -----------------------------------------------------------------------------------------


def test_an_append_keeps_new_frames_and_events_starting_on_them():
    records = [
        FrameRecord(1, 0.1), ObjectRecord(1, 0.1, "vehicle"), ObjectRecord(1, 0.1, "person"),
        FrameRecord(2, 0.2), ObjectRecord(2, 0.2, "vehicle"),
        ObjectRecord(3, 0.3, "person"),  # a frame named by a detection alone is new too
        EventRecord("brake", 1, 2), EventRecord("brake", 2, 5),
    ]
    split = append_split(records, known={0, 1})
    assert split.fresh == {2, 3}
    assert split.kept == [records[3], records[4], records[5], records[7]]
    assert (split.duplicate_frames, split.duplicate_objects) == (1, 2)
    with pytest.raises(ValueError, match="frame index -1"):
        append_split([FrameRecord(-1, 0.0)], set())


def test_an_append_refuses_track_records():
    refuse_track_records([FrameRecord(0, 0.0)])
    with pytest.raises(ValueError, match="an append takes no track records .*track '7'"):
        refuse_track_records([FrameRecord(0, 0.0), TrackRecord("7", attrs={"color": "red"})])


# Sequences and dwell: the engines' vectorized rules, by hand.


def test_objects_of_sequences_and_dwells_are_matched_on_both_sides():
    car, bike = {"label": "car", "attrs": {}}, {"label": "bike", "attrs": {}}
    sequence = {"sequence": {"first": {"object": car}, "then": {"not": {"object": bike}}, "within_s": 5.0}}
    assert positive_object_specs(sequence) == [car]
    assert positive_object_specs({"not": {"dwell": {"query": {"object": bike}, "min_s": 1.0, "gap_s": 3.0}}}) == []


def test_sequence_leads_take_strictly_earlier_frames_within_the_window_exactly():
    # 0.1 + 0.2 - 0.1 is 0.20000000000000004 in float64: a window of 0.2 leaves it out.
    first = {"video": np.array([1, 1, 2]), "t": np.array([0.1, 1.0, 0.0]), "idx": np.array([1, 10, 0]),
             "lead_t": np.array([0.1, 0.5, 0.0]), "lead_idx": np.array([1, 5, 0])}
    then = {"video": np.array([1, 1, 1, 2]), "t": np.array([0.1 + 0.2, 1.0, 1.2, 0.0])}
    found, lead_t, lead_idx = sequence_leads(first, then, 0.2)
    assert found.tolist() == [False, False, True, False]  # too far; same time is not earlier; ok; same frame
    assert lead_t[2] == 0.5 and lead_idx[2] == 5  # the lead of the A at 1.0, not the A itself
    found, lead_t, lead_idx = sequence_leads(first, then, 2.0)
    assert found.tolist() == [True, True, True, False]
    assert lead_t.tolist()[:3] == [0.1, 0.1, 0.1]  # the earliest lead of the window


def test_dwell_runs_break_at_gaps_not_shorter_than_gap_s():
    group = np.array([1, 1, 1, 1, 2, 2])
    t = np.array([0.0, 1.0, 3.0, 4.0, 4.0, 9.0])
    assert dwell_mask(group, t, 2.0, 2.5).tolist() == [False, False, True, True, False, False]
    assert dwell_mask(group, t, 2.0, 2.0).tolist() == [False, False, False, False, False, False]
    assert dwell_mask(group, t, 0.0, 2.0).tolist() == [True] * 6


def test_lead_clips_start_where_a_lead_is_past_the_gap_after_the_latest_frame():
    # Rows by (video, lead): leads 0, 0, 8 with frames at 4, 20, 9: 8 - 20 <= 1, one clip.
    assert lead_clip_starts(np.array([1, 1, 1]), np.array([4.0, 20.0, 9.0]), np.array([0.0, 0.0, 8.0]),
                            1.0).tolist() == [True, False, False]
    assert lead_clip_starts(np.array([1, 1, 2]), np.array([4.0, 9.0, 9.0]), np.array([0.0, 6.0, 0.0]),
                            1.0).tolist() == [True, True, True]
