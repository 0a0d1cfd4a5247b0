"""The analyses API (docs/api/analyses.md): start a pipeline on a video, follow it (202 while it
runs, 200 once it ended), and download what it found and its log. Analysts and admins."""

from pathlib import Path

from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import IsAnalyst
from indexer import analyses
from indexer.api_fields import ErrorOutput
from indexer.media_apis import AnyAccept
from indexer.models import Analysis, Video
from indexer.serializers import AnalysisInput, AnalysisOutput, AnalysisQueuedOutput

# The newest analyses a list shows.
LISTED = 100
POINT = {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}}
# What the reference pipeline writes (scoop_worker.labels.video_labels): framewise ETA VideoLabels.
ETA_LABELS = {"type": "object", "description": "ETA VideoLabels, frames keyed by 1-based frame number", "properties": {
    "filename": {"type": "string"},
    "metadata": {"type": "object", "properties": {
        "frame_size": {"type": "array", "items": {"type": "integer"}}, "frame_rate": {"type": "number"},
        "total_frame_count": {"type": "integer"}, "duration": {"type": "number", "nullable": True}}},
    "frames": {"type": "object", "additionalProperties": {"type": "object", "properties": {
        "frame_number": {"type": "integer"},
        "objects": {"type": "object", "properties": {"objects": {"type": "array", "items": {
            "type": "object", "properties": {
                "type": {"type": "string"}, "label": {"type": "string"}, "name": {"type": "string"},
                "confidence": {"type": "number"}, "frame_number": {"type": "integer"},
                "index": {"type": "integer", "description": "the track"},
                "bounding_box": {"type": "object", "properties": {"top_left": POINT, "bottom_right": POINT}},
                "attrs": {"type": "object", "properties": {"attrs": {"type": "array", "items": {
                    "type": "object", "properties": {"type": {"type": "string"}, "name": {"type": "string"},
                                                     "value": {"type": "string"}, "confidence": {"type": "number"}}}}}},
                "embedding": {"type": "array", "items": {"type": "number"}}}}}}}}}}}}


class AnalysisListApi(APIView):
    """POST starts an analysis (202, where to follow it); GET lists the newest, of one video with
    ``?video=ID``."""

    permission_classes = [IsAnalyst]

    @extend_schema(request=AnalysisInput, responses={202: AnalysisQueuedOutput, 409: ErrorOutput})
    def post(self, request):
        fields = AnalysisInput(data=request.data)
        fields.is_valid(raise_exception=True)
        values = fields.validated_data
        video = Video.objects.filter(pk=values["video"]).first()
        if video is None:
            raise serializers.ValidationError({"video": [f"no video has id {values['video']}"]})
        analysis = analyses.analysis_create(video=video, pipeline=values["pipeline"], params=values["params"],
                                            user=request.user)
        return Response(AnalysisQueuedOutput(analysis).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=AnalysisOutput(many=True))
    def get(self, request):
        shown = Analysis.objects.select_related("video", "ingest_job")
        if request.query_params.get("video", "").isdigit():
            shown = shown.filter(video_id=int(request.query_params["video"]))
        return Response(AnalysisOutput(shown[:LISTED], many=True).data)


class AnalysisDetailApi(APIView):
    """One analysis: 202 while it is queued or running (with its progress), 200 once it ended
    (succeeded, with its result and ingest job, or failed, with its error)."""

    permission_classes = [IsAnalyst]

    @extend_schema(responses={200: AnalysisOutput, 202: AnalysisOutput})
    def get(self, request, analysis_id):
        analysis = get_object_or_404(Analysis.objects.select_related("video", "ingest_job"), pk=analysis_id)
        answer = status.HTTP_202_ACCEPTED if analysis.status in Analysis.UNFINISHED else status.HTTP_200_OK
        return Response(AnalysisOutput(analysis).data, status=answer)


class _AnalysisFileApi(APIView):
    permission_classes = [IsAnalyst]
    content_negotiation_class = AnyAccept


class AnalysisPayloadApi(_AnalysisFileApi):
    """The ETA labels the analysis found, as ingested (once its ingest job exists)."""

    @extend_schema(responses={(200, "application/json"): OpenApiResponse(ETA_LABELS), 404: ErrorOutput})
    def get(self, request, analysis_id):
        analysis = get_object_or_404(Analysis.objects.select_related("ingest_job"), pk=analysis_id)
        path = Path(analysis.ingest_job.payload_path) if analysis.ingest_job_id else None
        if path is None or not path.is_file():
            raise NotFound(f"analysis {analysis_id} has no labels yet (it is {analysis.status})")
        response = FileResponse(open(path, "rb"), content_type="application/json")  # noqa: SIM115 - sent, then closed
        response["Content-Disposition"] = f'attachment; filename="analysis-{analysis_id}.json"'
        return response


class AnalysisLogApi(_AnalysisFileApi):
    """What the analysis wrote, line by line."""

    @extend_schema(responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR)})
    def get(self, request, analysis_id):
        analysis = get_object_or_404(Analysis, pk=analysis_id)
        return HttpResponse(analysis.log, content_type="text/plain; charset=utf-8")
