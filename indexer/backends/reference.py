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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from indexer.backends.base import (
    DEFAULT_FPS,
    GAP_TOLERANCE_S,
    BaseSearchBackend,
    Clip,
    IndexCounts,
    SearchRequest,
    SearchResult,
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
    fps: float
    values: dict[str, AttrValue]  # video_values(): attributes and built-ins
    frames: list[_Frame]  # ordered by index
    events: list[_Event]
    tracks: int


def _materialize(video_id: int, name: str, analytics: Analytics) -> _Video:
    check_video_id(video_id)
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
        frames[record.index].objects.append(_Object(record.label, record.track, record.confidence, attrs))
    gps = sorted_gps(analytics.meta)
    for frame in frames.values():
        frame.location = frame_location(gps, frame.t)
    return _Video(
        video_id=video_id,
        fps=effective_fps(analytics.meta),
        values=video_values(name, analytics.meta),
        frames=[frames[index] for index in sorted(frames)],
        events=events,
        tracks=len({record.track for record in detections if record.track is not None}),
    )


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
