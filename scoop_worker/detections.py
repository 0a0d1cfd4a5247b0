"""What detectors produce and the tracker, colour classifier and embedder fill in."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels


@dataclass
class Detection:
    """One object in one frame: ``box`` in pixels, ``score`` in 0..1; ``track``,
    ``attrs`` (name -> (value, confidence)) and ``embedding`` are filled in later."""

    label: str
    box: Box
    score: float
    source: str
    track: int | None = None
    attrs: dict[str, tuple[str, float]] = field(default_factory=dict)
    embedding: np.ndarray | None = None

    def clipped(self, width: int, height: int) -> Detection | None:
        """This detection with its box inside the frame, or None when nothing of it is left."""
        x1, y1, x2, y2 = self.box
        x1, x2 = max(0.0, min(x1, width)), max(0.0, min(x2, width))
        y1, y2 = max(0.0, min(y1, height)), max(0.0, min(y2, height))
        if x2 - x1 < 1 or y2 - y1 < 1:
            return None
        self.box = (x1, y1, x2, y2)
        return self

    def crop(self, frame: np.ndarray) -> np.ndarray:
        x1, y1, x2, y2 = (int(round(v)) for v in self.box)
        return frame[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)]
