"""The reference evaluator: the truth every other backend is tested against.

Plain Python, in memory, written to be obviously right rather than fast. Each
video is materialized into frames (index, t, location, attributes), the
detections of each frame with their effective attributes, and events; a query
is evaluated on every frame by straightforward recursion over the normalized
tree.

Decisions the contract in :mod:`indexer.backends.base` leaves open, which every
backend follows (the helpers below are shared with the other backends so that
they cannot drift):

- **Typed values.** A condition value only equals a stored value of the same
  kind: ``str`` (categorical), number (``int``/``float``, not ``bool``) or
  ``bool``. ``True`` never equals ``"true"`` nor ``1.0``. A range
  (``{"gte", "lte"}``) holds only for a number, even when both bounds are open;
  a missing value (no such attribute, no confidence, no ``recorded_at``) meets
  no condition, so ``not`` of it holds.
- **Tracks.** Constant attributes of a ``TrackRecord`` apply to every detection
  whose track id equals ``TrackRecord.track``, whatever the labels;
  ``TrackRecord.label`` is not used for matching. Readers must make track ids
  unique within a video. ``IndexCounts.tracks`` counts the distinct track ids
  of detections (a ``TrackRecord`` without detections adds none).
- **GPS.** Waypoints are sorted by ``t`` (stable) before
  :func:`indexer.records.frame_location`.
- **Polygons.** Even-odd ray casting (W. R. Franklin's PNPOLY) on (lon, lat),
  with the edge from the last vertex back to the first; a closing vertex equal
  to the first adds a zero-length edge that changes nothing. Edge ``(i, j)``
  with ``j = i - 1`` crosses when ``(yi > y) != (yj > y)`` and
  ``x < (xj - xi) * (y - yi) / (yj - yi) + xi``, in exactly that float order.
  Points on the boundary therefore follow PNPOLY's half-open rule (a point on a
  left or bottom edge tends to be inside, on a right or top edge outside); every
  backend evaluates the same expression, so they agree bit for bit.
- **Video built-ins.** ``name``, ``camera`` and ``recorded_at`` shadow video
  attributes of the same name. ``recorded_at`` is epoch seconds; a naive
  datetime is taken as UTC.
- **fps.** ``meta.fps`` when positive, else 30 (:data:`DEFAULT_FPS`).
- **Ids.** Frame indices must lie in ``0 .. 2**32 - 1`` and video ids in
  ``0 .. 2**31 - 1`` (``ValueError`` otherwise): the DuckDB backend packs
  ``video_id << 32 | index`` into one signed 64-bit id. ``rebuild`` with a repeated
  video id keeps the last one.
- **Clips.** Matching frames of a video are ordered by ``(t, index)``; a clip's
  start/end frame is the index of its first/last frame in that order. Clips are
  listed by ``(video_id, start_s, start_frame)``.
- **Pages.** ``page`` is 1-based; a page below 1 is read as 1; a
  ``page_size`` below 1 gives an empty page. ``total_clips`` counts all clips.
- **Facets.** ``request.facets`` ``None`` means every facet of the ontology;
  an unknown key or unit is a ``ValueError``. For a facet value ``v``: object
  facets (``label``, ``object:L.A``) define a predicate on objects
  (``object:L.A`` only matches objects labeled ``L``); frame, video and event
  facets a predicate on frames. Units: ``objects`` = the detections in the
  facet's frames that satisfy the object predicate (object facets) or every
  detection of the frames that satisfy the frame predicate (other facets);
  ``tracks`` = distinct (video, track) of those detections with a track;
  ``frames`` = the facet's frames with at least one such object / satisfying
  the frame predicate; ``clips`` = clips of the facet's frame set (same gap
  rule) holding at least one such frame; ``videos`` = distinct videos of such
  frames. Values found in the data but not in the ontology are not counted.
- **Statistics.** Every statistic reads the frames matching the query AND all
  filters. ``seconds`` sums ``frames / fps`` per video with ``math.fsum``
  (exactly rounded, so the order of the terms cannot matter). Co-occurrence
  pairs list each pair of facets once, the facet that comes first in the
  requested order first. Tiles: :func:`tile_of`. Time bins: :func:`time_bins`.
  Matched labels: :func:`positive_object_specs`.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from indexer.backends.base import (
    DEFAULT_FPS,
    GAP_TOLERANCE_S,
    GEO_TARGETS,
    MAX_TILE_LEVEL,
    SCOPES,
    STAT_UNITS,
    WINDOW_SLACK_S,
    AppendResult,
    BaseSearchBackend,
    Clip,
    Cooccurrence,
    CooccurrencePairs,
    Detection,
    Feature,
    Histogram,
    IndexCounts,
    LocatedFrame,
    SearchRequest,
    SearchResult,
    SimilarTrack,
    Timeline,
)
from indexer.backends.vectors import (
    TrackVector,
    TrackVectorBuilder,
    check_k,
    exact_scores,
    query_vector,
    ranked,
    similar_track,
)
from indexer.facets import OBJECT_KINDS, UNITS, Facet, facets_for, filters_to_node
from indexer.ontology import VIDEO_BUILTINS
from indexer.records import (
    Analytics,
    AttrValue,
    EventRecord,
    FrameRecord,
    ObjectRecord,
    TrackRecord,
    VideoMeta,
    Waypoint,
    frame_location,
)

MAX_FRAME_INDEX = 2**32 - 1
MAX_VIDEO_ID = 2**31 - 1
COUNT_KEYS = ("videos", "clips", "frames", "objects", "tracks", "duration_s")


# Rules shared by every backend -------------------------------------------------------------------


def effective_fps(meta: VideoMeta) -> float:
    """The fps clips are measured with: the payload's when positive, else the default."""
    return float(meta.fps) if meta.fps and meta.fps > 0 else DEFAULT_FPS


def recorded_epoch(meta: VideoMeta) -> float | None:
    """``meta.recorded_at`` as epoch seconds; a naive datetime is UTC."""
    recorded: datetime | None = meta.recorded_at
    if recorded is None:
        return None
    if recorded.tzinfo is None:
        recorded = recorded.replace(tzinfo=UTC)
    return recorded.timestamp()


def video_values(name: str, meta: VideoMeta) -> dict[str, AttrValue]:
    """What ``{"video": ...}`` nodes and video facets see: the attributes, with the
    built-ins ``name``, ``camera`` and ``recorded_at`` in place of any attribute so named
    (a built-in that is None leaves the name unset)."""
    values = {attr: value for attr, value in meta.attrs.items() if attr not in VIDEO_BUILTINS}
    builtins = {"name": name, "camera": meta.camera, "recorded_at": recorded_epoch(meta)}
    values.update({attr: value for attr, value in builtins.items() if value is not None})
    return values


def sorted_gps(meta: VideoMeta) -> list[Waypoint]:
    """The waypoints in time order, as :func:`frame_location` requires (stable for ties)."""
    return sorted(meta.gps, key=lambda waypoint: waypoint.t)


def check_frame_index(index: int) -> None:
    """Reject indices that cannot be packed into a 32-bit frame number."""
    if not 0 <= index <= MAX_FRAME_INDEX:
        raise ValueError(f"frame index {index} is outside 0..{MAX_FRAME_INDEX}")


def check_video_id(video_id: int) -> None:
    """Reject ids that cannot be packed into the high half of a signed 64-bit frame id."""
    if not 0 <= video_id <= MAX_VIDEO_ID:
        raise ValueError(f"video id {video_id} is outside 0..{MAX_VIDEO_ID}")


def value_kind(value: Any) -> str | None:
    """'str', 'num' or 'bool': the kind a value compares within; None for anything else."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "num"
    if isinstance(value, str):
        return "str"
    return None


def cond_holds(cond: dict[str, Any], value: Any) -> bool:
    """Whether a stored value meets a normalized condition (typed, see module docs)."""
    kind = value_kind(value)
    if "in" in cond:
        return kind is not None and any(value_kind(wanted) == kind and wanted == value for wanted in cond["in"])
    if kind != "num":
        return False
    low, high = cond.get("gte"), cond.get("lte")
    return (low is None or value >= low) and (high is None or value <= high)


def in_bbox(lon: float, lat: float, bbox: list[float]) -> bool:
    """Inside ``[west, south, east, north]``, edges included; west > east crosses the antimeridian."""
    west, south, east, north = bbox
    if not south <= lat <= north:
        return False
    if west <= east:
        return west <= lon <= east
    return lon >= west or lon <= east


def in_polygon(lon: float, lat: float, polygon: list[list[float]]) -> bool:
    """Even-odd ray casting (PNPOLY); the float expression is part of the contract."""
    inside = False
    for i in range(len(polygon)):
        xi, yi = float(polygon[i][0]), float(polygon[i][1])
        xj, yj = float(polygon[i - 1][0]), float(polygon[i - 1][1])
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
    return inside


def clip_break_s(gap_s: float) -> float:
    """A new clip starts when the time to the previous matching frame exceeds this."""
    return gap_s + GAP_TOLERANCE_S


def page_bounds(request: SearchRequest) -> tuple[int, int]:
    """(offset, limit) of the requested page of clips."""
    limit = max(request.page_size, 0)
    return (max(request.page, 1) - 1) * limit, limit


def requested_facets(request: SearchRequest) -> list[Facet]:
    """The facets to count, in the ontology's stable order."""
    known = facets_for(request.ontology)
    if request.facets is None:
        return list(known.values())
    unknown = [key for key in request.facets if key not in known]
    if unknown:
        raise ValueError(f"unknown facet {unknown[0]!r}")
    return [known[key] for key in request.facets]


def facet_unit(request: SearchRequest, facet: Facet) -> str:
    """The unit a facet is counted in for this request."""
    unit = request.facet_unit or facet.default_unit
    if unit not in UNITS:
        raise ValueError(f"unknown facet unit {unit!r}; expected one of {', '.join(UNITS)}")
    return unit


def facet_frame_node(request: SearchRequest, facet_key: str | None) -> dict[str, Any]:
    """The query AND every filter except ``facet_key``'s own (None: every filter)."""
    filters = filters_to_node(request.filters, request.ontology, skip=facet_key)
    return {"and": [request.query, filters]}


def facet_set_key(request: SearchRequest, facet: Facet) -> str | None:
    """Which frame set a facet is counted over: its own key when it is filtered, else the shared one."""
    return facet.key if facet.key in request.filters else None


def typed_key(value: Any) -> tuple[str | None, Any]:
    """A dict key that keeps ``True``, ``1.0`` and ``"true"`` apart."""
    return value_kind(value), value


def stat_unit(unit: str) -> str:
    """``unit`` when it is one of :data:`STAT_UNITS`, else ``ValueError``."""
    if unit not in STAT_UNITS:
        raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(STAT_UNITS)}")
    return unit


def seconds_of(frames_per_video: dict[int, int], fps: dict[int, float]) -> float:
    """The duration of some frames: each lasts 1/fps of its video, summed as ``frames / fps``
    per video, exactly rounded (so no summation order can change the result)."""
    return math.fsum(frames / fps[video_id] for video_id, frames in frames_per_video.items())


def cooccurrence_facets(request: SearchRequest, a: str, b: str, scope: str) -> tuple[Facet, Facet]:
    """Facets ``a`` and ``b`` of the request's ontology, checked for ``scope`` (``ValueError`` naming
    an unknown facet or what the scope does not take)."""
    known = facets_for(request.ontology)
    for key in (a, b):
        if key not in known:
            raise ValueError(f"unknown facet {key!r}")
    problem = scope_problem(known[a], known[b], scope)
    if problem:
        raise ValueError(problem)
    return known[a], known[b]


def pairs_facets(request: SearchRequest, facets: list[str], scope: str) -> list[Facet]:
    """The named facets of the request's ontology, each checked for ``scope`` (``ValueError``)."""
    known = facets_for(request.ontology)
    chosen = [known[key] for key in facets]
    for facet in chosen:
        problem = scope_problem(facet, facet, scope)
        if problem:
            raise ValueError(problem)
    return chosen


def scope_problem(a: Facet, b: Facet, scope: str) -> str | None:
    """Why facets ``a`` and ``b`` cannot be counted together in ``scope``; None when they can.

    The object scope asks whether one detection has both values, so both facets must
    describe detections of one label (two attributes of it, or ``label`` and one of its
    attributes)."""
    if scope not in SCOPES:
        return f"unknown scope '{scope}'; expected one of {', '.join(SCOPES)}"
    if scope != "object":
        return None
    for facet in (a, b):
        if facet.kind not in OBJECT_KINDS:
            return (f"'{facet.key}' is not an object facet, so it cannot be counted per object; "
                    "use scope frame or clip")
    if a.kind == b.kind == "object" and a.label != b.label:
        return (f"'{a.key}' and '{b.key}' describe different labels, so no single object has both; "
                "use scope frame or clip")
    return None


def implied_pair(a: Feature, b: Feature, facets: dict[str, Facet]) -> bool:
    """Whether one value implies the other by the ontology alone (label ``vehicle`` and
    ``object:vehicle.color=red``; event ``brake`` and ``event:brake.severity=hard``): their
    lift only restates how rare the label is, so top pairs leave them out."""
    attribute_kind = {"label": "object", "event": "event"}  # label set -> facets of its labels' attributes
    for (key, value), (other_key, _) in ((a, b), (b, a)):
        other = facets[other_key]
        if key in attribute_kind and other.kind == attribute_kind[key] and other.attr is not None \
                and other.label == value:
            return True
    return False


MAX_MERCATOR_LAT = 85.0511287798066


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    """The web-mercator tile (x, y) at level ``z`` holding a point; latitudes beyond the
    projection's +-85.0511 are clamped, x and y to 0 .. 2**z - 1. Engines evaluate
    this float expression term for term, so they agree exactly."""
    n = float(2**z)
    lat = min(max(lat, -MAX_MERCATOR_LAT), MAX_MERCATOR_LAT)
    lat_rad = lat * math.pi / 180.0
    x = math.floor((lon + 180.0) / 360.0 * n)
    y = math.floor((1.0 - math.log(math.tan(lat_rad) + 1.0 / math.cos(lat_rad)) / math.pi) / 2.0 * n)
    return min(max(x, 0), 2**z - 1), min(max(y, 0), 2**z - 1)


def check_tile_level(z: int) -> None:
    if not 0 <= z <= MAX_TILE_LEVEL:
        raise ValueError(f"tile level {z} is outside 0..{MAX_TILE_LEVEL}")


def check_target(target: str) -> None:
    if target not in GEO_TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {', '.join(GEO_TARGETS)}")


# Bin widths a time axis may use, seconds: 1-2-5 steps for video time, clock-like steps for wall time.
VIDEO_TIME_WIDTHS = tuple(m * 10.0**k for k in range(-2, 7) for m in (1, 2, 5))
_MINUTE, _HOUR, _DAY = 60.0, 3600.0, 86400.0
WALL_CLOCK_WIDTHS = (
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0,
    _MINUTE, 2 * _MINUTE, 5 * _MINUTE, 10 * _MINUTE, 15 * _MINUTE, 30 * _MINUTE,
    _HOUR, 2 * _HOUR, 3 * _HOUR, 6 * _HOUR, 12 * _HOUR,
    _DAY, 2 * _DAY, 7 * _DAY, 14 * _DAY, 28 * _DAY, 91 * _DAY, 182 * _DAY, 364 * _DAY,
)


def bin_of(value: float, start: float, width: float, bins: int) -> int:
    """Which of ``bins`` bins from ``start`` holds ``value`` (clamped, against float edge cases)."""
    return min(max(math.floor((value - start) / width), 0), bins - 1)


def time_bins(low: float, high: float, max_bins: int, widths: tuple[float, ...]) -> tuple[float, float, int]:
    """``(start, width, bins)`` for values in ``[low, high]``: the narrowest width of ``widths``
    (then the last one doubled, and doubled again) giving at most ``max_bins`` bins, the first
    starting at the multiple of the width at or below ``low``. A single bin that no aligned
    start can give (values on both sides of 0) starts at ``low``."""
    def fit(width: float) -> tuple[float, float, int] | None:
        start = math.floor(low / width) * width
        if start > low:  # the product rounded up past low (140 * 0.01 is 1.4000000000000001)
            start -= width
        bins = math.floor((high - start) / width) + 1
        return (start, width, bins) if bins <= max_bins else None

    doubled = (widths[-1] * 2**k for k in itertools.count(1))
    for width in itertools.chain(widths, doubled):  # endless, but a width wider than the range fits
        if found := fit(width):
            return found
        if max_bins == 1 and high - low < width:
            return low, width, 1


def histogram(values: Iterable[float], max_bins: int, widths: tuple[float, ...]) -> Histogram:
    """Values binned by :func:`time_bins`."""
    values = list(values)
    if not values:
        return Histogram(start=None, width=None, counts=[])
    start, width, bins = time_bins(min(values), max(values), max_bins, widths)
    counts = [0] * bins
    for value in values:
        counts[bin_of(value, start, width, bins)] += 1
    return Histogram(start=start, width=width, counts=counts)


def positive_object_specs(node: dict[str, Any], positive: bool = True) -> list[dict[str, Any]]:
    """The ``object`` predicates of a tree that hold positively: under an even number of
    ``not``. An object is *matched* when it satisfies one of them."""
    (kind, body), = node.items()
    if kind in ("and", "or"):
        return [spec for child in body for spec in positive_object_specs(child, positive)]
    if kind == "not":
        return positive_object_specs(body, not positive)
    return [body] if kind == "object" and positive else []


def in_window(t: float, start_s: float, end_s: float | None) -> bool:
    """Whether a frame at ``t`` lies in a labels window (see :data:`WINDOW_SLACK_S`)."""
    return t >= start_s - WINDOW_SLACK_S and (end_s is None or t < end_s - WINDOW_SLACK_S)


def plain_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Effective attributes as every engine returns them: ``str``, ``bool``, numbers as float."""
    plain = {}
    for name, value in attrs.items():
        kind = value_kind(value)
        if kind is not None:
            plain[name] = float(value) if kind == "num" else value
    return plain


def plain_box(box: Iterable[float] | None) -> list[float] | None:
    return None if box is None else [float(v) for v in box]


def empty_result(request: SearchRequest) -> SearchResult:
    """What a search over an empty index returns: zeros, every facet value at 0."""
    counts: dict[str, float] = {key: 0 for key in COUNT_KEYS}
    counts["duration_s"] = 0.0
    facets = {}
    for facet in requested_facets(request):
        facet_unit(request, facet)  # an invalid unit is an error even on an empty index
        facets[facet.key] = dict.fromkeys(facet.values, 0)
    return SearchResult(counts=counts, facets=facets, clips=[], total_clips=0)


# Materialized form -------------------------------------------------------------------------------


@dataclass
class _Object:
    label: str
    track: str | None
    confidence: float | None
    attrs: dict[str, AttrValue]
    box: tuple[float, float, float, float] | None = None


@dataclass
class _Frame:
    video_id: int
    index: int
    t: float
    location: tuple[float, float] | None = None  # (lat, lon)
    attrs: dict[str, AttrValue] = field(default_factory=dict)
    objects: list[_Object] = field(default_factory=list)


@dataclass
class _Event:
    label: str
    start_index: int
    end_index: int
    attrs: dict[str, AttrValue]


@dataclass
class _Video:
    video_id: int
    name: str
    fps: float
    values: dict[str, AttrValue]  # video_values(): attributes and built-ins
    frames: list[_Frame]  # ordered by index
    events: list[_Event]
    tracks: int
    vectors: list[TrackVector] = field(default_factory=list)  # tracks with a vector, by track id


def _materialize(video_id: int, name: str, analytics: Analytics) -> _Video:
    check_video_id(video_id)
    builder = TrackVectorBuilder()
    analytics = builder.tap(analytics)
    frames: dict[int, _Frame] = {}
    detections: list[ObjectRecord] = []
    constants: dict[str, dict[str, AttrValue]] = {}
    events: list[_Event] = []
    for record in analytics.records():
        if isinstance(record, FrameRecord | ObjectRecord):
            check_frame_index(record.index)
            frame = frames.setdefault(record.index, _Frame(video_id, record.index, record.t))
        if isinstance(record, FrameRecord):
            for attr, value in record.attrs.items():
                frame.attrs.setdefault(attr, value)
        elif isinstance(record, ObjectRecord):
            detections.append(record)
        elif isinstance(record, TrackRecord):
            track_constants = constants.setdefault(record.track, {})
            for attr, value in record.attrs.items():
                track_constants.setdefault(attr, value)
        elif isinstance(record, EventRecord):
            events.append(_Event(record.label, record.start_index, record.end_index, dict(record.attrs)))
    # Track constants are applied after the whole stream is read: a TrackRecord may come
    # after the detections it describes.
    for record in detections:
        attrs = dict(record.attrs)
        if record.track is not None:
            attrs.update(constants.get(record.track, {}))
        frames[record.index].objects.append(
            _Object(record.label, record.track, record.confidence, attrs, record.box))
    gps = sorted_gps(analytics.meta)
    for frame in frames.values():
        frame.location = frame_location(gps, frame.t)
    return _Video(
        video_id=video_id,
        name=name,
        fps=effective_fps(analytics.meta),
        values=video_values(name, analytics.meta),
        frames=[frames[index] for index in sorted(frames)],
        events=events,
        tracks=len({record.track for record in detections if record.track is not None}),
        vectors=builder.tracks(),
    )


def refuse_track_records(records: Iterable[Any]) -> None:
    """``ValueError`` for a ``TrackRecord``: an append cannot change detections already indexed."""
    for record in records:
        if isinstance(record, TrackRecord):
            raise ValueError(f"{record.path or 'a record'}: an append takes no track records (constant attributes "
                             f"of track '{record.track}')")


@dataclass
class AppendSplit:
    """A chunk's records split by :func:`append_split`."""

    kept: list[Any]  # records of the new frames, and events starting on one of them
    fresh: set[int]  # indices of the new frames
    duplicate_frames: int
    duplicate_objects: int


def append_split(records: list[Any], known: set[int]) -> AppendSplit:
    """What an append keeps of ``records`` when the video already has the frames ``known``."""
    named = {record.index for record in records if isinstance(record, FrameRecord | ObjectRecord)}
    for index in named:
        check_frame_index(index)
    fresh = named - known
    kept = [record for record in records
            if (record.index if isinstance(record, FrameRecord | ObjectRecord) else record.start_index) in fresh]
    duplicate_objects = sum(isinstance(record, ObjectRecord) and record.index in known for record in records)
    return AppendSplit(kept=kept, fresh=fresh, duplicate_frames=len(named & known),
                       duplicate_objects=duplicate_objects)


# Evaluation --------------------------------------------------------------------------------------


def _object_holds(spec: dict[str, Any], obj: _Object) -> bool:
    if spec.get("label") is not None and obj.label != spec["label"]:
        return False
    if spec.get("track") is not None and obj.track != spec["track"]:
        return False
    if spec.get("confidence") is not None and not cond_holds(spec["confidence"], obj.confidence):
        return False
    return all(cond_holds(cond, obj.attrs.get(attr)) for attr, cond in spec.get("attrs", {}).items())


def _event_holds(spec: dict[str, Any], video: _Video, frame: _Frame) -> bool:
    return any(
        event.start_index <= frame.index <= event.end_index
        and (spec.get("label") is None or event.label == spec["label"])
        and all(cond_holds(cond, event.attrs.get(attr)) for attr, cond in spec.get("attrs", {}).items())
        for event in video.events
    )


def _geo_holds(spec: dict[str, Any], frame: _Frame) -> bool:
    if frame.location is None:
        return False
    lat, lon = frame.location
    if "bbox" in spec:
        return in_bbox(lon, lat, spec["bbox"])
    return in_polygon(lon, lat, spec["polygon"])


def _holds(node: dict[str, Any], video: _Video, frame: _Frame) -> bool:
    """Whether a normalized query node holds on one frame."""
    (kind, body), = node.items()
    if kind == "and":
        return all(_holds(child, video, frame) for child in body)
    if kind == "or":
        return any(_holds(child, video, frame) for child in body)
    if kind == "not":
        return not _holds(body, video, frame)
    if kind == "object":
        return any(_object_holds(body, obj) for obj in frame.objects)
    if kind == "frame":
        return all(cond_holds(cond, frame.attrs.get(attr)) for attr, cond in body.items())
    if kind == "video":
        return all(cond_holds(cond, video.values.get(attr)) for attr, cond in body.items())
    if kind == "event":
        return _event_holds(body, video, frame)
    if kind == "geo":
        return _geo_holds(body, frame)
    if kind == "time":
        return cond_holds(body, frame.t)
    raise ValueError(f"unknown query node {kind!r}")


# Clips and units ---------------------------------------------------------------------------------

_FrameKey = tuple[int, int]  # (video_id, index)


@dataclass
class _FrameSet:
    """Frames matching one tree, grouped into clips."""

    frames: list[tuple[_Video, _Frame]]
    clips: list[Clip]
    clip_of: dict[_FrameKey, int]  # frame -> position of its clip in ``clips``


def _frame_set(videos: Iterable[_Video], node: dict[str, Any], gap_s: float) -> _FrameSet:
    matching: list[tuple[_Video, _Frame]] = []
    clips: list[Clip] = []
    clip_of: dict[_FrameKey, int] = {}
    for video in videos:
        hits = sorted((f for f in video.frames if _holds(node, video, f)), key=lambda f: (f.t, f.index))
        previous: _Frame | None = None
        for frame in hits:
            if previous is None or frame.t - previous.t > clip_break_s(gap_s):
                clips.append(Clip(video.video_id, frame.t, 0.0, frame.index, frame.index, 0))
            clip = clips[-1]
            clip.end_s = frame.t + 1.0 / video.fps
            clip.end_frame = frame.index
            clip.frames += 1
            clip_of[(video.video_id, frame.index)] = len(clips) - 1
            matching.append((video, frame))
            previous = frame
    return _FrameSet(matching, clips, clip_of)


def _unit_count(unit: str, frame_set: _FrameSet, frames: list[tuple[_Video, _Frame]],
                objects: list[tuple[int, _Object]]) -> int:
    if unit == "objects":
        return len(objects)
    if unit == "tracks":
        return len({(video_id, obj.track) for video_id, obj in objects if obj.track is not None})
    if unit == "frames":
        return len(frames)
    if unit == "clips":
        return len({frame_set.clip_of[(video.video_id, frame.index)] for video, frame in frames})
    return len({video.video_id for video, _ in frames})


def _facet_object_spec(facet: Facet, value: Any) -> dict[str, Any]:
    if facet.kind == "label":
        return {"label": value, "attrs": {}}
    return {"label": facet.label, "attrs": {facet.attr: {"in": [value]}}}


def _facet_hits(facet: Facet, value: Any, frame_set: _FrameSet):
    """The frames and detections a facet value counts, before the unit is applied."""
    frames: list[tuple[_Video, _Frame]] = []
    objects: list[tuple[int, _Object]] = []
    if facet.kind in OBJECT_KINDS:
        spec = _facet_object_spec(facet, value)
        for video, frame in frame_set.frames:
            hits = [obj for obj in frame.objects if _object_holds(spec, obj)]
            if hits:
                frames.append((video, frame))
                objects.extend((video.video_id, obj) for obj in hits)
        return frames, objects
    node = facet.node([value])
    for video, frame in frame_set.frames:
        if _holds(node, video, frame):
            frames.append((video, frame))
            objects.extend((video.video_id, obj) for obj in frame.objects)
    return frames, objects


def _features(facets: list[Facet], video: _Video, frame: _Frame, obj: _Object | None) -> set[Feature]:
    """The facet values a detection (``obj``) or a frame (``obj`` None) has."""
    features: set[Feature] = set()
    for facet in facets:
        for value in facet.values:
            if facet.kind in OBJECT_KINDS:
                spec = _facet_object_spec(facet, value)
                held = _object_holds(spec, obj) if obj is not None else any(
                    _object_holds(spec, other) for other in frame.objects)
            else:
                held = _holds(facet.node([value]), video, frame)
            if held:
                features.add((facet.key, value))
    return features


def _unit_features(scope: str, main: _FrameSet, facets: list[Facet]) -> list[set[Feature]]:
    """For every unit of ``scope`` (detections, frames or clips of ``main``), the values it has."""
    if scope == "object":
        return [_features(facets, video, frame, obj) for video, frame in main.frames for obj in frame.objects]
    per_frame = [_features(facets, video, frame, None) for video, frame in main.frames]
    if scope == "frame":
        return per_frame
    per_clip: list[set[Feature]] = [set() for _ in main.clips]
    for (video, frame), features in zip(main.frames, per_frame, strict=True):
        per_clip[main.clip_of[(video.video_id, frame.index)]] |= features
    return per_clip


def _sorted_frames(frame_set: _FrameSet) -> list[tuple[_Video, _Frame]]:
    """Matching frames by video id, then frame index."""
    return sorted(frame_set.frames, key=lambda pair: (pair[0].video_id, pair[1].index))


def batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of ``size`` (the last may be shorter)."""
    if size < 1:
        raise ValueError("batch_size must be >= 1")
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _label_json(obj: _Object) -> dict[str, Any]:
    return {"label": obj.label, "track": obj.track,
            "confidence": None if obj.confidence is None else float(obj.confidence),
            "box": plain_box(obj.box), "attrs": plain_attrs(obj.attrs)}


# The backend -------------------------------------------------------------------------------------


class SearchBackend(BaseSearchBackend):
    """In-memory reference engine; one instance holds its own index."""

    def __init__(self) -> None:
        self._videos: dict[int, _Video] = {}

    def index_video(self, *, video_id: int, name: str, analytics: Analytics) -> IndexCounts:
        """Materialize the video, then swap it in (a failure leaves the old one)."""
        video = _materialize(video_id, name, analytics)
        self._videos[video_id] = video
        objects = sum(len(frame.objects) for frame in video.frames)
        return IndexCounts(frames=len(video.frames), objects=objects, tracks=video.tracks, events=len(video.events))

    def append_frames(self, *, video_id: int, name: str, analytics: Analytics) -> AppendResult:
        """Materialize the new frames on their own, then swap in the merged video."""
        records = list(analytics.records())
        refuse_track_records(records)
        video = self._videos.get(video_id) or _materialize(
            video_id, name, Analytics.from_list(format=analytics.format, meta=analytics.meta, records=[]))
        split = append_split(records, {frame.index for frame in video.frames})
        # An indexed video keeps its fps; the caller's GPS locates the new frames.
        meta = VideoMeta(fps=video.fps, gps=analytics.meta.gps)
        part = _materialize(video_id, video.name,
                            Analytics.from_list(format=analytics.format, meta=meta, records=split.kept))
        old_tracks = {obj.track for frame in video.frames for obj in frame.objects if obj.track is not None}
        new_tracks = {obj.track for frame in part.frames for obj in frame.objects if obj.track is not None}
        merged = replace(video, frames=sorted(video.frames + part.frames, key=lambda frame: frame.index),
                         events=video.events + part.events, tracks=len(old_tracks | new_tracks))
        self._videos[video_id] = merged
        return AppendResult(
            appended=IndexCounts(frames=len(part.frames), objects=sum(len(frame.objects) for frame in part.frames),
                                 tracks=len(new_tracks - old_tracks), events=len(part.events)),
            duplicate_frames=split.duplicate_frames,
            duplicate_objects=split.duplicate_objects,
            indices=sorted(split.fresh),
        )

    def delete_video(self, *, video_id: int) -> None:
        """Forget a video; absent ids are ignored."""
        self._videos.pop(video_id, None)

    def rebuild(self, *, videos: list[tuple[int, str, Analytics]]) -> None:
        """Replace the whole index at once."""
        self._videos = {video_id: _materialize(video_id, name, analytics) for video_id, name, analytics in videos}

    def video_ids(self) -> list[int]:
        """Indexed video ids, ascending."""
        return sorted(self._videos)

    def search(self, *, request: SearchRequest) -> SearchResult:
        """Evaluate the query on every frame, then count, facet and page."""
        videos = [self._videos[video_id] for video_id in sorted(self._videos)]
        main = _frame_set(videos, facet_frame_node(request, None), request.gap_s)
        offset, limit = page_bounds(request)
        return SearchResult(
            counts=self._counts(main),
            facets=self._facets(request, videos, main),
            clips=main.clips[offset:offset + limit],
            total_clips=len(main.clips),
        )

    @staticmethod
    def _counts(frame_set: _FrameSet) -> dict[str, float]:
        objects = [(video.video_id, obj) for video, frame in frame_set.frames for obj in frame.objects]
        return {
            "videos": len({video.video_id for video, _ in frame_set.frames}),
            "clips": len(frame_set.clips),
            "frames": len(frame_set.frames),
            "objects": len(objects),
            "tracks": _unit_count("tracks", frame_set, frame_set.frames, objects),
            "duration_s": sum(clip.end_s - clip.start_s for clip in frame_set.clips),
        }

    @staticmethod
    def _facets(request: SearchRequest, videos: list[_Video], main: _FrameSet) -> dict[str, dict[Any, int]]:
        facets: dict[str, dict[Any, int]] = {}
        for facet in requested_facets(request):
            unit = facet_unit(request, facet)
            set_key = facet_set_key(request, facet)
            frame_set = main if set_key is None else _frame_set(
                videos, facet_frame_node(request, set_key), request.gap_s
            )
            facets[facet.key] = {
                value: _unit_count(unit, frame_set, *_facet_hits(facet, value, frame_set)) for value in facet.values
            }
        return facets

    # Statistics

    def _matching(self, request: SearchRequest) -> _FrameSet:
        videos = [self._videos[video_id] for video_id in sorted(self._videos)]
        return _frame_set(videos, facet_frame_node(request, None), request.gap_s)

    def occurrence(self, *, request: SearchRequest, unit: str) -> dict[str, dict[Any, float]]:
        """Each facet value's count over the matching frames, by plain enumeration."""
        stat_unit(unit)
        facets = requested_facets(request)
        main = self._matching(request)
        fps = {video_id: video.fps for video_id, video in self._videos.items()}
        counts: dict[str, dict[Any, float]] = {}
        for facet in facets:
            counts[facet.key] = {}
            for value in facet.values:
                frames, objects = _facet_hits(facet, value, main)
                if unit == "seconds":
                    per_video = Counter(video.video_id for video, _ in frames)
                    counts[facet.key][value] = seconds_of(per_video, fps)
                else:
                    counts[facet.key][value] = _unit_count(unit, main, frames, objects)
        return counts

    def cooccurrence(self, *, request: SearchRequest, a: str, b: str, scope: str) -> Cooccurrence:
        """Count, for every unit of the scope, which values of ``a`` and ``b`` it has."""
        facet_a, facet_b = cooccurrence_facets(request, a, b, scope)
        units = _unit_features(scope, self._matching(request), [facet_a, facet_b])
        rows, cols = list(facet_a.values), list(facet_b.values)
        return Cooccurrence(
            rows=rows,
            cols=cols,
            matrix=[[sum(1 for unit in units if (a, row) in unit and (b, col) in unit) for col in cols]
                    for row in rows],
            row_totals=[sum(1 for unit in units if (a, row) in unit) for row in rows],
            col_totals=[sum(1 for unit in units if (b, col) in unit) for col in cols],
            total=len(units),
        )

    def cooccurrence_pairs(self, *, request: SearchRequest, scope: str, facets: list[str]) -> CooccurrencePairs:
        """Every pair of values of two different facets that some unit has together."""
        chosen = pairs_facets(request, facets, scope)
        order = {key: position for position, key in enumerate(facets)}
        units = _unit_features(scope, self._matching(request), chosen)
        marginals = {(facet.key, value): 0 for facet in chosen for value in facet.values}
        pairs: Counter[tuple[Feature, Feature]] = Counter()
        for unit in units:
            for feature in unit:
                marginals[feature] += 1
                for other in unit:
                    if order[feature[0]] < order[other[0]]:
                        pairs[(feature, other)] += 1
        return CooccurrencePairs(total=len(units), marginals=marginals, pairs=dict(pairs))

    def geo_cells(self, *, request: SearchRequest, z: int, bbox: list[float] | None,
                  target: str) -> dict[tuple[int, int], int]:
        """Located matching frames in the bbox, tallied by tile."""
        check_tile_level(z)
        check_target(target)
        cells: Counter[tuple[int, int]] = Counter()
        for batch in self.located_frames(request=request, bbox=bbox):
            for frame in batch:
                weight = 1 if target == "frames" else frame.objects
                if weight:
                    cells[tile_of(frame.lat, frame.lon, z)] += weight
        return dict(cells)

    def located_frames(self, *, request: SearchRequest, bbox: list[float] | None,
                       batch_size: int = 10_000) -> Iterator[list[LocatedFrame]]:
        """Matching frames with a location inside the bbox."""
        located = (
            LocatedFrame(video.video_id, frame.index, frame.t, frame.location[0], frame.location[1],
                         len(frame.objects))
            for video, frame in _sorted_frames(self._matching(request))
            if frame.location is not None and (bbox is None or in_bbox(frame.location[1], frame.location[0], bbox))
        )
        return batches(located, batch_size)

    def timeline(self, *, request: SearchRequest, max_bins: int) -> Timeline:
        """Histograms of the matching frames' t and recorded_at + t."""
        if max_bins < 1:
            raise ValueError("max_bins must be >= 1")
        frames = self._matching(request).frames
        placed = [(video.values.get("recorded_at"), frame.t) for video, frame in frames]
        wall = [recorded + t for recorded, t in placed if recorded is not None]
        return Timeline(
            video_time=histogram((frame.t for _, frame in frames), max_bins, VIDEO_TIME_WIDTHS),
            wall_clock=histogram(wall, max_bins, WALL_CLOCK_WIDTHS),
            unplaced=len(placed) - len(wall),
        )

    def detections(self, *, request: SearchRequest, batch_size: int = 10_000) -> Iterator[list[Detection]]:
        """Every detection of the matching frames, in index order."""
        def each() -> Iterator[Detection]:
            for video, frame in _sorted_frames(self._matching(request)):
                lat, lon = frame.location if frame.location is not None else (None, None)
                for obj in frame.objects:
                    label = _label_json(obj)
                    yield Detection(
                        video_id=video.video_id, video_name=video.name, index=frame.index, t=frame.t,
                        label=obj.label, track=obj.track, confidence=label["confidence"],
                        box=None if obj.box is None else tuple(label["box"]), attrs=label["attrs"],
                        lat=lat, lon=lon)

        return batches(each(), batch_size)

    def frame_labels(self, *, video_id: int, start_s: float, end_s: float | None,
                     request: SearchRequest | None) -> list[dict[str, Any]]:
        """The window's frames from the materialized video, each object marked when asked."""
        video = self._videos.get(video_id)
        if video is None:
            return []
        node = facet_frame_node(request, None) if request is not None else None
        specs = positive_object_specs(node) if node is not None else []
        frames = []
        for frame in video.frames:
            if not in_window(frame.t, start_s, end_s):
                continue
            labeled = {"index": frame.index, "t": frame.t, "objects": [_label_json(obj) for obj in frame.objects]}
            if node is not None:
                matched = _holds(node, video, frame)
                labeled["matched"] = matched
                for obj, shown in zip(frame.objects, labeled["objects"], strict=True):
                    shown["matched"] = matched and (not specs or any(_object_holds(spec, obj) for spec in specs))
            frames.append(labeled)
        return frames

    # Similarity

    def similar_tracks(self, *, request: SearchRequest | None, vector: Any, k: int,
                       exclude: Collection[tuple[int, str]] = ()) -> list[SimilarTrack]:
        """Every candidate scored with :func:`~indexer.backends.vectors.exact_scores`, then sorted."""
        check_k(k)
        query = query_vector(vector)
        videos = [self._videos[video_id] for video_id in sorted(self._videos)]
        dims = sorted({track.vector.size for video in videos for track in video.vectors})
        if dims and query.size not in dims:
            raise ValueError(f"no indexed track has a {query.size}-dimensional embedding "
                             f"(indexed: {', '.join(map(str, dims))})")
        allowed = None if request is None else {
            (video.video_id, obj.track) for video, frame in self._matching(request).frames for obj in frame.objects}
        found = {(video.video_id, track.track): (video, track) for video in videos for track in video.vectors
                 if track.vector.size == query.size
                 and (allowed is None or (video.video_id, track.track) in allowed)}
        if not found:
            return []
        keys = list(found)
        scores = exact_scores(np.stack([found[key][1].vector for key in keys]), query)
        return [similar_track(video_id, found[(video_id, track)][1], score, found[(video_id, track)][0].fps)
                for video_id, track, score in ranked(keys, scores, k, exclude)]

    def track_vector(self, *, video_id: int, track: str) -> np.ndarray | None:
        """The track's stored vector, from the materialized video."""
        video = self._videos.get(video_id)
        stored = {vector.track: vector.vector for vector in video.vectors} if video is not None else {}
        return stored.get(track)
