"""Camio label exports: timestamp-keyed label lists per camera.

Camio publishes no schema for label exports; this reader takes the layout its
API documentation implies (ISO 8601 stamps such as
``2016-01-21T20:38:31.469-0700``, cameras by name) and that the exports we
were given use::

    {"front": {"2016-01-21T20:38:31.469-0700": ["person", "car"],
               "2016-01-21T20:38:33.469-0700": [{"label": "person", "confidence": 0.8}]},
     "back": {...}}

One payload is one video, so one camera: ``options["camera"]`` names it, and
may be left out when the export holds a single camera.

- Each stamp becomes a frame: t from the origin (``options["origin"]``, else
  the earliest stamp of that camera), index = round(t * fps), fps from
  ``options["fps"]`` (30 with a warning when absent): see
  :mod:`indexer.formats.clock`.
- Each label becomes a detection without a box or track: a string is the
  label; an object gives ``label`` (or ``name``), ``confidence``, and any
  other scalar members as attributes. Labels are kept as written; the
  ontology's synonyms map them onto its labels.

Exports are not always strict JSON. What is unambiguous is repaired and each
repair reported as an ingest warning with its line and column: ``//`` and
``/* */`` comments, trailing commas, single-quoted strings, unquoted keys,
``NaN``/``Infinity`` (read as missing), and several documents written one
after another (merged, camera by camera). Anything else is a
:class:`FormatError` naming the line and column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from json.decoder import scanstring
from pathlib import Path
from typing import Any

from indexer.formats.clock import Clock, option_fps, option_origin, parse_instant
from indexer.formats.json_walk import FormatError, attr_value, child_path, optional_number
from indexer.records import Analytics, AttrValue, FrameRecord, ObjectRecord, Record, VideoMeta

FORMAT = "camio"
MAX_BYTES = 64 * 1024**2
MAX_DEPTH = 64
REPAIRS_LISTED = 100

# Possessive quantifiers (no backtracking into white space or comments): a long run
# of spaces or slashes before a mismatch costs linear time, not exponential.
_SPACE = r"(?:\s++|//[^\n]*+|/\*(?:[^*]|\*(?!/))*+\*/)*+"
_KEY = r"(?:\"[^\"\n]*\"|'[^'\n]*'|[A-Za-z_$][\w$-]*)"
_LOOKS_LIKE = re.compile(rf"{_SPACE}\{{{_SPACE}{_KEY}{_SPACE}:{_SPACE}\{{{_SPACE}[\"']?\d{{4}}-\d\d-\d\d[T ]\d\d:\d\d")
_WHITESPACE = re.compile(r"[ \t\r\n]+")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_IDENTIFIER = re.compile(r"-?[A-Za-z_$][\w$-]*")
_CONSTANTS = {"true": True, "false": False, "null": None}
_NOT_NUMBERS = {"NaN", "Infinity", "-Infinity"}


def looks_like(head: str) -> bool:
    """Whether text (the start of a payload) is a Camio export: an object of
    cameras whose first member is keyed by a date and time."""
    return _LOOKS_LIKE.match(head) is not None


def read(path: str | Path, *, options: dict | None = None) -> Analytics:
    """Read a Camio label export (see the module docstring for the layout and options)."""
    options = options or {}
    document, repairs = parse_lenient(Path(path))
    camera, stamps = _camera(document, options)
    return camera_analytics(camera, stamps, options=options, warnings=list(repairs))


def camera_analytics(camera: str, stamps: dict, *, options: dict, warnings: list[str], prefix: str | None = None
                     ) -> Analytics:
    """One camera's analytics from its ``{time stamp: [labels]}`` (paths start at ``prefix``,
    by default the camera's name)."""
    fps = option_fps(options, warnings)
    prefix = camera if prefix is None else prefix
    moments = {stamp: parse_instant(stamp, child_path(prefix, stamp), "a Camio time stamp") for stamp in stamps}
    origin = option_origin(options) or min(moments.values(), default=None)
    meta = VideoMeta(fps=fps, camera=camera, recorded_at=origin)
    records = list(_records(prefix, stamps, moments, Clock(origin, fps))) if origin else []
    analytics = Analytics.from_list(format=FORMAT, meta=meta, records=records)
    analytics.warnings = warnings
    return analytics


def _camera(document: Any, options: dict) -> tuple[str, dict]:
    if not isinstance(document, dict) or not document:
        raise FormatError("a Camio export is an object of cameras, each an object of time stamps")
    wanted = options.get("camera")
    if wanted is None:
        if len(document) > 1:
            names = ", ".join(f"'{name}'" for name in document)
            raise FormatError(f"the export holds the cameras {names}: name one with options.camera", path="options")
        wanted = next(iter(document))
    if wanted not in document:
        raise FormatError(f"the export has no camera '{wanted}'", path="options.camera")
    stamps = document[wanted]
    if not isinstance(stamps, dict):
        raise FormatError("a camera must be an object keyed by time stamp", path=child_path("", wanted))
    return wanted, stamps


def _records(prefix: str, stamps: dict, moments: dict[str, datetime], clock: Clock) -> Iterator[Record]:
    for stamp in sorted(stamps, key=moments.__getitem__):
        path = child_path(prefix, stamp)
        index, t = clock.place(moments[stamp], path)
        labels = stamps[stamp]
        if not isinstance(labels, list):
            raise FormatError("the labels of a time stamp must be a list", path=path)
        yield FrameRecord(index=index, t=t, path=path)
        for position, item in enumerate(labels):
            yield _object(item, f"{path}[{position}]", index, t)


def _object(item: Any, path: str, index: int, t: float) -> ObjectRecord:
    if isinstance(item, str) and item.strip():
        return ObjectRecord(index=index, t=t, label=item.strip(), path=path)
    if not isinstance(item, dict):
        raise FormatError(f"a label must be a string or an object, got {json.dumps(item)[:80]}", path=path)
    label = item.get("label", item.get("name"))
    if not isinstance(label, str) or not label.strip():
        raise FormatError("the label object has no label", path=path)
    attrs: dict[str, AttrValue] = {}
    attr_paths: dict[str, str] = {}
    for name, raw in item.items():
        value = None if name in ("label", "name", "confidence") else attr_value(raw)
        if value is not None:
            attrs[name] = value
            attr_paths[name] = child_path(path, name)
    return ObjectRecord(
        index=index,
        t=t,
        label=label.strip(),
        confidence=optional_number(item.get("confidence"), child_path(path, "confidence"), "confidence"),
        attrs=attrs,
        path=path,
        attr_paths=attr_paths,
    )


# ---- lenient JSON --------------------------------------------------------------------------


def parse_lenient(file_path: Path) -> tuple[Any, list[str]]:
    """The document and the repairs made, at most REPAIRS_LISTED of them with
    their position ("repaired a trailing comma (removed) at line 3, column 9"),
    then how many more."""
    size = file_path.stat().st_size
    if size > MAX_BYTES:
        raise FormatError(f"a Camio export is read whole and may be at most {MAX_BYTES} bytes; this one has {size}")
    raw = file_path.read_bytes()
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise FormatError(f"byte {error.start} is not UTF-8", position=error.start) from None
    parser = _LenientParser(text)
    document = parser.document()
    more = [f"... and {parser.unlisted} more repairs"] if parser.unlisted else []
    return document, parser.repairs + more


class _LenientParser:
    """JSON plus the repairs listed in the module docstring, each recorded with its position."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.repairs: list[str] = []
        self.unlisted = 0  # repairs past REPAIRS_LISTED, counted only
        # Where the last position asked for lies: positions are asked for in
        # increasing order, so lines are counted once over the whole text.
        self._counted_to = 0
        self._line = 1
        self._line_start = 0

    def where(self, pos: int) -> str:
        if pos < self._counted_to:
            self._counted_to, self._line, self._line_start = 0, 1, 0
        newline = self.text.rfind("\n", self._counted_to, pos)
        if newline >= 0:
            self._line += self.text.count("\n", self._counted_to, pos)
            self._line_start = newline + 1
        self._counted_to = pos
        return f"line {self._line}, column {pos - self._line_start + 1}"

    def repair(self, pos: int, what: str) -> None:
        if len(self.repairs) < REPAIRS_LISTED:
            self.repairs.append(f"repaired {what} at {self.where(pos)}")
        else:
            self.unlisted += 1

    def fail(self, expected: str) -> FormatError:
        found = self.text[self.pos : self.pos + 20]
        seen = f"found {found!r}" if found else "the text ends"
        return FormatError(
            f"malformed Camio JSON at {self.where(self.pos)}: expected {expected}, {seen}", position=self.pos
        )

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def skip(self) -> None:
        while True:
            space = _WHITESPACE.match(self.text, self.pos)
            if space:
                self.pos = space.end()
            if self.text.startswith("//", self.pos):
                self.repair(self.pos, "a // comment (ignored)")
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif self.text.startswith("/*", self.pos):
                end = self.text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.fail("the end of the /* comment")
                self.repair(self.pos, "a /* */ comment (ignored)")
                self.pos = end + 2
            else:
                return

    def document(self) -> Any:
        self.skip()
        document = self.value(0)
        self.skip()
        while self.pos < len(self.text):
            if self.peek() != "{" or not isinstance(document, dict):
                raise self.fail("the end of the document")
            self.repair(self.pos, "a second document after the first (merged into it)")
            _merge(document, self.value(0))
            self.skip()
        return document

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(f"at most {MAX_DEPTH} levels of nesting")
        char = self.peek()
        if char == "{":
            return self.object(depth)
        if char == "[":
            return self.array(depth)
        if char in ('"', "'"):
            return self.string()
        number = _NUMBER.match(self.text, self.pos)
        if number:
            self.pos = number.end()
            literal = number.group()
            return float(literal) if any(c in literal for c in ".eE") else int(literal)
        word = _IDENTIFIER.match(self.text, self.pos)
        if word and word.group() in _CONSTANTS:
            self.pos = word.end()
            return _CONSTANTS[word.group()]
        if word and word.group() in _NOT_NUMBERS:
            self.repair(self.pos, f"{word.group()} (read as missing)")
            self.pos = word.end()
            return None
        raise self.fail("a value")

    def string(self) -> str:
        start = self.pos
        if self.peek() == '"':
            try:
                value, self.pos = scanstring(self.text, self.pos + 1)
            except json.JSONDecodeError as error:
                self.pos = error.pos
                raise self.fail(f"a valid string ({error.msg})") from None
            return value
        end = self.pos + 1
        while end < len(self.text) and self.text[end] != "'":
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise self.fail("the closing ' of the string")
        body = self.text[start + 1 : end].replace("\\'", "'").replace('"', '\\"')
        try:
            value, _end = scanstring(f'{body}"', 0)
        except json.JSONDecodeError:
            raise self.fail("a valid string") from None
        self.repair(start, "a single-quoted string")
        self.pos = end + 1
        return value

    def key(self) -> str:
        if self.peek() in ('"', "'"):
            return self.string()
        word = _IDENTIFIER.match(self.text, self.pos)
        if not word or word.group().startswith("-"):
            raise self.fail("a key")
        self.repair(self.pos, f"the unquoted key {word.group()!r}")
        self.pos = word.end()
        return word.group()

    def object(self, depth: int) -> dict:
        members: dict[str, Any] = {}
        self.pos += 1
        self.skip()
        if self.peek() == "}":
            self.pos += 1
            return members
        while True:
            name = self.key()
            self.skip()
            if self.peek() != ":":
                raise self.fail("':' after the key")
            self.pos += 1
            self.skip()
            members[name] = self.value(depth + 1)
            if self.after_item("}"):
                return members

    def array(self, depth: int) -> list:
        items: list[Any] = []
        self.pos += 1
        self.skip()
        if self.peek() == "]":
            self.pos += 1
            return items
        while True:
            items.append(self.value(depth + 1))
            if self.after_item("]"):
                return items

    def after_item(self, closing: str) -> bool:
        """Past the comma after an item (False: another item follows) or the closing bracket (True)."""
        self.skip()
        if self.peek() == closing:
            self.pos += 1
            return True
        if self.peek() != ",":
            raise self.fail(f"',' or '{closing}'")
        comma = self.pos
        self.pos += 1
        self.skip()
        if self.peek() == closing:
            self.repair(comma, "a trailing comma (removed)")
            self.pos += 1
            return True
        return False


def _merge(into: dict, more: Any) -> None:
    """Merge a further document into the first: cameras join, stamps join, label lists extend."""
    for camera, stamps in more.items():
        known = into.setdefault(camera, {})
        if not isinstance(known, dict) or not isinstance(stamps, dict):
            into[camera] = stamps
            continue
        for stamp, labels in stamps.items():
            if isinstance(known.get(stamp), list) and isinstance(labels, list):
                known[stamp].extend(labels)
            else:
                known[stamp] = labels
