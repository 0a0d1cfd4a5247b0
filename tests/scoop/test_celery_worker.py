"""The worker path for real: a `celery worker` process on Redis takes the job
that the API queued, and the job ends succeeded in the shared database."""

import json
import os
import subprocess
import sys
import time

import pytest
from django.db import connection

from scoop.celery import app as celery_app
from tests.conftest import REPO, _client_for, require_service

ETA = (REPO / ".." / "shared" / "data" / "formats").resolve()
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


@pytest.fixture
def worker_process(redis_broker, settings, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scoop.settings.test",
        "CELERY_BROKER_URL": BROKER,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SCOOP_DATA_DIR": str(settings.SCOOP_DATA_DIR),
        "SCOOP_TEST_DATABASE_URL": _database_url(),
    }
    with open(tmp_path / "worker.log", "w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "scoop", "worker", "--pool=solo", "--concurrency=1",
             "--without-gossip", "--without-mingle", "--loglevel=INFO"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        yield process
        process.terminate()
        process.wait(timeout=30)
        log.seek(0)
        print(log.read())


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_real_worker_on_redis_runs_the_ingest(worker_process):
    admin = _client_for(None, "ada", "admin")
    worker = _client_for(None, "wes", "worker")
    admin.post(
        "/api/v1/schemas/",
        {"name": "eta", "schema": json.loads((ETA / "eta_VideoLabelsSchema.json").read_text())},
        format="json",
    )

    queued = worker.post(
        "/api/v1/ingest/",
        {"video": "dashcam", "analytics": json.loads((ETA / "eta_VideoLabels_framewise.json").read_text())},
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
