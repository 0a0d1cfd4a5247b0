"""CSV of the clips, detections and events of an export: three files (``clips.csv``,
``detections.csv``, ``events.csv``). Text cells a spreadsheet would run as a formula start
with ``'`` (:func:`analytics.export.spreadsheet_safe`, as in the detections export).

- clips: ``video, video_name, start_s, end_s, start_frame, end_frame, frames`` (the search's
  clips; with selected clips or a page, those clips);
- detections: ``video, video_name, frame, t, label, track, confidence, x1, y1, x2, y2`` and one
  ``attr.<name>`` column per object attribute of the schema (the review state included);
- events: ``video, video_name, label, start_frame, end_frame, start_s, end_s, confidence`` and
  one ``attr.<name>`` column per event attribute of the schema.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from analytics.export import spreadsheet_safe
from analytics.label_export.source import VideoLabels
from indexer.formats.json_walk import DEFAULT_FPS
from indexer.ontology import Ontology
from indexer.search.contract import Clip

CONTENT_TYPE = "text/csv; charset=utf-8"
CLIP_COLUMNS = ("video", "video_name", "start_s", "end_s", "start_frame", "end_frame", "frames")
DETECTION_COLUMNS = ("video", "video_name", "frame", "t", "label", "track", "confidence", "x1", "y1", "x2", "y2")
EVENT_COLUMNS = ("video", "video_name", "label", "start_frame", "end_frame", "start_s", "end_s", "confidence")
_ROWS_PER_CHUNK = 5000


def cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return "" if value is None else value


class _Rows:
    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)
        self.count = 0

    def add(self, row: Iterable[Any]) -> None:
        self.writer.writerow([cell(value) for value in row])
        self.count += 1

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def _names(specs: Iterable[Any]) -> list[str]:
    names: dict[str, None] = {}
    for spec in specs:
        names.update(dict.fromkeys(spec.attrs))
    return list(names)


def object_attributes(ontology: Ontology) -> list[str]:
    return _names(ontology.objects.values())


def event_attributes(ontology: Ontology) -> list[str]:
    return _names(ontology.events.values())


def clips(items: Iterable[tuple[Clip, str]]) -> Iterator[str]:
    rows = _Rows()
    rows.add(CLIP_COLUMNS)
    for clip, name in items:
        rows.add((clip.video_id, name, clip.start_s, clip.end_s, clip.start_frame, clip.end_frame, clip.frames))
        if rows.count % _ROWS_PER_CHUNK == 0:
            yield rows.take()
    yield rows.take()


def detections(video: VideoLabels, attributes: list[str], *, header: bool) -> Iterator[str]:
    rows = _Rows()
    if header:
        rows.add((*DETECTION_COLUMNS, *(f"attr.{name}" for name in attributes)))
    for frame in video.frames():
        for obj in frame.objects:
            box = obj.box or (None, None, None, None)
            rows.add((video.video_id, video.name, frame.index, frame.t, obj.label, obj.track, obj.confidence, *box,
                      *(obj.attrs.get(name) for name in attributes)))
        if rows.count >= _ROWS_PER_CHUNK:
            rows.count = 0
            yield rows.take()
    yield rows.take()


def events(video: VideoLabels, attributes: list[str], *, header: bool) -> Iterator[str]:
    rows = _Rows()
    if header:
        rows.add((*EVENT_COLUMNS, *(f"attr.{name}" for name in attributes)))
    fps = video.meta.fps or DEFAULT_FPS
    for event in video.events:
        rows.add((video.video_id, video.name, event.label, event.start_index, event.end_index,
                  event.start_index / fps, event.end_index / fps, event.confidence,
                  *(event.attrs.get(name) for name in attributes)))
    yield rows.take()


def detections_header(attributes: list[str]) -> Iterator[str]:
    rows = _Rows()
    rows.add((*DETECTION_COLUMNS, *(f"attr.{name}" for name in attributes)))
    yield rows.take()


def events_header(attributes: list[str]) -> Iterator[str]:
    rows = _Rows()
    rows.add((*EVENT_COLUMNS, *(f"attr.{name}" for name in attributes)))
    yield rows.take()
