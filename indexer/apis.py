"""REST endpoints for label schemas, ingest and videos. Each view validates
input, calls one service or selector, and serializes the answer."""

import json

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from indexer import selectors, services
from indexer.models import LabelSchema, Video
from indexer.payloads import PayloadError
from indexer.serializers import (
    IngestInput,
    IngestJobOutput,
    SchemaDetail,
    SchemaInput,
    SchemaSummary,
    VideoOutput,
)
from scoop.accounts.roles import IsAdmin, IsAnalyst, IsAnyRole, IsWorker

CHUNK = 1024 * 1024


class SchemaListCreateApi(APIView):
    def get_permissions(self):
        return [IsAdmin()] if self.request.method == "POST" else [IsAnyRole()]

    @extend_schema(responses=SchemaSummary(many=True))
    def get(self, request):
        schemas = LabelSchema.objects.select_related("author")
        return Response(SchemaSummary(schemas, many=True).data)

    @extend_schema(request=SchemaInput, responses={201: SchemaSummary})
    def post(self, request):
        data = SchemaInput(data=request.data)
        data.is_valid(raise_exception=True)
        schema = services.schema_create(
            name=data.validated_data["name"], document=data.validated_data["schema"], author=request.user
        )
        return Response(
            {"id": schema.id, "name": schema.name, "version": schema.version}, status=status.HTTP_201_CREATED
        )


class SchemaDetailApi(APIView):
    permission_classes = [IsAnyRole]

    @extend_schema(responses=SchemaDetail)
    def get(self, request, schema_id: int):
        schema = get_object_or_404(LabelSchema.objects.select_related("author"), pk=schema_id)
        return Response(SchemaDetail(schema).data)


class IngestApi(APIView):
    permission_classes = [IsWorker]
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(request=IngestInput, responses={202: IngestJobOutput})
    def post(self, request):
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.SCOOP_INGEST_MAX_BYTES:
            raise PayloadError(
                f"the payload is larger than the limit of {settings.SCOOP_INGEST_MAX_BYTES} bytes "
                "(SCOOP_INGEST_MAX_BYTES)",
                status=413,
            )
        data = IngestInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        schema = selectors.schema_resolve(ref=fields.get("schema"))
        job = services.ingest_job_create(
            chunks=_payload_chunks(request),
            video_name=fields["video"],
            schema=schema,
            format=fields.get("format") or None,
            mode=fields["mode"],
            options=fields.get("options"),
            user=request.user,
        )
        body = IngestJobOutput(job).data
        return Response(
            {"id": body["id"], "status": body["status"], "url": body["url"]},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": body["url"]},
        )

    @extend_schema(responses=IngestJobOutput(many=True))
    def get(self, request):
        jobs = selectors.ingest_jobs_visible(user=request.user)
        page = ListAPIView.pagination_class()
        items = page.paginate_queryset(jobs, request, view=self)
        return page.get_paginated_response(IngestJobOutput(items, many=True).data)


def _payload_chunks(request):
    """The analytics: the uploaded ``file`` (streamed) or the JSON body's ``analytics``."""
    upload = request.FILES.get("file")
    if upload is not None:
        return upload.chunks(CHUNK)
    analytics = request.data.get("analytics") if hasattr(request.data, "get") else None
    if analytics is None:
        raise PayloadError("send the analytics as a multipart 'file' or as 'analytics' in a JSON body",
                           path="file")
    if isinstance(analytics, str):
        return [analytics.encode("utf-8")]
    return [json.dumps(analytics).encode("utf-8")]


class IngestDetailApi(APIView):
    permission_classes = [IsWorker]

    @extend_schema(responses=IngestJobOutput)
    def get(self, request, job_id):
        job = get_object_or_404(selectors.ingest_jobs_visible(user=request.user), pk=job_id)
        return Response(IngestJobOutput(job).data)


class VideoListApi(APIView):
    permission_classes = [IsAnalyst]

    @extend_schema(responses=VideoOutput(many=True))
    def get(self, request):
        page = ListAPIView.pagination_class()
        items = page.paginate_queryset(selectors.videos_all().select_related("schema"), request, view=self)
        return page.get_paginated_response(VideoOutput(items, many=True).data)


class VideoDetailApi(APIView):
    def get_permissions(self):
        return [IsAdmin()] if self.request.method == "DELETE" else [IsAnalyst()]

    @extend_schema(responses=VideoOutput)
    def get(self, request, video_id: int):
        return Response(VideoOutput(get_object_or_404(Video, pk=video_id)).data)

    def delete(self, request, video_id: int):
        services.video_delete(video=get_object_or_404(Video, pk=video_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
