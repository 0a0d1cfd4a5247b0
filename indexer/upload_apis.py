"""Resumable uploads over HTTP: the tus 1.0.0 protocol (core, creation, termination, checksum;
docs/api/uploads.md). ``POST /api/v1/uploads/`` makes an upload from ``Upload-Length`` and
``Upload-Metadata``; ``PATCH`` appends a chunk at ``Upload-Offset``; ``HEAD`` gives the offset to
resume from; ``GET`` the upload in JSON; ``DELETE`` drops it. Admins, analysts and workers."""

import base64
import binascii
from datetime import UTC

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import ADMIN, IsAnyRole, user_has_role
from indexer import uploads
from indexer.api_fields import ErrorOutput
from indexer.media import MediaError
from indexer.media_apis import AnyAccept
from indexer.models import Upload
from indexer.request_parsing import refuse_content_encoding
from indexer.serializers import UploadOutput

TUS_VERSION = "1.0.0"
CHUNK_TYPE = "application/offset+octet-stream"
# The uploads a list shows.
LISTED = 100
METADATA_KEYS = ("filename", "name", "video", "camera", "recorded_at")

TUS_HEADERS = [OpenApiParameter("Tus-Resumable", str, OpenApiParameter.HEADER, required=False,
                                description="1.0.0 (optional; any other version answers 412)")]


def _header_int(request, header: str, *, required: bool = True) -> int | None:
    raw = request.headers.get(header)
    if raw is None:
        if required:
            raise MediaError(f"the {header} header is required", path=header)
        return None
    if not raw.strip().isdigit():
        raise MediaError(f"{header} must be a whole number of bytes, got '{raw}'", path=header)
    return int(raw)


def _metadata(header: str) -> dict[str, str]:
    """tus ``Upload-Metadata``: ``key base64value`` pairs separated by commas. Keys Scoop does not
    use are skipped: tus clients add their own (``filetype``)."""
    values = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        key, _space, encoded = pair.partition(" ")
        if key not in METADATA_KEYS:
            continue
        try:
            values[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise MediaError(f"Upload-Metadata '{key}' is not UTF-8 text in base64", path=f"Upload-Metadata.{key}") \
                from None
    return values


def _recorded_at(raw: str | None):
    if not raw:
        return None
    try:
        moment = parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is None:
        raise MediaError(f"recorded_at '{raw}' is not an ISO 8601 date and time (2026-12-07T17:05:00Z)",
                         path="Upload-Metadata.recorded_at")
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


class _TusView(APIView):
    permission_classes = [IsAnyRole]
    content_negotiation_class = AnyAccept

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        version = request.headers.get("Tus-Resumable")
        if version is not None and version != TUS_VERSION and request.method != "OPTIONS":
            raise MediaError(f"Tus-Resumable {version} is not supported: this server speaks tus {TUS_VERSION}",
                             status=412, path="Tus-Resumable")

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = TUS_VERSION
        return response

    def options(self, request, *args, **kwargs):
        """tus discovery: the version, extensions, size limit and checksum algorithms."""
        return HttpResponse(status=status.HTTP_204_NO_CONTENT, headers={
            "Tus-Version": TUS_VERSION, "Tus-Extension": "creation,termination,checksum",
            "Tus-Max-Size": str(settings.SCOOP_UPLOAD_MAX_BYTES),
            "Tus-Checksum-Algorithm": ",".join(uploads.CHECKSUM_ALGORITHMS)})


class UploadListApi(_TusView):
    """POST makes an upload; GET lists the user's newest uploads (every user's for admins)."""

    @extend_schema(request=None, parameters=[
        *TUS_HEADERS,
        OpenApiParameter("Upload-Length", int, OpenApiParameter.HEADER, required=True,
                         description="the file's size in bytes"),
        OpenApiParameter("Upload-Metadata", str, OpenApiParameter.HEADER, required=False,
                         description="comma-separated 'key base64value' pairs: filename, name (the video's, "
                                     "default the file name without extension), video (an existing video's id, "
                                     "whose media is replaced), camera, recorded_at (ISO 8601)")],
        responses={201: UploadOutput, 409: OpenApiResponse(ErrorOutput, description="a video has that name"),
                   413: OpenApiResponse(ErrorOutput, description="larger than SCOOP_UPLOAD_MAX_BYTES")})
    def post(self, request):
        if request.headers.get("Upload-Defer-Length"):
            raise MediaError("Upload-Defer-Length is not supported: give the file's size as Upload-Length",
                             path="Upload-Defer-Length")
        length = _header_int(request, "Upload-Length")
        metadata = _metadata(request.headers.get("Upload-Metadata", ""))
        video = metadata.get("video")
        if video is not None and not video.isdigit():
            raise MediaError(f"Upload-Metadata 'video' must be a video's id, got '{video}'",
                             path="Upload-Metadata.video")
        upload = uploads.upload_create(
            filename=metadata.get("filename", ""), length=length, name=metadata.get("name"),
            video_id=int(video) if video else None, camera=metadata.get("camera", ""),
            recorded_at=_recorded_at(metadata.get("recorded_at")), user=request.user)
        body = UploadOutput(upload).data
        return Response(body, status=status.HTTP_201_CREATED,
                        headers={"Location": body["url"], "Upload-Offset": "0"})

    @extend_schema(responses=UploadOutput(many=True))
    def get(self, request):
        shown = Upload.objects.select_related("created_by", "video")
        if not user_has_role(request.user, ADMIN):
            shown = shown.filter(created_by=request.user)
        return Response(UploadOutput(shown[:LISTED], many=True).data)


class UploadDetailApi(_TusView):
    """One upload: HEAD its offset, GET it, PATCH a chunk, DELETE it (its creator or an admin)."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code in (400, 409, 413, uploads.CHECKSUM_MISMATCH) and "Upload-Offset" not in response:
            # A refused chunk: where to resume from.
            upload = Upload.objects.filter(pk=kwargs.get("upload_id")).first()
            if upload is not None:
                response["Upload-Offset"] = str(uploads.upload_offset(upload=upload))
        return response

    def _upload(self, request, upload_id) -> Upload:
        upload = get_object_or_404(Upload.objects.select_related("created_by", "video"), pk=upload_id)
        uploads.upload_access_check(upload=upload, user=request.user)
        return upload

    @extend_schema(responses={200: OpenApiResponse(description="Upload-Offset and Upload-Length headers")})
    def head(self, request, upload_id):
        upload = self._upload(request, upload_id)
        return HttpResponse(status=status.HTTP_200_OK, headers={
            "Upload-Offset": str(uploads.upload_offset(upload=upload)), "Upload-Length": str(upload.length),
            "Cache-Control": "no-store"})

    @extend_schema(responses=UploadOutput)
    def get(self, request, upload_id):
        upload = self._upload(request, upload_id)
        return Response(UploadOutput(upload).data, headers={"Cache-Control": "no-store"})

    @extend_schema(request={CHUNK_TYPE: OpenApiTypes.BINARY}, parameters=[
        *TUS_HEADERS,
        OpenApiParameter("Upload-Offset", int, OpenApiParameter.HEADER, required=True,
                         description="where this chunk starts: the server's offset (HEAD)"),
        OpenApiParameter("Upload-Checksum", str, OpenApiParameter.HEADER, required=False,
                         description="'<sha256|sha1|md5> <base64 digest>' of this chunk")],
        responses={204: OpenApiResponse(description="kept; Upload-Offset gives the new offset"),
                   200: UploadOutput,
                   409: OpenApiResponse(ErrorOutput, description="not the server's offset"),
                   413: OpenApiResponse(ErrorOutput, description="past the upload's length"),
                   460: OpenApiResponse(ErrorOutput, description="checksum mismatch")})
    def patch(self, request, upload_id):
        """Append a chunk. 204 with the new ``Upload-Offset``; the last chunk answers 200 with the
        finished upload (its ``sha256`` and ``video``)."""
        upload = self._upload(request, upload_id)
        refuse_content_encoding(request)
        if request.content_type.split(";")[0].strip() != CHUNK_TYPE:
            raise UnsupportedMediaType(request.content_type, detail=(
                f"a chunk is sent as Content-Type {CHUNK_TYPE}, not '{request.content_type}'"))
        offset = _header_int(request, "Upload-Offset")
        declared = _header_int(request, "Content-Length", required=False)
        checksum = request.headers.get("Upload-Checksum")
        stream = request.stream
        upload = uploads.upload_append(
            upload=upload, offset=offset, read=stream.read if stream is not None else (lambda size: b""),
            declared=declared, checksum=uploads.checksum_parse(checksum) if checksum else None, user=request.user)
        if upload.status == Upload.DONE:
            return Response(UploadOutput(upload).data, headers={"Upload-Offset": str(upload.length)})
        return HttpResponse(status=status.HTTP_204_NO_CONTENT,
                            headers={"Upload-Offset": str(uploads.upload_offset(upload=upload))})

    @extend_schema(responses={204: None, 409: OpenApiResponse(ErrorOutput, description="already finished")})
    def delete(self, request, upload_id):
        uploads.upload_delete(upload=self._upload(request, upload_id), user=request.user)
        return HttpResponse(status=status.HTTP_204_NO_CONTENT)
