"""The worker path for real: a `celery worker` process on Redis takes the job
that the API queued, and the job ends succeeded in the shared database."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

from scoop.celery import app as celery_app
from tests.conftest import REPO, _client_for, require_service
from tests.samples import FORMATS_DIR

BROKER = "redis://127.0.0.1:6379/15"


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user, host, port = settings["USER"] or "postgres", settings["HOST"], settings["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


def _forget_connections() -> None:
    """Drop the app's cached broker pools so the next send uses the current broker_url."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def redis_broker():
    require_service("Redis", "127.0.0.1", 6379)
    previous = {"broker_url": celery_app.conf.broker_url, "task_always_eager": celery_app.conf.task_always_eager}
    celery_app.conf.update(broker_url=BROKER, task_always_eager=False)
    _forget_connections()
    with celery_app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()
    yield
    celery_app.conf.update(broker_url=previous["broker_url"], task_always_eager=previous["task_always_eager"])
    _forget_connections()


def _worker_env(settings) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scoop.settings.test",
        "CELERY_BROKER_URL": BROKER,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SCOOP_DATA_DIR": str(settings.SCOOP_DATA_DIR),
        "SCOOP_TEST_DATABASE_URL": _database_url(),
        # Unacknowledged messages of a killed worker come back after 2 s.
        "CELERY_VISIBILITY_TIMEOUT": "2",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "CELERY_UNACKED_RESTORE_THROTTLE": "1",
    }


def _start_worker(settings, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "scoop", "worker", "--pool=solo", "--concurrency=1",
         "-Q", "ingest,media,index", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
        cwd=REPO, env=_worker_env(settings), stdout=log, stderr=subprocess.STDOUT,
    )


@pytest.fixture
def worker_log(tmp_path):
    with open(tmp_path / "worker.log", "w+") as log:
        yield log
        log.seek(0)
        print(log.read())


@pytest.fixture
def worker_process(redis_broker, settings, worker_log):
    process = _start_worker(settings, worker_log)
    yield process
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_real_worker_on_redis_runs_the_ingest(worker_process):
    admin = _client_for(None, "ada", "admin")
    worker = _client_for(None, "wes", "worker")
    admin.post(
        "/api/v1/schemas/",
        {"name": "eta", "schema": json.loads((FORMATS_DIR / "eta_VideoLabelsSchema.json").read_text())},
        format="json",
    )

    queued = worker.post(
        "/api/v1/ingest/",
        {"video": "dashcam", "analytics": json.loads((FORMATS_DIR / "eta_VideoLabels_framewise.json").read_text())},
        format="json",
    )
    assert queued.status_code == 202
    deadline = time.monotonic() + 60
    job = worker.get(queued.json()["url"]).json()
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = worker.get(queued.json()["url"]).json()

    assert job["status"] == "succeeded", job
    assert job["counts"] == {"frames": 2, "objects": 2, "tracks": 1, "events": 1}
    assert worker_process.poll() is None


def _wait_for_status(client, url: str, wanted: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    job = client.get(url).json()
    while job["status"] not in wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(url).json()
    return job


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_killed_worker_leaves_nothing_half_indexed_and_the_job_is_retried(
    redis_broker, settings, worker_log, tmp_path
):
    from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
    from indexer.models import LabelSchema
    from indexer.services import ingest_job_create, ingest_run

    admin = _client_for(None, "ada", "admin")
    worker = _client_for(None, "wes", "worker")
    analyst = _client_for(None, "ann", "analyst")
    admin.post("/api/v1/schemas/", {"name": "gen", "schema": DEFAULT_ONTOLOGY.to_document()}, format="json")
    # A first version of the video (wes's), indexed here: the killed re-ingest must leave it exactly as it is.
    small = write_eta_video(tmp_path / "small.json", frames=50, objects_per_frame=2, seed=4)
    first_version = ingest_job_create(
        chunks=[small.path.read_bytes()], video_name="big", schema=LabelSchema.objects.get(name="gen"),
        format=None, mode="strict", options=None, user=worker.user, enqueue=False,
    )
    assert ingest_run(job_id=str(first_version.id)).status == "succeeded"
    before = analyst.post("/api/v1/search/", {"q": "*"}, format="json").json()["counts"]
    assert before["objects"] == small.objects == 100
    payload = write_eta_video(tmp_path / "big.json", frames=8000, objects_per_frame=10, seed=3)
    first = _start_worker(settings, worker_log)
    with open(payload.path, "rb") as handle:
        queued = worker.post("/api/v1/ingest/", {"video": "big", "file": handle}, format="multipart").json()

    running = _wait_for_status(worker, queued["url"], {"running", "succeeded", "failed"})
    assert running["status"] == "running", running
    time.sleep(0.5)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)

    mid = analyst.post("/api/v1/search/", {"q": "vehicle"}, format="json").json()
    assert mid["counts"] == before  # nothing of the killed attempt is visible
    assert worker.get(queued["url"]).json()["status"] == "running"

    second = _start_worker(settings, worker_log)
    try:
        done = _wait_for_status(worker, queued["url"], {"succeeded", "failed"}, timeout=120)
    finally:
        second.terminate()
        second.wait(timeout=30)

    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2
    assert done["counts"]["objects"] == payload.objects == 80000
    after = analyst.post("/api/v1/search/", {"q": "*"}, format="json").json()
    assert after["counts"]["objects"] == 80000  # the new version replaced the first one whole
    assert after["counts"]["frames"] == 8000
    assert after["counts"]["videos"] == 1
