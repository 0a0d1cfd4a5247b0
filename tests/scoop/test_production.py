"""Production, run for real: the commands of deploy/docker-compose.yml as separate processes.

Without Docker, this test runs what the compose file's services run (read from the file, so the
two cannot drift apart): the migrations, gunicorn with the production settings (after
collectstatic), the two Celery workers and beat on Redis (a Redis database of its own), on a fresh
PostgreSQL database made for the test and dropped after it. The index is DuckDB (no
Elasticsearch runs here) and nginx is absent, so Django sends media bytes itself.

Through HTTP it uploads a schema, ingests a sample file, waits for the job, searches (exact
counts), uploads a video's media and plays it (a byte range of the stream: 206). Then it SIGKILLs
the ingest worker in the middle of a big job, while searches still see the old counts, starts it
again, and the job ends succeeded with every detection indexed once. Beat queues the jobs' expiry,
which the index queue's worker runs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from bench.common import free_port
from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from tests.conftest import REPO, require_service
from tests.indexer.media_samples import write_video
from tests.samples import FORMATS_DIR
from tests.served import Http, spawn, wait_for, wait_until_answering

pytestmark = [pytest.mark.services, pytest.mark.slow]

COMPOSE = REPO / "deploy" / "docker-compose.yml"
PG = ("127.0.0.1", 5432)
BROKER = "redis://127.0.0.1:6379/11"
COMPOSE_BIND = "--bind 0.0.0.0:8000"
TOKENS = """
import json
from accounts.services import user_issue_token
print(json.dumps({role: user_issue_token(username=role, role=role).key for role in ("admin", "analyst", "worker")}))
"""


def compose_commands() -> dict[str, str]:
    """Each service's command in deploy/docker-compose.yml."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    return {name: service["command"] for name, service in services.items() if "command" in service}


def _admin_sql(sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(host=PG[0], port=PG[1], user="postgres", dbname="postgres")
    connection.autocommit = True  # CREATE / DROP DATABASE cannot run in a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


@pytest.fixture
def database():
    require_service("PostgreSQL", *PG)
    name = f"scoop_production_{uuid.uuid4().hex[:10]}"
    _admin_sql(f'CREATE DATABASE "{name}"')
    yield f"postgres://postgres@{PG[0]}:{PG[1]}/{name}"
    _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def broker():
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    yield BROKER
    redis.Redis.from_url(BROKER).flushdb()


class Deployment:
    """The compose file's services as processes on this machine, each with its log."""

    def __init__(self, root: Path, database: str, broker: str):
        self.root, self.port = root, free_port()
        self.commands = compose_commands()
        self.env = {
            **{name: value for name, value in os.environ.items() if not name.startswith(("SCOOP_", "DJANGO_"))},
            # The compose file's environment, but for the engine (no Elasticsearch here) and nginx (absent).
            "DJANGO_SETTINGS_MODULE": "scoop.settings.production",
            "SCOOP_DATA_DIR": str(root / "data"),
            "SCOOP_SEARCH_ENGINE": "duckdb",
            # deploy/env.example's variables, for this machine.
            "SECRET_KEY": uuid.uuid4().hex * 2,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database,
            "CELERY_BROKER_URL": broker,
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            # A killed worker's unacknowledged task comes back after 5 s (4 h by default), looked for every second.
            "CELERY_VISIBILITY_TIMEOUT": "5",
            "CELERY_UNACKED_RESTORE_INTERVAL": "1",
            "CELERY_UNACKED_RESTORE_THROTTLE": "1",
            # Beat queues the jobs' expiry every second (every hour by default).
            "SCOOP_JOBS_EXPIRE_EVERY_S": "1",
            # The compose file's commands find python, gunicorn and celery on the PATH, as in the image.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        self.processes: dict[str, subprocess.Popen] = {}
        self.tokens: dict[str, str] = {}

    def command(self, service: str) -> list[str]:
        command = self.commands[service]
        if service == "web":
            assert COMPOSE_BIND in command, command
            command = command.replace(COMPOSE_BIND, f"--bind 127.0.0.1:{self.port}")
        return shlex.split(command)

    def run_once(self, service: str) -> None:
        done = subprocess.run(self.command(service), cwd=REPO, env=self.env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr

    def issue_tokens(self) -> None:
        done = subprocess.run([sys.executable, "manage.py", "shell", "-c", TOKENS], cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        self.tokens = json.loads(done.stdout.strip().splitlines()[-1])

    def start(self, service: str) -> subprocess.Popen:
        self.processes[service] = spawn(self.command(service), env=self.env, log=self.root / f"{service}.log")
        if service == "web":
            wait_until_answering(self.port, self.processes[service], self.root / "web.log")
        return self.processes[service]

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=60)

    def http(self, role: str) -> Http:
        return Http(self.port, self.tokens[role])


@pytest.fixture
def deployment(tmp_path, database, broker):
    deployed = Deployment(tmp_path, database, broker)
    yield deployed
    deployed.stop_all()
    for log in sorted(tmp_path.glob("*.log")):
        print(f"--- {log.name} ---\n{log.read_text()[-3000:]}")


def ingest(deployed: Deployment, video: str, schema: str, path: Path) -> dict:
    answer = deployed.http("worker").post_files("/api/v1/ingest/", {"video": video, "schema": schema},
                                                {"file": (path.name, path.read_bytes(), "application/json")})
    assert answer.status == 202, answer.body
    return answer.json()


def counts(deployed: Deployment, query: dict) -> dict:
    answer = deployed.http("analyst").post_json("/api/v1/search/", query)
    assert answer.status == 200, answer.body
    return answer.json()["counts"]


def test_the_compose_files_processes_serve_ingest_search_play_and_survive_a_killed_worker(deployment, tmp_path):
    deployment.run_once("migrate")
    deployment.issue_tokens()
    deployment.start("web")
    deployment.start("worker-ingest")
    deployment.start("worker-media")
    deployment.start("beat")
    admin, worker = deployment.http("admin"), deployment.http("worker")

    # A schema, a sample file ingested by the Celery worker, exact counts.
    schema = json.loads((FORMATS_DIR / "eta_VideoLabelsSchema.json").read_text())
    assert admin.post_json("/api/v1/schemas/", {"name": "eta", "schema": schema}).status == 201
    sample = worker.job_end(ingest(deployment, "dashcam", "eta", FORMATS_DIR / "eta_VideoLabels_framewise.json")["url"])
    assert (sample["status"], sample["counts"]) == ("succeeded", {"frames": 2, "objects": 2, "tracks": 1, "events": 1})
    found = counts(deployment, {"q": "*", "schema": "eta"})
    assert (found["videos"], found["frames"], found["objects"], found["tracks"]) == (1, 2, 2, 1)
    assert deployment.http("analyst").get("/api/v1/search/").headers["Server"] == "gunicorn"

    # Its media, probed by the media worker, played by byte ranges.
    media = write_video(tmp_path / "dashcam.webm", frames=50)
    uploaded = worker.post_files(f"/api/v1/videos/{sample['video']}/media/", {},
                                 {"file": ("dashcam.webm", media.read_bytes(), "video/webm")})
    assert uploaded.status == 202, uploaded.body
    wait_for(lambda: worker.get(f"/api/v1/videos/{sample['video']}/media/").json()["media_status"] != "probing", 120,
             "the media probe")
    video = deployment.http("analyst").get(f"/api/v1/videos/{sample['video']}/").json()
    played = deployment.http("analyst").get(video["stream_url"], Range="bytes=0-99")
    assert (video["media_status"], played.status) == ("ready", 206)
    assert played.headers["Content-Range"] == f"bytes 0-99/{media.stat().st_size}"
    assert played.body == media.read_bytes()[:100]

    # A big job; its worker SIGKILLed while it runs, then started again.
    assert admin.post_json("/api/v1/schemas/", {"name": "gen", "schema": DEFAULT_ONTOLOGY.to_document()}).status == 201
    big = write_eta_video(tmp_path / "big.json", frames=8000, objects_per_frame=10, seed=3)
    queued = ingest(deployment, "big", "gen", big.path)
    wait_for(lambda: worker.get(queued["url"]).json()["status"] == "running", 120, "the big job to run")
    time.sleep(0.5)
    deployment.processes["worker-ingest"].send_signal(signal.SIGKILL)
    deployment.processes["worker-ingest"].wait(30)
    assert worker.get(queued["url"]).json()["status"] == "running"
    assert counts(deployment, {"q": "*", "schema": "eta"}) == found  # nothing of the killed attempt is visible
    deployment.start("worker-ingest")
    done = worker.job_end(queued["url"], timeout=300)

    assert (done["status"], done["attempts"], done["counts"]["objects"]) == ("succeeded", 2, big.objects), done
    assert counts(deployment, {"query": {"video": {"name": "big"}}, "schema": "gen"})["objects"] == big.objects == 80000
    everything = counts(deployment, {"q": "*", "schema": "gen"})
    assert (everything["videos"], everything["objects"]) == (2, 80000 + 2)

    # Beat queued the periodic jobs' expiry, and the index queue's worker ran it.
    expired = re.compile(r"Task indexer\.tasks\.jobs_expire_task\[[0-9a-f-]+\] succeeded")
    assert expired.search((deployment.root / "worker-media.log").read_text()), "no jobs' expiry ran"
