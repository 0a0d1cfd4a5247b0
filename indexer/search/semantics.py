"""The rules every search engine shares, written down once.

:mod:`indexer.search.contract` states what an engine answers; this module holds the rules
that are easiest to state as code, and every engine (the reference one included) calls
them rather than restating them, so that no two engines can drift. Because the reference
engine runs this same code, the conformance properties (every engine against the reference)
cannot catch a mistake here: ``tests/indexer/search/test_semantics.py`` checks each rule
against hand-worked examples instead.

Decisions the contract leaves open, which every engine follows:

- **Typed values.** A condition value only equals a stored value of the same
  kind: ``str`` (categorical), number (``int``/``float``, not ``bool``) or
  ``bool``. ``True`` never equals ``"true"`` nor ``1.0``. A range
  (``{"gte", "lte"}``) holds only for a number, even when both bounds are open;
  a missing value (no such attribute, no confidence, no ``recorded_at``) meets
  no condition, so ``not`` of it holds (:func:`cond_holds`).
- **Tracks.** Constant attributes of a ``TrackRecord`` apply to every detection
  whose track id equals ``TrackRecord.track``, whatever the labels;
  ``TrackRecord.label`` is not used for matching. Readers must make track ids
  unique within a video. ``IndexCounts.tracks`` counts the distinct track ids
  of detections (a ``TrackRecord`` without detections adds none).
- **GPS.** Waypoints are sorted by ``t`` (stable) before
  :func:`indexer.records.frame_location` (:func:`sorted_gps`);
  :func:`frame_locations` computes many locations at once, bit for bit the same.
- **Polygons.** Even-odd ray casting (W. R. Franklin's PNPOLY) on (lon, lat),
  with the edge from the last vertex back to the first; a closing vertex equal
  to the first adds a zero-length edge that changes nothing. Edge ``(i, j)``
  with ``j = i - 1`` crosses when ``(yi > y) != (yj > y)`` and
  ``x < (xj - xi) * (y - yi) / (yj - yi) + xi``, in exactly that float order.
  Points on the boundary therefore follow PNPOLY's half-open rule (a point on a
  left or bottom edge tends to be inside, on a right or top edge outside); every
  engine evaluates the same expression, so they agree bit for bit (:func:`in_polygon`).
- **Video built-ins.** ``name``, ``camera`` and ``recorded_at`` shadow video
  attributes of the same name. ``recorded_at`` is epoch seconds; a naive
  datetime is taken as UTC (:func:`video_values`).
- **fps.** ``meta.fps`` when positive, else 30 (:data:`~indexer.search.contract.DEFAULT_FPS`,
  :func:`effective_fps`).
- **Ids.** Frame indices must lie in ``0 .. 2**32 - 1`` and video ids in
  ``0 .. 2**31 - 1`` (``ValueError`` otherwise): the DuckDB engine packs
  ``video_id << 32 | index`` into one signed 64-bit id. ``rebuild`` with a repeated
  video id keeps the last one.
- **Clips.** Matching frames of a video are ordered by ``(t, index)``; a new clip
  starts when the time since the previous one exceeds :func:`clip_break_s`; a clip's
  start/end frame is the index of its first/last frame in that order. Clips are
  listed by ``(video_id, start_s, start_frame)``. A query with a sequence orders by leads
  first and starts a clip at its first lead ("Sequences and dwell" below).
- **Pages.** ``page`` is 1-based; a page below 1 is read as 1; a
  ``page_size`` below 1 gives an empty page. ``total_clips`` counts all clips
  (:func:`page_bounds`).
- **Facets** (the facets guide, docs/guide/facets.md). ``request.facets`` ``None``
  means every facet of the ontology; an unknown key or unit is a ``ValueError``. For a
  facet value ``v``: object facets (``label``, ``object:L.A``) define a predicate on objects
  (``object:L.A`` only matches objects labeled ``L``); frame, video and event
  facets a predicate on frames. Units: ``objects`` = the detections in the
  facet's frames that satisfy the object predicate (object facets) or every
  detection of the frames that satisfy the frame predicate (other facets);
  ``tracks`` = distinct (video, track) of those detections with a track;
  ``frames`` = the facet's frames with at least one such object / satisfying
  the frame predicate; ``clips`` = clips of the facet's frame set (same gap
  rule) holding at least one such frame; ``videos`` = distinct videos of such
  frames. Values found in the data but not in the ontology are not counted.
- **Statistics** (the statistics guide, docs/guide/statistics.md). Every statistic
  reads the frames matching the query AND all filters. ``seconds`` sums ``frames / fps``
  per video with ``math.fsum`` (exactly rounded, so the order of the terms cannot matter:
  :func:`seconds_of`). Co-occurrence pairs list each pair of facets once, the facet that
  comes first in the requested order first. Tiles: :func:`tile_of`. Time bins:
  :func:`time_bins`. Matched labels: :func:`positive_object_specs`.
- **Wall-clock time** (issue 21). A frame's clock time is ``recorded_at + t`` (epoch seconds, one
  IEEE double addition, :func:`frame_clock`); a live stream's frames too (no arrival time is
  stored: a stream's ``t`` counts from its ``recorded_at``). A video without ``recorded_at`` has
  no clock: ``clock``, ``hour`` and ``weekday`` never hold on its frames (``not`` of them does).
  ``hour``/``weekday`` read the local hour (0..23) and ISO weekday of the clock time *floored to
  the whole second*, in the node's IANA zone (:func:`local_hour_weekday`), so a frame at
  06:59:59.9 is in hour 6 everywhere.
- **Counts.** ``count`` holds when the number of the frame's detections meeting the object body
  (as :func:`object_holds`) lies in ``[gte, lte]`` (None: unbounded); ``lte`` 0 holds on frames
  without such detections, the empty ones included (:func:`count_holds`).
- **Zones.** ``zone`` holds when the video's ``camera`` has a polygon in the node and one
  detection meets the object body and has a box whose anchor point lies in the polygon
  (:func:`anchor_point`: bottom centre ``((x1 + x2) / 2, y2)`` or centre ``((x1 + x2) / 2,
  (y1 + y2) / 2)``, in that float order), by :func:`in_polygon` with x as lon and y as lat. A
  detection without a box, or a video without a camera or without that camera's zone, never
  matches.
- **Appends.** A chunk's frames already indexed are duplicates and left out, with their
  detections; an event comes with its start frame; track records are refused
  (:func:`append_split`, :func:`refuse_track_records`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np

from indexer.facets import OBJECT_KINDS, UNITS, Facet, facets_for, filters_to_node
from indexer.ontology import REVIEW, VIDEO_BUILTINS
from indexer.records import AttrValue, FrameRecord, ObjectRecord, TrackRecord, VideoMeta, Waypoint
from indexer.search.contract import (
    DEFAULT_FPS,
    GAP_TOLERANCE_S,
    GEO_TARGETS,
    MAX_TILE_LEVEL,
    SCOPES,
    STAT_UNITS,
    WINDOW_SLACK_S,
    Detection,
    Feature,
    Histogram,
    MatchedTrack,
    SearchRequest,
    SearchResult,
)

MAX_FRAME_INDEX = 2**32 - 1
MAX_VIDEO_ID = 2**31 - 1
COUNT_KEYS = ("videos", "clips", "frames", "objects", "tracks", "duration_s")


# Videos and frames -------------------------------------------------------------------------------


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
    """The waypoints in time order, as :func:`indexer.records.frame_location` requires (stable for ties)."""
    return sorted(meta.gps, key=lambda waypoint: waypoint.t)


def frame_locations(gps: list[Waypoint], times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`indexer.records.frame_location` for many times at once (NaN for None).

    The same float operations in the same order as the scalar function, so the
    results are bit-identical (numpy's float64 ``+ - * /`` are IEEE like Python's).
    ``gps`` must be sorted by ``t``.
    """
    lat = np.full(len(times), np.nan)
    lon = np.full(len(times), np.nan)
    if not gps:
        return lat, lon
    wt = np.array([w.t for w in gps], dtype=float)
    wlat = np.array([w.lat for w in gps], dtype=float)
    wlon = np.array([w.lon for w in gps], dtype=float)
    inside = (times >= wt[0]) & (times <= wt[-1])
    right = np.minimum(np.searchsorted(wt, times, side="left"), len(wt) - 1)
    exact = inside & (wt[right] == times)
    lat[exact], lon[exact] = wlat[right[exact]], wlon[right[exact]]
    between = inside & ~exact
    after = right[between]
    before = after - 1
    share = (times[between] - wt[before]) / (wt[after] - wt[before])
    lat[between] = wlat[before] + (wlat[after] - wlat[before]) * share
    lon[between] = wlon[before] + (wlon[after] - wlon[before]) * share
    return lat, lon


def check_frame_index(index: int) -> None:
    """Reject indices that cannot be packed into a 32-bit frame number."""
    if not 0 <= index <= MAX_FRAME_INDEX:
        raise ValueError(f"frame index {index} is outside 0..{MAX_FRAME_INDEX}")


def check_video_id(video_id: int) -> None:
    """Reject ids that cannot be packed into the high half of a signed 64-bit frame id."""
    if not 0 <= video_id <= MAX_VIDEO_ID:
        raise ValueError(f"video id {video_id} is outside 0..{MAX_VIDEO_ID}")


# Values and conditions ---------------------------------------------------------------------------


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
    """Whether a stored value meets a normalized condition: ``{"in": [...]}`` holds when one wanted
    value is of the value's kind and equal to it; ``{"gte", "lte"}`` only for a number within the
    bounds (either may be None). A value of no kind (None included) meets nothing."""
    kind = value_kind(value)
    if "in" in cond:
        return kind is not None and any(value_kind(wanted) == kind and wanted == value for wanted in cond["in"])
    if kind != "num":
        return False
    low, high = cond.get("gte"), cond.get("lte")
    return (low is None or value >= low) and (high is None or value <= high)


class ObjectLike(Protocol):
    """What :func:`object_holds` reads of a detection: its label, track id, confidence and
    effective attributes (track constants applied)."""

    label: str
    track: str | None
    confidence: float | None
    attrs: dict[str, Any]


def object_holds(spec: dict[str, Any], obj: ObjectLike) -> bool:
    """Whether one detection meets every constraint of an ``object`` node's body (label,
    track, confidence and attribute conditions, typed as :func:`cond_holds`)."""
    if spec.get("label") is not None and obj.label != spec["label"]:
        return False
    if spec.get("track") is not None and obj.track != spec["track"]:
        return False
    if spec.get("confidence") is not None and not cond_holds(spec["confidence"], obj.confidence):
        return False
    return all(cond_holds(cond, obj.attrs.get(attr)) for attr, cond in spec.get("attrs", {}).items())


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


# Clips, pages and facets -------------------------------------------------------------------------


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


# Statistics --------------------------------------------------------------------------------------


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
    attributes); a facet of every label (``review``) goes with any object facet."""
    if scope not in SCOPES:
        return f"unknown scope '{scope}'; expected one of {', '.join(SCOPES)}"
    if scope != "object":
        return None
    for facet in (a, b):
        if facet.kind not in OBJECT_KINDS:
            return (f"'{facet.key}' is not an object facet, so it cannot be counted per object; "
                    "use scope frame or clip")
    if a.kind == b.kind == "object" and a.label != b.label and None not in (a.label, b.label):
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


# Tiles -------------------------------------------------------------------------------------------


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
    """``ValueError`` unless ``z`` is a tile level an engine answers (0 .. :data:`MAX_TILE_LEVEL`)."""
    if not 0 <= z <= MAX_TILE_LEVEL:
        raise ValueError(f"tile level {z} is outside 0..{MAX_TILE_LEVEL}")


def check_target(target: str) -> None:
    """``ValueError`` unless ``target`` is what geo cells may count (:data:`GEO_TARGETS`)."""
    if target not in GEO_TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {', '.join(GEO_TARGETS)}")


# Time bins ---------------------------------------------------------------------------------------


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


# Labels and detections ---------------------------------------------------------------------------


def positive_object_specs(node: dict[str, Any], positive: bool = True) -> list[dict[str, Any]]:
    """The ``object`` predicates of a tree that hold positively: under an even number of
    ``not``. An object is *matched* when it satisfies one of them."""
    (kind, body), = node.items()
    if kind in ("and", "or"):
        return [spec for child in body for spec in positive_object_specs(child, positive)]
    if kind == "not":
        return positive_object_specs(body, not positive)
    if kind == "sequence":
        return positive_object_specs(body["first"], positive) + positive_object_specs(body["then"], positive)
    if kind == "dwell":
        return positive_object_specs(body["query"], positive)
    return [body] if kind == "object" and positive else []


def numbered_detections(batches: Iterable[list[Detection]]) -> Iterator[tuple[Detection, int]]:
    """Each detection with its 0-based position among its frame's detections (record order)."""
    frame, position = None, 0
    for batch in batches:
        for detection in batch:
            here = (detection.video_id, detection.index)
            position = position + 1 if here == frame else 0
            frame = here
            yield detection, position


def matched_detections(batches: Iterable[list[Detection]], request: SearchRequest
                       ) -> Iterator[tuple[Detection, int]]:
    """The detections of ``batches`` (an engine's :meth:`detections` of ``request``) that the
    request *matches*: meeting one positive object predicate, any one where there is none;
    each with its position in its frame."""
    specs = positive_object_specs(facet_frame_node(request, None))
    for detection, position in numbered_detections(batches):
        if not specs or any(object_holds(spec, detection) for spec in specs):
            yield detection, position


def matched_tracks(batches: Iterable[list[Detection]], request: SearchRequest) -> list[MatchedTrack]:
    """The tracks of the detections ``request`` matches among ``batches`` (an engine's
    :meth:`detections` of it), as :meth:`~indexer.search.contract.BaseSearchBackend.matched_tracks`
    defines them."""
    first: dict[tuple[int, str], Detection] = {}
    last: dict[tuple[int, str], Detection] = {}
    for detection, _ in matched_detections(batches, request):
        if detection.track is not None:
            first.setdefault((detection.video_id, detection.track), detection)
            last[(detection.video_id, detection.track)] = detection
    return [MatchedTrack(video_id=start.video_id, video_name=start.video_name, track=start.track,
                         label=start.label, attrs={k: v for k, v in start.attrs.items() if k != REVIEW},
                         start_index=start.index, start_t=start.t, end_index=last[key].index,
                         end_t=last[key].t)
            for key, start in first.items()]


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
    """A box as every engine returns it: four floats, or None."""
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


# Streams -----------------------------------------------------------------------------------------


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


# Appends -----------------------------------------------------------------------------------------


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


# Wall-clock time and counts ----------------------------------------------------------------------

CLOCK_KINDS = ("clock", "hour", "weekday")
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # ISO order, as the query language


def frame_clock(recorded_at: float | None, t: float) -> float | None:
    """A frame's wall-clock time: its video's ``recorded_at`` (epoch seconds) plus ``t``; None without one."""
    return None if recorded_at is None else recorded_at + t


def local_hour_weekday(clock: float, tz: str) -> tuple[int, str]:
    """The hour (0..23) and weekday (``mon``..``sun``) in zone ``tz`` of a clock time, floored to the second."""
    moment = datetime.fromtimestamp(math.floor(clock), ZoneInfo(tz))
    return moment.hour, WEEKDAY_NAMES[moment.weekday()]


def count_holds(spec: dict[str, Any], objects: Iterable[ObjectLike]) -> bool:
    """Whether a ``count`` node's body holds on a frame with these detections."""
    count = sum(1 for obj in objects if object_holds(spec["object"], obj))
    low, high = spec.get("gte"), spec.get("lte")
    return (low is None or count >= low) and (high is None or count <= high)


def uses_clock(node: dict[str, Any]) -> bool:
    """Whether a normalized tree has a ``clock``, ``hour`` or ``weekday`` node (videos without
    ``recorded_at`` then never match it, and searches say how many were left out)."""
    (kind, body), = node.items()
    if kind in ("and", "or"):
        return any(uses_clock(child) for child in body)
    if kind == "not":
        return uses_clock(body)
    if kind == "sequence":
        return uses_clock(body["first"]) or uses_clock(body["then"])
    if kind == "dwell":
        return uses_clock(body["query"])
    return kind in CLOCK_KINDS


# Zones ---------------------------------------------------------------------------------------------


def anchor_point(box: Iterable[float], anchor: str) -> tuple[float, float]:
    """The point of a box ``(x1, y1, x2, y2)`` tested against a zone: its bottom centre (y grows
    downwards) or its centre."""
    x1, y1, x2, y2 = (float(value) for value in box)
    return (x1 + x2) / 2, (y2 if anchor == "bottom_center" else (y1 + y2) / 2)


def zone_holds(spec: dict[str, Any], camera: str | None, objects: Iterable[Any]) -> bool:
    """Whether a ``zone`` node's body holds on a frame of a video with ``camera`` and these detections
    (each with ``box``)."""
    zone = spec["cameras"].get(camera) if camera is not None else None
    if zone is None:
        return False
    for obj in objects:
        if obj.box is not None and object_holds(spec["object"], obj):
            x, y = anchor_point(obj.box, zone["anchor"])
            if in_polygon(x, y, zone["polygon"]):
                return True
    return False
# Sequences and dwell -----------------------------------------------------------------------------
#
# The rules (the query-language guide, "Sequences and dwell"): ``first THEN then WITHIN w`` holds on
# a frame F where ``then`` holds when ``first`` holds on a frame A of the same video with
# ``A.t < F.t`` and ``F.t - A.t <= w`` (float64). A matching frame's clip reaches back to its *lead*:
# the earliest (t, index) of the frame and of the leads of the sequences holding on it (reached
# through and, or and a sequence's ``then``); a sequence's lead at F is the earliest lead of
# ``first`` over the A of F's window. Clips then take frames by (lead, t, index) and start anew
# when a lead comes more than the gap after the latest frame taken (:func:`lead_clip_starts`).
# ``query FOR >= m GAP g``: runs of a track's frames (an ``object`` query; untracked detections
# never count) or of the video's matching frames, broken where the next frame comes ``g`` or
# more after the one before; it holds on a frame of a run once ``t - run start t >= m``.
# These functions are the engines' vectorized form; the reference engine states them in loops.


def sequence_leads(first: dict[str, np.ndarray], then: dict[str, np.ndarray],
                   within_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each frame of ``then`` (arrays ``video``, ``t``), whether ``first`` (arrays ``video``,
    ``t``, ``idx``, ``lead_t``, ``lead_idx``) holds on a frame of its window, and the earliest
    (lead_t, lead_idx) over that window (NaN and -1 where none)."""
    a_order = np.lexsort((first["idx"], first["t"], first["video"]))
    a_video, a_t = first["video"][a_order], first["t"][a_order]
    a_lead_t, a_lead_idx = first["lead_t"][a_order], first["lead_idx"][a_order]
    b_video, b_t = then["video"], then["t"]
    lo = np.zeros(len(b_t), dtype=np.int64)
    hi = np.zeros(len(b_t), dtype=np.int64)
    for video in np.unique(b_video):
        rows = np.flatnonzero(b_video == video)
        begin, end = np.searchsorted(a_video, video, "left"), np.searchsorted(a_video, video, "right")
        times = a_t[begin:end]
        upper = begin + np.searchsorted(times, b_t[rows], "left")  # first A not strictly earlier
        lower = begin + np.searchsorted(times, b_t[rows] - within_s, "left")
        # The exact test is then.t - first.t <= within_s; the searched bound may be an ulp off.
        while True:
            back = (lower > begin) & (b_t[rows] - a_t[np.maximum(lower - 1, 0)] <= within_s)
            if not back.any():
                break
            lower[back] -= 1
        while True:
            ahead = (lower < upper) & ~(b_t[rows] - a_t[np.minimum(lower, len(a_t) - 1)] <= within_s)
            if not ahead.any():
                break
            lower[ahead] += 1
        lo[rows], hi[rows] = lower, upper
    found = lo < hi
    lead_t = np.full(len(b_t), np.nan)
    lead_idx = np.full(len(b_t), -1, dtype=np.int64)
    if found.any():
        # The earliest (lead_t, lead_idx) of a range: a sparse table of ranks.
        rank_order = np.lexsort((a_lead_idx, a_lead_t))
        rank = np.empty(len(rank_order), dtype=np.int64)
        rank[rank_order] = np.arange(len(rank_order))
        table = [rank]
        while 2 ** len(table) <= len(rank):
            half = 2 ** (len(table) - 1)
            previous = table[-1]
            table.append(np.minimum(previous[:-half], previous[half:]))
        start, stop = lo[found], hi[found]
        level = np.floor(np.log2(stop - start)).astype(np.int64)
        best = np.empty(len(start), dtype=np.int64)
        for k in np.unique(level):
            rows = level == k
            row_start, row_stop = start[rows], stop[rows]
            best[rows] = np.minimum(table[k][row_start], table[k][row_stop - 2**k])
        chosen = rank_order[best]
        lead_t[found], lead_idx[found] = a_lead_t[chosen], a_lead_idx[chosen]
    return found, lead_t, lead_idx


def earliest_leads(frame_id: np.ndarray, lead_t: np.ndarray, lead_idx: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row per frame id, with its earliest (lead_t, lead_idx)."""
    order = np.lexsort((lead_idx, lead_t, frame_id))
    frame_id, lead_t, lead_idx = frame_id[order], lead_t[order], lead_idx[order]
    first = np.ones(len(frame_id), dtype=bool)
    first[1:] = frame_id[1:] != frame_id[:-1]
    return frame_id[first], lead_t[first], lead_idx[first]


def lead_clip_starts(video: np.ndarray, t: np.ndarray, lead_t: np.ndarray, gap: float) -> np.ndarray:
    """Where clips start among frames sorted by (video, lead_t, lead_idx, t, idx): at a video's
    first frame and where ``lead_t - (latest t of the video before it) <= gap`` does not hold."""
    new_clip = np.ones(len(video), dtype=bool)
    if len(video) < 2:
        return new_clip
    same_video = video[1:] == video[:-1]
    # The latest t before each row, within its video: a running maximum restarted per video.
    starts = np.flatnonzero(np.r_[True, ~same_video])
    latest = np.empty(len(t))
    for begin, end in zip(starts, np.r_[starts[1:], len(t)], strict=True):
        latest[begin:end] = np.maximum.accumulate(t[begin:end])
    new_clip[1:] = ~same_video | ~(lead_t[1:] - latest[:-1] <= gap)
    return new_clip


def dwell_mask(group: np.ndarray, t: np.ndarray, min_s: float, gap_s: float) -> np.ndarray:
    """Which rows of a dwell hold, rows sorted by (group, t, index) where a group is a video
    (a frame query) or a (video, track) (an object query): runs break where the group changes or
    ``t - previous t < gap_s`` does not hold; a row holds when ``t - run start t >= min_s``."""
    if len(t) == 0:
        return np.zeros(0, dtype=bool)
    fresh = np.ones(len(t), dtype=bool)
    fresh[1:] = (group[1:] != group[:-1]) | ~(t[1:] - t[:-1] < gap_s)
    run_start = np.flatnonzero(fresh)
    since = t[run_start][np.cumsum(fresh) - 1]
    return t - since >= min_s
