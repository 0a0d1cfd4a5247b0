"""Search, statistics, similar tracks, region layers and exports. Every query endpoint
takes the search's query fields (``query`` or ``q``, ``filters``, ``schema``,
``gap_s``); a POST sends JSON, a GET the same fields as query parameters (``query``,
``filters`` and ``facets`` as JSON text). ``figure=1`` (body or query parameter)
adds plotly figures to a statistic. Each view validates its input, calls one service
and answers with its output serializer (:mod:`analytics.serializers`)."""

import json
from typing import Any

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import ADMIN, IsAdmin, IsAnalyst, user_has_role
from analytics import export, figures, geo, label_export, regions, saved_searches, selectors, similar, stats, watches
from analytics.export_schemas import JSON_EXPORT
from analytics.models import ExportJob, RegionLayer, SavedSearch
from analytics.search import search_run
from analytics.serializers import (
    AlertOutput,
    AlertsInput,
    AlertsOutput,
    CooccurrenceInput,
    CooccurrenceOutput,
    DetectionsGeojsonOutput,
    ExportInput,
    ExportJobOutput,
    GeoCellsOutput,
    GeoInput,
    GeoPointsOutput,
    OccurrenceInput,
    OccurrenceOutput,
    QueryInput,
    RegionCountsOutput,
    RegionLayerCreatedOutput,
    RegionLayerDetailOutput,
    RegionLayerOutput,
    RegionStatsInput,
    RegionUploadInput,
    SavedSearchInput,
    SavedSearchOutput,
    SearchInput,
    SearchOutput,
    SimilarInput,
    SimilarOutput,
    TimelineInput,
    TimelineOutput,
    TopPairsOutput,
    WatchInput,
    WatchOutput,
)
from indexer.api_fields import ErrorOutput, validated
from indexer.media_apis import AnyAccept
from indexer.request_parsing import JSONParser, json_loads_bounded
from indexer.search.contract import SearchRequest
from indexer.selectors import schema_resolve, search_request

# Query parameters that carry JSON text.
JSON_PARAMETERS = ("query", "filters", "facets", "bbox", "clips")
FIGURE_PARAMETER = OpenApiParameter("figure", bool, description="add plotly figures (like figure in the body)")


def _from_query_params(params) -> dict:
    data = {}
    for key, value in params.items():
        if key in JSON_PARAMETERS:
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



def _search_request(values: dict[str, Any], facets: list[str] | None = None) -> SearchRequest:
    return search_request(schema=schema_resolve(ref=values.get("schema")), query=values.get("query"),
                          q=values.get("q"), filters=values.get("filters"), gap_s=values["gap_s"], facets=facets,
                          tz=values.get("tz") or None)


def _time_zone(values: dict[str, Any]) -> str:
    """The request's time zone (checked by :func:`_search_request` first), else the deployment's."""
    return values.get("tz") or settings.SCOOP_TIME_ZONE


def _figure(request, values: dict[str, Any]) -> bool:
    return values.get("figure", False) or request.query_params.get("figure", "").lower() in ("1", "true", "yes")


class SearchApi(APIView):
    """Exact counts, disjunctive facets and a page of clips of the frames matching a query and filters."""

    permission_classes = [IsAnalyst]

    def _answer(self, data) -> Response:
        values = validated(SearchInput, data)
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
            tz=values.get("tz") or None,
        )
        return Response(SearchOutput(answer).data)

    @extend_schema(request=SearchInput, responses=SearchOutput)
    def post(self, request):
        return self._answer(request.data)

    @extend_schema(parameters=[SearchInput], responses=SearchOutput)
    def get(self, request):
        return self._answer(_from_query_params(request.query_params))


class OccurrenceApi(APIView):
    """Counts per label and attribute value over the matching frames, in one unit."""

    permission_classes = [IsAnalyst]

    @extend_schema(request=OccurrenceInput, parameters=[FIGURE_PARAMETER], responses=OccurrenceOutput)
    def post(self, request):
        values = validated(OccurrenceInput, request.data)
        search = _search_request(values, facets=_facet_keys(values.get("facets")))
        if values.get("group_by"):
            answer = stats.occurrence_grouped_run(request=search, unit=values["unit"], group_by=values["group_by"],
                                                  tz=_time_zone(values))
        else:
            answer = stats.occurrence_run(request=search, unit=values["unit"])
        if _figure(request, values):
            answer["figures"] = figures.occurrence_figures(ontology=search.ontology, answer=answer)
        return Response(OccurrenceOutput(answer).data)


class CooccurrenceApi(APIView):
    """The co-occurrence matrix of two facets with lift, or the top pairs of all facets."""

    permission_classes = [IsAnalyst]

    @extend_schema(request=CooccurrenceInput, parameters=[FIGURE_PARAMETER], responses=PolymorphicProxySerializer(
        component_name="CooccurrenceAnswer", serializers=[CooccurrenceOutput, TopPairsOutput],
        resource_type_field_name=None))
    def post(self, request):
        values = validated(CooccurrenceInput, request.data)
        search = _search_request(values)
        if "top" in values:
            pairs = stats.top_pairs_run(request=search, scope=values["scope"], top=values["top"],
                                        min_count=values["min_count"])
            return Response(TopPairsOutput(pairs).data)
        answer = stats.cooccurrence_run(request=search, a=values["a"], b=values["b"], scope=values["scope"])
        if _figure(request, values):
            answer["figure"] = figures.cooccurrence_figure(ontology=search.ontology, answer=answer)
        return Response(CooccurrenceOutput(answer).data)


class GeoApi(APIView):
    """Matching frames or objects in a map view: tile cells or points, as GeoJSON."""

    permission_classes = [IsAnalyst]

    @extend_schema(request=GeoInput, responses=PolymorphicProxySerializer(
        component_name="GeoAnswer", serializers=[GeoCellsOutput, GeoPointsOutput], resource_type_field_name=None))
    def post(self, request):
        values = validated(GeoInput, request.data)
        points = values["format"] == "points"
        build, output = (geo.geo_points, GeoPointsOutput) if points else (geo.geo_cells, GeoCellsOutput)
        answer = build(request=_search_request(values), bbox=values["bbox"], zoom=values["zoom"],
                       target=values["target"], grid=values["grid"])
        return Response(output(answer).data)


class RegionStatsApi(APIView):
    """A region layer with the matching frames or objects counted per region (a choropleth)."""

    permission_classes = [IsAnalyst]

    @extend_schema(request=RegionStatsInput, responses=RegionCountsOutput)
    def post(self, request):
        values = validated(RegionStatsInput, request.data)
        search = _search_request(values)
        layer = selectors.region_layer_find(layer_id=values["layer"])
        if layer is None:
            raise serializers.ValidationError({"layer": [f"no region layer has id {values['layer']}"]})
        return Response(RegionCountsOutput(regions.region_counts(layer=layer, request=search,
                                                                 target=values["target"])).data)


class TimelineApi(APIView):
    """Matching frames over video time and over recorded wall-clock time."""

    permission_classes = [IsAnalyst]

    @extend_schema(request=TimelineInput, parameters=[FIGURE_PARAMETER], responses=TimelineOutput)
    def post(self, request):
        values = validated(TimelineInput, request.data)
        search = _search_request(values)
        if values.get("group_by"):
            answer = stats.timeline_grouped_run(request=search, bins=values["bins"], group_by=values["group_by"],
                                                tz=_time_zone(values))
        else:
            answer = stats.timeline_run(request=search, bins=values["bins"])
        if _figure(request, values):
            answer["figures"] = figures.timeline_figures(answer=answer)
        return Response(TimelineOutput(answer).data)


class RegionLayerListApi(APIView):
    """Region layers: analysts list them, admins upload them (multipart ``file`` and ``name``)."""

    parser_classes = [MultiPartParser]

    def get_permissions(self):
        return [IsAdmin()] if self.request.method == "POST" else [IsAnalyst()]

    @extend_schema(responses=RegionLayerOutput(many=True))
    def get(self, request):
        return Response(RegionLayerOutput(selectors.region_layers(), many=True).data)

    @extend_schema(request={"multipart/form-data": RegionUploadInput}, responses={201: RegionLayerCreatedOutput})
    def post(self, request):
        values = validated(RegionUploadInput, request.data)
        layer = regions.region_layer_create(name=values["name"], upload=values["file"], author=request.user)
        return Response(RegionLayerCreatedOutput(layer).data, status=status.HTTP_201_CREATED)


class RegionLayerDetailApi(APIView):
    """One region layer as GeoJSON; admins delete it."""

    def get_permissions(self):
        return [IsAdmin()] if self.request.method == "DELETE" else [IsAnalyst()]

    @extend_schema(responses=RegionLayerDetailOutput)
    def get(self, request, layer_id: int):
        return Response(RegionLayerDetailOutput(get_object_or_404(RegionLayer, pk=layer_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, layer_id: int):
        regions.region_layer_delete(layer=get_object_or_404(RegionLayer, pk=layer_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SavedSearchListApi(APIView):
    """The caller's saved searches and those others share; POST saves one."""

    permission_classes = [IsAnalyst]

    @extend_schema(responses=SavedSearchOutput(many=True))
    def get(self, request):
        visible = selectors.saved_searches_visible(user=request.user)
        return Response(SavedSearchOutput(visible, many=True, context={"user": request.user}).data)

    @extend_schema(request=SavedSearchInput, responses={201: SavedSearchOutput})
    def post(self, request):
        values = validated(SavedSearchInput, request.data)
        saved = saved_searches.saved_search_create(owner=request.user, **values)
        return Response(SavedSearchOutput(saved, context={"user": request.user}).data, status=status.HTTP_201_CREATED)


class SavedSearchDetailApi(APIView):
    """One saved search; its owner changes (PUT: the fields given) or deletes it. Another's private
    saved search answers 404."""

    permission_classes = [IsAnalyst]

    def _find(self, request, saved_id: int) -> SavedSearch:
        saved = selectors.saved_search_find(user=request.user, saved_id=saved_id)
        if saved is None:
            raise NotFound(f"no saved search {saved_id} that you may see")
        return saved

    @extend_schema(responses=SavedSearchOutput)
    def get(self, request, saved_id: int):
        return Response(SavedSearchOutput(self._find(request, saved_id), context={"user": request.user}).data)

    @extend_schema(request=SavedSearchInput, responses=SavedSearchOutput)
    def put(self, request, saved_id: int):
        saved = self._find(request, saved_id)
        fields = SavedSearchInput(data=request.data, partial=True)
        fields.is_valid(raise_exception=True)
        saved = saved_searches.saved_search_update(saved=saved, actor=request.user, **fields.validated_data)
        return Response(SavedSearchOutput(saved, context={"user": request.user}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, saved_id: int):
        saved_searches.saved_search_delete(saved=self._find(request, saved_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SavedSearchWatchApi(APIView):
    """Watch a saved search (its owner): POST sets the watch (201 new, 200 changed), DELETE ends it
    (its alerts go with it)."""

    permission_classes = [IsAnalyst]

    def _own(self, request, saved_id: int) -> SavedSearch:
        saved = SavedSearchDetailApi()._find(request, saved_id)
        if saved.owner_id != request.user.pk:
            raise PermissionDenied(f"saved search '{saved.name}' belongs to {saved.owner.get_username()}: only its "
                                   "owner may watch it (save a copy of your own to watch it)")
        return saved

    @extend_schema(request=WatchInput, responses={200: WatchOutput, 201: WatchOutput})
    def post(self, request, saved_id: int):
        saved = self._own(request, saved_id)
        watch, created = watches.watch_set(saved=saved, **validated(WatchInput, request.data))
        return Response(WatchOutput(watch).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses={204: None})
    def delete(self, request, saved_id: int):
        if not watches.watch_delete(saved=self._own(request, saved_id)):
            raise NotFound(f"saved search {saved_id} is not watched")
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertListApi(APIView):
    """The caller's alerts, newest first, by watch and state."""

    permission_classes = [IsAnalyst]

    @extend_schema(parameters=[AlertsInput], responses=AlertsOutput)
    def get(self, request):
        values = validated(AlertsInput, request.query_params)
        mine = selectors.alerts_of(user=request.user)
        shown = mine
        if "watch" in values:
            shown = shown.filter(watch_id=values["watch"])
        if values.get("state"):
            shown = shown.filter(acknowledged_by__isnull=values["state"] == "unacknowledged")
        answer = {"count": shown.count(), "unacknowledged": mine.filter(acknowledged_by__isnull=True).count(),
                  "alerts": list(shown[:values["limit"]])}
        return Response(AlertsOutput(answer).data)


class AlertAckApi(APIView):
    """Acknowledge one of the caller's alerts."""

    permission_classes = [IsAnalyst]

    @extend_schema(request=None, responses=AlertOutput)
    def post(self, request, alert_id: int):
        alert = selectors.alerts_of(user=request.user).filter(pk=alert_id).first()
        if alert is None:
            raise NotFound(f"no alert {alert_id} of yours")
        return Response(AlertOutput(watches.alert_acknowledge(alert=alert, user=request.user)).data)


class _ExportApi(APIView):
    """A streamed download; errors (a bad query) answer JSON whatever the client accepts."""

    permission_classes = [IsAnalyst]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAccept
    content_type = ""
    filename = ""
    stream: Any = None  # (request=SearchRequest) -> the text chunks

    def get(self, request):
        search = _search_request(validated(QueryInput, _from_query_params(request.query_params)))
        response = StreamingHttpResponse(self.stream(request=search), content_type=self.content_type)
        response["Content-Disposition"] = f'attachment; filename="{self.filename}"'
        return response


class DetectionsGeojsonApi(_ExportApi):
    """Every detection of the matching frames as GeoJSON Points, streamed."""

    content_type = "application/geo+json"
    filename = "scoop-detections.geojson"
    stream = staticmethod(export.detections_geojson)

    @extend_schema(parameters=[QueryInput], responses={(200, "application/geo+json"): DetectionsGeojsonOutput})
    def get(self, request):
        return super().get(request)


class DetectionsCsvApi(_ExportApi):
    """Every detection of the matching frames as CSV rows (one column per object attribute), streamed."""

    content_type = "text/csv; charset=utf-8"
    filename = "scoop-detections.csv"
    stream = staticmethod(export.detections_csv)

    @extend_schema(parameters=[QueryInput], responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        return super().get(request)


def _export_scope(values: dict[str, Any]) -> label_export.Scope:
    return label_export.export_scope(request=_search_request(values), scope=values["scope"], page=values["page"],
                                     page_size=values["page_size"], clips=values.get("clips"))


class LabelExportApi(APIView):
    """The labels of a search's matches in ETA, CVAT, MOTChallenge, COCO, CSV or Camio's layout,
    streamed (docs/api/exports.md); an export of more than ``SCOOP_EXPORT_STREAM_MAX``
    detections is a 413 pointing to the export jobs."""

    permission_classes = [IsAnalyst]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAccept

    @extend_schema(parameters=[ExportInput], responses={
        **{(200, media): OpenApiTypes.BINARY for media in ("application/zip", "application/xml", "text/csv")},
        (200, "application/json"): OpenApiResponse(JSON_EXPORT),
        (413, "application/json"): ErrorOutput})
    def get(self, request):
        values = validated(ExportInput, _from_query_params(request.query_params))
        scope = _export_scope(values)
        detections = label_export.export_detections(scope=scope)
        limit = settings.SCOOP_EXPORT_STREAM_MAX
        if detections > limit:
            return Response({"detail": f"the export holds {detections} detections, more than the {limit} a "
                                       "download streams: POST the same fields to /api/v1/exports/ to run it as "
                                       "a job with progress"}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        plan = label_export.export_plan(scope=scope, format=values["format"], layout=values["layout"])
        response = StreamingHttpResponse(label_export.export_chunks(plan=plan), content_type=plan.content_type)
        response["Content-Disposition"] = f'attachment; filename="{plan.filename}"'
        return response


def _export_job(request, job_id) -> ExportJob:
    job = ExportJob.objects.filter(pk=job_id).first()
    if job is None or not (job.created_by_id == request.user.pk or user_has_role(request.user, ADMIN)):
        raise NotFound(f"no export job {job_id} of yours")
    return job


class ExportJobListApi(APIView):
    """Queue a label export as a job (the fields of GET /api/v1/export/labels, as JSON)."""

    permission_classes = [IsAnalyst]

    @extend_schema(request=ExportInput, responses={202: ExportJobOutput})
    def post(self, request):
        values = validated(ExportInput, request.data)
        _export_scope(values)  # a bad query or schema is a 400 now, not a failed job
        job = label_export.export_job_create(format=values["format"], params=values, user=request.user)
        body = ExportJobOutput(job).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class ExportJobDetailApi(APIView):
    """An export job's state and progress (videos done of videos); its file once it succeeded."""

    permission_classes = [IsAnalyst]

    @extend_schema(responses=ExportJobOutput)
    def get(self, request, job_id):
        return Response(ExportJobOutput(_export_job(request, job_id)).data)


class ExportJobFileApi(APIView):
    """The file a succeeded export job wrote."""

    permission_classes = [IsAnalyst]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAccept

    @extend_schema(responses={
        **{(200, media): OpenApiTypes.BINARY for media in ("application/zip", "application/xml", "text/csv")},
        (200, "application/json"): OpenApiResponse(JSON_EXPORT),
        (409, "application/json"): ErrorOutput})
    def get(self, request, job_id):
        job = _export_job(request, job_id)
        if job.status != ExportJob.SUCCEEDED:
            return Response({"detail": f"export job {job.pk} is {job.status}, it has no file yet"},
                            status=status.HTTP_409_CONFLICT)
        return FileResponse(open(job.file_path, "rb"), as_attachment=True, filename=job.filename,  # noqa: SIM115
                            content_type=job.content_type)


class SimilarApi(APIView):
    """The tracks most similar to a picked track (or an uploaded crop), each with a clip to play;
    the query and filters, when given, restrict the candidates."""

    permission_classes = [IsAnalyst]
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(request={"application/json": SimilarInput, "multipart/form-data": SimilarInput},
                   responses=SimilarOutput)
    def post(self, request):
        data = request.data if request.content_type.startswith("application/json") else _from_query_params(
            request.data)
        values = validated(SimilarInput, data)
        try:
            answer = similar.similar_find(
                video_id=values.get("video"), track=values.get("track"),
                image=values["image"].read() if "image" in values else None, k=values["k"],
                schema=values.get("schema"), query=values.get("query"), q=values.get("q"),
                filters=values.get("filters"))
        except similar.SimilarError as error:
            raise serializers.ValidationError({error.path: [error.message]}) from error
        return Response(SimilarOutput(answer).data)
