"""Analyses: a pipeline run over a video's media, whose labels are ingested into the video
(docs/api/analyses.md).

``POST /api/v1/analyses/`` makes an :class:`~indexer.models.Analysis` and queues it on the
``gpu`` queue (:func:`analysis_create`); the task runs it (:func:`analysis_run`): the pipeline
reads every frame (CUDA when torch sees a GPU, the CPU otherwise), its progress is recorded as it
goes, and its ETA labels become an ingest job of the video, validated like any worker's output.
The job's payload is the analysis's payload; its log keeps what the run did.

Pipelines: ``reference``, the reference worker (:mod:`scoop_worker`: HOG people, MOG2 movers,
colour, IoU tracking, embeddings), whose labels follow the schema's object labels and colours; and
the TorchScript detectors admins register (:mod:`indexer.pipelines`), run in its place with the
same tracking, colours and embeddings.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from celery import current_app
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from indexer.media import MediaError
from indexer.models import Analysis, IngestJob, Pipeline, Video
from indexer.payloads import PayloadError
from indexer.pipelines import REFERENCE, PipelineDetector
from indexer.selectors import schema_default, schema_resolve
from indexer.services import ingest_job_create, ingest_run
from indexer.validation import MODES

logger = logging.getLogger(__name__)

ANALYSIS_RUN_TASK = "indexer.tasks.analysis_run_task"
PIPELINES = ("reference",)
# Parameters of the reference pipeline, with their defaults.
PARAMS = {"schema": None, "mode": "filter", "batch": 16, "device": None}
BATCH_MAX = 256
# Progress is written at most this often (seconds), so that a fast pipeline does not write per batch.
PROGRESS_EVERY_S = 0.5


def analysis_create(*, video: Video, pipeline: str, params: dict[str, Any] | None,
                    user: AbstractBaseUser | None, enqueue: bool = True) -> Analysis:
    """Check the request and queue the analysis (``enqueue=False``: leave it queued, to run it
    in this process). Refused (400, with the field) for an unknown pipeline or parameter, and for a
    video without media on this server (409)."""
    known = [*PIPELINES, *Pipeline.objects.values_list("name", flat=True)]
    if pipeline not in known:
        raise PayloadError(f"unknown pipeline '{pipeline}'; expected one of {', '.join(known)}", path="pipeline")
    checked = _params_checked(params or {})
    if not video.media_path or not Path(video.media_path).is_file():
        raise MediaError(f"video '{video.name}' has no media file on this server to analyse: give it media first "
                         f"(POST /api/v1/videos/{video.pk}/media/)", status=409, path="video")
    if checked["schema"] is not None:
        schema_resolve(ref=checked["schema"])
    analysis = Analysis.objects.create(video=video, pipeline=pipeline, params=checked, created_by=user)
    if enqueue:
        current_app.tasks[ANALYSIS_RUN_TASK].delay_on_commit(str(analysis.pk))
    return analysis


def _params_checked(params: Any) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise PayloadError("params must be an object", path="params")
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise PayloadError(f"unknown parameter '{unknown[0]}'; the reference pipeline takes {', '.join(PARAMS)}",
                           path=f"params.{unknown[0]}")
    checked = {**PARAMS, **params}
    if checked["mode"] not in MODES:
        raise PayloadError(f"mode must be strict or filter, got {checked['mode']!r}", path="params.mode")
    batch = checked["batch"]
    if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= BATCH_MAX:
        raise PayloadError(f"batch must be a whole number from 1 to {BATCH_MAX}, got {batch!r}", path="params.batch")
    if checked["device"] not in (None, "cpu", "cuda") and not str(checked["device"]).startswith("cuda:"):
        raise PayloadError(f"device must be cpu, cuda or cuda:N, got {checked['device']!r}", path="params.device")
    if checked["schema"] is not None and not isinstance(checked["schema"], str | int):
        raise PayloadError("schema must be a schema's id, name or name:version", path="params.schema")
    return checked


def analysis_run(*, analysis_id: str) -> Analysis:
    """Run a queued analysis: the pipeline, then the ingest of its labels. A failure is recorded
    on the analysis (its error and log) and nothing is ingested."""
    with transaction.atomic():
        analysis = Analysis.objects.select_for_update(of=("self",)).select_related("video__schema").get(pk=analysis_id)
        if analysis.status != Analysis.QUEUED:
            return analysis
        analysis.status, analysis.started_at = Analysis.RUNNING, timezone.now()
        analysis.save(update_fields=["status", "started_at"])
    log = _Log(analysis)
    try:
        job = _run_reference(analysis, log)
    except AnalysisCancelled as cancelled:
        log.write(f"cancelled: {cancelled}")
        Analysis.objects.filter(pk=analysis.pk).update(status=Analysis.CANCELLED, error=f"cancelled {cancelled}",
                                                       log=log.text, finished_at=timezone.now())
        analysis.refresh_from_db()
        return analysis
    except Exception as error:  # recorded on the analysis: the API shows it
        log.write(f"failed: {error}")
        Analysis.objects.filter(pk=analysis.pk).update(status=Analysis.FAILED, error=str(error), log=log.text,
                                                       finished_at=timezone.now())
        logger.exception("analysis %s failed", analysis.pk)
        analysis.refresh_from_db()
        return analysis
    status = Analysis.SUCCEEDED if job.status == IngestJob.SUCCEEDED else Analysis.FAILED
    log.write(f"ingest job {job.pk}: {job.status}" + (f" ({job.error})" if job.error else ""))
    Analysis.objects.filter(pk=analysis.pk).update(status=status, progress=1.0, ingest_job=job, log=log.text,
                                                   error=job.error if status == Analysis.FAILED else "",
                                                   finished_at=timezone.now())
    analysis.refresh_from_db()
    return analysis


def _cuda_available() -> bool:
    import torch  # lazily, as scoop_worker above

    return torch.cuda.is_available()


class AnalysisCancelled(Exception):
    """The analysis was asked to stop (:mod:`indexer.jobs`) and stopped at a checkpoint."""


def _checkpoint(analysis: Analysis, where: str) -> None:
    if Analysis.objects.filter(pk=analysis.pk, cancel_requested=True).exists():
        raise AnalysisCancelled(f"{where}; nothing was ingested")


class _Log:
    """The analysis's log, kept in memory and written with its progress."""

    def __init__(self, analysis: Analysis):
        self.analysis, self.lines = analysis, []

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def write(self, line: str) -> None:
        self.lines.append(f"{timezone.now().isoformat(timespec='seconds')} {line}\n")


def _run_reference(analysis: Analysis, log: _Log) -> IngestJob:
    """The reference worker over the video's media, then the ingest of its ETA labels."""
    # Imported here, not at the top, so that torch is loaded only by the processes that
    # analyse video (the gpu queue), not by every web process and ingest worker.
    from scoop_worker import video_analyse as worker_video_analyse
    from scoop_worker.labels import ontology_colors, ontology_labels

    video, params = analysis.video, analysis.params
    if not video.media_path or not Path(video.media_path).is_file():
        raise MediaError(f"video {video.pk} has no media file on this server to analyse", path="video")
    detectors, schema = None, None
    if analysis.pipeline != REFERENCE:
        pipeline = Pipeline.objects.select_related("schema").filter(name=analysis.pipeline).first()
        if pipeline is None:
            raise PayloadError(f"pipeline '{analysis.pipeline}' was deleted after this analysis was queued")
        device = params.get("device") or ("cuda" if _cuda_available() else "cpu")
        detectors = [PipelineDetector(pipeline, device=device)]
        # Its classes were mapped into its schema's labels when it was registered.
        schema = pipeline.schema or schema_default() if params.get("schema") is None else None
    if schema is None:
        schema = (video.schema if params.get("schema") is None and video.schema
                  else schema_resolve(ref=params.get("schema")))
    log.write(f"{analysis.pipeline} pipeline on {Path(video.media_path).name}, labels of schema {schema}")
    written = [0.0]

    def progress(done: int, total: int | None) -> None:
        now = time.monotonic()
        if total and now - written[0] >= PROGRESS_EVERY_S:
            written[0] = now
            Analysis.objects.filter(pk=analysis.pk).update(progress=min(done / total, 0.99), log=log.text)
            _checkpoint(analysis, f"after {done} of {total} frames")

    result = worker_video_analyse(video.media_path, detectors=detectors, colors=ontology_colors(schema.document),
                                  labels=ontology_labels(schema.document), device=params.get("device"),
                                  batch=params.get("batch", PARAMS["batch"]), name=video.name, progress=progress)
    summary = result.summary()
    log.write(f"{summary['frames']} frames in {summary['seconds']} s ({summary['frames_per_second']} frames/s) on "
              f"{summary['device']}: {summary['detections']} detections, {summary['tracks']} tracks")
    Analysis.objects.filter(pk=analysis.pk).update(result=summary, log=log.text)
    _checkpoint(analysis, "after the last frame, before its labels were ingested")
    # Ingested as the system: an analysis may run on any video (who started it was checked then);
    # the job is credited to them once it ran.
    job = ingest_job_create(chunks=[json.dumps(result.labels).encode("utf-8")], video_name=video.name,
                            schema=schema, format="eta", mode=params.get("mode", PARAMS["mode"]), options=None,
                            user=None, enqueue=False)
    job = ingest_run(job_id=str(job.id))
    IngestJob.objects.filter(pk=job.pk).update(created_by=analysis.created_by)
    return job


def video_analyse(*, video_id: int, schema_ref: str | int | None = None, mode: str = "filter",
                  device: str | None = None, batch: int = 16) -> IngestJob:
    """Analyse a video with the reference pipeline in this process and return the finished ingest
    job (:func:`analysis_create` and :func:`analysis_run` in one). Raises :class:`MediaError`
    when the video has no media file on this server, and the analysis's error when it failed."""
    video = Video.objects.get(pk=video_id)
    if not video.media_path or not Path(video.media_path).is_file():
        raise MediaError(f"video {video.pk} has no media file on this server to analyse", path="video")
    analysis = analysis_create(video=video, pipeline="reference", user=None, enqueue=False,
                               params={"schema": schema_ref, "mode": mode, "device": device, "batch": batch})
    analysis = analysis_run(analysis_id=str(analysis.pk))
    if analysis.ingest_job is None:
        raise RuntimeError(analysis.error)
    return analysis.ingest_job
