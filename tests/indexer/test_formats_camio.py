"""Camio export reader: layout, time, lenient JSON repairs reported with positions, refusals."""

from __future__ import annotations

import pytest

from indexer.formats import FormatError, camio
from indexer.records import FrameRecord, ObjectRecord
from tests.samples import FORMATS_DIR


def write(tmp_path, text):
    path = tmp_path / "camio.json"
    path.write_text(text)
    return path


def test_sample_repairs_are_reported_with_their_position():
    analytics = camio.read(FORMATS_DIR / "camio_labels.json", options={"fps": 1})
    assert analytics.meta.camera == "front"
    assert analytics.meta.recorded_at.isoformat() == "2016-01-21T20:38:31.469000-07:00"
    assert analytics.warnings == [
        "repaired a // comment (ignored) at line 1, column 1",
        "repaired the unquoted key 'front' at line 3, column 3",
        "repaired a single-quoted string at line 4, column 5",
        "repaired a trailing comma (removed) at line 4, column 53",
        "repaired the unquoted key 'label' at line 5, column 39",
        "repaired the unquoted key 'confidence' at line 5, column 56",
        "repaired NaN (read as missing) at line 5, column 68",
        "repaired a /* */ comment (ignored) at line 6, column 5",
        "repaired a trailing comma (removed) at line 7, column 39",
        "repaired a trailing comma (removed) at line 8, column 4",
    ]
    records = list(analytics.records())
    assert [
        (type(r).__name__, r.index, getattr(r, "label", None), getattr(r, "confidence", None)) for r in records
    ] == [
        ("FrameRecord", 0, None, None),
        ("ObjectRecord", 0, "person", None),
        ("ObjectRecord", 0, "car", None),
        ("FrameRecord", 2, None, None),
        ("ObjectRecord", 2, "person", None),
        ("ObjectRecord", 2, "car", 0.8),
        ("FrameRecord", 10, None, None),
    ]
    assert records[1].path == 'front["2016-01-21T20:38:31.469-0700"][0]'


def test_strict_json_has_no_warnings_but_the_fps_one(tmp_path):
    path = write(tmp_path, '{"lobby": {"2026-03-02T08:00:02Z": ["person"], "2026-03-02T08:00:00Z": []}}')
    analytics = camio.read(path, options={"origin": "2026-03-02T07:59:59Z"})
    assert analytics.warnings == ["no fps option: assumed 30 fps to turn times into frame indices"]
    assert [(type(r).__name__, r.index) for r in analytics.records()] == [
        ("FrameRecord", 30),
        ("FrameRecord", 90),
        ("ObjectRecord", 90),
    ]


def test_concatenated_documents_are_merged(tmp_path):
    path = write(tmp_path, '{"a": {"2026-03-02T08:00:00Z": ["person"]}}\n{"a": {"2026-03-02T08:00:00Z": ["car"]}}')
    analytics = camio.read(path, options={"fps": 10})
    assert analytics.warnings == ["repaired a second document after the first (merged into it) at line 2, column 1"]
    assert [r.label for r in analytics.records() if isinstance(r, ObjectRecord)] == ["person", "car"]


def test_several_cameras_need_one_named(tmp_path):
    path = write(tmp_path, '{"a": {"2026-03-02T08:00:00Z": ["person"]}, "b": {"2026-03-02T08:00:01Z": ["car"]}}')
    with pytest.raises(FormatError, match="the export holds the cameras 'a', 'b': name one with options.camera"):
        camio.read(path, options={"fps": 1})
    analytics = camio.read(path, options={"fps": 1, "camera": "b"})
    assert analytics.meta.camera == "b"
    assert [r.index for r in analytics.records() if isinstance(r, FrameRecord)] == [0]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            '{"a": {"2026-03-02T08:00:00Z": ["person" "car"]}}',
            "malformed Camio JSON at line 1, column 42: expected ',' or ']', found '\"car\"]}}'",
        ),
        (
            '{"a": {"2026-03-02T08:00:00Z": [person]}}',
            "malformed Camio JSON at line 1, column 33: expected a value, found 'person]}}'",
        ),
        (
            '{"a": {"2026-03-02T08:00:00Z": ["person"]}',
            "malformed Camio JSON at line 1, column 43: expected ',' or '}', the text ends",
        ),
        (
            '{"a": {"2026-03-02T08:00:00Z": ["person"]}} trailing',
            "malformed Camio JSON at line 1, column 45: expected the end of the document, found 'trailing'",
        ),
    ],
)
def test_what_cannot_be_repaired_is_refused_with_its_position(tmp_path, text, message):
    with pytest.raises(FormatError) as caught:
        camio.read(write(tmp_path, text))
    assert str(caught.value) == message


def test_bad_time_stamps_and_labels(tmp_path):
    with pytest.raises(FormatError, match=r"a.noon: a Camio time stamp 'noon' is not an ISO 8601"):
        camio.read(write(tmp_path, '{"a": {"noon": ["person"]}}'))
    with pytest.raises(FormatError, match="a label must be a string or an object, got 5"):
        list(camio.read(write(tmp_path, '{"a": {"2026-03-02T08:00:00Z": [5]}}'), options={"fps": 1}).records())


def test_many_repairs_are_listed_up_to_a_limit(tmp_path):
    stamps = "".join(f"'2026-03-02T08:00:{second:02d}Z': ['person',],\n" for second in range(60))
    analytics = camio.read(write(tmp_path, "{a: {\n" + stamps + "}}"), options={"fps": 1})
    # per stamp: a single-quoted key, a single-quoted label and a trailing comma; plus the
    # unquoted key 'a' and the trailing comma after the last stamp
    assert len(analytics.warnings) == camio.REPAIRS_LISTED + 1
    assert analytics.warnings[0] == "repaired the unquoted key 'a' at line 1, column 2"
    assert analytics.warnings[1] == "repaired a single-quoted string at line 2, column 1"
    assert analytics.warnings[-1] == f"... and {2 + 60 * 3 - camio.REPAIRS_LISTED} more repairs"
    assert sum(isinstance(r, ObjectRecord) for r in analytics.records()) == 60
