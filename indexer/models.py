"""Relational records: label schemas, the default schema, videos and ingest jobs. The
detections themselves live in the search index (``indexer.search``)."""

import json
import uuid

from django.conf import settings
from django.db import models


class LabelSchema(models.Model):
    """One version of an ontology. ``document`` is always Scoop's own layout
    (``indexer.ontology.Ontology.to_document``), whatever was uploaded.

    It is stored as JSON text, not a JSONField: PostgreSQL's jsonb reorders object
    keys, and the order of labels and attributes is the order of the sidebar."""

    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    document_json = models.TextField()
    source_format = models.CharField(max_length=20)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="unique_schema_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def document(self) -> dict:
        return json.loads(self.document_json)

    @document.setter
    def document(self, value: dict) -> None:
        self.document_json = json.dumps(value)


class DefaultSchema(models.Model):
    """The schema name that requests naming no schema use (its newest version), as an
    admin chose it. One row at most (id 1); without it, or once its name has no version
    left, the first name uploaded is the default (``indexer.selectors.schema_default``)."""

    ONLY_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=ONLY_ID, editable=False)
    name = models.CharField(max_length=200)
    chosen_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    chosen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="one_default_schema")]

    def __str__(self) -> str:
        return f"default schema: {self.name}"


class Video(models.Model):
    """A video and its analytics. Its media is a local file (``media_path``,
    streamed by Scoop) or an http(s) URL (``media_url``, played by the browser
    directly); ``media_status`` tells how probing the local file went."""

    MEDIA_NONE = "none"
    MEDIA_PROBING = "probing"
    MEDIA_READY = "ready"
    MEDIA_FAILED = "failed"
    MEDIA_STATUSES = [(s, s) for s in (MEDIA_NONE, MEDIA_PROBING, MEDIA_READY, MEDIA_FAILED)]

    name = models.CharField(max_length=500, unique=True)
    media_url = models.URLField(max_length=2000, blank=True)
    media_path = models.CharField(max_length=2000, blank=True)
    media_status = models.CharField(max_length=10, choices=MEDIA_STATUSES, default=MEDIA_NONE)
    media_error = models.TextField(blank=True)
    media_probed_at = models.DateTimeField(null=True, blank=True)
    codec = models.CharField(max_length=20, blank=True, help_text="FourCC of the video stream, e.g. VP80")
    fps = models.FloatField(null=True, blank=True)
    frame_count = models.PositiveIntegerField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    mime_type = models.CharField(max_length=100, blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    camera = models.CharField(max_length=200, blank=True)
    gps = models.JSONField(default=list, blank=True, help_text="[[t, lat, lon], ...] waypoints")
    schema = models.ForeignKey(LabelSchema, null=True, blank=True, on_delete=models.PROTECT, related_name="videos")
    format = models.CharField(max_length=20, blank=True)
    mode = models.CharField(max_length=10, blank=True)
    options = models.JSONField(default=dict, blank=True)
    payload_path = models.CharField(max_length=2000, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    live = models.BooleanField(default=False, help_text="a stream still receiving analytics (indexer.live)")
    streamed = models.BooleanField(
        default=False, help_text="its analytics arrived as a stream: payload_path is an NDJSON spool"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    indexed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IngestJob(models.Model):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, SUCCEEDED, FAILED)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    video_name = models.CharField(max_length=500)
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    schema = models.ForeignKey(LabelSchema, on_delete=models.PROTECT, related_name="jobs")
    format = models.CharField(max_length=20)
    mode = models.CharField(max_length=10)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED)
    progress = models.FloatField(default=0.0)
    payload_path = models.CharField(max_length=2000)
    payload_bytes = models.BigIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    violations = models.JSONField(default=list, blank=True)
    violation_count = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"ingest {self.id} ({self.status})"
