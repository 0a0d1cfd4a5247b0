"""Camio's label download (what Camio's ``download_labels.py`` writes), in its three layouts,
and Camio's per-camera label export (:mod:`indexer.formats.camio`): the ``camio`` format
reads either, told apart from the file.

The download, as its README describes it: ``earliest_date``, ``latest_date``, ``job_id``
and the labels keyed by time stamp, each with the cameras that saw them::

    {"job_id": "j1", "earliest_date": "2016-01-21T20:38:31.469-0700",
     "latest_date": "2016-01-21T20:40:02.000-0700",
     "labels": {"2016-01-21T20:38:31.469-0700": {"cameras": ["front"], "labels": ["person", "car"]}}}

- CSV: a header row, then a row per time stamp; the columns ``timestamp``, ``cameras`` (or
  ``camera``) and ``labels`` are read, the lists in them separated by ``|`` or ``;``; other
  columns (``job_id``, ``earliest_date``, ``latest_date``) are not needed;
- XML: the root element (any name) holds an element per time stamp with a ``timestamp``
  attribute (or a ``<timestamp>`` child), and within it ``<camera>`` and ``<label>`` elements
  (directly or inside ``<cameras>`` and ``<labels>``); ``job_id``, ``earliest_date`` and
  ``latest_date`` may be attributes or child elements of the root.

One payload is one video, so one camera: a time stamp becomes a frame of each camera it
lists (``options["camera"]`` picks one, and may be left out when the download names a single
camera; a stamp without cameras belongs to every camera); its labels become that frame's
detections, strings or ``{label, confidence, ...}`` objects as in the per-camera export.
Time stamps become frame indices as :mod:`indexer.formats.camio` places them (``fps`` and
``origin`` options). ``earliest_date`` is the default origin when it is earlier than every
stamp of the camera.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexer.formats import camio, sniff
from indexer.formats.clock import parse_instant
from indexer.formats.json_walk import FormatError
from indexer.records import Analytics

DOWNLOAD_KEYS = {"earliest_date", "latest_date", "job_id"}
CSV_COLUMNS = {"timestamp", "labels"}
_SEPARATORS = ("|", ";")


def is_download(document: Any) -> bool:
    """Whether a parsed JSON document is the download layout (not the per-camera export)."""
    if not isinstance(document, dict):
        return False
    if DOWNLOAD_KEYS & document.keys():
        return True
    labels = document.get("labels")
    return isinstance(labels, dict) and any(isinstance(entry, dict) for entry in labels.values())


def csv_header(columns: list[str]) -> bool:
    """Whether a CSV header row is the download's."""
    names = {column.strip().lower() for column in columns}
    return names >= CSV_COLUMNS and bool({"camera", "cameras"} & names)


def xml_head(head: str) -> bool:
    """Whether the start of an XML payload is the download's."""
    return any(key in head for key in DOWNLOAD_KEYS) or "timestamp" in head


def read(path: str | Path, *, options: dict | None = None) -> Analytics:
    """Read a Camio label download or per-camera export (see the module docstring)."""
    options = options or {}
    file_path = Path(path)
    syntax = sniff.payload_syntax(file_path)
    warnings: list[str] = []
    if syntax == sniff.XML:
        entries, origin = _xml_entries(file_path)
    elif syntax == sniff.CSV:
        entries, origin = _csv_entries(file_path)
    else:
        document, repairs = camio.parse_lenient(file_path)
        if not is_download(document):
            return camio.read(file_path, options=options)
        entries, origin, warnings = _json_entries(document), document.get("earliest_date"), list(repairs)
    camera, stamps = _camera(entries, options)
    if origin and not options.get("origin") and stamps:
        earliest = parse_instant(origin, "earliest_date", "earliest_date")
        first = min(parse_instant(stamp, f"labels.{stamp}", "a Camio time stamp") for stamp in stamps)
        if earliest < first:
            options = {**options, "origin": origin}
    return camio.camera_analytics(camera, stamps, options=options, warnings=warnings, prefix="labels")


Entry = tuple[str, list[str], list[Any], str]  # stamp, cameras, labels, path


def _json_entries(document: dict) -> list[Entry]:
    labels = document.get("labels")
    if not isinstance(labels, dict):
        raise FormatError("the download's labels must be an object keyed by time stamp", path="labels")
    entries = []
    for stamp, entry in labels.items():
        path = f"labels.{stamp}"
        if isinstance(entry, list):  # the labels alone, without cameras
            entry = {"labels": entry}
        if not isinstance(entry, dict):
            raise FormatError("a time stamp's entry must be an object with cameras and labels", path=path)
        cameras = entry.get("cameras") or []
        if isinstance(cameras, str):
            cameras = [cameras]
        if not isinstance(cameras, list) or not all(isinstance(camera, str) for camera in cameras):
            raise FormatError("cameras must be a list of camera names", path=f"{path}.cameras")
        found = entry.get("labels") or []
        if not isinstance(found, list):
            raise FormatError("labels must be a list", path=f"{path}.labels")
        entries.append((stamp, cameras, found, path))
    return entries


def _split(text: str) -> list[str]:
    for separator in _SEPARATORS:
        if separator in text:
            return [part.strip() for part in text.split(separator) if part.strip()]
    return [text.strip()] if text.strip() else []


def _csv_entries(file_path: Path) -> tuple[list[Entry], str | None]:
    """The rows' entries and the first row's earliest_date."""
    entries: list[Entry] = []
    origin = None
    columns: dict[str, int] = {}
    for line, fields in sniff.csv_rows(file_path):
        if not columns:
            names = [field.strip().lower() for field in fields]
            if not csv_header(names):
                raise FormatError("a Camio CSV download starts with a header naming timestamp, cameras and labels",
                                  path=f"line {line}")
            columns = {name: position for position, name in enumerate(names)}
            continue
        camera_column = columns.get("cameras", columns.get("camera"))
        stamp = fields[columns["timestamp"]].strip()
        entries.append((stamp, _split(fields[camera_column]), _split(fields[columns["labels"]]), f"line {line}"))
        if origin is None and "earliest_date" in columns:
            origin = fields[columns["earliest_date"]].strip() or None
    return entries, origin


def _xml_entries(file_path: Path) -> tuple[list[Entry], str | None]:
    """The entries and the root's earliest_date (attribute or child element)."""
    entries: list[Entry] = []
    root = None
    origin = None
    for event, element in sniff.xml_elements(file_path):
        if root is None:
            root = element
            origin = element.get("earliest_date")
            continue
        if event != "end" or element is root:
            continue
        if element.tag == "earliest_date" and origin is None and element.text and element.text.strip():
            origin = element.text.strip()
        stamp = element.get("timestamp") or element.findtext("timestamp")
        if stamp is None or element.tag == "timestamp":
            continue
        cameras = [node.text.strip() for node in element.iter("camera") if node.text and node.text.strip()]
        labels = [node.text.strip() for node in element.iter("label") if node.text and node.text.strip()]
        entries.append((stamp.strip(), cameras, labels, f"<{element.tag} timestamp={stamp.strip()}>"))
        root.clear()
    return entries, origin


def _camera(entries: list[Entry], options: dict) -> tuple[str, dict[str, list[Any]]]:
    """The camera to read and its ``{stamp: labels}``."""
    names: dict[str, None] = {}
    for _stamp, cameras, _labels, _path in entries:
        names.update(dict.fromkeys(cameras))
    wanted = options.get("camera")
    if wanted is None:
        if len(names) > 1:
            shown = ", ".join(f"'{name}'" for name in names)
            raise FormatError(f"the download holds the cameras {shown}: name one with options.camera", path="options")
        wanted = next(iter(names), "camera")
    elif names and wanted not in names:
        raise FormatError(f"the download has no camera '{wanted}'", path="options.camera")
    stamps: dict[str, list[Any]] = {}
    for stamp, cameras, labels, _path in entries:
        if not cameras or wanted in cameras:
            stamps.setdefault(stamp, []).extend(labels)
    return wanted, stamps
