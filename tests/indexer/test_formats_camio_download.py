"""Camio's label download (download_labels.py's JSON, CSV and XML layouts): told apart from
other payloads and read camera by camera, the same in each layout."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from indexer.formats import FormatError, detect_format, read_analytics
from indexer.records import FrameRecord, ObjectRecord
from tests.samples import sample

LAYOUTS = ("json", "csv", "xml")


def frames(analytics) -> list[tuple[int, list[str]]]:
    found: dict[int, list[str]] = {}
    for record in analytics.records():
        if isinstance(record, FrameRecord):
            found.setdefault(record.index, [])
        elif isinstance(record, ObjectRecord):
            found[record.index].append(record.label)
    return sorted(found.items())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_is_detected_as_camio(layout):
    assert detect_format(sample(f"camio_download.{layout}")) == "camio"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_camera_reads_the_stamps_that_list_it(layout):
    front = read_analytics(sample(f"camio_download.{layout}"), options={"camera": "front", "fps": 1})
    back = read_analytics(sample(f"camio_download.{layout}"), options={"camera": "back", "fps": 1})

    # earliest_date (20:38:30.000) is the origin: stamps at 1.469 s, 3.469 s and 11.469 s
    assert front.meta.recorded_at == datetime(2016, 1, 22, 3, 38, 30, tzinfo=UTC)
    assert (front.meta.camera, frames(front)) == ("front", [(1, ["person", "car"]), (3, ["person"]), (11, [])])
    assert (back.meta.camera, frames(back)) == ("back", [(1, ["person", "car"]), (5, ["dog"])])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_several_cameras_need_the_camera_option(layout):
    with pytest.raises(FormatError, match="cameras 'front', 'back': name one with options.camera"):
        read_analytics(sample(f"camio_download.{layout}"), options={"fps": 1})
    with pytest.raises(FormatError, match="no camera 'side'"):
        read_analytics(sample(f"camio_download.{layout}"), options={"camera": "side", "fps": 1})


def test_the_per_camera_export_still_reads():
    analytics = read_analytics(sample("camio_labels.json"), options={"fps": 1})

    assert analytics.meta.camera == "front"
    assert frames(analytics)[0] == (0, ["person", "car"])


def test_a_download_with_the_labels_first_is_detected(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('{"labels": {"2024-05-01T12:00:00.000+0000": {"cameras": ["gate"], "labels": ["truck"]}},'
                    ' "job_id": "x"}')

    assert detect_format(path) == "camio"
    assert frames(read_analytics(path, options={"fps": 10})) == [(0, ["truck"])]


def test_a_wrong_entry_names_its_stamp(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('{"job_id": "x", "labels": {"2024-05-01T12:00:00.000+0000": {"cameras": "gate", '
                    '"labels": "truck"}}}')

    with pytest.raises(FormatError, match="labels must be a list") as error:
        read_analytics(path, options={"fps": 10})
    assert error.value.path == "labels.2024-05-01T12:00:00.000+0000.labels"


def test_a_csv_without_the_download_header_is_not_camio(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("timestamp,labels\n2024-05-01T12:00:00Z,truck\n")

    with pytest.raises(FormatError, match="a CSV payload whose first line"):
        detect_format(path)
