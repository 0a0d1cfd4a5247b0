"""The reference engine's index: each video materialized into plain Python objects.

A video becomes its frames (index, t, location, attributes), the detections of each frame
with their effective attributes, its events and its track vectors, exactly as the contract
(:mod:`indexer.search.contract`) describes them, so that evaluating a query is a plain walk
over these objects (:mod:`indexer.search.reference.evaluation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from indexer.records import (
    Analytics,
    AttrValue,
    EventRecord,
    FrameRecord,
    ObjectRecord,
    TrackRecord,
    frame_location,
)
from indexer.search.semantics import check_frame_index, check_video_id, effective_fps, sorted_gps, video_values
from indexer.search.vectors import TrackVector, TrackVectorBuilder


@dataclass
class StoredObject:
    """One detection with its effective attributes (track constants applied)."""

    label: str
    track: str | None
    confidence: float | None
    attrs: dict[str, AttrValue]
    box: tuple[float, float, float, float] | None = None


@dataclass
class StoredFrame:
    """One frame: its attributes (first record wins), location and detections in record order."""

    video_id: int
    index: int
    t: float
    location: tuple[float, float] | None = None  # (lat, lon)
    attrs: dict[str, AttrValue] = field(default_factory=dict)
    objects: list[StoredObject] = field(default_factory=list)


@dataclass
class StoredEvent:
    """One event: a label over the inclusive span of frame indices ``start_index .. end_index``."""

    label: str
    start_index: int
    end_index: int
    attrs: dict[str, AttrValue]


@dataclass
class StoredVideo:
    """Everything the reference engine keeps of one video."""

    video_id: int
    name: str
    fps: float
    values: dict[str, AttrValue]  # video_values(): attributes and built-ins
    frames: list[StoredFrame]  # ordered by index
    events: list[StoredEvent]
    tracks: int
    vectors: list[TrackVector] = field(default_factory=list)  # tracks with a vector, by track id


def materialize(video_id: int, name: str, analytics: Analytics) -> StoredVideo:
    """Read a video's records once into its frames, detections, events and track vectors,
    applying the contract's merge rules (first record wins, track constants override)."""
    check_video_id(video_id)
    builder = TrackVectorBuilder()
    analytics = builder.tap(analytics)
    frames: dict[int, StoredFrame] = {}
    detections: list[ObjectRecord] = []
    constants: dict[str, dict[str, AttrValue]] = {}
    events: list[StoredEvent] = []
    for record in analytics.records():
        if isinstance(record, FrameRecord | ObjectRecord):
            check_frame_index(record.index)
            frame = frames.setdefault(record.index, StoredFrame(video_id, record.index, record.t))
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
            events.append(StoredEvent(record.label, record.start_index, record.end_index, dict(record.attrs)))
    # Track constants are applied after the whole stream is read: a TrackRecord may come
    # after the detections it describes.
    for record in detections:
        attrs = dict(record.attrs)
        if record.track is not None:
            attrs.update(constants.get(record.track, {}))
        frames[record.index].objects.append(
            StoredObject(record.label, record.track, record.confidence, attrs, record.box))
    gps = sorted_gps(analytics.meta)
    for frame in frames.values():
        frame.location = frame_location(gps, frame.t)
    return StoredVideo(
        video_id=video_id,
        name=name,
        fps=effective_fps(analytics.meta),
        values=video_values(name, analytics.meta),
        frames=[frames[index] for index in sorted(frames)],
        events=events,
        tracks=len({record.track for record in detections if record.track is not None}),
        vectors=builder.tracks(),
    )
