"""The audit log's endpoint: admins read who did what, when, to what."""

from drf_spectacular.utils import extend_schema
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.roles import IsAdmin
from accounts.selectors import audit_events
from accounts.serializers import AuditEventOutput, AuditFilterInput


class AuditListApi(APIView):
    """The audit log, newest first, a page at a time; ``action``, ``actor`` and
    ``target`` narrow it."""

    permission_classes = [IsAdmin]
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(parameters=[AuditFilterInput], responses=AuditEventOutput(many=True))
    def get(self, request):
        data = AuditFilterInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        page = self.pagination_class()
        items = page.paginate_queryset(audit_events(**data.validated_data), request, view=self)
        return page.get_paginated_response(AuditEventOutput(items, many=True).data)
