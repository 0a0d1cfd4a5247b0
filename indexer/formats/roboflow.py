"""Roboflow hosted video inference output (samples: fixtures/formats/).

Parallel lists of equal length: ``frame_offsets`` (0-based frame indices),
``time_offsets`` (seconds) and one list per model key, whose entries are
``{"image": {"width", "height"}, "predictions": [...]}`` or ``null`` for a
frame that model did not infer. A prediction's ``x, y`` is the box centre in
pixels. Every inferred entry gives a FrameRecord (so that a frame with no
predictions still exists: "nothing found here" is searchable) and one
ObjectRecord per prediction.

The lists are read side by side from separate passes over the file, so
neither is ever held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

from indexer.formats.json_walk import (
    BUILD,
    DEFAULT_FPS,
    DESCEND,
    END,
    ENTER,
    SKIP,
    FormatError,
    child_path,
    frame_rate,
    integer,
    number,
    optional_number,
    require_object,
    track_id,
    walk,
)
from indexer.records import Analytics, FrameRecord, ObjectRecord, Record, VideoMeta

FORMAT = "roboflow"
OFFSET_KEYS = ("frame_offsets", "time_offsets")


def read(path: str | Path, *, options: dict | None = None) -> Analytics:
    """Read a Roboflow video inference file.

    fps is derived from the offsets (frames advanced / seconds elapsed); when
    they cannot tell, ``options["fps"]`` is used, else 30 with a warning.
    """
    file_path = Path(path)
    require_object(file_path, "Roboflow video inference")
    survey = _survey(file_path)
    warnings: list[str] = []
    meta = VideoMeta(fps=_fps(survey, options or {}, warnings), width=survey.width, height=survey.height)
    return Analytics(format=FORMAT, meta=meta, records=lambda: _records(file_path, survey, meta), warnings=warnings)


@dataclass
class _Survey:
    """What the first pass learns: the length of every top-level list, the
    first and last value of each offset list, the first image size."""

    lengths: dict[str, int] = field(default_factory=dict)
    first_last: dict[str, tuple[float, float]] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None

    def has(self, key: str) -> bool:
        return self.lengths.get(key, 0) > 0

    @property
    def models(self) -> list[str]:
        return [key for key in self.lengths if key not in OFFSET_KEYS]


def _survey(file_path: Path) -> _Survey:
    survey = _Survey()
    for path, value in walk(file_path, _survey_decide):
        key = path[0]
        if len(path) == 3:
            if survey.width is None:
                _image_size(survey, value, child_path(child_path(key, path[1]), "image"))
            continue
        if value is END:
            continue
        survey.lengths[key] = survey.lengths.get(key, 0) + 1
        if key in OFFSET_KEYS:
            offset = number(value, child_path(key, path[1]), "an offset")
            # Only the first and the last offset matter for the frame rate.
            survey.first_last[key] = (survey.first_last.get(key, (offset,))[0], offset)
    _check_lengths(survey)
    return survey


def _survey_decide(path: Sequence[Any]) -> int:
    depth = len(path)
    if depth == 1:
        return DESCEND
    if depth == 2:
        # Lists only: a model stream is a list, other top-level values are not streams.
        if not isinstance(path[1], int):
            return SKIP
        return BUILD if path[0] in OFFSET_KEYS else ENTER
    return BUILD if depth == 3 and path[2] == "image" else SKIP


def _image_size(survey: _Survey, image: Any, path: str) -> None:
    if isinstance(image, dict) and "width" in image and "height" in image:
        survey.width = integer(image["width"], child_path(path, "width"), "image width")
        survey.height = integer(image["height"], child_path(path, "height"), "image height")


def _check_lengths(survey: _Survey) -> None:
    if not survey.has("frame_offsets") and not survey.has("time_offsets"):
        raise FormatError("a Roboflow payload needs frame_offsets or time_offsets")
    if len(set(survey.lengths.values())) > 1:
        listed = ", ".join(f"{key} has {length}" for key, length in survey.lengths.items())
        raise FormatError(f"the parallel lists differ in length: {listed}")


def _fps(survey: _Survey, options: dict, warnings: list[str]) -> float:
    frames, times = survey.first_last.get("frame_offsets"), survey.first_last.get("time_offsets")
    if frames and times and times[1] > times[0] and frames[1] > frames[0]:
        return frame_rate((frames[1] - frames[0]) / (times[1] - times[0]), "time_offsets")
    if options.get("fps") is not None:
        return frame_rate(options["fps"], "options.fps")
    warnings.append(f"the offsets do not give a frame rate: assumed {DEFAULT_FPS:g} fps")
    return DEFAULT_FPS


def _records(file_path: Path, survey: _Survey, meta: VideoMeta) -> Iterator[Record]:
    for model in survey.models:
        frame_offsets = _list_items(file_path, "frame_offsets") if survey.has("frame_offsets") else iter(())
        time_offsets = _list_items(file_path, "time_offsets") if survey.has("time_offsets") else iter(())
        entries = _list_items(file_path, model)
        for position, (frame_offset, time_offset, entry) in enumerate(
            zip_longest(frame_offsets, time_offsets, entries)
        ):
            if entry is None:
                continue  # that model did not infer this frame
            index, t = _frame_position(frame_offset, time_offset, meta.fps, position)
            yield from _entry_records(entry, child_path(model, position), index, t, meta)


def _list_items(file_path: Path, key: str) -> Iterator[Any]:
    def decide(path: Sequence[Any]) -> int:
        if len(path) == 1:
            return DESCEND if path[0] == key else SKIP
        return BUILD

    return (value for _path, value in walk(file_path, decide))


def _frame_position(frame_offset: Any, time_offset: Any, fps: float, position: int) -> tuple[int, float]:
    """(0-based index, t): each offset list fills in for the other when absent."""
    t = optional_number(time_offset, f"time_offsets[{position}]", "a time offset")
    if frame_offset is not None:
        index = integer(frame_offset, f"frame_offsets[{position}]", "a frame offset")
        return index, t if t is not None else index / fps
    return round(t * fps), t


def _entry_records(entry: Any, path: str, index: int, t: float, meta: VideoMeta) -> Iterator[Record]:
    if not isinstance(entry, dict):
        raise FormatError("an inference entry must be a JSON object or null", path=path)
    width, height = _entry_size(entry, path, meta)
    yield FrameRecord(index=index, t=t, path=path)
    predictions = entry.get("predictions") or []
    if not isinstance(predictions, list):
        raise FormatError("predictions must be a list", path=child_path(path, "predictions"))
    for position, prediction in enumerate(predictions):
        prediction_path = f"{child_path(path, 'predictions')}[{position}]"
        yield _object_record(prediction, prediction_path, index, t, width, height)


def _entry_size(entry: dict, path: str, meta: VideoMeta) -> tuple[int, int]:
    image = entry.get("image")
    if isinstance(image, dict) and "width" in image and "height" in image:
        image_path = child_path(path, "image")
        return (
            integer(image["width"], child_path(image_path, "width"), "image width"),
            integer(image["height"], child_path(image_path, "height"), "image height"),
        )
    if meta.width and meta.height:
        return meta.width, meta.height
    raise FormatError("no image width and height to make the boxes relative", path=path)


def _object_record(prediction: Any, path: str, index: int, t: float, width: int, height: int) -> ObjectRecord:
    if not isinstance(prediction, dict):
        raise FormatError("a prediction must be a JSON object", path=path)
    label = prediction.get("class")
    if not isinstance(label, str) or not label:
        raise FormatError("the prediction has no class", path=path)
    centre_x = number(prediction.get("x"), child_path(path, "x"), "x")
    centre_y = number(prediction.get("y"), child_path(path, "y"), "y")
    half_width = number(prediction.get("width"), child_path(path, "width"), "width") / 2
    half_height = number(prediction.get("height"), child_path(path, "height"), "height") / 2
    return ObjectRecord(
        index=index,
        t=t,
        label=label,
        track=track_id(prediction.get("tracker_id")),
        confidence=optional_number(prediction.get("confidence"), child_path(path, "confidence"), "confidence"),
        box=(
            (centre_x - half_width) / width,
            (centre_y - half_height) / height,
            (centre_x + half_width) / width,
            (centre_y + half_height) / height,
        ),
        path=path,
    )
