"""ETA frames as a live stream: one line is one ETA frame object.

A line reads ``{"frame_number": N, "attrs": ..., "objects": ..., "events": ...}``,
the shape of one value of ``frames`` in ETA VideoLabels. ``frame_number`` is
1-based, as in ETA: the frame's index is ``N - 1`` and ``t = index / fps``
(the live video's ``fps``). Each line is read by :mod:`indexer.formats.eta`'s
own per-frame logic, so attributes, boxes, tracks and frame events mean what
they mean in a file; paths name the line (``line 3.objects.objects[0]``).

A frame event becomes one single-frame record (a file joins an event repeated
on consecutive frames into one span; a stream cannot know the next chunk).
A detection attribute marked ``constant: true`` becomes a track record, which
live ingest refuses (:mod:`indexer.live`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from indexer.formats import eta
from indexer.formats.json_walk import FormatError, json_path
from indexer.formats.stream import StreamContext, StreamItems
from indexer.records import Record


def stream_records(items: StreamItems, *, context: StreamContext) -> Iterator[Record]:
    """The records of ETA frame lines, in line order (see the module docstring)."""
    for line_number, message in items:
        yield from _line_records(line_number, message, context.fps)


def _line_records(line_number: int, message: Any, fps: float) -> Iterator[Record]:
    line = f"line {line_number}"
    if not isinstance(message, dict):
        raise FormatError("an ETA frame line must be a JSON object with a frame_number", path=line)
    key = _frame_key(message.get("frame_number"), line)
    prefix = json_path(("frames", key))
    spans = eta._EventSpans()
    try:
        records = [*eta._frame_records(key, message, fps, spans), *spans.close()]
    except FormatError as error:
        raise FormatError(error.message, path=_renamed(error.path, prefix, line)) from None
    for record in records:
        yield replace(
            record,
            path=_renamed(record.path, prefix, line),
            attr_paths={name: _renamed(path, prefix, line) for name, path in record.attr_paths.items()},
        )


def _frame_key(value: Any, line: str) -> str:
    """The 1-based frame number as the key ETA's frames object would use."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < 1:
        shown = "missing" if value is None else repr(value)
        raise FormatError(f"frame_number must be a whole number >= 1 (1-based, as in ETA), got {shown}",
                          path=f"{line}.frame_number")
    return str(int(value))


def _renamed(path: str, prefix: str, line: str) -> str:
    """``frames.7.objects...`` (the path in a file) as ``line 3.objects...``."""
    if path == prefix or path.startswith((prefix + ".", prefix + "[")):
        return line + path[len(prefix):]
    return path
