"""Video media files: where they live, what they are, and what OpenCV reads in them.

Uploaded files are stored in ``SCOOP_DATA_DIR/media`` under a generated name,
never the client's, whose extension comes from the file's own first bytes.
Files already on the server may be registered from that folder and from the
folders in ``settings.SCOOP_MEDIA_ROOTS``; a path is checked after resolving
symlinks, so neither ``..`` nor a link can reach outside them.
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from django.conf import settings

from indexer.payloads import storage_guard, write_limited

UPLOAD_PREFIX = "upload-"
# Bytes of a file's head that tell its container.
_SNIFF_BYTES = 64


class MediaError(ValueError):
    """Media refused or unreadable. ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, *, status: int = 400, path: str | None = None):
        self.message = message
        self.status = status
        self.path = path
        super().__init__(message)


@dataclass(frozen=True)
class MediaProbe:
    """What OpenCV found in a media file; None where it could not tell."""

    fps: float | None
    frame_count: int | None
    duration_s: float | None
    width: int
    height: int
    codec: str


def media_dir() -> Path:
    directory = Path(settings.SCOOP_DATA_DIR) / "media"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def cache_dir(kind: str, video_id: int) -> Path:
    """Where derived pictures and clips of one video are cached."""
    directory = Path(settings.SCOOP_DATA_DIR) / "cache" / kind / str(video_id)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def cache_clear(video_id: int) -> None:
    for kind in ("thumbs", "clips"):
        shutil.rmtree(Path(settings.SCOOP_DATA_DIR) / "cache" / kind / str(video_id), ignore_errors=True)


def media_roots() -> list[Path]:
    """The folders media may be registered from, symlinks resolved."""
    roots = [media_dir(), *(Path(root) for root in settings.SCOOP_MEDIA_ROOTS)]
    return [Path(os.path.realpath(root)) for root in roots]


def media_resolve(raw: str) -> Path:
    """The real path of a server-side media file named by a client.

    A relative path is taken from ``SCOOP_DATA_DIR/media``. Raises
    :class:`MediaError` when the resolved file lies outside every allowed root
    (checked before existence, so the answer tells nothing about other folders)
    or is not a regular file.
    """
    if not raw or "\x00" in raw:
        raise MediaError("name a media file by its path", path="path")
    roots = media_roots()
    candidate = Path(raw) if os.path.isabs(raw) else roots[0] / raw
    real = Path(os.path.realpath(candidate))
    if not any(real.is_relative_to(root) for root in roots):
        raise MediaError(
            f"'{raw}' is outside the folders media may be registered from "
            "(SCOOP_DATA_DIR/media and SCOOP_MEDIA_ROOTS)",
            path="path",
        )
    if not real.is_file():
        raise MediaError(f"there is no media file at '{raw}'", path="path")
    return real


def media_store(*, chunks: Iterable[bytes], max_bytes: int) -> tuple[Path, int]:
    """Write an upload to ``SCOOP_DATA_DIR/media``; refuse (413) past ``max_bytes``.

    The file is written under a temporary name and renamed when complete, so a
    failed upload leaves nothing behind.
    """
    stem = f"{UPLOAD_PREFIX}{uuid.uuid4().hex}"
    with storage_guard(Path(settings.SCOOP_DATA_DIR) / "media"):
        partial = media_dir() / f"{stem}.part"
        try:
            size = write_limited(
                path=partial,
                chunks=chunks,
                max_bytes=max_bytes,
                too_large=MediaError(
                    f"the media file is larger than the limit of {max_bytes} bytes (SCOOP_MEDIA_MAX_BYTES)",
                    status=413,
                    path="file",
                ),
                empty=MediaError("the media file is empty", path="file"),
            )
            extension, _mime = media_type(partial)
            final = partial.with_name(f"{stem}.{extension}")
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return final, size


def media_owned(path: str | Path) -> bool:
    """Whether Scoop made this file (an upload), and so may delete it."""
    file_path = Path(path)
    return file_path.name.startswith(UPLOAD_PREFIX) and file_path.parent == media_dir()


def media_type(path: str | Path) -> tuple[str, str]:
    """(file extension, MIME type) of a media file, told by its first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ("webm", "video/webm") if b"webm" in head else ("mkv", "video/x-matroska")
    if head[4:8] == b"ftyp":
        return ("mov", "video/quicktime") if head[8:12] == b"qt  " else ("mp4", "video/mp4")
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi", "video/x-msvideo"
    if head.startswith(b"OggS"):
        return "ogv", "video/ogg"
    return "bin", "application/octet-stream"


@contextmanager
def media_capture(path: str | Path) -> Iterator[cv2.VideoCapture]:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        yield capture
    finally:
        capture.release()


def media_probe(path: str | Path) -> MediaProbe:
    """Read a media file's numbers and decode its first frame.

    Raises :class:`MediaError` saying what went wrong when OpenCV cannot open
    the file or cannot decode a frame of it.
    """
    try:
        with media_capture(path) as capture:
            if not capture.isOpened():
                raise MediaError(
                    "OpenCV cannot open the file as a video: its container or codec is not supported, "
                    "or the file is damaged"
                )
            codec = _fourcc(capture.get(cv2.CAP_PROP_FOURCC))
            ok, frame = capture.read()
            if not ok or frame is None:
                raise MediaError(
                    f"OpenCV opened the file (codec {codec or 'unknown'}) but could not decode its first frame"
                )
            fps = _positive(capture.get(cv2.CAP_PROP_FPS))
            count = _positive(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            # Some files (streamed recordings) do not say how long they are: count the packets.
            frame_count = round(count) if count else _count_rest(capture) + 1
    except cv2.error as error:
        raise MediaError(f"OpenCV failed to read the file: {error.err or error}") from error
    height, width = frame.shape[:2]
    return MediaProbe(
        fps=fps,
        frame_count=frame_count,
        duration_s=frame_count / fps if frame_count and fps else None,
        width=width,
        height=height,
        codec=codec,
    )


def _count_rest(capture: cv2.VideoCapture) -> int:
    frames = 0
    while capture.grab():
        frames += 1
    return frames


def _positive(value: float) -> float | None:
    return value if math.isfinite(value) and value > 0 else None


def _fourcc(value: float) -> str:
    code = int(value) & 0xFFFFFFFF
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text.strip("\x00 ") if text.isprintable() else ""


def frame_index(t: float, fps: float) -> int:
    """The frame shown at ``t`` seconds (the small slack absorbs float error
    in a ``t`` that is itself ``index / fps``)."""
    return max(0, math.floor(t * fps + 1e-6))


def media_frames(path: str | Path, indices: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Decode the frames at ``indices`` (ascending), seeking only across gaps.

    Raises :class:`MediaError` naming the first frame that cannot be decoded.
    """
    with media_capture(path) as capture:
        if not capture.isOpened():
            raise MediaError("OpenCV cannot open the media file", status=422)
        position = 0
        for index in indices:
            if index != position:
                capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = capture.read()
            if not ok or frame is None:
                raise MediaError(f"could not decode frame {index} of the media file", status=422)
            position = index + 1
            yield index, frame
