"""MOTChallenge reader: ground truth and detections, seqinfo.ini, classes, refusals."""

from __future__ import annotations

import pytest

from indexer.formats import FormatError, motchallenge
from indexer.records import ObjectRecord
from tests.samples import FORMATS_DIR

SEQINFO = (FORMATS_DIR / "motchallenge_seqinfo.ini").read_text()


def detections(analytics):
    return [record for record in analytics.records() if isinstance(record, ObjectRecord)]


def test_ground_truth_with_seqinfo():
    analytics = motchallenge.read(FORMATS_DIR / "motchallenge_gt.txt", options={"seqinfo": SEQINFO})
    meta = analytics.meta
    assert (meta.fps, meta.width, meta.height, meta.frame_count, meta.duration_s, meta.filename) == (
        30.0,
        1920,
        1080,
        600,
        20.0,
        "MOT17-02-DPM",
    )
    objects = detections(analytics)
    assert [(o.index, o.track, o.label, o.confidence, o.path) for o in objects] == [
        (0, "1", "static_person", None, "line 1"),
        (0, "2", "pedestrian", None, "line 2"),
        (1, "2", "pedestrian", None, "line 3"),
        (2, "3", "car", None, "line 4"),
    ]
    # bb_left, bb_top, bb_width, bb_height in pixels -> relative corners
    assert objects[1].box == pytest.approx((1338 / 1920, 418 / 1080, 1505 / 1920, 797 / 1080))
    assert objects[3].t == pytest.approx(2 / 30)


def test_detections_untracked_and_unbounded_scores():
    analytics = motchallenge.read(FORMATS_DIR / "motchallenge_det.txt", options={"seqinfo": SEQINFO})
    assert analytics.warnings == ["1 detection score(s) outside 0..1 left out as confidence"]
    assert [(o.index, o.track, o.label, o.confidence) for o in detections(analytics)] == [
        (0, None, "pedestrian", None),
        (0, None, "pedestrian", 0.87),
        (1, None, "pedestrian", 0.45),
    ]


def test_options_override_classes_and_sequence(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("4,5,0,0,64,48,1,1,1\n4,6,0,0,64,48,1,3,1\n")
    analytics = motchallenge.read(
        path, options={"fps": 25, "width": 640, "height": 480, "classes": {"1": "person", "3": "vehicle"}}
    )
    assert [(o.index, o.label, o.box, o.t) for o in detections(analytics)] == [
        (3, "person", (0.0, 0.0, 0.1, 0.1), 0.12),
        (3, "vehicle", (0.0, 0.0, 0.1, 0.1), 0.12),
    ]


def test_refusals(tmp_path):
    with pytest.raises(FormatError, match="MOTChallenge needs the sequence's frame rate and frame size"):
        motchallenge.check_options(FORMATS_DIR / "motchallenge_gt.txt", {"fps": 30})
    with pytest.raises(FormatError, match=r"options.seqinfo: seqinfo.ini has no \[Sequence\] section"):
        motchallenge.check_options(FORMATS_DIR / "motchallenge_gt.txt", {"seqinfo": "[Other]\nx=1\n"})
    with pytest.raises(FormatError, match="options.classes maps class ids to labels"):
        motchallenge.check_options(FORMATS_DIR / "motchallenge_gt.txt", {"seqinfo": SEQINFO, "classes": {"x": "car"}})
    zero = tmp_path / "zero.txt"
    zero.write_text("0,1,0,0,10,10,1,1,1\n")
    with pytest.raises(FormatError, match="line 1: frame numbers are 1-based, got 0"):
        list(motchallenge.read(zero, options={"seqinfo": SEQINFO}).records())
    unknown = tmp_path / "unknown.txt"
    unknown.write_text("1,1,0,0,10,10,1,42,1\n")
    with pytest.raises(FormatError, match="line 1: unknown class 42: name it with options.classes"):
        motchallenge.read(unknown, options={"seqinfo": SEQINFO})
