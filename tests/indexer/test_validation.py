"""Validation against an ontology: every violation kind, strict and filter, samples, streaming."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from indexer.formats import read_analytics
from indexer.ontology import CATEGORICAL, AttrSpec, LabelSpec, Ontology, parse_schema_document
from indexer.records import Analytics, EventRecord, FrameRecord, ObjectRecord, TrackRecord, VideoMeta
from indexer.validation import MAX_LISTED, validate
from tests.indexer.test_formats_eta import NO_FRAME_RATE
from tests.samples import sample

CAT = "eta.core.data.CategoricalAttribute"
NUM = "eta.core.data.NumericAttribute"
BOOL = "eta.core.data.BooleanAttribute"

ONTOLOGY = parse_schema_document(
    {
        "attrs": {
            "schema": {
                "weather": {"name": "weather", "type": CAT, "categories": ["rain", "clear"]},
                "daytime": {"name": "daytime", "type": BOOL, "values": [True]},
            }
        },
        "frames": {
            "schema": {
                "scene": {"name": "scene", "type": CAT, "categories": ["highway", "intersection"]},
                "speed_mph": {"name": "speed_mph", "type": NUM, "range": [0, 200]},
            }
        },
        "objects": {
            "schema": {
                "car": {
                    "label": "car",
                    "attrs": {"schema": {"make": {"name": "make", "type": CAT, "categories": ["Honda", "Ford"]}}},
                    "frames": {
                        "schema": {
                            "color": {"name": "color", "type": CAT, "categories": ["red", "blue"]},
                            "parked": {"name": "parked", "type": BOOL},
                        }
                    },
                },
                "person": {
                    "label": "person",
                    "frames": {"schema": {"age": {"name": "age", "type": NUM, "range": [0, 120]}}},
                },
            }
        },
        "events": {
            "schema": {
                "hard_brake": {
                    "label": "hard_brake",
                    "attrs": {"schema": {"severity": {"name": "severity", "type": NUM, "range": [0, 1]}}},
                }
            }
        },
        "display": {"synonyms": {"automobile": "car", "braking": "hard_brake"}},
    }
)


def car(path, index=0, **fields):
    values = {"index": index, "t": index / 30, "label": "car", "track": "1", "box": (0.1, 0.1, 0.2, 0.2), **fields}
    return ObjectRecord(path=path, **values)


def analytics_of(*records, meta=None):
    return Analytics.from_list(format="eta", meta=meta or VideoMeta(fps=30.0), records=records)


def paths_and_messages(report):
    return [(violation["path"], violation["message"]) for violation in report.violations]


# ---- one record per violation kind ---------------------------------------------------------

MIXED_META = VideoMeta(
    fps=30.0,
    attrs={"weather": "rain", "wether": "rain", "daytime": False},
    attr_paths={"weather": "attrs.attrs[0]", "wether": "attrs.attrs[1]", "daytime": "attrs.attrs[2]"},
)

MIXED = [
    car("o[0]", label="cat"),
    car("o[1]", attrs={"colour": "red", "color": "red"}, attr_paths={"colour": "o[1].a[0]", "color": "o[1].a[1]"}),
    car("o[2]", attrs={"color": 5.0}, attr_paths={"color": "o[2].a[0]"}),
    car("o[3]", attrs={"color": "purple", "parked": True}, attr_paths={"color": "o[3].a[0]", "parked": "o[3].a[1]"}),
    car("o[4]", box=(0.1, 0.2, 1.3, 0.4)),
    car("o[5]", box=(0.5, 0.4, 0.3, 0.2)),
    car("o[6]", confidence=1.5),
    car("o[7]", index=-1),
    car("o[8]", label="automobile", confidence=0.9),
    FrameRecord(index=0, t=0.0, attrs={"sceen": "highway"}, path="f[0]", attr_paths={"sceen": "f[0].a[0]"}),
    FrameRecord(
        index=1,
        t=1 / 30,
        attrs={"scene": "highway", "speed_mph": 250.0},
        path="f[1]",
        attr_paths={"scene": "f[1].a[0]", "speed_mph": "f[1].a[1]"},
    ),
    FrameRecord(index=-2, t=0.0, path="f[2]"),
    TrackRecord(track="1", label="car", attrs={"make": "Tesla"}, path="t[0]", attr_paths={"make": "t[0].a[0]"}),
    TrackRecord(track="2", label="truck", attrs={"make": "Ford"}, path="t[1]"),
    TrackRecord(track="3", attrs={"mak": "Ford", "make": "Ford"}, path="t[2]", attr_paths={"mak": "t[2].a[0]"}),
    EventRecord(label="hard_brak", start_index=0, end_index=3, path="e[0]"),
    EventRecord(label="braking", start_index=5, end_index=3, path="e[1]"),
    EventRecord(label="hard_brake", start_index=-1, end_index=3, confidence=-0.1, path="e[2]"),
    EventRecord(
        label="hard_brake",
        start_index=0,
        end_index=3,
        attrs={"severty": 0.5},
        path="e[3]",
        attr_paths={"severty": "e[3].a"},
    ),
    EventRecord(label="braking", start_index=2, end_index=4, attrs={"severity": 0.5}, path="e[4]"),
]

EXPECTED_VIOLATIONS = [
    ("attrs.attrs[1]", "unknown video attribute 'wether' (did you mean 'weather'?)"),
    ("attrs.attrs[2]", "video: value false is not allowed for attribute 'daytime'"),
    ("o[0]", "unknown object label 'cat' (did you mean 'car'?)"),
    ("o[1].a[0]", "unknown attribute 'colour' for object label 'car' (did you mean 'color'?)"),
    ("o[2].a[0]", "object label 'car': attribute 'color' expects a category (string), got number 5.0"),
    ("o[3].a[0]", "object label 'car': unknown value 'purple' for attribute 'color'"),
    ("o[4]", "object label 'car': box [0.1, 0.2, 1.3, 0.4] is outside 0..1"),
    ("o[5]", "object label 'car': box [0.5, 0.4, 0.3, 0.2] has x1 > x2"),
    ("o[5]", "object label 'car': box [0.5, 0.4, 0.3, 0.2] has y1 > y2"),
    ("o[6]", "object label 'car': confidence 1.5 is outside 0..1"),
    ("o[7]", "object label 'car': frame index -1 is negative"),
    ("f[0].a[0]", "unknown frame attribute 'sceen' (did you mean 'scene'?)"),
    ("f[1].a[1]", "frame: value 250.0 of attribute 'speed_mph' is outside the range [0.0, 200.0]"),
    ("f[2]", "frame: frame index -2 is negative"),
    ("t[0].a[0]", "object label 'car': unknown value 'Tesla' for attribute 'make'"),
    ("t[1]", "unknown object label 'truck'"),
    ("t[2].a[0]", "unknown attribute 'mak' for track '3' (did you mean 'make'?)"),
    ("e[0]", "unknown event label 'hard_brak' (did you mean 'hard_brake'?)"),
    ("e[1]", "event label 'hard_brake': end index 3 is before start index 5"),
    ("e[2]", "event label 'hard_brake': start index -1 is negative"),
    ("e[2]", "event label 'hard_brake': confidence -0.1 is outside 0..1"),
    ("e[3].a", "unknown attribute 'severty' for event label 'hard_brake' (did you mean 'severity'?)"),
]


def test_strict_mode_reports_every_violation_with_path_and_message():
    report = validate(analytics_of(*MIXED, meta=MIXED_META), ONTOLOGY, mode="strict")
    assert report.ok is False
    assert report.mode == "strict"
    assert report.violation_count == len(EXPECTED_VIOLATIONS) == 22
    assert paths_and_messages(report) == EXPECTED_VIOLATIONS


def test_filter_mode_reports_the_same_and_drops_what_does_not_conform():
    report = validate(analytics_of(*MIXED, meta=MIXED_META), ONTOLOGY, mode="filter")
    assert report.ok is False
    assert paths_and_messages(report) == EXPECTED_VIOLATIONS
    assert report.dropped == {"objects": 5, "tracks": 1, "frames": 1, "events": 3, "attributes": 10}
    assert report.analytics.meta.attrs == {"weather": "rain"}
    assert report.analytics.meta.attr_paths == {"weather": "attrs.attrs[0]"}
    assert list(report.analytics.records()) == [
        car("o[1]", attrs={"color": "red"}, attr_paths={"color": "o[1].a[1]"}),
        car("o[2]"),
        car("o[3]", attrs={"parked": True}, attr_paths={"parked": "o[3].a[1]"}),
        car("o[8]", confidence=0.9),
        FrameRecord(index=0, t=0.0, path="f[0]"),
        FrameRecord(index=1, t=1 / 30, attrs={"scene": "highway"}, path="f[1]", attr_paths={"scene": "f[1].a[0]"}),
        TrackRecord(track="1", label="car", path="t[0]"),
        TrackRecord(track="3", attrs={"make": "Ford"}, path="t[2]"),
        EventRecord(label="hard_brake", start_index=0, end_index=3, path="e[3]"),
        EventRecord(label="hard_brake", start_index=2, end_index=4, attrs={"severity": 0.5}, path="e[4]"),
    ]


def test_conforming_analytics_are_ok_with_canonical_labels():
    records = [car("o[0]", label="automobile", attrs={"color": "blue"}), EventRecord("braking", 0, 0, path="e[0]")]
    report = validate(analytics_of(*records), ONTOLOGY, mode="strict")
    assert (report.ok, report.violations, report.violation_count) == (True, [], 0)
    assert [record.label for record in report.analytics.records()] == ["car", "hard_brake"]


def test_a_track_and_its_detection_with_the_same_unknown_label_count_once():
    records = [
        TrackRecord(track="4", label="cat", attrs={"make": "Ford"}, path="frames.1.objects.objects[0]"),
        car("frames.1.objects.objects[0]", label="cat"),
        car("frames.2.objects.objects[0]", label="cat"),
    ]
    report = validate(analytics_of(*records), ONTOLOGY, mode="filter")
    assert report.violation_count == 2
    assert [violation["path"] for violation in report.violations] == [
        "frames.1.objects.objects[0]",
        "frames.2.objects.objects[0]",
    ]
    assert list(report.analytics.records()) == []


def test_the_list_is_capped_but_every_violation_counted():
    records = [car(f"o[{position}]", label="cat") for position in range(MAX_LISTED + 500)]
    report = validate(analytics_of(*records), ONTOLOGY, mode="strict")
    assert report.violation_count == 1500
    assert len(report.violations) == MAX_LISTED + 1 == 1001
    assert report.violations[999] == {"path": "o[999]", "message": "unknown object label 'cat' (did you mean 'car'?)"}
    assert report.violations[-1] == {"path": "", "message": "... and 500 more violations"}


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown validation mode 'lenient'; expected strict or filter"):
        validate(analytics_of(), ONTOLOGY, mode="lenient")


def test_validation_reads_the_stream_once_and_the_result_lazily():
    passes = []

    def records():
        passes.append(1)
        return iter([car("o[0]"), car("o[1]", label="cat")])

    report = validate(Analytics(format="eta", meta=VideoMeta(fps=30.0), records=records), ONTOLOGY, mode="filter")
    assert len(passes) == 1
    assert [record.path for record in report.analytics.records()] == ["o[0]"]
    assert [record.path for record in report.analytics.records()] == ["o[0]"]
    assert len(passes) == 3


def test_warnings_are_carried_over():
    analytics = read_analytics(sample("eta_VideoLabels_2019format.json"))
    report = validate(analytics, ONTOLOGY, mode="filter")
    assert report.analytics.warnings == [NO_FRAME_RATE]


# ---- the shared samples ----------------------------------------------------------------------


def schema(name):
    return parse_schema_document(json.loads(sample(name).read_text()))


@pytest.mark.parametrize("name", ["eta_VideoLabels_framewise.json", "eta_VideoLabels_spatiotemporal.json"])
def test_eta_samples_conform_to_their_schema(name):
    report = validate(read_analytics(sample(name)), schema("eta_VideoLabelsSchema.json"), mode="strict")
    assert (report.ok, report.violation_count) == (True, 0)


def test_2019_sample_conforms_to_the_2019_schema():
    analytics = read_analytics(sample("eta_VideoLabels_2019format.json"))
    report = validate(analytics, schema("eta_schema_2019format.json"), mode="strict")
    assert (report.ok, report.violation_count) == (True, 0)


def test_2019_sample_against_the_current_schema():
    analytics = read_analytics(sample("eta_VideoLabels_2019format.json"))
    report = validate(analytics, schema("eta_VideoLabelsSchema.json"), mode="filter")
    assert paths_and_messages(report) == [
        ("attrs.attrs[1]", "unknown video attribute 'fps'"),
        ("frames.1.attrs.attrs[0]", "frame: unknown value 'intersection' for attribute 'scene'"),
        ("frames.1.attrs.attrs[1]", "unknown frame attribute 'quality'"),
        ("frames.2.attrs.attrs[0]", "unknown frame attribute 'on_road'"),
        ("frames.2.objects.objects[0]", "unknown object label 'person'"),
    ]
    kept = list(report.analytics.records())
    assert [type(record).__name__ for record in kept] == ["FrameRecord", "ObjectRecord", "FrameRecord"]
    assert kept[0].attrs == {} and kept[1].attrs == {"make": "Honda"}


def test_bdd_tracking_gt_without_riders():
    ontology = parse_schema_document(
        {
            "objects": {
                "schema": {
                    label: {
                        "label": label,
                        "frames": {
                            "schema": {
                                name: {"name": name, "type": BOOL} for name in ("occluded", "truncated", "crowd")
                            }
                        },
                    }
                    for label in ("car", "pedestrian", "motorcycle", "truck", "bus")
                }
            }
        }
    )
    report = validate(read_analytics(sample("bdd100k_tracking_gt.json")), ontology, mode="filter")
    assert report.violation_count == 119
    assert {message for _path, message in paths_and_messages(report)} == {"unknown object label 'rider'"}
    kept = [record for record in report.analytics.records() if isinstance(record, ObjectRecord)]
    assert len(kept) == 3241 - 119
    assert len({record.track for record in kept}) == 143


def test_roboflow_sample_with_an_unknown_class():
    ontology = parse_schema_document({"objects": {"schema": {"zebras": {"label": "zebras"}}}})
    report = validate(read_analytics(sample("roboflow_video_inference_reconstructed.json")), ontology, mode="strict")
    assert paths_and_messages(report) == [
        ("my-project/3[0].predictions[0]", "unknown object label 'zebra' (did you mean 'zebras'?)")
    ]


# ---- streaming -------------------------------------------------------------------------------


@pytest.mark.slow
def test_validation_streams_in_bounded_memory(tmp_path):
    path = tmp_path / "generated.json"
    video = write_eta_video(path, frames=1000, objects_per_frame=30, seed=3)
    tracemalloc.start()
    try:
        report = validate(read_analytics(path), DEFAULT_ONTOLOGY, mode="filter")
        kept = sum(1 for record in report.analytics.records() if isinstance(record, ObjectRecord))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert video.size_bytes > 9_000_000
    assert peak < 20_000_000
    assert (report.ok, report.violation_count) == (True, 0)
    assert kept == video.objects == 30_000


def test_text_values_and_track_ids_longer_than_an_index_takes_are_refused_with_their_path():
    # Lucene indexes terms of at most 32,766 bytes: 16,383 "é" (2 bytes each) fit, 16,384 do not.
    fits, immense = "é" * 16_383, "é" * 16_384
    # A categorical attribute without a list of categories (values None) takes any text.
    ontology = Ontology(objects={"car": LabelSpec("car", {"plate": AttrSpec("plate", CATEGORICAL, None)})})
    records = [
        car("o[0]", attrs={"plate": fits}, attr_paths={"plate": "o[0].a[0]"}),
        car("o[1]", attrs={"plate": immense}, attr_paths={"plate": "o[1].a[0]"}),
        car("o[2]", track="7" * 32_767),
        TrackRecord(track="8" * 32_767, label="car", path="t[0]"),
    ]
    report = validate(analytics_of(*records), ontology, mode="filter")
    assert paths_and_messages(report) == [
        ("o[1].a[0]", "object label 'car': the value of attribute 'plate' is 32768 bytes long in UTF-8; "
                      "the longest an index takes is 32766"),
        ("o[2]", "object label 'car': track id is 32767 bytes long in UTF-8; the longest an index takes is 32766"),
        ("t[0]", "track record: track id is 32767 bytes long in UTF-8; the longest an index takes is 32766"),
    ]
    kept = list(report.analytics.records())
    assert [(record.path, record.attrs) for record in kept] == [("o[0]", {"plate": fits}), ("o[1]", {})]
