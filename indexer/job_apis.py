"""The jobs board's API (docs/api/jobs.md): list every kind of job, and act on one. Admins see and
act on every job; workers and analysts see their own."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import ADMIN, IsAdmin, IsAnyRole, user_has_role
from indexer import jobs
from indexer.api_fields import ErrorOutput
from indexer.models import Analysis, IngestJob, TaskRun

PAGE_SIZE = 50
PAGE_MAX = 1000
# The actions' answers go to admins (only admins act on jobs).
ACT = {"can_act": True}


# The kind of job in the path of a job's URL.
KIND = OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=list(jobs.KINDS), description="the job's kind")


def _viewer(request) -> dict:
    return {"can_act": user_has_role(request.user, ADMIN)}


class JobOutput(serializers.Serializer):
    """One job of any kind, as the board shows it."""

    id = serializers.CharField(source="record.pk")
    kind = serializers.ChoiceField(choices=jobs.KINDS)
    url = serializers.SerializerMethodField(help_text="this job on the board (its actions are below it)")
    detail_url = serializers.SerializerMethodField(help_text="the job in its own API, where it has one")
    status = serializers.CharField(source="record.status")
    progress = serializers.FloatField(source="record.progress")
    video = serializers.IntegerField(source="record.video_id", allow_null=True)
    video_name = serializers.SerializerMethodField()
    pipeline = serializers.SerializerMethodField()
    device = serializers.SerializerMethodField(help_text="the device an analysis ran on (cpu, cuda:0)")
    output = serializers.SerializerMethodField(help_text="what it produced: counts, frames/s...")
    error = serializers.CharField(source="record.error")
    created_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="record.created_at")
    started_at = serializers.DateTimeField(source="record.started_at", allow_null=True)
    finished_at = serializers.DateTimeField(source="record.finished_at", allow_null=True)
    archived_at = serializers.DateTimeField(source="record.archived_at", allow_null=True)
    expires_at = serializers.DateTimeField(source="record.expires_at", allow_null=True,
                                           help_text="the job and its outputs are deleted then")
    cancel_requested = serializers.BooleanField(source="record.cancel_requested")
    actions = serializers.SerializerMethodField(help_text="what you may do to it now (only admins act on jobs)")

    def get_url(self, job: jobs.BoardJob) -> str:
        return reverse("job-detail", args=[job.kind, job.record.pk])

    def get_detail_url(self, job: jobs.BoardJob) -> str | None:
        names = {jobs.INGEST: "ingest-detail", jobs.ANALYSIS: "analysis-detail"}
        return reverse(names[job.kind], args=[job.record.pk]) if job.kind in names else None

    def get_video_name(self, job: jobs.BoardJob) -> str:
        record = job.record
        return record.video.name if isinstance(record, Analysis) else record.video_name

    def get_pipeline(self, job: jobs.BoardJob) -> str | None:
        return job.record.pipeline if isinstance(job.record, Analysis) else None

    def get_device(self, job: jobs.BoardJob) -> str | None:
        return (job.record.result or {}).get("device") if isinstance(job.record, Analysis) else None

    @extend_schema_field({"type": "object", "description": "what the job produced; by kind", "properties": {
        "counts": {"type": "object", "additionalProperties": {"type": "integer"},
                   "description": "frames, objects, tracks, events indexed"},
        "violation_count": {"type": "integer"}, "payload_bytes": {"type": "integer"},
        "frames": {"type": "integer"}, "seconds": {"type": "number"}, "frames_per_second": {"type": "number"},
        "detections": {"type": "integer"}, "tracks": {"type": "integer"}, "device": {"type": "string"},
        "by_label": {"type": "object", "additionalProperties": {"type": "integer"}},
        "media_status": {"type": "string"}, "videos": {"type": "integer"}}})
    def get_output(self, job: jobs.BoardJob) -> dict:
        return jobs.job_output(job)

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=jobs.ACTIONS)))
    def get_actions(self, job: jobs.BoardJob) -> list[str]:
        return job.actions if self.context.get("can_act") else []

    def get_created_by(self, job: jobs.BoardJob) -> str | None:
        return job.record.created_by.get_username() if job.record.created_by_id else None


class JobPageOutput(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = JobOutput(many=True)


class JobExpiryInput(serializers.Serializer):
    expires_at = serializers.DateTimeField(required=False, allow_null=True,
                                           help_text="when the job and its outputs are deleted; null: never")
    ttl_days = serializers.FloatField(required=False, min_value=0.001, max_value=36500,
                                      help_text="or: that many days from now")

    def validate(self, attrs):
        if ("expires_at" in attrs) == ("ttl_days" in attrs):
            raise serializers.ValidationError({"expires_at": ["give expires_at or ttl_days (one of them)"]})
        return attrs


class JobListApi(APIView):
    """Every kind of job, newest first: ``?tab=current|archived``, ``?q=column:keyword ...``,
    ``?page=N`` (50 a page)."""

    permission_classes = [IsAnyRole]

    @extend_schema(operation_id="api_v1_jobs_list", parameters=[
        OpenApiParameter("tab", str, enum=list(jobs.TABS), description="current (default) or archived"),
        OpenApiParameter("q", str, description="column:keyword terms: " + ", ".join(jobs.COLUMNS)),
        OpenApiParameter("page", int, description="1-based")],
        responses={200: JobPageOutput, 400: ErrorOutput})
    def get(self, request):
        text = request.query_params.get("page", "1")
        if not text.isdigit() or not 1 <= int(text) <= PAGE_MAX:
            raise serializers.ValidationError({"page": [f"page must be a whole number from 1 to {PAGE_MAX}"]})
        page = int(text)
        count, rows = jobs.jobs_page(user=request.user, tab=request.query_params.get("tab", jobs.CURRENT),
                                     query=request.query_params.get("q", ""), page=page, page_size=PAGE_SIZE)
        return Response(JobPageOutput({"count": count, "page": page, "pages": max(1, -(-count // PAGE_SIZE)),
                                       "results": rows}, context=_viewer(request)).data)


def _job(request, kind: str, job_id: str) -> jobs.BoardJob:
    try:
        return jobs.job_get(user=request.user, kind=kind, job_id=job_id)
    except (IngestJob.DoesNotExist, Analysis.DoesNotExist, TaskRun.DoesNotExist):
        raise NotFound(f"no {kind} job {job_id} that you may see") from None


@extend_schema(parameters=[KIND])
class JobDetailApi(APIView):
    """One job; DELETE removes a job that ended, with its outputs (admins)."""

    def get_permissions(self):
        return [IsAdmin()] if self.request.method == "DELETE" else [IsAnyRole()]

    @extend_schema(responses={200: JobOutput, 404: ErrorOutput})
    def get(self, request, kind: str, job_id):
        return Response(JobOutput(_job(request, kind, job_id), context=_viewer(request)).data)

    @extend_schema(responses={204: None, 404: ErrorOutput, 409: ErrorOutput})
    def delete(self, request, kind: str, job_id):
        jobs.job_delete(job=_job(request, kind, job_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(parameters=[KIND])
class JobRetryApi(APIView):
    """A failed or cancelled job again, as a new job (202, the new job)."""

    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses={202: JobOutput, 409: ErrorOutput})
    def post(self, request, kind: str, job_id):
        new = jobs.job_retry(job=_job(request, kind, job_id), actor=request.user)
        return Response(JobOutput(new, context=ACT).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(parameters=[KIND])
class JobCancelApi(APIView):
    """Cancel a queued job (200, cancelled) or ask a running one to stop (202, it stops at its
    next checkpoint: follow its status)."""

    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses={200: JobOutput, 202: JobOutput, 409: ErrorOutput})
    def post(self, request, kind: str, job_id):
        job = jobs.job_cancel(job=_job(request, kind, job_id))
        answer = status.HTTP_200_OK if job.record.status == "cancelled" else status.HTTP_202_ACCEPTED
        return Response(JobOutput(job, context=ACT).data, status=answer)


@extend_schema(parameters=[KIND])
class JobArchiveApi(APIView):
    """POST archives a job that ended; DELETE brings it back to the Current tab."""

    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses={200: JobOutput, 409: ErrorOutput})
    def post(self, request, kind: str, job_id):
        return Response(JobOutput(jobs.job_archive(job=_job(request, kind, job_id), archived=True), context=ACT).data)

    @extend_schema(request=None, responses={200: JobOutput, 409: ErrorOutput})
    def delete(self, request, kind: str, job_id):
        return Response(JobOutput(jobs.job_archive(job=_job(request, kind, job_id), archived=False), context=ACT).data)


@extend_schema(parameters=[KIND])
class JobExpiryApi(APIView):
    """Set when a job that ended and its outputs are deleted: ``{"expires_at": ISO 8601 | null}``
    or ``{"ttl_days": N}``."""

    permission_classes = [IsAdmin]

    @extend_schema(request=JobExpiryInput, responses={200: JobOutput, 400: ErrorOutput, 409: ErrorOutput})
    def put(self, request, kind: str, job_id):
        fields = JobExpiryInput(data=request.data)
        fields.is_valid(raise_exception=True)
        values = fields.validated_data
        job = _job(request, kind, job_id)
        if "ttl_days" in values:
            expires_at = timezone.now() + timedelta(days=values["ttl_days"])
        else:
            expires_at = values["expires_at"]
        return Response(JobOutput(jobs.job_expiry_set(job=job, expires_at=expires_at), context=ACT).data)
