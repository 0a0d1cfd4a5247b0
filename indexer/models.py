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
    directly); ``media_status`` tells how probing the local file went.

    ``owner`` may write to it (re-ingest, append, change, give media); admins may
    write to any video, and a video without an owner is the admins' alone
    (:mod:`indexer.ownership`). Its payload, format, mode, options, schema and media
    are those of its newest :class:`VideoVersion`."""

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
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="videos_created", help_text="who named it first")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="videos_owned", help_text="who may write to it besides admins")
    created_at = models.DateTimeField(auto_now_add=True)
    indexed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VideoVersion(models.Model):
    """What a video held after one change: its payload (with how it is read and the
    schema it was validated against), what was indexed from it, and its media.

    A successful ingest, a restore and a media change each add one; a video keeps its
    newest ``SCOOP_KEEP_VERSIONS``, and a payload or media file is deleted only once no
    kept version (and no video) refers to it."""

    INGEST = "ingest"
    RESTORE = "restore"
    MEDIA = "media"
    CHANGES = [(c, c) for c in (INGEST, RESTORE, MEDIA)]

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(help_text="1 for the video's first version, then counting up")
    change = models.CharField(max_length=10, choices=CHANGES)
    restored_from = models.PositiveIntegerField(null=True, blank=True, help_text="the version a restore brought back")
    schema = models.ForeignKey(LabelSchema, on_delete=models.PROTECT, related_name="video_versions")
    format = models.CharField(max_length=20)
    mode = models.CharField(max_length=10)
    options = models.JSONField(default=dict, blank=True)
    payload_path = models.CharField(max_length=2000)
    payload_bytes = models.BigIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    media_path = models.CharField(max_length=2000, blank=True)
    media_url = models.URLField(max_length=2000, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="video_versions")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["video", "-number"]
        constraints = [models.UniqueConstraint(fields=["video", "number"], name="unique_video_version")]

    def __str__(self) -> str:
        return f"{self.video} v{self.number}"


class BoardFields(models.Model):
    """What the jobs board (:mod:`indexer.jobs`) keeps on every kind of job: whether it is
    archived, when its outputs expire (a periodic task deletes the job and its outputs then), and
    whether someone asked a running job to stop (it stops at its next checkpoint)."""

    archived_at = models.DateTimeField(null=True, blank=True, help_text="archived: on the board's Archived tab")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="the job and its outputs are deleted then")
    cancel_requested = models.BooleanField(default=False, help_text="stop at the next checkpoint, undoing the run")

    class Meta:
        abstract = True


class IngestJob(BoardFields):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)]
    UNFINISHED = (QUEUED, RUNNING)
    FINISHED = (SUCCEEDED, FAILED, CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    video_name = models.CharField(max_length=500)
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    schema = models.ForeignKey(LabelSchema, on_delete=models.PROTECT, related_name="jobs")
    format = models.CharField(max_length=20)
    mode = models.CharField(max_length=10)
    options = models.JSONField(default=dict, blank=True)
    allow_empty = models.BooleanField(default=False, help_text="may replace a video's frames or detections with none")
    replacing = models.BooleanField(
        default=False, help_text="the video existed when the job was made: if it is deleted, the job must not "
                                 "make it again")
    restore_of = models.ForeignKey(VideoVersion, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="restore_jobs", help_text="the version this job brings back")
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


class Analysis(BoardFields):
    """A pipeline run over a video's media (the ``gpu`` queue), whose labels are then ingested into
    the video as any worker's output is (``ingest_job``). ``result``: frames, seconds,
    frames_per_second, detections, tracks, device and detections by label; ``log``: what the run
    wrote, line by line."""

    QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)]
    UNFINISHED = (QUEUED, RUNNING)
    FINISHED = (SUCCEEDED, FAILED, CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="analyses")
    pipeline = models.CharField(max_length=50)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED)
    progress = models.FloatField(default=0.0)
    result = models.JSONField(default=dict, blank=True)
    ingest_job = models.ForeignKey(IngestJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "analyses"

    def __str__(self) -> str:
        return f"analysis {self.id} ({self.pipeline}, {self.status})"


class Zone(models.Model):
    """A named image zone of one camera (issue 21): a polygon in normalised image coordinates
    (``[[x, y], ...]``, 0..1, origin top-left, as detection boxes), and the point of a detection's
    box tested against it (``anchor``: the bottom centre, where an object stands, or the centre).
    Queries name it (``person IN ZONE crosswalk``); each camera has its own zone of a name."""

    BOTTOM_CENTER = "bottom_center"
    CENTER = "center"
    ANCHORS = [(BOTTOM_CENTER, "bottom centre of the box"), (CENTER, "centre of the box")]

    camera = models.CharField(max_length=200)
    name = models.CharField(max_length=100)
    polygon = models.JSONField(help_text="[[x, y], ...] in 0..1, 3 to 1000 vertices")
    anchor = models.CharField(max_length=20, choices=ANCHORS, default=BOTTOM_CENTER)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["camera", "name"]
        constraints = [models.UniqueConstraint(fields=["camera", "name"], name="zone_name_unique_per_camera")]

    def __str__(self) -> str:
        return f"{self.camera}/{self.name}"


class Upload(models.Model):
    """A resumable upload of one video file (tus 1.0.0, :mod:`indexer.uploads`): its bytes
    go to ``SCOOP_DATA_DIR/uploads/<id>.part`` as they arrive, and the file's size there is
    the upload's offset. Once every byte has arrived the file becomes the media of ``video``
    (made then, called ``name``, unless the upload named an existing video), and is probed."""

    RECEIVING, DONE, FAILED = "receiving", "done", "failed"
    STATUSES = [(s, s) for s in (RECEIVING, DONE, FAILED)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    filename = models.CharField(max_length=500, help_text="the client's name for the file, shown, never used on disk")
    name = models.CharField(max_length=500, help_text="the video's name")
    camera = models.CharField(max_length=200, blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    length = models.BigIntegerField(help_text="the file's size in bytes, given when the upload was made")
    status = models.CharField(max_length=10, choices=STATUSES, default=RECEIVING)
    sha256 = models.CharField(max_length=64, blank=True, help_text="of the whole file, once it has arrived")
    error = models.TextField(blank=True)
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="uploads")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"upload {self.id} ({self.filename}, {self.status})"


class VideoImport(models.Model):
    """A batch import of a folder or a zip of videos (:mod:`indexer.imports`): a filename pattern
    gave each video its camera and recording time, per-camera defaults the rest; each video was
    probed, and analysed with ``pipeline`` when one was named. ``videos``: the ids of the videos
    made; ``skipped``: ``{"file", "reason"}`` of the files left out; ``analyses``: the analyses
    queued."""

    FOLDER, ZIP = "folder", "zip"
    KINDS = [(s, s) for s in (FOLDER, ZIP)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=KINDS)
    source = models.CharField(max_length=2000, help_text="the folder's path, or the zip's file name")
    pattern = models.CharField(max_length=2000)
    defaults = models.JSONField(default=dict, blank=True, help_text="per-camera defaults, by camera")
    pipeline = models.CharField(max_length=50, blank=True)
    videos = models.JSONField(default=list, blank=True)
    skipped = models.JSONField(default=list, blank=True)
    analyses = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.id} ({self.kind} {self.source})"


class TaskRun(BoardFields):
    """A background task that has no record of its own, as the jobs board shows it: a media probe
    (``video``), an index rebuild, an import. ``result`` says what it did."""

    PROBE, REBUILD, IMPORT = "probe", "rebuild", "import"
    KINDS = [(k, k) for k in (PROBE, REBUILD, IMPORT)]
    QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)]
    UNFINISHED = (QUEUED, RUNNING)
    FINISHED = (SUCCEEDED, FAILED, CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=KINDS)
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED)
    progress = models.FloatField(default=0.0)
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    video_name = models.CharField(max_length=500, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"


class Pipeline(models.Model):
    """A TorchScript detector an admin registered (:mod:`indexer.pipelines`): its model file, its
    classes (``classes[i]`` is class ``i``), the ontology label each class maps to (in ``schema``,
    else the default schema), the size frames are resized to, and its thresholds."""

    name = models.SlugField(max_length=50, unique=True)
    model_path = models.CharField(max_length=2000)
    model_bytes = models.BigIntegerField(default=0)
    classes = models.JSONField(default=list)
    label_map = models.JSONField(default=dict)
    input_width = models.PositiveIntegerField()
    input_height = models.PositiveIntegerField()
    min_score = models.FloatField(default=0.3)
    nms_iou = models.FloatField(default=0.5)
    schema = models.ForeignKey(LabelSchema, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
