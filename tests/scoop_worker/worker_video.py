"""A short synthetic street video for the worker tests, drawn with OpenCV.

320x240 at 10 fps, 30 frames (3 s) over a static, finely textured background:
- a person stands still at the right in every frame (STANDING_FRAMES): only
  the HOG people detector can see them, background subtraction cannot;
- a person walks from left to right in frames WALKER_FRAMES;
- a red car-shaped box (wider than tall) drives right to left in frames RED_FRAMES;
- a blue one drives left to right in frames BLUE_FRAMES;
- frames before the walker and after the last car show only the standing person.

The people are human silhouettes that OpenCV's HOG people detector fires on:
realistic proportions (eight head heights, shoulders twice the head's width,
arms, legs, a 1:3 width:height box), 110 px tall (its window's person is
96 px), darker than the background. The texture matters: on a perfectly flat
background HOG's block normalisation sees no gradient at all around the
figure, unlike any photograph, and the SVM's margin drops to zero for some
poses.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT, FPS, FRAMES = 320, 240, 10.0, 30
STANDING_FRAMES = range(0, FRAMES)
WALKER_FRAMES = range(5, 17)
RED_FRAMES = range(12, 24)
BLUE_FRAMES = range(18, 26)
RED_BGR, BLUE_BGR = (30, 30, 220), (200, 60, 20)
PERSON_HEIGHT = 110
STANDING_AT = (262, 30)  # top left of the standing person
SHIRT, TROUSERS, SKIN = (60, 60, 60), (40, 40, 45), (70, 90, 120)


def _background() -> np.ndarray:
    image = np.full((HEIGHT, WIDTH, 3), (150, 160, 155), np.uint8)
    image[150:, :] = (95, 95, 95)  # the road
    for x in range(0, WIDTH, 40):  # lane marks: still texture the subtractor must learn
        cv2.rectangle(image, (x, 193), (x + 20, 196), (235, 235, 235), -1)
    cv2.rectangle(image, (200, 20), (240, 120), (120, 130, 140), -1)  # a building
    # Faint fixed grain, the same in every frame (see the module docstring).
    grain = np.random.default_rng(7).integers(-4, 5, size=(HEIGHT, WIDTH, 1))
    return np.clip(image.astype(np.int16) + grain, 0, 255).astype(np.uint8)


BACKGROUND = _background()


def person_box(x: int, y: int) -> tuple[int, int, int, int]:
    """The box (x1, y1, x2, y2) of a person drawn with its top left at (x, y)."""
    unit = PERSON_HEIGHT / 8
    return x, y, x + round(2.6 * unit), y + PERSON_HEIGHT


def _person(image: np.ndarray, x: int, y: int, step: float) -> None:
    """A person PERSON_HEIGHT tall, top left at (x, y), seen from the front;
    ``step`` in -1..1 swings one arm and the opposite leg forward."""
    unit = PERSON_HEIGHT / 8  # one head height
    centre = x + 1.3 * unit

    def at(dx: float, dy: float) -> tuple[int, int]:
        return round(centre + dx * unit), round(y + dy * unit)

    cv2.ellipse(image, at(0, 0.5), (round(0.38 * unit), round(0.5 * unit)), 0, 0, 360, SKIN, -1)  # head
    cv2.rectangle(image, at(-0.15, 0.9), at(0.15, 1.3), SKIN, -1)  # neck
    torso = np.array([at(-0.95, 1.3), at(0.95, 1.3), at(0.7, 4.0), at(-0.7, 4.0)], np.int32)
    cv2.fillConvexPoly(image, torso, SHIRT)
    arm, leg = max(2, round(0.3 * unit)), max(3, round(0.42 * unit))
    for side in (-1, 1):
        swing = side * step
        elbow, knee = at(side * 1.0 + swing * 0.15, 2.8), at(side * 0.3 - swing * 0.25, 6.0)
        cv2.line(image, at(side * 0.85, 1.5), elbow, SHIRT, arm)
        cv2.line(image, elbow, at(side * 1.05 + swing * 0.3, 4.0), SKIN, arm)
        cv2.line(image, at(side * 0.25, 4.0), knee, TROUSERS, leg)
        cv2.line(image, knee, at(side * 0.35 - swing * 0.5, 7.8), TROUSERS, leg)


def walker_at(index: int) -> tuple[int, int] | None:
    """The walking person's top left in frame ``index``, or None when not drawn."""
    if index not in WALKER_FRAMES:
        return None
    return 30 + 6 * (index - WALKER_FRAMES.start), 30


def person_boxes(index: int) -> list[tuple[int, int, int, int]]:
    """The boxes of the people drawn in frame ``index``: standing first, then walking."""
    tops = [STANDING_AT] if index in STANDING_FRAMES else []
    walker = walker_at(index)
    return [person_box(*top) for top in (tops + ([walker] if walker else []))]


def _car(image: np.ndarray, x: int, y: int, color: tuple[int, int, int]) -> None:
    """A car 70 px wide, 32 px tall, top left at (x, y)."""
    cv2.rectangle(image, (x, y + 10), (x + 70, y + 32), color, -1)
    cv2.rectangle(image, (x + 14, y), (x + 54, y + 12), color, -1)


def frame_at(index: int) -> np.ndarray:
    """Frame ``index`` (0-based) of the test video."""
    image = BACKGROUND.copy()
    if index in STANDING_FRAMES:
        _person(image, *STANDING_AT, step=0.0)
    walker = walker_at(index)
    if walker is not None:
        _person(image, *walker, step=math.sin((index - WALKER_FRAMES.start) * math.pi / 3))
    if index in RED_FRAMES:
        _car(image, 230 - 15 * (index - RED_FRAMES.start), 152, RED_BGR)
    if index in BLUE_FRAMES:
        _car(image, 10 + 18 * (index - BLUE_FRAMES.start), 202, BLUE_BGR)
    return image


def empty_frame() -> np.ndarray:
    """The background alone: no person, no car."""
    return BACKGROUND.copy()


def write_video(path: Path) -> Path:
    """Write the test video as MJPG AVI (every OpenCV build can write and read it)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    for index in range(FRAMES):
        writer.write(frame_at(index))
    writer.release()
    return path
