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
    # The first 8 hex digits of the UUID name a job well enough in a list; the full id
    # (36 characters) and the long date format pushed the table past 1440 px.
    list_display = ["job", "video_name", "status", "format", "mode", "violation_count", "created_by", "queued"]
    list_display_links = ["job"]
    list_filter = ["status", "format", "mode"]
    readonly_fields = [f.name for f in IngestJob._meta.fields]

    @admin.display(description="job", ordering="id")
    def job(self, job: IngestJob) -> str:
        return str(job.id)[:8]

    @admin.display(description="queued", ordering="created_at")
    def queued(self, job: IngestJob) -> str:
        return job.created_at.strftime("%Y-%m-%d %H:%M")
