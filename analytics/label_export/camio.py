"""Camio's label download (the layout of Camio's ``download_labels.py``), as JSON, CSV or XML;
:mod:`indexer.formats.camio` reads all three back.

JSON::

    {"job_id": "scoop-export", "earliest_date": "2024-05-01T12:00:00.000+0000",
     "latest_date": "2024-05-01T12:00:05.100+0000",
     "labels": {"2024-05-01T12:00:00.000+0000": {"cameras": ["street"], "labels": ["vehicle", "vehicle"]}}}

- a time stamp per exported frame: the video's ``recorded_at`` plus the frame's t (a video
  without one starts at 1970-01-01T00:00:00Z), UTC, milliseconds;
- ``cameras``: the video's camera, else its name; frames of several videos at the same
  instant share one stamp (the cameras and labels of each, in video order);
- ``labels``: one entry per detection, its label (boxes, tracks and attributes are not kept).

CSV: a row per stamp, ``timestamp,cameras,labels,job_id,earliest_date,latest_date``, the lists
joined by ``|`` (text a spreadsheet would run as a formula starts with ``'``). XML: ``<download>``
with ``job_id``, ``earliest_date``, ``latest_date`` and ``<labels>``, an ``<entry timestamp>``
per stamp with ``<cameras><camera>`` and ``<labels><label>``
(the samples ``fixtures/formats/camio_download.*`` show each).
Stamps are sorted on disk (:class:`~analytics.label_export.spill.Spill`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import groupby
from xml.sax.saxutils import escape, quoteattr

from analytics.label_export.source import VideoLabels
from analytics.label_export.spill import Spill
from analytics.label_export.table import cell

CONTENT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8", "xml": "application/xml"}
JOB_ID = "scoop-export"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STAMPS_PER_CHUNK = 2000


def stamp(moment: datetime) -> str:
    """Camio's time stamp: ``2016-01-21T20:38:31.469-0700`` (here always in UTC, +0000)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def write(videos: Iterable[VideoLabels], layout: str) -> Iterator[str]:
    """The download of every frame of ``videos`` in ``layout`` (json, csv or xml)."""
    stamps = Spill()
    try:
        for order, video in enumerate(videos):
            origin = video.meta.recorded_at or EPOCH
            camera = video.meta.camera or video.name
            for frame in video.frames():
                labels = tuple(obj.label for obj in frame.objects)
                stamps.add((stamp(origin + timedelta(seconds=frame.t)), order, camera, labels))
        first = last = None
        for item in stamps:
            first = first or item[0]
            last = item[0]
        writer = {"json": _json, "csv": _csv, "xml": _xml}[layout]
        yield from writer(_grouped(stamps), first, last)
    finally:
        stamps.close()


def _grouped(stamps: Spill) -> Iterator[tuple[str, list[str], list[str]]]:
    for moment, items in groupby(stamps, key=lambda item: item[0]):
        cameras: list[str] = []
        labels: list[str] = []
        for _moment, _order, camera, shown in items:
            if camera not in cameras:
                cameras.append(camera)
            labels.extend(shown)
        yield moment, cameras, labels


def _json(entries: Iterator[tuple[str, list[str], list[str]]], first: str | None, last: str | None) -> Iterator[str]:
    yield json.dumps({"job_id": JOB_ID, "earliest_date": first, "latest_date": last})[:-1] + ', "labels": {'
    chunk: list[str] = []
    separator = ""
    for moment, cameras, labels in entries:
        chunk.append(f"{json.dumps(moment)}: {json.dumps({'cameras': cameras, 'labels': labels})}")
        if len(chunk) >= _STAMPS_PER_CHUNK:
            yield separator + ", ".join(chunk)
            separator, chunk = ", ", []
    if chunk:
        yield separator + ", ".join(chunk)
    yield "}}\n"


def _csv(entries: Iterator[tuple[str, list[str], list[str]]], first: str | None, last: str | None) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["timestamp", "cameras", "labels", "job_id", "earliest_date", "latest_date"])
    rows = 0
    for moment, cameras, labels in entries:
        writer.writerow([moment, cell("|".join(cameras)), cell("|".join(labels)), JOB_ID, first, last])
        rows += 1
        if rows >= _STAMPS_PER_CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            rows = 0
    yield buffer.getvalue()


def _xml(entries: Iterator[tuple[str, list[str], list[str]]], first: str | None, last: str | None) -> Iterator[str]:
    yield (f'<?xml version="1.0" encoding="utf-8"?>\n<download>\n  <job_id>{escape(JOB_ID)}</job_id>\n'
           f"  <earliest_date>{escape(first or '')}</earliest_date>\n"
           f"  <latest_date>{escape(last or '')}</latest_date>\n  <labels>\n")
    chunk: list[str] = []
    for moment, cameras, labels in entries:
        chunk.append(f"    <entry timestamp={quoteattr(moment)}><cameras>"
                     + "".join(f"<camera>{escape(camera)}</camera>" for camera in cameras)
                     + "</cameras><labels>" + "".join(f"<label>{escape(label)}</label>" for label in labels)
                     + "</labels></entry>\n")
        if len(chunk) >= _STAMPS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk) + "  </labels>\n</download>\n"
