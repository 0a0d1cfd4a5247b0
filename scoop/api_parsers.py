"""Reading request bodies: JSON nested at most :data:`~indexer.limits.REQUEST_JSON_MAX_DEPTH`
deep, never a compressed body.

DRF's settings name :class:`JSONParser`, so this module imports no DRF view: DRF reads
its parser setting when its views module loads."""

from __future__ import annotations

import io
import json
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError, UnsupportedMediaType

from indexer.limits import REQUEST_JSON_MAX_DEPTH
from indexer.payloads import json_too_deep_at


def refuse_content_encoding(request) -> None:
    """Raise 415 for a compressed request body: nothing decompresses it, and a
    compressed body could be a decompression bomb."""
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(request.content_type, detail=(
            f"Content-Encoding '{encoding}' is not accepted: send the body uncompressed."))


def json_loads_bounded(text: str | bytes) -> Any:
    """``json.loads``, refusing text nested deeper than :data:`REQUEST_JSON_MAX_DEPTH`
    with a :class:`json.JSONDecodeError` at the offending position."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    too_deep = json_too_deep_at([data], max_depth=REQUEST_JSON_MAX_DEPTH)
    if too_deep is not None:
        position = len(data[:too_deep].decode("utf-8", "replace")) if isinstance(text, str) else too_deep
        raise json.JSONDecodeError(f"nested more than {REQUEST_JSON_MAX_DEPTH} levels deep", text, position)
    return json.loads(text)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing a body nested deeper than
    :data:`REQUEST_JSON_MAX_DEPTH` (a 400 naming the byte) before ``json`` recurses."""

    def parse(self, stream, media_type=None, parser_context=None):
        if parser_context and parser_context.get("request") is not None:
            refuse_content_encoding(parser_context["request"])
        body = stream.read() if stream is not None else b""
        too_deep = json_too_deep_at([body], max_depth=REQUEST_JSON_MAX_DEPTH)
        if too_deep is not None:
            raise ParseError(f"JSON parse error - nested more than {REQUEST_JSON_MAX_DEPTH} levels deep "
                             f"at byte {too_deep}")
        return super().parse(io.BytesIO(body), media_type, parser_context)
