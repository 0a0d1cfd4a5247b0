"""Raw analytics payloads on disk: stored once, kept for rebuilds.

Payloads are written to ``SCOOP_DATA_DIR/payloads`` under a generated name,
never a client-supplied one, and checked for JSON syntax in one streaming pass
before any job is created, so that malformed JSON is a 400 at once.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

import ijson
from django.conf import settings


class PayloadError(ValueError):
    """A payload refused before ingest. ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, *, status: int = 400, path: str | None = None):
        self.message = message
        self.status = status
        self.path = path
        super().__init__(message)


class _CountingReader:
    """Tracks how many bytes ijson has pulled, to say where a syntax error is."""

    def __init__(self, handle):
        self.handle = handle
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.offset += len(chunk)
        return chunk


def payload_dir() -> Path:
    directory = Path(settings.SCOOP_DATA_DIR) / "payloads"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def write_limited(*, path: Path, chunks: Iterable[bytes], max_bytes: int, too_large: Exception,
                  empty: Exception) -> int:
    """Write ``chunks`` to ``path`` and return the size; raise ``too_large`` as soon
    as more than ``max_bytes`` arrive and ``empty`` when nothing did. The caller
    removes ``path`` on failure."""
    size = 0
    with open(path, "wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise too_large
            out.write(chunk)
    if size == 0:
        raise empty
    return size


def payload_store(*, chunks: Iterable[bytes], max_bytes: int) -> tuple[Path, int]:
    """Write ``chunks`` to a new payload file; refuse (413) past ``max_bytes``.

    The file is written under a temporary name and renamed when complete, so
    a failed upload leaves nothing behind.
    """
    name = f"{uuid.uuid4().hex}.json"
    final = payload_dir() / name
    partial = final.with_suffix(".part")
    try:
        size = write_limited(
            path=partial,
            chunks=chunks,
            max_bytes=max_bytes,
            too_large=PayloadError(
                f"the payload is larger than the limit of {max_bytes} bytes (SCOOP_INGEST_MAX_BYTES)", status=413
            ),
            empty=PayloadError("the payload is empty"),
        )
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return final, size


def payload_check_json(path: Path) -> None:
    """Raise :class:`PayloadError` unless ``path`` holds one well-formed JSON document."""
    with open(path, "rb") as handle:
        reader = _CountingReader(handle)
        try:
            # A prefix that never matches lets the C parser check every byte without
            # handing a single event to Python: a syntax check at parser speed.
            for _ in ijson.items(reader, "\x00never", use_float=True):
                pass
        except ijson.JSONError as error:
            where = _exact_position(path) or _ijson_reason(error, reader.offset)
            raise PayloadError(f"malformed JSON: {where}") from error


# Files up to this size are re-read with the json module to name the exact line and column.
EXACT_POSITION_MAX_BYTES = 64 * 1024**2


def _exact_position(path: Path) -> str | None:
    if path.stat().st_size > EXACT_POSITION_MAX_BYTES:
        return None

    def refuse_constant(name: str):
        raise json.JSONDecodeError(f"{name} is not valid JSON", "", 0)

    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", errors="replace")
        json.loads(text, parse_constant=refuse_constant)
    except json.JSONDecodeError as error:
        if error.doc:
            return f"{error.msg} at line {error.lineno}, column {error.colno} (byte {error.pos})"
        return error.msg
    return None


def _ijson_reason(error: Exception, offset: int) -> str:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else "incomplete JSON"
    return f"{reason} within the first {offset} bytes"


def payload_delete(path: str | Path) -> None:
    if path:
        Path(path).unlink(missing_ok=True)
