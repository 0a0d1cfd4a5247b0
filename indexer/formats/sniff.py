"""What syntax a payload is written in, told from its first bytes, and a full
syntax check for each, so that a malformed payload is refused before any job
exists, with the line and column of the fault.

- ``json``: one JSON document (ETA, Roboflow, BDD100K, a DeepStream or
  supervision JSONSink array);
- ``ndjson``: newline-delimited JSON, one message per line (DeepStream as a
  message broker delivers it, supervision rows appended one by one);
- ``csv``: supervision CSVSink, MOTChallenge;
- ``xml``: CVAT for video 1.1;
- ``lenient-json``: a Camio export (JSON as people and scripts write it:
  see :mod:`indexer.formats.camio`).

Every check streams: memory is bounded by the longest line or XML element,
except for Camio exports, which are small and read whole (up to
:data:`indexer.formats.camio.MAX_BYTES`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError, TreeBuilder, XMLPullParser

import ijson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from indexer.formats import camio
from indexer.formats.json_walk import BACKEND, FormatError, root_kind, syntax_error

JSON = "json"
NDJSON = "ndjson"
CSV = "csv"
XML = "xml"
LENIENT_JSON = "lenient-json"

NAMES = {JSON: "JSON", NDJSON: "NDJSON", CSV: "CSV", XML: "XML", LENIENT_JSON: "Camio JSON"}

HEAD_BYTES = 64 * 1024
XML_CHUNK_BYTES = 64 * 1024
_JSON_STARTS = ("{", "[", '"', "true", "false", "null")


def head_text(path: str | Path, size: int = HEAD_BYTES) -> str:
    """The first ``size`` bytes as text, without a byte order mark (a character
    cut at the end becomes U+FFFD)."""
    with open(path, "rb") as source:
        data = source.read(size)
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def payload_syntax(path: str | Path) -> str:
    """``json``, ``ndjson``, ``csv``, ``xml`` or ``lenient-json``, from the start of the file."""
    file_path = Path(path)
    if file_path.stat().st_size == 0:
        raise FormatError("the file is empty", position=0)
    text = head_text(file_path)
    start = text.lstrip()
    if not start:
        raise FormatError("the payload holds nothing but white space")
    if start.startswith("<"):
        return XML
    if camio.looks_like(start):
        return LENIENT_JSON
    if start.startswith(_JSON_STARTS):
        return NDJSON if _is_ndjson(start) else JSON
    first_line = start.split("\n", 1)[0]
    return CSV if "," in first_line else JSON


def _is_ndjson(text: str) -> bool:
    """Whether the head is a complete JSON object on its first line followed by another line."""
    first, newline, rest = text.partition("\n")
    if not newline or not rest.strip() or not first.strip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False


def syntax_check(path: str | Path, syntax: str) -> None:
    """Read the whole payload once in ``syntax`` (any but ``json``, which
    :func:`indexer.payloads.payload_check_json` checks); FormatError with the
    line and column of the first fault."""
    file_path = Path(path)
    if syntax == NDJSON:
        for _line, _message in ndjson_messages(file_path):
            pass
    elif syntax == CSV:
        _check_csv(file_path)
    elif syntax == XML:
        _check_xml(file_path)
    elif syntax == LENIENT_JSON:
        camio.parse_lenient(file_path)
    else:
        raise ValueError(f"unknown syntax {syntax!r}")


def ndjson_messages(file_path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, message)`` for every non-blank line; each must be a JSON object."""
    with open(file_path, "rb") as source:
        for number, raw in enumerate(source, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise FormatError(f"line {number}, byte {error.start + 1} is not UTF-8") from None
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except json.JSONDecodeError as error:
                raise FormatError(f"line {number}, column {error.colno}: {error.msg}") from None
            if not isinstance(message, dict):
                raise FormatError(f"line {number} is not a JSON object")
            yield number, message


def json_messages(file_path: Path, syntax: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(path, message)`` for each message of a file of JSON messages: NDJSON
    (``line 3``), a JSON array (``[2]``, streamed) or one JSON object (``""``)."""
    if syntax == NDJSON:
        for number, message in ndjson_messages(file_path):
            yield f"line {number}", message
        return
    if root_kind(file_path) == "object":
        with open(file_path, "rb") as source:
            yield "", json.load(source)
        return
    with open(file_path, "rb") as source:
        try:
            for position, message in enumerate(BACKEND.items(source, "item", use_float=True)):
                if not isinstance(message, dict):
                    raise FormatError("a message must be a JSON object", path=f"[{position}]")
                yield f"[{position}]", message
        except ijson.JSONError as error:
            raise syntax_error(file_path, error, "") from None


def csv_rows(file_path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` for every non-blank row; every row must have as
    many fields as the first."""
    expected = None
    with open(file_path, newline="", encoding="utf-8-sig") as source:
        reader = csv.reader(source)
        try:
            for fields in reader:
                if not fields or all(not field.strip() for field in fields):
                    continue
                if expected is None:
                    expected = len(fields)
                elif len(fields) != expected:
                    raise FormatError(f"line {reader.line_num} has {len(fields)} fields, the first row has {expected}")
                yield reader.line_num, fields
        except csv.Error as error:
            raise FormatError(f"line {reader.line_num}: {error}") from None
        except UnicodeDecodeError as error:
            raise FormatError(f"byte {error.start} of a chunk near line {reader.line_num} is not UTF-8") from None


def _check_csv(file_path: Path) -> None:
    for _line, _fields in csv_rows(file_path):
        pass


def xml_elements(file_path: Path) -> Iterator[tuple[str, Any]]:
    """``(event, element)`` ("start" and "end") of a pull parser over defusedxml's
    parser: entity declarations, external entities and DTDs are refused, which
    closes the XML bomb and external entity attacks.

    Time is linear in the file's size. The expat this Python ships (2.5) parses a
    token again from its start whenever more bytes arrive, so a 30 MB attribute fed
    in fixed chunks costs quadratic time. While a chunk yields no event, the next
    chunk is twice as large, so a long token is parsed again only a logarithmic
    number of times, over a geometric series of lengths: O(n) in all."""
    parser = XMLPullParser(("start", "end"), _parser=DefusedXMLParser(target=TreeBuilder(), forbid_dtd=True))
    chunk_size = XML_CHUNK_BYTES
    try:
        with open(file_path, "rb") as source:
            while chunk := source.read(chunk_size):
                parser.feed(chunk)
                events = list(parser.read_events())
                chunk_size = XML_CHUNK_BYTES if events else chunk_size * 2
                yield from events
            parser.close()
            yield from parser.read_events()
    except ParseError as error:
        line, column = error.position
        raise FormatError(f"malformed XML at line {line}, column {column + 1}: {_xml_reason(error)}") from None
    except DefusedXmlException as error:
        raise FormatError(f"refused XML: {error} (DTDs and entities are not accepted)") from None


def _xml_reason(error: ParseError) -> str:
    return str(error).split(":", 1)[0]


def _check_xml(file_path: Path) -> None:
    root = None
    for event, element in xml_elements(file_path):
        if root is None:
            root = element
        elif event == "end":
            root.clear()
