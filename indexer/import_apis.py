"""Batch imports (docs/api/imports.md): ``POST /api/v1/imports/`` imports a folder of the server
(JSON ``{"path", "pattern", "defaults", "pipeline"}``, admins, inside ``SCOOP_IMPORT_ROOTS``) or an
uploaded zip (multipart ``file``, ``pattern``, a ``defaults`` file, ``pipeline``; analysts and
admins). ``GET`` lists the newest imports, and one import by its id."""

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import ADMIN, IsAnalyst, user_has_role
from indexer import imports
from indexer.api_fields import ErrorOutput
from indexer.media import MediaError
from indexer.models import VideoImport
from indexer.request_parsing import JSONParser
from indexer.serializers import ImportFolderInput, ImportOutput, ImportZipInput

# The imports a list shows.
LISTED = 100


class ImportListApi(APIView):
    parser_classes = [MultiPartParser, JSONParser]
    permission_classes = [IsAnalyst]

    @extend_schema(
        request={"application/json": ImportFolderInput, "multipart/form-data": ImportZipInput},
        responses={201: ImportOutput, 400: OpenApiResponse(ErrorOutput, description="bad pattern, file, date"),
                   403: OpenApiResponse(ErrorOutput, description="a folder, by a non-admin or outside the roots")})
    def post(self, request):
        """Import every video of the folder or zip, or none: each becomes a video, is probed, and is
        analysed if ``pipeline`` is named. 201 with the import (its videos, skipped files, analyses)."""
        if request.content_type.startswith("multipart/"):
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
            if declared > settings.SCOOP_UPLOAD_MAX_BYTES:
                raise MediaError(f"the zip is larger than the limit of {settings.SCOOP_UPLOAD_MAX_BYTES} bytes "
                                 "(SCOOP_UPLOAD_MAX_BYTES)", status=413, path="file")
            data = ImportZipInput(data=request.data)
            data.is_valid(raise_exception=True)
            fields = data.validated_data
            defaults = {}
            if "defaults" in fields:
                upload = fields["defaults"]
                try:
                    text = upload.read(1024 * 1024).decode("utf-8-sig")
                except UnicodeDecodeError:
                    raise imports.ImportRefused("the defaults file is not UTF-8 text", path="defaults") from None
                defaults = imports.defaults_read(text=text, filename=upload.name)
            record = imports.import_zip(archive=fields["file"], name=fields["file"].name, pattern=fields["pattern"],
                                        defaults=defaults, pipeline=fields.get("pipeline"), user=request.user)
        else:
            imports.import_access_check(user=request.user)
            data = ImportFolderInput(data=request.data)
            data.is_valid(raise_exception=True)
            fields = data.validated_data
            record = imports.import_folder(
                folder=imports.import_root_resolve(fields["path"]), pattern=fields["pattern"],
                defaults=imports.defaults_check(fields.get("defaults", {})), pipeline=fields.get("pipeline"),
                user=request.user)
        return Response(ImportOutput(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ImportOutput(many=True))
    def get(self, request):
        shown = VideoImport.objects.select_related("created_by")
        if not user_has_role(request.user, ADMIN):
            shown = shown.filter(created_by=request.user)
        return Response(ImportOutput(shown[:LISTED], many=True).data)


class ImportDetailApi(APIView):
    permission_classes = [IsAnalyst]

    @extend_schema(responses=ImportOutput)
    def get(self, request, import_id):
        shown = VideoImport.objects.select_related("created_by")
        if not user_has_role(request.user, ADMIN):
            shown = shown.filter(created_by=request.user)
        return Response(ImportOutput(get_object_or_404(shown, pk=import_id)).data)
