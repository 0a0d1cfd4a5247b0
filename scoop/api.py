"""API-wide error shape: every error answers ``{"detail": str}`` plus, where
known, ``problems: [{"path", "message"}]``, ``path``, ``position``, ``line``,
``column`` and ``suggestions``, so a client can point at what is wrong."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from indexer.facets import FacetError
from indexer.media import MediaError
from indexer.ontology import SchemaError
from indexer.payloads import PayloadError
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


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = domain_error_response(exc)
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
