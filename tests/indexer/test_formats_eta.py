"""ETA VideoLabels reader: the shared samples, layouts, metadata, streaming."""

from __future__ import annotations

import json
import re
import tracemalloc
from datetime import UTC, datetime

import pytest

from fixtures.generate_eta import DEMO_ONTOLOGY, main, write_eta_video
from indexer.formats import FormatError, eta, read_analytics
from indexer.ontology import parse_schema_document
from indexer.records import EventRecord, FrameRecord, ObjectRecord, TrackRecord, Waypoint
from indexer.validation import validate
from tests.samples import sample, write_json

CAT = "eta.core.data.CategoricalAttribute"
NUM = "eta.core.data.NumericAttribute"
BOOL = "eta.core.data.BooleanAttribute"


def attr(name, value, kind=CAT, **extra):
    return {"type": kind, "name": name, "value": value, **extra}


def box(x1, y1, x2, y2):
    return {"top_left": {"x": x1, "y": y1}, "bottom_right": {"x": x2, "y": y2}}


def detected(label, index, *attrs, bounding_box=None, **extra):
    item = {"type": "eta.core.objects.DetectedObject", "label": label, "attrs": {"attrs": list(attrs)}, **extra}
    if index is not None:
        item["index"] = index
    if bounding_box is not None:
        item["bounding_box"] = bounding_box
    return item


def read_all(path, **options):
    analytics = eta.read(path, options=options or None)
    return analytics, list(analytics.records())


# ---- the shared samples ------------------------------------------------------------------


def test_framewise_sample_metadata():
    analytics = eta.read(sample("eta_VideoLabels_framewise.json"))
    meta = analytics.meta
    assert analytics.format == "eta"
    assert analytics.warnings == []
    assert (meta.fps, meta.frame_count, meta.duration_s) == (30.0, 900, 30.0)
    assert (meta.width, meta.height) == (1280, 720)
    assert meta.recorded_at == datetime(2021, 5, 1, 12, 0, tzinfo=UTC)
    assert (meta.filename, meta.size_bytes, meta.mime_type) == ("dashcam_0001.mp4", 12345678, "video/mp4")
    assert meta.attrs == {"weather": "rain", "daytime": True}
    assert meta.attr_paths == {"weather": "attrs.attrs[0]", "daytime": "attrs.attrs[1]"}
    assert meta.gps == [Waypoint(t=0.0, lat=37.7749, lon=-122.4194), Waypoint(t=1.0, lat=37.7751, lon=-122.4189)]


def test_framewise_sample_records():
    _analytics, records = read_all(sample("eta_VideoLabels_framewise.json"))
    assert records == [
        FrameRecord(
            index=0,
            t=0.0,
            attrs={"scene": "highway", "speed_mph": 42.5},
            path="frames.1",
            attr_paths={"scene": "frames.1.attrs.attrs[0]", "speed_mph": "frames.1.attrs.attrs[1]"},
        ),
        TrackRecord(
            track="7",
            label="car",
            attrs={"make": "Honda"},
            path="frames.1.objects.objects[0]",
            attr_paths={"make": "frames.1.objects.objects[0].attrs.attrs[1]"},
        ),
        ObjectRecord(
            index=0,
            t=0.0,
            label="car",
            track="7",
            confidence=0.91,
            box=(0.1, 0.2, 0.3, 0.45),
            attrs={"color": "red"},
            path="frames.1.objects.objects[0]",
            attr_paths={"color": "frames.1.objects.objects[0].attrs.attrs[0]"},
        ),
        FrameRecord(index=1, t=1 / 30, path="frames.2"),
        ObjectRecord(
            index=1,
            t=1 / 30,
            label="car",
            track="7",
            confidence=0.88,
            box=(0.12, 0.2, 0.32, 0.46),
            attrs={"color": "red"},
            path="frames.2.objects.objects[0]",
            attr_paths={"color": "frames.2.objects.objects[0].attrs.attrs[0]"},
        ),
        EventRecord(label="hard_brake", start_index=1, end_index=1, confidence=0.7, path="frames.2.events.events[0]"),
    ]


def test_spatiotemporal_sample_groups_objects_into_tracks():
    analytics, records = read_all(sample("eta_VideoLabels_spatiotemporal.json"))
    assert analytics.meta.fps == 30.0
    assert analytics.meta.gps[1].t == 1.0
    assert records == [
        FrameRecord(
            index=0,
            t=0.0,
            attrs={"scene": "highway", "speed_mph": 42.5},
            path="frames.1",
            attr_paths={"scene": "frames.1.attrs.attrs[0]", "speed_mph": "frames.1.attrs.attrs[1]"},
        ),
        TrackRecord(
            track="7",
            label="car",
            attrs={"make": "Honda"},
            path="objects.objects[0]",
            attr_paths={"make": "objects.objects[0].attrs.attrs[0]"},
        ),
        ObjectRecord(
            index=0,
            t=0.0,
            label="car",
            track="7",
            confidence=0.91,
            box=(0.1, 0.2, 0.3, 0.45),
            attrs={"color": "red"},
            path="objects.objects[0].frames.1",
            attr_paths={"color": "objects.objects[0].frames.1.attrs.attrs[0]"},
        ),
        ObjectRecord(
            index=1,
            t=1 / 30,
            label="car",
            track="7",
            confidence=0.88,
            box=(0.12, 0.2, 0.32, 0.46),
            attrs={"color": "red"},
            path="objects.objects[0].frames.2",
            attr_paths={"color": "objects.objects[0].frames.2.attrs.attrs[0]"},
        ),
    ]


def test_spatiotemporal_event_without_support_is_skipped_with_a_warning():
    analytics = eta.read(sample("eta_VideoLabels_spatiotemporal.json"))
    assert analytics.warnings == [
        "1 video event(s) have neither support nor frames and were skipped (first: events.events[0] 'hard_brake')"
    ]
    assert not [record for record in analytics.records() if isinstance(record, EventRecord)]


def test_both_layouts_describe_the_same_detections():
    def detections(name):
        return [
            (record.index, record.t, record.label, record.track, record.box, record.attrs)
            for record in eta.read(sample(name)).records()
            if isinstance(record, ObjectRecord)
        ]

    assert detections("eta_VideoLabels_framewise.json") == detections("eta_VideoLabels_spatiotemporal.json")


def test_2019_sample():
    analytics, records = read_all(sample("eta_VideoLabels_2019format.json"))
    assert analytics.meta.fps == 30.0
    assert analytics.warnings == [NO_FRAME_RATE]
    assert analytics.meta.attrs == {"weather": "rain", "fps": 30.0, "daytime": True}
    assert analytics.meta.frame_count is None and analytics.meta.gps == []
    assert records == [
        FrameRecord(
            index=0,
            t=0.0,
            attrs={"scene": "intersection", "quality": 0.5},
            path="frames.1",
            attr_paths={"scene": "frames.1.attrs.attrs[0]", "quality": "frames.1.attrs.attrs[1]"},
        ),
        ObjectRecord(
            index=0,
            t=0.0,
            label="car",
            track="1",
            confidence=0.9,
            box=(0.0, 0.0, 1.0, 1.0),
            attrs={"make": "Honda"},
            path="frames.1.objects.objects[0]",
            attr_paths={"make": "frames.1.objects.objects[0].attrs.attrs[0]"},
        ),
        FrameRecord(
            index=1,
            t=1 / 30,
            attrs={"on_road": True},
            path="frames.2",
            attr_paths={"on_road": "frames.2.attrs.attrs[0]"},
        ),
        ObjectRecord(
            index=1,
            t=1 / 30,
            label="person",
            track="2",
            box=(0.0, 0.0, 1.0, 1.0),
            attrs={"age": 42.0},
            path="frames.2.objects.objects[0]",
            attr_paths={"age": "frames.2.objects.objects[0].attrs.attrs[0]"},
        ),
    ]


def test_records_can_be_read_twice():
    analytics = eta.read(sample("eta_VideoLabels_framewise.json"))
    assert list(analytics.records()) == list(analytics.records())


# ---- tracks and constant attributes ------------------------------------------------------


def test_constant_attribute_without_index_stays_on_the_detection(tmp_path):
    path = write_json(
        tmp_path,
        {"frames": {"3": {"objects": {"objects": [detected("car", None, attr("make", "Ford", constant=True))]}}}},
    )
    _analytics, records = read_all(path)
    assert records[1] == ObjectRecord(
        index=2,
        t=2 / 30,
        label="car",
        attrs={"make": "Ford"},
        path="frames.3.objects.objects[0]",
        attr_paths={"make": "frames.3.objects.objects[0].attrs.attrs[0]"},
    )
    assert not [record for record in records if isinstance(record, TrackRecord)]


def test_video_object_header_after_its_frames(tmp_path):
    video_object = {
        "frames": {"5": {"bounding_box": box(0.1, 0.1, 0.2, 0.2)}, "6": {"bounding_box": box(0.2, 0.1, 0.3, 0.2)}},
        "attrs": {"attrs": [attr("make", "BMW")]},
        "index": 12,
        "label": "vehicle",
    }
    path = write_json(tmp_path, {"objects": {"objects": [{"label": "person", "index": 1}, video_object]}})
    _analytics, records = read_all(path)
    assert records == [
        TrackRecord(
            track="12",
            label="vehicle",
            attrs={"make": "BMW"},
            path="objects.objects[1]",
            attr_paths={"make": "objects.objects[1].attrs.attrs[0]"},
        ),
        ObjectRecord(
            index=4, t=4 / 30, label="vehicle", track="12", box=(0.1, 0.1, 0.2, 0.2), path="objects.objects[1].frames.5"
        ),
        ObjectRecord(
            index=5, t=5 / 30, label="vehicle", track="12", box=(0.2, 0.1, 0.3, 0.2), path="objects.objects[1].frames.6"
        ),
    ]


def test_video_object_without_index_puts_its_attributes_on_each_detection(tmp_path):
    video_object = {"label": "car", "attrs": {"attrs": [attr("make", "Kia")]}, "frames": {"1": {}, "2": {}}}
    path = write_json(tmp_path, {"objects": {"objects": [video_object]}})
    _analytics, records = read_all(path)
    assert [(record.index, record.track, record.attrs) for record in records] == [
        (0, None, {"make": "Kia"}),
        (1, None, {"make": "Kia"}),
    ]
    assert records[0].attr_paths == {"make": "objects.objects[0].attrs.attrs[0]"}


# ---- events --------------------------------------------------------------------------------


def test_video_event_support_ranges_string_and_list(tmp_path):
    events = [
        {
            "label": "hard_brake",
            "support": {"ranges": "1-300,450-460"},
            "attrs": {"attrs": [attr("severity", 0.5, NUM)]},
        },
        {"label": "fight", "support": {"ranges": [[10, 20], [31, 31]]}, "confidence": 0.6},
    ]
    path = write_json(tmp_path, {"metadata": {"frame_rate": 25}, "events": {"events": events}})
    _analytics, records = read_all(path)
    severity = {"severity": 0.5}
    severity_path = {"severity": "events.events[0].attrs.attrs[0]"}
    assert records == [
        EventRecord("hard_brake", 0, 299, severity, path="events.events[0]", attr_paths=severity_path),
        EventRecord("hard_brake", 449, 459, severity, path="events.events[0]", attr_paths=severity_path),
        EventRecord("fight", 9, 19, confidence=0.6, path="events.events[1]"),
        EventRecord("fight", 30, 30, confidence=0.6, path="events.events[1]"),
    ]


def test_video_event_frames_give_single_frame_events(tmp_path):
    event = {
        "label": "hard_brake",
        "attrs": {"attrs": [attr("cause", "pedestrian")]},
        "frames": {"7": {"confidence": 0.4, "attrs": {"attrs": [attr("g_force", 0.8, NUM)]}}, "8": {}},
    }
    path = write_json(tmp_path, {"events": {"events": [event]}})
    _analytics, records = read_all(path)
    assert records == [
        EventRecord(
            "hard_brake",
            6,
            6,
            {"g_force": 0.8, "cause": "pedestrian"},
            confidence=0.4,
            path="events.events[0].frames.7",
            attr_paths={
                "g_force": "events.events[0].frames.7.attrs.attrs[0]",
                "cause": "events.events[0].attrs.attrs[0]",
            },
        ),
        EventRecord(
            "hard_brake",
            7,
            7,
            {"cause": "pedestrian"},
            path="events.events[0].frames.8",
            attr_paths={"cause": "events.events[0].attrs.attrs[0]"},
        ),
    ]


def test_bad_support_range_is_a_format_error(tmp_path):
    path = write_json(tmp_path, {"events": {"events": [{"label": "x", "support": {"ranges": "1-a"}}]}})
    with pytest.raises(FormatError) as caught:
        list(eta.read(path).records())
    assert caught.value.path == "events.events[0].support.ranges"
    assert "cannot read the frame range '1-a'" in str(caught.value)


# ---- metadata ------------------------------------------------------------------------------


def test_metadata_after_the_frames_is_found(tmp_path):
    # json.dumps keeps this key order: frames first, metadata last.
    document = {
        "frames": {"11": {"attrs": {"attrs": [attr("scene", "highway")]}}},
        "metadata": {"frame_rate": 10, "gps_waypoints": [{"latitude": 1.5, "longitude": 2.5, "frame_number": 21}]},
        "filename": "late.mp4",
    }
    path = write_json(tmp_path, document)
    assert path.read_text().index('"frames"') < path.read_text().index('"metadata"')
    analytics, records = read_all(path)
    assert analytics.meta.fps == 10.0 and analytics.meta.filename == "late.mp4"
    assert analytics.meta.gps == [Waypoint(t=2.0, lat=1.5, lon=2.5)]
    assert records[0].index == 10 and records[0].t == 1.0


def test_fps_from_frame_count_and_duration_matches_eta_time_mapping(tmp_path):
    path = write_json(tmp_path, {"metadata": {"total_frame_count": 11, "duration": 2.0}, "frames": {"11": {}, "6": {}}})
    analytics, records = read_all(path)
    assert analytics.meta.fps == 5.0
    assert analytics.warnings == []
    # ETA: t = (n - 1) / (N - 1) * duration
    assert [record.t for record in records] == [2.0, 1.0]


NO_FRAME_RATE = ("the payload gives no frame rate (metadata.frame_rate, or total_frame_count and duration) "
                 "and there is no fps option: assumed 30 fps")


def test_fps_from_options_then_default(tmp_path):
    path = write_json(tmp_path, {"frames": {"4": {}}})
    analytics, records = read_all(path, fps=12.0)
    assert analytics.meta.fps == 12.0 and analytics.warnings == [] and records[0].t == 0.25
    analytics, records = read_all(path)
    assert analytics.meta.fps == 30.0 and records[0].t == 0.1
    assert analytics.warnings == [NO_FRAME_RATE]


@pytest.mark.parametrize(
    ("metadata", "options", "path", "shown"),
    [
        ({"frame_rate": 1e-300}, {}, "metadata.frame_rate", "1e-300"),
        ({"frame_rate": 0}, {}, "metadata.frame_rate", "0"),
        ({"frame_rate": -1}, {}, "metadata.frame_rate", "-1"),
        ({"frame_rate": 1e300}, {}, "metadata.frame_rate", "1e+300"),
        ({"total_frame_count": 3, "duration": 1e300}, {}, "metadata.duration", "2e-300"),
        ({}, {"fps": 1e-300}, "options.fps", "1e-300"),
        ({}, {"fps": 5000}, "options.fps", "5000"),
    ],
)
def test_a_frame_rate_outside_0_1_to_1000_fps_is_refused_at_its_path(tmp_path, metadata, options, path, shown):
    file = write_json(tmp_path, {"metadata": metadata, "frames": {"1": {}}})
    message = f"a frame rate must lie between 0.1 and 1000 fps, got {shown}"
    with pytest.raises(FormatError, match=re.escape(message)) as error:
        eta.read(file, options=options)
    assert error.value.path == path


@pytest.mark.parametrize(
    "waypoints, expected",
    [
        ({"points": [{"latitude": 1, "longitude": 2, "frame_number": 31}]}, [Waypoint(1.0, 1.0, 2.0)]),
        ([{"latitude": 1, "longitude": 2, "frame_number": 61}, {}], [Waypoint(2.0, 1.0, 2.0)]),
        ({}, []),
        ({"points": [{}]}, []),
    ],
)
def test_gps_waypoint_layouts(tmp_path, waypoints, expected):
    path = write_json(tmp_path, {"metadata": {"frame_rate": 30, "gps_waypoints": waypoints}, "frames": {}})
    assert eta.read(path).meta.gps == expected


def test_gps_waypoints_are_sorted_by_time(tmp_path):
    points = [{"latitude": 2, "longitude": 2, "frame_number": 61}, {"latitude": 1, "longitude": 1, "frame_number": 1}]
    path = write_json(tmp_path, {"metadata": {"frame_rate": 30, "gps_waypoints": {"points": points}}})
    assert [waypoint.t for waypoint in eta.read(path).meta.gps] == [0.0, 2.0]


def test_start_time_with_zone_is_kept_and_a_bad_one_warned(tmp_path):
    path = write_json(tmp_path, {"metadata": {"frame_rate": 30, "start_time": "2021-05-01T12:00:00+02:00"}})
    assert eta.read(path).meta.recorded_at == datetime(2021, 5, 1, 10, 0, tzinfo=UTC)
    path = write_json(tmp_path, {"metadata": {"frame_rate": 30, "start_time": "yesterday"}})
    analytics = eta.read(path)
    assert analytics.meta.recorded_at is None
    assert analytics.warnings == ["metadata.start_time 'yesterday' is not an ISO date and time: ignored"]


# ---- values, masks, verbose keys -------------------------------------------------------------


def test_attribute_values_are_typed(tmp_path):
    attrs = [
        attr("lane", 2, CAT),
        attr("speed", 40, NUM),
        attr("parked", False, BOOL),
        attr("note", None, CAT),
        attr("speed", 99.0, NUM),
    ]
    path = write_json(tmp_path, {"frames": {"1": {"attrs": {"attrs": attrs}}}})
    _analytics, records = read_all(path)
    # The first value of a repeated name wins; a null value is no value.
    assert records[0].attrs == {"lane": "2", "speed": 40.0, "parked": False}
    assert type(records[0].attrs["speed"]) is float


def test_masks_in_both_forms_do_not_break_reading(tmp_path):
    objects = [
        detected("car", 1, bounding_box=box(0.1, 0.1, 0.2, 0.2), mask="eJxjYGBgBAAABAAB"),
        detected("car", 2, bounding_box=box(0.3, 0.1, 0.4, 0.2), mask=[[0, 1], [1, 1]]),
    ]
    path = write_json(tmp_path, {"frames": {"1": {"objects": {"objects": objects}, "mask": [[1]]}}})
    _analytics, records = read_all(path)
    assert [(record.track, record.box) for record in records[1:]] == [
        ("1", (0.1, 0.1, 0.2, 0.2)),
        ("2", (0.3, 0.1, 0.4, 0.2)),
    ]


def test_cls_keys_are_ignored(tmp_path):
    document = {
        "_CLS": "eta.core.video.VideoLabels",
        "attrs": {"_CLS": "eta.core.data.AttributeContainer", "_ATTR_CLS": "x", "attrs": [attr("weather", "rain")]},
        "frames": {
            "_CLS": "eta.core.video.VideoFrameLabels",
            "1": {
                "_CLS": "eta.core.video.VideoFrameLabels",
                "objects": {
                    "_CLS": "eta.core.objects.DetectedObjectContainer",
                    "_OBJ_CLS": "x",
                    "objects": [detected("car", 3, _CLS="eta.core.objects.DetectedObject")],
                },
            },
        },
    }
    analytics, records = read_all(write_json(tmp_path, document))
    assert analytics.meta.attrs == {"weather": "rain"}
    assert [type(record).__name__ for record in records] == ["FrameRecord", "ObjectRecord"]
    assert records[1].path == "frames.1.objects.objects[0]"


# ---- errors ----------------------------------------------------------------------------------


def test_object_without_label_is_a_format_error(tmp_path):
    path = write_json(tmp_path, {"frames": {"2": {"objects": {"objects": [{"index": 1}]}}}})
    with pytest.raises(FormatError) as caught:
        list(eta.read(path).records())
    assert caught.value.path == "frames.2.objects.objects[0]"
    assert str(caught.value) == "frames.2.objects.objects[0]: the object has no label"


def test_frames_keyed_by_something_else_is_a_format_error(tmp_path):
    path = write_json(tmp_path, {"frames": {"first": {}}})
    with pytest.raises(FormatError, match="frames must be keyed by frame number, got key 'first'"):
        list(eta.read(path).records())


def test_bad_box_is_a_format_error(tmp_path):
    path = write_json(tmp_path, {"frames": {"1": {"objects": {"objects": [detected("car", 1, bounding_box={})]}}}})
    with pytest.raises(FormatError) as caught:
        list(eta.read(path).records())
    assert caught.value.path == "frames.1.objects.objects[0].bounding_box"


def test_truncated_file_fails_when_read(tmp_path):
    text = sample("eta_VideoLabels_framewise.json").read_bytes()[:2000]
    path = tmp_path / "truncated.json"
    path.write_bytes(text)
    with pytest.raises(FormatError) as caught:
        eta.read(path)
    assert caught.value.position == 2000
    assert "the JSON ends unexpectedly at byte 2000 (is the file truncated?)" in str(caught.value)


def test_malformed_json_names_the_byte_and_the_path(tmp_path):
    text = b'{"frames": {"1": {"attrs": {"attrs": [}}}}'
    path = tmp_path / "bad.json"
    path.write_bytes(text)
    with pytest.raises(FormatError) as caught:
        eta.read(path)
    assert caught.value.position == text.index(b"[}") + 1 == 38
    assert caught.value.path == "frames"
    assert (
        str(caught.value)
        == "frames: malformed JSON at byte 38: parse error: unallowed token at this point in JSON text"
    )


def test_a_list_is_not_eta(tmp_path):
    with pytest.raises(FormatError, match=r"expected a JSON object \(ETA VideoLabels\), got a JSON array"):
        eta.read(write_json(tmp_path, []))


# ---- size ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_large_file_streams_in_bounded_memory(tmp_path):
    path = tmp_path / "large.json"
    video = write_eta_video(path, frames=3000, objects_per_frame=30, seed=7)
    assert video.size_bytes > 28_000_000
    tracemalloc.start()
    try:
        analytics = read_analytics(path)
        counts = {"FrameRecord": 0, "ObjectRecord": 0, "TrackRecord": 0}
        tracks = set()
        for record in analytics.records():
            counts[type(record).__name__] += 1
            if isinstance(record, ObjectRecord):
                tracks.add(record.track)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000
    assert counts["FrameRecord"] == 3000
    assert counts["ObjectRecord"] == video.objects == 90_000
    assert len(tracks) == video.tracks
    assert len(analytics.meta.gps) == video.waypoints == 100


# ---- the generator ---------------------------------------------------------------------------


def test_generator_is_deterministic_and_readable(tmp_path):
    first = write_eta_video(tmp_path / "a.json", frames=60, objects_per_frame=3, seed=5)
    write_eta_video(tmp_path / "b.json", frames=60, objects_per_frame=3, seed=5)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert (first.frames, first.objects) == (60, 180)
    analytics = read_analytics(tmp_path / "a.json")
    assert (analytics.meta.fps, analytics.meta.frame_count, len(analytics.meta.gps)) == (30.0, 60, 2)
    records = list(analytics.records())
    objects = [record for record in records if isinstance(record, ObjectRecord)]
    assert len(objects) == 180
    assert {record.label for record in objects} <= {"vehicle", "person"}
    assert all(set(record.attrs) == {"scene"} for record in records if isinstance(record, FrameRecord))
    tracks = {record.track: record for record in records if isinstance(record, TrackRecord)}
    vehicle_tracks = {record.track for record in objects if record.label == "vehicle"}
    # make is written once per vehicle track, as a constant attribute
    assert set(tracks) == vehicle_tracks
    assert all(set(track.attrs) == {"make"} for track in tracks.values())


def test_generator_command_writes_what_the_demo_schema_accepts(tmp_path, capsys):
    main([str(tmp_path / "demo.json"), "--frames", "900", "--objects", "4", "--seed", "5"])
    assert "900 frames, 3600 objects" in capsys.readouterr().out
    demo = parse_schema_document(json.loads(DEMO_ONTOLOGY.read_text()))
    report = validate(read_analytics(tmp_path / "demo.json"), demo, mode="strict")
    assert (report.ok, report.violation_count) == (True, 0)
    labels = {record.label for record in report.analytics.records() if isinstance(record, ObjectRecord)}
    assert labels <= set(demo.objects) and "vehicle" in labels


def test_generator_command_takes_another_schema_document(tmp_path, capsys):
    schema = write_json(tmp_path, {"objects": {"schema": {"bus": {"label": "bus"}}}}, name="bus_schema.json")
    main([str(tmp_path / "bus.json"), "--frames", "30", "--objects", "2", "--ontology", str(schema)])
    assert "labels from " + str(schema) in capsys.readouterr().out
    objects = [record for record in read_analytics(tmp_path / "bus.json").records() if isinstance(record, ObjectRecord)]
    assert (len(objects), {record.label for record in objects}) == (60, {"bus"})


def test_generator_draws_from_a_given_ontology(tmp_path):
    ontology = parse_schema_document(
        {
            "attrs": {"schema": {"camera_height": {"name": "camera_height", "type": NUM, "range": [1, 3]}}},
            "frames": {"schema": {"raining": {"name": "raining", "type": BOOL}}},
            "objects": {
                "schema": {"bus": {"label": "bus", "frames": {"schema": {"seats": {"name": "seats", "type": NUM}}}}}
            },
            "events": {"schema": {"stop": {"label": "stop"}}},
        }
    )
    video = write_eta_video(tmp_path / "bus.json", frames=900, objects_per_frame=2, seed=1, ontology=ontology)
    report = validate(read_analytics(video.path), ontology, mode="strict")
    assert (report.ok, report.violation_count) == (True, 0)
    records = list(report.analytics.records())
    assert {record.label for record in records if isinstance(record, ObjectRecord)} == {"bus"}
    assert len([record for record in records if isinstance(record, EventRecord)]) > 0
    assert 1.0 <= report.analytics.meta.attrs["camera_height"] <= 3.0


def test_frame_events_repeated_on_consecutive_frames_become_one_span(tmp_path):
    def theft(number, index=4):
        return {"frame_number": number, "events": {"events": [{"label": "theft", "index": index}]}}

    frames = {str(n): theft(n) for n in (3, 4, 5, 9)}
    frames["6"] = {"frame_number": 6, "events": {"events": [{"label": "fight"}]}}
    frames["7"] = {"frame_number": 7, "events": {"events": [{"label": "fight"}]}}
    path = write_json(tmp_path, {"metadata": {"frame_rate": 10}, "frames": frames})

    _analytics, records = read_all(path)

    events = [(r.label, r.start_index, r.end_index, r.path) for r in records if isinstance(r, EventRecord)]
    assert sorted(events) == [
        ("fight", 5, 5, "frames.6.events.events[0]"),
        ("fight", 6, 6, "frames.7.events.events[0]"),
        ("theft", 2, 4, "frames.3.events.events[0]"),
        ("theft", 8, 8, "frames.9.events.events[0]"),
    ]
