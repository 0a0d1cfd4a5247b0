"""Roboflow video inference reader: the shared sample, offsets, tracks, errors."""

from __future__ import annotations

import pytest

from indexer.formats import FormatError, roboflow
from indexer.records import FrameRecord, ObjectRecord
from tests.samples import sample, write_json


def prediction(x, y, width, height, label="car", **extra):
    return {"x": x, "y": y, "width": width, "height": height, "confidence": 0.5, "class": label, **extra}


def entry(*predictions, width=100, height=50):
    return {"time": 0.01, "image": {"width": width, "height": height}, "predictions": list(predictions)}


def test_sample():
    analytics = roboflow.read(sample("roboflow_video_inference_reconstructed.json"))
    assert analytics.format == "roboflow"
    assert analytics.warnings == []
    # 12 frames in 0.5 s
    assert analytics.meta.fps == 24.0
    assert (analytics.meta.width, analytics.meta.height) == (480, 360)
    records = list(analytics.records())
    assert records == [
        FrameRecord(index=0, t=0.0, path="my-project/3[0]"),
        ObjectRecord(
            index=0,
            t=0.0,
            label="zebra",
            confidence=0.6243005394935608,
            box=pytest.approx((342 / 480, 62 / 360, 378 / 480, 166 / 360)),
            path="my-project/3[0].predictions[0]",
        ),
        # entry 1 is null: frame 6 was not inferred; entry 2 has no predictions but was looked at
        FrameRecord(index=12, t=0.5, path="my-project/3[2]"),
    ]
    assert records[1].box == pytest.approx((0.7125, 0.172222, 0.7875, 0.461111), abs=1e-6)


def test_tracker_ids_and_several_models(tmp_path):
    document = {
        "frame_offsets": [0, 10],
        "time_offsets": [0.0, 1.0],
        "detector": [entry(prediction(50, 25, 20, 10, tracker_id=4, detection_id="d1")), entry()],
        "people": [None, entry(prediction(10, 10, 4, 4, label="person", tracker_id=9.0))],
    }
    analytics = roboflow.read(write_json(tmp_path, document))
    assert analytics.meta.fps == 10.0
    records = list(analytics.records())
    assert [(type(record).__name__, record.index, record.path) for record in records] == [
        ("FrameRecord", 0, "detector[0]"),
        ("ObjectRecord", 0, "detector[0].predictions[0]"),
        ("FrameRecord", 10, "detector[1]"),
        ("FrameRecord", 10, "people[1]"),
        ("ObjectRecord", 10, "people[1].predictions[0]"),
    ]
    assert records[1].track == "4" and records[1].box == (0.4, 0.4, 0.6, 0.6)
    assert records[4].track == "9" and records[4].label == "person" and records[4].t == 1.0


def test_offsets_after_the_model_stream(tmp_path):
    path = tmp_path / "late.json"
    path.write_text(
        '{"m": [{"image": {"width": 10, "height": 10}, "predictions": []}, null],'
        ' "time_offsets": [2.0, 3.0], "frame_offsets": [60, 90]}'
    )
    analytics = roboflow.read(path)
    assert analytics.meta.fps == 30.0
    assert list(analytics.records()) == [FrameRecord(index=60, t=2.0, path="m[0]")]


def test_only_time_offsets_use_the_fps_option(tmp_path):
    path = write_json(tmp_path, {"time_offsets": [0.5], "m": [entry()]})
    analytics = roboflow.read(path, options={"fps": 10})
    assert analytics.meta.fps == 10.0 and analytics.warnings == []
    assert list(analytics.records()) == [FrameRecord(index=5, t=0.5, path="m[0]")]


def test_single_frame_without_fps_assumes_30(tmp_path):
    analytics = roboflow.read(write_json(tmp_path, {"frame_offsets": [15], "m": [entry()]}))
    assert analytics.meta.fps == 30.0
    assert analytics.warnings == ["the offsets do not give a frame rate: assumed 30 fps"]
    assert list(analytics.records()) == [FrameRecord(index=15, t=0.5, path="m[0]")]


def test_records_can_be_read_twice():
    analytics = roboflow.read(sample("roboflow_video_inference_reconstructed.json"))
    assert list(analytics.records()) == list(analytics.records())


def test_unequal_lists_are_a_format_error(tmp_path):
    path = write_json(tmp_path, {"frame_offsets": [0, 1], "time_offsets": [0.0, 0.1], "m": [None]})
    with pytest.raises(FormatError) as caught:
        roboflow.read(path)
    assert str(caught.value) == (
        "the parallel lists differ in length: frame_offsets has 2, time_offsets has 2, m has 1"
    )


def test_no_offsets_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="a Roboflow payload needs frame_offsets or time_offsets"):
        roboflow.read(write_json(tmp_path, {"m": [entry()]}))


def test_prediction_without_class_is_a_format_error(tmp_path):
    path = write_json(tmp_path, {"frame_offsets": [0], "m": [entry({"x": 1, "y": 1, "width": 1, "height": 1})]})
    with pytest.raises(FormatError) as caught:
        list(roboflow.read(path).records())
    assert str(caught.value) == "m[0].predictions[0]: the prediction has no class"


def test_missing_image_size_is_a_format_error(tmp_path):
    path = write_json(tmp_path, {"frame_offsets": [0], "m": [{"predictions": [prediction(1, 1, 1, 1)]}]})
    with pytest.raises(FormatError, match="no image width and height to make the boxes relative"):
        list(roboflow.read(path).records())


def test_truncated_file(tmp_path):
    text = sample("roboflow_video_inference_reconstructed.json").read_bytes()
    path = tmp_path / "truncated.json"
    path.write_bytes(text[:100])
    with pytest.raises(FormatError) as caught:
        roboflow.read(path)
    assert caught.value.position == 100
    assert "ends unexpectedly at byte 100" in str(caught.value)
