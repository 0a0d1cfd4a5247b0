"""REST endpoints for label schemas, ingest, videos, their media and labels.
Each view validates input, calls one service or selector, and serializes the
answer. The views that answer with bytes (streams, pictures, clips) are in
:mod:`indexer.media_apis`."""

import json

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.search import search_request
from indexer import selectors, services
from indexer.media import MediaError
from indexer.models import LabelSchema, Video
from indexer.payloads import PayloadError
from indexer.serializers import (
    IngestInput,
    IngestJobOutput,
    LabelsInput,
    MediaInput,
    MediaOutput,
    SchemaDetail,
    SchemaInput,
    SchemaSummary,
    VideoCreateInput,
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
    def get_permissions(self):
        return [IsWorker()] if self.request.method == "POST" else [IsAnalyst()]

    @extend_schema(responses=VideoOutput(many=True))
    def get(self, request):
        page = ListAPIView.pagination_class()
        items = page.paginate_queryset(selectors.videos_all().select_related("schema"), request, view=self)
        return page.get_paginated_response(VideoOutput(items, many=True).data)

    @extend_schema(request=VideoCreateInput, responses={201: MediaOutput, 200: MediaOutput})
    def post(self, request):
        """Name a video before its analytics arrive (to give it media first);
        an existing name answers 200 with that video."""
        data = VideoCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        video, created = services.video_get_or_create(name=data.validated_data["name"])
        return Response(MediaOutput(video).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
                        headers={"Location": reverse("video-detail", args=[video.pk])})


class VideoDetailApi(APIView):
    def get_permissions(self):
        return [IsAdmin()] if self.request.method == "DELETE" else [IsAnalyst()]

    @extend_schema(responses=VideoOutput)
    def get(self, request, video_id: int):
        return Response(VideoOutput(get_object_or_404(Video, pk=video_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, video_id: int):
        services.video_delete(video=get_object_or_404(Video, pk=video_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class VideoMediaApi(APIView):
    """A video's media: a multipart ``file`` upload, or JSON ``{"path"}`` (a
    file on the server) or ``{"url"}`` (played by the browser directly)."""

    parser_classes = [MultiPartParser, JSONParser]

    def get_permissions(self):
        return [IsWorker()] if self.request.method == "POST" else [IsAnyRole()]

    @extend_schema(responses=MediaOutput)
    def get(self, request, video_id: int):
        return Response(MediaOutput(get_object_or_404(Video, pk=video_id)).data)

    @extend_schema(request=MediaInput, responses={202: MediaOutput, 200: MediaOutput})
    def post(self, request, video_id: int):
        video = get_object_or_404(Video, pk=video_id)
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.SCOOP_MEDIA_MAX_BYTES:
            raise MediaError(
                f"the media file is larger than the limit of {settings.SCOOP_MEDIA_MAX_BYTES} bytes "
                "(SCOOP_MEDIA_MAX_BYTES)",
                status=413,
                path="file",
            )
        data = MediaInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        if "file" in fields:
            video = services.video_media_upload(video=video, upload=fields["file"])
        else:
            video = services.video_media_register(video=video, path=fields.get("path"), url=fields.get("url"))
        # A local file is probed by a queued task: 202 until it has been.
        probing = video.media_status == Video.MEDIA_PROBING
        return Response(MediaOutput(video).data, status=status.HTTP_202_ACCEPTED if probing else status.HTTP_200_OK)


class VideoLabelsApi(APIView):
    """Per-frame labels for drawing overlays: ``start_s <= t < end_s``. With ``q``,
    ``query`` or ``filters``, only the labels that match them (``"matching": true``)."""

    permission_classes = [IsAnalyst]

    @extend_schema(parameters=[LabelsInput], responses={200: OpenApiTypes.OBJECT})
    def get(self, request, video_id: int):
        video = get_object_or_404(Video.objects.select_related("schema"), pk=video_id)
        data = LabelsInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        window = data.validated_data
        matching = any(key in window for key in ("q", "query", "filters"))
        search = search_request(
            schema=selectors.schema_resolve(ref=window.get("schema")), query=window.get("query"),
            q=window.get("q"), filters=window.get("filters"),
        ) if matching else None
        frames = selectors.video_labels(video=video, start_s=window["start_s"], end_s=window.get("end_s"),
                                        request=search)
        answer = {
            "video": video.pk,
            "start_s": window["start_s"],
            "end_s": window.get("end_s", video.duration_s),
            "width": video.width,
            "height": video.height,
            "frames": frames,
        }
        if matching:
            answer["matching"] = True
        return Response(answer)
