"""Normalized analytics records: what every format reader produces and every
index backend consumes.

A reader turns one analytics payload (one video) into an :class:`Analytics`:
the video's metadata, read up front, and a re-iterable sequence of flat records.
The sequence is flat on purpose: formats group detections by frame (ETA framewise,
BDD100K) or by object (ETA spatiotemporal), and a flat sequence lets the indexer
take either in bounded memory.

Conventions, the same for every format:

- ``index`` is the **0-based** frame index into the video file. ETA's 1-based
  frame number ``n`` becomes ``n - 1``.
- ``t`` is seconds from the start of the video.
- Boxes are relative ``(x1, y1, x2, y2)`` in 0..1, origin top-left.
- Attribute values are typed: ``str`` (categorical), ``float`` (numeric),
  ``bool`` (boolean).
- ``track`` is the track id as a string, or ``None`` for an untracked detection.
- ``path`` is the JSON path of the element in the source payload, used in
  validation reports (``frames.2.objects.objects[0].attrs.attrs[1]``).
- ``embedding`` is an appearance vector a worker attached to a detection or a
  whole track (``None`` when absent); see :mod:`indexer.search.vectors`.

The rules that turn records into searchable frames (:func:`frame_location`,
constant track attributes, frames implied by detections) are applied by each
search engine; :mod:`indexer.search.contract` states them and
:mod:`indexer.search.semantics` writes the shared ones down as code.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

AttrValue = str | float | bool


@dataclass
class Waypoint:
    t: float
    lat: float
    lon: float


@dataclass
class VideoMeta:
    """Video-level facts from the analytics payload."""

    fps: float | None = None
    frame_count: int | None = None
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    recorded_at: datetime | None = None
    camera: str | None = None
    filename: str | None = None
    size_bytes: int | None = None
    mime_type: str | None = None
    attrs: dict[str, AttrValue] = field(default_factory=dict)
    attr_paths: dict[str, str] = field(default_factory=dict)
    gps: list[Waypoint] = field(default_factory=list)


@dataclass
class FrameRecord:
    """A labeled frame and its frame-level attributes."""

    index: int
    t: float
    attrs: dict[str, AttrValue] = field(default_factory=dict)
    path: str = ""
    attr_paths: dict[str, str] = field(default_factory=dict)


@dataclass
class ObjectRecord:
    """One detection of a label in one frame."""

    index: int
    t: float
    label: str
    track: str | None = None
    confidence: float | None = None
    box: tuple[float, float, float, float] | None = None
    attrs: dict[str, AttrValue] = field(default_factory=dict)
    path: str = ""
    attr_paths: dict[str, str] = field(default_factory=dict)
    embedding: tuple[float, ...] | None = None


@dataclass
class TrackRecord:
    """Attributes constant for a whole track: they apply to every detection
    of that track and override a detection's own value of the same name."""

    track: str
    label: str | None = None
    attrs: dict[str, AttrValue] = field(default_factory=dict)
    path: str = ""
    attr_paths: dict[str, str] = field(default_factory=dict)
    embedding: tuple[float, ...] | None = None


@dataclass
class EventRecord:
    """A labeled span of the video, inclusive frame indices (0-based)."""

    label: str
    start_index: int
    end_index: int
    attrs: dict[str, AttrValue] = field(default_factory=dict)
    confidence: float | None = None
    path: str = ""
    attr_paths: dict[str, str] = field(default_factory=dict)


Record = FrameRecord | ObjectRecord | TrackRecord | EventRecord


@dataclass
class Analytics:
    """One video's analytics: metadata plus a sequence of records.

    ``records`` is a callable so that the records can be read more than once
    (validation, then indexing) without holding it in memory.
    """

    format: str
    meta: VideoMeta
    records: Callable[[], Iterator[Record]]
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def from_list(cls, *, format: str, meta: VideoMeta, records: Iterable[Record]) -> Analytics:
        materialized = list(records)
        return cls(format=format, meta=meta, records=lambda: iter(materialized))


def frame_location(gps: list[Waypoint], t: float) -> tuple[float, float] | None:
    """Location at time ``t``: linear between the two surrounding waypoints,
    ``None`` before the first or after the last (never extrapolated).

    ``gps`` must be sorted by ``t``.
    """
    if not gps or t < gps[0].t or t > gps[-1].t:
        return None
    times = [w.t for w in gps]
    right = bisect.bisect_left(times, t)
    if times[right] == t:
        return gps[right].lat, gps[right].lon
    before, after = gps[right - 1], gps[right]
    share = (t - before.t) / (after.t - before.t)
    return (
        before.lat + (after.lat - before.lat) * share,
        before.lon + (after.lon - before.lon) * share,
    )
