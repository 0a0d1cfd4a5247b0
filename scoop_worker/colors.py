"""The colour of an object from its crop: HSV votes of the crop's central pixels.

The names are the demo ontology's vehicle colours; :func:`object_color` maps
the winner onto whatever values the ontology in use allows.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

PALETTE = ("black", "white", "silver", "gray", "red", "yellow", "green", "blue")
# OpenCV hue runs 0..179. Orange counts as red and purple as blue: the palette has neither.
HUE_NAMES = ((10, "red"), (20, "red"), (35, "yellow"), (85, "green"), (130, "blue"), (160, "blue"), (180, "red"))
DARK, GREYISH, WHITE, SILVER = 50, 60, 200, 140
CENTRE = 0.2  # the border share cut from each side: the box edges are mostly background


def color_votes(crop: np.ndarray) -> dict[str, float]:
    """The share of the crop's central pixels that look like each palette colour."""
    h, w = crop.shape[:2]
    dy, dx = int(h * CENTRE), int(w * CENTRE)
    centre = crop[dy:h - dy or h, dx:w - dx or w]
    hsv = cv2.cvtColor(centre, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.int32)
    if len(hsv) == 0:
        return {}
    hue, sat, val = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    names = np.empty(len(hsv), dtype=object)
    greyish = sat < GREYISH
    names[greyish] = np.where(val[greyish] >= WHITE, "white", np.where(val[greyish] >= SILVER, "silver", "gray"))
    bounds = np.array([bound for bound, _ in HUE_NAMES])
    hue_names = np.array([name for _, name in HUE_NAMES], dtype=object)
    names[~greyish] = hue_names[np.searchsorted(bounds, hue[~greyish], side="right")]
    names[val < DARK] = "black"
    labels, counts = np.unique(names.astype(str), return_counts=True)
    return {str(name): float(count) / len(hsv) for name, count in zip(labels, counts, strict=True)}


def object_color(crop: np.ndarray, allowed: Sequence[str] = PALETTE) -> tuple[str, float] | None:
    """The most voted colour among ``allowed`` and its share (None when no allowed colour got a vote)."""
    votes = {name: share for name, share in color_votes(crop).items() if name in allowed}
    if not votes:
        return None
    name = max(votes, key=lambda key: (votes[key], key))
    return name, round(votes[name], 3)
