"""Walking a JSON payload file piece by piece, for the format readers.

A reader never loads a payload whole. :func:`walk` runs ijson's C parser over
the file and asks the reader, for every value it meets, what to do with it:
descend into it, build it into a Python object and hand it over, or skip it.
Readers build small pieces (one frame, one detection, one attribute), so
memory stays bounded by the largest piece, not by the file.

Syntax errors become :class:`FormatError` with the byte position and the JSON
path where the parser was, never a raw ijson exception.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import ijson
import numpy as np
from ijson.common import ObjectBuilder

from indexer.ontology import CATEGORICAL
from indexer.records import AttrValue

BACKEND = ijson.get_backend("yajl2_c")

# Same value as indexer.search.contract.DEFAULT_FPS; not imported from there
# because that package loads Django settings and the readers must not.
DEFAULT_FPS = 30.0
# The frame rates Scoop accepts, whoever gives them (a payload, a reader option, a live
# video): a time-lapse camera at one frame in 10 s up to a 1,000 fps high-speed camera.
# Outside them, times collapse to 0 or grow to 1e300 s and every statistic is meaningless.
MIN_FPS = 0.1
MAX_FPS = 1000.0

# What a decide function answers for a value (see walk).
DESCEND = 0
BUILD = 1
SKIP = 2
ENTER = 3


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


START = _Marker("START")
END = _Marker("END")

JsonPath = tuple[str | int, ...]
Decide = Callable[[Sequence[str | int | None]], int]

_OPENING = frozenset({"start_map", "start_array"})
_CLOSING = frozenset({"end_map", "end_array"})
_PLAIN_KEY = re.compile(r"[^.\[\]\s\"']+")
_CHUNK = 64 * 1024


class FormatError(ValueError):
    """A payload that cannot be read as the format it claims to be.

    ``path`` is the JSON path of the offending element ('' for the whole
    document); ``position`` the byte offset of a syntax error, else None.
    """

    def __init__(self, message: str, *, path: str = "", position: int | None = None):
        self.message = message
        self.path = path
        self.position = position
        super().__init__(f"{path}: {message}" if path else message)


def child_path(base: str, key: str | int) -> str:
    """The JSON path of ``key`` inside the element at ``base``."""
    if isinstance(key, int):
        return f"{base}[{key}]"
    if not _PLAIN_KEY.fullmatch(key):
        return f"{base}[{json.dumps(key)}]"
    return f"{base}.{key}" if base else key


def json_path(parts: Sequence[str | int | None]) -> str:
    """``('frames', '2', 'objects', 'objects', 0)`` -> ``frames.2.objects.objects[0]``."""
    path = ""
    for part in parts:
        path = child_path(path, "" if part is None else part)
    return path


def walk(file_path: Path, decide: Decide, *, skipping: Collection[str] = ()) -> Iterator[tuple[JsonPath, Any]]:
    """Stream ``file_path`` and yield ``(path, value)`` for what ``decide`` picks.

    ``decide(path)`` is called for every value below the root (``path`` is a
    live list of keys and array positions: read it, do not keep it) and
    answers DESCEND (look inside), BUILD (yield the value as a Python object),
    SKIP (ignore it and everything inside), or ENTER (yield ``(path, START)``,
    look inside, then yield ``(path, END)``; a scalar is yielded as its value).
    DESCEND into a scalar yields nothing. Numbers come as int or float.

    ``skipping`` names top-level members that ``decide`` would skip anyway.
    When the root is an object they are never handed to the parser: skipping
    a value event by event costs as much Python as reading it, and the one
    big member of a payload (ETA's ``frames``) is most of the file.
    """
    cursor: list[str | int | None] = []
    layout = top_level_members(file_path) if skipping else None
    with open(file_path, "rb") as handle:
        source = handle if layout is None else _MemberDocument(handle, [m for m in layout if m.key not in skipping])
        try:
            yield from _walk_events(BACKEND.basic_parse(source, use_float=True), decide, cursor)
        except ijson.JSONError as error:
            raise syntax_error(file_path, error, json_path(cursor)) from None


@dataclass(frozen=True)
class Member:
    """A member of the root object: its key as raw JSON text, its decoded key,
    and the byte range of its value."""

    raw_key: bytes
    key: str
    start: int
    end: int


_LBRACE, _RBRACE, _LBRACKET, _RBRACKET, _COMMA, _COLON = b"{}[],:"
_QUOTE, _BACKSLASH = 0x22, 0x5C
_LAYOUT_CHUNK = 1024**2  # bytes scanned at a time: a few MB of temporary arrays


def top_level_members(file_path: Path) -> list[Member] | None:
    """The members of the root object and where their values lie, found with
    vectorized byte scans instead of a parser (about 10x faster than ijson
    events); None when the root is not a well-formed object, so that callers
    fall back to the parser and its error messages."""
    stat = file_path.stat()
    return _members_cached(str(file_path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _members_cached(path: str, _size: int, _mtime_ns: int) -> list[Member] | None:
    if _size == 0:
        return None
    data = np.memmap(path, dtype=np.uint8, mode="r")
    marks: list[tuple[int, int]] = []  # (byte offset, character) of the root's own structure
    in_string, depth = 0, 0
    for base in range(0, len(data), _LAYOUT_CHUNK):
        chunk = np.asarray(data[base : base + _LAYOUT_CHUNK])
        inside = np.bitwise_xor.accumulate(_real_quotes(data, chunk, base).view(np.uint8)) ^ in_string
        opens = (chunk == _LBRACE) | (chunk == _LBRACKET)
        closes = (chunk == _RBRACE) | (chunk == _RBRACKET)
        structure = np.flatnonzero((opens | closes | (chunk == _COMMA) | (chunk == _COLON)) & (inside == 0))
        deltas = opens[structure].astype(np.int64) - closes[structure]
        depth_before = depth + np.cumsum(deltas) - deltas
        own = structure[((depth_before == 1) & (deltas <= 0)) | ((depth_before == 0) & (deltas == 1))]
        marks.extend((base + int(offset), int(chunk[offset])) for offset in own)
        depth += int(deltas.sum())
        in_string = int(inside[-1])
    if depth != 0 or in_string or not marks or marks[0][1] != _LBRACE or marks[-1][1] != _RBRACE:
        return None
    if data[: marks[0][0]].tobytes().strip() or data[marks[-1][0] + 1 :].tobytes().strip():
        return None
    return _members_from_marks(data, marks)


def _real_quotes(data: np.ndarray, chunk: np.ndarray, base: int) -> np.ndarray:
    """Which bytes of ``chunk`` are quotes that open or close a string (not escaped ones)."""
    quotes = chunk == _QUOTE
    escaped = np.flatnonzero(quotes[1:] & (chunk[:-1] == _BACKSLASH)) + 1
    if base and chunk[0] == _QUOTE and data[base - 1] == _BACKSLASH:
        escaped = np.concatenate(([0], escaped))
    for offset in escaped.tolist():
        run, before = 0, base + offset - 1
        while before >= 0 and data[before] == _BACKSLASH:
            run, before = run + 1, before - 1
        quotes[offset] = run % 2 == 0
    return quotes


def _members_from_marks(data: np.ndarray, marks: list[tuple[int, int]]) -> list[Member] | None:
    members, key_start, colon = [], None, None
    for offset, char in marks:
        if char == _COLON:
            colon = offset
            continue
        if key_start is not None:
            if colon is None:
                # Only ``{}`` has a separator without a key before it.
                empty = char == _RBRACE and not members and not data[key_start:offset].tobytes().strip()
                return members if empty else None
            raw_key = data[key_start:colon].tobytes().strip()
            try:
                key = json.loads(raw_key)
            except ValueError:
                return None
            members.append(Member(raw_key=raw_key, key=key, start=colon + 1, end=offset))
        key_start, colon = (offset + 1 if char == _COMMA else None), None
        if char == _LBRACE:
            key_start = offset + 1
    return members


class _MemberDocument:
    """A file-like view of a JSON object made of some members of ``handle``'s root object."""

    def __init__(self, handle: BinaryIO, members: list[Member]):
        self.handle = handle
        self.pieces: list[bytes | tuple[int, int]] = [b"{"]
        for position, member in enumerate(members):
            self.pieces += [b"," if position else b"", member.raw_key + b":", (member.start, member.end)]
        self.pieces.append(b"}")
        self.pieces.reverse()

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson reads 0 bytes to learn whether the source gives bytes or text
        size = _CHUNK if size is None or size < 0 else size
        while self.pieces:
            piece = self.pieces.pop()
            if isinstance(piece, bytes):
                if piece:
                    return piece
                continue
            start, end = piece
            self.handle.seek(start)
            chunk = self.handle.read(min(size, end - start))
            if start + len(chunk) < end:
                self.pieces.append((start + len(chunk), end))
            return chunk
        return b""


def walk_members(file_path: Path, prefix: str) -> Iterator[tuple[str, Any]]:
    """Yield ``(key, value)`` for each member of the object at ``prefix`` (an
    ijson prefix such as ``"frames"``), built by the C parser.

    For the one big section of a file (ETA's ``frames``) this is several times
    faster than :func:`walk`, whose decisions run in Python for every event.
    """
    with open(file_path, "rb") as source:
        try:
            yield from BACKEND.kvitems(source, prefix, use_float=True)
        except ijson.JSONError as error:
            raise syntax_error(file_path, error, prefix) from None


def _walk_events(events: Iterator, decide: Decide, cursor: list) -> Iterator[tuple[JsonPath, Any]]:
    in_array: list[bool] = []
    entered: list[bool] = []
    for event, value in events:
        if event == "map_key":
            cursor[-1] = value
            continue
        if event in _CLOSING:
            cursor.pop()
            in_array.pop()
            if entered.pop():
                yield tuple(cursor), END
            continue
        if in_array and in_array[-1]:
            cursor[-1] += 1
        action = decide(cursor) if in_array else DESCEND
        if event not in _OPENING:
            if action in (BUILD, ENTER):
                yield tuple(cursor), value
        elif action == BUILD:
            yield tuple(cursor), _build(event, value, events)
        elif action == SKIP:
            _skip(events)
        else:
            if action == ENTER:
                yield tuple(cursor), START
            is_array = event == "start_array"
            cursor.append(-1 if is_array else None)
            in_array.append(is_array)
            entered.append(action == ENTER)


def _build(event: str, value: Any, events: Iterator) -> Any:
    builder = ObjectBuilder()
    builder.event(event, value)
    depth = 1
    for event, value in events:
        builder.event(event, value)
        if event in _OPENING:
            depth += 1
        elif event in _CLOSING:
            depth -= 1
            if depth == 0:
                break
    return builder.value


def _skip(events: Iterator) -> None:
    depth = 1
    for event, _value in events:
        if event in _OPENING:
            depth += 1
        elif event in _CLOSING:
            depth -= 1
            if depth == 0:
                return


def root_kind(file_path: Path) -> str:
    """'object', 'array' or 'scalar': what the document's top-level value is."""
    if file_path.stat().st_size == 0:
        raise FormatError("the file is empty", position=0)
    with open(file_path, "rb") as source:
        try:
            event, _value = next(iter(BACKEND.basic_parse(source, buf_size=1024)))
        except ijson.JSONError as error:
            raise syntax_error(file_path, error, "") from None
    return {"start_map": "object", "start_array": "array"}.get(event, "scalar")


def require_object(file_path: Path, format_name: str) -> None:
    """Raise FormatError unless the document is a JSON object."""
    kind = root_kind(file_path)
    if kind != "object":
        raise FormatError(f"expected a JSON object ({format_name}), got a JSON {kind}")


def syntax_error(file_path: Path, error: Exception, where: str) -> FormatError:
    """A FormatError for ijson's ``error``, with the offset of the byte at which
    the parser gave up (a bad token is noticed where it ends)."""
    offset, reason = _error_offset(file_path)
    if offset is None:
        offset, reason = file_path.stat().st_size, _reason(error)
    if "premature EOF" in reason:
        message = f"the JSON ends unexpectedly at byte {offset} (is the file truncated?)"
    else:
        message = f"malformed JSON at byte {offset}: {reason}"
    return FormatError(message, path=where, position=offset)


def _error_offset(file_path: Path) -> tuple[int | None, str]:
    """Where a fresh parser first fails on ``file_path``, and why.

    yajl's messages carry no offset, so the file is parsed once more: whole
    chunks up to the failing chunk, then that chunk one byte at a time. Only
    a failed read pays for it.
    """
    failure = _failing_chunk(file_path)
    if failure is None:
        return None, ""
    chunk_start, reason, at_end = failure
    if at_end:
        return chunk_start, reason
    parser = _new_parser()
    with open(file_path, "rb") as source:
        remaining = chunk_start
        while remaining:
            chunk = source.read(min(_CHUNK, remaining))
            parser.send(chunk)
            remaining -= len(chunk)
        for offset, byte in enumerate(source.read(_CHUNK), start=chunk_start):
            try:
                parser.send(bytes((byte,)))
            except ijson.JSONError as error:
                return offset, _reason(error)
    return chunk_start, reason


def _failing_chunk(file_path: Path) -> tuple[int, str, bool] | None:
    """(start of the chunk a fresh parser fails on, why, whether it failed
    only when told the input ended), or None when the file parses."""
    parser = _new_parser()
    offset = 0
    with open(file_path, "rb") as source:
        while chunk := source.read(_CHUNK):
            try:
                parser.send(chunk)
            except ijson.JSONError as error:
                return offset, _reason(error), False
            offset += len(chunk)
    try:
        parser.close()
    except ijson.JSONError as error:
        return offset, _reason(error), True
    return None


def _new_parser() -> Any:
    @ijson.utils.coroutine
    def discard():
        while True:
            yield

    return BACKEND.basic_parse_coro(discard())


def _reason(error: Exception) -> str:
    text = error.args[0] if error.args else str(error)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text).strip().splitlines()[0] if str(text).strip() else type(error).__name__


def attr_value(value: Any, kind: str | None = None) -> AttrValue | None:
    """A JSON attribute value as a record value, or None when it has none.

    Numbers become float, except for a categorical attribute, whose numeric
    categories become strings ("2"). Values of the wrong JSON type are kept
    as they are so that validation can name them.
    """
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool | str):
        return value
    if kind == CATEGORICAL:
        return str(int(value)) if float(value).is_integer() else str(value)
    return float(value)


def track_id(value: Any) -> str | None:
    """A track id as a string ("7", not "7.0"), or None."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def number(value: Any, path: str, what: str) -> float:
    """``value`` as a float; FormatError at ``path`` when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormatError(f"{what} must be a number, got {json.dumps(value)[:80]}", path=path)
    return float(value)


def frame_rate(value: Any, path: str) -> float:
    """``value`` as frames per second; FormatError at ``path`` unless it is a number
    from :data:`MIN_FPS` to :data:`MAX_FPS`."""
    fps = number(value, path, "a frame rate")
    if not MIN_FPS <= fps <= MAX_FPS:
        raise FormatError(f"a frame rate must lie between {MIN_FPS:g} and {MAX_FPS:g} fps, got {value!r}", path=path)
    return fps


def optional_number(value: Any, path: str, what: str) -> float | None:
    return None if value is None else number(value, path, what)


def integer(value: Any, path: str, what: str) -> int:
    """``value`` as an int (5 or 5.0); FormatError otherwise."""
    result = number(value, path, what)
    if not result.is_integer():
        raise FormatError(f"{what} must be a whole number, got {value}", path=path)
    return int(result)


def optional_integer(value: Any, path: str, what: str) -> int | None:
    return None if value is None else integer(value, path, what)
