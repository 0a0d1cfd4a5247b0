"""Readers for live streams: newline-delimited messages turned into records.

A live video receives its analytics in chunks (``POST /api/v1/videos/{id}/stream/``),
each chunk a run of newline-delimited JSON messages. A streaming-capable format
exposes ``stream_records(items, *, context)``: ``items`` are ``(line_number,
message)`` pairs, already parsed, and the function yields the same normalized
records its file reader would (:mod:`indexer.records`), with ``path`` naming the
line (``line 3.objects[0]``). A message it cannot read raises
:class:`~indexer.formats.json_walk.FormatError` naming the line.

``STREAM_READERS`` maps a format name to that function; :mod:`indexer.formats`
fills it, next to ``FORMATS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from indexer.records import Record


@dataclass
class StreamContext:
    """What a message reader needs to know about the live video it feeds."""

    fps: float  # frame index <-> t (seconds from the video start)
    width: int | None = None  # frame size in pixels, for formats whose boxes are pixels
    height: int | None = None
    origin: datetime | None = None  # wall-clock time of t = 0, for formats with absolute timestamps


StreamItems = Iterable[tuple[int, dict[str, Any]]]
StreamReader = Callable[..., Iterator[Record]]

STREAM_READERS: dict[str, StreamReader] = {}
