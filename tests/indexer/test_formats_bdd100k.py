"""BDD100K / Scalabel reader: the shared samples, info GPS, layouts, errors."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from indexer.formats import FormatError, bdd100k
from indexer.records import FrameRecord, ObjectRecord, Waypoint
from tests.samples import sample, write_json


def frame(index, *labels, **extra):
    return {"name": f"v-{index}.jpg", "videoName": "v", "frameIndex": index, "labels": list(labels), **extra}


def label(ident, category="car", box2d=None, **extra):
    return {"id": ident, "category": category, "box2d": box2d, **extra}


# ---- tracking ground truth ----------------------------------------------------------------


@pytest.fixture(scope="module")
def tracking():
    analytics = bdd100k.read(sample("bdd100k_tracking_gt.json"))
    return analytics, list(analytics.records())


def test_tracking_gt_counts(tracking):
    analytics, records = tracking
    frames = [record for record in records if isinstance(record, FrameRecord)]
    objects = [record for record in records if isinstance(record, ObjectRecord)]
    assert len(frames) == 202
    assert [frame.index for frame in frames] == list(range(202))
    assert len(objects) == 3241
    assert len({record.track for record in objects}) == 144
    assert Counter(record.label for record in objects) == {
        "car": 2726,
        "pedestrian": 191,
        "motorcycle": 119,
        "rider": 119,
        "truck": 65,
        "bus": 21,
    }
    assert Counter(record.track for record in objects)["a-00122076"] == 123
    assert analytics.meta.filename == "b1c66a42-6f7d68ca"


def test_tracking_gt_time_is_frame_index_at_5_fps(tracking):
    analytics, records = tracking
    assert analytics.meta.fps == 5.0
    assert analytics.warnings == []
    assert records[-22].index == 201 and records[-22].t == pytest.approx(40.2)


def test_tracking_gt_first_detection(tracking):
    _analytics, records = tracking
    assert records[1] == ObjectRecord(
        index=0,
        t=0.0,
        label="car",
        track="a-00122062",
        box=pytest.approx((0.0, 346.55482900742646 / 720, 75.41276162779963 / 1280, 407.4496307987563 / 720)),
        attrs={"occluded": False, "truncated": True, "crowd": False},
        path="[0].labels[0]",
        attr_paths={
            "occluded": "[0].labels[0].attributes.occluded",
            "truncated": "[0].labels[0].attributes.truncated",
            "crowd": "[0].labels[0].attributes.crowd",
        },
    )
    occluded = Counter(record.attrs["occluded"] for record in objects_of(records))
    assert occluded == {True: 2404, False: 837}


def objects_of(records):
    return [record for record in records if isinstance(record, ObjectRecord)]


# ---- frames with scene attributes, info GPS ---------------------------------------------------


def test_frames_with_scene_attributes():
    analytics = bdd100k.read(sample("bdd100k_frames_with_scene_attrs.json"))
    records = list(analytics.records())
    assert records[0] == FrameRecord(
        index=0,
        t=0.0,
        attrs={"weather": "overcast", "timeofday": "daytime", "scene": "city street"},
        path="[0]",
        attr_paths={
            "weather": "[0].attributes.weather",
            "timeofday": "[0].attributes.timeofday",
            "scene": "[0].attributes.scene",
        },
    )
    assert [type(record).__name__ for record in records].count("ObjectRecord") == 8
    sign = records[1]
    assert (sign.label, sign.track, sign.index) == ("traffic sign", "0", 0)
    assert sign.attrs == {"occluded": False, "truncated": False, "trafficLightColor": "NA"}
    assert sign.box == pytest.approx((1000.698742 / 1280, 281.992415 / 720, 1040.626872 / 1280, 326.91156 / 720))
    assert records[5] == FrameRecord(
        index=1,
        t=0.2,
        attrs={"weather": "overcast", "timeofday": "daytime", "scene": "city street"},
        path="[1]",
        attr_paths={
            "weather": "[1].attributes.weather",
            "timeofday": "[1].attributes.timeofday",
            "scene": "[1].attributes.scene",
        },
    )
    assert analytics.meta.gps == [] and analytics.meta.recorded_at is None


def test_info_file_gives_gps_and_recording_time():
    analytics = bdd100k.read(
        sample("bdd100k_frames_with_scene_attrs.json"),
        options={"info_path": str(sample("bdd100k_info_reconstructed.json"))},
    )
    assert analytics.meta.gps == [
        Waypoint(t=0.0, lat=40.67684, lon=-73.83221),
        Waypoint(t=1.0, lat=40.67685, lon=-73.83226),
    ]
    assert analytics.meta.recorded_at == datetime(2017, 9, 30, 19, 47, 23, 701000, tzinfo=UTC)


def test_loaded_info_falls_back_to_gps_list():
    info = json.loads(sample("bdd100k_info_reconstructed.json").read_text())
    info["locations"] = []
    info["gps"].append({"timestamp": 1506800846201, "latitude": 40.7, "longitude": -73.9, "vertical accuracy": 1})
    analytics = bdd100k.read(sample("bdd100k_frames_with_scene_attrs.json"), options={"info": info})
    assert analytics.meta.gps == [Waypoint(t=0.0, lat=40.67684, lon=-73.83221), Waypoint(t=2.5, lat=40.7, lon=-73.9)]


def test_info_without_start_time_starts_at_the_first_fix(tmp_path):
    info = {
        "locations": [
            {"timestamp": 2000, "latitude": 1, "longitude": 2},
            {"timestamp": 1000, "latitude": 3, "longitude": 4},
        ]
    }
    analytics = bdd100k.read(sample("bdd100k_frames_with_scene_attrs.json"), options={"info": info})
    assert analytics.meta.gps == [Waypoint(t=0.0, lat=3.0, lon=4.0), Waypoint(t=1.0, lat=1.0, lon=2.0)]
    assert analytics.meta.recorded_at == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)


# ---- layouts and options ------------------------------------------------------------------------


def test_frames_object_with_config_after_the_frames(tmp_path):
    document = {
        "frames": [frame(3, label(7, box2d={"x1": 64, "y1": 48, "x2": 320, "y2": 240}, score=0.75))],
        "config": {"imageSize": {"width": 640, "height": 480}},
    }
    analytics = bdd100k.read(write_json(tmp_path, document))
    assert (analytics.meta.width, analytics.meta.height) == (640, 480)
    records = list(analytics.records())
    assert records[0] == FrameRecord(index=3, t=0.6, path="frames[0]")
    assert records[1] == ObjectRecord(
        index=3, t=0.6, label="car", track="7", confidence=0.75, box=(0.1, 0.1, 0.5, 0.5), path="frames[0].labels[0]"
    )


def test_options_image_size_and_fps(tmp_path):
    path = write_json(tmp_path, [frame(10, label("a", box2d={"x1": 10, "y1": 10, "x2": 50, "y2": 100}))])
    analytics = bdd100k.read(path, options={"fps": 30, "image_size": [100, 200]})
    records = list(analytics.records())
    assert analytics.meta.fps == 30.0
    assert records[1].box == (0.1, 0.05, 0.5, 0.5) and records[1].t == pytest.approx(1 / 3)


def test_null_and_nested_attribute_values_are_dropped(tmp_path):
    attributes = {"occluded": None, "trafficLightColor": "G", "truncated": True, "tags": ["a"], "height": 3}
    path = write_json(
        tmp_path, [frame(0, label(1, "traffic light", attributes=attributes), attributes={"weather": None})]
    )
    records = list(bdd100k.read(path).records())
    assert records[0].attrs == {}
    assert records[1].attrs == {"trafficLightColor": "G", "truncated": True, "height": 3.0}
    assert records[1].box is None


def test_frame_without_index_takes_its_position(tmp_path):
    path = write_json(tmp_path, [{"name": "a.jpg", "labels": []}, {"name": "b.jpg"}])
    assert [(record.index, record.t) for record in bdd100k.read(path).records()] == [(0, 0.0), (1, 0.2)]


def test_records_can_be_read_twice():
    analytics = bdd100k.read(sample("bdd100k_frames_with_scene_attrs.json"))
    assert list(analytics.records()) == list(analytics.records())


# ---- errors -------------------------------------------------------------------------------------


def test_label_without_category_is_a_format_error(tmp_path):
    path = write_json(tmp_path, [frame(0), frame(1, {"id": 1})])
    with pytest.raises(FormatError) as caught:
        list(bdd100k.read(path).records())
    assert str(caught.value) == "[1].labels[0]: the label has no category"


def test_bad_box_is_a_format_error(tmp_path):
    path = write_json(tmp_path, [frame(0, label(1, box2d={"x1": 1, "y1": 2}))])
    with pytest.raises(FormatError) as caught:
        list(bdd100k.read(path).records())
    assert caught.value.path == "[0].labels[0].box2d"


def test_scalar_payload_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="a BDD100K payload is a list of frames or an object with 'frames'"):
        bdd100k.read(write_json(tmp_path, 5))


def test_truncated_file(tmp_path):
    text = sample("bdd100k_tracking_gt.json").read_bytes()
    path = tmp_path / "truncated.json"
    path.write_bytes(text[: len(text) // 2])
    with pytest.raises(FormatError) as caught:
        bdd100k.read(path)
    assert caught.value.position == len(text) // 2
    assert caught.value.path.startswith("[")
