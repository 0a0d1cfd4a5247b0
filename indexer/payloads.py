"""Raw analytics payloads on disk: stored once, kept for rebuilds.

Payloads are written to ``SCOOP_DATA_DIR/payloads`` under a generated name,
never a client-supplied one, and checked for syntax (JSON, NDJSON, CSV, XML or
Camio's lenient JSON) in one streaming pass before any job is created, so that
a malformed payload is a 400 at once.
"""

from __future__ import annotations

import errno
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import ijson
import numpy as np
from django.conf import settings

from indexer.formats import sniff
from indexer.formats.json_walk import FormatError


class PayloadError(ValueError):
    """A payload refused before ingest. ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, *, status: int = 400, path: str | None = None):
        self.message = message
        self.status = status
        self.path = path
        super().__init__(message)


class StorageError(Exception):
    """The data directory refused a write: the disk is full (507) or the folder is
    not writable (503). ``path`` is the folder that was being written."""

    def __init__(self, message: str, *, status: int, path: str):
        self.message = message
        self.status = status
        self.path = path
        super().__init__(message)


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}
# DuckDB and SQLite report the same conditions as text in their own exceptions, without an errno.
_DISK_FULL_TEXT = ("no space left on device", "disk quota exceeded", "file too large", "database or disk is full")
_NOT_WRITABLE_TEXT = ("read-only file system", "permission denied", "operation not permitted", "readonly database")


def storage_error(error: BaseException, path: str | Path) -> StorageError | None:
    """The :class:`StorageError` that ``error`` (an OS or DuckDB write error) amounts to, or None."""
    code = getattr(error, "errno", None)
    text = str(error).lower()
    if code in _DISK_FULL or any(phrase in text for phrase in _DISK_FULL_TEXT):
        return StorageError(f"disk full: no space left to write in {path}", status=507, path=str(path))
    if code in _NOT_WRITABLE or any(phrase in text for phrase in _NOT_WRITABLE_TEXT):
        return StorageError(f"data directory not writable: {path}", status=503, path=str(path))
    return None


@contextmanager
def storage_guard(path: str | Path, *, errors: tuple[type[BaseException], ...] = (OSError,)) -> Iterator[None]:
    """Raise :class:`StorageError` for a full or read-only disk met inside the block
    (``errors``: the exception types that can mean one); anything else passes unchanged."""
    try:
        yield
    except errors as error:
        translated = storage_error(error, path)
        if translated is None:
            raise
        raise translated from error


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
    with storage_guard(Path(settings.SCOOP_DATA_DIR) / "payloads"):
        final = payload_dir() / f"{uuid.uuid4().hex}.json"
        partial = final.with_suffix(".part")
        try:
            return _store_partial(partial, final, chunks=chunks, max_bytes=max_bytes)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise


def _store_partial(partial: Path, final: Path, *, chunks: Iterable[bytes], max_bytes: int) -> tuple[Path, int]:
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
    return final, size


def payload_check(path: Path) -> None:
    """Raise :class:`PayloadError` unless ``path`` is well-formed in the syntax its
    first bytes announce: one JSON document, newline-delimited JSON, CSV, or a
    Camio export's lenient JSON (:mod:`indexer.formats.sniff`).

    XML is only told from its first bytes here: the job's reader parses it once,
    off the web request, and a malformed file fails the job with the line and
    column of the fault.

    Refused first, before any parser runs: a gzip-compressed file (415) and a
    JSON-looking file nested deeper than :data:`MAX_JSON_DEPTH` levels."""
    _refuse_compressed_or_deep(path)
    syntax = None
    try:
        syntax = sniff.payload_syntax(path)
        if syntax == sniff.JSON:
            payload_check_json(path)
        elif syntax != sniff.XML:
            sniff.syntax_check(path, syntax)
    except FormatError as error:
        message = error.message
        if not message.startswith(("malformed", "refused")):
            message = f"malformed {sniff.NAMES.get(syntax, 'payload')}: {message}"
        raise PayloadError(message) from error


def _refuse_compressed_or_deep(path: Path) -> None:
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head.startswith(GZIP_MAGIC):
        raise PayloadError("the payload is gzip-compressed; compressed uploads are not accepted: send it "
                           "uncompressed (JSON, NDJSON, CSV or XML)", status=415, path="file")
    # JSON and NDJSON (and Camio's JSON) start with a bracket; CSV and XML quote differently.
    if head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"["):
        payload_check_depth(path)


def payload_check_json(path: Path) -> None:
    """Raise :class:`PayloadError` unless ``path`` holds one well-formed JSON
    document (:func:`payload_check` has checked its depth)."""
    with open(path, "rb") as handle:
        reader = _CountingReader(handle)
        try:
            # A prefix that never matches lets the C parser check every byte without
            # handing a single event to Python: a syntax check at parser speed.
            for _ in ijson.items(reader, "\x00never", use_float=True):
                pass
        except ijson.JSONError as error:
            exact = _exact_position(path)
            if exact is None:
                where = _ijson_reason(error, reader.offset)
            elif " at line " in exact:
                where = exact
            else:  # NaN and Infinity: json names the constant, ijson knows roughly where
                where = f"{exact} (within the first {reader.offset} bytes)"
            raise PayloadError(f"malformed JSON: {where}") from error


# Deeper documents are refused before any parser sees them: ijson's prefixes make a
# deep document cost memory quadratic in its depth, and Python's json recursion.
# Real analytics are about 8 levels deep.
MAX_JSON_DEPTH = 64
GZIP_MAGIC = b"\x1f\x8b"
_DEPTH_CHUNK = 8 * 1024**2
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPENERS, _CLOSERS = frozenset(b"[{"), frozenset(b"]}")
# Every byte but quotes and brackets: deleted before the depth is counted.
_NOT_STRUCTURAL = bytes(byte for byte in range(256) if byte not in b'"[]{}')
# +1 for an opening bracket, -1 for a closing one, 0 for a quote.
_BRACKET_STEP = np.zeros(256, dtype=np.int64)
_BRACKET_STEP[list(_OPENERS)] = 1
_BRACKET_STEP[list(_CLOSERS)] = -1


def payload_check_depth(path: Path, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`PayloadError` naming the byte where ``path`` nests deeper than
    ``max_depth`` (brackets inside strings do not count)."""
    with open(path, "rb") as handle:
        too_deep = json_too_deep_at(iter(lambda: handle.read(_DEPTH_CHUNK), b""), max_depth=max_depth)
    if too_deep is not None:
        raise PayloadError(f"the JSON is nested more than {max_depth} levels deep at byte {too_deep}; "
                           f"the limit is {max_depth} levels")


def json_too_deep_at(chunks: Iterable[bytes], *, max_depth: int = MAX_JSON_DEPTH) -> int | None:
    """The byte offset of the first bracket that nests JSON text deeper than
    ``max_depth``, or None.

    Each chunk is reduced in C (``bytes.replace``/``translate``) to its quotes
    and brackets and counted with numpy, about a tenth of the cost of a JSON
    parse; only a refused chunk is walked byte by byte to name the byte.
    Malformed JSON is left to the parser.
    """
    depth, in_string, carry, offset = 0, False, b"", 0
    for chunk in chunks:
        data, start = carry + chunk, offset - len(carry)
        offset += len(chunk)
        data, carry, marks = _structural_marks(data)
        quotes = marks == _QUOTE
        inside = (np.cumsum(quotes, dtype=np.int64) + in_string) % 2 == 1
        depths = depth + np.cumsum(np.where(inside, 0, _BRACKET_STEP[marks]))
        if depths.size and depths.max() > max_depth:
            return start + _first_too_deep(data, depth, in_string, max_depth)
        depth = int(depths[-1]) if depths.size else depth
        in_string = bool((int(quotes.sum()) + in_string) % 2)
    return None


def _structural_marks(data: bytes) -> tuple[bytes, bytes, np.ndarray]:
    """``data`` less a trailing unpaired backslash (carried to the next chunk,
    whose first byte it escapes), that carry, and the quotes and brackets of
    ``data`` that are not escaped, in order."""
    carry = b""
    if b"\\" in data:  # backslashes are rare: most chunks skip both replaces
        # Pairs first, left to right, as a JSON reader pairs them; then escaped quotes.
        unpaired = data.replace(b"\\\\", b"")
        if unpaired.endswith(b"\\"):
            carry, data, unpaired = data[-1:], data[:-1], unpaired[:-1]
        data_for_marks = unpaired.replace(b'\\"', b"")
    else:
        data_for_marks = data
    marks = np.frombuffer(data_for_marks.translate(None, _NOT_STRUCTURAL), dtype=np.uint8)
    return data, carry, marks


def _first_too_deep(data: bytes, depth: int, in_string: bool, max_depth: int) -> int:
    """The offset in ``data`` of the first bracket past ``max_depth``: the slow,
    plain walk, run only on a chunk already known to go too deep."""
    escaped = False
    for position, byte in enumerate(data):
        if in_string:
            escaped, in_string = (False, True) if escaped else (byte == _BACKSLASH, byte != _QUOTE)
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            if depth > max_depth:
                return position
        elif byte in _CLOSERS:
            depth -= 1
    return len(data)


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
    text = error.args[0] if error.args else ""
    if isinstance(text, bytes):  # yajl's C backend reports bytes
        text = text.decode("utf-8", "replace")
    reason = str(text).strip().splitlines()[0] if str(text).strip() else "incomplete JSON"
    return f"{reason} within the first {offset} bytes"


def payload_delete(path: str | Path) -> None:
    if path:
        Path(path).unlink(missing_ok=True)
