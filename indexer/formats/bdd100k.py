"""BDD100K / Scalabel labels (samples: fixtures/formats/).

A list of frames, or ``{"frames": [...], "config": {...}}``. A frame's
``frameIndex`` is 0-based (its position in the list when absent) and
t = index / fps, fps being ``options["fps"]`` or 5 (BDD100K tracking data is
labelled at 5 fps). Frame ``attributes`` (weather, scene, timeofday) become
frame attributes; each label becomes a detection: ``category`` -> label,
``id`` -> track, ``box2d`` in pixels -> relative box, ``score`` ->
confidence, ``attributes`` -> object attributes (null values dropped).

Options: ``fps``; ``image_size`` ([width, height], else the config's
``imageSize``, else 1280x720); ``info_path`` or ``info`` (the per-video info
JSON, a path or an already loaded dict) for GPS and the recording time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from indexer.formats.json_walk import (
    BUILD,
    DESCEND,
    SKIP,
    FormatError,
    attr_value,
    child_path,
    frame_rate,
    integer,
    number,
    optional_number,
    root_kind,
    track_id,
    walk,
)
from indexer.records import Analytics, AttrValue, FrameRecord, ObjectRecord, Record, VideoMeta, Waypoint

FORMAT = "bdd100k"
DEFAULT_FPS = 5.0
DEFAULT_IMAGE_SIZE = (1280, 720)


def read(path: str | Path, *, options: dict | None = None) -> Analytics:
    """Read a BDD100K / Scalabel label file (see the module docstring for options)."""
    options = options or {}
    file_path = Path(path)
    kind = root_kind(file_path)
    if kind == "scalar":
        raise FormatError("a BDD100K payload is a list of frames or an object with 'frames'")
    frames_key = "frames" if kind == "object" else None
    config, video_name = _survey(file_path, frames_key)
    width, height = _image_size(options, config)
    fps = DEFAULT_FPS if options.get("fps") is None else frame_rate(options["fps"], "options.fps")
    meta = VideoMeta(fps=fps, width=width, height=height, filename=video_name)
    _apply_info(meta, options)
    return Analytics(
        format=FORMAT,
        meta=meta,
        records=lambda: _records(file_path, frames_key, fps, width, height),
    )


def _survey(file_path: Path, frames_key: str | None) -> tuple[dict, str | None]:
    """The Scalabel config and the first frame's videoName, wherever they sit.

    Reading the whole file here also means a malformed file fails at once.
    """
    config: dict = {}
    video_name = None
    for path, value in walk(file_path, lambda p: _survey_decide(p, frames_key)):
        if path[0] == "config":
            config = value if isinstance(value, dict) else {}
        elif video_name is None and isinstance(value, str):
            video_name = value
    return config, video_name


def _survey_decide(path: Sequence[Any], frames_key: str | None) -> int:
    frame_depth = 1 if frames_key is None else 2
    if frames_key is not None and len(path) == 1:
        return BUILD if path[0] == "config" else DESCEND if path[0] == frames_key else SKIP
    if len(path) == frame_depth:
        return DESCEND
    return BUILD if len(path) == frame_depth + 1 and path[-1] == "videoName" else SKIP


def _image_size(options: dict, config: dict) -> tuple[int, int]:
    if options.get("image_size"):
        width, height = options["image_size"]
        return int(width), int(height)
    size = config.get("imageSize")
    if isinstance(size, dict) and "width" in size and "height" in size:
        return (
            integer(size["width"], "config.imageSize.width", "image width"),
            integer(size["height"], "config.imageSize.height", "image height"),
        )
    return DEFAULT_IMAGE_SIZE


# ---- companion info JSON: GPS and recording time ----------------------------------------


def _apply_info(meta: VideoMeta, options: dict) -> None:
    """Fill GPS and recorded_at from options["info"] (dict) or options["info_path"]."""
    info = options.get("info")
    if info is None and options.get("info_path"):
        info = _load_info(Path(options["info_path"]))
    if not info:
        return
    if not isinstance(info, dict):
        raise FormatError("the info JSON must be an object")
    key = "locations" if info.get("locations") else "gps"
    points = info.get(key) or []
    if not isinstance(points, list):
        raise FormatError(f"{key} must be a list", path=f"info.{key}")
    timestamps = [point["timestamp"] for point in points if isinstance(point, dict) and "timestamp" in point]
    # Without startTime the first fix is the best guess of when the video starts.
    start = info.get("startTime", min(timestamps, default=None))
    if start is None:
        return
    start_ms = number(start, "info.startTime", "startTime")
    meta.recorded_at = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    meta.gps = sorted(_waypoints(points, key, start_ms), key=lambda waypoint: waypoint.t)


def _load_info(info_path: Path) -> dict:
    """The parts of an info JSON that matter, streamed: the IMU lists can be long."""
    info: dict[str, Any] = {}
    for path, value in walk(info_path, _info_decide):
        if len(path) == 1:
            info[path[0]] = value
        else:
            info.setdefault(path[0], []).append(value)
    return info


def _info_decide(path: Sequence[Any]) -> int:
    if len(path) == 1:
        return BUILD if path[0] == "startTime" else DESCEND if path[0] in ("locations", "gps") else SKIP
    return BUILD if len(path) == 2 else SKIP


def _waypoints(points: list, key: str, start_ms: float) -> Iterator[Waypoint]:
    for position, point in enumerate(points):
        point_path = f"info.{key}[{position}]"
        if not isinstance(point, dict) or not {"timestamp", "latitude", "longitude"} <= point.keys():
            continue
        yield Waypoint(
            t=(number(point["timestamp"], f"{point_path}.timestamp", "timestamp") - start_ms) / 1000,
            lat=number(point["latitude"], f"{point_path}.latitude", "latitude"),
            lon=number(point["longitude"], f"{point_path}.longitude", "longitude"),
        )


# ---- records ------------------------------------------------------------------------------


def _records(file_path: Path, frames_key: str | None, fps: float, width: int, height: int) -> Iterator[Record]:
    def decide(path: Sequence[Any]) -> int:
        if frames_key is None:
            return BUILD
        if len(path) == 1:
            return DESCEND if path[0] == frames_key else SKIP
        return BUILD

    for path, frame in walk(file_path, decide):
        yield from _frame_records(frame, path[-1], child_path(frames_key or "", path[-1]), fps, width, height)


def _frame_records(frame: Any, position: int, path: str, fps: float, width: int, height: int) -> Iterator[Record]:
    if not isinstance(frame, dict):
        raise FormatError("a frame must be a JSON object", path=path)
    index = (
        position
        if frame.get("frameIndex") is None
        else integer(frame["frameIndex"], child_path(path, "frameIndex"), "frameIndex")
    )
    t = index / fps
    attrs, attr_paths = _attributes(frame.get("attributes"), child_path(path, "attributes"))
    yield FrameRecord(index=index, t=t, attrs=attrs, path=path, attr_paths=attr_paths)
    labels = frame.get("labels") or []
    if not isinstance(labels, list):
        raise FormatError("labels must be a list", path=child_path(path, "labels"))
    for label_position, label in enumerate(labels):
        label_path = f"{child_path(path, 'labels')}[{label_position}]"
        yield _object_record(label, label_path, index, t, width, height)


def _object_record(label: Any, path: str, index: int, t: float, width: int, height: int) -> ObjectRecord:
    if not isinstance(label, dict):
        raise FormatError("a label must be a JSON object", path=path)
    category = label.get("category")
    if not isinstance(category, str) or not category:
        raise FormatError("the label has no category", path=path)
    attrs, attr_paths = _attributes(label.get("attributes"), child_path(path, "attributes"))
    return ObjectRecord(
        index=index,
        t=t,
        label=category,
        track=track_id(label.get("id")),
        confidence=optional_number(label.get("score"), child_path(path, "score"), "score"),
        box=_box(label.get("box2d"), child_path(path, "box2d"), width, height),
        attrs=attrs,
        path=path,
        attr_paths=attr_paths,
    )


def _attributes(raw: Any, path: str) -> tuple[dict[str, AttrValue], dict[str, str]]:
    """Typed attributes; nulls and nested values (no AttrValue for them) are dropped."""
    if raw is None:
        return {}, {}
    if not isinstance(raw, dict):
        raise FormatError("attributes must be a JSON object", path=path)
    values: dict[str, AttrValue] = {}
    paths: dict[str, str] = {}
    for name, raw_value in raw.items():
        value = attr_value(raw_value)
        if value is not None:
            values[name] = value
            paths[name] = child_path(path, name)
    return values, paths


def _box(raw: Any, path: str, width: int, height: int) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not {"x1", "y1", "x2", "y2"} <= raw.keys():
        raise FormatError("box2d needs x1, y1, x2 and y2", path=path)
    return (
        number(raw["x1"], child_path(path, "x1"), "x1") / width,
        number(raw["y1"], child_path(path, "y1"), "y1") / height,
        number(raw["x2"], child_path(path, "x2"), "x2") / width,
        number(raw["y2"], child_path(path, "y2"), "y2") / height,
    )
