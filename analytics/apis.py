"""Search endpoint: POST a JSON body, or GET with the same fields as query
parameters (``query``, ``filters`` and ``facets`` as JSON text)."""

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.search import search_answer_json, search_run
from indexer.selectors import schema_resolve
from scoop.accounts.roles import IsAnalyst


class SearchInput(serializers.Serializer):
    query = serializers.JSONField(required=False, help_text="query tree (SPEC 2)")
    q = serializers.CharField(required=False, allow_blank=True, help_text="query in the text form")
    filters = serializers.JSONField(required=False, help_text="{facet_key: [values]}; '!value' excludes")
    gap_s = serializers.FloatField(required=False, default=1.0, min_value=0)
    page = serializers.IntegerField(required=False, default=1, min_value=1)
    page_size = serializers.IntegerField(required=False, default=20, min_value=1, max_value=500)
    facet_unit = serializers.CharField(required=False, allow_blank=True)
    facets = serializers.JSONField(required=False, help_text="facet keys to count; default all")
    schema = serializers.CharField(required=False, allow_blank=True)


def _from_query_params(params) -> dict:
    data = {}
    for key, value in params.items():
        if key in ("query", "filters", "facets"):
            try:
                data[key] = json.loads(value)
            except json.JSONDecodeError as error:
                raise serializers.ValidationError({key: [f"not valid JSON: {error.msg} at column {error.colno}"]})
        else:
            data[key] = value
    return data


class SearchApi(APIView):
    permission_classes = [IsAnalyst]

    def _answer(self, data) -> Response:
        fields = SearchInput(data=data)
        fields.is_valid(raise_exception=True)
        values = fields.validated_data
        facets = values.get("facets")
        if facets is not None and not (isinstance(facets, list) and all(isinstance(f, str) for f in facets)):
            raise serializers.ValidationError({"facets": ["must be a list of facet keys"]})
        answer = search_run(
            schema=schema_resolve(ref=values.get("schema")),
            query=values.get("query"),
            q=values.get("q"),
            filters=values.get("filters"),
            gap_s=values["gap_s"],
            page=values["page"],
            page_size=values["page_size"],
            facet_unit=values.get("facet_unit") or None,
            facets=facets,
        )
        return Response(search_answer_json(answer))

    @extend_schema(request=SearchInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        return self._answer(request.data)

    @extend_schema(
        parameters=[OpenApiParameter(name, str) for name in SearchInput().fields],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        return self._answer(_from_query_params(request.query_params))
