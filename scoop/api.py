"""API-wide error shape: every error answers ``{"detail": str}`` plus, where
known, ``problems: [{"path", "message"}]``, ``path``, ``position``, ``line``,
``column`` and ``suggestions``, so a client can point at what is wrong
(:class:`indexer.api_fields.ErrorOutput` documents it). Django's own error pages under
``/api/`` and ``/media/`` are answered the same way by :mod:`scoop.api_middleware`.

How requests are read (bounded JSON, no compressed bodies) is :mod:`indexer.request_parsing`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection
from django.urls import reverse
from rest_framework import status
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from analytics.review.services import ReviewError
from indexer.facets import FacetError
from indexer.media import MediaError
from indexer.ontology import SchemaError
from indexer.ownership import WriteRefused
from indexer.payloads import PayloadError, StorageError, storage_error
from indexer.query.errors import QueryError
from indexer.selectors import SchemaNotFound
from indexer.services import VideoBusy


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
    if isinstance(error, VideoBusy):
        return Response({"detail": error.message, "job": str(error.job.pk),
                         "job_url": reverse("ingest-detail", args=[error.job.pk])}, status=error.status)
    if isinstance(error, PayloadError | MediaError | WriteRefused | ReviewError):
        body = {"detail": error.message}
        if error.path:
            body["path"] = error.path
        return Response(body, status=error.status)
    if isinstance(error, QueryError):
        return Response(_query_error_body(error), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(error, FacetError):
        return Response({"detail": error.message, "path": error.path}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(error, SchemaNotFound):
        body = {"detail": error.message, "path": error.path}
        if error.suggestions:
            body["suggestions"] = error.suggestions
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
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


def _flatten(errors: Any, prefix: str = "") -> list[dict[str, str]]:
    if isinstance(errors, dict):
        items: list[dict[str, str]] = []
        for key, value in errors.items():
            # A list serializer's errors come keyed by the index of each bad element.
            path = f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}.{key}" if prefix else str(key)
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
