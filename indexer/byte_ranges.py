"""Serving media files over HTTP with byte ranges (RFC 9110, section 14), so
that a browser's video element can seek without downloading the whole file.
(Not to be confused with a live video's analytics stream, :mod:`indexer.live`.)

- no ``Range``: 200, the whole file, ``Accept-Ranges: bytes``;
- ``bytes=a-b``, ``bytes=a-``, ``bytes=-n``: 206 with ``Content-Range``;
- a range that is malformed, inverted, empty or starts past the end: 416 with
  ``Content-Range: bytes */<size>``;
- several ranges at once: 200, the whole file (RFC 9110 lets a server ignore
  ``Range``; browsers never ask for several).

Bytes are read in chunks, never the whole file at once. In production nginx
sends them instead (:func:`accel_redirect_response`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

CHUNK = 256 * 1024
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class RangeNotSatisfiable(ValueError):
    pass


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(first, last)`` byte positions a ``Range`` header asks
    for, or None to send the whole file.

    Raises :class:`RangeNotSatisfiable` for a range that cannot be served.
    """
    if not header or "," in header:
        return None
    match = _RANGE.match(header)
    if match is None:
        raise RangeNotSatisfiable(header)
    first_text, last_text = match.groups()
    if not first_text:
        suffix = int(last_text or 0)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if first >= size or last < first:
        raise RangeNotSatisfiable(header)
    return first, min(last, size - 1)


def file_response(
    path: Path, *, range_header: str | None, content_type: str, filename: str | None = None
) -> HttpResponseBase:
    """The whole file (200), the part ``range_header`` asks for (206), or 416.

    ``filename`` makes the answer a download under that name.
    """
    size = path.stat().st_size
    try:
        span = byte_range(range_header, size)
    except RangeNotSatisfiable:
        response = HttpResponse(status=416, content_type="text/plain")
        response.content = f"the range {range_header!r} cannot be served from {size} bytes".encode()
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    if span is None:
        response = FileResponse(
            open(path, "rb"),  # noqa: SIM115 - FileResponse closes it when sent
            content_type=content_type,
            as_attachment=filename is not None,
            filename=filename or "",
        )
    else:
        first, last = span
        response = StreamingHttpResponse(_read_span(path, first, last - first + 1), status=206,
                                         content_type=content_type)
        response["Content-Length"] = str(last - first + 1)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        if filename is not None:
            response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Accept-Ranges"] = "bytes"
    return response


def _read_span(path: Path, first: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(first)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def accel_redirect_response(path: Path, *, prefix: str, content_type: str) -> HttpResponse:
    """An empty answer telling nginx to send ``path`` itself from its internal
    location ``prefix`` (which maps to ``/``), ranges included."""
    response = HttpResponse(content_type=content_type)
    response["X-Accel-Redirect"] = prefix.rstrip("/") + quote(str(path))
    return response
