"""API-wide error shape: every error answers ``{"detail": str}`` plus, where
known, ``problems: [{"path", "message"}]``, ``path``, ``position``, ``line``,
``column`` and ``suggestions``, so a client can point at what is wrong."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from indexer.facets import FacetError
from indexer.media import MediaError
from indexer.ontology import SchemaError
from indexer.payloads import PayloadError, StorageError, json_too_deep_at, storage_error
from indexer.query.errors import QueryError
from indexer.selectors import SchemaNotFound


def _query_error_body(error: QueryError) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": error.message}
    for key in ("path", "position", "line", "column"):
        value = getattr(error, key, None)
        if value is not None:
            body[key] = value
    if getattr(error, "suggestions", None):
        body["suggestions"] = list(error.suggestions)
    return body


def domain_error_response(error: Exception) -> Response | None:
    """The HTTP answer for one of Scoop's own input errors, or None."""
    if isinstance(error, SchemaError):
        problems = [{"path": path, "message": message} for path, message in error.problems]
        return Response(
            {"detail": f"the schema document has {len(problems)} problem(s)", "problems": problems},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(error, DatabaseError):
        error = storage_error(error, _database_location()) or error
    if isinstance(error, StorageError):
        return Response({"detail": error.message, "path": error.path}, status=error.status)
    if isinstance(error, PayloadError | MediaError):
        body = {"detail": error.message}
        if error.path:
            body["path"] = error.path
        return Response(body, status=error.status)
    if isinstance(error, QueryError):
        return Response(_query_error_body(error), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(error, FacetError):
        return Response({"detail": error.message, "path": error.path}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(error, SchemaNotFound):
        return Response({"detail": str(error), "path": "schema"}, status=status.HTTP_400_BAD_REQUEST)
    return None


def _database_location() -> str:
    """Where the database writes: the SQLite file's folder, or the server's database name."""
    name = connection.settings_dict["NAME"]
    return str(Path(name).parent) if connection.vendor == "sqlite" else f"database {name}"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = domain_error_response(exc) or _request_refused(exc, context)
    if response is not None:
        return response
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        # Serializer field errors: keep them and add a one-line summary.
        problems = _flatten(response.data)
        response.data = {
            "detail": "; ".join(f"{p['path']}: {p['message']}" for p in problems),
            "problems": problems,
        }
    return response


def _request_refused(error: Exception, context: dict[str, Any]) -> Response | None:
    """A body too large for memory (Django's own check, else an HTML 400) or of a
    type the view cannot read: say which limit or which types."""
    if isinstance(error, RequestDataTooBig):
        return Response({"detail": f"the request body is larger than the limit of "
                                   f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes (SCOOP_JSON_BODY_MAX_BYTES); "
                                   "send large analytics as a multipart file"},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    view = context.get("view")
    if isinstance(error, UnsupportedMediaType) and view is not None:
        accepted = ", ".join(parser.media_type for parser in view.get_parsers())
        return Response({"detail": f"{error.detail} Send one of: {accepted}.", "accepted": accepted.split(", ")},
                        status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
    return None


def refuse_content_encoding(request) -> None:
    """Raise 415 for a compressed request body: nothing decompresses it, and a
    compressed body could be a decompression bomb."""
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(request.content_type, detail=(
            f"Content-Encoding '{encoding}' is not accepted: send the body uncompressed."))


def _flatten(errors: Any, prefix: str = "") -> list[dict[str, str]]:
    if isinstance(errors, dict):
        items: list[dict[str, str]] = []
        for key, value in errors.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            items.extend(_flatten(value, path))
        return items
    if isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        return [{"path": prefix, "message": str(e)} for e in errors]
    if isinstance(errors, list):
        items = []
        for i, value in enumerate(errors):
            items.extend(_flatten(value, f"{prefix}[{i}]"))
        return items
    return [{"path": prefix, "message": str(errors)}]


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
