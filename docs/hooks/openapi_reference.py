"""MkDocs hook: the OpenAPI reference page (``api/reference.md``), generated when the
site is built from the app's own OpenAPI document (drf-spectacular, the document that
``/api/schema/`` serves), so the reference always says what the code does.

The page lists every path and method with its parameters, request body and answers,
then every component schema as a table of its properties.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File

REPO = Path(__file__).resolve().parents[2]
PAGE = "api/reference.md"
METHODS = ("get", "post", "put", "patch", "delete")
REF_PREFIX = "#/components/schemas/"
# drf-spectacular gives model integer fields the 64-bit limits as bounds: no news to a reader.
INT64_EDGE = 2**63 - 1


def on_files(files, config):
    """Add the generated page to the site's files (before the navigation is built)."""
    files.append(File.generated(config, PAGE, content=reference_markdown(openapi_document())))
    return files


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the app, with the embedded settings in a throw-away data dir."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    data_dir = tempfile.mkdtemp(prefix="scoop-docs-")
    # The embedded settings need no servers or secrets; the API is the same in every deployment.
    os.environ["DJANGO_SETTINGS_MODULE"] = "scoop.settings.embedded"
    os.environ["SCOOP_DATA_DIR"] = data_dir
    try:
        import django

        django.setup()
        # drf-spectacular reads Django's settings when imported: only after setup().
        from drf_spectacular.generators import SchemaGenerator

        return SchemaGenerator().get_schema(request=None, public=True)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def reference_markdown(document: dict[str, Any]) -> str:
    """The whole reference page for an OpenAPI document."""
    info = document.get("info", {})
    lines = [
        "# OpenAPI reference",
        "",
        f"{info.get('title', 'The API')} {info.get('version', '')}: generated from the code when this site is built,",
        "from the same OpenAPI document that a running Scoop serves at `/api/schema/` (and shows in",
        "Swagger UI at `/api/docs/`). The [API guide](index.md) explains authentication, roles and",
        "errors, with examples.",
        "",
    ]
    for path, operations in document.get("paths", {}).items():
        lines += _path_section(path, operations)
    lines += ["## Schemas", ""]
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        lines += _schema_section(name, schema)
    return "\n".join(lines) + "\n"


def _path_section(path: str, operations: dict[str, Any]) -> list[str]:
    lines = [f"## `{path}`", ""]
    for method in METHODS:
        if method in operations:
            lines += _operation(method, operations[method])
    return lines


def _operation(method: str, operation: dict[str, Any]) -> list[str]:
    lines = [f"### {method.upper()}", ""]
    text = operation.get("description") or operation.get("summary")
    if text:
        lines += [text.strip(), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
        lines += [_parameter_row(parameter) for parameter in parameters]
        lines.append("")
    body = operation.get("requestBody")
    if body:
        lines += [f"**Request body**: {_content(body.get('content', {}))}", ""]
    lines += ["| answer | body |", "|---|---|"]
    for status, answer in operation.get("responses", {}).items():
        content = answer.get("content")
        lines.append(f"| {status} | {_cell(_content(content) if content else answer.get('description') or 'empty')} |")
    lines.append("")
    return lines


def _parameter_row(parameter: dict[str, Any]) -> str:
    cells = [f"`{parameter['name']}`", parameter.get("in", ""), describe(parameter.get("schema", {})),
             "yes" if parameter.get("required") else "no", parameter.get("description", "")]
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _content(content: dict[str, Any]) -> str:
    """``application/json``: the schema, one per media type."""
    return "; ".join(f"`{media_type}`: {describe(body.get('schema', {}))}" for media_type, body in content.items())


def _schema_section(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name} {{ #{anchor(name)} }}", ""]
    if schema.get("description"):
        lines += [schema["description"].strip(), ""]
    properties = schema.get("properties")
    if not properties:
        return lines + [describe(schema), ""]
    required = set(schema.get("required", []))
    lines += ["| property | type | required | description |", "|---|---|---|---|"]
    for prop, spec in properties.items():
        cells = [f"`{prop}`", describe(spec), "yes" if prop in required else "no", _notes(spec)]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return lines + [""]


def _notes(spec: dict[str, Any]) -> str:
    notes = [spec.get("description", "").strip()]
    if "default" in spec:
        notes.append(f"default `{spec['default']}`")
    if spec.get("readOnly"):
        notes.append("read-only")
    if spec.get("writeOnly"):
        notes.append("write-only")
    return "; ".join(note for note in notes if note)


def anchor(name: str) -> str:
    return f"schema-{name.lower()}"


def describe(schema: dict[str, Any]) -> str:
    """A short Markdown description of a schema's type: links for references,
    ``array of X``, enums, formats and bounds."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(REF_PREFIX)
        return f"[{name}](#{anchor(name)})"
    for combinator, joiner in (("allOf", " and "), ("oneOf", " or "), ("anyOf", " or ")):
        if combinator in schema:
            text = joiner.join(describe(part) for part in schema[combinator])
            return f"{text}, nullable" if schema.get("nullable") else text
    text = _type_text(schema)
    if "enum" in schema:
        text += ": one of " + ", ".join(f"`{value}`" for value in schema["enum"] if value is not None)
    bounds = [f"{key} {schema[key]}" for key in ("minimum", "maximum", "minLength", "maxLength")
              if key in schema and abs(schema[key]) < INT64_EDGE]
    if bounds:
        text += f" ({', '.join(bounds)})"
    if schema.get("nullable"):
        text += ", nullable"
    return text


def _type_text(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if kind == "array":
        return f"array of {describe(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict) and schema["additionalProperties"]:
        return f"object of {describe(schema['additionalProperties'])}"
    if kind is None:
        return "any JSON value"
    return f"{kind} ({schema['format']})" if "format" in schema else str(kind)


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")
