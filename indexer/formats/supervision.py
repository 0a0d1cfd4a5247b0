"""Roboflow supervision sink rows: ``JSONSink`` (a JSON array of rows, or one
row per line as NDJSON) and ``CSVSink`` (a CSV file with a header).

A row is one detection: ``x_min, y_min, x_max, y_max`` (pixels), ``class_id``,
``confidence``, ``tracker_id``, the detections' ``data`` (``class_name``) and
any custom data the caller passed to ``append``. The sinks write an empty
string for a missing value; that is read as missing.

Mapping:

- frame: supervision writes no frame number of its own; the caller adds one
  as custom data. The column is ``options["frame_column"]``, else the first
  of ``frame_index``, ``frame``, ``frame_number``, ``frame_id``; its values
  are 0-based (``enumerate`` over ``get_video_frames_generator``) unless
  ``options["frame_base"]`` is 1. t = index / fps, fps from ``options["fps"]``
  (30 with a warning).
- label: ``class_name``; ``options["labels"]`` maps a class name or a class id
  (as a string) to a label first, which also names rows without ``class_name``.
- identity: ``tracker_id`` is the track; empty means untracked.
- boxes are pixels: ``options["width"]`` and ``["height"]`` are required.
- attributes: only the columns listed in ``options["attributes"]`` (custom
  data is often bookkeeping, not labels); numbers become numeric values.

A frame record is written whenever the frame changes from one row to the
next. :func:`stream_records` reads live JSON rows with the same per-row logic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.formats import sniff
from indexer.formats.clock import option_fps
from indexer.formats.json_walk import FormatError, attr_value, child_path, track_id
from indexer.formats.pixels import Size, missing_size, option_size, pixel, relative_box
from indexer.formats.stream import StreamContext, StreamItems
from indexer.records import Analytics, AttrValue, FrameRecord, ObjectRecord, Record, VideoMeta

FORMAT = "supervision"
NAME = "supervision"
BOX_COLUMNS = ("x_min", "y_min", "x_max", "y_max")
FRAME_COLUMNS = ("frame_index", "frame", "frame_number", "frame_id")


@dataclass
class RowReading:
    """What reading a row needs besides the row."""

    fps: float
    size: Size | None
    frame_column: str | None = None
    frame_base: int = 0
    labels: dict[str, str] | None = None
    attributes: tuple[str, ...] = ()


def read(path: str | Path, *, options: dict | None = None) -> Analytics:
    """Read JSONSink or CSVSink rows (see the module docstring for the mapping and options)."""
    options = options or {}
    file_path = Path(path)
    syntax = sniff.payload_syntax(file_path)
    warnings: list[str] = []
    reading = _reading(options, warnings)
    if reading.size is None:
        raise missing_size(NAME)
    reading.frame_column = _frame_column(options, _first_row_keys(file_path, syntax))
    meta = VideoMeta(fps=reading.fps, width=reading.size[0], height=reading.size[1])
    return Analytics(
        format=FORMAT, meta=meta, records=lambda: rows_records(_rows(file_path, syntax), reading), warnings=warnings
    )


def check_options(path: str | Path, options: dict) -> None:
    """Refuse before ingest what is sure to fail: no frame size, no frame column."""
    file_path = Path(path)
    if option_size(options) is None:
        raise missing_size(NAME)
    _frame_column(options, _first_row_keys(file_path, sniff.payload_syntax(file_path)))


def stream_records(items: StreamItems, *, context: StreamContext) -> Iterator[Record]:
    """Records of live JSONSink rows, one ``(line number, row)`` at a time."""
    size = (context.width, context.height) if context.width and context.height else None
    reading = RowReading(fps=context.fps, size=size)
    yield from rows_records(((f"line {line}", row) for line, row in items), reading)


def _reading(options: dict, warnings: list[str]) -> RowReading:
    labels = options.get("labels") or {}
    if not isinstance(labels, dict):
        raise FormatError("options.labels must map class names or ids to labels", path="options.labels")
    attributes = options.get("attributes") or ()
    if not isinstance(attributes, list | tuple) or not all(isinstance(name, str) for name in attributes):
        raise FormatError("options.attributes must be a list of column names", path="options.attributes")
    base = options.get("frame_base", 0)
    if base not in (0, 1):
        raise FormatError(f"options.frame_base must be 0 or 1, got {base!r}", path="options.frame_base")
    return RowReading(
        fps=option_fps(options, warnings),
        size=option_size(options),
        frame_base=int(base),
        labels={str(key): value for key, value in labels.items()},
        attributes=tuple(attributes),
    )


def _first_row_keys(file_path: Path, syntax: str) -> list[str]:
    for _path, row in _rows(file_path, syntax):
        return list(row)
    return []


def _frame_column(options: dict, keys: list[str]) -> str | None:
    wanted = options.get("frame_column")
    if wanted is not None:
        if keys and wanted not in keys:
            raise FormatError(f"the rows have no column '{wanted}' (options.frame_column)", path="options.frame_column")
        return wanted
    found = next((name for name in FRAME_COLUMNS if name in keys), None)
    if keys and found is None:
        raise FormatError(
            "the rows carry no frame index: add one as custom data (e.g. {'frame_index': n}) "
            f"or name its column with options.frame_column; columns are {', '.join(keys)}"
        )
    return found


def _rows(file_path: Path, syntax: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(path, row)``: ``line 3`` for CSV and NDJSON rows, ``[2]`` for JSON array items."""
    if syntax != sniff.CSV:
        yield from sniff.json_messages(file_path, syntax)
        return
    header: list[str] | None = None
    for line, fields in sniff.csv_rows(file_path):
        if header is None:
            header = [name.strip() for name in fields]
            missing = [name for name in BOX_COLUMNS if name not in header]
            if missing:
                raise FormatError(f"the CSV header lacks {', '.join(missing)}", path="line 1")
            continue
        yield f"line {line}", dict(zip(header, fields, strict=True))


def rows_records(rows: Iterable[tuple[str, Any]], reading: RowReading) -> Iterator[Record]:
    """The records of rows in order: a frame when the frame changes, one detection per row."""
    previous = None
    for path, row in rows:
        index, detection = row_record(row, path, reading)
        if index != previous:
            yield FrameRecord(index=index, t=detection.t, path=path)
            previous = index
        yield detection


def row_record(row: Any, path: str, reading: RowReading) -> tuple[int, ObjectRecord]:
    """(frame index, detection) of one row."""
    if not isinstance(row, dict):
        raise FormatError("a row must be a JSON object", path=path)
    index = _index(row, path, reading)
    t = index / reading.fps
    left, top, right, bottom = (pixel(_present(row, name, path), child_path(path, name), name) for name in BOX_COLUMNS)
    confidence = _blank(row.get("confidence"))
    attrs, attr_paths = _attributes(row, path, reading.attributes)
    return index, ObjectRecord(
        index=index,
        t=t,
        label=_label(row, path, reading.labels or {}),
        track=track_id(_blank(row.get("tracker_id"))),
        confidence=None if confidence is None else pixel(confidence, child_path(path, "confidence"), "confidence"),
        box=relative_box(left, top, right, bottom, reading.size, NAME),
        attrs=attrs,
        path=path,
        attr_paths=attr_paths,
    )


def _blank(value: Any) -> Any:
    """The sinks write '' for a missing value."""
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def _present(row: dict, name: str, path: str) -> Any:
    value = _blank(row.get(name))
    if value is None:
        raise FormatError(f"the row has no {name}", path=path)
    return value


def _index(row: dict, path: str, reading: RowReading) -> int:
    column = reading.frame_column or next((name for name in FRAME_COLUMNS if name in row), None)
    if column is None:
        raise FormatError(f"the row has no frame index ({', '.join(FRAME_COLUMNS)})", path=path)
    raw = _present(row, column, path)
    value = pixel(raw, child_path(path, column), column)
    if not value.is_integer() or value - reading.frame_base < 0:
        raise FormatError(
            f"{column} must be a whole number >= {reading.frame_base}, got {raw!r}", path=child_path(path, column)
        )
    return int(value) - reading.frame_base


def _label(row: dict, path: str, labels: dict[str, str]) -> str:
    name = _blank(row.get("class_name"))
    class_id = _blank(row.get("class_id"))
    for key in (name, track_id(class_id)):
        if key is not None and str(key) in labels:
            return labels[str(key)]
    if name is None:
        raise FormatError("the row has no class_name: name its class_id with options.labels", path=path)
    return str(name)


def _attributes(row: dict, path: str, names: tuple[str, ...]) -> tuple[dict[str, AttrValue], dict[str, str]]:
    attrs: dict[str, AttrValue] = {}
    attr_paths: dict[str, str] = {}
    for name in names:
        raw = _blank(row.get(name))
        if raw is None:
            continue
        value = _typed(raw)
        if value is not None:
            attrs[name] = value
            attr_paths[name] = child_path(path, name)
    return attrs, attr_paths


def _typed(raw: Any) -> AttrValue | None:
    """A CSV cell is text: numbers and true/false get their types back."""
    if isinstance(raw, str):
        lowered = raw.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        try:
            return float(lowered)
        except ValueError:
            return raw.strip()
    return attr_value(raw)
