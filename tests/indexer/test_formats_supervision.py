"""supervision JSONSink / CSVSink reader: both sinks, frame columns, labels, options, streams."""

from __future__ import annotations

import json

import pytest

from indexer.formats import STREAM_READERS, FormatError, supervision
from indexer.formats.stream import StreamContext
from indexer.records import FrameRecord, ObjectRecord
from tests.samples import FORMATS_DIR

SIZE = {"width": 1280, "height": 720, "fps": 10}


def summary(records):
    return [
        (
            type(r).__name__,
            r.index,
            getattr(r, "label", None),
            getattr(r, "track", None),
            getattr(r, "confidence", None),
            r.path,
        )
        for r in records
    ]


@pytest.mark.parametrize(
    "name, paths",
    [
        ("supervision_jsonsink.json", ["[0]", "[0]", "[1]", "[2]", "[2]", "[3]", "[3]"]),
        ("supervision_csvsink.csv", ["line 2", "line 2", "line 3", "line 4", "line 4", "line 5", "line 5"]),
    ],
)
def test_both_sinks_give_the_same_records(name, paths):
    analytics = supervision.read(FORMATS_DIR / name, options=SIZE)
    records = list(analytics.records())
    assert analytics.warnings == []
    assert (analytics.meta.width, analytics.meta.height, analytics.meta.fps) == (1280, 720, 10.0)
    assert [r.path for r in records] == paths
    assert [
        (
            type(r).__name__,
            r.index,
            getattr(r, "label", None),
            getattr(r, "track", None),
            getattr(r, "confidence", None),
        )
        for r in records
    ] == [
        ("FrameRecord", 0, None, None, None),
        ("ObjectRecord", 0, "car", "1", 0.91),
        ("ObjectRecord", 0, "person", None, 0.55),  # tracker_id "" = untracked
        ("FrameRecord", 1, None, None, None),
        ("ObjectRecord", 1, "car", "1", 0.93),
        ("FrameRecord", 5, None, None, None),
        ("ObjectRecord", 5, "car", "1", None),  # confidence "" = missing
    ]
    assert records[1].box == pytest.approx((10.5 / 1280, 20 / 720, 110.5 / 1280, 220 / 720))
    assert records[5].t == 0.5


def test_frame_column_base_labels_and_attributes(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(
        "x_min,y_min,x_max,y_max,class_id,confidence,tracker_id,class_name,frame,zone\n"
        "0,0,128,72,3,0.5,4,,1,A\n0,0,128,72,2,0.5,5,car,2,7\n"
    )
    options = {
        **SIZE,
        "frame_column": "frame",
        "frame_base": 1,
        "labels": {"3": "truck", "car": "vehicle"},
        "attributes": ["zone"],
    }
    records = list(supervision.read(path, options=options).records())
    assert [(r.index, r.label, r.attrs) for r in records if isinstance(r, ObjectRecord)] == [
        (0, "truck", {"zone": "A"}),
        (1, "vehicle", {"zone": 7.0}),
    ]
    assert records[1].attr_paths == {"zone": "line 2.zone"}


def test_refusals_name_what_is_missing(tmp_path):
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([{"x_min": 0, "y_min": 0, "x_max": 1, "y_max": 1, "class_name": "car"}]))
    with pytest.raises(FormatError, match="supervision boxes are in pixels"):
        supervision.check_options(rows, {})
    with pytest.raises(FormatError, match="the rows carry no frame index: add one as custom data"):
        supervision.check_options(rows, SIZE)
    with pytest.raises(FormatError, match="the rows have no column 'when'"):
        supervision.read(rows, options={**SIZE, "frame_column": "when"})
    unnamed = tmp_path / "unnamed.json"
    unnamed.write_text(
        json.dumps(
            [{"x_min": 0, "y_min": 0, "x_max": 1, "y_max": 1, "class_id": "4", "class_name": "", "frame_index": 0}]
        )
    )
    with pytest.raises(FormatError, match=r"\[0\]: the row has no class_name: name its class_id with options.labels"):
        list(supervision.read(unnamed, options=SIZE).records())
    header = tmp_path / "header.csv"
    header.write_text("x_min,y_min,frame_index\n1,2,0\n")
    with pytest.raises(FormatError, match="line 1: the CSV header lacks x_max, y_max"):
        supervision.read(header, options=SIZE)


def test_stream_records_read_live_rows():
    context = StreamContext(fps=5, width=100, height=100)
    items = [
        (
            1,
            {
                "x_min": 0,
                "y_min": 0,
                "x_max": 50,
                "y_max": 50,
                "class_name": "car",
                "tracker_id": "",
                "frame_index": 10,
            },
        ),
        (
            2,
            {
                "x_min": 50,
                "y_min": 50,
                "x_max": 100,
                "y_max": 100,
                "class_name": "car",
                "tracker_id": 2,
                "frame_index": 10,
            },
        ),
    ]
    records = list(STREAM_READERS["supervision"](items, context=context))
    assert records == [
        FrameRecord(index=10, t=2.0, path="line 1"),
        ObjectRecord(index=10, t=2.0, label="car", box=(0.0, 0.0, 0.5, 0.5), path="line 1"),
        ObjectRecord(index=10, t=2.0, label="car", track="2", box=(0.5, 0.5, 1.0, 1.0), path="line 2"),
    ]
    with pytest.raises(FormatError, match="line 1: supervision boxes are in pixels|options: supervision boxes"):
        list(supervision.stream_records(items, context=StreamContext(fps=5)))
