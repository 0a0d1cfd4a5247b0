"""Jobs of one video run in the order they were accepted, even on a worker that runs several
jobs at once: a job whose video has an earlier job still queued or running is queued again for
later (indexer.tasks.ingest_run_task); jobs of other videos do not wait."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from indexer.job_hold import job_hold
from indexer.models import IngestJob, Video
from indexer.services import ingest_job_create, schema_create
from indexer.tasks import EARLIER_JOB_WAIT_S, ingest_run_task


@pytest.fixture
def accepted(db, tmp_path):
    """Three jobs, none run yet: cam's first version, another video, cam's second version."""
    schema = schema_create(name="gen", document=DEFAULT_ONTOLOGY.to_document(), author=None)

    def job(video: str, frames: int, seed: int) -> str:
        payload = write_eta_video(tmp_path / f"{video}-{seed}.json", frames=frames, objects_per_frame=2, seed=seed)
        return str(ingest_job_create(chunks=[payload.path.read_bytes()], video_name=video, schema=schema,
                                     format=None, mode="strict", options=None, user=None, enqueue=False).id)

    return {"cam 1": job("cam", 30, 1), "other": job("other", 20, 2), "cam 2": job("cam", 10, 3)}


def test_a_job_waits_for_the_earlier_jobs_of_its_video_and_only_for_those(accepted, monkeypatch):
    queued_again = []
    monkeypatch.setattr(ingest_run_task, "apply_async", lambda args, countdown: queued_again.append((args, countdown)))

    # Called as a worker calls it (not eagerly): cam's second version comes before its first.
    waited = ingest_run_task(accepted["cam 2"])
    other = ingest_run_task(accepted["other"])
    first = ingest_run_task(accepted["cam 1"])
    second = ingest_run_task(accepted["cam 2"])

    assert (waited, other, first, second) == ("waiting", "succeeded", "succeeded", "succeeded")
    assert queued_again == [((accepted["cam 2"],), EARLIER_JOB_WAIT_S)]
    assert IngestJob.objects.get(pk=accepted["cam 2"]).attempts == 1  # waiting is not an attempt
    assert Video.objects.get(name="cam").counts["frames"] == 10  # the later version stays


def test_a_failed_earlier_job_holds_nothing_up(accepted, monkeypatch):
    IngestJob.objects.filter(pk=accepted["cam 1"]).update(status=IngestJob.FAILED)
    monkeypatch.setattr(ingest_run_task, "apply_async", lambda args, countdown: pytest.fail("queued again"))

    assert ingest_run_task(accepted["cam 2"]) == "succeeded"


def test_an_eager_task_runs_at_once(accepted):
    """Tasks run eagerly (in tests, or CELERY_TASK_ALWAYS_EAGER) run in their caller, in call order."""
    assert ingest_run_task.apply(args=(accepted["cam 2"],)).get() == "succeeded"


def test_a_job_delivered_again_while_another_worker_runs_it_waits_for_that_run(accepted, monkeypatch):
    """Redis delivers an unacknowledged task again after its visibility timeout, even while a
    slow worker still runs it: the second delivery does not run the job a second time."""
    queued_again = []
    monkeypatch.setattr(ingest_run_task, "apply_async", lambda args, countdown: queued_again.append((args, countdown)))
    holding, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        with job_hold(accepted["other"]) as held:
            assert held
            holding.set()
            release.wait(30)
        connection.close()

    other = threading.Thread(target=other_worker)
    other.start()
    assert holding.wait(30)
    try:
        again = ingest_run_task(accepted["other"])
    finally:
        release.set()
        other.join(30)

    assert again == "running elsewhere"
    assert queued_again == [((accepted["other"],), EARLIER_JOB_WAIT_S)]
    job = IngestJob.objects.get(pk=accepted["other"])
    assert (job.status, job.attempts) == (IngestJob.QUEUED, 0)
    # Once that run has ended (here: it ran nothing), the next delivery runs the job.
    assert ingest_run_task(accepted["other"]) == "succeeded"
    assert IngestJob.objects.get(pk=accepted["other"]).attempts == 1
