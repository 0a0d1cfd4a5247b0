"""DeepStream nvmsgconv reader: full and minimal schemas, time, tracks, events, GPS, streams."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from indexer.formats import STREAM_READERS, FormatError, deepstream
from indexer.formats.stream import StreamContext
from indexer.records import EventRecord, FrameRecord, ObjectRecord, Waypoint
from tests.samples import FORMATS_DIR

HD = {"width": 1920, "height": 1080, "fps": 30}


def message(stamp: str, object_id="7", event=None, **typed):
    typed = typed or {"vehicle": {"type": "sedan", "color": "", "confidence": 0.5}}
    body = {
        "@timestamp": stamp,
        "object": {
            "id": object_id,
            **typed,
            "bbox": {"topleftx": 0, "toplefty": 0, "bottomrightx": 192, "bottomrighty": 108},
        },
    }
    if event:
        body["event"] = {"id": "e", "type": event}
    return body


def write_ndjson(tmp_path, messages):
    path = tmp_path / "messages.ndjson"
    path.write_text("".join(json.dumps(item) + "\n" for item in messages))
    return path


def test_full_schema_sample():
    analytics = deepstream.read(FORMATS_DIR / "deepstream_full.json", options=HD)
    assert analytics.warnings == []
    assert analytics.meta.camera == "CAMERA_ID"
    assert analytics.meta.recorded_at == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert (analytics.meta.fps, analytics.meta.width, analytics.meta.height) == (30.0, 1920, 1080)
    # The sensor stays put for 0.067 s, then moves: its first, last-before-moving and new positions.
    assert analytics.meta.gps == [
        Waypoint(t=0.0, lat=45.293701447, lon=-75.8303914499),
        Waypoint(t=pytest.approx(0.067), lat=45.293701447, lon=-75.8303914499),
        Waypoint(t=2.0, lat=45.2938, lon=-75.8302),
    ]
    records = list(analytics.records())
    frames = [record.index for record in records if isinstance(record, FrameRecord)]
    assert frames == [0, 0, 1, 2, 60]
    vehicle = records[1]
    assert vehicle == ObjectRecord(
        index=0,
        t=0.0,
        label="vehicle",
        track="7",
        confidence=0.9,
        box=pytest.approx((585 / 1920, 472 / 1080, 642 / 1920, 518 / 1080)),
        attrs={
            "type": "sedan",
            "make": "Bugatti",
            "model": "M",
            "color": "blue",
            "licenseState": "CA",
            "license": "XX1234",
        },
        path="[0].object",
        attr_paths={
            name: f"[0].object.vehicle.{name}" for name in ("type", "make", "model", "color", "licenseState", "license")
        },
    )
    person = records[3]
    assert (person.label, person.track, person.confidence) == ("person", None, 0.7)
    assert person.attrs == {"age": 45.0, "gender": "male", "hair": "black", "cap": "none", "apparel": "formal"}
    events = [record for record in records if isinstance(record, EventRecord)]
    # The untracked person's entry stays one frame; vehicle 7 moves on frames 0-2, then stops at 60.
    assert [(e.label, e.start_index, e.end_index, e.path) for e in events] == [
        ("entry", 0, 0, "[1].event"),
        ("moving", 0, 2, "[0].event"),
        ("stopped", 60, 60, "[4].event"),
    ]


def test_minimal_schema_sample():
    analytics = deepstream.read(FORMATS_DIR / "deepstream_minimal.ndjson", options=HD)
    records = list(analytics.records())
    assert [(type(r).__name__, r.index, r.path) for r in records] == [
        ("FrameRecord", 0, "line 1"),
        ("ObjectRecord", 0, "line 1.objects[0]"),
        ("ObjectRecord", 0, "line 1.objects[1]"),
        ("FrameRecord", 15, "line 2"),
        ("ObjectRecord", 15, "line 2.objects[0]"),
        ("FrameRecord", 30, "line 3"),
    ]
    vehicle, person, bare = records[1], records[2], records[4]
    assert vehicle.attrs == {
        "type": "sedan",
        "make": "Bugatti",
        "model": "M",
        "color": "blue",
        "license": "XX1234",
        "licenseState": "CA",
    }
    assert (vehicle.label, vehicle.track, vehicle.confidence) == ("vehicle", "7", 0.8)
    assert vehicle.box == pytest.approx((585 / 1920, 472 / 1080, 642 / 1920, 518 / 1080))
    assert (person.label, person.track, person.attrs["age"], person.attrs["gender"]) == ("person", None, 45.0, "male")
    assert (bare.attrs, bare.confidence, bare.t) == ({}, None, 0.5)


def test_fps_default_warns_and_origin_option_shifts_time(tmp_path):
    path = write_ndjson(tmp_path, [message("2026-03-02T08:00:01Z"), message("2026-03-02T08:00:03Z")])
    analytics = deepstream.read(path, options={"width": 1920, "height": 1080, "origin": "2026-03-02T08:00:00Z"})
    assert analytics.warnings == ["no fps option: assumed 30 fps to turn times into frame indices"]
    assert [record.index for record in analytics.records()] == [30, 30, 90, 90]
    early = deepstream.read(path, options={**HD, "origin": "2026-03-02T08:00:02Z"})
    with pytest.raises(FormatError, match=r"line 1: 2026-03-02T08:00:01\+00:00 is 1 s before the origin"):
        list(early.records())


def test_boxes_need_the_frame_size(tmp_path):
    path = write_ndjson(tmp_path, [message("2026-03-02T08:00:00Z")])
    with pytest.raises(FormatError, match="DeepStream boxes are in pixels: give the frame size as the options width"):
        deepstream.read(path, options={"fps": 30})
    with pytest.raises(FormatError, match="DeepStream boxes are in pixels"):
        deepstream.check_options(path, {"fps": 30})
    deepstream.check_options(path, HD)


def test_events_further_apart_than_the_gap_are_two_spans(tmp_path):
    stamps = ["2026-03-02T08:00:00Z", "2026-03-02T08:00:00.5Z", "2026-03-02T08:00:03Z"]
    path = write_ndjson(tmp_path, [message(stamp, event="moving") for stamp in stamps])
    events = [r for r in deepstream.read(path, options=HD).records() if isinstance(r, EventRecord)]
    assert [(e.start_index, e.end_index) for e in events] == [(0, 15), (90, 90)]
    wide = deepstream.read(path, options={**HD, "event_gap_s": 5})
    assert [(e.start_index, e.end_index) for e in wide.records() if isinstance(e, EventRecord)] == [(0, 90)]


def test_labels_option_and_untracked_minus_one(tmp_path):
    face = {"face": {"gender": "female", "age": 30, "confidence": 0.6}}
    path = write_ndjson(tmp_path, [message("2026-03-02T08:00:00Z", object_id="-1", **face)])
    records = list(deepstream.read(path, options={**HD, "labels": {"face": "person"}}).records())
    assert (records[1].label, records[1].track, records[1].attrs) == ("person", None, {"gender": "female", "age": 30.0})


def test_bad_messages_name_their_place(tmp_path):
    path = write_ndjson(tmp_path, [message("2026-03-02T08:00:00Z"), {"@timestamp": "yesterday"}])
    with pytest.raises(FormatError) as caught:
        deepstream.read(path, options=HD)
    assert str(caught.value) == "line 2.@timestamp: @timestamp 'yesterday' is not an ISO 8601 date and time"
    no_type = write_ndjson(
        tmp_path, [message("2026-03-02T08:00:00Z"), {"@timestamp": "2026-03-02T08:00:00Z", "object": {"id": "1"}}]
    )
    with pytest.raises(FormatError, match=r"line 2.object: the object has no typed sub-object"):
        list(deepstream.read(no_type, options=HD).records())
    # one message alone is one JSON document: paths start at its root
    short = write_ndjson(tmp_path, [{"@timestamp": "2026-03-02T08:00:00Z", "objects": ["1|2|3"]}])
    with pytest.raises(FormatError, match=r"^objects\[0\]: expected 'id\|left\|top\|right\|bottom\|type'"):
        list(deepstream.read(short, options=HD).records())


def test_stream_records_share_the_message_logic():
    context = StreamContext(fps=10, width=1920, height=1080, origin=datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    items = [
        (3, message("2026-03-02T08:00:01Z", event="parked")),
        (4, {"@timestamp": "2026-03-02T08:00:01.2Z", "objects": ["9|0|0|96|54|Person"]}),
    ]
    records = list(STREAM_READERS["deepstream"](items, context=context))
    assert [(type(r).__name__, r.path) for r in records] == [
        ("FrameRecord", "line 3"),
        ("ObjectRecord", "line 3.object"),
        ("EventRecord", "line 3.event"),
        ("FrameRecord", "line 4"),
        ("ObjectRecord", "line 4.objects[0]"),
    ]
    assert records[1].index == 10 and records[2] == EventRecord(
        label="parked", start_index=10, end_index=10, path="line 3.event"
    )
    assert records[4].box == pytest.approx((0.0, 0.0, 0.05, 0.05)) and records[4].track == "9"
    without_origin = StreamContext(fps=10, width=1920, height=1080)
    with pytest.raises(FormatError, match="line 3: DeepStream messages carry wall-clock times"):
        list(deepstream.stream_records(items, context=without_origin))
