"""Celery tasks: take ids, re-fetch, call a service. Retries live here."""

import time

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError

from indexer import analyses, jobs, selectors, services, uploads
from indexer.job_hold import job_hold
from indexer.models import TaskRun, Video

# Seconds after which a job that waits for an earlier job of its video looks again.
EARLIER_JOB_WAIT_S = 2


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 300,
)
def ingest_run_task(self, job_id: str) -> str:
    """Run one ingest job. A database hiccup is retried; anything else fails the job.

    Jobs of one video run in the order they were accepted, even on workers that run several jobs
    at once (where an older version of a video could otherwise replace a newer one): while an
    earlier job of the video has not ended, this one is queued again, to look again in
    ``EARLIER_JOB_WAIT_S`` seconds; so is a job that another worker runs (:mod:`indexer.job_hold`).
    Eager tasks run in their caller, in the order of the calls."""
    try:
        if self.request.is_eager:
            return services.ingest_run(job_id=job_id).status
        if selectors.ingest_job_earlier_unfinished(job_id=job_id) is not None:
            self.apply_async((job_id,), countdown=EARLIER_JOB_WAIT_S)
            return "waiting"
        with job_hold(job_id) as held:
            if not held:
                # Delivered again while another worker runs it (it outlived the broker's
                # visibility timeout): look again later, when that run has ended.
                self.apply_async((job_id,), countdown=EARLIER_JOB_WAIT_S)
                return "running elsewhere"
            return services.ingest_run(job_id=job_id).status
    except OperationalError:
        if self.request.retries >= self.max_retries:
            services.ingest_fail_unexpected(job_id=job_id, error=OperationalError("database unavailable"))
        raise
    except Exception as error:
        services.ingest_fail_unexpected(job_id=job_id, error=error)
        raise


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=900,
    time_limit=1000,
)
def video_probe_task(video_id: int, run_id: str | None = None) -> str:
    """Probe one video's media file (its run on the jobs board: ``run_id``). A database hiccup is
    retried; an undecodable file is recorded on the video by the service."""
    run = services.task_run_start(run_id=run_id, kind=TaskRun.PROBE, video=Video.objects.filter(pk=video_id).first())
    if run is None:
        return "cancelled"
    video = services.video_media_probe(video_id=video_id)
    outcome = video.media_status if video is not None else "deleted"
    services.task_run_finish(run=run, result={"media_status": outcome},
                             error=video.media_error if video is not None else "")
    return outcome


@shared_task(acks_late=True, soft_time_limit=12 * 3600, time_limit=12 * 3600 + 600)
def index_rebuild_task(run_id: str | None = None) -> int:
    """Rebuild the index from the stored payloads (built aside, then swapped in at once)."""
    run = services.task_run_start(run_id=run_id, kind=TaskRun.REBUILD)
    if run is None:
        return 0
    try:
        count = services.index_rebuild()
    except Exception as error:
        services.task_run_finish(run=run, error=f"{type(error).__name__}: {error}")
        raise
    services.task_run_finish(run=run, result={"videos": count})
    return count


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3,
             soft_time_limit=3600, time_limit=3900)
def video_reindex_task(self, video_id: int, requested_at: float) -> str:
    """Index one video again because what the overlays lay over it changed at ``requested_at``
    (epoch seconds, after that change committed), such as a review's state.

    Coalesced per video: a request made before a re-index of the video started is answered by
    it, so a burst of votes on one video costs one or two re-indexes, not one each (across
    processes when the cache is shared, as with Redis; else within each worker process).
    While an ingest job of the video is unfinished, it looks again in ``EARLIER_JOB_WAIT_S``."""
    key = f"indexer:reindex-started:{video_id}"
    if cache.get(key, 0.0) >= requested_at:
        return "covered"
    started = time.time()
    try:
        done = services.video_reindex(video_id=video_id)
    except services.ReindexLater:
        if self.request.is_eager:
            return "busy"  # eager tasks run in their caller: the job indexes with the new states itself
        self.apply_async((video_id, requested_at), countdown=EARLIER_JOB_WAIT_S)
        return "waiting"
    cache.set(key, max(started, cache.get(key, 0.0)), timeout=24 * 3600)
    return "indexed" if done else "nothing"


@shared_task(acks_late=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 600)
def index_merge_task() -> int:
    """Merge the index's segments (off the request path); another merge running makes it a no-op."""
    return services.index_merge()


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 300,
)
def video_analyse_task(video_id: int, schema: str | None = None, mode: str = "filter") -> str:
    """Analyse a video's media with the reference worker and ingest the labels
    (the ``gpu`` queue: run it where torch has a GPU). Returns the ingest job id."""
    return str(analyses.video_analyse(video_id=video_id, schema_ref=schema, mode=mode).id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3,
             soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300)
def analysis_run_task(analysis_id: str) -> str:
    """Run one analysis (the ``gpu`` queue: CUDA where torch sees it); returns its status."""
    return analyses.analysis_run(analysis_id=analysis_id).status


@shared_task(acks_late=True, soft_time_limit=3600, time_limit=3900)
def jobs_expire_task() -> int:
    """Delete the jobs whose outputs expired, with their outputs, and fail the abandoned uploads
    (Celery beat runs it every ``SCOOP_JOBS_EXPIRE_EVERY_S``); how many of both."""
    return jobs.jobs_expire() + uploads.uploads_abandoned_expire()
