"""Small input/output serializers for the indexer's API: label schemas, ingest jobs,
videos, their media, live chunks and labels. The output serializers make the answers;
drf-spectacular reads both kinds for the OpenAPI document."""

import json
from pathlib import Path

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from indexer import limits, selectors
from indexer.api_fields import (
    ErrorOutput,
    FacetValueField,
    FiltersField,
    ProblemOutput,
    QueryTreeField,
    TextChoiceField,
)
from indexer.formats import FORMATS, STREAM_READERS
from indexer.models import Analysis, IngestJob, LabelSchema, Upload, Video, VideoImport, VideoVersion
from indexer.request_parsing import json_loads_bounded
from indexer.uploads import upload_offset
from indexer.validation import MODES

# Label schemas ---------------------------------------------------------------------------------


class SchemaRef(serializers.ModelSerializer):
    """Which label schema version: ``{"id", "name", "version"}``."""

    class Meta:
        model = LabelSchema
        fields = ["id", "name", "version"]


def _schema_name(help_text: str) -> serializers.RegexField:
    # Not digits alone: a schema reference of digits is an id (selectors.schema_resolve).
    return serializers.RegexField(
        rf"^(?![0-9]+$)[A-Za-z0-9_.\-]{{1,{limits.SCHEMA_NAME_MAX}}}$",
        help_text=help_text,
        error_messages={"invalid": f"use 1 to {limits.SCHEMA_NAME_MAX} letters, digits, _ . or -, not digits alone"},
    )


class SchemaInput(serializers.Serializer):
    name = _schema_name("letters, digits, _ . -; not digits alone")
    schema = serializers.JSONField(help_text="ETA VideoLabelsSchema (current or 2019) or a Scoop ontology")


class DefaultSchemaInput(serializers.Serializer):
    name = _schema_name("the schema name whose newest version requests without 'schema' use (not name:version)")


class DefaultSchemaOutput(SchemaRef):
    """The default schema: the newest version of the name that requests naming no
    ``schema`` use."""


class DroppedValueOutput(serializers.Serializer):
    facet = serializers.CharField()
    value = FacetValueField()
    unit = serializers.ChoiceField(choices=["objects", "frames"])
    count = serializers.IntegerField(help_text="how many the indexed videos of the schema's name still hold")


class SchemaCreatedOutput(SchemaRef):
    """The new version; from the second version on, with what it drops that indexed videos
    still hold (the view sets ``dropped_in_use`` on the schema; absent, it is left out)."""

    dropped_in_use = DroppedValueOutput(
        many=True, required=False,
        help_text="values the previous version allowed and this one drops, still held by indexed videos: "
                  "they keep them, but searches and facets under this version no longer see them",
    )

    class Meta(SchemaRef.Meta):
        fields = [*SchemaRef.Meta.fields, "dropped_in_use"]


class SchemaSummary(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None, allow_null=True)

    class Meta:
        model = LabelSchema
        fields = ["id", "name", "version", "source_format", "author", "created_at"]


class AttrDocument(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField(help_text="the ETA attribute type, e.g. eta.core.data.CategoricalAttribute")
    categories = serializers.ListField(child=serializers.CharField(), required=False)
    values = serializers.ListField(child=serializers.BooleanField(), required=False)
    range = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2, required=False)


class AttrsDocument(serializers.Serializer):
    schema = serializers.DictField(child=AttrDocument(), help_text="{attribute name: attribute}")


class ObjectLabelDocument(serializers.Serializer):
    label = serializers.CharField()
    attrs = AttrsDocument(help_text="constant attributes: one value for the whole track")
    frames = AttrsDocument(help_text="per-detection attributes")


class EventLabelDocument(serializers.Serializer):
    label = serializers.CharField()
    attrs = AttrsDocument()


class ObjectLabelsDocument(serializers.Serializer):
    schema = serializers.DictField(child=ObjectLabelDocument(), help_text="{label: object label}")


class EventLabelsDocument(serializers.Serializer):
    schema = serializers.DictField(child=EventLabelDocument(), help_text="{label: event label}")


class DisplayGroup(serializers.Serializer):
    name = serializers.CharField()
    items = serializers.ListField(child=serializers.CharField())


class DisplayDocument(serializers.Serializer):
    groups = DisplayGroup(many=True, help_text="sidebar groups")
    names = serializers.DictField(child=serializers.CharField(), help_text="{name: display name}")
    colors = serializers.DictField(child=serializers.CharField(), help_text="{label: CSS color}")
    synonyms = serializers.DictField(child=serializers.CharField(), help_text="{synonym: label}")


class OntologyDocument(serializers.Serializer):
    """An ontology in Scoop's layout, whatever layout was uploaded."""

    attrs = AttrsDocument(help_text="video attributes")
    frames = AttrsDocument(help_text="frame attributes")
    objects = ObjectLabelsDocument()
    events = EventLabelsDocument()
    display = DisplayDocument()


class SchemaDetail(SchemaSummary):
    document = OntologyDocument(read_only=True)

    class Meta(SchemaSummary.Meta):
        fields = [*SchemaSummary.Meta.fields, "document"]


# Ingest ----------------------------------------------------------------------------------------


class JSONObjectField(serializers.JSONField):
    """A JSON object given as an object (JSON body) or as text (multipart form)."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json_loads_bounded(data)
            except json.JSONDecodeError as error:
                raise serializers.ValidationError(f"not valid JSON: {error.msg}") from error
        if not isinstance(data, dict):
            raise serializers.ValidationError("must be a JSON object")
        return data


@extend_schema_field({"anyOf": [{"type": "object", "additionalProperties": {}}, {"type": "array", "items": {}},
                                {"type": "string"}],
                      "description": "the analytics in one of the input formats: decoded JSON, or JSON text"})
class AnalyticsField(serializers.Field):
    """The analytics of a JSON body, passed on as sent: the format reader checks them."""

    def to_internal_value(self, data):
        return data


class IngestFields(serializers.Serializer):
    video = serializers.CharField(max_length=limits.VIDEO_NAME_MAX,
                                  help_text="video name; re-ingesting a name replaces its analytics")
    schema = serializers.CharField(required=False, allow_blank=True,
                                   help_text="schema id, name or name:version; default: the default schema")
    format = TextChoiceField(choices=FORMATS, required=False, allow_blank=True,
                             help_text="the input format; detected when absent")
    mode = serializers.ChoiceField(choices=MODES, default="strict")
    options = JSONObjectField(required=False, help_text='reader options, e.g. {"fps": 5}')
    allow_empty = serializers.BooleanField(
        default=False, help_text="true: the payload may replace a video's frames or detections with none "
                                 "(without it, such a job fails and the video keeps what it has)")


class IngestJsonInput(IngestFields):
    analytics = AnalyticsField(required=False, allow_null=True, help_text="the analytics")


class IngestUploadInput(IngestFields):
    file = serializers.FileField(required=False, allow_empty_file=True,
                                 help_text="the analytics file, streamed (or, for small ones, an analytics field)")
    analytics = serializers.CharField(required=False, help_text="the analytics as JSON text, instead of a file")
    seqinfo = serializers.FileField(required=False, allow_empty_file=True,
                                    help_text=f"MOTChallenge: the sequence's seqinfo.ini "
                                              f"(at most {limits.SEQINFO_MAX_BYTES} bytes)")


class IndexCountsOutput(serializers.Serializer):
    """What the index holds (or what was added): empty until the first ingest."""

    frames = serializers.IntegerField(required=False)
    objects = serializers.IntegerField(required=False)
    tracks = serializers.IntegerField(required=False)
    events = serializers.IntegerField(required=False)


class IngestJobOutput(serializers.ModelSerializer):
    video = serializers.IntegerField(source="video_id", allow_null=True, help_text="the video, once indexed")
    schema = SchemaRef()
    restore_of = serializers.IntegerField(source="restore_of.number", allow_null=True, default=None,
                                          help_text="a restore: the version it brings back")
    url = serializers.SerializerMethodField()
    counts = IndexCountsOutput()
    violations = ProblemOutput(many=True, help_text="the first violations of the schema")
    warnings = serializers.ListField(child=serializers.CharField(), help_text="what the reader repaired")

    class Meta:
        model = IngestJob
        fields = [
            "id", "url", "status", "progress", "video", "video_name", "schema", "format", "mode", "allow_empty",
            "restore_of", "counts", "violations", "violation_count", "warnings", "error", "attempts", "payload_bytes",
            "created_at", "started_at", "finished_at",
        ]

    def get_url(self, job: IngestJob) -> str:
        return reverse("ingest-detail", args=[job.id])


@extend_schema_field({"type": "object", "properties": {
    "schema": {"type": "string", "nullable": True, "description": "the labels' schema; default: the video's"},
    "mode": {"type": "string", "enum": list(MODES), "description": "validation of the labels; default filter"},
    "batch": {"type": "integer", "minimum": 1, "maximum": 256, "description": "frames per batch; default 16"},
    "device": {"type": "string", "nullable": True, "description": "cpu, cuda or cuda:N; default CUDA when present"}}})
class AnalysisParamsField(serializers.JSONField):
    """The reference pipeline's parameters; the service checks them (its errors name each one)."""


class AnalysisInput(serializers.Serializer):
    video = serializers.IntegerField(help_text="the video to analyse (its id); it needs media on this server")
    pipeline = serializers.CharField(required=False, default="reference", help_text="reference")
    params = AnalysisParamsField(required=False, default=dict)


class AnalysisResultOutput(serializers.Serializer):
    frames = serializers.IntegerField()
    seconds = serializers.FloatField()
    frames_per_second = serializers.FloatField()
    detections = serializers.IntegerField()
    tracks = serializers.IntegerField()
    device = serializers.CharField(help_text="cpu, or the CUDA device used")
    by_label = serializers.DictField(child=serializers.IntegerField(), help_text="detections by label")


class AnalysisOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    video = serializers.IntegerField(source="video_id")
    video_name = serializers.CharField(source="video.name")
    params = AnalysisParamsField()
    result = serializers.SerializerMethodField(help_text="what the pipeline found, once it ran")
    ingest_job = serializers.UUIDField(source="ingest_job_id", allow_null=True,
                                       help_text="the ingest job of the labels found, once made")
    counts = serializers.SerializerMethodField(help_text="what the ingest job indexed")
    payload_url = serializers.SerializerMethodField(help_text="the ETA labels found (once ingested)")
    log_url = serializers.SerializerMethodField()

    class Meta:
        model = Analysis
        fields = ["id", "url", "status", "progress", "video", "video_name", "pipeline", "params", "result",
                  "ingest_job", "counts", "error", "payload_url", "log_url", "created_at", "started_at", "finished_at"]

    @extend_schema_field(AnalysisResultOutput(allow_null=True))
    def get_result(self, analysis: Analysis) -> dict | None:
        return AnalysisResultOutput(analysis.result).data if analysis.result else None

    def get_url(self, analysis: Analysis) -> str:
        return reverse("analysis-detail", args=[analysis.id])

    @extend_schema_field(IndexCountsOutput(allow_null=True))
    def get_counts(self, analysis: Analysis) -> dict | None:
        return IndexCountsOutput(analysis.ingest_job.counts).data if analysis.ingest_job_id else None

    def get_payload_url(self, analysis: Analysis) -> str | None:
        return reverse("analysis-payload", args=[analysis.id]) if analysis.ingest_job_id else None

    def get_log_url(self, analysis: Analysis) -> str:
        return reverse("analysis-log", args=[analysis.id])


class AnalysisQueuedOutput(AnalysisOutput):
    class Meta(AnalysisOutput.Meta):
        fields = ["id", "status", "url"]


class IngestQueuedOutput(IngestJobOutput):
    """A queued job: where to follow it."""

    class Meta(IngestJobOutput.Meta):
        fields = ["id", "status", "url"]


class IngestCancelledOutput(IngestJobOutput):
    """A job cancelled because its video was deleted: ``error`` says by whom."""

    class Meta(IngestJobOutput.Meta):
        fields = ["id", "url", "status", "video_name", "error"]


# Videos and media ------------------------------------------------------------------------------


class SpriteOutput(serializers.Serializer):
    url = serializers.CharField()
    frames = serializers.IntegerField()
    frame_width = serializers.IntegerField()
    frame_height = serializers.IntegerField()
    interval_s = serializers.FloatField(help_text="tile i shows the frame at i * interval_s seconds")


@extend_schema_field({"type": "array", "items": {"type": "array", "items": {"type": "number"}, "minItems": 3,
                                                 "maxItems": 3},
                      "description": "GPS waypoints [[t, lat, lon], ...]: seconds from the start, degrees"})
class WaypointsField(serializers.JSONField):
    """A video's waypoints, as stored."""


class VideoOutput(serializers.ModelSerializer):
    media_url = serializers.CharField(help_text="an http(s) URL the browser plays; empty when none")
    schema = SchemaRef(allow_null=True)
    owner = serializers.CharField(source="owner.username", default=None, allow_null=True,
                                  help_text="who may write to it besides admins; null: admins only")
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True,
                                       help_text="who named it first; null: the server (demo data, commands)")
    stream_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    sprite = serializers.SerializerMethodField()
    gps = WaypointsField()
    counts = IndexCountsOutput()

    class Meta:
        model = Video
        fields = [
            "id", "name", "media_url", "stream_url", "thumbnail_url", "sprite", "media_status", "media_error",
            "media_probed_at", "codec", "fps", "frame_count", "duration_s", "width", "height", "size_bytes",
            "mime_type", "recorded_at", "camera", "gps", "schema", "format", "counts", "live", "owner", "created_by",
            "created_at", "indexed_at",
        ]

    def get_stream_url(self, video: Video) -> str | None:
        return selectors.video_stream_url(video)

    def get_thumbnail_url(self, video: Video) -> str | None:
        return selectors.video_thumbnail_url(video, 0.0)

    @extend_schema_field(SpriteOutput(allow_null=True))
    def get_sprite(self, video: Video) -> dict | None:
        return selectors.video_sprite(video)


class VideoSourceJobOutput(serializers.ModelSerializer):
    """The ingest job whose analytics a video holds now, and who uploaded them."""

    url = serializers.SerializerMethodField()
    uploaded_by = serializers.CharField(source="created_by.username", default=None, allow_null=True,
                                        help_text="who posted the analytics; null: the server (demo data, commands)")

    class Meta:
        model = IngestJob
        fields = ["id", "url", "uploaded_by", "format", "finished_at"]

    def get_url(self, job: IngestJob) -> str:
        return reverse("ingest-detail", args=[job.id])


class VideoDetailOutput(VideoOutput):
    """One video, with the ingest job its analytics came from."""

    source_job = serializers.SerializerMethodField()

    class Meta(VideoOutput.Meta):
        fields = [*VideoOutput.Meta.fields, "source_job"]

    @extend_schema_field(VideoSourceJobOutput(allow_null=True))
    def get_source_job(self, video: Video) -> dict | None:
        job = selectors.video_source_job(video=video)
        return VideoSourceJobOutput(job).data if job else None


class VideoCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=limits.VIDEO_NAME_MAX,
                                 help_text="the name analytics will be ingested under")
    live = serializers.BooleanField(default=False, help_text="true: a live stream, fed by POST .../stream/")
    fps = serializers.FloatField(required=False, min_value=0.001, help_text="live: frames per second (required)")
    width = serializers.IntegerField(required=False, min_value=1, help_text="live: frame width in pixels")
    height = serializers.IntegerField(required=False, min_value=1, help_text="live: frame height in pixels")
    recorded_at = serializers.DateTimeField(required=False, help_text="live: wall-clock time of t = 0 (naive = UTC)")
    camera = serializers.CharField(required=False, allow_blank=True, max_length=limits.CAMERA_MAX, default="")
    format = TextChoiceField(choices=sorted(STREAM_READERS), required=False, default="eta",
                             help_text="live: the stream format of its lines")
    schema = serializers.CharField(required=False, allow_blank=True,
                                   help_text="live: schema id, name or name:version; default: the default schema")
    mode = serializers.ChoiceField(choices=MODES, default="strict", help_text="live: validation mode")

    def validate(self, data):
        if data["live"] and "fps" not in data:
            raise serializers.ValidationError({"fps": "a live video needs its frame rate"})
        return data


class VideoPatchInput(serializers.Serializer):
    live = serializers.BooleanField(required=False,
                                    help_text="false ends the stream (chunks are then refused); true resumes it")
    owner = serializers.CharField(required=False, allow_null=True, max_length=150,
                                  help_text="admins: the username of the worker (or admin) who may write to it; "
                                            "null: admins only")

    def validate(self, data):
        if not data:
            raise serializers.ValidationError("send 'live', 'owner' or both")
        return data


class VideoDeletedOutput(serializers.Serializer):
    """A deleted video, and its ingest jobs that were queued and are now cancelled."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    cancelled_jobs = IngestCancelledOutput(many=True)


class VideoBusyOutput(ErrorOutput):
    """409: a job is running for the video; it may be deleted once the job has ended."""

    job = serializers.UUIDField(help_text="the running job")
    job_url = serializers.CharField(help_text="where to follow it")


class VideoVersionOutput(serializers.ModelSerializer):
    """One kept version of a video: its payload, what was indexed from it, its media."""

    current = serializers.SerializerMethodField(help_text="true for what the video holds now")
    schema = SchemaRef()
    counts = IndexCountsOutput()
    media_file = serializers.SerializerMethodField(help_text="the name of its media file on the server, if any")
    media_url = serializers.CharField(help_text="its media URL, if any")
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True,
                                       help_text="who made the change; null: the server")
    restore = serializers.SerializerMethodField(help_text="POST here (admins) to bring this version back")

    class Meta:
        model = VideoVersion
        fields = ["number", "current", "change", "restored_from", "schema", "format", "mode", "counts", "payload_bytes",
                  "media_file", "media_url", "created_by", "created_at", "restore"]

    def get_current(self, version: VideoVersion) -> bool:
        return version.number == self.context["current"]

    def get_media_file(self, version: VideoVersion) -> str | None:
        return Path(version.media_path).name if version.media_path else None

    def get_restore(self, version: VideoVersion) -> str:
        return reverse("video-version-restore", args=[version.video_id, version.number])


class LiveVideoOutput(serializers.ModelSerializer):
    """A live video: where to send its chunks."""

    stream = serializers.SerializerMethodField(help_text="POST chunks of newline-delimited JSON here")
    schema = SchemaRef(allow_null=True)
    counts = IndexCountsOutput()

    class Meta:
        model = Video
        fields = ["id", "name", "live", "fps", "width", "height", "recorded_at", "camera", "format", "mode",
                  "schema", "counts", "stream"]

    def get_stream(self, video: Video) -> str:
        return reverse("video-live-chunks", args=[video.pk])


class MediaInput(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="the video file (multipart)")
    path = serializers.CharField(required=False, max_length=limits.MEDIA_LOCATION_MAX,
                                 help_text="a file on the server, under SCOOP_DATA_DIR/media or SCOOP_MEDIA_ROOTS")
    url = serializers.URLField(required=False, max_length=limits.MEDIA_LOCATION_MAX,
                               help_text="an http(s) URL the browser plays")

    def validate(self, data):
        given = [name for name in ("file", "path", "url") if name in data]
        if len(given) != 1:
            raise serializers.ValidationError(
                "send exactly one of a multipart 'file', a server-side 'path' or a 'url'"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return data


class MediaOutput(serializers.ModelSerializer):
    media_url = serializers.CharField(help_text="an http(s) URL the browser plays; empty when none")
    stream_url = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = [
            "id", "name", "media_status", "media_error", "media_probed_at", "codec", "media_url", "stream_url",
            "fps", "frame_count", "duration_s", "width", "height", "size_bytes", "mime_type",
        ]

    def get_stream_url(self, video: Video) -> str | None:
        return selectors.video_stream_url(video)


# Live chunks -----------------------------------------------------------------------------------


class LiveChunkInput(serializers.Serializer):
    # Not "format": DRF reads that query parameter as the response format.
    stream_format = TextChoiceField(choices=sorted(STREAM_READERS), required=False,
                                    help_text="the format of this chunk's lines (default: the video's)")
    mode = serializers.ChoiceField(choices=MODES, required=False,
                                   help_text="validation mode for this chunk (default: the video's)")


class DuplicatesOutput(serializers.Serializer):
    frames = serializers.IntegerField(source="duplicate_frames", help_text="frames already indexed, left as they were")
    objects = serializers.IntegerField(source="duplicate_objects", help_text="detections in those frames, not added")


class LiveChunkOutput(serializers.Serializer):
    """What one chunk did (:class:`indexer.live.AppendOutcome`)."""

    video = serializers.IntegerField(source="video.pk")
    lines = serializers.IntegerField(help_text="the messages of the chunk")
    mode = serializers.ChoiceField(choices=MODES)
    appended = IndexCountsOutput(source="result.appended",
                                 help_text="frames, detections and events added; tracks: track ids new to the video")
    duplicates = DuplicatesOutput(source="result")
    dropped = serializers.DictField(child=serializers.IntegerField(), help_text="filter mode: what was left out, "
                                                                                "by kind")
    violations = ProblemOutput(many=True, help_text="filter mode: what broke the schema, with its line")
    violation_count = serializers.IntegerField()
    counts = IndexCountsOutput(source="video.counts", help_text="what the video holds now")


# Labels, thumbnails and clips ------------------------------------------------------------------


class LabelsInput(serializers.Serializer):
    start_s = serializers.FloatField(min_value=0.0, default=0.0)
    end_s = serializers.FloatField(min_value=0.0, required=False, help_text="exclusive; the end when left out")
    q = serializers.CharField(required=False, allow_blank=True, help_text="only the labels matching this query")
    query = QueryTreeField(required=False, binary=True, help_text="the query as a JSON tree (text)")
    filters = FiltersField(required=False, binary=True, help_text="sidebar filters as JSON text")
    schema = serializers.CharField(required=False, allow_blank=True,
                                   help_text="the schema q and filters use; default: the default schema")

    def validate(self, data):
        if "end_s" in data and data["end_s"] <= data["start_s"]:
            raise serializers.ValidationError({"end_s": "must be greater than start_s"})
        return data


class LabelObjectOutput(serializers.Serializer):
    label = serializers.CharField()
    track = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    box = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4, allow_null=True,
                                help_text="[x1, y1, x2, y2] relative to the frame (0..1)")
    attrs = serializers.DictField(child=FacetValueField(), help_text="{attribute: value}: per detection, and the "
                                                                     "track's constant ones")
    box_px = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4, allow_null=True,
                                   help_text="the box in pixels, when the frame size is known")


class LabelFrameOutput(serializers.Serializer):
    index = serializers.IntegerField(help_text="frame number")
    t = serializers.FloatField(help_text="seconds from the start")
    objects = LabelObjectOutput(many=True)


class LabelsOutput(serializers.Serializer):
    """The labeled frames of a window of a video."""

    video = serializers.IntegerField(source="video.pk")
    start_s = serializers.FloatField()
    end_s = serializers.FloatField(allow_null=True, help_text="the window's end (the video's duration by default)")
    width = serializers.IntegerField(source="video.width", allow_null=True)
    height = serializers.IntegerField(source="video.height", allow_null=True)
    frames = LabelFrameOutput(many=True)
    matching = serializers.BooleanField(required=False, help_text="true: only the labels matching q, query, filters")


class ThumbnailInput(serializers.Serializer):
    t = serializers.FloatField(min_value=0.0, default=0.0, help_text="seconds")
    w = serializers.IntegerField(min_value=limits.THUMBNAIL_WIDTH_MIN, max_value=limits.THUMBNAIL_WIDTH_MAX,
                                 default=limits.THUMBNAIL_WIDTH_DEFAULT, help_text="width in pixels")


class ClipInput(serializers.Serializer):
    start_s = serializers.FloatField(min_value=0.0)
    end_s = serializers.FloatField(min_value=0.0, help_text=f"exclusive; at most {limits.CUT_MAX_S:g} s after start_s")
    overlay = serializers.BooleanField(default=False, help_text="1 draws the labels on the video")

    def validate(self, data):
        if data["end_s"] <= data["start_s"]:
            raise serializers.ValidationError({"end_s": "must be greater than start_s"})
        return data


# Resumable uploads -----------------------------------------------------------------------------


class UploadOutput(serializers.ModelSerializer):
    """A resumable upload: how far it has come and, once finished, its file's SHA-256 and its video."""

    url = serializers.SerializerMethodField()
    offset = serializers.SerializerMethodField(help_text="bytes the server holds: where the next chunk starts")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    video_url = serializers.SerializerMethodField()
    media_status = serializers.SerializerMethodField(help_text="the video's probe: probing, ready or failed")

    class Meta:
        model = Upload
        fields = ["id", "url", "filename", "name", "camera", "recorded_at", "length", "offset", "status", "sha256",
                  "error", "video", "video_url", "media_status", "created_by", "created_at", "finished_at"]

    def get_url(self, upload: Upload) -> str:
        return reverse("upload-detail", args=[upload.pk])

    def get_offset(self, upload: Upload) -> int:
        return upload_offset(upload=upload)

    def get_video_url(self, upload: Upload) -> str | None:
        return reverse("video-detail", args=[upload.video_id]) if upload.video_id else None

    def get_media_status(self, upload: Upload) -> str | None:
        return upload.video.media_status if upload.video_id and upload.status == Upload.DONE else None


# Batch imports ---------------------------------------------------------------------------------


class CameraDefaults(serializers.Serializer):
    """What an import gives every video of one camera (``*``: of every camera)."""

    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    lon = serializers.FloatField(required=False, min_value=-180, max_value=180)
    timezone = serializers.CharField(required=False, help_text="IANA name: the zone of the file names' times "
                                                               "(default UTC)")
    schema = serializers.CharField(required=False, help_text="the schema its analysis ingests under")

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {unknown[0]: [f"unknown default; expected {', '.join(self.fields)}"]})
        return super().to_internal_value(data)


class ImportFolderInput(serializers.Serializer):
    path = serializers.CharField(help_text="a folder of the server, inside SCOOP_IMPORT_ROOTS")
    pattern = serializers.CharField(help_text="a regular expression with named groups camera, recorded_at or its "
                                              "parts, matched against each file's path in the folder")
    defaults = serializers.DictField(child=CameraDefaults(), required=False, help_text="per-camera defaults")
    pipeline = serializers.CharField(required=False, allow_blank=True, help_text="analyse each video with it")


class ImportZipInput(serializers.Serializer):
    file = serializers.FileField(help_text="a zip of videos")
    pattern = serializers.CharField(help_text="as for a folder, matched against each file's path in the zip")
    defaults = serializers.FileField(required=False, help_text="per-camera defaults: a JSON or CSV file")
    pipeline = serializers.CharField(required=False, allow_blank=True)


class ImportOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    defaults = serializers.DictField(child=CameraDefaults(), help_text="per-camera defaults, by camera")
    videos = serializers.ListField(child=serializers.IntegerField(), help_text="ids of the videos made")
    skipped = serializers.ListField(child=serializers.DictField(child=serializers.CharField()),
                                    help_text="{file, reason} of each file left out")
    analyses = serializers.ListField(child=serializers.CharField(), help_text="ids of the analyses queued")

    class Meta:
        model = VideoImport
        fields = ["id", "url", "kind", "source", "pattern", "defaults", "pipeline", "videos", "skipped", "analyses",
                  "created_by", "created_at"]

    def get_url(self, record: VideoImport) -> str:
        return reverse("import-detail", args=[record.pk])
