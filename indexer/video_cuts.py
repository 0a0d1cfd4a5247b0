"""Video cuts: a span of a video's media file re-encoded into an MP4 file with OpenCV,
its labels optionally burned in, cached under ``SCOOP_DATA_DIR/cache/clips/<video id>``
(what ``GET /api/v1/videos/{id}/clip.mp4`` downloads). A search's clips are spans
of matching frames (:mod:`analytics.search`); this module makes files of such spans.

The cut is VP9 in an MP4 container (FourCC ``vp09``): of what this OpenCV
build (FFmpeg with libvpx, no H.264 encoder) can write, it is the one MP4 that
browsers play; its MPEG-4 Part 2 (``mp4v``) plays in none.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from indexer.media import MediaError, cache_dir, media_frames

CUT_FOURCC = "vp09"
# Encoding runs inside the request: keep one export to a few seconds of work.
CUT_MAX_S = 300.0
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_FALLBACK_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def cut_mp4(
    *,
    video_id: int,
    media: Path,
    frames: range,
    fps: float,
    overlays: dict[int, list[dict[str, Any]]] | None,
    colors: dict[str, str],
    labels_version: str = "",
) -> Path:
    """The cached MP4 of ``frames`` of ``media``; with ``overlays`` (objects per
    frame index, as :func:`indexer.selectors.video_labels` gives them) drawn on.
    ``labels_version`` changes when the labels do, so a re-ingest re-renders."""
    kind = f"labels{labels_version}" if overlays is not None else "plain"
    target = cache_dir("clips", video_id) / (
        f"{media.stat().st_mtime_ns}-{frames.start}-{frames.stop - 1}-{kind}.mp4"
    )
    if not target.exists():
        pictures = (
            _draw(picture, (overlays or {}).get(index, []), colors) if overlays is not None else picture
            for index, picture in media_frames(media, frames)
        )
        _encode(target, pictures, fps)
    return target


def _encode(target: Path, pictures: Iterable[np.ndarray], fps: float) -> None:
    # The container is chosen by the file name's extension: keep ".mp4" last.
    partial = target.with_name(f"{uuid.uuid4().hex}.part.mp4")
    writer = None
    try:
        for picture in pictures:
            if writer is None:
                height, width = picture.shape[:2]
                writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*CUT_FOURCC), fps, (width, height))
                if not writer.isOpened():
                    raise MediaError("this OpenCV build cannot write VP9 video in MP4", status=503)
            writer.write(picture)
        if writer is None:
            raise MediaError("the clip has no frames", status=422)
        writer.release()
        os.replace(partial, target)
    finally:
        if writer is not None:
            writer.release()
        partial.unlink(missing_ok=True)


def _draw(picture: np.ndarray, objects: list[dict[str, Any]], colors: dict[str, str]) -> np.ndarray:
    height, width = picture.shape[:2]
    for position, obj in enumerate(objects):
        x1, y1, x2, y2 = obj["box"]
        top_left = (round(x1 * width), round(y1 * height))
        bottom_right = (round(x2 * width), round(y2 * height))
        color = _bgr(colors.get(obj["label"]) or _FALLBACK_COLORS[position % len(_FALLBACK_COLORS)])
        cv2.rectangle(picture, top_left, bottom_right, color, 2)
        caption = obj["label"] if obj["track"] is None else f"{obj['label']} #{obj['track']}"
        (text_width, text_height), _baseline = cv2.getTextSize(caption, _FONT, 0.4, 1)
        # The caption sits above the box, or inside it when the box touches the top edge.
        base_y = top_left[1] - 4 if top_left[1] - text_height - 6 >= 0 else top_left[1] + text_height + 4
        cv2.rectangle(
            picture, (top_left[0], base_y - text_height - 2), (top_left[0] + text_width + 4, base_y + 2), color, -1
        )
        cv2.putText(picture, caption, (top_left[0] + 2, base_y), _FONT, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return picture


def _bgr(hex_color: str) -> tuple[int, int, int]:
    value = hex_color.lstrip("#")
    try:
        red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return _bgr(_FALLBACK_COLORS[0])
    return blue, green, red
