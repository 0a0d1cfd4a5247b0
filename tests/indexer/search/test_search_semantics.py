"""Search semantics an analyst relies on (the query language, clips and counts, and
facets of docs/guide/), checked on every backend, plus what only the DuckDB engine must
guarantee (persistence, concurrent readers and writers, values that look like SQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from indexer.facets import parse_filters
from indexer.ontology import BOOLEAN, CATEGORICAL, NUMERIC, AttrSpec, LabelSpec, Ontology
from indexer.records import (
    Analytics,
    EventRecord,
    FrameRecord,
    ObjectRecord,
    TrackRecord,
    VideoMeta,
    Waypoint,
)
from indexer.search import duckdb as duckdb_backend
from indexer.search import reference
from indexer.search.contract import SearchRequest, SearchResult
from tests.indexer.search.elasticsearch import live as live_elasticsearch

REPO = Path(__file__).resolve().parents[3]
INJECTION = "x'; DROP TABLE frames; --"

ONTOLOGY = Ontology(
    video_attrs={"weather": AttrSpec("weather", CATEGORICAL, ["sunny", "rain", INJECTION])},
    frame_attrs={"scene": AttrSpec("scene", CATEGORICAL, ["city", "highway", "parking"])},
    objects={
        "vehicle": LabelSpec("vehicle", {
            "type": AttrSpec("type", CATEGORICAL, ["sedan", "suv", "truck"]),
            "color": AttrSpec("color", CATEGORICAL, ["black", "white", "red", "o'range"]),
            "parked": AttrSpec("parked", BOOLEAN),
            "speed": AttrSpec("speed", NUMERIC),
        }, constant={"type"}),
        "person": LabelSpec("person", {"speed": AttrSpec("speed", NUMERIC)}),
    },
    events={"brake": LabelSpec("brake", {"severity": AttrSpec("severity", CATEGORICAL, ["hard", "soft"])})},
)


# Builders --------------------------------------------------------------------------------------


def video(*records, fps: float | None = 30.0, gps: list[Waypoint] | None = None, **meta: Any) -> Analytics:
    return Analytics.from_list(format="test", meta=VideoMeta(fps=fps, gps=gps or [], **meta), records=records)


def frame(index: int, fps: float = 30.0, **attrs: Any) -> FrameRecord:
    return FrameRecord(index, index / fps, attrs)


def vehicle(index: int, track: str | None = None, fps: float = 30.0, **attrs: Any) -> ObjectRecord:
    return ObjectRecord(index, index / fps, "vehicle", track=track, confidence=0.9, attrs=attrs)


def person(index: int, fps: float = 30.0) -> ObjectRecord:
    return ObjectRecord(index, index / fps, "person", confidence=0.8)


def obj(label: str | None = None, **attrs: Any) -> dict[str, Any]:
    conds = {name: {"in": value if isinstance(value, list) else [value]} for name, value in attrs.items()}
    return {"object": {"label": label, "attrs": conds, "confidence": None, "track": None}}


EVERYTHING: dict[str, Any] = {"and": []}


def search(backend, query: dict[str, Any] = EVERYTHING, filters: dict[str, list] | None = None,
           **options: Any) -> SearchResult:
    request = SearchRequest(ontology=ONTOLOGY, query=query, filters=parse_filters(filters, ONTOLOGY), **options)
    return backend.search(request=request)


def frames_of(backend, query: dict[str, Any], **options: Any) -> int:
    return search(backend, query, facets=[], **options).counts["frames"]


@pytest.fixture(params=["reference", "duckdb", "elasticsearch"])
def backend(request, tmp_path):
    if request.param == "reference":
        yield reference.SearchBackend()
        return
    if request.param == "elasticsearch":
        live_elasticsearch.require_cluster()
        with live_elasticsearch.engine() as engine:
            yield engine
        return
    engine = duckdb_backend.SearchBackend(tmp_path)
    yield engine
    engine.close()


@pytest.fixture
def engine(tmp_path):
    engine = duckdb_backend.SearchBackend(tmp_path)
    yield engine
    engine.close()


# Queries ---------------------------------------------------------------------------------------


def test_a_black_sedan_is_one_object_not_a_sedan_and_something_black(backend):
    backend.index_video(video_id=1, name="v", analytics=video(
        vehicle(0, type="sedan", color="black"),
        vehicle(1, type="sedan", color="white"),
        vehicle(1, type="suv", color="black"),
    ))
    assert frames_of(backend, obj("vehicle", type="sedan", color="black")) == 1
    assert frames_of(backend, {"and": [obj("vehicle", type="sedan"), obj("vehicle", color="black")]}) == 2


def test_not_of_an_object_means_no_such_object_in_the_frame(backend):
    backend.index_video(video_id=1, name="v", analytics=video(
        person(0), vehicle(0, color="black"), vehicle(1, color="white"), frame(2, scene="city"),
    ))
    assert frames_of(backend, {"not": obj("person")}) == 2
    assert frames_of(backend, {"not": obj("vehicle", color="black")}) == 2
    assert frames_of(backend, {"not": obj()}) == 1


def test_typed_values_never_meet_other_types(backend):
    backend.index_video(video_id=1, name="v", analytics=video(vehicle(0, parked=True), vehicle(1, color="true")))
    assert frames_of(backend, obj("vehicle", parked=True)) == 1
    assert frames_of(backend, obj("vehicle", parked="true")) == 0
    assert frames_of(backend, obj("vehicle", color=True)) == 0
    assert frames_of(backend, obj("vehicle", color="true")) == 1


def test_numeric_conditions_stay_with_their_object_and_type(backend):
    backend.index_video(video_id=1, name="v", analytics=video(
        ObjectRecord(0, 0.0, "person", attrs={"speed": 3.0}),
        vehicle(1, speed=1.0),
        vehicle(2, speed=3.0, color="black"),
        vehicle(3, speed=True),
    ))
    speed = {"gte": 2.0, "lte": None}
    assert frames_of(backend, {"object": {"label": "vehicle", "attrs": {"speed": speed}, "confidence": None,
                                          "track": None}}) == 1
    assert frames_of(backend, obj("vehicle", speed=3.0)) == 1
    assert frames_of(backend, obj(None, speed=3.0)) == 2
    assert frames_of(backend, obj("vehicle", speed=[1.0, 3.0], color="black")) == 1
    open_range = {"object": {"label": "vehicle", "attrs": {"speed": {"gte": None, "lte": None}}, "confidence": None,
                             "track": None}}
    assert frames_of(backend, open_range) == 2  # a boolean is not a number
    assert frames_of(backend, obj("vehicle", speed=1)) == 1


def test_events_cover_their_inclusive_frame_span(backend):
    backend.index_video(video_id=1, name="v", analytics=video(
        *(frame(i) for i in range(6)),
        EventRecord("brake", 1, 3, {"severity": "hard"}),
        EventRecord("brake", 3, 4, {"severity": "soft"}),
    ))
    assert frames_of(backend, {"event": {"label": "brake", "attrs": {}}}) == 4
    assert frames_of(backend, {"event": {"label": "brake", "attrs": {"severity": {"in": ["hard"]}}}}) == 3
    result = search(backend, facets=["event", "event:brake.severity"])
    assert result.facets == {"event": {"brake": 4}, "event:brake.severity": {"hard": 3, "soft": 2}}


def test_video_builtins_and_attributes(backend):
    recorded = datetime(2024, 5, 1, 12, tzinfo=UTC)
    backend.index_video(video_id=1, name="dashcam", analytics=video(
        frame(0), camera="front", recorded_at=recorded, attrs={"weather": "rain"}))
    backend.index_video(video_id=2, name="other", analytics=video(frame(0), frame(1)))
    assert frames_of(backend, {"video": {"name": {"in": ["dashcam"]}}}) == 1
    assert frames_of(backend, {"video": {"camera": {"in": ["front"]}, "weather": {"in": ["rain"]}}}) == 1
    epoch = recorded.timestamp()
    assert frames_of(backend, {"video": {"recorded_at": {"gte": epoch, "lte": None}}}) == 1
    assert frames_of(backend, {"not": {"video": {"recorded_at": {"gte": None, "lte": None}}}}) == 2


# Clips -----------------------------------------------------------------------------------------


def test_frames_exactly_gap_s_apart_stay_in_one_clip(backend):
    backend.index_video(video_id=1, name="v", analytics=video(frame(0), frame(30)))
    result = search(backend, gap_s=1.0)
    assert result.total_clips == 1
    clip = result.clips[0]
    assert (clip.start_s, clip.end_s, clip.start_frame, clip.end_frame, clip.frames) == (0.0, 1.0 + 1 / 30, 0, 30, 2)
    assert result.counts["duration_s"] == pytest.approx(1.0 + 1 / 30)


def test_frames_one_frame_more_than_gap_s_apart_split(backend):
    backend.index_video(video_id=1, name="v", analytics=video(frame(0), frame(31)))
    result = search(backend, gap_s=1.0)
    assert [(c.start_frame, c.end_frame) for c in result.clips] == [(0, 0), (31, 31)]
    assert result.counts["duration_s"] == pytest.approx(2 / 30)


def test_float_rounding_of_frame_times_does_not_split_a_clip(backend):
    # 12/30 - 9/30 is 0.10000000000000003 in floats: three frames at 30 fps are 0.1 s apart.
    backend.index_video(video_id=1, name="v", analytics=video(frame(9), frame(12)))
    assert search(backend, gap_s=0.1).total_clips == 1


def test_clips_are_paged_by_video_then_start(backend):
    backend.index_video(video_id=2, name="b", analytics=video(frame(0), frame(90)))
    backend.index_video(video_id=1, name="a", analytics=video(frame(60), frame(0)))
    first = search(backend, page=1, page_size=3)
    second = search(backend, page=2, page_size=3)
    assert [(c.video_id, c.start_frame) for c in first.clips + second.clips] == [(1, 0), (1, 60), (2, 0), (2, 90)]
    assert first.total_clips == second.total_clips == 4


# Geo -------------------------------------------------------------------------------------------


def _gps_corpus(backend) -> None:
    gps = [Waypoint(0.0, 10.0, 20.0), Waypoint(1.0, 11.0, 21.0)]
    # Frame 60 (t = 2 s) lies after the last waypoint: no location, never extrapolated.
    backend.index_video(video_id=1, name="gps", analytics=video(frame(0), frame(15), frame(60), gps=gps))
    backend.index_video(video_id=2, name="no gps", analytics=video(frame(0), frame(1)))


def test_frames_without_location_never_match_geo(backend):
    _gps_corpus(backend)
    box = {"geo": {"bbox": [19.0, 9.0, 22.0, 12.0]}}
    polygon = {"geo": {"polygon": [[19.0, 9.0], [22.0, 9.0], [22.0, 12.0], [19.0, 12.0]]}}
    assert frames_of(backend, box) == 2
    assert frames_of(backend, polygon) == 2
    assert frames_of(backend, {"geo": {"bbox": [20.4, 10.4, 22.0, 12.0]}}) == 1  # the interpolated frame 15
    assert frames_of(backend, {"not": box}) == 3
    assert frames_of(backend, {"not": polygon}) == 3


def test_a_bbox_with_west_greater_than_east_crosses_the_antimeridian(backend):
    gps = [Waypoint(0.0, 5.0, 179.5), Waypoint(1.0, 5.0, -179.5)]
    backend.index_video(video_id=1, name="v", analytics=video(frame(0), frame(30), gps=gps))
    assert frames_of(backend, {"geo": {"bbox": [179.0, 0.0, -179.0, 10.0]}}) == 2
    assert frames_of(backend, {"geo": {"bbox": [-179.0, 0.0, 179.0, 10.0]}}) == 0


# Tracks ----------------------------------------------------------------------------------------


def test_constant_track_attributes_apply_to_earlier_detections_first_wins(backend):
    backend.index_video(video_id=1, name="v", analytics=video(
        vehicle(0, track="7", type="suv", color="red"),
        vehicle(1, track="7", color="black"),
        vehicle(2, track="8", type="suv"),
        TrackRecord("7", "vehicle", {"type": "truck"}),
        TrackRecord("7", "vehicle", {"type": "sedan", "color": "white"}),
    ))
    assert frames_of(backend, obj("vehicle", type="truck")) == 2
    assert frames_of(backend, obj("vehicle", type="sedan")) == 0
    assert frames_of(backend, obj("vehicle", type="suv")) == 1
    # "color" came second for the track, so it is constant too: white everywhere on track 7.
    assert frames_of(backend, obj("vehicle", color="white")) == 2
    result = search(backend, facets=["object:vehicle.type"], facet_unit="tracks")
    assert result.facets["object:vehicle.type"] == {"sedan": 0, "suv": 1, "truck": 1}


# Writes ----------------------------------------------------------------------------------------


def test_indexing_a_video_again_replaces_it(backend):
    first = backend.index_video(video_id=1, name="v", analytics=video(vehicle(0, track="a"), frame(1), frame(2)))
    assert (first.frames, first.objects, first.tracks, first.events) == (3, 1, 1, 0)
    second = backend.index_video(video_id=1, name="v2", analytics=video(person(5)))
    assert (second.frames, second.objects, second.tracks) == (1, 1, 0)
    result = search(backend)
    assert (result.counts["frames"], result.counts["objects"], result.counts["videos"]) == (1, 1, 1)
    assert result.facets["label"] == {"vehicle": 0, "person": 1}
    assert frames_of(backend, {"video": {"name": {"in": ["v"]}}}) == 0
    assert backend.video_ids() == [1]


def test_delete_video_removes_it_and_ignores_absent_ids(backend):
    backend.index_video(video_id=1, name="a", analytics=video(frame(0)))
    backend.index_video(video_id=2, name="b", analytics=video(frame(0), frame(1)))
    backend.delete_video(video_id=1)
    backend.delete_video(video_id=99)
    assert backend.video_ids() == [2]
    assert search(backend).counts["frames"] == 2


def test_rebuild_replaces_everything(backend):
    backend.index_video(video_id=1, name="a", analytics=video(frame(0)))
    backend.rebuild(videos=[(3, "c", video(frame(0))), (2, "b", video(frame(0))), (3, "c2", video(frame(5)))])
    assert backend.video_ids() == [2, 3]
    assert search(backend, {"video": {"name": {"in": ["c2"]}}}).clips[0].start_frame == 5


@pytest.mark.parametrize(("video_id", "index"), [(-1, 0), (2**31, 0), (1, -1), (1, 2**32)])
def test_ids_that_do_not_fit_are_rejected(backend, video_id, index):
    with pytest.raises(ValueError):
        backend.index_video(video_id=video_id, name="v", analytics=video(frame(0), FrameRecord(index, 0.5)))
    assert backend.video_ids() == []


def test_an_empty_index_answers_zeros_with_every_facet_value(backend):
    result = search(backend, obj("vehicle"))
    assert result.counts == {"videos": 0, "clips": 0, "frames": 0, "objects": 0, "tracks": 0, "duration_s": 0.0}
    assert result.facets["object:vehicle.parked"] == {True: 0, False: 0}
    assert result.clips == [] and result.total_clips == 0
    assert backend.video_ids() == []


# Facets ----------------------------------------------------------------------------------------


def _facet_corpus(backend) -> None:
    backend.index_video(video_id=1, name="one", analytics=video(
        frame(0, scene="city"), vehicle(0, track="a", color="black"), vehicle(0, track="b", color="black"),
        person(0),
        vehicle(1, track="a", color="black"),
        frame(90, scene="highway"), vehicle(90, track="c", color="white"),
        attrs={"weather": "sunny"},
    ))
    backend.index_video(video_id=2, name="two", analytics=video(
        frame(0, scene="city"), vehicle(0, color="black"), attrs={"weather": "rain"},
    ))


def test_facets_are_disjunctive_and_list_every_value(backend):
    _facet_corpus(backend)
    result = search(backend, filters={"object:vehicle.color": ["black"], "frame:scene": ["!city"]})
    assert result.counts["frames"] == 1  # frame 1: a black vehicle, no scene
    # A facet is not narrowed by its own selection: white and city are still offered.
    assert result.facets["object:vehicle.color"] == {"black": 1, "white": 1, "red": 0, "o'range": 0}
    assert result.facets["frame:scene"] == {"city": 2, "highway": 0, "parking": 0}
    assert result.facets["label"] == {"vehicle": 1, "person": 0}
    assert result.facets["video:weather"] == {"sunny": 1, "rain": 0, INJECTION: 0}
    assert result.facets["object:vehicle.parked"] == {True: 0, False: 0}


UNIT_EXPECTATIONS = {
    # unit: (vehicle, person, black, city)
    "objects": (5, 1, 4, 4),
    "tracks": (3, 0, 2, 2),
    "frames": (4, 1, 3, 2),
    "clips": (3, 1, 2, 2),
    "videos": (2, 1, 2, 2),
}


@pytest.mark.parametrize("unit", sorted(UNIT_EXPECTATIONS))
def test_each_facet_unit(backend, unit):
    _facet_corpus(backend)
    facets = search(backend, facet_unit=unit).facets
    vehicles, persons, black, city = UNIT_EXPECTATIONS[unit]
    assert facets["label"] == {"vehicle": vehicles, "person": persons}
    assert facets["object:vehicle.color"]["black"] == black
    assert facets["frame:scene"]["city"] == city


def test_default_units_are_objects_for_object_facets_and_frames_for_others(backend):
    _facet_corpus(backend)
    result = search(backend)
    assert result.facets["label"] == {"vehicle": 5, "person": 1}
    assert result.facets["frame:scene"] == {"city": 2, "highway": 1, "parking": 0}
    assert result.counts == {"videos": 2, "clips": 3, "frames": 4, "objects": 6, "tracks": 3,
                             "duration_s": pytest.approx(2 / 30 + 1 / 30 + 1 / 30)}


# Values that look like SQL -----------------------------------------------------------------------


def test_quotes_and_sql_in_values_are_plain_values(backend):
    backend.index_video(video_id=1, name=INJECTION, analytics=video(
        vehicle(0, color="o'range"), camera="o'hara", attrs={"weather": INJECTION}))
    assert frames_of(backend, {"video": {"name": {"in": [INJECTION]}}}) == 1
    assert frames_of(backend, {"video": {"camera": {"in": ["o'hara"]}}}) == 1
    assert frames_of(backend, obj("vehicle", color="o'range")) == 1
    assert frames_of(backend, obj("vehicle", color=INJECTION)) == 0
    result = search(backend, filters={"video:weather": [INJECTION]})
    assert result.counts["frames"] == 1
    assert result.facets["video:weather"][INJECTION] == 1
    assert backend.video_ids() == [1]


# DuckDB only: persistence, generations, concurrency ----------------------------------------------


def _run_python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_index_survives_a_restart(engine, tmp_path):
    _facet_corpus(engine)
    expected = search(engine).counts
    printed = _run_python(
        "import json\n"
        "from tests.indexer.search.test_search_semantics import search\n"
        "from indexer.search.duckdb import SearchBackend\n"
        f"print(json.dumps(search(SearchBackend({str(tmp_path)!r})).counts))\n"
    )
    assert json.loads(printed) == expected


def test_a_failed_index_leaves_the_index_as_it_was(engine, tmp_path):
    _facet_corpus(engine)
    before = search(engine)
    files = sorted(path.name for path in (tmp_path / "index").iterdir())
    with pytest.raises(ValueError):
        engine.index_video(video_id=1, name="broken", analytics=video(frame(0), frame(-1)))
    assert search(engine) == before
    assert sorted(path.name for path in (tmp_path / "index").iterdir()) == files


def test_old_generations_are_removed(engine, tmp_path):
    for video_id in range(1, 5):
        engine.index_video(video_id=video_id, name="v", analytics=video(frame(0)))
    generations = sorted(path.name for path in (tmp_path / "index").glob("gen-*"))
    assert generations == ["gen-3.json", "gen-4.json"]
    assert (tmp_path / "index" / "CURRENT").read_text() == "gen-4.json"


def old_analytics() -> Analytics:
    return video(frame(0, scene="city"), vehicle(0, track="a", color="black"), person(1))


def new_analytics() -> Analytics:
    return video(frame(0, scene="highway"), frame(40), vehicle(40, track="b", color="white"),
                 vehicle(41, color="red"), EventRecord("brake", 0, 41, {"severity": "hard"}))


def test_a_reader_sees_the_old_or_the_new_index_never_a_mix(engine, tmp_path):
    truth = reference.SearchBackend()
    answers = []
    for analytics in (old_analytics(), new_analytics()):
        truth.index_video(video_id=1, name="v", analytics=analytics)
        answers.append(comparable(search(truth)))
    engine.index_video(video_id=1, name="v", analytics=old_analytics())
    writer = subprocess.Popen(
        [sys.executable, "-c",
         "from tests.indexer.search.test_search_semantics import new_analytics, old_analytics\n"
         "from indexer.search.duckdb import SearchBackend\n"
         f"engine = SearchBackend({str(tmp_path)!r})\n"
         "for round in range(8):\n"
         "    build = new_analytics if round % 2 == 0 else old_analytics\n"
         "    engine.index_video(video_id=1, name='v', analytics=build())\n"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE, text=True,
    )
    seen = set()
    while writer.poll() is None or not seen:
        result = comparable(search(engine))
        assert result in answers
        seen.add(answers.index(result))
    assert writer.wait() == 0, writer.stderr.read()
    assert comparable(search(engine)) == answers[0]  # the writer's last round put the old analytics back


def comparable(result: SearchResult) -> SearchResult:
    """The result with its duration rounded: engines may sum clip durations in another order."""
    result.counts["duration_s"] = round(result.counts["duration_s"], 9)
    return result


def test_matched_tracks_run_from_the_first_to_the_last_matched_detection(backend):
    backend.index_video(video_id=7, name="gate", analytics=video(
        vehicle(0, track="a", color="black"), vehicle(3, track="a", color="red"), vehicle(6, track="a", color="red"),
        vehicle(9, track="a", color="black"), vehicle(4, track="b", color="red"), person(4), vehicle(5, color="red")))
    red = SearchRequest(ontology=ONTOLOGY, query=obj("vehicle", color="red"))
    assert [(found.track, found.label, found.attrs, found.start_index, found.end_index, found.end_t)
            for found in backend.matched_tracks(request=red)] == [
        ("a", "vehicle", {"color": "red"}, 3, 6, 6 / 30), ("b", "vehicle", {"color": "red"}, 4, 4, 4 / 30)]
    # No positive object predicate: every detection of the matching frames (the person at 4 has no track).
    not_person = SearchRequest(ontology=ONTOLOGY, query={"not": obj("person")})
    assert [(found.track, found.start_index, found.end_index, found.attrs)
            for found in backend.matched_tracks(request=not_person)] == [("a", 0, 9, {"color": "black"})]
    assert {found.video_name for found in backend.matched_tracks(request=red)} == {"gate"}
