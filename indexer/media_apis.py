"""Endpoints that answer with bytes: a video's bytes (with byte ranges, for the
player), thumbnails, sprite strips and clip exports. Analysts and admins only, by
session or token, but for the video's bytes, which reviewers play too; errors answer JSON
whatever the client accepts."""

from pathlib import Path

from django.conf import settings
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.roles import IsAnalyst, IsReviewer
from indexer import selectors
from indexer.api_fields import ErrorOutput
from indexer.byte_ranges import accel_redirect_response, file_response
from indexer.models import Video
from indexer.serializers import ClipInput, ThumbnailInput

# Browsers cache pictures for this long; a replaced media file changes them under the same URL.
PICTURE_MAX_AGE_S = 300


class AnyAccept(BaseContentNegotiation):
    """A video element asks for ``video/*``, an image for ``image/*``: these
    views send files, so never refuse with 406; their errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _MediaView(APIView):
    permission_classes = [IsAnalyst]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAccept


class VideoBytesApi(_MediaView):
    """The video file, with byte ranges, for the player (or handed to nginx); reviewers play
    the items of their review batches from it."""

    permission_classes = [IsReviewer]

    @extend_schema(responses={(200, "video/*"): OpenApiTypes.BINARY, (206, "video/*"): OpenApiTypes.BINARY,
                              416: OpenApiResponse(ErrorOutput, description="a range the file does not have")})
    def get(self, request, video_id: int):
        video = get_object_or_404(Video, pk=video_id)
        path = selectors.video_media_file(video=video)
        content_type = video.mime_type or "application/octet-stream"
        if settings.SCOOP_MEDIA_ACCEL_REDIRECT:
            return accel_redirect_response(path, prefix=settings.SCOOP_MEDIA_ACCEL_REDIRECT, content_type=content_type)
        response = file_response(path, range_header=request.headers.get("Range"), content_type=content_type)
        response["Cache-Control"] = "private"
        return response


class VideoThumbnailApi(_MediaView):
    @extend_schema(parameters=[ThumbnailInput], responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    def get(self, request, video_id: int):
        video = get_object_or_404(Video, pk=video_id)
        data = ThumbnailInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        path = selectors.video_thumbnail(video=video, t=data.validated_data["t"], width=data.validated_data["w"])
        return _picture(path, request)


class VideoSpriteApi(_MediaView):
    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    def get(self, request, video_id: int):
        path = selectors.video_sprite_jpeg(video=get_object_or_404(Video, pk=video_id))
        return _picture(path, request)


def _picture(path: Path, request: Request) -> HttpResponseBase:
    response = file_response(path, range_header=request.headers.get("Range"), content_type="image/jpeg")
    response["Cache-Control"] = f"private, max-age={PICTURE_MAX_AGE_S}"
    return response


class VideoClipApi(_MediaView):
    @extend_schema(parameters=[ClipInput], responses={(200, "video/mp4"): OpenApiTypes.BINARY})
    def get(self, request, video_id: int):
        video = get_object_or_404(Video.objects.select_related("schema"), pk=video_id)
        data = ClipInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        span = data.validated_data
        path = selectors.video_cut(video=video, start_s=span["start_s"], end_s=span["end_s"],
                                    overlay=span["overlay"])
        name = f"{video.name}_{span['start_s']:g}-{span['end_s']:g}s{'_labels' if span['overlay'] else ''}.mp4"
        return file_response(path, range_header=request.headers.get("Range"), content_type="video/mp4",
                             filename=name)
