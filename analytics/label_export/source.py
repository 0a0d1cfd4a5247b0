"""What an export holds: the videos a search matches and, of each, the matching frames
with their detections, the tracks they show and the events that touch them.

The labels come from each video's payload, read as a rebuild of the index reads it
(validated against its schema in filter mode, with the review overlay:
:func:`indexer.services.video_analytics`), so an export holds what search indexed,
frame attributes, track attributes and events included; the search engine says which
frames match (:meth:`~indexer.search.contract.BaseSearchBackend.frame_labels`). A search
that matches everything (no query, no filters) takes every frame without asking it.

Frames and detections are sorted by frame on disk (:class:`~analytics.label_export.spill.Spill`),
so memory does not grow with the video; tracks and events are held (one entry per track or
event span). Appearance vectors (embeddings) are not exported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from analytics.label_export.spill import Spill
from indexer.models import Video
from indexer.records import AttrValue, EventRecord, FrameRecord, ObjectRecord, TrackRecord, VideoMeta
from indexer.search import get_search_backend
from indexer.search.contract import SearchRequest
from indexer.services import video_analytics

FRAME, OBJECT = 0, 1


@dataclass(frozen=True)
class Window:
    """Part of one video: ``start_s <= t < end_s`` (``end_s`` None: to the end)."""

    video_id: int
    start_s: float
    end_s: float | None


@dataclass
class Scope:
    """The frames to export: those matching ``request``, within ``windows`` when given
    (selected clips, a page of clips), else all of them."""

    request: SearchRequest
    windows: list[Window] | None = None
    found: dict[int, set[int] | None] = field(default_factory=dict)  # matched_frames, once per video

    @property
    def matches_everything(self) -> bool:
        return self.request.query == {"and": []} and not self.request.filters


@dataclass
class Obj:
    index: int
    t: float
    label: str
    track: str | None
    confidence: float | None
    box: tuple[float, float, float, float] | None
    attrs: dict[str, AttrValue]


@dataclass
class Frame:
    index: int
    t: float
    attrs: dict[str, AttrValue]
    objects: list[Obj]


@dataclass
class VideoLabels:
    """One video's part of an export. ``frames()`` may be iterated more than once, one pass at a time."""

    video_id: int
    name: str
    meta: VideoMeta
    spill: Spill
    tracks: dict[str, TrackRecord] = field(default_factory=dict)
    events: list[EventRecord] = field(default_factory=list)
    detections: int = 0

    def frames(self) -> Iterator[Frame]:
        current: Frame | None = None
        for item in self.spill:
            index, kind = item[0], item[2]
            if current is None or current.index != index:
                if current is not None:
                    yield current
                current = Frame(index=index, t=item[3], attrs={}, objects=[])
            if kind == FRAME:
                for name, value in item[4].items():
                    current.attrs.setdefault(name, value)
            else:
                current.objects.append(Obj(index, item[3], item[4], item[5], item[6], item[7], item[8]))
        if current is not None:
            yield current

    def labels(self) -> list[str]:
        """The labels of the detections and tracks, sorted."""
        return sorted({obj.label for frame in self.frames() for obj in frame.objects}
                      | {track.label for track in self.tracks.values() if track.label})

    def close(self) -> None:
        self.spill.close()


def scope_videos(*, scope: Scope) -> list[Video]:
    """The videos with a payload that the scope reaches, by id."""
    ids = set(get_search_backend().video_ids())
    if scope.windows is not None:
        ids &= {window.video_id for window in scope.windows}
    videos = Video.objects.filter(pk__in=ids).exclude(payload_path="").select_related("schema").order_by("pk")
    return [video for video in videos if matched_frames(scope=scope, video_id=video.pk) != set()]


def matched_frames(*, scope: Scope, video_id: int) -> set[int] | None:
    """The indices of the video's frames in the scope; None: every frame."""
    if video_id not in scope.found:
        scope.found[video_id] = _matched_frames(scope, video_id)
    return scope.found[video_id]


def _matched_frames(scope: Scope, video_id: int) -> set[int] | None:
    windows = [w for w in scope.windows if w.video_id == video_id] if scope.windows is not None else None
    if windows is None and scope.matches_everything:
        return None
    request = None if scope.matches_everything else scope.request
    found: set[int] = set()
    for window in windows or [Window(video_id, 0.0, None)]:
        for frame in get_search_backend().frame_labels(video_id=video_id, start_s=window.start_s,
                                                       end_s=window.end_s, request=request):
            if request is None or frame.get("matched"):
                found.add(frame["index"])
    return found


def video_labels(*, video: Video, frames: set[int] | None) -> VideoLabels:
    """The video's labels in ``frames`` (None: all), read once from its payload."""
    analytics = video_analytics(video=video)
    labels = VideoLabels(video_id=video.pk, name=video.name, meta=analytics.meta, spill=Spill())
    for seq, record in enumerate(analytics.records()):
        if isinstance(record, ObjectRecord):
            if frames is None or record.index in frames:
                labels.spill.add((record.index, seq, OBJECT, record.t, record.label, record.track,
                                  record.confidence, record.box and tuple(record.box), record.attrs))
                labels.detections += 1
        elif isinstance(record, FrameRecord):
            if frames is None or record.index in frames:
                labels.spill.add((record.index, seq, FRAME, record.t, record.attrs))
        elif isinstance(record, TrackRecord):
            _track_add(labels.tracks, record)
        elif isinstance(record, EventRecord) and _touches(record, frames):
            labels.events.append(record)
    if frames is not None:
        seen = {obj.track for frame in labels.frames() for obj in frame.objects if obj.track is not None}
        labels.tracks = {track: record for track, record in labels.tracks.items() if track in seen}
    return labels


def _track_add(tracks: dict[str, TrackRecord], record: TrackRecord) -> None:
    held = tracks.get(record.track)
    if held is None:
        tracks[record.track] = TrackRecord(track=record.track, label=record.label, attrs=dict(record.attrs))
        return
    held.label = held.label or record.label
    for name, value in record.attrs.items():
        held.attrs.setdefault(name, value)


def _touches(event: EventRecord, frames: set[int] | None) -> bool:
    if frames is None:
        return True
    if event.end_index - event.start_index < len(frames):
        return any(index in frames for index in range(event.start_index, event.end_index + 1))
    return any(event.start_index <= index <= event.end_index for index in frames)


def as_dict(value: Any) -> Any:
    """JSON-ready text of a value read back from the spill (tuples as lists)."""
    return list(value) if isinstance(value, tuple) else value
