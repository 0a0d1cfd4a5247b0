"""Small input/output serializers for the indexer's API."""

import json

from rest_framework import serializers

from indexer.models import IngestJob, LabelSchema, Video


class SchemaInput(serializers.Serializer):
    name = serializers.RegexField(r"^[A-Za-z0-9_.\-]{1,200}$", help_text="letters, digits, _ . -")
    schema = serializers.JSONField(help_text="ETA VideoLabelsSchema (current or 2019) or a Scoop ontology")


class SchemaSummary(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None)

    class Meta:
        model = LabelSchema
        fields = ["id", "name", "version", "source_format", "author", "created_at"]


class SchemaDetail(SchemaSummary):
    class Meta(SchemaSummary.Meta):
        fields = [*SchemaSummary.Meta.fields, "document"]


class JSONObjectField(serializers.JSONField):
    """A JSON object given as an object (JSON body) or as text (multipart form)."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as error:
                raise serializers.ValidationError(f"not valid JSON: {error.msg}") from error
        if not isinstance(data, dict):
            raise serializers.ValidationError("must be a JSON object")
        return data


class IngestInput(serializers.Serializer):
    video = serializers.CharField(max_length=500, help_text="video name; re-ingesting a name replaces its analytics")
    schema = serializers.CharField(required=False, allow_blank=True, help_text="schema id, name or name:version")
    format = serializers.CharField(required=False, allow_blank=True, help_text="eta, roboflow, bdd100k")
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


class VideoOutput(serializers.ModelSerializer):
    schema = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = [
            "id", "name", "media_url", "fps", "frame_count", "duration_s", "width", "height", "size_bytes",
            "mime_type", "recorded_at", "camera", "gps", "schema", "format", "counts", "created_at", "indexed_at",
        ]

    def get_schema(self, video: Video) -> dict | None:
        if video.schema is None:
            return None
        return {"id": video.schema_id, "name": video.schema.name, "version": video.schema.version}
