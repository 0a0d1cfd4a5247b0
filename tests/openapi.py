"""The OpenAPI document of the API, and checks of answers against it.

:func:`document` is what ``/api/schema/`` serves (drf-spectacular's generator, run
once). :func:`problems` lists where a JSON answer breaks the schema of an operation's
answer, resolving ``$ref`` against the document's components with jsonschema (the
OpenAPI 3.0 dialect of openapi-schema-validator, which knows ``nullable``). Objects
are checked strictly: a property the document does not name is a problem, unless the
schema says ``additionalProperties``."""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

from openapi_schema_validator import OAS30ReadValidator

METHODS = ("get", "post", "put", "patch", "delete")


@cache
def document() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> set[tuple[str, str]]:
    """Every (METHOD, path template) of the document."""
    return {(method.upper(), path) for path, item in document()["paths"].items() for method in item
            if method in METHODS}


def operation(method: str, path: str) -> dict[str, Any]:
    return document()["paths"][path][method.lower()]


def path_of(template: str, **ids: Any) -> str:
    """A path template with its ``{name}`` parts filled in."""
    return re.sub(r"\{(\w+)\}", lambda match: str(ids[match.group(1)]), template)


def media_type_matches(documented: str, sent: str) -> bool:
    """``video/*`` matches ``video/webm``; parameters (``; charset=...``) are ignored."""
    documented, sent = documented.split(";")[0].strip(), sent.split(";")[0].strip()
    if documented.endswith("/*"):
        return sent.startswith(documented[:-1])
    return documented == sent


def answer_schema(method: str, path: str, status: int, content_type: str) -> dict[str, Any]:
    """The documented schema of one answer; AssertionError when the status or the media
    type is not documented."""
    responses = operation(method, path)["responses"]
    assert str(status) in responses, f"{method} {path}: status {status} is not documented ({sorted(responses)})"
    content = responses[str(status)].get("content", {})
    for media_type, body in content.items():
        if media_type_matches(media_type, content_type):
            return body["schema"]
    raise AssertionError(f"{method} {path} {status}: {content_type!r} is not documented ({sorted(content)})")


@cache
def _strict_components() -> dict[str, Any]:
    components = copy.deepcopy(document()["components"])
    for schema in components["schemas"].values():
        _strict(schema)
    return components


def _strict(schema: Any) -> None:
    """``additionalProperties: false`` on every object schema that names its properties and
    says nothing of others; and drf-spectacular's nullable reference (``allOf`` of one
    ``$ref`` beside ``nullable``, which jsonschema ignores without a ``type``) as "that, or null"."""
    if isinstance(schema, dict):
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        if schema.get("nullable") and "allOf" in schema and "type" not in schema:
            schema["anyOf"] = [{"allOf": schema.pop("allOf")}, {"enum": [None]}]
        for value in schema.values():
            _strict(value)
    elif isinstance(schema, list):
        for value in schema:
            _strict(value)


def problems(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Where ``instance`` breaks ``schema`` (empty when it conforms)."""
    validator = OAS30ReadValidator({**schema, "components": _strict_components()})
    return [f"{'/'.join(map(str, error.absolute_path)) or '$'}: {error.message[:300]}"
            for error in validator.iter_errors(instance)]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema a ``$ref`` (or an ``allOf`` of one) stands for."""
    if len(schema.get("allOf", ())) == 1:
        schema = schema["allOf"][0]
    if "$ref" in schema:
        return resolve(document()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]])
    return schema
