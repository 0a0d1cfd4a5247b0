"""Analyse one video: decode with OpenCV, detect in batches, track, classify
colours, embed crops with torch, and write ETA VideoLabels."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from scoop_worker.colors import object_color
from scoop_worker.detections import Detection
from scoop_worker.detectors import Detector, HogPeopleDetector, MotionDetector
from scoop_worker.embedding import default_device, embed_images
from scoop_worker.labels import DEFAULT_COLORS, video_labels
from scoop_worker.tracking import IouTracker

DEFAULT_FPS = 30.0


class VideoUnreadable(ValueError):
    """OpenCV could not open or decode the video."""


@dataclass
class AnalysisResult:
    """What :func:`video_analyse` found: the ETA ``labels``, and how fast it went."""

    labels: dict[str, Any]
    frames: int
    seconds: float
    detections: int
    tracks: int
    device: str
    counts_by_label: dict[str, int] = field(default_factory=dict)

    @property
    def frames_per_second(self) -> float:
        """Frames analysed per second of wall time (decode, detect, track, colour, embed)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "frames": self.frames, "seconds": round(self.seconds, 3),
            "frames_per_second": round(self.frames_per_second, 1), "detections": self.detections,
            "tracks": self.tracks, "device": self.device, "by_label": self.counts_by_label,
        }


def video_analyse(path: str | Path, *, detectors: Sequence[Detector] | None = None,
                  device: str | torch.device | None = None, batch: int = 16, embed: bool = True,
                  colors: dict[str, Sequence[str]] | None = None, labels: set[str] | None = None,
                  name: str | None = None, cpu_threads: int | None = 1,
                  progress: Callable[[int, int | None], None] | None = None) -> AnalysisResult:
    """Run ``detectors`` (default: :func:`default_detectors`) over every frame
    of the video at ``path`` and return its ETA VideoLabels.

    ``colors`` says which labels get a ``color`` attribute and its allowed
    values (default: vehicles, the demo ontology's colours); ``labels``, when
    given, keeps only detections of those labels (the ontology's); crops are
    embedded in batches on ``device`` (CUDA when available). On the CPU,
    torch runs with ``cpu_threads`` threads meanwhile (None: torch's default):
    the per-batch tensors are small, and one thread measured 5-10x faster than
    two on a busy 2-core machine, where torch's threads fight OpenCV's.
    ``progress`` is called after each batch with the frames read so far and the
    frame count the file states (None when it states none).
    """
    target = torch.device(device) if device is not None else default_device()
    detectors = list(detectors) if detectors is not None else default_detectors()
    colors = DEFAULT_COLORS if colors is None else colors
    tracker = IouTracker()
    found: dict[int, list[Detection]] = {}
    started = time.perf_counter()
    with _capture(path) as capture, _torch_threads(cpu_threads if target.type == "cpu" else None):
        fps = capture.get(cv2.CAP_PROP_FPS)
        fps = fps if math.isfinite(fps) and fps > 0 else DEFAULT_FPS
        stated = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        width, height, index = 0, 0, 0
        for frames in _batches(capture, batch):
            height, width = frames[0].shape[:2]
            per_frame = _detect(detectors, frames, labels)
            for offset, (frame, detections) in enumerate(zip(frames, per_frame, strict=True)):
                tracker.update(detections)
                _add_colors(frame, detections, colors)
                found[index + offset] = detections
            if embed:
                _add_embeddings(frames, per_frame, target)
            index += len(frames)
            if progress is not None:
                progress(index, stated if stated > 0 else None)
    seconds = time.perf_counter() - started
    if index == 0:
        raise VideoUnreadable(f"OpenCV decoded no frame of {path}")
    detections = [d for frame in found.values() for d in frame]
    return AnalysisResult(
        labels=video_labels(found, name=name or Path(path).name, fps=fps, width=width, height=height,
                            frame_count=index),
        frames=index, seconds=seconds, detections=len(detections),
        tracks=len({d.track for d in detections if d.track is not None}), device=str(target),
        counts_by_label=dict(Counter(d.label for d in detections)),
    )


def default_detectors() -> list[Detector]:
    """The built-in detectors: HOG people, and moving objects by background
    subtraction (a moving blob inside a HOG person is that person)."""
    return [MotionDetector(people=HogPeopleDetector())]


@contextmanager
def _capture(path: str | Path) -> Iterator[cv2.VideoCapture]:
    if not Path(path).is_file():
        raise VideoUnreadable(f"no video file at {path}")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoUnreadable(f"OpenCV cannot open {path}")
        yield capture
    finally:
        capture.release()


@contextmanager
def _torch_threads(count: int | None) -> Iterator[None]:
    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _batches(capture: cv2.VideoCapture, size: int) -> Iterator[list[np.ndarray]]:
    frames: list[np.ndarray] = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
        if len(frames) == size:
            yield frames
            frames = []
    if frames:
        yield frames


def _detect(detectors: Sequence[Detector], frames: list[np.ndarray], labels: set[str] | None) -> list[list[Detection]]:
    height, width = frames[0].shape[:2]
    per_frame: list[list[Detection]] = [[] for _ in frames]
    for detector in detectors:
        for kept, detections in zip(per_frame, detector.detect(frames), strict=True):
            for detection in detections:
                if labels is not None and detection.label not in labels:
                    continue
                if detection.clipped(width, height) is not None:
                    kept.append(detection)
    return per_frame


def _add_colors(frame: np.ndarray, detections: list[Detection], colors: dict[str, Sequence[str]]) -> None:
    for detection in detections:
        allowed = colors.get(detection.label)
        if allowed:
            color = object_color(detection.crop(frame), allowed)
            if color is not None:
                detection.attrs["color"] = color


def _add_embeddings(frames: list[np.ndarray], per_frame: list[list[Detection]], device: torch.device) -> None:
    """Embed every crop of the batch in one torch call."""
    pairs = [(frame, d) for frame, detections in zip(frames, per_frame, strict=True) for d in detections]
    if not pairs:
        return
    vectors = embed_images([d.crop(frame) for frame, d in pairs], device=device)
    for (_, detection), vector in zip(pairs, vectors, strict=True):
        detection.embedding = vector
