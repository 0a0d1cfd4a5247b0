"""Format detection and read_analytics: every sample, unknown and broken payloads."""

from __future__ import annotations

import pytest

from indexer.formats import FORMATS, STREAM_READERS, FormatError, detect_format, read_analytics
from tests.samples import FORMATS_DIR, sample, write_json


@pytest.mark.parametrize(
    "name, expected",
    [
        ("eta_VideoLabels_framewise.json", "eta"),
        ("eta_VideoLabels_spatiotemporal.json", "eta"),
        ("eta_VideoLabels_2019format.json", "eta"),
        ("roboflow_video_inference_reconstructed.json", "roboflow"),
        ("bdd100k_frames_with_scene_attrs.json", "bdd100k"),
        ("bdd100k_tracking_gt.json", "bdd100k"),
    ],
)
def test_every_analytics_sample_is_detected_and_read(name, expected):
    assert detect_format(sample(name)) == expected
    analytics = read_analytics(sample(name))
    assert analytics.format == expected
    assert analytics.meta.fps > 0


@pytest.mark.parametrize("name", ["eta_VideoLabelsSchema.json", "eta_schema_2019format.json"])
def test_schema_samples_are_refused_as_analytics(name):
    with pytest.raises(FormatError) as caught:
        detect_format(sample(name))
    assert str(caught.value) == "this looks like a label schema (ontology), not analytics: upload it as a schema"


def test_bdd_info_sample_is_refused_as_labels():
    with pytest.raises(FormatError, match="this looks like a BDD100K info file .GPS/IMU., not labels"):
        detect_format(sample("bdd100k_info_reconstructed.json"))


def test_registry_names():
    assert sorted(FORMATS) == [
        "bdd100k", "camio", "cvat", "deepstream", "eta", "motchallenge", "roboflow", "supervision"
    ]
    assert sorted(STREAM_READERS) == ["deepstream", "eta", "supervision"]


def test_unknown_object_names_its_keys(tmp_path):
    with pytest.raises(FormatError) as caught:
        detect_format(write_json(tmp_path, {"detections": [1, 2], "model": "yolo"}))
    assert str(caught.value).startswith(
        "could not tell the analytics format from the top-level keys 'detections', 'model'; expected ETA VideoLabels"
    )


def test_unknown_list_names_its_items(tmp_path):
    with pytest.raises(FormatError, match="the payload is a list whose items have keys 'frame', 'bbox'"):
        detect_format(write_json(tmp_path, [{"frame": 1, "bbox": [0, 0, 1, 1]}]))
    with pytest.raises(FormatError, match="the payload is a list of numbers, not of frames"):
        detect_format(write_json(tmp_path, [1, 2, 3]))


def test_scalar_and_empty_payloads(tmp_path):
    with pytest.raises(FormatError, match="the payload is a single JSON value, not analytics"):
        detect_format(write_json(tmp_path, "hello"))
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(FormatError, match="the file is empty"):
        detect_format(empty)


def test_empty_list_is_an_empty_bdd_video(tmp_path):
    path = write_json(tmp_path, [])
    assert detect_format(path) == "bdd100k"
    assert list(read_analytics(path).records()) == []


@pytest.mark.parametrize(
    "document, expected",
    [
        ({"_CLS": "eta.core.video.VideoLabels", "frames": {}}, "eta"),
        ({"filename": "a.mp4", "frames": {"1": {}}}, "eta"),
        ({"objects": {"objects": []}}, "eta"),
        ({"my-model/1": [{"image": {}, "predictions": []}], "frame_offsets": [0]}, "roboflow"),
        ({"frames": [], "config": {}}, "bdd100k"),
        ({"config": {}, "frames": []}, "bdd100k"),
    ],
)
def test_detection_by_top_level_shape(tmp_path, document, expected):
    assert detect_format(write_json(tmp_path, document)) == expected


def test_detection_reads_only_the_start(tmp_path):
    # The end of this file is cut off; its start is enough to tell the format.
    text = sample("bdd100k_tracking_gt.json").read_bytes()
    path = tmp_path / "cut.json"
    path.write_bytes(text[: len(text) - 1000])
    assert detect_format(path) == "bdd100k"
    with pytest.raises(FormatError, match="the JSON ends unexpectedly"):
        read_analytics(path)


def test_malformed_start_names_the_byte(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"frames": {1: {}}}')
    with pytest.raises(FormatError) as caught:
        detect_format(path)
    # yajl notices the bad key 1 when the number ends, at the colon after it.
    assert caught.value.position == 13
    assert str(caught.value) == "malformed JSON at byte 13: parse error: invalid object key (must be a string)"


def test_not_json_at_all(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("hello world\n")
    with pytest.raises(FormatError) as caught:
        detect_format(path)
    assert caught.value.position == 0
    assert str(caught.value) == "malformed JSON at byte 0: lexical error: invalid char in json text."


def test_unknown_csv_names_its_first_line(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("when,what,x,y\nnoon,2,3,4\n")
    with pytest.raises(FormatError, match="a CSV payload whose first line is 'when,what,x,y'; expected ETA"):
        detect_format(path)




@pytest.mark.parametrize(
    "name, expected",
    [
        ("deepstream_full.json", "deepstream"),
        ("deepstream_minimal.ndjson", "deepstream"),
        ("supervision_jsonsink.json", "supervision"),
        ("supervision_csvsink.csv", "supervision"),
        ("motchallenge_gt.txt", "motchallenge"),
        ("motchallenge_det.txt", "motchallenge"),
        ("cvat_video_1_1.xml", "cvat"),
        ("camio_labels.json", "camio"),
    ],
)
def test_new_format_samples_are_detected(name, expected):
    assert detect_format(FORMATS_DIR / name) == expected


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"@timestamp": "2026-03-02T08:00:00Z", "sensorId": "c", "objects": []}', "deepstream"),
        ('{"id": 3, "@timestamp": "2026-03-02T08:00:00Z", "objects": []}\n{"id": 4, "@timestamp": "x"}\n',
         "deepstream"),
        ('{"x_min": 1, "y_min": 1, "x_max": 2, "y_max": 2, "frame_index": 0}\n{"x_min": 1}\n', "supervision"),
        ("frame,id,bb_left,bb_top,bb_width,bb_height,conf\n1,1,2,3,4,5,1\n", "motchallenge"),
        ('{"lobby": {"2026-03-02T08:00:00Z": ["person"]}}', "camio"),
        ("<?xml version='1.0'?>\n<annotations><version>1.1</version></annotations>", "cvat"),
    ],
)
def test_detection_of_the_new_formats_by_their_start(tmp_path, content, expected):
    path = tmp_path / "payload"
    path.write_text(content)
    assert detect_format(path) == expected


def test_unknown_ndjson_and_xml_are_named(tmp_path):
    path = tmp_path / "payload"
    path.write_text('{"frame": 1}\n{"frame": 2}\n')
    with pytest.raises(FormatError, match="newline-delimited JSON whose first message has the keys 'frame'"):
        detect_format(path)
    path.write_text("<svg><g/></svg>")
    with pytest.raises(FormatError, match="an XML payload that is not CVAT for video 1.1"):
        detect_format(path)


def test_read_analytics_honours_an_explicit_format(tmp_path):
    path = write_json(tmp_path, [{"frameIndex": 0, "labels": []}])
    assert read_analytics(path, format="bdd100k", options={"fps": 10}).meta.fps == 10.0
    with pytest.raises(FormatError, match=r"expected a JSON object \(ETA VideoLabels\), got a JSON array"):
        read_analytics(path, format="eta")
    with pytest.raises(FormatError, match="unknown format 'mot'; expected one of eta, roboflow, bdd100k"):
        read_analytics(path, format="mot")


def test_errors_are_value_errors_with_a_path(tmp_path):
    path = write_json(tmp_path, {"frames": {"1": {"objects": {"objects": [{"label": 5}]}}}})
    with pytest.raises(ValueError) as caught:
        list(read_analytics(path).records())
    assert isinstance(caught.value, FormatError)
    assert caught.value.path == "frames.1.objects.objects[0]"
