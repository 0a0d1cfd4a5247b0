"""How the OpenAPI document (``/api/schema/``) is written.

drf-spectacular writes it from the views' serializers; this module adds what the
serializers cannot say:

- :class:`AutoSchema` documents the error answers (:class:`scoop.api.ErrorOutput`) of
  every operation;
- :func:`postprocess_schema` adds the JSON components that describe free-standing JSON
  (a query tree, sidebar filters, GeoJSON geometry, plotly figures), marks query
  parameters that carry JSON text as ``application/json`` content, and lists the
  limits (:mod:`indexer.limits`) in the document's description;
- :class:`TokenScheme` documents the token header.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import status

from analytics import geo
from indexer import limits
from indexer.api_fields import ErrorOutput
from indexer.formats import FORMATS, STREAM_READERS
from indexer.query.tree import MAX_POLYGON_VERTICES, MIN_POLYGON_VERTICES
from indexer.search import contract

# The choice sets that several fields share, named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].
STAT_UNITS = list(contract.STAT_UNITS)
FRAMES_OR_OBJECTS = list(contract.GEO_TARGETS)  # map targets, and the units of dropped schema values
GEO_FORMATS = list(geo.FORMATS)
INGEST_FORMATS = list(FORMATS)
STREAM_FORMATS = sorted(STREAM_READERS)


def ref(name: str) -> dict[str, str]:
    """A reference to one of the document's components."""
    return {"$ref": f"#/components/schemas/{name}"}


SCALAR = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}
RANGE = {
    "type": "object",
    "description": "a range of numbers (or, for recorded_at, ISO 8601 times): at least one bound",
    "properties": {"gte": {"anyOf": [{"type": "number"}, {"type": "string"}]},
                   "lte": {"anyOf": [{"type": "number"}, {"type": "string"}]}},
    "additionalProperties": False,
    "minProperties": 1,
}
CONDITION = {
    "description": 'an attribute condition: a value, a list of values (any of them), {"in": [values]}, '
                   'or a range {"gte", "lte"} of a numeric attribute',
    "anyOf": [
        ref("FacetValue"),
        {"type": "array", "items": ref("FacetValue")},
        {"type": "object", "properties": {"in": {"type": "array", "items": ref("FacetValue")}},
         "required": ["in"], "additionalProperties": False},
        ref("Range"),
    ],
}
ATTRIBUTE_CONDITIONS = {"type": "object", "additionalProperties": ref("Condition"),
                        "description": "{attribute name: condition}"}
LABELED = {
    "type": "object",
    "properties": {"label": {"type": "string", "nullable": True, "description": "a label or a synonym; any when null"},
                   "attrs": ATTRIBUTE_CONDITIONS},
    "additionalProperties": False,
}
QUERY_TREE = {
    "type": "object",
    "description": "A query tree node: an object with exactly one key, its kind. and/or/not combine nodes; "
                   "object, event, frame, video, geo and time are predicates on a frame. "
                   f"At most {limits.QUERY_MAX_DEPTH} levels deep.",
    "minProperties": 1,
    "maxProperties": 1,
    "properties": {
        "and": {"type": "array", "items": ref("QueryTree"), "description": "every child matches"},
        "or": {"type": "array", "items": ref("QueryTree"), "description": "some child matches"},
        "not": ref("QueryTree"),
        "object": {
            **LABELED,
            "description": "a detection in the frame with this label, these attributes, confidence and track",
            "properties": {**LABELED["properties"], "confidence": ref("Range"),
                           "track": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        },
        "event": {**LABELED, "description": "an event spanning the frame"},
        "frame": {**ATTRIBUTE_CONDITIONS, "minProperties": 1, "description": "frame attributes"},
        "video": {**ATTRIBUTE_CONDITIONS, "minProperties": 1,
                  "description": "video attributes and the built-ins name, camera and recorded_at"},
        "geo": {
            "type": "object",
            "description": "where the frame was recorded: one of bbox or polygon, degrees",
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {
                "bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
                         "description": "[west, south, east, north]"},
                "polygon": {"type": "array", "minItems": MIN_POLYGON_VERTICES, "maxItems": MAX_POLYGON_VERTICES,
                            "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
                            "description": "[[lon, lat], ...]"},
            },
            "additionalProperties": False,
        },
        "time": {**RANGE, "description": "seconds from the start of the video"},
        "sequence": {
            "type": "object",
            "description": "then holds on the frame and first on a strictly earlier frame of the video at most "
                           "within_s seconds before (text: A THEN B WITHIN 10s)",
            "properties": {"first": ref("QueryTree"), "then": ref("QueryTree"),
                           "within_s": {"type": "number", "minimum": 0, "exclusiveMinimum": True}},
            "required": ["first", "then", "within_s"],
            "additionalProperties": False,
        },
        "dwell": {
            "type": "object",
            "description": "the frame is in a run of query (per track for an object query) that began at least "
                           "min_s seconds before; a run goes on across gaps shorter than gap_s, default 3 "
                           "(text: A FOR >= 300s GAP 2s)",
            "properties": {"query": ref("QueryTree"), "min_s": {"type": "number", "minimum": 0},
                           "gap_s": {"type": "number", "minimum": 0, "exclusiveMinimum": True}},
            "required": ["query", "min_s"],
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
FILTERS = {
    "type": "object",
    "description": "sidebar filters {facet key: [values]}; a value '!v' excludes v; the lists of different "
                   "facets all hold, values of one facet are alternatives",
    "additionalProperties": {"anyOf": [ref("FacetValue"), {"type": "array", "items": ref("FacetValue")}]},
}
POSITION = {"type": "array", "items": {"type": "number"}, "minItems": 2, "description": "[lon, lat]"}
GEOMETRY = {
    "type": "object",
    "description": "a GeoJSON geometry (WGS84)",
    "properties": {
        "type": {"type": "string", "enum": ["Point", "Polygon", "MultiPolygon"]},
        "coordinates": {"anyOf": [
            POSITION,
            {"type": "array", "items": {"type": "array", "items": POSITION}},
            {"type": "array", "items": {"type": "array", "items": {"type": "array", "items": POSITION}}},
        ]},
    },
    "required": ["type", "coordinates"],
}
PLOTLY_FIGURE = {
    "type": "object",
    "description": "a plotly figure as plotly.js reads it (plotly's to_plotly_json())",
    "properties": {
        "data": {"type": "array", "items": {
            "type": "object",
            "description": "a trace: its type, its points and how they are drawn (plotly's trace attributes)",
            "properties": {"type": {"type": "string"}, "x": {"type": "array", "items": SCALAR},
                           "y": {"type": "array", "items": SCALAR}},
            "additionalProperties": True,
        }},
        "layout": {
            "type": "object",
            "description": "titles, axes and styling (plotly's layout attributes)",
            "properties": {"title": {"type": "object", "properties": {"text": {"type": "string"}},
                                     "additionalProperties": True},
                           "xaxis": {"type": "object", "additionalProperties": True, "properties": {
                               "type": {"type": "string"}}},
                           "yaxis": {"type": "object", "additionalProperties": True, "properties": {
                               "type": {"type": "string"}}}},
            "additionalProperties": True,
        },
    },
    "required": ["data", "layout"],
}
COMPONENTS = {
    "FacetValue": {**SCALAR, "description": "a facet or attribute value"},
    "Range": RANGE,
    "Condition": CONDITION,
    "QueryTree": QUERY_TREE,
    "Filters": FILTERS,
    "Geometry": GEOMETRY,
    "PlotlyFigure": PLOTLY_FIGURE,
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, adding the error answers every operation can give: 401 and
    403 (roles), 429 (token rates), 400 for input, 413 and 415 for a body, 404 for an
    id in the path. A view documents its other errors itself."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            responses.setdefault(str(code), self._get_response_for_code(ErrorOutput, str(code), direction=direction))
        return responses

    def _error_codes(self) -> list[int]:
        codes = [status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN, status.HTTP_429_TOO_MANY_REQUESTS]
        if self.method in ("POST", "PUT", "PATCH"):
            codes += [status.HTTP_400_BAD_REQUEST, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                      status.HTTP_415_UNSUPPORTED_MEDIA_TYPE]
        elif self.get_override_parameters():
            codes.append(status.HTTP_400_BAD_REQUEST)
        if "{" in self.path or (self._is_list_view() and self._get_paginator()):
            codes.append(status.HTTP_404_NOT_FOUND)  # an unknown id, or a page past the last
        return sorted(codes)


class TokenScheme(OpenApiAuthenticationExtension):
    """The API token, sent as ``Authorization: Bearer <token>`` (or ``Token <token>``)."""

    target_class = "accounts.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "an API token (manage.py issue_token): Authorization: Bearer <token>; "
                               "Authorization: Token <token> is taken too"}


def postprocess_schema(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular hook: the JSON components, JSON-text parameters and the limits."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                _json_text_parameter(parameter, result["components"]["schemas"])
    result["info"]["description"] = f"{result['info'].get('description', '')}\n\n{describe_limits()}"
    return result


def _json_text_parameter(parameter: dict[str, Any], components: dict[str, Any]) -> None:
    """A query parameter whose value is an object or a list is sent as JSON text
    (``?filters={"label":["vehicle"]}``): OpenAPI says so with ``content``, not ``schema``."""
    schema = parameter.get("schema")
    if parameter.get("in") != "query" or schema is None:
        return
    if _resolved(schema, components).get("type") not in ("object", "array"):
        return
    del parameter["schema"]
    for key in ("style", "explode"):
        parameter.pop(key, None)
    parameter["content"] = {"application/json": {"schema": schema}}


def _resolved(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """The schema a reference (or drf-spectacular's ``allOf`` of one reference) stands for."""
    if len(schema.get("allOf", ())) == 1:
        schema = schema["allOf"][0]
    if "$ref" in schema:
        return _resolved(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    return schema


def describe_limits() -> str:
    """The limits section of the API description (Markdown)."""
    rows = [
        ("analytics payload (ingest)", f"{settings.SCOOP_INGEST_MAX_BYTES} bytes (SCOOP_INGEST_MAX_BYTES)"),
        ("JSON request body, live chunk", f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes (SCOOP_JSON_BODY_MAX_BYTES)"),
        ("media file", f"{settings.SCOOP_MEDIA_MAX_BYTES} bytes (SCOOP_MEDIA_MAX_BYTES)"),
        ("region layer file", f"{limits.REGION_UPLOAD_MAX_BYTES} bytes"),
        ("similar: uploaded crop", f"{limits.SIMILAR_IMAGE_MAX_BYTES} bytes"),
        ("MOTChallenge seqinfo", f"{limits.SEQINFO_MAX_BYTES} bytes"),
        ("JSON nesting in requests", f"{limits.REQUEST_JSON_MAX_DEPTH} levels"),
        ("JSON nesting in analytics payloads", f"{limits.PAYLOAD_JSON_MAX_DEPTH} levels"),
        ("query tree nesting", f"{limits.QUERY_MAX_DEPTH} levels"),
        ("search page size", f"{limits.PAGE_SIZE_MAX} clips (default {limits.PAGE_SIZE_DEFAULT})"),
        ("search page", f"{limits.PAGE_MAX}"),
        ("list pages (videos, ingest jobs)", f"{settings.REST_FRAMEWORK['PAGE_SIZE']} items"),
        ("similar tracks k", f"{limits.MAX_K} (default {limits.SIMILAR_K_DEFAULT})"),
        ("timeline bins", f"{limits.TIMELINE_BINS_MAX} (default {limits.TIMELINE_BINS_DEFAULT})"),
        ("co-occurrence top pairs", f"{limits.TOP_PAIRS_MAX}"),
        ("map points in a view", f"{limits.GEO_POINTS_MAX}"),
        ("map zoom", f"0 to {limits.MAX_TILE_LEVEL}"),
        ("clip export", f"{limits.CUT_MAX_S:g} seconds"),
        ("thumbnail width", f"{limits.THUMBNAIL_WIDTH_MIN} to {limits.THUMBNAIL_WIDTH_MAX} pixels"),
    ]
    table = "\n".join(f"| {what} | {limit} |" for what, limit in rows)
    return f"## Limits\n\n| what | at most |\n| --- | --- |\n{table}"
