"""Detectors the reference worker runs: all batched, none needing a download.

- :class:`HogPeopleDetector`: OpenCV's built-in HOG + linear SVM people
  detector (Dalal & Triggs; ``cv2.HOGDescriptor_getDefaultPeopleDetector``,
  shipped inside opencv-python, nothing to download) gives ``person``
  boxes, standing or moving, of people about 100 px tall or more.
- :class:`MotionDetector`: OpenCV's MOG2 background subtraction finds moving
  blobs. Given a ``people`` detector, a blob lying mostly inside one of its
  person boxes is that person (reported once, by the people detector); any
  other blob is labelled by its shape: upright (taller than ``person_aspect``
  x its width) ``person``, for people too small for HOG, else ``vehicle``.
- :class:`TorchScriptDetector`: the user's own detector, saved with
  ``torch.jit.save``; see its docstring for the input/output contract.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch

from scoop_worker.detections import Box, Detection
from scoop_worker.embedding import default_device
from scoop_worker.tracking import iou_matrix


class Detector(Protocol):
    """Anything that turns a batch of BGR frames (in video order) into detections per frame."""

    name: str
    labels: tuple[str, ...]

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]: ...


class HogPeopleDetector:
    """People by OpenCV's built-in HOG descriptor and linear SVM (stateless).

    Each frame (first shrunk to ``max_width`` pixels wide when wider, for
    speed; None: never) is scanned with ``detectMultiScale``: a 64x128 window
    moved ``win_stride`` pixels at a time over an image pyramid whose levels
    differ by ``scale``, so the smallest person found is about 96 px tall at
    the scanned size (the window's person) and the largest fills the frame.
    OpenCV groups overlapping windows; windows whose SVM margin is below
    ``min_margin`` are dropped, then non-maximum suppression keeps the best of
    any boxes overlapping at IoU above ``nms_iou``.

    ``score`` is ``1 - exp(-margin)``: 0 on the SVM's decision boundary, 0.63
    at margin 1, 0.86 at 2, 0.95 at 3. It orders detections, it is not a
    calibrated probability. The window has a margin of background around the
    person, so boxes are shrunk as OpenCV's ``peopledetect`` sample does (10%
    off each side, 7% off the top and 13% off the bottom).
    """

    name = "hog"
    labels = ("person",)

    def __init__(self, *, win_stride: int = 8, padding: int = 8, scale: float = 1.05, min_margin: float = 0.0,
                 nms_iou: float = 0.4, max_width: int | None = 640) -> None:
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.win_stride = (win_stride, win_stride)
        self.padding = (padding, padding)
        self.scale = scale
        self.min_margin = min_margin
        self.nms_iou = nms_iou
        self.max_width = max_width

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        return [self._detect_one(frame) for frame in frames]

    def _detect_one(self, frame: np.ndarray) -> list[Detection]:
        shrink = 1.0
        if self.max_width is not None and frame.shape[1] > self.max_width:
            shrink = self.max_width / frame.shape[1]
            frame = cv2.resize(frame, (self.max_width, max(1, round(frame.shape[0] * shrink))),
                               interpolation=cv2.INTER_AREA)
        rects, margins = self.hog.detectMultiScale(frame, hitThreshold=self.min_margin, winStride=self.win_stride,
                                                   padding=self.padding, scale=self.scale)
        if len(rects) == 0:
            return []
        margins = np.ravel(margins).astype(float)
        boxes = [(x / shrink, y / shrink, (x + w) / shrink, (y + h) / shrink) for x, y, w, h in rects.tolist()]
        found = []
        for i in non_max_suppression(boxes, margins, self.nms_iou):
            x, y = boxes[i][:2]
            w, h = boxes[i][2] - x, boxes[i][3] - y
            found.append(Detection(label="person", box=(x + 0.1 * w, y + 0.07 * h, x + 0.9 * w, y + 0.87 * h),
                                   score=round(1.0 - math.exp(-max(0.0, margins[i])), 3), source=self.name))
        return found


class MotionDetector:
    """Moving objects by background subtraction (stateful: feed frames in order).

    With ``people`` (e.g. a :class:`HogPeopleDetector`), its person boxes are
    reported too, and a moving blob lying mostly (``claim`` of its area) inside
    one of them is that person, not a second object. Every other blob is a
    ``person`` when upright (height >= ``person_aspect`` x width), else a
    ``vehicle``.
    """

    name = "motion"
    labels = ("person", "vehicle")

    def __init__(self, *, people: Detector | None = None, min_area_ratio: float = 0.002, person_aspect: float = 1.6,
                 warmup_frames: int = 2, var_threshold: float = 40.0, claim: float = 0.5) -> None:
        self.people = people
        self.min_area_ratio = min_area_ratio
        self.person_aspect = person_aspect
        self.warmup_frames = warmup_frames
        self.claim = claim
        self.subtractor = cv2.createBackgroundSubtractorMOG2(history=200, varThreshold=var_threshold,
                                                             detectShadows=False)
        self.kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        self.seen = 0

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        people = self.people.detect(frames) if self.people is not None else [[] for _ in frames]
        return [found + self._moving(frame, found) for frame, found in zip(frames, people, strict=True)]

    def _moving(self, frame: np.ndarray, people: list[Detection]) -> list[Detection]:
        mask = self.subtractor.apply(frame)
        self.seen += 1
        # The model has seen too little to tell background from foreground yet.
        if self.seen <= self.warmup_frames:
            return []
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self.kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self.kernel, iterations=2)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        min_area = self.min_area_ratio * frame.shape[0] * frame.shape[1]
        found = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            box = (x, y, x + w, y + h)
            if w * h < min_area or any(_inside(box, person.box) >= self.claim for person in people):
                continue
            fill = float(cv2.countNonZero(mask[y:y + h, x:x + w])) / (w * h)
            label = "person" if h >= self.person_aspect * w else "vehicle"
            found.append(Detection(label=label, box=box, score=round(min(1.0, 0.5 + fill / 2), 3),
                                   source=self.name))
        return found


def non_max_suppression(boxes: list[Box], scores: np.ndarray, max_iou: float) -> list[int]:
    """Indices of the boxes to keep, best score first: each box overlapping a
    better kept one at IoU above ``max_iou`` is dropped."""
    overlaps = iou_matrix(boxes, boxes)
    kept: list[int] = []
    for i in np.argsort(-np.asarray(scores), kind="stable").tolist():
        if all(overlaps[i, j] <= max_iou for j in kept):
            kept.append(i)
    return kept


def _inside(box: Box, other: Box) -> float:
    """The share of ``box``'s area that lies inside ``other``."""
    width = max(0.0, min(box[2], other[2]) - max(box[0], other[0]))
    height = max(0.0, min(box[3], other[3]) - max(box[1], other[1]))
    area = (box[2] - box[0]) * (box[3] - box[1])
    return width * height / area if area > 0 else 0.0


class TorchScriptDetector:
    """A user's TorchScript detector (``torch.jit.load``), run on batches of frames.

    Contract of the scripted module's ``forward``:

    - input: one float32 tensor ``B x 3 x H x W``, RGB, values 0..1, on the
      worker's device (all frames of a video have the same size);
    - output: a list (or tuple) of ``B`` tensors, one per image, each ``N x 6``
      rows ``[x1, y1, x2, y2, score, class]`` with the box in pixels of the
      input image and ``class`` a 0-based index into ``labels`` (the CLI's
      ``--detector-labels a,b``); a ``B x N x 6`` tensor is accepted too.

    Rows scoring below ``min_score`` are dropped; a class index outside
    ``labels`` raises ValueError.
    """

    def __init__(self, path: str | Path, labels: Sequence[str], *, device: str | torch.device | None = None,
                 min_score: float = 0.3, name: str | None = None) -> None:
        if not labels:
            raise ValueError("a TorchScript detector needs its class names (--detector-labels a,b,...)")
        self.device = torch.device(device) if device is not None else default_device()
        with warnings.catch_warnings():
            # torch 2.13 deprecates TorchScript for torch.export, but scripted detectors are what users have.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="torch")
            self.module = torch.jit.load(str(path), map_location=self.device).eval()
        self.labels = tuple(labels)
        self.min_score = min_score
        self.name = name or Path(path).stem

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        rgb = np.stack([cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) for frame in frames])
        batch = torch.from_numpy(rgb).to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        with torch.no_grad():
            output = self.module(batch)
        per_image = list(output.unbind(0)) if isinstance(output, torch.Tensor) else list(output)
        if len(per_image) != len(frames):
            raise ValueError(f"the detector answered {len(per_image)} results for a batch of {len(frames)} images")
        return [self._detections(rows) for rows in per_image]

    def _detections(self, rows: torch.Tensor) -> list[Detection]:
        rows = rows.detach().float().cpu().reshape(-1, 6).numpy()
        found = []
        for x1, y1, x2, y2, score, cls in rows:
            if score < self.min_score:
                continue
            index = int(cls)
            if not 0 <= index < len(self.labels):
                raise ValueError(f"the detector gave class {index}, but only {len(self.labels)} labels are known "
                                 f"({', '.join(self.labels)})")
            found.append(Detection(label=self.labels[index], box=(float(x1), float(y1), float(x2), float(y2)),
                                   score=float(min(1.0, score)), source=self.name))
        return found
