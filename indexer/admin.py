import json

from django import forms
from django.contrib import admin

from indexer import pipelines
from indexer.models import IngestJob, LabelSchema, Pipeline, Video
from indexer.payloads import PayloadError


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


class PipelineAddForm(forms.ModelForm):
    """Registering a detector: its name, model file and JSON config, checked as the API checks them
    (:func:`indexer.pipelines.pipeline_register`); each refusal shows on the form."""

    model_file = forms.FileField(label="TorchScript model", help_text="the file torch.jit.save wrote")
    config = forms.CharField(widget=forms.Textarea(attrs={"rows": 8, "cols": 80}), help_text=(
        'JSON: {"classes": [...], "label_map": {class: label}, "input_size": [w, h], '
        '"thresholds": {"score": 0.3, "nms_iou": 0.5}, "schema": "road", "description": "..."}'))

    class Meta:
        model = Pipeline
        fields = ["name"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            config = json.loads(cleaned["config"])
            self.instance = pipelines.pipeline_register(
                name=cleaned["name"], model_chunks=cleaned["model_file"].chunks(), config=config,
                actor=self.request.user if self.request else None)
        except json.JSONDecodeError as error:
            raise forms.ValidationError({"config": f"config is not JSON: {error}"}) from None
        except PayloadError as error:
            field = {"name": "name", "model": "model_file"}.get(error.path or "", "config")
            raise forms.ValidationError({field: f"{error.message} ({error.path})"}) from None
        return cleaned


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    """Registered detectors: added through the checks of the API, never edited (delete one and
    register it again), deleted with their model file."""

    list_display = ["name", "input_width", "input_height", "min_score", "schema", "created_by", "created_at"]
    readonly_fields = [f.name for f in Pipeline._meta.fields]

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, **kwargs)
        form = PipelineAddForm

        class WithRequest(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, request=request, **kw)

        return WithRequest

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["name", "model_file", "config"] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        pipelines.pipeline_delete(pipeline=obj)

    def delete_queryset(self, request, queryset):
        for pipeline in queryset:
            pipelines.pipeline_delete(pipeline=pipeline)
