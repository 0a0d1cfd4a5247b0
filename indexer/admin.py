from django.contrib import admin

from indexer.models import IngestJob, LabelSchema, Video


@admin.register(LabelSchema)
class LabelSchemaAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "source_format", "author", "created_at"]
    list_filter = ["name"]
    readonly_fields = ["created_at"]


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "fps", "frame_count", "duration_s", "camera", "indexed_at"]
    search_fields = ["name", "camera"]


@admin.register(IngestJob)
class IngestJobAdmin(admin.ModelAdmin):
    list_display = ["id", "video_name", "status", "format", "mode", "violation_count", "created_by", "created_at"]
    list_filter = ["status", "format", "mode"]
    readonly_fields = [f.name for f in IngestJob._meta.fields]
