"""The contract every index backend meets.

A backend holds the searchable form of every video's analytics and answers
searches with exact numbers (SPEC 3, 4). Engines: ``reference`` (plain Python,
the truth), ``duckdb`` (embedded default), ``elasticsearch`` (production).
``settings.SCOOP_SEARCH_BACKEND`` picks one, like Django's ``CACHES``.

Semantics every engine must agree on:

- A query (normalized tree, see :mod:`indexer.query`) is evaluated per frame.
  ``object`` nodes hold when one single object of the frame meets all of their
  constraints; ``not`` of an object node: no such object in the frame.
- An object's effective attributes are its own attributes overridden by the
  constant attributes of its track (``TrackRecord``); when several records give
  a track's constant attribute, the first one wins.
- A frame exists when a ``FrameRecord`` or an ``ObjectRecord`` names its index;
  several ``FrameRecord`` for one index merge their attributes (first wins).
  ``t`` of a frame is the ``t`` of the first record that names it. Its location
  is :func:`indexer.records.frame_location` of the video's GPS at ``t``.
- ``geo`` holds only for frames with a location. ``time`` compares ``t``.
  ``event`` holds when the frame index lies in ``[start_index, end_index]`` of
  an event with that label and attributes.
- Clips (SPEC 3): per video, matching frames sorted by ``t``; a new clip starts
  when ``t - previous t > gap_s + 1e-6`` (the tolerance keeps float rounding of
  frame times from splitting a clip exactly at ``gap_s``). End = last ``t`` +
  1/fps (``analytics.meta.fps``; readers set it, 30 when the payload
  has none). Start/end frames are the first
  and last matching frame indices.
- Counts: ``videos``, ``clips``, ``frames`` (matching), ``objects`` (all
  detections in matching frames), ``tracks`` (distinct non-null track ids of
  those detections, per video), ``duration_s`` (sum of clip durations).
- Facet counts are disjunctive: facet F is counted over the frames matching
  the query AND every filter except F's own (see :mod:`indexer.facets` for
  units). Every facet value appears, 0 where none.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from indexer.ontology import Ontology
from indexer.records import Analytics

DEFAULT_FPS = 30.0
GAP_TOLERANCE_S = 1e-6


@dataclass
class SearchRequest:
    ontology: Ontology
    query: dict[str, Any]  # normalized tree, already validated
    filters: dict[str, tuple[list[Any], list[Any]]] = field(default_factory=dict)  # indexer.facets.parse_filters
    gap_s: float = 1.0
    page: int = 1
    page_size: int = 20
    facet_unit: str | None = None  # None: each facet's default unit
    facets: list[str] | None = None  # facet keys to count; None = all of the ontology


@dataclass
class Clip:
    video_id: int
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    frames: int


@dataclass
class SearchResult:
    counts: dict[str, float]  # videos, clips, frames, objects, tracks, duration_s
    facets: dict[str, dict[Any, int]]
    clips: list[Clip]  # the requested page only, ordered by video then start
    total_clips: int


@dataclass
class IndexCounts:
    frames: int
    objects: int
    tracks: int
    events: int


class BaseSearchBackend(abc.ABC):
    """One index engine. Instances are cheap; state lives in the engine."""

    @abc.abstractmethod
    def index_video(self, *, video_id: int, name: str, analytics: Analytics) -> IndexCounts:
        """Replace everything indexed for ``video_id`` with ``analytics``,
        atomically: searches see the old analytics or the new, never a mix.
        ``name`` is the video's name (queryable as ``{"video": {"name": ...}}``)."""

    @abc.abstractmethod
    def delete_video(self, *, video_id: int) -> None:
        """Remove a video from the index (no error if absent)."""

    @abc.abstractmethod
    def search(self, *, request: SearchRequest) -> SearchResult:
        """Counts, disjunctive facets and one page of clips for a query."""

    @abc.abstractmethod
    def rebuild(self, *, videos: list[tuple[int, str, Analytics]]) -> None:
        """Build a fresh index from ``videos`` and swap it in at once."""

    @abc.abstractmethod
    def video_ids(self) -> list[int]:
        """Ids of the indexed videos, ascending."""
