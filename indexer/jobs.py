"""The jobs board (docs/api/jobs.md): every kind of job in one list, and what admins do to them.

Kinds: ``ingest`` (:class:`~indexer.models.IngestJob`), ``analysis``
(:class:`~indexer.models.Analysis`), and ``probe``, ``rebuild`` and ``import``
(:class:`~indexer.models.TaskRun`). Each keeps its own record; the board reads them side by side,
newest first, on two tabs (current, archived), filtered by a ``column:keyword`` query.

Actions: retry (a new job with the same inputs), cancel (a queued job at once; a running ingest job
or analysis at its next checkpoint, leaving nothing half-done), delete (with its outputs), archive
and unarchive, and an expiry date for its outputs (:func:`jobs_expire` deletes them then).
Admins see and act on every job; other roles see their own and act on none.
"""

from __future__ import annotations

import datetime as dt
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.roles import ADMIN, user_has_role
from indexer import analyses, services
from indexer.models import Analysis, IngestJob, TaskRun, Video
from indexer.payloads import PayloadError
from indexer.versions import payload_release

INGEST, ANALYSIS = "ingest", "analysis"
KINDS = (INGEST, ANALYSIS, TaskRun.PROBE, TaskRun.REBUILD, TaskRun.IMPORT)
CURRENT, ARCHIVED = "current", "archived"
TABS = (CURRENT, ARCHIVED)
COLUMNS = ("status", "kind", "video", "pipeline", "user", "device")
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
ACTIONS = ("retry", "cancel", "delete", "archive", "unarchive", "ttl")


@dataclass(frozen=True)
class BoardJob:
    """One row of the board: a job of ``kind`` and its record."""

    kind: str
    record: IngestJob | Analysis | TaskRun

    @property
    def actions(self) -> list[str]:
        """What an admin may do to it now."""
        record, finished = self.record, self.record.status not in ("queued", "running")
        allowed = []
        if record.status in ("failed", "cancelled") and self.kind != TaskRun.IMPORT:
            allowed.append("retry")
        if record.status == "queued" or (record.status == "running" and self.kind in (INGEST, ANALYSIS)
                                          and not record.cancel_requested):
            allowed.append("cancel")
        if finished:
            allowed += ["delete", "unarchive" if record.archived_at else "archive", "ttl"]
        return allowed


class BoardQuery:
    """A parsed search: ``column:keyword`` terms (the same column twice: either keyword) and bare
    words, which match the video's name. Refused (400, ``q``) for an unknown column or status."""

    def __init__(self, text: str):
        self.terms: dict[str, list[str]] = {}
        try:
            words = shlex.split(text or "")
        except ValueError as error:
            raise PayloadError(f"the search has an unclosed quote ({error})", path="q") from None
        for word in words:
            column, colon, keyword = word.partition(":")
            if not colon:
                column, keyword = "video", word
            column = column.lower()
            if column not in COLUMNS:
                raise PayloadError(f"unknown column '{column}' in '{word}'; search by {', '.join(COLUMNS)}", path="q")
            if not keyword:
                raise PayloadError(f"'{word}' has no keyword after the colon", path="q")
            if column == "status" and keyword.lower() not in STATUSES:
                raise PayloadError(f"unknown status '{keyword}'; expected one of {', '.join(STATUSES)}", path="q")
            if column == "kind" and keyword.lower() not in KINDS:
                raise PayloadError(f"unknown kind '{keyword}'; expected one of {', '.join(KINDS)}", path="q")
            self.terms.setdefault(column, []).append(keyword)

    def kinds(self) -> list[str]:
        wanted = {k.lower() for k in self.terms.get("kind", KINDS)}
        return [kind for kind in KINDS if kind in wanted]

    def filtered(self, kind: str, jobs: QuerySet) -> QuerySet | None:
        """``jobs`` of ``kind`` that match, or None when the kind cannot (it has no such column)."""
        lookups = _LOOKUPS[kind]
        for column, keywords in self.terms.items():
            if column == "kind":
                continue
            if column not in lookups:
                return None
            either = Q()
            for keyword in keywords:
                value = keyword.lower() if column == "status" else keyword
                either |= Q(**{lookups[column]: value})
            jobs = jobs.filter(either)
        return jobs


_TASK_LOOKUPS = {"status": "status", "video": "video_name__icontains", "user": "created_by__username__iexact"}
_LOOKUPS = {
    INGEST: {**_TASK_LOOKUPS},
    ANALYSIS: {"status": "status", "video": "video__name__icontains", "pipeline": "pipeline__icontains",
               "user": "created_by__username__iexact", "device": "result__device__icontains"},
    TaskRun.PROBE: _TASK_LOOKUPS, TaskRun.REBUILD: _TASK_LOOKUPS, TaskRun.IMPORT: _TASK_LOOKUPS,
}


def _records(kind: str) -> QuerySet:
    if kind == INGEST:
        return IngestJob.objects.select_related("schema", "video", "created_by")
    if kind == ANALYSIS:
        return Analysis.objects.select_related("video", "ingest_job", "created_by")
    return TaskRun.objects.filter(kind=kind).select_related("video", "created_by")


def _visible(kind: str, user: AbstractBaseUser) -> QuerySet:
    jobs = _records(kind)
    return jobs if user_has_role(user, ADMIN) else jobs.filter(created_by=user)


def jobs_page(*, user: AbstractBaseUser, tab: str, query: str, page: int, page_size: int
              ) -> tuple[int, list[BoardJob]]:
    """The jobs on ``tab`` that ``user`` may see and ``query`` matches: how many, and those of
    1-based ``page``, newest first, across kinds."""
    if tab not in TABS:
        raise PayloadError(f"unknown tab '{tab}'; expected current or archived", path="tab")
    parsed = BoardQuery(query)
    wanted = page * page_size
    total, rows = 0, []
    for kind in parsed.kinds():
        jobs = parsed.filtered(kind, _visible(kind, user))
        if jobs is None:
            continue
        jobs = jobs.filter(archived_at__isnull=tab == CURRENT).order_by("-created_at")
        total += jobs.count()
        rows += [BoardJob(kind, record) for record in jobs[:wanted]]
    rows.sort(key=lambda row: row.record.created_at, reverse=True)
    return total, rows[wanted - page_size:wanted]


def job_get(*, user: AbstractBaseUser, kind: str, job_id: str) -> BoardJob:
    """One job ``user`` may see; the model's ``DoesNotExist`` (404) otherwise."""
    if kind not in KINDS:
        raise PayloadError(f"unknown kind '{kind}'; expected one of {', '.join(KINDS)}", status=404, path="kind")
    return BoardJob(kind, _visible(kind, user).get(pk=job_id))


def _refuse_unless(job: BoardJob, action: str) -> None:
    if action not in job.actions:
        raise PayloadError(f"{job.kind} job {job.record.pk} is {job.record.status}"
                           f"{' and archived' if job.record.archived_at else ''}: it cannot be {_DONE[action]}"
                           f" ({_WHEN[action]})", status=409, path="action")


_DONE = {"retry": "retried", "cancel": "cancelled", "delete": "deleted", "archive": "archived",
         "unarchive": "unarchived", "ttl": "given an expiry date"}
_WHEN = {"retry": "only a failed or cancelled job can; imports are retried by importing again",
         "cancel": "only a queued job, or a running ingest job or analysis, can; once",
         "delete": "cancel it first, or wait until it ends", "archive": "only a job that ended and is not archived can",
         "unarchive": "only an archived job can", "ttl": "only a job that ended can"}


def job_retry(*, job: BoardJob, actor: AbstractBaseUser) -> BoardJob:
    """A new job with the failed or cancelled one's inputs, queued; the old one stays as it was.
    An ingest job whose payload is gone (deleted with a video) is refused (409)."""
    _refuse_unless(job, "retry")
    record = job.record
    if job.kind == INGEST:
        if not Path(record.payload_path).is_file():
            raise PayloadError(f"the payload of ingest job {record.pk} is no longer on the server: post the "
                               "analytics again", status=409, path="payload")
        new = IngestJob.objects.create(
            video_name=record.video_name, schema=record.schema, format=record.format, mode=record.mode,
            options=record.options, allow_empty=record.allow_empty,
            replacing=record.replacing or Video.objects.filter(name=record.video_name).exists(),
            restore_of=record.restore_of, payload_path=record.payload_path, payload_bytes=record.payload_bytes,
            created_by=actor)
        services.ingest_job_queue(job=new)
        return BoardJob(INGEST, new)
    if job.kind == ANALYSIS:
        return BoardJob(ANALYSIS, analyses.analysis_create(video=record.video, pipeline=record.pipeline,
                                                           params=record.params, user=actor))
    if job.kind == TaskRun.PROBE:
        video = Video.objects.filter(pk=record.video_id).first()
        if video is None or not video.media_path:
            raise PayloadError(f"the video of probe {record.pk} was deleted or has no media file any more",
                               status=409, path="video")
        return BoardJob(TaskRun.PROBE, services.video_probe_queue(video=video, actor=actor))
    return BoardJob(TaskRun.REBUILD, services.index_rebuild_queue(actor=actor))


def job_cancel(*, job: BoardJob) -> BoardJob:
    """A queued job is cancelled at once; a running one is asked to stop, and stops at its next
    checkpoint, undoing what it did (an ingest job before its index write, an analysis between
    batches of frames or before its labels are ingested): its status says when it has."""
    _refuse_unless(job, "cancel")
    model = type(job.record)
    now = timezone.now()
    cancelled = model.objects.filter(pk=job.record.pk, status="queued").update(
        status="cancelled", finished_at=now, progress=0.0, error="cancelled before it ran")
    if not cancelled:
        model.objects.filter(pk=job.record.pk, status="running").update(cancel_requested=True)
    job.record.refresh_from_db()
    return job


def job_delete(*, job: BoardJob) -> None:
    """Delete a job that ended, with its outputs: an ingest job's payload (unless a video, one of
    its kept versions or another job holds it), an analysis's result and log. An analysis's
    ingest job is a job of its own, and stays."""
    _refuse_unless(job, "delete")
    _delete(job)


def _delete(job: BoardJob) -> None:
    record = job.record
    record.delete()
    if job.kind == INGEST and not IngestJob.objects.filter(payload_path=record.payload_path).exists():
        payload_release(record.payload_path)


def job_archive(*, job: BoardJob, archived: bool) -> BoardJob:
    """Move a job that ended to the Archived tab (``archived``) or back to Current."""
    _refuse_unless(job, "archive" if archived else "unarchive")
    job.record.archived_at = timezone.now() if archived else None
    job.record.save(update_fields=["archived_at"])
    return job


def job_expiry_set(*, job: BoardJob, expires_at: dt.datetime | None) -> BoardJob:
    """Give a job that ended the date when it and its outputs are deleted (None: kept)."""
    _refuse_unless(job, "ttl")
    if expires_at is not None and expires_at <= timezone.now():
        raise PayloadError(f"expires_at must be in the future, got {expires_at.isoformat()}", path="expires_at")
    job.record.expires_at = expires_at
    job.record.save(update_fields=["expires_at"])
    return job


def jobs_expire(*, now: dt.datetime | None = None) -> int:
    """Delete every job that ended and whose expiry date has come, with its outputs; how many."""
    now = now or timezone.now()
    expired = 0
    for kind in KINDS:
        for record in _records(kind).filter(expires_at__lte=now).exclude(status__in=("queued", "running")):
            _delete(BoardJob(kind, record))
            expired += 1
    return expired


def job_output(job: BoardJob) -> dict[str, Any]:
    """What the job produced, for the board: counts, the device, where to download it."""
    record = job.record
    if job.kind == INGEST:
        return {"counts": record.counts, "violation_count": record.violation_count,
                "payload_bytes": record.payload_bytes}
    if job.kind == ANALYSIS:
        return {"counts": record.ingest_job.counts if record.ingest_job_id else {}, **(record.result or {})}
    return dict(record.result or {})
