"""The zones API (docs/api/zones.md): named image zones per camera that queries use
(``person IN ZONE crosswalk``). Analysts read them; admins create, change and delete them."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import IsAdmin, IsAnalyst
from indexer import zones
from indexer.api_fields import ErrorOutput
from indexer.models import Zone

POLYGON = {"type": "array", "minItems": zones.MIN_VERTICES, "maxItems": zones.MAX_VERTICES,
           "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
           "description": "[[x, y], ...], fractions of the image's width and height (0..1, origin top-left)"}


@extend_schema_field(POLYGON)
class PolygonField(serializers.JSONField):
    """Checked by :func:`indexer.zones.zone_polygon_check`."""


class ZoneInput(serializers.Serializer):
    camera = serializers.CharField(max_length=200, help_text="the camera, as videos name it")
    name = serializers.CharField(max_length=100, help_text="letters, digits, _ and -; unique per camera")
    polygon = PolygonField()
    anchor = serializers.ChoiceField(choices=zones.ANCHORS, required=False, default=Zone.BOTTOM_CENTER,
                                     help_text="the point of a detection's box that must lie in the zone")


class ZonePatchInput(ZoneInput):
    camera = serializers.CharField(max_length=200, required=False)
    name = serializers.CharField(max_length=100, required=False)
    polygon = PolygonField(required=False)
    anchor = serializers.ChoiceField(choices=zones.ANCHORS, required=False)


class ZoneOutput(serializers.Serializer):
    id = serializers.IntegerField()
    camera = serializers.CharField()
    name = serializers.CharField()
    polygon = PolygonField()
    anchor = serializers.ChoiceField(choices=zones.ANCHORS)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def _input(serializer_class: type[serializers.Serializer], data) -> dict:
    fields = serializer_class(data=data)
    fields.is_valid(raise_exception=True)
    return dict(fields.validated_data)


class _ZonePermissions:
    def get_permissions(self):
        return [IsAnalyst()] if self.request.method in ("GET", "HEAD", "OPTIONS") else [IsAdmin()]


class ZoneListApi(_ZonePermissions, APIView):
    """GET lists the zones (of one camera with ``?camera=``); POST creates one (admins)."""

    @extend_schema(parameters=[OpenApiParameter("camera", str, description="only this camera's zones")],
                   responses=ZoneOutput(many=True))
    def get(self, request):
        camera = request.query_params.get("camera") or None
        return Response(ZoneOutput(zones.zones_all(camera=camera), many=True).data)

    @extend_schema(request=ZoneInput, responses={201: ZoneOutput, 409: ErrorOutput})
    def post(self, request):
        zone = zones.zone_create(**_input(ZoneInput, request.data), user=request.user)
        return Response(ZoneOutput(zone).data, status=status.HTTP_201_CREATED)


class ZoneDetailApi(_ZonePermissions, APIView):
    """One zone: GET, PATCH (admins), DELETE (admins)."""

    @extend_schema(responses=ZoneOutput)
    def get(self, request, zone_id: int):
        return Response(ZoneOutput(get_object_or_404(Zone, pk=zone_id)).data)

    @extend_schema(request=ZonePatchInput, responses={200: ZoneOutput, 409: ErrorOutput})
    def patch(self, request, zone_id: int):
        zone = zones.zone_update(zone=get_object_or_404(Zone, pk=zone_id), **_input(ZonePatchInput, request.data))
        return Response(ZoneOutput(zone).data)

    @extend_schema(responses={204: None})
    def delete(self, request, zone_id: int):
        zones.zone_delete(zone=get_object_or_404(Zone, pk=zone_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
