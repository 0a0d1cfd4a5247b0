"""The OpenAPI document: valid OpenAPI 3, every answer and parameter typed, the limits
those of :mod:`indexer.limits`, and each enforced at that number."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from indexer import limits
from tests.openapi import document, operations, resolve

# Request fields whose JSON is free by nature: analytics in any of eight input formats,
# an uploaded schema document in any of its layouts, a reader's own options.
FREE_REQUEST_FIELDS = {"IngestJsonInputRequest.analytics", "SchemaInputRequest.schema",
                       "IngestJsonInputRequest.options", "IngestUploadInputRequest.options"}


def untyped(schema: Any, where: str, seen: set[str]) -> list[str]:
    """Where ``schema`` has an object (or a value) that says nothing of what it holds."""
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return untyped(document()["components"]["schemas"][name], name, seen)
    found = []
    if not schema or schema.get("type") == "object" and "properties" not in schema and (
            schema.get("additionalProperties") in (None, True, {})):
        found.append(where)
    for key, value in schema.get("properties", {}).items():
        found += [] if f"{where}.{key}" in FREE_REQUEST_FIELDS else untyped(value, f"{where}.{key}", seen)
    for key in ("items", "additionalProperties", "not"):
        found += untyped(schema.get(key), f"{where}[{key}]", seen)
    for key in ("allOf", "anyOf", "oneOf"):
        for i, part in enumerate(schema.get(key, ())):
            found += untyped(part, f"{where}.{key}[{i}]", seen)
    return found


def test_the_served_document_is_valid_openapi(admin_client):
    served = admin_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert served.status_code == 200
    validate(served.json())
    assert served.json()["paths"] == document()["paths"]


def test_every_answer_request_and_parameter_is_typed():
    found = []
    for method, path in sorted(operations()):
        operation = document()["paths"][path][method.lower()]
        where = f"{method} {path}"
        for status, answer in operation["responses"].items():
            for media_type, body in answer.get("content", {}).items():
                found += untyped(body["schema"], f"{where} {status} {media_type}", set())
        for media_type, body in operation.get("requestBody", {}).get("content", {}).items():
            found += untyped(body["schema"], f"{where} request {media_type}", set())
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema") or parameter["content"]["application/json"]["schema"]
            found += untyped(schema, f"{where} parameter {parameter['name']}", set())

    assert found == [], "\n".join(found)


def _parameter_type(parameter: dict) -> str:
    if "content" in parameter:
        return "json"
    schema = resolve(parameter["schema"])
    return "enum" if "enum" in schema else schema.get("format", schema["type"])


def test_get_parameters_have_their_real_types():
    types = {(path, parameter["name"]): _parameter_type(parameter)
             for method, path in operations() if method == "GET"
             for parameter in document()["paths"][path]["get"].get("parameters", [])}

    assert types[("/api/v1/search/", "page")] == types[("/api/v1/search/", "page_size")] == "integer"
    assert types[("/api/v1/search/", "gap_s")] == "double"
    assert types[("/api/v1/search/", "facet_unit")] == "enum"
    assert {types[("/api/v1/search/", name)] for name in ("query", "filters", "facets")} == {"json"}
    assert types[("/api/v1/videos/{video_id}/clip.mp4", "overlay")] == "boolean"
    assert types[("/api/v1/videos/{video_id}/labels/", "query")] == "json"
    assert types[("/media/videos/{video_id}/thumbnail.jpg", "w")] == "integer"
    assert types[("/api/v1/export/detections.csv", "filters")] == "json"
    assert types[("/api/v1/ingest/{job_id}/", "job_id")] == "uuid"
    # Text is text only where it is: a query in the text form, a schema's or a pipeline's name, the
    # audit log's actor (a username) and target (kind:id), a time zone's IANA name (tz) and the camera
    # whose zones to list.
    assert {name for (path, name), kind in types.items() if kind == "string"} == {
        "q", "schema", "actor", "target", "name", "tz", "camera"}


def _field(component: str, name: str) -> dict:
    return resolve(document()["components"]["schemas"][component]["properties"][name])


@pytest.mark.parametrize(("component", "field", "key", "limit"), [
    ("SearchInputRequest", "page_size", "maximum", limits.PAGE_SIZE_MAX),
    ("SearchInputRequest", "page_size", "default", limits.PAGE_SIZE_DEFAULT),
    ("SearchInputRequest", "page", "maximum", limits.PAGE_MAX),
    ("SimilarInputRequest", "k", "maximum", limits.MAX_K),
    ("SimilarInputRequest", "k", "default", limits.SIMILAR_K_DEFAULT),
    ("TimelineInputRequest", "bins", "maximum", limits.TIMELINE_BINS_MAX),
    ("TimelineInputRequest", "bins", "default", limits.TIMELINE_BINS_DEFAULT),
    ("CooccurrenceInputRequest", "top", "maximum", limits.TOP_PAIRS_MAX),
    ("GeoInputRequest", "zoom", "maximum", limits.MAX_TILE_LEVEL),
    ("IngestJsonInputRequest", "video", "maxLength", limits.VIDEO_NAME_MAX),
])
def test_the_document_shows_the_limits(component, field, key, limit):
    assert _field(component, field)[key] == limit


def test_the_description_lists_the_limits(settings):
    description = document()["info"]["description"]

    assert f"| search page size | {limits.PAGE_SIZE_MAX} clips" in description
    assert f"| JSON nesting in requests | {limits.REQUEST_JSON_MAX_DEPTH} levels |" in description
    assert f"{settings.SCOOP_INGEST_MAX_BYTES} bytes (SCOOP_INGEST_MAX_BYTES)" in description


@pytest.mark.django_db
@pytest.mark.parametrize(("endpoint", "body", "field"), [
    ("search", {"page_size": limits.PAGE_SIZE_MAX + 1}, "page_size"),
    ("search", {"page": limits.PAGE_MAX + 1}, "page"),
    ("stats/timeline", {"bins": limits.TIMELINE_BINS_MAX + 1}, "bins"),
    ("stats/cooccurrence", {"top": limits.TOP_PAIRS_MAX + 1}, "top"),
    ("stats/geo", {"bbox": [0, 0, 1, 1], "zoom": limits.MAX_TILE_LEVEL + 1}, "zoom"),
    ("similar", {"video": 1, "track": "1", "k": limits.MAX_K + 1}, "k"),
])
def test_one_past_each_limit_is_refused_naming_the_field(analyst_client, admin_client, demo_ontology_document,
                                                         endpoint, body, field):
    admin_client.post("/api/v1/schemas/", {"name": "demo", "schema": demo_ontology_document}, format="json")

    response = analyst_client.post(f"/api/v1/{endpoint}/", body, format="json")

    assert response.status_code == 400
    answer = response.json()
    assert field in [answer.get("path")] + [problem["path"] for problem in answer.get("problems", [])], answer


@pytest.mark.django_db
@pytest.mark.parametrize(("endpoint", "body"), [
    ("search", {"page_size": limits.PAGE_SIZE_MAX}),
    ("stats/timeline", {"bins": limits.TIMELINE_BINS_MAX}),
    ("stats/cooccurrence", {"top": limits.TOP_PAIRS_MAX}),
])
def test_each_limit_itself_is_taken(analyst_client, admin_client, demo_ontology_document, endpoint, body):
    admin_client.post("/api/v1/schemas/", {"name": "demo", "schema": demo_ontology_document}, format="json")

    assert analyst_client.post(f"/api/v1/{endpoint}/", body, format="json").status_code == 200
