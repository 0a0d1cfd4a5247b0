"""Exports of a search's labels in the formats other tools read (docs/api/exports.md):
:mod:`.plan` says what an export holds and writes it as a stream, :mod:`.jobs` runs a large
one as a job with progress; one module per format writes its files."""

from analytics.label_export.jobs import export_job_create, export_job_run, export_jobs_expire
from analytics.label_export.plan import (
    FORMATS,
    ExportPlan,
    Scope,
    Window,
    export_chunks,
    export_detections,
    export_plan,
    export_scope,
)

__all__ = ["FORMATS", "ExportPlan", "Scope", "Window", "export_chunks", "export_detections", "export_job_create",
           "export_job_run", "export_jobs_expire", "export_plan", "export_scope"]
