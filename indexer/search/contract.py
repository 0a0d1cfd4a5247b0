"""The contract every search engine meets.

An engine holds the searchable form of every video's analytics and answers
searches with exact numbers (clips and counts: the search guide,
docs/guide/search.md; facets: the facets guide, docs/guide/facets.md). Engines,
one package each under :mod:`indexer.search`: ``reference`` (plain Python, in
memory, the truth the others are tested against), ``duckdb`` (the embedded
default) and ``elasticsearch`` (production). The setting ``SCOOP_SEARCH_ENGINE``
picks one and ``settings.SCOOP_SEARCH_BACKEND`` holds it with its options, like
Django's ``CACHES``; each engine declares its options as :class:`EngineOption`.

The rules below are the contract; :mod:`indexer.search.semantics` writes the
shared ones down as code, once, and lists the decisions every engine follows
where this contract leaves a choice.

Semantics every engine must agree on:

- A query (normalized tree, see :mod:`indexer.query` and the query language guide,
  docs/guide/query-language.md) is evaluated per frame.
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
- Clips (the search guide): per video, matching frames sorted by ``t``; a new clip starts
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

Statistics (the statistics guide, docs/guide/statistics.md) are computed over the **matching frames**: the frames
matching the query AND every filter (never disjunctive). ``request.gap_s``
groups them into clips as above; paging fields are ignored.

- Occurrence: the facet counts above, over the matching frames, in one unit for
  every facet; ``seconds`` is, per facet value, the duration of the frames
  counted in unit ``frames``: each frame lasts 1/fps of its video, summed as
  ``frames / fps`` per video and exactly rounded over videos
  (:func:`~indexer.search.semantics.seconds_of`), so engines agree exactly.
- Co-occurrence: units of a scope are the detections in matching frames
  (``object``), the matching frames (``frame``) or their clips (``clip``). A unit
  *has* a value of an object facet when the object (scope object) or one of the
  unit's objects satisfies the facet's object predicate; a value of a frame,
  video or event facet when one of the unit's frames satisfies the facet's
  frame predicate. The object scope takes only ``label`` and object facets.
- Geo: frames without a location never count. A located frame's web-mercator
  tile at level ``z`` is :func:`~indexer.search.semantics.tile_of` (the float
  formula is part of the contract). ``frames`` counts frames, ``objects`` the
  detections in them. A ``bbox`` is ``[west, south, east, north]`` as in
  ``geo`` query nodes (edges included, west > east crosses the antimeridian).
- Timeline: matching frames binned over ``t`` and over ``recorded_at + t``
  (videos without ``recorded_at`` are counted as unplaced); bins are chosen
  from the data range by :func:`~indexer.search.semantics.time_bins`.
- Detections: every detection of the matching frames, ordered by video id,
  frame index and record order, with effective attributes (values that are
  not ``str``, number or ``bool`` are left out; numbers as ``float``).
- Similar tracks ("find more like this"): a track's vector is its
  ``TrackRecord.embedding`` when given (the first), else the L2-normalized mean of its
  detections' embeddings (:mod:`indexer.search.vectors`); untracked detections have
  none. The score is the cosine of two stored float32 unit vectors, summed exactly as
  :func:`~indexer.search.vectors.exact_scores` does; a track is a candidate when one
  of its detections lies in a frame matching the request (every track without one);
  results are ordered by (score desc, video id, track id), so engines agree exactly.
- Labels: a frame's objects are *matched* when the frame matches and the object
  satisfies one of the request's positive object predicates
  (:func:`~indexer.search.semantics.positive_object_specs`), or any object of a
  matching frame when there is none.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from indexer.ontology import Ontology
from indexer.records import Analytics

# Frames per second of a video whose payload gives none.
DEFAULT_FPS = 30.0
# A new clip starts when a matching frame comes more than gap_s + this after the previous one.
GAP_TOLERANCE_S = 1e-6
# Units statistics count in, co-occurrence scopes, what geo cells count, the deepest tile level.
STAT_UNITS = ("objects", "tracks", "frames", "clips", "videos", "seconds")
SCOPES = ("object", "frame", "clip")
GEO_TARGETS = ("frames", "objects")
MAX_TILE_LEVEL = 22
# Labels of a time window include frames with start_s - slack <= t < end_s - slack: the slack absorbs
# float error in t = index / fps at the window's edges.
WINDOW_SLACK_S = 1e-9


@dataclass
class SearchRequest:
    """A search or statistic: the query, the sidebar filters, how clips are cut and paged, and
    which facets to count in which unit."""

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
    """A run of matching frames of one video (the search guide): times in seconds, frames by index."""

    video_id: int
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    frames: int


@dataclass
class SearchResult:
    """What a search answers: counts, disjunctive facet counts and one page of clips."""

    counts: dict[str, float]  # videos, clips, frames, objects, tracks, duration_s
    facets: dict[str, dict[Any, int]]
    clips: list[Clip]  # the requested page only, ordered by video then start
    total_clips: int


@dataclass(frozen=True)
class Written:
    """Frames a write added to one video: those with ``start_t <= t <= end_t`` (both None: every
    frame of the video). ``name``: the video's name."""

    video_id: int
    name: str
    start_t: float | None = None
    end_t: float | None = None


@dataclass
class IndexCounts:
    """What indexing a video (or an append) stored: frames, detections, distinct tracks, events."""

    frames: int
    objects: int
    tracks: int
    events: int


@dataclass
class AppendResult:
    """What :meth:`BaseSearchBackend.append_frames` did."""

    appended: IndexCounts  # frames, detections and events added; tracks: track ids new to the video
    duplicate_frames: int  # frames of the chunk already indexed for the video, left as they were
    duplicate_objects: int  # detections in those frames, not added
    indices: list[int]  # the frame indices added, ascending


@dataclass
class Cooccurrence:
    """Units of one scope having value ``rows[i]`` of facet A and ``cols[j]`` of facet B."""

    rows: list[Any]  # facet A's values, in ontology order
    cols: list[Any]  # facet B's values
    matrix: list[list[int]]  # matrix[i][j]: units having both
    row_totals: list[int]  # units having rows[i]
    col_totals: list[int]  # units having cols[j]
    total: int  # every unit of the scope


Feature = tuple[str, Any]  # (facet key, value)


@dataclass
class CooccurrencePairs:
    """Every value of several facets, and how often values of two different facets meet."""

    total: int  # every unit of the scope
    marginals: dict[Feature, int]  # units having each value (every value, 0 where none)
    pairs: dict[tuple[Feature, Feature], int]  # non-zero only; the first facet comes first in ``facets``


@dataclass
class Histogram:
    """Equal bins from ``start``: bin i covers [start + i * width, start + (i + 1) * width)."""

    start: float | None  # None when nothing was counted
    width: float | None
    counts: list[int]


@dataclass
class Timeline:
    video_time: Histogram  # over t, seconds
    wall_clock: Histogram  # over recorded_at + t, epoch seconds (UTC)
    unplaced: int  # matching frames of videos without recorded_at


@dataclass
class LocatedFrame:
    video_id: int
    index: int
    t: float
    lat: float
    lon: float
    objects: int  # detections in the frame


@dataclass
class Detection:
    video_id: int
    video_name: str
    index: int  # frame index
    t: float
    label: str
    track: str | None
    confidence: float | None
    box: tuple[float, float, float, float] | None
    attrs: dict[str, Any]  # effective attributes
    lat: float | None  # the frame's location, None when it has none
    lon: float | None


@dataclass(frozen=True)
class MatchedTrack:
    """A track with a detection that a search matches (the labels rule), from its first
    matched detection (``label``, ``attrs``: its own, less the review state laid over them)
    to its last, by frame index and record order."""

    video_id: int
    video_name: str
    track: str
    label: str
    attrs: dict[str, Any]
    start_index: int
    start_t: float
    end_index: int
    end_t: float


@dataclass
class SimilarTrack:
    """A track found by similarity, with the span a player needs (the track's first to
    last detection; ``end_s`` = last detection's t + 1/fps, as clips end)."""

    video_id: int
    track: str
    score: float  # cosine similarity to the query vector
    label: str
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    frames: int  # frames holding a detection of the track


@dataclass(frozen=True)
class EngineOption:
    """One keyword argument of an engine's ``SearchBackend``, as the settings fill it in.

    Each engine package lists its options as ``OPTIONS``. An option is read from the
    environment variable ``env`` as ``kind`` (``"str"``, ``"int"``, ``"float"`` or ``"bool"``),
    ``default`` when the variable is unset; or, with ``setting``, it takes the value of that
    Django setting (the data folder a file-based engine writes under).
    """

    name: str
    help: str
    env: str | None = None
    kind: str = "str"
    default: Any = None
    setting: str | None = None


# Clips a page of :meth:`BaseSearchBackend.written_clips`'s searches holds.
WRITTEN_PAGE_SIZE = 500


def written_node(span: Written) -> dict[str, Any]:
    """The query node of a span's frames."""
    node = {"video": {"name": {"in": [span.name]}}}
    if span.start_t is None:
        return node
    return {"and": [node, {"time": {"gte": span.start_t, "lte": span.end_t}}]}


class BaseSearchBackend(abc.ABC):
    """One index engine. Instances are cheap; state lives in the engine."""

    #: True when the index lives in this process's memory: another process (the embedded
    #: server's helper, a Celery worker, a second web process) neither sees nor changes it.
    process_local: bool = False

    @abc.abstractmethod
    def index_video(self, *, video_id: int, name: str, analytics: Analytics) -> IndexCounts:
        """Replace everything indexed for ``video_id`` with ``analytics``,
        atomically: searches see the old analytics or the new, never a mix.
        ``name`` is the video's name (queryable as ``{"video": {"name": ...}}``)."""

    @abc.abstractmethod
    def append_frames(self, *, video_id: int, name: str, analytics: Analytics) -> AppendResult:
        """Add the frames of ``analytics`` whose index is not yet indexed for ``video_id``
        (live streams), atomically: searches see the video before the append or after it,
        never part of it. A frame index already indexed is a duplicate: its records are
        ignored, so sending a chunk again changes nothing. Several records for one new index
        merge as in :meth:`index_video`. An ``EventRecord`` is added when its start frame is
        one of the frames added. ``TrackRecord`` is refused (``ValueError``): constant track
        attributes would change detections already indexed. A video not yet indexed is
        created with ``name`` and ``analytics.meta``; the caller passes the same meta with
        every append (an indexed video keeps its fps; the GPS locates the frames added)."""

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

    def merge_due(self) -> bool:
        """Whether writes left work for :meth:`merge`, which runs off the request path (a task
        on the ``index`` queue). Engines that merge on their own answer False."""
        return False

    def merge(self) -> bool:
        """Do one step of that work, without changing any answer; whether there was any."""
        return False

    def written_clips(self, *, requests: list[SearchRequest], written: list[Written]) -> list[list[Clip]]:
        """For each request, every clip of the frames it matches (its query AND its filters) among
        the frames of ``written`` alone, in (video, start) order: frames outside them are not
        seen, so a clip ends at a span's edge (watches join such clips with those they saw
        before, :mod:`analytics.watches`). Paging and facets of the requests are ignored.

        This one runs a search per request, each narrowed to the spans; an engine may evaluate
        every request at once over the written rows alone, with the same answer."""
        if not written:
            return [[] for _ in requests]
        spans = {"or": [written_node(span) for span in written]}
        found = []
        for request in requests:
            narrowed = dataclasses.replace(request, query={"and": [request.query, spans]}, page=1,
                                           page_size=WRITTEN_PAGE_SIZE, facets=[])
            clips: list[Clip] = []
            while True:
                result = self.search(request=narrowed)
                clips += result.clips
                if len(clips) >= result.total_clips or not result.clips:
                    break
                narrowed.page += 1
            found.append(clips)
        return found

    # Statistics (the statistics guide), all over the frames matching the query AND every filter.

    @abc.abstractmethod
    def occurrence(self, *, request: SearchRequest, unit: str) -> dict[str, dict[Any, float]]:
        """For each facet of ``request.facets`` (None: all), each value's count in ``unit``
        (one of :data:`STAT_UNITS`; int counts, float seconds); every value appears."""

    @abc.abstractmethod
    def cooccurrence(self, *, request: SearchRequest, a: str, b: str, scope: str) -> Cooccurrence:
        """The matrix of facets ``a`` x ``b`` in ``scope`` (one of :data:`SCOPES`).

        ``ValueError`` for an unknown facet or scope, or a pair the scope does not
        take (:func:`~indexer.search.semantics.scope_problem`)."""

    @abc.abstractmethod
    def cooccurrence_pairs(self, *, request: SearchRequest, scope: str, facets: list[str]) -> CooccurrencePairs:
        """Marginals of every value of ``facets`` and co-counts of every pair of values of two
        different facets, in ``scope`` (object scope: ``label`` and object facets only)."""

    @abc.abstractmethod
    def geo_cells(self, *, request: SearchRequest, z: int, bbox: list[float] | None,
                  target: str) -> dict[tuple[int, int], int]:
        """``{(x, y): count}`` of the located matching frames (or their detections, ``target``
        ``objects``) inside ``bbox`` (None: anywhere), by tile at level ``z``; non-zero only."""

    @abc.abstractmethod
    def located_frames(self, *, request: SearchRequest, bbox: list[float] | None,
                       batch_size: int = 10_000) -> Iterator[list[LocatedFrame]]:
        """The located matching frames inside ``bbox`` (None: anywhere), ordered by video id
        and frame index, in batches of at most ``batch_size``. A generator: ``close()`` it
        when stopping early."""

    @abc.abstractmethod
    def timeline(self, *, request: SearchRequest, max_bins: int) -> Timeline:
        """Matching frames over video time and wall-clock time, at most ``max_bins`` bins each."""

    @abc.abstractmethod
    def detections(self, *, request: SearchRequest, batch_size: int = 10_000) -> Iterator[list[Detection]]:
        """Every detection in the matching frames, in batches of at most ``batch_size``,
        ordered by video id, frame index and record order; memory stays bounded by the batch.
        A generator: ``close()`` it when stopping early."""

    @abc.abstractmethod
    def matched_tracks(self, *, request: SearchRequest) -> list[MatchedTrack]:
        """Every track with a detection the request matches, in the order of the first such
        detection (video id, frame index, record order), as :func:`semantics.matched_tracks
        <indexer.search.semantics.matched_tracks>` finds them in :meth:`detections`."""

    @abc.abstractmethod
    def frame_labels(self, *, video_id: int, start_s: float, end_s: float | None,
                     request: SearchRequest | None) -> list[dict[str, Any]]:
        """The frames of one video with ``start_s - slack <= t < end_s - slack``
        (:data:`WINDOW_SLACK_S`; ``end_s`` None: to the end), by index: ``{"index", "t",
        "objects": [{"label", "track", "confidence", "box", "attrs"}]}``, objects in record
        order. With a ``request``, the frame and each object also carry ``matched``."""

    # Similarity ("find more like this")

    @abc.abstractmethod
    def similar_tracks(self, *, request: SearchRequest | None, vector: np.ndarray, k: int,
                       exclude: Collection[tuple[int, str]] = ()) -> list[SimilarTrack]:
        """The ``k`` tracks most similar to ``vector`` (any scale; it is L2-normalized) among
        the candidates of ``request`` (None: every track with a vector), ``exclude``
        ((video id, track) pairs) left out; exact, ordered by (score desc, video id, track).
        ``ValueError`` when ``k`` < 1, the vector is zero or not finite, or no indexed track
        has its dimension while some track has a vector."""

    @abc.abstractmethod
    def track_vector(self, *, video_id: int, track: str) -> np.ndarray | None:
        """The stored float32 unit vector of one track; None when it has none."""
