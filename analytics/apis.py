"""Search, statistics, region layers and exports. Every query endpoint takes the
search's query fields (``query`` or ``q``, ``filters``, ``schema``, ``gap_s``);
a POST sends JSON, a GET the same fields as query parameters (``query``,
``filters`` and ``facets`` as JSON text). ``figure=1`` (body or query parameter)
adds plotly figures to a statistic."""

import json
from typing import Any

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import IsAdmin, IsAnalyst
from analytics import export, figures, geo, regions, selectors, similar, stats
from analytics.models import RegionLayer
from analytics.search import search_answer_json, search_run
from indexer.media_apis import AnyAccept
from indexer.request_parsing import JSONParser, json_loads_bounded
from indexer.search.contract import SearchRequest
from indexer.selectors import schema_resolve, search_request

MAX_PAGE = 10**9


class QueryInput(serializers.Serializer):
    query = serializers.JSONField(
        required=False, help_text="query tree (see the query language guide, docs/guide/query-language.md)")
    q = serializers.CharField(required=False, allow_blank=True, help_text="query in the text form")
    filters = serializers.JSONField(required=False, help_text="{facet_key: [values]}; '!value' excludes")
    gap_s = serializers.FloatField(required=False, default=1.0, min_value=0)
    schema = serializers.CharField(required=False, allow_blank=True)


class SearchInput(QueryInput):
    # An index takes offsets up to 2**63: a page past that is a 400, not an engine error.
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=MAX_PAGE)
    page_size = serializers.IntegerField(required=False, default=20, min_value=1, max_value=500)
    facet_unit = serializers.CharField(required=False, allow_blank=True)
    facets = serializers.JSONField(required=False, help_text="facet keys to count; default all")


class OccurrenceInput(QueryInput):
    unit = serializers.CharField(required=False, default="objects",
                                 help_text="objects, tracks, frames, clips, videos or seconds")
    facets = serializers.JSONField(required=False, help_text="facet keys to count; default all")
    figure = serializers.BooleanField(required=False, default=False, help_text="add a bar chart per facet")


class CooccurrenceInput(QueryInput):
    a = serializers.CharField(required=False, help_text="facet key of the rows")
    b = serializers.CharField(required=False, help_text="facet key of the columns")
    scope = serializers.CharField(required=False, default="frame", help_text="object, frame or clip")
    top = serializers.IntegerField(required=False, help_text="instead of a and b: the N most over-represented pairs")
    min_count = serializers.IntegerField(required=False, default=1, help_text="top pairs seen fewer times are left out")
    figure = serializers.BooleanField(required=False, default=False, help_text="add a heatmap")

    def validate(self, data):
        given = [name for name in ("a", "b") if name in data]
        if "top" in data and given:
            raise serializers.ValidationError({"top": ["give facets a and b, or top, not both"]})
        if "top" not in data and len(given) != 2:
            raise serializers.ValidationError({"a" if "a" not in data else "b": [
                "give two facets a and b (or top: N for the most over-represented pairs)"]})
        return data


class GeoInput(QueryInput):
    bbox = serializers.JSONField(help_text="the view: [west, south, east, north], degrees")
    zoom = serializers.FloatField(min_value=0, max_value=22, help_text="the map zoom; cells are tiles of zoom + 3")
    target = serializers.CharField(required=False, default="frames", help_text="frames or objects")
    format = serializers.ChoiceField(choices=geo.FORMATS, required=False, default="cells")
    grid = serializers.CharField(required=False, default="tiles", help_text="tiles (web-mercator)")


class RegionStatsInput(QueryInput):
    layer = serializers.IntegerField(help_text="region layer id")
    target = serializers.CharField(required=False, default="frames", help_text="frames or objects")


class TimelineInput(QueryInput):
    bins = serializers.IntegerField(required=False, default=stats.DEFAULT_BINS, help_text="at most this many bins")
    figure = serializers.BooleanField(required=False, default=False, help_text="add bar charts")


class RegionUploadInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    file = serializers.FileField(help_text="GeoJSON (.geojson, .json), zipped shapefile (.zip) or GeoPackage (.gpkg)")


class RegionLayerOutput(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None)

    class Meta:
        model = RegionLayer
        fields = ["id", "name", "regions", "invalid", "source_format", "source_crs", "author", "created_at"]


def _from_query_params(params) -> dict:
    data = {}
    for key, value in params.items():
        if key in ("query", "filters", "facets", "bbox"):
            try:
                data[key] = json_loads_bounded(value)
            except json.JSONDecodeError as error:
                raise serializers.ValidationError({key: [f"not valid JSON: {error.msg} at column {error.colno}"]})
        else:
            data[key] = value
    return data


def _facet_keys(facets: Any) -> list[str] | None:
    if facets is not None and not (isinstance(facets, list) and all(isinstance(f, str) for f in facets)):
        raise serializers.ValidationError({"facets": ["must be a list of facet keys"]})
    return facets


def _valid(input_class: type[serializers.Serializer], data) -> dict[str, Any]:
    fields = input_class(data=data)
    fields.is_valid(raise_exception=True)
    return fields.validated_data


def _search_request(values: dict[str, Any], facets: list[str] | None = None) -> SearchRequest:
    return search_request(schema=schema_resolve(ref=values.get("schema")), query=values.get("query"),
                          q=values.get("q"), filters=values.get("filters"), gap_s=values["gap_s"], facets=facets)


def _figure(request, values: dict[str, Any]) -> bool:
    return values.get("figure", False) or request.query_params.get("figure", "").lower() in ("1", "true", "yes")


class SearchApi(APIView):
    permission_classes = [IsAnalyst]

    def _answer(self, data) -> Response:
        values = _valid(SearchInput, data)
        answer = search_run(
            schema=schema_resolve(ref=values.get("schema")),
            query=values.get("query"),
            q=values.get("q"),
            filters=values.get("filters"),
            gap_s=values["gap_s"],
            page=values["page"],
            page_size=values["page_size"],
            facet_unit=values.get("facet_unit") or None,
            facets=_facet_keys(values.get("facets")),
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


class OccurrenceApi(APIView):
    """Counts per label and attribute value over the matching frames, in one unit."""

    permission_classes = [IsAnalyst]

    @extend_schema(request=OccurrenceInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        values = _valid(OccurrenceInput, request.data)
        search = _search_request(values, facets=_facet_keys(values.get("facets")))
        answer = stats.occurrence_run(request=search, unit=values["unit"])
        if _figure(request, values):
            answer["figures"] = figures.occurrence_figures(ontology=search.ontology, answer=answer)
        return Response(answer)


class CooccurrenceApi(APIView):
    """The co-occurrence matrix of two facets with lift, or the top pairs of all facets."""

    permission_classes = [IsAnalyst]

    @extend_schema(request=CooccurrenceInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        values = _valid(CooccurrenceInput, request.data)
        search = _search_request(values)
        if "top" in values:
            return Response(stats.top_pairs_run(request=search, scope=values["scope"], top=values["top"],
                                                min_count=values["min_count"]))
        answer = stats.cooccurrence_run(request=search, a=values["a"], b=values["b"], scope=values["scope"])
        if _figure(request, values):
            answer["figure"] = figures.cooccurrence_figure(ontology=search.ontology, answer=answer)
        return Response(answer)


class GeoApi(APIView):
    """Matching frames or objects in a map view: tile cells or points, as GeoJSON."""

    permission_classes = [IsAnalyst]

    @extend_schema(request=GeoInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        values = _valid(GeoInput, request.data)
        build = geo.geo_points if values["format"] == "points" else geo.geo_cells
        return Response(build(request=_search_request(values), bbox=values["bbox"], zoom=values["zoom"],
                              target=values["target"], grid=values["grid"]))


class RegionStatsApi(APIView):
    """A region layer with the matching frames or objects counted per region (a choropleth)."""

    permission_classes = [IsAnalyst]

    @extend_schema(request=RegionStatsInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        values = _valid(RegionStatsInput, request.data)
        search = _search_request(values)
        layer = selectors.region_layer_find(layer_id=values["layer"])
        if layer is None:
            raise serializers.ValidationError({"layer": [f"no region layer has id {values['layer']}"]})
        return Response(regions.region_counts(layer=layer, request=search, target=values["target"]))


class TimelineApi(APIView):
    """Matching frames over video time and over recorded wall-clock time."""

    permission_classes = [IsAnalyst]

    @extend_schema(request=TimelineInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        values = _valid(TimelineInput, request.data)
        answer = stats.timeline_run(request=_search_request(values), bins=values["bins"])
        if _figure(request, values):
            answer["figures"] = figures.timeline_figures(answer=answer)
        return Response(answer)


class RegionLayerListApi(APIView):
    """Region layers: analysts list them, admins upload them (multipart ``file`` and ``name``)."""

    parser_classes = [MultiPartParser]

    def get_permissions(self):
        return [IsAdmin()] if self.request.method == "POST" else [IsAnalyst()]

    @extend_schema(responses=RegionLayerOutput(many=True))
    def get(self, request):
        return Response(RegionLayerOutput(selectors.region_layers(), many=True).data)

    @extend_schema(request={"multipart/form-data": RegionUploadInput}, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        values = _valid(RegionUploadInput, request.data)
        layer = regions.region_layer_create(name=values["name"], upload=values["file"], author=request.user)
        return Response({"id": layer.pk, "name": layer.name, "regions": layer.regions, "invalid": layer.invalid},
                        status=status.HTTP_201_CREATED)


class RegionLayerDetailApi(APIView):
    """One region layer as GeoJSON; admins delete it."""

    def get_permissions(self):
        return [IsAdmin()] if self.request.method == "DELETE" else [IsAnalyst()]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, layer_id: int):
        layer = get_object_or_404(RegionLayer, pk=layer_id)
        return Response({**layer.geojson, "id": layer.pk, "name": layer.name})

    @extend_schema(responses={204: None})
    def delete(self, request, layer_id: int):
        regions.region_layer_delete(layer=get_object_or_404(RegionLayer, pk=layer_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class _ExportApi(APIView):
    """A streamed download; errors (a bad query) answer JSON whatever the client accepts."""

    permission_classes = [IsAnalyst]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAccept
    content_type = ""
    filename = ""
    stream: Any = None  # (request=SearchRequest) -> the text chunks

    @extend_schema(parameters=[OpenApiParameter(name, str) for name in QueryInput().fields],
                   responses={200: OpenApiTypes.BINARY})
    def get(self, request):
        search = _search_request(_valid(QueryInput, _from_query_params(request.query_params)))
        response = StreamingHttpResponse(self.stream(request=search), content_type=self.content_type)
        response["Content-Disposition"] = f'attachment; filename="{self.filename}"'
        return response


class DetectionsGeojsonApi(_ExportApi):
    content_type = "application/geo+json"
    filename = "scoop-detections.geojson"
    stream = staticmethod(export.detections_geojson)


class DetectionsCsvApi(_ExportApi):
    content_type = "text/csv; charset=utf-8"
    filename = "scoop-detections.csv"
    stream = staticmethod(export.detections_csv)


SIMILAR_IMAGE_MAX_BYTES = 20 * 2**20


class SimilarInput(QueryInput):
    video = serializers.IntegerField(required=False, help_text="id of the video of the picked track")
    track = serializers.CharField(required=False, help_text="the picked track's id")
    image = serializers.FileField(required=False, help_text="instead of video and track: a crop to embed")
    k = serializers.IntegerField(required=False, default=similar.DEFAULT_K, min_value=1,
                                 max_value=similar.MAX_K, help_text="how many tracks to return")

    def validate(self, data):
        picked = [name for name in ("video", "track") if name in data]
        if "image" in data and picked:
            raise serializers.ValidationError({"image": ["give a track (video and track) or an image, not both"]})
        if "image" not in data and len(picked) != 2:
            raise serializers.ValidationError({"track" if "video" in data else "video": [
                "give the video and track of the picked track (or a multipart image)"]})
        if "image" in data and data["image"].size > SIMILAR_IMAGE_MAX_BYTES:
            raise serializers.ValidationError({"image": [f"larger than {SIMILAR_IMAGE_MAX_BYTES // 2**20} MiB"]})
        return data


class SimilarApi(APIView):
    """The tracks most similar to a picked track (or an uploaded crop), each with a clip to play;
    the query and filters, when given, restrict the candidates."""

    permission_classes = [IsAnalyst]
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(request={"application/json": SimilarInput, "multipart/form-data": SimilarInput},
                   responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        data = request.data if request.content_type.startswith("application/json") else _from_query_params(
            request.data)
        values = _valid(SimilarInput, data)
        try:
            answer = similar.similar_find(
                video_id=values.get("video"), track=values.get("track"),
                image=values["image"].read() if "image" in values else None, k=values["k"],
                schema=values.get("schema"), query=values.get("query"), q=values.get("q"),
                filters=values.get("filters"))
        except similar.SimilarError as error:
            raise serializers.ValidationError({error.path: [error.message]}) from error
        return Response(answer)
