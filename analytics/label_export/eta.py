"""ETA VideoLabels, one file per video, in the layout :mod:`indexer.formats.eta` reads.

- ``metadata``: frame_rate, total_frame_count, duration, frame_size, start_time (UTC,
  without a zone, as ETA writes it), size_bytes, mime_type and the GPS waypoints
  (``frame_number`` = t * fps + 1).
- ``attrs``: the video's attributes; ``frames``: keyed by the 1-based frame number, each
  with its attributes and its detections (``index`` = the track, boxes as relative corners).
- ``objects.objects[]``: one VideoObject per track with track attributes, which hold them
  (``constant`` once read back); ``events.events[]``: one VideoEvent per event span
  (``support.ranges``).
- The review state is left out: on import the reviews of the new video decide it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from analytics.label_export.source import Frame, Obj, VideoLabels
from indexer.formats.json_walk import DEFAULT_FPS
from indexer.ontology import REVIEW
from indexer.records import AttrValue

EXTENSION = "json"
CONTENT_TYPE = "application/json"
_CATEGORICAL, _NUMERIC, _BOOLEAN = (f"eta.core.data.{kind}Attribute" for kind in ("Categorical", "Numeric", "Boolean"))
_FRAMES_PER_CHUNK = 500


def attr_type(value: AttrValue) -> str:
    if isinstance(value, bool):
        return _BOOLEAN
    return _NUMERIC if isinstance(value, int | float) else _CATEGORICAL


def _attrs(values: dict[str, AttrValue], *, constant: bool = False) -> dict[str, Any]:
    items = []
    for name, value in values.items():
        if name == REVIEW:
            continue
        item = {"type": attr_type(value), "name": name, "value": value}
        if constant:
            item["constant"] = True
        items.append(item)
    return {"attrs": items}


def _metadata(video: VideoLabels) -> dict[str, Any]:
    meta = video.meta
    fps = meta.fps or DEFAULT_FPS
    metadata: dict[str, Any] = {"frame_rate": fps}
    if meta.frame_count is not None:
        metadata["total_frame_count"] = meta.frame_count
    if meta.duration_s is not None:
        metadata["duration"] = meta.duration_s
    if meta.width and meta.height:
        metadata["frame_size"] = [meta.width, meta.height]
    if meta.recorded_at is not None:
        metadata["start_time"] = meta.recorded_at.astimezone(UTC).replace(tzinfo=None).isoformat()
    if meta.size_bytes is not None:
        metadata["size_bytes"] = meta.size_bytes
    if meta.mime_type:
        metadata["mime_type"] = meta.mime_type
    if meta.gps:
        metadata["gps_waypoints"] = {"points": [
            {"latitude": point.lat, "longitude": point.lon, "frame_number": point.t * fps + 1}
            for point in meta.gps]}
    return metadata


def _object(obj: Obj) -> dict[str, Any]:
    item: dict[str, Any] = {"label": obj.label}
    if obj.track is not None:
        item["index"] = int(obj.track) if obj.track.isdigit() and str(int(obj.track)) == obj.track else obj.track
    if obj.confidence is not None:
        item["confidence"] = obj.confidence
    if obj.box is not None:
        x1, y1, x2, y2 = obj.box
        item["bounding_box"] = {"top_left": {"x": x1, "y": y1}, "bottom_right": {"x": x2, "y": y2}}
    item["attrs"] = _attrs(obj.attrs)
    return item


def _frame(frame: Frame) -> str:
    body = {"frame_number": frame.index + 1, "attrs": _attrs(frame.attrs),
            "objects": {"objects": [_object(obj) for obj in frame.objects]}}
    return f"{json.dumps(str(frame.index + 1))}: {json.dumps(body)}"


def write(video: VideoLabels) -> Iterator[str]:
    """The video's VideoLabels JSON, in chunks of a few hundred frames."""
    meta = video.meta
    head: dict[str, Any] = {"filename": meta.filename or video.name, "metadata": _metadata(video),
                            "attrs": _attrs(meta.attrs)}
    yield json.dumps(head)[:-1] + ', "frames": {'
    chunk: list[str] = []
    separator = ""
    for frame in video.frames():
        chunk.append(_frame(frame))
        if len(chunk) >= _FRAMES_PER_CHUNK:
            yield separator + ", ".join(chunk)
            separator, chunk = ", ", []
    if chunk:
        yield separator + ", ".join(chunk)
    tracks = [{"label": track.label, "index": _object(Obj(0, 0.0, "", track.track, None, None, {}))["index"],
               "attrs": _attrs(track.attrs, constant=True)}
              for track in video.tracks.values() if track.label and track.attrs]
    events = []
    for event in video.events:
        item: dict[str, Any] = {"label": event.label,
                                "support": {"ranges": [[event.start_index + 1, event.end_index + 1]]},
                                "attrs": _attrs(event.attrs)}
        if event.confidence is not None:
            item["confidence"] = event.confidence
        events.append(item)
    yield "}, " + json.dumps({"objects": {"objects": tracks}, "events": {"events": events}})[1:] + "\n"
