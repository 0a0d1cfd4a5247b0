"""Writes: label schemas, ingest jobs, videos."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from indexer.backends import get_search_backend
from indexer.formats import FORMATS, FormatError, detect_format, read_analytics
from indexer.models import IngestJob, LabelSchema, Video
from indexer.ontology import Ontology, parse_schema_document
from indexer.payloads import PayloadError, payload_check_json, payload_delete, payload_store
from indexer.records import Analytics, VideoMeta
from indexer.validation import validate

logger = logging.getLogger(__name__)

MODES = ("strict", "filter")
VIOLATIONS_KEPT = 1000


def schema_layout(document: dict[str, Any]) -> str:
    """Which accepted layout an uploaded schema document is in."""
    root = document.get("schema") if isinstance(document.get("schema"), dict) else document
    if "display" in root:
        return "scoop"
    objects = root.get("objects")
    if root is not document or (isinstance(objects, dict) and "schema" not in objects and objects):
        return "eta-2019"
    return "eta"


def schema_create(*, name: str, document: Any, author: AbstractBaseUser | None) -> LabelSchema:
    """Store a new version of the ontology ``name``.

    Raises :class:`indexer.ontology.SchemaError` listing every problem.
    """
    ontology = parse_schema_document(document)
    layout = schema_layout(document)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                latest = LabelSchema.objects.filter(name=name).aggregate(v=Max("version"))["v"] or 0
                return LabelSchema.objects.create(
                    name=name,
                    version=latest + 1,
                    document=ontology.to_document(),
                    source_format=layout,
                    author=author,
                )
        except IntegrityError:
            # Another upload of the same name took this version number: take the next.
            continue
    raise IntegrityError(f"could not allocate a version for schema '{name}'")


def schema_ontology(schema: LabelSchema) -> Ontology:
    return parse_schema_document(schema.document)


def ingest_job_create(
    *,
    chunks: Iterable[bytes],
    video_name: str,
    schema: LabelSchema,
    format: str | None,
    mode: str,
    options: dict[str, Any] | None,
    user: AbstractBaseUser | None,
    enqueue: bool = True,
) -> IngestJob:
    """Store a payload, check it, and queue its ingest (``enqueue=False``
    leaves running it to the caller, as ``load_demo`` does).

    The payload is refused (:class:`PayloadError`, nothing stored) when it is
    too large, empty, not JSON, or in no known format.
    """
    if mode not in MODES:
        raise PayloadError(f"unknown mode '{mode}'; expected strict or filter", path="mode")
    if format is not None and format not in FORMATS:
        raise PayloadError(f"unknown format '{format}'; expected one of {', '.join(FORMATS)}", path="format")
    path, size = payload_store(chunks=chunks, max_bytes=settings.SCOOP_INGEST_MAX_BYTES)
    try:
        payload_check_json(path)
        detected = detect_format(path)
        if format is not None and format != detected:
            logger.info("payload detected as %s, read as %s on request", detected, format)
    except FormatError as error:
        payload_delete(path)
        raise PayloadError(str(error), status=400) from error
    except BaseException:
        payload_delete(path)
        raise
    job = IngestJob.objects.create(
        video_name=video_name,
        schema=schema,
        format=format or detected,
        mode=mode,
        options=options or {},
        payload_path=str(path),
        payload_bytes=size,
        created_by=user,
    )
    if enqueue:
        from indexer.tasks import ingest_run_task

        ingest_run_task.delay_on_commit(str(job.id))
    return job


def ingest_run(*, job_id: str) -> IngestJob:
    """Read, validate and index one job's payload.

    The index and the video's record change together or not at all: the index
    swap is the last step inside the database transaction.
    """
    job = IngestJob.objects.select_related("schema").get(pk=job_id)
    if job.status in (IngestJob.SUCCEEDED, IngestJob.FAILED):
        return job
    IngestJob.objects.filter(pk=job.pk).update(
        status=IngestJob.RUNNING, started_at=timezone.now(), attempts=job.attempts + 1, progress=0.05
    )
    try:
        ontology = schema_ontology(job.schema)
        analytics = read_analytics(job.payload_path, format=job.format, options=job.options)
        report = validate(analytics, ontology, mode=job.mode)
        _record_report(job, report)
        if not report.ok and job.mode == "strict":
            return _job_fail(job, f"{report.violation_count} violation(s) of schema {job.schema}; nothing was indexed")
        IngestJob.objects.filter(pk=job.pk).update(progress=0.5)
        video = _index(job, report.analytics)
    except (FormatError, ValueError) as error:
        return _job_fail(job, str(error))
    job.refresh_from_db()
    logger.info("ingest %s indexed video %s: %s", job.id, video.name, job.counts)
    return job


def _record_report(job: IngestJob, report) -> None:
    job.violations = report.violations[:VIOLATIONS_KEPT]
    job.violation_count = report.violation_count
    job.warnings = list(report.analytics.warnings)[:VIOLATIONS_KEPT]
    IngestJob.objects.filter(pk=job.pk).update(
        violations=job.violations, violation_count=job.violation_count, warnings=job.warnings
    )


def _index(job: IngestJob, analytics: Analytics) -> Video:
    with transaction.atomic():
        video, _ = Video.objects.select_for_update().get_or_create(name=job.video_name)
        previous_payload = video.payload_path
        _video_apply_meta(video, analytics.meta)
        video.schema = job.schema
        video.format = job.format
        video.mode = job.mode
        video.options = job.options
        video.payload_path = job.payload_path
        video.indexed_at = timezone.now()
        counts = get_search_backend().index_video(video_id=video.pk, name=video.name, analytics=analytics)
        video.counts = {"frames": counts.frames, "objects": counts.objects, "tracks": counts.tracks,
                        "events": counts.events}
        video.save()
        IngestJob.objects.filter(pk=job.pk).update(
            status=IngestJob.SUCCEEDED, progress=1.0, video=video, counts=video.counts,
            finished_at=timezone.now(), error="",
        )
    if previous_payload and previous_payload != job.payload_path:
        payload_delete(previous_payload)
    return video


def _video_apply_meta(video: Video, meta: VideoMeta) -> None:
    video.fps = meta.fps
    video.frame_count = meta.frame_count
    video.duration_s = meta.duration_s
    video.width = meta.width
    video.height = meta.height
    video.size_bytes = meta.size_bytes
    video.mime_type = meta.mime_type or ""
    recorded_at = meta.recorded_at
    if recorded_at is not None and recorded_at.tzinfo is None:
        recorded_at = recorded_at.replace(tzinfo=UTC)
    video.recorded_at = recorded_at
    video.camera = meta.camera or ""
    video.gps = [[w.t, w.lat, w.lon] for w in meta.gps]


def _job_fail(job: IngestJob, message: str) -> IngestJob:
    IngestJob.objects.filter(pk=job.pk).update(
        status=IngestJob.FAILED, error=message, finished_at=timezone.now()
    )
    # A failed payload is never needed for a rebuild.
    video_uses_it = Video.objects.filter(payload_path=job.payload_path).exists()
    if not video_uses_it:
        payload_delete(job.payload_path)
    job.refresh_from_db()
    return job


def ingest_fail_unexpected(*, job_id: str, error: BaseException) -> None:
    """Mark a job failed after an error the task will not retry."""
    job = IngestJob.objects.filter(pk=job_id).first()
    if job is not None and job.status not in (IngestJob.SUCCEEDED, IngestJob.FAILED):
        _job_fail(job, f"internal error: {type(error).__name__}: {error}")


def video_delete(*, video: Video) -> None:
    """Remove a video from the index, then its records and payload."""
    with transaction.atomic():
        payload = video.payload_path
        get_search_backend().delete_video(video_id=video.pk)
        video.delete()
    payload_delete(payload)


def index_rebuild() -> int:
    """Rebuild the whole index from the stored payloads; returns the number of videos."""
    videos = list(Video.objects.exclude(payload_path="").select_related("schema"))
    entries: list[tuple[int, str, Analytics]] = []
    for video in videos:
        if not Path(video.payload_path).exists():
            raise FileNotFoundError(f"payload of video '{video.name}' is missing: {video.payload_path}")
        analytics = read_analytics(video.payload_path, format=video.format, options=video.options)
        report = validate(analytics, schema_ontology(video.schema), mode="filter")
        entries.append((video.pk, video.name, report.analytics))
    get_search_backend().rebuild(videos=entries)
    return len(entries)


def ingest_jobs_resume() -> int:
    """Queue again the jobs a stopped process left queued or running (the
    embedded broker lives in memory, so their messages died with it)."""
    from indexer.tasks import ingest_run_task

    unfinished = list(IngestJob.objects.filter(status__in=[IngestJob.QUEUED, IngestJob.RUNNING]))
    for job in unfinished:
        IngestJob.objects.filter(pk=job.pk).update(status=IngestJob.QUEUED, progress=0.0)
        ingest_run_task.delay(str(job.id))
    return len(unfinished)
