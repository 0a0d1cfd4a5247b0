from django.urls import path

from accounts import apis

urlpatterns = [
    path("audit/", apis.AuditListApi.as_view(), name="audit-list"),
]
