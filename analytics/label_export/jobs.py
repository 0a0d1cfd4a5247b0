"""Label exports run as jobs: what is too large to stream in one request is written by a
worker to ``SCOOP_DATA_DIR/exports/<job id>/<file name>``, with a progress the dashboard
polls (videos done of videos), then downloaded. A job that ended ``SCOOP_EXPORT_KEEP_DAYS``
days ago is deleted with its file by a periodic task (:func:`export_jobs_expire`)."""

from __future__ import annotations

import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from analytics.label_export.plan import export_chunks, export_detections, export_plan, export_scope
from analytics.models import ExportJob
from indexer.selectors import schema_resolve, search_request

logger = logging.getLogger(__name__)
EXPORT_TASK = "analytics.tasks.export_run_task"
# Fields of the request that say what to export (the job keeps them to run it later).
PARAMS = ("query", "q", "filters", "gap_s", "schema", "layout", "scope", "page", "page_size", "clips")


def _scope(params: dict[str, Any]):
    request = search_request(schema=schema_resolve(ref=params.get("schema")), query=params.get("query"),
                             q=params.get("q"), filters=params.get("filters"), gap_s=params.get("gap_s", 1.0))
    return export_scope(request=request, scope=params.get("scope", "all"), page=params.get("page", 1),
                        page_size=params.get("page_size", 20), clips=params.get("clips"))


def export_job_create(*, format: str, params: dict[str, Any], user: AbstractBaseUser | None) -> ExportJob:
    """A queued export of ``params`` (validated now: a bad query raises before any job exists)."""
    kept = {key: params[key] for key in PARAMS if params.get(key) is not None}
    detections = export_detections(scope=_scope(kept))
    job = ExportJob.objects.create(format=format, params=kept, created_by=user, detections=detections)
    current_app.tasks[EXPORT_TASK].delay_on_commit(str(job.pk))
    return job


def export_job_run(*, job_id: str) -> ExportJob | None:
    """Write the job's file; the job ends succeeded or failed (with the error). None: no such job."""
    job = ExportJob.objects.filter(pk=job_id).first()
    if job is None or job.status in (ExportJob.SUCCEEDED, ExportJob.FAILED):
        return job
    job.status, job.started_at = ExportJob.RUNNING, timezone.now()
    job.save(update_fields=["status", "started_at"])
    folder = _folder(job.pk)
    try:
        plan = export_plan(scope=_scope(job.params), format=job.format, layout=job.params.get("layout", "json"))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / plan.filename
        ExportJob.objects.filter(pk=job.pk).update(filename=plan.filename, content_type=plan.content_type,
                                                   videos=len(plan.videos))

        def progress(done: int, total: int) -> None:
            ExportJob.objects.filter(pk=job.pk).update(videos_done=done, progress=done / total if total else 1.0)

        with open(path, "wb") as out:
            for chunk in export_chunks(plan=plan, progress=progress):
                out.write(chunk)
    except Exception as error:  # noqa: BLE001 -- any failure ends the job, with what it was
        logger.exception("export %s failed", job.pk)
        shutil.rmtree(folder, ignore_errors=True)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.FAILED, error=str(error) or type(error).__name__,
                                                   finished_at=timezone.now())
    else:
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.SUCCEEDED, progress=1.0, file_path=str(path),
                                                   file_bytes=path.stat().st_size, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def _folder(job_id) -> Path:
    return Path(settings.SCOOP_DATA_DIR) / "exports" / str(job_id)


def export_jobs_expire(*, now: datetime | None = None) -> int:
    """Delete every export job that ended ``SCOOP_EXPORT_KEEP_DAYS`` days ago or more, with its
    file; how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SCOOP_EXPORT_KEEP_DAYS)
    expired = 0
    for job in ExportJob.objects.filter(status__in=(ExportJob.SUCCEEDED, ExportJob.FAILED), finished_at__lte=cutoff):
        shutil.rmtree(_folder(job.pk), ignore_errors=True)
        job.delete()
        expired += 1
    return expired
