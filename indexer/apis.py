"""REST endpoints for label schemas and the default one, ingest, videos, their media,
live chunks and labels. Each view validates input, calls one service or selector, and
answers with its output serializer (:mod:`indexer.serializers`). The views that answer
with bytes (video bytes, pictures, clips) are in :mod:`indexer.media_apis`."""

import json

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, UnsupportedMediaType
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.roles import IsAdmin, IsAnalyst, IsAnyRole, IsWorker
from indexer import limits, live, ownership, selectors, services
from indexer.api_fields import ErrorOutput
from indexer.media import MediaError
from indexer.models import LabelSchema, Video, VideoVersion
from indexer.payloads import PayloadError
from indexer.request_parsing import JSONParser, refuse_content_encoding
from indexer.selectors import search_request
from indexer.serializers import (
    DefaultSchemaInput,
    DefaultSchemaOutput,
    IngestJobOutput,
    IngestJsonInput,
    IngestQueuedOutput,
    IngestUploadInput,
    LabelsInput,
    LabelsOutput,
    LiveChunkInput,
    LiveChunkOutput,
    LiveVideoOutput,
    MediaInput,
    MediaOutput,
    SchemaCreatedOutput,
    SchemaDetail,
    SchemaInput,
    SchemaSummary,
    VideoBusyOutput,
    VideoCreateInput,
    VideoDeletedOutput,
    VideoDetailOutput,
    VideoOutput,
    VideoPatchInput,
    VideoVersionOutput,
)

CHUNK = 1024 * 1024


class SchemaListCreateApi(APIView):
    def get_permissions(self):
        return [IsAdmin()] if self.request.method == "POST" else [IsAnyRole()]

    @extend_schema(responses=SchemaSummary(many=True))
    def get(self, request):
        schemas = selectors.schemas_all()
        return Response(SchemaSummary(schemas, many=True).data)

    @extend_schema(request=SchemaInput, responses={201: SchemaCreatedOutput})
    def post(self, request):
        data = SchemaInput(data=request.data)
        data.is_valid(raise_exception=True)
        name = data.validated_data["name"]
        previous = selectors.schema_newest(name=name)
        schema = services.schema_create(name=name, document=data.validated_data["schema"], author=request.user)
        if previous is not None:
            # What the new version drops that indexed videos still hold: they keep it, but
            # searches and facets under the new version no longer see it.
            schema.dropped_in_use = selectors.schema_dropped_in_use(previous=previous, current=schema)
        return Response(SchemaCreatedOutput(schema).data, status=status.HTTP_201_CREATED)


class SchemaDetailApi(APIView):
    permission_classes = [IsAnyRole]

    @extend_schema(responses=SchemaDetail)
    def get(self, request, schema_id: int):
        schema = get_object_or_404(LabelSchema.objects.select_related("author"), pk=schema_id)
        return Response(SchemaDetail(schema).data)


class SchemaDefaultApi(APIView):
    """The schema that requests naming no ``schema`` use: every role reads it, admins
    choose another name."""

    def get_permissions(self):
        return [IsAdmin()] if self.request.method == "PUT" else [IsAnyRole()]

    @extend_schema(responses={200: DefaultSchemaOutput,
                              404: OpenApiResponse(ErrorOutput, description="no schema has been uploaded yet")})
    def get(self, request):
        schema = selectors.schema_default()
        if schema is None:
            raise NotFound(selectors.NO_SCHEMA_YET)
        return Response(DefaultSchemaOutput(schema).data)

    @extend_schema(request=DefaultSchemaInput, responses=DefaultSchemaOutput)
    def put(self, request):
        data = DefaultSchemaInput(data=request.data)
        data.is_valid(raise_exception=True)
        schema = services.schema_default_set(name=data.validated_data["name"], user=request.user)
        return Response(DefaultSchemaOutput(schema).data)


class IngestApi(APIView):
    """Workers post analytics (a multipart ``file``, streamed, or ``analytics`` in a JSON
    body); the job is queued and answered at once. Admins see every job, workers their own."""

    permission_classes = [IsWorker]
    parser_classes = [MultiPartParser, JSONParser]
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(request={"multipart/form-data": IngestUploadInput, "application/json": IngestJsonInput},
                   responses={202: IngestQueuedOutput})
    def post(self, request):
        refuse_content_encoding(request)
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.SCOOP_INGEST_MAX_BYTES + limits.INGEST_ENVELOPE_BYTES:
            raise PayloadError(
                f"the payload is larger than the limit of {settings.SCOOP_INGEST_MAX_BYTES} bytes "
                "(SCOOP_INGEST_MAX_BYTES)",
                status=413,
            )
        upload = not request.content_type.startswith("application/json")
        data = (IngestUploadInput if upload else IngestJsonInput)(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        schema = selectors.schema_resolve(ref=fields.get("schema"))
        job = services.ingest_job_create(
            chunks=_payload_chunks(fields),
            video_name=fields["video"],
            schema=schema,
            format=fields.get("format") or None,
            mode=fields["mode"],
            options=_with_seqinfo(fields.get("seqinfo"), fields.get("options")),
            user=request.user,
            allow_empty=fields["allow_empty"],
        )
        body = IngestQueuedOutput(job).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})

    @extend_schema(responses=IngestJobOutput(many=True))
    def get(self, request):
        page = self.pagination_class()
        items = page.paginate_queryset(selectors.ingest_jobs_visible(user=request.user), request, view=self)
        return page.get_paginated_response(IngestJobOutput(items, many=True).data)


def _with_seqinfo(upload, options):
    """The reader options, plus the text of a multipart ``seqinfo`` part
    (MOTChallenge's seqinfo.ini) as ``options["seqinfo"]``: kept with the job,
    so that a rebuild reads the payload the same way."""
    if upload is None:
        return options
    if upload.size > limits.SEQINFO_MAX_BYTES:
        raise PayloadError(f"seqinfo is larger than {limits.SEQINFO_MAX_BYTES} bytes: is it a seqinfo.ini?",
                           path="seqinfo")
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PayloadError(f"seqinfo is not UTF-8 text (byte {error.start})", path="seqinfo") from None
    return {**(options or {}), "seqinfo": text}


def _payload_chunks(fields):
    """The analytics: the uploaded ``file`` (streamed) or the JSON body's ``analytics``."""
    if "file" in fields:
        return fields["file"].chunks(CHUNK)
    analytics = fields.get("analytics")
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
    """Analysts list the videos, a page at a time; workers name new ones or start live streams."""

    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    def get_permissions(self):
        return [IsWorker()] if self.request.method == "POST" else [IsAnalyst()]

    @extend_schema(responses=VideoOutput(many=True))
    def get(self, request):
        page = self.pagination_class()
        items = page.paginate_queryset(selectors.videos_all().select_related("schema"), request, view=self)
        return page.get_paginated_response(VideoOutput(items, many=True).data)

    @extend_schema(request=VideoCreateInput, responses={
        (status_code, "application/json"): PolymorphicProxySerializer(
            component_name="VideoCreated", serializers=[MediaOutput, LiveVideoOutput], resource_type_field_name=None)
        for status_code in (201, 200)})
    def post(self, request):
        """Name a video before its analytics arrive (to give it media first), or, with
        ``"live": true``, start a live stream (answered with ``LiveVideoOutput``);
        an existing name answers 200 with that video."""
        data = VideoCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        if fields["live"]:
            video, created = live.live_video_start(
                name=fields["name"], schema=selectors.schema_resolve(ref=fields.get("schema")), fps=fields["fps"],
                width=fields.get("width"), height=fields.get("height"), recorded_at=fields.get("recorded_at"),
                camera=fields["camera"], format=fields["format"], mode=fields["mode"], user=request.user,
            )
            body = LiveVideoOutput(video).data
        else:
            video, created = services.video_get_or_create(name=fields["name"], user=request.user)
            body = MediaOutput(video).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
                        headers={"Location": reverse("video-detail", args=[video.pk])})


class VideoDetailApi(APIView):
    def get_permissions(self):
        roles = {"DELETE": IsAdmin, "PATCH": IsWorker}
        return [roles.get(self.request.method, IsAnalyst)()]

    @extend_schema(responses=VideoDetailOutput)
    def get(self, request, video_id: int):
        return Response(VideoDetailOutput(get_object_or_404(selectors.videos_all(), pk=video_id)).data)

    @extend_schema(request=VideoPatchInput, responses=VideoOutput)
    def patch(self, request, video_id: int):
        """End a live stream (``{"live": false}``) or resume it (``true``): the video's
        owner or an admin. Reassign the video (``{"owner": "<username>"}``, or null for
        admins only): admins."""
        data = VideoPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        video = services.video_update(video=get_object_or_404(Video, pk=video_id), actor=request.user,
                                      live=fields.get("live"), owner=fields.get("owner"),
                                      owner_given="owner" in fields)
        return Response(VideoOutput(video).data)

    @extend_schema(responses={200: VideoDeletedOutput,
                              409: OpenApiResponse(VideoBusyOutput, description="a job of the video is running")})
    def delete(self, request, video_id: int):
        """Delete the video; its queued ingest jobs are cancelled and named in the answer.
        While one of its jobs runs: 409 naming the job (delete again once it has ended)."""
        video = get_object_or_404(Video, pk=video_id)
        cancelled = services.video_delete(video=video, actor=request.user)
        return Response(VideoDeletedOutput({"id": video_id, "name": video.name, "cancelled_jobs": cancelled}).data)


class VideoVersionsApi(APIView):
    """The versions a video keeps (``SCOOP_KEEP_VERSIONS``), newest first: admins."""

    permission_classes = [IsAdmin]

    @extend_schema(responses=VideoVersionOutput(many=True))
    def get(self, request, video_id: int):
        versions = selectors.video_versions(video=get_object_or_404(Video, pk=video_id))
        current = versions[0].number if versions else None
        return Response(VideoVersionOutput(versions, many=True, context={"current": current}).data)


class VideoVersionRestoreApi(APIView):
    """Bring back a kept version: its payload is indexed again by an ingest job (answered
    at once, 202), and its media returns; the restore becomes the video's next version."""

    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses={202: IngestQueuedOutput,
                                            409: OpenApiResponse(ErrorOutput, description="its payload is gone")})
    def post(self, request, video_id: int, number: int):
        video = get_object_or_404(Video, pk=video_id)
        try:
            job = services.video_restore(video=video, number=number, actor=request.user)
        except VideoVersion.DoesNotExist:
            raise NotFound(f"video '{video.name}' keeps no version {number} (GET "
                           f"{reverse('video-versions', args=[video.pk])} lists those it keeps)") from None
        body = IngestQueuedOutput(job).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


STREAM_CONTENT_TYPES = ("application/x-ndjson", "application/jsonl", "application/json", "text/plain")


class LiveChunkApi(APIView):
    """One chunk of a live video's stream: newline-delimited JSON, one message a line
    (:mod:`indexer.live`). ``stream_format`` and ``mode`` query parameters override the video's."""

    permission_classes = [IsWorker]

    @extend_schema(parameters=[LiveChunkInput],
                   request={content_type: OpenApiTypes.STR for content_type in STREAM_CONTENT_TYPES},
                   responses={200: LiveChunkOutput,
                              409: OpenApiResponse(ErrorOutput, description="the video is not live")})
    def post(self, request, video_id: int):
        video = get_object_or_404(Video.objects.select_related("schema"), pk=video_id)
        if request.content_type.split(";")[0].strip() not in STREAM_CONTENT_TYPES:
            raise UnsupportedMediaType(request.content_type,
                                       detail=f"send the chunk as {' or '.join(STREAM_CONTENT_TYPES)}")
        data = LiveChunkInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        try:
            outcome = live.live_append(video=video, body=_chunk_body(request), actor=request.user,
                                       format=data.validated_data.get("stream_format"),
                                       mode=data.validated_data.get("mode"))
        except live.ChunkRefused as refused:
            return Response(ErrorOutput({"detail": refused.message, "problems": refused.problems}).data,
                            status=status.HTTP_400_BAD_REQUEST)
        services.index_merge_queue()
        return Response(LiveChunkOutput(outcome).data)


def _chunk_body(request) -> bytes:
    """The chunk's bytes, refused (413) past ``SCOOP_JSON_BODY_MAX_BYTES``."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    too_large = PayloadError(f"the chunk is larger than the limit of {limit} bytes (SCOOP_JSON_BODY_MAX_BYTES); "
                             "send smaller chunks", status=413)
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        raise too_large
    body = request.stream.read(limit + 1) if request.stream is not None else b""
    if len(body) > limit:
        raise too_large
    return body


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
        """Give the video media, or replace its media: the video's owner or an admin. A
        replaced file is kept while a kept version of the video refers to it."""
        video = get_object_or_404(Video.objects.select_related("owner"), pk=video_id)
        # Before the body is read: another's video must not make Scoop take in a large upload.
        ownership.video_write_check(video=video, user=request.user)
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
            video = services.video_media_upload(video=video, upload=fields["file"], actor=request.user)
        else:
            video = services.video_media_register(video=video, path=fields.get("path"), url=fields.get("url"),
                                                  actor=request.user)
        # A local file is probed by a queued task: 202 until it has been.
        probing = video.media_status == Video.MEDIA_PROBING
        return Response(MediaOutput(video).data, status=status.HTTP_202_ACCEPTED if probing else status.HTTP_200_OK)


class VideoLabelsApi(APIView):
    """Per-frame labels for drawing overlays: ``start_s <= t < end_s``. With ``q``,
    ``query`` or ``filters``, only the labels that match them (``"matching": true``)."""

    permission_classes = [IsAnalyst]

    @extend_schema(parameters=[LabelsInput], responses=LabelsOutput)
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
        labels = {"video": video, "start_s": window["start_s"], "end_s": window.get("end_s", video.duration_s),
                  "frames": frames}
        return Response(LabelsOutput({**labels, "matching": True} if matching else labels).data)
