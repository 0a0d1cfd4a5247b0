"""Format readers: each turns one analytics payload into :class:`indexer.records.Analytics`.

``FORMATS`` maps a format name to its reader ``read(path, *, options=None)``;
:func:`detect_format` tells the format from the start of a file and
:func:`read_analytics` reads a file in a given or detected format. Every
reader reads piece by piece (memory does not grow with the file; Camio exports, read
whole up to 64 MiB, are the one exception) and raises :class:`FormatError`,
never a raw JSON, CSV or XML error. Payloads need not be JSON:
:mod:`indexer.formats.sniff` tells JSON, NDJSON, CSV, XML and Camio's lenient
JSON apart from the first bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ijson

from indexer.formats import (
    bdd100k,
    camio_download,
    cvat,
    deepstream,
    eta,
    eta_stream,
    motchallenge,
    roboflow,
    sniff,
    supervision,
)
from indexer.formats.json_walk import BACKEND, FormatError, frame_rate, root_kind, syntax_error
from indexer.formats.stream import STREAM_READERS
from indexer.records import Analytics

__all__ = ["FORMATS", "STREAM_READERS", "FormatError", "detect_format", "options_check", "read_analytics"]

FORMATS: dict[str, Callable[..., Analytics]] = {
    "eta": eta.read,
    "roboflow": roboflow.read,
    "bdd100k": bdd100k.read,
    "deepstream": deepstream.read,
    "supervision": supervision.read,
    "motchallenge": motchallenge.read,
    "cvat": cvat.read,
    "camio": camio_download.read,
}

# Checks of a format's options against the payload, run before a job is made so
# that what is sure to fail (pixel boxes without a frame size...) is a 400 at once.
OPTION_CHECKS: dict[str, Callable[[Path, dict], None]] = {
    "deepstream": deepstream.check_options,
    "supervision": supervision.check_options,
    "motchallenge": motchallenge.check_options,
    "cvat": cvat.check_options,
}

STREAM_READERS["eta"] = eta_stream.stream_records
STREAM_READERS["deepstream"] = deepstream.stream_records
STREAM_READERS["supervision"] = supervision.stream_records

# Enough events to see the top-level keys of any payload whose big values
# (frames, GPS) come first, without reading far into it.
_HEAD_EVENTS = 20_000
_EXPECTED = (
    "expected ETA VideoLabels (an object with frames/metadata/attrs), Roboflow video inference "
    "(an object with frame_offsets/time_offsets) or BDD100K/Scalabel (a list of frames, or an object "
    "with frames/config), DeepStream messages (with @timestamp), supervision sink rows (with x_min..y_max), "
    "MOTChallenge CSV, CVAT for video XML, a Camio export or a Camio label download (JSON, CSV or XML)"
)
_ETA_KEYS = {"metadata", "mask_index"}
_STAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
_ETA_CONTAINERS = {"attrs", "frames", "objects", "events"}
_ROBOFLOW_KEYS = {"frame_offsets", "time_offsets"}
_BDD_INFO_KEYS = {"rideID", "startTime", "endTime", "locations", "gps", "accelerometer", "gyro", "timelapse"}
_BDD_FRAME_KEYS = {"frameIndex", "videoName", "labels", "name", "timestamp", "attributes"}


def read_analytics(path: str | Path, *, format: str | None = None, options: dict | None = None) -> Analytics:
    """Read an analytics file in ``format`` (detected when None)."""
    name = format or detect_format(path)
    reader = FORMATS.get(name)
    if reader is None:
        raise FormatError(f"unknown format '{name}'; expected one of {', '.join(FORMATS)}")
    return reader(path, options=options)


def options_check(path: str | Path, *, format: str, options: dict | None) -> None:
    """Raise :class:`FormatError` when ``options`` cannot work for the payload at ``path`` in ``format``."""
    if (options or {}).get("fps") is not None:
        frame_rate(options["fps"], "options.fps")
    check = OPTION_CHECKS.get(format)
    if check is not None:
        check(Path(path), options or {})


def detect_format(path: str | Path) -> str:
    """The name of the format of the file at ``path``, from its first events.

    Raises :class:`FormatError` naming what it saw when no format fits.
    """
    file_path = Path(path)
    syntax = sniff.payload_syntax(file_path)
    if syntax != sniff.JSON:
        return _detect_text(file_path, syntax)
    kind = root_kind(file_path)
    if kind == "scalar":
        raise FormatError(f"the payload is a single JSON value, not analytics; {_EXPECTED}")
    events = _head(file_path)
    return _detect_list(events) if kind == "array" else _detect_object(events)


def _detect_text(file_path: Path, syntax: str) -> str:
    """The format of a payload that is not one JSON document, from its first bytes."""
    if syntax == sniff.LENIENT_JSON:
        return "camio"
    head = sniff.head_text(file_path)
    if syntax == sniff.XML:
        if "<annotations" in head:
            return "cvat"
        if camio_download.xml_head(head):
            return "camio"
        raise FormatError(f"an XML payload that is not CVAT for video 1.1 (no <annotations>); {_EXPECTED}")
    if syntax == sniff.NDJSON:
        for _line, message in sniff.ndjson_messages(file_path):
            return _message_format(list(message)) or _unknown_message(list(message))
    first_line = head.lstrip().split("\n", 1)[0]
    columns = [column.strip() for column in first_line.split(",")]
    if set(supervision.BOX_COLUMNS) <= set(columns):
        return "supervision"
    if camio_download.csv_header(columns):
        return "camio"
    if columns[0].lower() == "frame" or (len(columns) >= 6 and all(_is_number(column) for column in columns)):
        return "motchallenge"
    raise FormatError(f"a CSV payload whose first line is {first_line[:120]!r}; {_EXPECTED}")


def _message_format(keys: list[str]) -> str | None:
    """deepstream or supervision when the keys of one message or row prove it."""
    if deepstream.MESSAGE_KEYS & set(keys):
        return "deepstream"
    if set(supervision.BOX_COLUMNS) <= set(keys):
        return "supervision"
    return None


def _unknown_message(keys: list[str]) -> str:
    shown = ", ".join(f"'{key}'" for key in keys) or "none"
    raise FormatError(f"newline-delimited JSON whose first message has the keys {shown}; {_EXPECTED}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _head(file_path: Path) -> list[tuple[str, str, Any]]:
    events: list[tuple[str, str, Any]] = []
    with open(file_path, "rb") as source:
        try:
            for event in BACKEND.parse(source, buf_size=8192, use_float=True):
                events.append(event)
                if len(events) >= _HEAD_EVENTS:
                    break
        except ijson.JSONError as error:
            raise syntax_error(file_path, error, "") from None
    return events


def _detect_list(events: list[tuple[str, str, Any]]) -> str:
    if len(events) < 2 or events[1][1] == "end_array":
        return "bdd100k"  # an empty list of frames
    if events[1][1] != "start_map":
        raise FormatError(f"the payload is a list of {_kind(events[1][1])}s, not of frames; {_EXPECTED}")
    first_item_keys = []
    for prefix, event, value in events[2:]:
        if prefix == "item" and event == "end_map":
            break
        if prefix == "item" and event == "map_key":
            first_item_keys.append(value)
    if (found := _message_format(first_item_keys)) is not None:
        return found
    if _BDD_FRAME_KEYS & set(first_item_keys):
        return "bdd100k"
    shown = ", ".join(f"'{key}'" for key in first_item_keys) or "none"
    raise FormatError(f"the payload is a list whose items have keys {shown}; {_EXPECTED}")


def _detect_object(events: list[tuple[str, str, Any]]) -> str:
    seen: list[str] = []
    for position, (prefix, event, key) in enumerate(events):
        if prefix != "" or event != "map_key":
            continue
        seen.append(key)
        verdict = _verdict(key, events, position)
        if verdict is not None:
            return verdict
    shown = ", ".join(f"'{key}'" for key in seen) or "none"
    raise FormatError(f"could not tell the analytics format from the top-level keys {shown}; {_EXPECTED}")


def _verdict(key: str, events: list[tuple[str, str, Any]], position: int) -> str | None:
    """The format that top-level ``key`` (at ``events[position]``) proves, or None."""
    following = [event[1:] for event in events[position + 1 : position + 3]]
    value_event = following[0][0] if following else None
    if key in _ROBOFLOW_KEYS:
        return "roboflow"
    if key in camio_download.DOWNLOAD_KEYS or (key == "labels" and _keyed_by_stamps(following)):
        return "camio"
    if key in deepstream.MESSAGE_KEYS:
        return "deepstream"
    if key in _ETA_KEYS or (key == "_CLS" and "VideoLabels" in str(following[0][1] if following else "")):
        return "eta"
    if key in _BDD_INFO_KEYS:
        raise FormatError(
            "this looks like a BDD100K info file (GPS/IMU), not labels: send it with its BDD100K labels"
            " as the info or info_path option"
        )
    if key in ("schema", "display") or (key in _ETA_CONTAINERS and following[1:] == [("map_key", "schema")]):
        raise FormatError("this looks like a label schema (ontology), not analytics: upload it as a schema")
    if key == "config" or (key == "frames" and value_event == "start_array"):
        return "bdd100k"
    if key in _ETA_CONTAINERS and value_event == "start_map":
        return "eta"
    if value_event == "start_array" and _first_item_has(events, position, key, "predictions"):
        return "roboflow"
    return None


def _keyed_by_stamps(following: list[tuple[str, Any]]) -> bool:
    """Whether a top-level value opens an object whose first key is a time stamp (a Camio download's labels)."""
    return (len(following) > 1 and following[0][0] == "start_map" and following[1][0] == "map_key"
            and _STAMP.match(str(following[1][1])) is not None)


def _first_item_has(events: list[tuple[str, str, Any]], position: int, key: str, wanted: str) -> bool:
    """Whether the first item of the list under top-level ``key`` has the key ``wanted``."""
    item_prefix = f"{key}.item"
    for prefix, event, value in events[position + 1 :]:
        if prefix == item_prefix and event == "map_key" and value == wanted:
            return True
        if (prefix == item_prefix and event == "end_map") or (prefix == key and event == "end_array"):
            return False
    return False


def _kind(event: str) -> str:
    names = {"start_array": "list", "integer": "number", "double": "number", "null": "null value"}
    return names.get(event, event)
