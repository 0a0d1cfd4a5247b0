"""Small input/output serializers for the indexer's API."""

import json

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from indexer import selectors
from indexer.models import IngestJob, LabelSchema, Video
from scoop.api import JSONField, json_loads_bounded


class SchemaInput(serializers.Serializer):
    # Not digits alone: a schema reference of digits is an id (selectors.schema_resolve).
    name = serializers.RegexField(r"^(?![0-9]+$)[A-Za-z0-9_.\-]{1,200}$", help_text="letters, digits, _ . -; "
                                  "not digits alone", error_messages={"invalid": "use 1 to 200 letters, digits, "
                                                                      "_ . or -, not digits alone"})
    schema = serializers.JSONField(help_text="ETA VideoLabelsSchema (current or 2019) or a Scoop ontology")


class SchemaSummary(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None)

    class Meta:
        model = LabelSchema
        fields = ["id", "name", "version", "source_format", "author", "created_at"]


class SchemaDetail(SchemaSummary):
    document = serializers.JSONField(read_only=True)

    class Meta(SchemaSummary.Meta):
        fields = [*SchemaSummary.Meta.fields, "document"]


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


class IngestInput(serializers.Serializer):
    video = serializers.CharField(max_length=500, help_text="video name; re-ingesting a name replaces its analytics")
    schema = serializers.CharField(required=False, allow_blank=True, help_text="schema id, name or name:version")
    format = serializers.CharField(
        required=False, allow_blank=True,
        help_text="eta, roboflow, bdd100k, deepstream, supervision, motchallenge, cvat or camio; detected when absent",
    )
    mode = serializers.ChoiceField(choices=["strict", "filter"], default="strict")
    options = JSONObjectField(required=False, help_text='reader options, e.g. {"fps": 5}')


class IngestJobOutput(serializers.ModelSerializer):
    video = serializers.SerializerMethodField()
    schema = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = IngestJob
        fields = [
            "id", "url", "status", "progress", "video", "video_name", "schema", "format", "mode", "counts",
            "violations", "violation_count", "warnings", "error", "attempts", "payload_bytes",
            "created_at", "started_at", "finished_at",
        ]

    def get_video(self, job: IngestJob) -> int | None:
        return job.video_id

    def get_schema(self, job: IngestJob) -> dict:
        return {"id": job.schema_id, "name": job.schema.name, "version": job.schema.version}

    def get_url(self, job: IngestJob) -> str:
        return f"/api/v1/ingest/{job.id}/"


class SpriteOutput(serializers.Serializer):
    url = serializers.CharField()
    frames = serializers.IntegerField()
    frame_width = serializers.IntegerField()
    frame_height = serializers.IntegerField()
    interval_s = serializers.FloatField(help_text="tile i shows the frame at i * interval_s seconds")


class VideoOutput(serializers.ModelSerializer):
    schema = serializers.SerializerMethodField()
    stream_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    sprite = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = [
            "id", "name", "media_url", "stream_url", "thumbnail_url", "sprite", "media_status", "media_error",
            "media_probed_at", "codec", "fps", "frame_count", "duration_s", "width", "height", "size_bytes",
            "mime_type", "recorded_at", "camera", "gps", "schema", "format", "counts", "live", "created_at",
            "indexed_at",
        ]

    def get_schema(self, video: Video) -> dict | None:
        if video.schema is None:
            return None
        return {"id": video.schema_id, "name": video.schema.name, "version": video.schema.version}

    def get_stream_url(self, video: Video) -> str | None:
        return selectors.video_stream_url(video)

    def get_thumbnail_url(self, video: Video) -> str | None:
        return selectors.video_thumbnail_url(video, 0.0)

    @extend_schema_field(SpriteOutput(allow_null=True))
    def get_sprite(self, video: Video) -> dict | None:
        return selectors.video_sprite(video)


class VideoCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=500, help_text="the name analytics will be ingested under")
    live = serializers.BooleanField(default=False, help_text="true: a live stream, fed by POST .../stream/")
    fps = serializers.FloatField(required=False, min_value=0.001, help_text="live: frames per second (required)")
    width = serializers.IntegerField(required=False, min_value=1, help_text="live: frame width in pixels")
    height = serializers.IntegerField(required=False, min_value=1, help_text="live: frame height in pixels")
    recorded_at = serializers.DateTimeField(required=False, help_text="live: wall-clock time of t = 0 (naive = UTC)")
    camera = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    format = serializers.CharField(required=False, default="eta", help_text="live: the stream format of its lines")
    schema = serializers.CharField(required=False, allow_blank=True, help_text="live: schema id, name or name:version")
    mode = serializers.ChoiceField(choices=["strict", "filter"], default="strict", help_text="live: validation mode")

    def validate(self, data):
        if data["live"] and "fps" not in data:
            raise serializers.ValidationError({"fps": "a live video needs its frame rate"})
        return data


class VideoLiveInput(serializers.Serializer):
    live = serializers.BooleanField(help_text="false ends the stream (chunks are then refused); true resumes it")


class StreamInput(serializers.Serializer):
    # Not "format": DRF reads that query parameter as the response format.
    stream_format = serializers.CharField(required=False,
                                          help_text="the format of this chunk's lines (default: the video's)")
    mode = serializers.ChoiceField(choices=["strict", "filter"], required=False,
                                   help_text="validation mode for this chunk (default: the video's)")


class LiveVideoOutput(serializers.ModelSerializer):
    stream = serializers.SerializerMethodField()
    schema = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = ["id", "name", "live", "fps", "width", "height", "recorded_at", "camera", "format", "mode",
                  "schema", "counts", "stream"]

    def get_stream(self, video: Video) -> str:
        return reverse("video-live-chunks", args=[video.pk])

    def get_schema(self, video: Video) -> dict | None:
        if video.schema is None:
            return None
        return {"id": video.schema_id, "name": video.schema.name, "version": video.schema.version}


class MediaInput(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="the video file (multipart)")
    path = serializers.CharField(required=False, max_length=2000,
                                 help_text="a file on the server, under SCOOP_DATA_DIR/media or SCOOP_MEDIA_ROOTS")
    url = serializers.URLField(required=False, max_length=2000, help_text="an http(s) URL the browser plays")

    def validate(self, data):
        given = [name for name in ("file", "path", "url") if name in data]
        if len(given) != 1:
            raise serializers.ValidationError(
                "send exactly one of a multipart 'file', a server-side 'path' or a 'url'"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return data


class MediaOutput(serializers.ModelSerializer):
    stream_url = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = [
            "id", "name", "media_status", "media_error", "media_probed_at", "codec", "media_url", "stream_url",
            "fps", "frame_count", "duration_s", "width", "height", "size_bytes", "mime_type",
        ]

    def get_stream_url(self, video: Video) -> str | None:
        return selectors.video_stream_url(video)


class LabelsInput(serializers.Serializer):
    start_s = serializers.FloatField(min_value=0.0, default=0.0)
    end_s = serializers.FloatField(min_value=0.0, required=False, help_text="exclusive; the end when left out")
    q = serializers.CharField(required=False, allow_blank=True, help_text="only the labels matching this query")
    query = JSONField(required=False, binary=True, help_text="the query as a JSON tree (text)")
    filters = JSONField(required=False, binary=True, help_text="sidebar filters as JSON text")
    schema = serializers.CharField(required=False, allow_blank=True, help_text="the schema q and filters use")

    def validate(self, data):
        if "end_s" in data and data["end_s"] <= data["start_s"]:
            raise serializers.ValidationError({"end_s": "must be greater than start_s"})
        return data


class ThumbnailInput(serializers.Serializer):
    t = serializers.FloatField(min_value=0.0, default=0.0, help_text="seconds")
    w = serializers.IntegerField(min_value=16, max_value=1920, default=320, help_text="width in pixels")


class ClipInput(serializers.Serializer):
    start_s = serializers.FloatField(min_value=0.0)
    end_s = serializers.FloatField(min_value=0.0, help_text="exclusive")
    overlay = serializers.BooleanField(default=False, help_text="1 draws the labels on the video")

    def validate(self, data):
        if data["end_s"] <= data["start_s"]:
            raise serializers.ValidationError({"end_s": "must be greater than start_s"})
        return data
