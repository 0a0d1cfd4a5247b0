"""Writes: label schemas, ingest jobs, videos and their media."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from indexer.formats import FORMATS, FormatError, detect_format, options_check, read_analytics
from indexer.live import live_analytics
from indexer.media import MediaError, cache_clear, media_owned, media_probe, media_resolve, media_store, media_type
from indexer.models import IngestJob, LabelSchema, Video
from indexer.ontology import parse_schema_document
from indexer.payloads import PayloadError, StorageError, payload_check, payload_delete, payload_store
from indexer.records import Analytics, VideoMeta
from indexer.search import get_search_backend
from indexer.selectors import schema_ontology, schema_resolve
from indexer.validation import ValidationFailed, checked_records, validate

logger = logging.getLogger(__name__)

MODES = ("strict", "filter")
MAX_ATTEMPTS = 3
VIOLATIONS_KEPT = 1000
UPLOAD_CHUNK = 1024 * 1024
# What a probe measures outranks what the analytics say; so do a local file's size and type.
PROBED_FIELDS = ("fps", "frame_count", "duration_s", "width", "height")
# The tasks (indexer.tasks) take ids and call these services; these services queue them
# by name, so neither module imports the other. IndexerConfig.ready() registers them.
INGEST_RUN_TASK = "indexer.tasks.ingest_run_task"
VIDEO_PROBE_TASK = "indexer.tasks.video_probe_task"


def _task_queue(name: str, *args: Any, on_commit: bool = True) -> None:
    """Queue the Celery task ``name`` with ``args``: once the current transaction commits
    (``delay_on_commit``: the worker then finds the rows it is given), or at once."""
    task = current_app.tasks[name]
    if on_commit:
        task.delay_on_commit(*args)
    else:
        task.delay(*args)


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
    too large, empty, malformed (JSON, NDJSON, CSV, XML or Camio's lenient
    JSON), in no known format, or when its options cannot work (pixel boxes
    without a frame size, MOTChallenge without its sequence facts).
    """
    if mode not in MODES:
        raise PayloadError(f"unknown mode '{mode}'; expected strict or filter", path="mode")
    if format is not None and format not in FORMATS:
        raise PayloadError(f"unknown format '{format}'; expected one of {', '.join(FORMATS)}", path="format")
    path, size = payload_store(chunks=chunks, max_bytes=settings.SCOOP_INGEST_MAX_BYTES)
    try:
        payload_check(path)
        # An explicit format is taken as given: detection only fills in a missing one.
        chosen = format or detect_format(path)
        options_check(path, format=chosen, options=options)
    except FormatError as error:
        payload_delete(path)
        raise PayloadError(str(error), status=400, path=error.path or None) from error
    except BaseException:
        payload_delete(path)
        raise
    try:
        job = IngestJob.objects.create(
            video_name=video_name,
            schema=schema,
            format=chosen,
            mode=mode,
            options=options or {},
            payload_path=str(path),
            payload_bytes=size,
            created_by=user,
        )
    except BaseException:
        # No job, no payload: a database that refuses the row (full disk) leaves no orphan file.
        payload_delete(path)
        raise
    if enqueue:
        _task_queue(INGEST_RUN_TASK, str(job.id))
    return job


def ingest_run(*, job_id: str) -> IngestJob:
    """Read, validate and index one job's payload, then record the video; returns the job.

    The analytics are indexed first, validated as the index reads them; the
    video's record and the job's success are then written in one database
    transaction (see :func:`_index`). A payload that cannot be read, that breaks
    the schema in strict mode or that does not fit on the disk leaves the index as
    it was and fails the job with the reason. A finished job is returned as it
    is; a job whose worker died during each of ``MAX_ATTEMPTS`` attempts fails
    without another.
    """
    job = IngestJob.objects.select_related("schema").get(pk=job_id)
    if job.status in (IngestJob.SUCCEEDED, IngestJob.FAILED):
        return job
    if job.attempts >= MAX_ATTEMPTS:
        # The worker died during every attempt (out of memory, killed): stop re-running it.
        return _job_fail(job, f"the worker stopped during each of {job.attempts} attempts; giving up")
    IngestJob.objects.filter(pk=job.pk).update(
        status=IngestJob.RUNNING, started_at=timezone.now(), attempts=job.attempts + 1, progress=0.05
    )
    try:
        ontology = schema_ontology(job.schema)
        analytics = read_analytics(job.payload_path, format=job.format, options=job.options)
        # One pass: records are checked as the index reads them; in strict mode a
        # violation surfaces after the last record and the index change is dropped.
        check = checked_records(analytics, ontology, mode=job.mode)
        IngestJob.objects.filter(pk=job.pk).update(progress=0.1)
        try:
            video = _index(job, check.analytics)
        finally:
            _record_report(job, check)
    except ValidationFailed:
        return _job_fail(job, f"{check.violation_count} violation(s) of schema {job.schema}; nothing was indexed")
    except (FormatError, ValueError) as error:
        return _job_fail(job, str(error))
    except StorageError as error:
        # A full or read-only disk: the index stayed as it was; say so on the job.
        return _job_fail(job, error.message)
    job.refresh_from_db()
    logger.info("ingest %s indexed video %s: %s", job.id, video.name, job.counts)
    return job


def _record_report(job: IngestJob, report) -> None:
    job.violations = report.violations  # at most MAX_LISTED, then an "... and N more" entry
    job.violation_count = report.violation_count
    job.warnings = list(report.analytics.warnings)[:VIOLATIONS_KEPT]
    IngestJob.objects.filter(pk=job.pk).update(
        violations=job.violations, violation_count=job.violation_count, warnings=job.warnings
    )


def _index(job: IngestJob, analytics: Analytics) -> Video:
    """Index the analytics, then record the video, in that order.

    The index swap is atomic on its own; the database is not held in a
    transaction while the (long) indexing runs, because on SQLite that would
    lock every other writer out. A video row this job had to create is removed
    again if indexing fails, so a failed job leaves no trace.
    """
    video, created = Video.objects.get_or_create(name=job.video_name)
    try:
        counts = get_search_backend().index_video(video_id=video.pk, name=video.name, analytics=analytics)
    except BaseException:
        if created:
            Video.objects.filter(pk=video.pk, indexed_at__isnull=True, media_path="", media_url="").delete()
        raise
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video.pk)
        previous_payload = video.payload_path
        _video_apply_meta(video, analytics.meta)
        video.schema = job.schema
        video.format = job.format
        video.mode = job.mode
        video.options = job.options
        video.payload_path = job.payload_path
        video.live = video.streamed = False  # a file replaces a stream's analytics and ends it
        video.indexed_at = timezone.now()
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
    described = {
        "fps": meta.fps, "frame_count": meta.frame_count, "duration_s": meta.duration_s, "width": meta.width,
        "height": meta.height, "size_bytes": meta.size_bytes, "mime_type": meta.mime_type or "",
    }
    for name, value in described.items():
        known_from_media = video.media_status == Video.MEDIA_READY if name in PROBED_FIELDS else video.media_path
        if not known_from_media or getattr(video, name) in (None, ""):
            setattr(video, name, value)
    recorded_at = meta.recorded_at
    if recorded_at is not None and recorded_at.tzinfo is None:
        recorded_at = recorded_at.replace(tzinfo=UTC)
    video.recorded_at = recorded_at
    video.camera = meta.camera or ""
    video.gps = [[w.t, w.lat, w.lon] for w in meta.gps]


def _job_fail(job: IngestJob, message: str) -> IngestJob:
    # A reader's message may quote the payload: keep it short and free of NUL (PostgreSQL refuses it).
    message = message if len(message) <= 2000 else message[:2000] + "..."
    IngestJob.objects.filter(pk=job.pk).update(
        status=IngestJob.FAILED, error=message.replace("\x00", "\\x00"), finished_at=timezone.now()
    )
    # A failed payload is never needed for a rebuild.
    video_uses_it = Video.objects.filter(payload_path=job.payload_path).exists()
    if not video_uses_it:
        try:
            payload_delete(job.payload_path)
        except OSError as error:
            # A read-only data dir keeps the file; the job's failure is what matters.
            logger.warning("could not delete the payload of failed job %s: %s", job.id, error)
    job.refresh_from_db()
    return job


def ingest_fail_unexpected(*, job_id: str, error: BaseException) -> None:
    """Mark a job failed after an error the task will not retry."""
    job = IngestJob.objects.filter(pk=job_id).first()
    if job is not None and job.status not in (IngestJob.SUCCEEDED, IngestJob.FAILED):
        _job_fail(job, f"internal error: {type(error).__name__}: {error}")


def video_delete(*, video: Video) -> None:
    """Remove a video from the index and its record (in one transaction), then its payload,
    its uploaded media (unless another video uses the file) and its cached pictures and cuts."""
    with transaction.atomic():
        payload = video.payload_path
        get_search_backend().delete_video(video_id=video.pk)
        video_id, media = video.pk, video.media_path
        video.delete()
    payload_delete(payload)
    _media_release(media)
    cache_clear(video_id)


def video_get_or_create(*, name: str) -> tuple[Video, bool]:
    """The video called ``name``, made now (True) when none was: media may
    arrive before the analytics, and ingest then fills this same record."""
    return Video.objects.get_or_create(name=name)


def video_media_upload(*, video: Video, upload: UploadedFile, enqueue: bool = True) -> Video:
    """Store an uploaded media file as ``video``'s media and queue its probe.

    The file is kept under a generated name in ``SCOOP_DATA_DIR/media``.
    Raises :class:`MediaError` (413) past ``SCOOP_MEDIA_MAX_BYTES``; the
    video's previous media then stays.
    """
    path, size = media_store(chunks=upload.chunks(UPLOAD_CHUNK), max_bytes=settings.SCOOP_MEDIA_MAX_BYTES)
    return _media_attach(video=video, path=path, size=size, enqueue=enqueue)


def video_media_register(
    *, video: Video, path: str | None = None, url: str | None = None, enqueue: bool = True
) -> Video:
    """Make a file already on the server (``path``) or an http(s) ``url`` the
    media of ``video``.

    A file is used where it is (never copied) and probed by a queued task
    (``enqueue=False`` leaves probing to the caller, as ``load_demo`` does).
    A URL is stored for the browser to play; the server never fetches it.
    Raises :class:`MediaError` for a path outside the allowed media folders,
    a missing file or a URL that is not http(s).
    """
    if (path is None) == (url is None):
        raise MediaError("give the media as a server-side 'path' or an http(s) 'url', not both")
    if url is not None:
        return _media_attach_url(video=video, url=url)
    real = media_resolve(path)
    return _media_attach(video=video, path=real, size=real.stat().st_size, enqueue=enqueue)


def _media_attach(*, video: Video, path: Path, size: int, enqueue: bool) -> Video:
    _extension, mime_type = media_type(path)
    with transaction.atomic():
        locked = Video.objects.select_for_update().get(pk=video.pk)
        previous = locked.media_path
        locked.media_path, locked.media_url = str(path), ""
        locked.size_bytes, locked.mime_type = size, mime_type
        locked.media_status, locked.media_error, locked.codec = Video.MEDIA_PROBING, "", ""
        locked.save(update_fields=["media_path", "media_url", "size_bytes", "mime_type", "media_status",
                                   "media_error", "codec"])
        if enqueue:
            _task_queue(VIDEO_PROBE_TASK, locked.pk)
    if previous != str(path):
        _media_release(previous)
    cache_clear(locked.pk)
    return locked


def _media_attach_url(*, video: Video, url: str) -> Video:
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise MediaError(f"'{url}' is not an http(s) URL", path="url")
    with transaction.atomic():
        locked = Video.objects.select_for_update().get(pk=video.pk)
        previous = locked.media_path
        locked.media_url, locked.media_path = url, ""
        # Nothing local to probe: thumbnails and exports need a file on the server.
        locked.media_status, locked.media_error, locked.codec = Video.MEDIA_NONE, "", ""
        locked.save(update_fields=["media_url", "media_path", "media_status", "media_error", "codec"])
    _media_release(previous)
    cache_clear(locked.pk)
    return locked


def _media_release(path: str) -> None:
    """Delete a media file Scoop stored, once no video uses it; registered files are left alone."""
    if path and media_owned(path) and not Video.objects.filter(media_path=path).exists():
        Path(path).unlink(missing_ok=True)


def video_media_probe(*, video_id: int) -> Video | None:
    """Probe a video's local media file with OpenCV and keep what it tells
    (None when the video has been deleted since; a video without a local file
    is returned as it is).

    Probed numbers replace the analytics' where the probe has them. A file
    that cannot be decoded sets ``media_status`` to failed with the reason in
    ``media_error``; nothing is raised.
    """
    video = Video.objects.filter(pk=video_id).first()
    if video is None or not video.media_path:
        return video
    path = video.media_path
    try:
        if not Path(path).is_file():
            raise MediaError(f"the media file {path} does not exist")
        probe = media_probe(path)
    except MediaError as error:
        fields: dict[str, Any] = {"media_status": Video.MEDIA_FAILED, "media_error": error.message, "codec": ""}
    else:
        measured = {"fps": probe.fps, "frame_count": probe.frame_count, "duration_s": probe.duration_s,
                    "width": probe.width, "height": probe.height}
        fields = {name: value for name, value in measured.items() if value is not None}
        fields.update(media_status=Video.MEDIA_READY, media_error="", codec=probe.codec)
    fields["media_probed_at"] = timezone.now()
    # A newer registration has queued its own probe: leave the record to it.
    Video.objects.filter(pk=video_id, media_path=path).update(**fields)
    video.refresh_from_db()
    logger.info("probed media of video %s: %s %s", video.name, video.media_status, video.media_error)
    return video


def index_rebuild() -> int:
    """Rebuild the whole index from the stored payloads; returns the number of videos.

    Every video's payload is read again (a live video's from its spool) and
    validated against its schema in filter mode; the engine then builds the new
    index aside and swaps it in. A missing payload raises ``FileNotFoundError``
    before the index is touched.
    """
    videos = list(Video.objects.exclude(payload_path="").select_related("schema"))
    entries: list[tuple[int, str, Analytics]] = []
    for video in videos:
        if not Path(video.payload_path).exists():
            raise FileNotFoundError(f"payload of video '{video.name}' is missing: {video.payload_path}")
        if video.streamed:
            analytics = live_analytics(video=video)
        else:
            analytics = read_analytics(video.payload_path, format=video.format, options=video.options)
        report = validate(analytics, schema_ontology(video.schema), mode="filter")
        entries.append((video.pk, video.name, report.analytics))
    get_search_backend().rebuild(videos=entries)
    return len(entries)


def ingest_jobs_resume() -> int:
    """Queue again, oldest first, the jobs a stopped server left queued or running, whose
    messages may have died with its worker (``manage.py serve`` empties its ingest queue
    first, so that each job has one message). Returns how many."""
    unfinished = list(IngestJob.objects.filter(status__in=[IngestJob.QUEUED, IngestJob.RUNNING])
                      .order_by("created_at", "pk"))
    for job in unfinished:
        IngestJob.objects.filter(pk=job.pk).update(status=IngestJob.QUEUED, progress=0.0)
        _task_queue(INGEST_RUN_TASK, str(job.id), on_commit=False)
    return len(unfinished)


def video_analyse(*, video_id: int, schema_ref: str | int | None = None, mode: str = "filter",
                  device: str | None = None, batch: int = 16) -> IngestJob:
    """Run the reference worker (:mod:`scoop_worker`) on a video's local
    media file and ingest its ETA labels through the normal ingest path.

    The labels follow ``schema_ref`` (default: the video's schema, else the
    only one): its object labels and its ``color`` values; ``mode`` is the
    ingest validation mode. Raises :class:`MediaError` when the video has no
    media file on this server. Returns the finished ingest job.
    """
    # Imported here, not at the top, so that torch is loaded only by the processes that
    # analyse video (the gpu queue), not by every web process and ingest worker.
    from scoop_worker import video_analyse as worker_video_analyse
    from scoop_worker.labels import ontology_colors, ontology_labels

    video = Video.objects.select_related("schema").get(pk=video_id)
    if not video.media_path or not Path(video.media_path).is_file():
        raise MediaError(f"video {video.pk} has no media file on this server to analyse", path="video")
    schema = video.schema if schema_ref is None and video.schema else schema_resolve(ref=schema_ref)
    result = worker_video_analyse(video.media_path, colors=ontology_colors(schema.document),
                                  labels=ontology_labels(schema.document), device=device, batch=batch,
                                  name=video.name)
    logger.info("analysed video %s: %s", video.name, result.summary())
    job = ingest_job_create(chunks=[json.dumps(result.labels).encode("utf-8")], video_name=video.name,
                            schema=schema, format="eta", mode=mode, options=None, user=None, enqueue=False)
    return ingest_run(job_id=str(job.id))
