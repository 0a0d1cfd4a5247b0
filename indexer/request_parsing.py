"""How API requests are read: JSON nested at most :data:`REQUEST_JSON_MAX_DEPTH` deep
(DRF's parser and JSONField, and :func:`json_loads_bounded` for JSON text in query
parameters and form fields), and no compressed bodies. Both apps' views and
serializers read their input with these; errors become 400 or 415 answers."""

from __future__ import annotations

import io
import json
from typing import Any

from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError, UnsupportedMediaType

from indexer.payloads import json_too_deep_at


def refuse_content_encoding(request) -> None:
    """Raise 415 for a compressed request body: nothing decompresses it, and a
    compressed body could be a decompression bomb."""
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(request.content_type, detail=(
            f"Content-Encoding '{encoding}' is not accepted: send the body uncompressed."))


# JSON in requests (bodies, JSON text in parameters and form fields) nests at most this
# deep: room for a query tree of the 64 levels the query language allows (two JSON
# levels a node) and its wrapping, while Python's json, which recurses, stays far
# from its recursion limit. Analytics payloads have their own, tighter limit.
REQUEST_JSON_MAX_DEPTH = 256


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


class JSONField(serializers.JSONField):
    """DRF's JSONField, with JSON text (a query parameter, a form field) read by
    :func:`json_loads_bounded`."""

    def to_internal_value(self, data):
        if isinstance(data, str | bytes) and (self.binary or getattr(data, "is_json_string", False)):
            try:
                return json_loads_bounded(data)
            except ValueError as error:
                raise serializers.ValidationError(f"not valid JSON: {error}") from error
        return super().to_internal_value(data)
