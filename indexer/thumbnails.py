"""Poster images and sprite strips of a video, made with OpenCV on demand and
cached on disk under ``SCOOP_DATA_DIR/cache/thumbs/<video id>``.

A cache key holds the media file's modification time, so a replaced file never
shows stale pictures; files are written under a temporary name and renamed, so
a concurrent request never reads half a JPEG.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from indexer.media import MediaError, cache_dir, frame_index, media_frames

SPRITE_FRAMES = 20
SPRITE_FRAME_WIDTH = 160
JPEG_QUALITY = 85


@dataclass(frozen=True)
class SpriteLayout:
    """``frames`` tiles of ``frame_width`` x ``frame_height`` side by side; tile
    ``i`` shows the frame at ``i * interval_s`` seconds."""

    frames: int
    frame_width: int
    frame_height: int
    interval_s: float


def sprite_layout(*, width: int, height: int, duration_s: float) -> SpriteLayout:
    return SpriteLayout(
        frames=SPRITE_FRAMES,
        frame_width=SPRITE_FRAME_WIDTH,
        frame_height=scaled_height(SPRITE_FRAME_WIDTH, width, height),
        interval_s=duration_s / SPRITE_FRAMES,
    )


def scaled_height(target_width: int, width: int, height: int) -> int:
    return max(1, round(target_width * height / width))


def thumbnail_jpeg(*, video_id: int, media: Path, frame: int, width: int) -> Path:
    """The cached JPEG of frame ``frame`` scaled to ``width`` pixels wide."""
    target = cache_dir("thumbs", video_id) / f"{_version(media)}-f{frame}-w{width}.jpg"
    if not target.exists():
        [(_index, picture)] = media_frames(media, [frame])
        _write_jpeg(target, _resize(picture, width))
    return target


def sprite_jpeg(*, video_id: int, media: Path, layout: SpriteLayout, fps: float, frame_count: int) -> Path:
    """The cached sprite strip described by ``layout``."""
    target = cache_dir("thumbs", video_id) / (
        f"{_version(media)}-sprite{layout.frames}-w{layout.frame_width}.jpg"
    )
    if not target.exists():
        indices = [min(frame_count - 1, frame_index(i * layout.interval_s, fps)) for i in range(layout.frames)]
        decoded = dict(media_frames(media, sorted(set(indices))))
        tiles = [cv2.resize(decoded[i], (layout.frame_width, layout.frame_height), interpolation=cv2.INTER_AREA)
                 for i in indices]
        _write_jpeg(target, np.hstack(tiles))
    return target


def _version(media: Path) -> int:
    return media.stat().st_mtime_ns


def _resize(picture: np.ndarray, width: int) -> np.ndarray:
    height, source_width = picture.shape[:2]
    size = (width, scaled_height(width, source_width, height))
    interpolation = cv2.INTER_AREA if width < source_width else cv2.INTER_LINEAR
    return cv2.resize(picture, size, interpolation=interpolation)


def _write_jpeg(target: Path, picture: np.ndarray) -> None:
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise MediaError("OpenCV could not encode the picture as JPEG", status=500)
    partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}.part")
    partial.write_bytes(encoded.tobytes())
    os.replace(partial, target)
