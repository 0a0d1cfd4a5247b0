"""Writes: label schemas and the default one, ingest jobs, videos and their media."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import SCHEMA_UPLOAD, VIDEO_DELETE, VIDEO_MEDIA, VIDEO_OWNER, VIDEO_REPLACE, VIDEO_RESTORE
from accounts.roles import ADMIN, WORKER, user_has_role
from accounts.services import audit_record
from indexer.formats import FORMATS, FormatError, detect_format, options_check, read_analytics
from indexer.live import live_analytics, live_reindex, live_spool_locked, live_video_end
from indexer.media import MediaError, cache_clear, media_probe, media_resolve, media_store, media_type
from indexer.models import DefaultSchema, IngestJob, LabelSchema, TaskRun, Video, VideoVersion
from indexer.ontology import Ontology, parse_schema_document
from indexer.overlays import reviewed
from indexer.ownership import admin_check, video_write_check, video_write_refusal
from indexer.payloads import PayloadError, StorageError, payload_check, payload_delete, payload_store
from indexer.records import Analytics, FrameRecord, ObjectRecord, Record, VideoMeta
from indexer.search import get_search_backend
from indexer.selectors import schema_named, schema_ontology
from indexer.signals import video_indexed
from indexer.validation import ValidationFailed, checked_records, conforming_records
from indexer.versions import (
    Unreferenced,
    version_record,
    versions_files,
    versions_prune,
)

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
INDEX_MERGE_TASK = "indexer.tasks.index_merge_task"
INDEX_REBUILD_TASK = "indexer.tasks.index_rebuild_task"
# A running ingest job looks whether it was asked to stop at most this often (seconds) while it indexes.
CANCEL_CHECK_EVERY_S = 0.5


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
                schema = LabelSchema.objects.create(
                    name=name,
                    version=latest + 1,
                    document=ontology.to_document(),
                    source_format=layout,
                    author=author,
                )
                audit_record(actor=author, action=SCHEMA_UPLOAD, target=schema,
                             details={"name": name, "version": schema.version, "source_format": layout})
                return schema
        except IntegrityError:
            # Another upload of the same name took this version number: take the next.
            continue
    raise IntegrityError(f"could not allocate a version for schema '{name}'")


def schema_default_set(*, name: str, user: AbstractBaseUser | None) -> LabelSchema:
    """Make ``name`` the default schema: requests that name no schema then use its
    newest version, today's and those uploaded later. Returns that version.

    Raises :class:`indexer.selectors.SchemaNotFound` (at ``name``, with the nearest
    names) when no schema has that name.
    """
    schema = schema_named(name=name, path="name")
    DefaultSchema.objects.update_or_create(pk=DefaultSchema.ONLY_ID, defaults={"name": name, "chosen_by": user})
    return schema


def ingest_job_create(
    *,
    chunks: Iterable[bytes],
    video_name: str,
    schema: LabelSchema,
    format: str | None,
    mode: str,
    options: dict[str, Any] | None,
    user: AbstractBaseUser | None,
    allow_empty: bool = False,
    enqueue: bool = True,
) -> IngestJob:
    """Store a payload, check it, and queue its ingest (``enqueue=False``
    leaves running it to the caller, as ``load_demo`` does).

    Refused before anything is stored: a write to an existing video that ``user`` may
    not make (:class:`WriteRefused`, 403: see :mod:`indexer.ownership`), and a file for
    a live stream's video (409). The payload is refused (:class:`PayloadError`, nothing
    stored) when it is too large, empty, malformed (JSON, NDJSON, CSV, XML or Camio's
    lenient JSON), in no known format, or when its options cannot work (pixel boxes
    without a frame size, MOTChallenge without its sequence facts). ``allow_empty``
    lets the job replace a video's frames or detections with none.
    """
    if mode not in MODES:
        raise PayloadError(f"unknown mode '{mode}'; expected strict or filter", path="mode")
    if format is not None and format not in FORMATS:
        raise PayloadError(f"unknown format '{format}'; expected one of {', '.join(FORMATS)}", path="format")
    target = Video.objects.select_related("owner").filter(name=video_name).first()
    if target is not None:
        video_write_check(video=target, user=user)
        _refuse_file_for_stream(target)
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
            allow_empty=allow_empty,
            replacing=target is not None,
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


def ingest_job_queue(*, job: IngestJob) -> None:
    """Queue a job made here (a retry: :mod:`indexer.jobs`) once the transaction commits."""
    _task_queue(INGEST_RUN_TASK, str(job.id))


def _refuse_file_for_stream(video: Video) -> None:
    # A stream's analytics live in its spool, which a file would replace unversioned.
    if video.streamed:
        raise PayloadError(f"video '{video.name}' is a live stream: its analytics arrive as chunks "
                           f"(POST /api/v1/videos/{video.pk}/stream/); a file needs a video of its own "
                           "(choose another name)", status=409, path="video")


class JobRefused(Exception):
    """What makes a job fail before it indexes anything: its video is not its to write,
    was deleted since, or holds data the payload would wipe out."""


def ingest_run(*, job_id: str) -> IngestJob:
    """Read, validate and index one job's payload, then record the video; returns the job.

    The job first checks, again, that its user may write to the video (and that a video
    it was to replace has not been deleted since); a finished or cancelled job is
    returned as it is. The analytics are indexed next, validated as the index reads
    them; the video's record, its new version and the job's success are then written in
    one database transaction (see :func:`_index`). A payload that cannot be read, that
    breaks the schema in strict mode, that would replace a video's frames or detections
    with none (unless the job allows it), or that does not fit on the disk leaves the
    index as it was and fails the job with the reason. A job whose worker died during
    each of ``MAX_ATTEMPTS`` attempts fails without another.
    """
    job = IngestJob.objects.select_related("schema", "created_by", "restore_of").get(pk=job_id)
    if job.status in IngestJob.FINISHED:
        return job
    if job.attempts >= MAX_ATTEMPTS:
        # The worker died during every attempt (out of memory, killed): stop re-running it.
        return _job_fail(job, f"the worker stopped during each of {job.attempts} attempts; giving up")
    started = IngestJob.objects.filter(pk=job.pk, status__in=IngestJob.UNFINISHED).update(
        status=IngestJob.RUNNING, started_at=timezone.now(), attempts=job.attempts + 1, progress=0.05
    )
    if not started:
        # Cancelled (its video deleted) since it was fetched: it must not write.
        job.refresh_from_db()
        return job
    try:
        ontology = schema_ontology(job.schema)
        analytics = read_analytics(job.payload_path, format=job.format, options=job.options)
        # One pass: records are checked as the index reads them; in strict mode a
        # violation surfaces after the last record and the index change is dropped.
        check = checked_records(analytics, ontology, mode=job.mode)
        IngestJob.objects.filter(pk=job.pk).update(progress=0.1)
        try:
            video = _index(job, analytics, _stoppable(check.analytics, job), ontology)
        finally:
            _record_report(job, check)
    except JobCancelled:
        IngestJob.objects.filter(pk=job.pk).update(
            status=IngestJob.CANCELLED, finished_at=timezone.now(),
            error="cancelled while it ran: it stopped before its index write, and nothing was indexed")
        job.refresh_from_db()
        return job
    except JobRefused as refused:
        return _job_fail(job, str(refused))
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


class JobCancelled(Exception):
    """A running job found, at a checkpoint, that it was asked to stop (:mod:`indexer.jobs`)."""


def _stoppable(analytics: Analytics, job: IngestJob) -> Analytics:
    """``analytics`` whose records stop (:class:`JobCancelled`) once the job is asked to stop,
    looked up at most every ``CANCEL_CHECK_EVERY_S`` and after the last record: the index drops
    a write whose records raise, as it drops one that breaks the schema in strict mode."""

    def asked() -> bool:
        return IngestJob.objects.filter(pk=job.pk, cancel_requested=True).exists()

    def records() -> Iterator[Record]:
        looked = time.monotonic()
        for record in analytics.records():
            if time.monotonic() - looked >= CANCEL_CHECK_EVERY_S:
                looked = time.monotonic()
                if asked():
                    raise JobCancelled(str(job.pk))
            yield record
        if asked():
            raise JobCancelled(str(job.pk))

    return replace(analytics, records=records)


def _record_report(job: IngestJob, report) -> None:
    job.violations = report.violations  # at most MAX_LISTED, then an "... and N more" entry
    job.violation_count = report.violation_count
    job.warnings = list(report.analytics.warnings)[:VIOLATIONS_KEPT]
    IngestJob.objects.filter(pk=job.pk).update(
        violations=job.violations, violation_count=job.violation_count, warnings=job.warnings
    )


def _index(job: IngestJob, payload: Analytics, checked: Analytics, ontology: Ontology) -> Video:
    """Index the analytics, then record the video and its new version, in that order.

    The index swap is atomic on its own; the database is not held in a
    transaction while the (long) indexing runs, because on SQLite that would
    lock every other writer out. A video row this job had to create is removed
    again if indexing fails, so a failed job leaves no trace. ``payload`` is what
    the reader gives, ``checked`` the records that conform to the schema.
    """
    video, created = _job_video(job)
    if not created:
        _refuse_empty_replacement(job, video, payload, ontology)
    try:
        counts = get_search_backend().index_video(video_id=video.pk, name=video.name,
                                                  analytics=reviewed(video.pk, checked))
    except BaseException:
        if created:
            Video.objects.filter(pk=video.pk, indexed_at__isnull=True, media_path="", media_url="").delete()
        raise
    index_merge_queue()
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video.pk)
        replaced = {"payload": video.payload_path, "version": video.versions.aggregate(n=Max("number"))["n"],
                    "counts": video.counts}
        _video_apply_meta(video, checked.meta)
        video.schema = job.schema
        video.format = job.format
        video.mode = job.mode
        video.options = job.options
        video.payload_path = job.payload_path
        video.indexed_at = timezone.now()
        video.counts = {"frames": counts.frames, "objects": counts.objects, "tracks": counts.tracks,
                        "events": counts.events}
        if job.restore_of is not None:
            _media_restore(video, job.restore_of)
        video.save()
        version = version_record(
            video=video, change=VideoVersion.RESTORE if job.restore_of else VideoVersion.INGEST,
            created_by=job.created_by, payload_bytes=job.payload_bytes,
            restored_from=job.restore_of.number if job.restore_of else None,
        )
        pruned = versions_prune(video=video)
        IngestJob.objects.filter(pk=job.pk).update(
            status=IngestJob.SUCCEEDED, progress=1.0, video=video, counts=video.counts,
            finished_at=timezone.now(), error="",
        )
        if replaced["payload"] and job.restore_of is None:
            audit_record(actor=job.created_by, action=VIDEO_REPLACE, target=video, details={
                "job": str(job.id), "version": version.number, "replaced_version": replaced["version"],
                "format": job.format, "counts": video.counts, "replaced_counts": replaced["counts"]})
    if job.restore_of is not None and video.media_status == Video.MEDIA_PROBING:
        video_probe_queue(video=video, actor=job.created_by, on_commit=False)
    pruned.release()
    video_indexed.send(sender=Video, video_id=video.pk, span=None)
    return video


def _job_video(job: IngestJob) -> tuple[Video, bool]:
    """The video the job writes to (True: made now, owned by the job's user), once the
    job has checked that it may: the user may write to it, it is no live stream, and it
    was not deleted since the job was made to replace it (the job never makes it again)."""
    video, created = Video.objects.select_related("owner").get_or_create(
        name=job.video_name, defaults={"created_by": job.created_by, "owner": job.created_by})
    if created and job.replacing:
        video.delete()
        raise JobRefused(f"video '{job.video_name}' was deleted after this job was queued; "
                         "it is not made again and nothing was indexed")
    if not created:
        refusal = video_write_refusal(video=video, user=job.created_by)
        if refusal is not None:
            raise JobRefused(f"{refusal}; nothing was indexed")
        try:
            _refuse_file_for_stream(video)
        except PayloadError as error:
            raise JobRefused(f"{error.message}; nothing was indexed") from None
    return video, created


def _refuse_empty_replacement(job: IngestJob, video: Video, payload: Analytics, ontology: Ontology) -> None:
    """Refuse a payload without frames, or without detections, that would replace a video
    that has some, unless the job allows it. The payload's conforming records are read
    only until they show what the video holds (usually the first few)."""
    held_frames, held_objects = video.counts.get("frames", 0), video.counts.get("objects", 0)
    if job.allow_empty or not (held_frames or held_objects):
        return
    has_frames = has_objects = False
    for record in conforming_records(payload, ontology):
        has_frames = has_frames or isinstance(record, FrameRecord | ObjectRecord)
        has_objects = has_objects or isinstance(record, ObjectRecord)
        if (has_frames or not held_frames) and (has_objects or not held_objects):
            return
    lacks = "none" if not has_frames else "no detections"
    raise JobRefused(f"video '{video.name}' has {_plural(held_frames, 'frame')} and "
                     f"{_plural(held_objects, 'detection')}; this payload has {lacks}: send allow_empty=true to "
                     "replace them anyway (nothing was indexed)")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _media_restore(video: Video, version: VideoVersion) -> None:
    """Give ``video`` (locked) the media of ``version``. The media it had stays: the
    version before this restore refers to it."""
    if version.media_path == video.media_path and version.media_url == video.media_url:
        return
    video.media_path, video.media_url, video.codec, video.media_error = version.media_path, version.media_url, "", ""
    video.media_status = Video.MEDIA_PROBING if version.media_path else Video.MEDIA_NONE
    if version.media_path and Path(version.media_path).is_file():
        video.size_bytes = Path(version.media_path).stat().st_size
        video.mime_type = media_type(version.media_path)[1]


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
    # The payload stays, so that the job can be retried (indexer.jobs), until the job is deleted or
    # expires: SCOOP_FAILED_JOB_KEEP_DAYS unless an admin sets another date.
    IngestJob.objects.filter(pk=job.pk).update(
        status=IngestJob.FAILED, error=message.replace("\x00", "\\x00"), finished_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=settings.SCOOP_FAILED_JOB_KEEP_DAYS),
    )
    job.refresh_from_db()
    return job


def ingest_fail_unexpected(*, job_id: str, error: BaseException) -> None:
    """Mark a job failed after an error the task will not retry."""
    job = IngestJob.objects.filter(pk=job_id).first()
    if job is not None and job.status not in IngestJob.FINISHED:
        _job_fail(job, f"internal error: {type(error).__name__}: {error}")


class VideoBusy(Exception):
    """The video cannot be deleted while ``job`` (running) ingests it: 409."""

    status = 409

    def __init__(self, message: str, *, job: IngestJob):
        self.message = message
        self.job = job
        super().__init__(message)


def video_delete(*, video: Video, actor: AbstractBaseUser | None) -> list[IngestJob]:
    """Remove a video from the index, its record and its versions (in one transaction),
    then the files they alone held (payloads, uploaded media) and its cached pictures and
    cuts; returns the video's queued ingest jobs, now cancelled.

    Raises :class:`VideoBusy` (409, nothing changed) while one of its jobs is running: a
    job that was already writing would otherwise finish after the delete.
    """
    name = video.name
    # A live video's appends hold its spool lock: the delete waits for the one in progress.
    with live_spool_locked(video=video) if video.streamed else nullcontext(), transaction.atomic():
        jobs = IngestJob.objects.filter(Q(video=video) | Q(video_name=name))
        queued = list(jobs.filter(status=IngestJob.QUEUED).values_list("pk", flat=True))
        # Cancelled first, then checked for a running one: a job that starts meanwhile
        # either finds itself cancelled or is seen running (and this transaction rolls back).
        IngestJob.objects.filter(pk__in=queued, status=IngestJob.QUEUED).update(
            status=IngestJob.CANCELLED, finished_at=timezone.now(),
            error=f"cancelled: video '{name}' was deleted by {_who(actor)} before this job ran",
        )
        running = jobs.filter(status=IngestJob.RUNNING).order_by("created_at").first()
        if running is not None:
            url = reverse("ingest-detail", args=[running.pk])
            raise VideoBusy(f"video '{name}' is being ingested by job {running.pk} (running): wait until it "
                            f"ends (GET {url}), then delete the video", job=running)
        cancelled = list(IngestJob.objects.filter(pk__in=queued).order_by("created_at"))
        files = versions_files(video=video)
        files.payloads |= {job.payload_path for job in cancelled}
        get_search_backend().delete_video(video_id=video.pk)
        index_merge_queue()
        audit_record(actor=actor, action=VIDEO_DELETE, target=video, details={
            "name": name, "counts": video.counts, "versions": video.versions.count(),
            "cancelled_jobs": [str(job.pk) for job in cancelled]})
        video_id = video.pk
        video.delete()
    files.release()
    cache_clear(video_id)
    return cancelled


def _who(user: AbstractBaseUser | None) -> str:
    return user.get_username() if user is not None else "the server"


def video_get_or_create(*, name: str, user: AbstractBaseUser | None) -> tuple[Video, bool]:
    """The video called ``name``, made now (True) when none was, created by and owned by
    ``user``: media may arrive before the analytics, and ingest then fills this same record."""
    return Video.objects.get_or_create(name=name, defaults={"created_by": user, "owner": user})


def video_update(*, video: Video, actor: AbstractBaseUser | None, live: bool | None = None,
                 owner: str | None = None, owner_given: bool = False) -> Video:
    """Change a video: end or resume its live stream (``live``; its owner or an admin),
    and, with ``owner_given``, give it to the user named ``owner`` (None: nobody; admins
    only). Raises :class:`WriteRefused` (403) for a change ``actor`` may not make and
    :class:`PayloadError` (400) for an owner who is not a worker or an admin."""
    if owner_given:
        admin_check(user=actor, what="reassign a video")
        new_owner = _owner_named(owner)
        with transaction.atomic():
            # Only the video's row: PostgreSQL locks no row of an outer join's nullable side (the owner).
            locked = Video.objects.select_for_update(of=("self",)).select_related("owner").get(pk=video.pk)
            before = locked.owner.get_username() if locked.owner else None
            Video.objects.filter(pk=video.pk).update(owner=new_owner)
            audit_record(actor=actor, action=VIDEO_OWNER, target=locked, details={"from": before, "to": owner})
    if live is not None:
        live_video_end(video=Video.objects.select_related("owner").get(pk=video.pk), live=live, actor=actor)
    video.refresh_from_db()
    return video


def _owner_named(username: str | None) -> AbstractBaseUser | None:
    if username is None:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise PayloadError(f"no user is called '{username}'", path="owner")
    if not user_has_role(user, WORKER, ADMIN):
        raise PayloadError(f"user '{username}' is neither a worker nor an admin: only they write to videos",
                           path="owner")
    return user


def video_media_upload(*, video: Video, upload: UploadedFile, actor: AbstractBaseUser | None,
                       enqueue: bool = True) -> Video:
    """Store an uploaded media file as ``video``'s media and queue its probe.

    The file is kept under a generated name in ``SCOOP_DATA_DIR/media``.
    Raises :class:`WriteRefused` (403, nothing stored) when ``actor`` may not write to
    the video, :class:`MediaError` (413) past ``SCOOP_MEDIA_MAX_BYTES``; the
    video's previous media then stays.
    """
    video_write_check(video=video, user=actor)
    path, size = media_store(chunks=upload.chunks(UPLOAD_CHUNK), max_bytes=settings.SCOOP_MEDIA_MAX_BYTES)
    return _media_attach(video=video, path=path, size=size, actor=actor, how="upload", enqueue=enqueue)


def video_media_register(
    *, video: Video, actor: AbstractBaseUser | None, path: str | None = None, url: str | None = None,
    enqueue: bool = True
) -> Video:
    """Make a file already on the server (``path``) or an http(s) ``url`` the
    media of ``video``.

    A file is used where it is (never copied) and probed by a queued task
    (``enqueue=False`` leaves probing to the caller, as ``load_demo`` does).
    A URL is stored for the browser to play; the server never fetches it.
    Raises :class:`WriteRefused` (403) when ``actor`` may not write to the video,
    :class:`MediaError` for a path outside the allowed media folders, a missing
    file or a URL that is not http(s).
    """
    video_write_check(video=video, user=actor)
    if (path is None) == (url is None):
        raise MediaError("give the media as a server-side 'path' or an http(s) 'url', not both")
    if url is not None:
        return _media_attach_url(video=video, url=url, actor=actor)
    real = media_resolve(path)
    return _media_attach(video=video, path=real, size=real.stat().st_size, actor=actor, how="path",
                         enqueue=enqueue)


def video_media_adopt(*, video: Video, path: Path, actor: AbstractBaseUser | None, how: str,
                      enqueue: bool = True) -> Video:
    """Make a local file that the server itself chose the media of ``video``: a finished
    resumable upload or a video taken from an imported zip (written to ``SCOOP_DATA_DIR/media``
    under a generated name), or a file of an imported folder (used where it is). Its probe is
    queued (``enqueue=False``: the caller probes). ``how`` is what the audit log records.
    Raises :class:`WriteRefused` (403) when ``actor`` may not write to the video."""
    video_write_check(video=video, user=actor)
    return _media_attach(video=video, path=path, size=path.stat().st_size, actor=actor, how=how, enqueue=enqueue)


def _media_attach(*, video: Video, path: Path, size: int, actor: AbstractBaseUser | None, how: str,
                  enqueue: bool) -> Video:
    _extension, mime_type = media_type(path)
    with transaction.atomic():
        locked = Video.objects.select_for_update().get(pk=video.pk)
        previous = locked.media_path or locked.media_url
        locked.media_path, locked.media_url = str(path), ""
        locked.size_bytes, locked.mime_type = size, mime_type
        locked.media_status, locked.media_error, locked.codec = Video.MEDIA_PROBING, "", ""
        locked.save(update_fields=["media_path", "media_url", "size_bytes", "mime_type", "media_status",
                                   "media_error", "codec"])
        files = _media_changed(locked, actor=actor, how=how, previous=previous)
        if enqueue:
            video_probe_queue(video=locked, actor=actor)
    files.release()
    cache_clear(locked.pk)
    return locked


def _media_attach_url(*, video: Video, url: str, actor: AbstractBaseUser | None) -> Video:
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise MediaError(f"'{url}' is not an http(s) URL", path="url")
    with transaction.atomic():
        locked = Video.objects.select_for_update().get(pk=video.pk)
        previous = locked.media_path or locked.media_url
        locked.media_url, locked.media_path = url, ""
        # Nothing local to probe: thumbnails and exports need a file on the server.
        locked.media_status, locked.media_error, locked.codec = Video.MEDIA_NONE, "", ""
        locked.save(update_fields=["media_url", "media_path", "media_status", "media_error", "codec"])
        files = _media_changed(locked, actor=actor, how="url", previous=previous)
    files.release()
    cache_clear(locked.pk)
    return locked


def _media_changed(video: Video, *, actor: AbstractBaseUser | None, how: str, previous: str) -> Unreferenced:
    """Record a media change of ``video`` (locked): in the audit log and, when it has
    analytics, as its next version. Returns the files to release after commit: the
    media file it had (kept while a version refers to it) and what pruning dropped."""
    latest = video.versions.order_by("-number").first()
    files = Unreferenced(media={previous} - {video.media_path})
    version = None
    if latest is not None:
        version = version_record(video=video, change=VideoVersion.MEDIA, created_by=actor, media_of=latest)
        pruned = versions_prune(video=video)
        files.payloads |= pruned.payloads
        files.media |= pruned.media
    audit_record(actor=actor, action=VIDEO_MEDIA, target=video, details={
        "how": how, "media": video.media_path or video.media_url, "replaced": previous or None,
        "version": version.number if version else None})
    return files


def video_restore(*, video: Video, number: int, actor: AbstractBaseUser | None) -> IngestJob:
    """Queue an ingest job that brings back version ``number`` of ``video``: its payload,
    read as it was then (format, mode, options, schema), and its media. The job's success
    records the restore as the video's next version.

    Admins only (:class:`WriteRefused`); raises ``VideoVersion.DoesNotExist`` for a
    version the video does not keep and :class:`PayloadError` (409) when its payload
    file has gone from the disk.
    """
    admin_check(user=actor, what="restore a version of a video")
    version = video.versions.select_related("schema").get(number=number)
    if not Path(version.payload_path).is_file():
        raise PayloadError(f"the payload of version {number} of video '{video.name}' is missing from the server",
                           status=409)
    with transaction.atomic():
        job = IngestJob.objects.create(
            video_name=video.name, schema=version.schema, format=version.format, mode=version.mode,
            options=version.options, allow_empty=True, replacing=True, restore_of=version,
            payload_path=version.payload_path, payload_bytes=version.payload_bytes, created_by=actor,
        )
        audit_record(actor=actor, action=VIDEO_RESTORE, target=video,
                     details={"version": number, "job": str(job.pk)})
        _task_queue(INGEST_RUN_TASK, str(job.id))
    return job


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


def video_probe_queue(*, video: Video, actor: AbstractBaseUser | None, on_commit: bool = True) -> TaskRun:
    """Queue a probe of ``video``'s media, recorded as a :class:`TaskRun` for the jobs board."""
    run = TaskRun.objects.create(kind=TaskRun.PROBE, video=video, video_name=video.name, created_by=actor)
    _task_queue(VIDEO_PROBE_TASK, video.pk, str(run.pk), on_commit=on_commit)
    return run


def index_rebuild_queue(*, actor: AbstractBaseUser | None) -> TaskRun:
    """Queue a rebuild of the index (the ``index`` queue), recorded as a :class:`TaskRun`."""
    run = TaskRun.objects.create(kind=TaskRun.REBUILD, created_by=actor)
    _task_queue(INDEX_REBUILD_TASK, str(run.pk))
    return run


def task_run_start(*, run_id: str | None, kind: str, video: Video | None = None) -> TaskRun | None:
    """Mark a run started; None when it was cancelled (or deleted) while queued: the task then
    does nothing. A task queued without a run (before runs existed) gets one now."""
    if run_id is None:
        return TaskRun.objects.create(kind=kind, video=video, video_name=video.name if video else "",
                                      status=TaskRun.RUNNING, started_at=timezone.now())
    started = TaskRun.objects.filter(pk=run_id, status=TaskRun.QUEUED).update(
        status=TaskRun.RUNNING, started_at=timezone.now())
    return TaskRun.objects.get(pk=run_id) if started else None


def task_run_finish(*, run: TaskRun, result: dict[str, Any] | None = None, error: str = "") -> None:
    TaskRun.objects.filter(pk=run.pk).update(
        status=TaskRun.FAILED if error else TaskRun.SUCCEEDED, progress=1.0, result=result or {}, error=error,
        finished_at=timezone.now())


def index_rebuild() -> int:
    """Rebuild the whole index from the stored payloads; returns the number of videos.

    Every video's payload is read again (a live video's from its spool) and
    validated against its schema in filter mode; the engine then builds the new
    index aside and swaps it in. A missing payload raises ``FileNotFoundError``
    before the index is touched. Writes that land while the payloads are read go to the
    index being replaced: once it is swapped, the videos indexed since the rebuild began are
    indexed again from their payloads, and those deleted meanwhile are deleted again.
    """
    began = timezone.now()
    videos = list(Video.objects.exclude(payload_path="").select_related("schema"))
    entries = [(video.pk, video.name, _rebuild_analytics(video)) for video in videos]
    backend = get_search_backend()
    backend.rebuild(videos=entries)
    for video in Video.objects.exclude(payload_path="").filter(indexed_at__gte=began).select_related("schema"):
        backend.index_video(video_id=video.pk, name=video.name, analytics=_rebuild_analytics(video))
    rebuilt = {video.pk for video in videos}
    for video_id in sorted(rebuilt - set(Video.objects.filter(pk__in=rebuilt).values_list("pk", flat=True))):
        backend.delete_video(video_id=video_id)
    return len(entries)


def video_analytics(*, video: Video) -> Analytics:
    """The analytics the index holds of ``video``, read again from its payload as a rebuild
    reads them (exports read labels through this)."""
    return _rebuild_analytics(video)


def _rebuild_analytics(video: Video) -> Analytics:
    """A video's analytics read again from its payload (or spool), validated in filter mode,
    with the review overlay (:mod:`indexer.overlays`)."""
    if not Path(video.payload_path).exists():
        raise FileNotFoundError(f"payload of video '{video.name}' is missing: {video.payload_path}")
    if video.streamed:
        analytics = live_analytics(video=video)
    else:
        analytics = read_analytics(video.payload_path, format=video.format, options=video.options)
    # One pass: filter mode keeps what conforms as it reads (validate() would read it all once
    # more first, for a report nobody reads here).
    checked = checked_records(analytics, schema_ontology(video.schema), mode="filter").analytics

    def records() -> Iterator[Record]:
        try:
            yield from checked.records()
        except FileNotFoundError:
            if Video.objects.filter(pk=video.pk).exists():
                raise
            # Deleted (with its payload) while the rebuild ran: indexed without records, then
            # deleted again by index_rebuild.

    return reviewed(video.pk, Analytics(format=checked.format, meta=checked.meta, records=records,
                                        warnings=checked.warnings))


def video_reindex(*, video_id: int) -> bool:
    """Index a video again from its current payload (a live video from its spool), read as
    ``rebuild_index`` reads it, without a new version: what changes is what the overlays lay
    over it (:mod:`indexer.overlays`), such as a review's state. With segment storage that
    writes this one video, not the index. False when there is nothing to do: the video was
    deleted, or holds no payload (indexed by other means).

    Raises :class:`ReindexLater` while an ingest job of the video is queued or running, and
    when one started meanwhile: its index write and this one could land in either order."""
    began = timezone.now()
    video = Video.objects.select_related("schema").filter(pk=video_id).exclude(payload_path="").first()
    if video is None or video.schema is None:
        return False
    _reindex_check(video, began=None)
    analytics = _rebuild_analytics(video)
    if video.streamed:
        live_reindex(video=video, analytics=analytics)
    else:
        get_search_backend().index_video(video_id=video.pk, name=video.name, analytics=analytics)
    if not Video.objects.filter(pk=video.pk).exists():
        get_search_backend().delete_video(video_id=video.pk)  # deleted while it was read
        return False
    _reindex_check(video, began=began)
    index_merge_queue()
    return True


class ReindexLater(Exception):
    """A re-index that must wait for an ingest job of its video (and then run again)."""


def _reindex_check(video: Video, *, began) -> None:
    """:class:`ReindexLater` while a job of ``video`` is unfinished or (``began``) started since then."""
    jobs = IngestJob.objects.filter(video_name=video.name)
    busy = jobs.filter(status__in=[IngestJob.QUEUED, IngestJob.RUNNING])
    if began is not None:
        busy = busy | jobs.filter(started_at__gte=began)
    if busy.exists():
        raise ReindexLater(f"video '{video.name}' is being ingested; index it again once its job ends")


def index_merge_queue() -> bool:
    """After a write: queue the index's merge work (:meth:`BaseSearchBackend.merge`) when it has
    some, off the request path. Whether it was queued."""
    if not get_search_backend().merge_due():
        return False
    _task_queue(INDEX_MERGE_TASK, on_commit=False)
    return True


def index_merge() -> int:
    """Merge the index's segments while its plan asks for it; returns the merges done."""
    backend, merges = get_search_backend(), 0
    while backend.merge():
        merges += 1
    return merges


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
