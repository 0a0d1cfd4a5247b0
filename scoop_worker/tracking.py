"""Tracks across frames: greedy IoU matching per label.

Each frame's detections are matched to the live tracks of the same label,
best IoU first (greedy; for the handful of objects in a frame it gives the
Hungarian answer in all but contrived overlaps); a detection left over starts
a track, a track unmatched for more than ``max_missed`` frames ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoop_worker.detections import Box, Detection


def iou_matrix(boxes_a: list[Box], boxes_b: list[Box]) -> np.ndarray:
    """IoU of every box in ``boxes_a`` with every box in ``boxes_b`` (``len(a) x len(b)``)."""
    if not boxes_a or not boxes_b:
        return np.zeros((len(boxes_a), len(boxes_b)))
    a, b = np.asarray(boxes_a, dtype=float)[:, None, :], np.asarray(boxes_b, dtype=float)[None, :, :]
    width = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    height = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    overlap = width * height
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - overlap
    return np.where(union > 0, overlap / np.where(union > 0, union, 1), 0.0)


@dataclass
class _Track:
    ident: int
    label: str
    box: Box
    missed: int = 0


class IouTracker:
    """Give every detection a track id (1, 2, ...), frame after frame."""

    def __init__(self, *, min_iou: float = 0.3, max_missed: int = 5) -> None:
        self.min_iou = min_iou
        self.max_missed = max_missed
        self.tracks: list[_Track] = []
        self.next_id = 1

    def update(self, detections: list[Detection]) -> list[Detection]:
        """Set ``track`` on this frame's detections and return them."""
        matched: set[int] = set()
        # In order of first appearance, so that new track ids are numbered the same on every run.
        for label in dict.fromkeys(detection.label for detection in detections):
            found = [d for d in detections if d.label == label]
            live = [t for t in self.tracks if t.label == label]
            overlaps = iou_matrix([d.box for d in found], [t.box for t in live])
            pairs = sorted(np.argwhere(overlaps >= self.min_iou).tolist(), key=lambda ij: -overlaps[ij[0], ij[1]])
            used_detections: set[int] = set()
            for i, j in pairs:
                if i in used_detections or live[j].ident in matched:
                    continue
                used_detections.add(i)
                matched.add(live[j].ident)
                found[i].track, live[j].box, live[j].missed = live[j].ident, found[i].box, 0
            for i, detection in enumerate(found):
                if i not in used_detections:
                    detection.track = self._start(detection)
                    matched.add(detection.track)
        for track in self.tracks:
            if track.ident not in matched:
                track.missed += 1
        self.tracks = [track for track in self.tracks if track.missed <= self.max_missed]
        return detections

    def _start(self, detection: Detection) -> int:
        track = _Track(self.next_id, detection.label, detection.box)
        self.next_id += 1
        self.tracks.append(track)
        return track.ident
