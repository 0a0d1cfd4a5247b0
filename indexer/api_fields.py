"""Serializer fields and answer shapes that both apps' APIs share: the error answer
(:class:`ErrorOutput`, which :func:`scoop.api.exception_handler` writes), the JSON shapes
the OpenAPI document names (query trees, filters, facet values), and fields whose values
the services check while the document shows their enum or range."""

from __future__ import annotations

from collections.abc import Iterable

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from indexer.request_parsing import JSONField


class ProblemOutput(serializers.Serializer):
    path = serializers.CharField(help_text="where: a JSON path, a field name, or 'line N'")
    message = serializers.CharField()
    line = serializers.IntegerField(required=False, help_text="live chunks: the line of the chunk")


class ErrorOutput(serializers.Serializer):
    """The answer of every error status."""

    detail = serializers.CharField(help_text="what is wrong, in one line")
    problems = ProblemOutput(many=True, required=False, help_text="every problem found, each with where it is")
    path = serializers.CharField(required=False, allow_null=True, help_text="the field or JSON path at fault")
    position = serializers.IntegerField(required=False, help_text="query text: the character at fault")
    line = serializers.IntegerField(required=False, help_text="query text: its line")
    column = serializers.IntegerField(required=False, help_text="query text: its column")
    suggestions = serializers.ListField(child=serializers.CharField(), required=False,
                                        help_text="the nearest known names")
    accepted = serializers.ListField(child=serializers.CharField(), required=False,
                                     help_text="415: the media types the endpoint reads")


def _component(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


@extend_schema_field(_component("QueryTree"))
class QueryTreeField(JSONField):
    """A query tree; the query language checks it (errors name the node at fault)."""


@extend_schema_field(_component("Filters"))
class FiltersField(JSONField):
    """Sidebar filters ``{facet key: [values]}``; checked against the schema's facets."""


@extend_schema_field({"type": "array", "items": {"type": "string"}, "description": "facet keys"})
class FacetKeysField(JSONField):
    """A list of facet keys; checked against the schema's facets."""


@extend_schema_field({**_component("FacetValue"), "nullable": True})
class FacetValueField(JSONField):
    """A facet or attribute value as the index holds it: text, a number or a boolean."""


class TextChoiceField(serializers.CharField):
    """Text whose allowed values the service checks (its error names the field and the
    values); the OpenAPI document lists them as an enum."""

    def __init__(self, *, choices: Iterable[str], **kwargs):
        self.choices = list(choices)
        super().__init__(**kwargs)


class TextChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = TextChoiceField

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": self.target.choices}


class IntegerRangeField(serializers.IntegerField):
    """An integer whose range the service checks (its error names the field and the
    range); the OpenAPI document shows the range."""

    def __init__(self, *, minimum: int, maximum: int | None = None, **kwargs):
        self.minimum, self.maximum = minimum, maximum
        super().__init__(**kwargs)


class IntegerRangeFieldExtension(OpenApiSerializerFieldExtension):
    target_class = IntegerRangeField

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "integer", "minimum": self.target.minimum}
        if self.target.maximum is not None:
            schema["maximum"] = self.target.maximum
        return schema


@extend_schema_field({"type": "number"})
class NumberField(serializers.FloatField):
    """A number as computed: an integer stays an integer in the answer."""

    def to_representation(self, value):
        return value


def validated(input_class: type[serializers.Serializer], data) -> dict:
    """``data`` checked by the input serializer ``input_class``: its validated fields, or a 400
    naming each field that is wrong."""
    fields = input_class(data=data)
    fields.is_valid(raise_exception=True)
    return fields.validated_data
