"""How the reference engine answers: a query evaluated on every frame by plain recursion
over the normalized tree, then frames grouped into clips and counted unit by unit.

Written to be obviously right rather than fast; the rules it shares with the other engines
come from :mod:`indexer.search.semantics`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from indexer.facets import OBJECT_KINDS, Facet
from indexer.search.contract import Clip, Feature
from indexer.search.reference.materialized import StoredFrame, StoredObject, StoredVideo
from indexer.search.semantics import (
    clip_break_s,
    cond_holds,
    count_holds,
    frame_clock,
    in_bbox,
    in_polygon,
    local_hour_weekday,
    object_holds,
    plain_attrs,
    plain_box,
    zone_holds,
)

# Query evaluation --------------------------------------------------------------------------------


def event_holds(spec: dict[str, Any], video: StoredVideo, frame: StoredFrame) -> bool:
    """Whether an ``event`` node holds on a frame: one of the video's events with that label
    and attributes spans the frame's index."""
    return any(
        event.start_index <= frame.index <= event.end_index
        and (spec.get("label") is None or event.label == spec["label"])
        and all(cond_holds(cond, event.attrs.get(attr)) for attr, cond in spec.get("attrs", {}).items())
        for event in video.events
    )


def geo_holds(spec: dict[str, Any], frame: StoredFrame) -> bool:
    """Whether a located frame lies in a ``geo`` node's bbox or polygon (never without a location)."""
    if frame.location is None:
        return False
    lat, lon = frame.location
    if "bbox" in spec:
        return in_bbox(lon, lat, spec["bbox"])
    return in_polygon(lon, lat, spec["polygon"])


def frame_holds(node: dict[str, Any], video: StoredVideo, frame: StoredFrame) -> bool:
    """Whether a normalized query node holds on one frame."""
    (kind, body), = node.items()
    if kind == "and":
        return all(frame_holds(child, video, frame) for child in body)
    if kind == "or":
        return any(frame_holds(child, video, frame) for child in body)
    if kind == "not":
        return not frame_holds(body, video, frame)
    if kind == "object":
        return any(object_holds(body, obj) for obj in frame.objects)
    if kind == "frame":
        return all(cond_holds(cond, frame.attrs.get(attr)) for attr, cond in body.items())
    if kind == "video":
        return all(cond_holds(cond, video.values.get(attr)) for attr, cond in body.items())
    if kind == "event":
        return event_holds(body, video, frame)
    if kind == "geo":
        return geo_holds(body, frame)
    if kind == "time":
        return cond_holds(body, frame.t)
    if kind in FRAME_LEVEL_NODES:
        return FRAME_LEVEL_NODES[kind](body, video, frame)
    if kind == "sequence":
        return sequence_holds(body, video, frame)
    if kind == "dwell":
        return dwell_holds(body, video, frame)
    raise ValueError(f"unknown query node {kind!r}")


# Wall-clock time and counts (issue 21).


def clock_holds(spec: dict[str, Any], video: StoredVideo, frame: StoredFrame) -> bool:
    """``clock``: the frame's clock time lies in the range (never without ``recorded_at``)."""
    return cond_holds(spec, frame_clock(video.values.get("recorded_at"), frame.t))


def local_holds(part: int) -> Any:
    """``hour`` (part 0) or ``weekday`` (part 1): the local hour or weekday of the clock is listed."""
    def holds(spec: dict[str, Any], video: StoredVideo, frame: StoredFrame) -> bool:
        clock = frame_clock(video.values.get("recorded_at"), frame.t)
        return clock is not None and local_hour_weekday(clock, spec["tz"])[part] in spec["in"]

    return holds


FRAME_LEVEL_NODES = {
    "clock": clock_holds,
    "hour": local_holds(0),
    "weekday": local_holds(1),
    "count": lambda spec, video, frame: count_holds(spec, frame.objects),
    "zone": lambda spec, video, frame: zone_holds(spec, video.values.get("camera"), frame.objects),
}


# Sequences and dwell (the query-language guide, "Sequences and dwell") ---------------------------


def in_sequence_window(first_t: float, then_t: float, within_s: float) -> bool:
    """Whether a frame at ``first_t`` may open a sequence closed at ``then_t``: strictly earlier,
    and at most ``within_s`` before (``then_t - first_t`` in float64)."""
    return first_t < then_t and then_t - first_t <= within_s


def sequence_holds(spec: dict[str, Any], video: StoredVideo, frame: StoredFrame) -> bool:
    """``first THEN then WITHIN s``: ``then`` holds on the frame and ``first`` on an earlier frame
    of the video at most ``within_s`` before it."""
    return frame_holds(spec["then"], video, frame) and any(
        in_sequence_window(other.t, frame.t, spec["within_s"]) and frame_holds(spec["first"], video, other)
        for other in video.frames
    )


def dwell_holds(spec: dict[str, Any], video: StoredVideo, frame: StoredFrame) -> bool:
    """``query FOR >= min_s GAP gap_s``: one run that holds on the frame has lasted ``min_s`` by it.

    A run is a track's frames where one of its detections meets the ``object`` node (an
    ``object`` query; untracked detections never count), or else the video's frames where the
    query holds; it goes on while each next frame of it (by time, then index) comes less than
    ``gap_s`` after the one before."""
    query = spec["query"]
    ordered = sorted(video.frames, key=lambda f: (f.t, f.index))
    if "object" in query:
        tracks = {obj.track for obj in frame.objects if obj.track is not None and object_holds(query["object"], obj)}
        runs = [[f for f in ordered if any(obj.track == track and object_holds(query["object"], obj)
                                           for obj in f.objects)] for track in tracks]
    else:
        runs = [[f for f in ordered if frame_holds(query, video, f)]] if frame_holds(query, video, frame) else []
    for frames in runs:
        start = frames[0]
        for previous, current in zip([None, *frames], frames, strict=False):
            if previous is not None and not current.t - previous.t < spec["gap_s"]:
                start = current
            if current is frame:
                if current.t - start.t >= spec["min_s"]:
                    return True
                break
    return False


Lead = tuple[float, int]  # (t, index) of the frame a clip reaches back to


def frame_lead(node: dict[str, Any], video: StoredVideo, frame: StoredFrame) -> Lead:
    """Where a matching frame's clip starts: the earliest (t, index) of the frame itself and of
    the leads of the sequences that hold on it, found through ``and``, ``or`` and a sequence's
    ``then`` (not through ``not``, ``dwell`` or a sequence's ``first``). A sequence's lead is the
    earliest lead of its ``first`` over the frames of its window where ``first`` holds."""
    lead = (frame.t, frame.index)
    (kind, body), = node.items()
    if kind in ("and", "or"):
        for child in body:
            lead = min(lead, frame_lead(child, video, frame))
    elif kind == "sequence":
        lead = min(lead, frame_lead(body["then"], video, frame))
        if sequence_holds(body, video, frame):
            for other in video.frames:
                if in_sequence_window(other.t, frame.t, body["within_s"]) and \
                        frame_holds(body["first"], video, other):
                    lead = min(lead, frame_lead(body["first"], video, other))
    return lead


# Clips and units ---------------------------------------------------------------------------------


FrameKey = tuple[int, int]  # (video_id, index)


@dataclass
class FrameSet:
    """Frames matching one tree, grouped into clips."""

    frames: list[tuple[StoredVideo, StoredFrame]]
    clips: list[Clip]
    clip_of: dict[FrameKey, int]  # frame -> position of its clip in ``clips``


def matching_frames(videos: Iterable[StoredVideo], node: dict[str, Any], gap_s: float) -> FrameSet:
    """The frames of ``videos`` where ``node`` holds, grouped into clips by the gap rule.

    Each matching frame covers its lead (:func:`frame_lead`) to itself; frames are taken by
    (lead, t, index), and a new clip starts when a lead comes more than the gap after the
    latest frame of the video taken so far. Without sequences every lead is its frame, and
    this is the plain rule: by (t, index), a new clip after a gap."""
    matching: list[tuple[StoredVideo, StoredFrame]] = []
    clips: list[Clip] = []
    clip_of: dict[FrameKey, int] = {}
    for video in videos:
        hits = [(frame_lead(node, video, f), f) for f in video.frames if frame_holds(node, video, f)]
        hits.sort(key=lambda hit: (hit[0], hit[1].t, hit[1].index))
        latest: StoredFrame | None = None
        for (lead_t, lead_index), frame in hits:
            if latest is None or lead_t - latest.t > clip_break_s(gap_s):
                clips.append(Clip(video.video_id, lead_t, 0.0, lead_index, frame.index, 0))
                latest = None
            clip = clips[-1]
            if latest is None or (frame.t, frame.index) > (latest.t, latest.index):
                latest = frame
                clip.end_s = frame.t + 1.0 / video.fps
                clip.end_frame = frame.index
            clip.frames += 1
            clip_of[(video.video_id, frame.index)] = len(clips) - 1
            matching.append((video, frame))
    return FrameSet(matching, clips, clip_of)


def unit_count(unit: str, frame_set: FrameSet, frames: list[tuple[StoredVideo, StoredFrame]],
               objects: list[tuple[int, StoredObject]]) -> int:
    """How many ``unit`` (objects, tracks, frames, clips or videos) some frames of ``frame_set``
    and their counted detections make."""
    if unit == "objects":
        return len(objects)
    if unit == "tracks":
        return len({(video_id, obj.track) for video_id, obj in objects if obj.track is not None})
    if unit == "frames":
        return len(frames)
    if unit == "clips":
        return len({frame_set.clip_of[(video.video_id, frame.index)] for video, frame in frames})
    return len({video.video_id for video, _ in frames})


def facet_object_spec(facet: Facet, value: Any) -> dict[str, Any]:
    """An object facet's value as the body of an ``object`` node."""
    if facet.kind == "label":
        return {"label": value, "attrs": {}}
    return {"label": facet.label, "attrs": {facet.attr: {"in": [value]}}}


def facet_hits(facet: Facet, value: Any, frame_set: FrameSet) -> tuple[list[tuple[StoredVideo, StoredFrame]],
                                                                       list[tuple[int, StoredObject]]]:
    """The frames and detections a facet value counts, before the unit is applied."""
    frames: list[tuple[StoredVideo, StoredFrame]] = []
    objects: list[tuple[int, StoredObject]] = []
    if facet.kind in OBJECT_KINDS:
        spec = facet_object_spec(facet, value)
        for video, frame in frame_set.frames:
            hits = [obj for obj in frame.objects if object_holds(spec, obj)]
            if hits:
                frames.append((video, frame))
                objects.extend((video.video_id, obj) for obj in hits)
        return frames, objects
    node = facet.node([value])
    for video, frame in frame_set.frames:
        if frame_holds(node, video, frame):
            frames.append((video, frame))
            objects.extend((video.video_id, obj) for obj in frame.objects)
    return frames, objects


def values_held(facets: list[Facet], video: StoredVideo, frame: StoredFrame,
                obj: StoredObject | None) -> set[Feature]:
    """The facet values a detection (``obj``) or a frame (``obj`` None) has."""
    features: set[Feature] = set()
    for facet in facets:
        for value in facet.values:
            if facet.kind in OBJECT_KINDS:
                spec = facet_object_spec(facet, value)
                held = object_holds(spec, obj) if obj is not None else any(
                    object_holds(spec, other) for other in frame.objects)
            else:
                held = frame_holds(facet.node([value]), video, frame)
            if held:
                features.add((facet.key, value))
    return features


def unit_values(scope: str, main: FrameSet, facets: list[Facet]) -> list[set[Feature]]:
    """For every unit of ``scope`` (detections, frames or clips of ``main``), the values it has."""
    if scope == "object":
        return [values_held(facets, video, frame, obj) for video, frame in main.frames for obj in frame.objects]
    per_frame = [values_held(facets, video, frame, None) for video, frame in main.frames]
    if scope == "frame":
        return per_frame
    per_clip: list[set[Feature]] = [set() for _ in main.clips]
    for (video, frame), features in zip(main.frames, per_frame, strict=True):
        per_clip[main.clip_of[(video.video_id, frame.index)]] |= features
    return per_clip


def sorted_frames(frame_set: FrameSet) -> list[tuple[StoredVideo, StoredFrame]]:
    """Matching frames by video id, then frame index."""
    return sorted(frame_set.frames, key=lambda pair: (pair[0].video_id, pair[1].index))


def label_json(obj: StoredObject) -> dict[str, Any]:
    """A detection as frame labels show it (:meth:`~indexer.search.contract.BaseSearchBackend.frame_labels`)."""
    return {"label": obj.label, "track": obj.track,
            "confidence": None if obj.confidence is None else float(obj.confidence),
            "box": plain_box(obj.box), "attrs": plain_attrs(obj.attrs)}
