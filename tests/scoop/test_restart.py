"""Restarting the web server and the worker under load loses nothing.

Two deployments, real processes: production (PostgreSQL, Redis, a web server
``manage.py runserver``, which serves the same WSGI app as deploy/'s gunicorn, and a
``celery worker``) and embedded (``manage.py serve`` as ``make run`` starts it: SQLite,
gunicorn, and a task worker process that lives and dies with it; serve re-queues the
unfinished jobs when it starts). While jobs are posted and an analyst searches in a loop,
the processes are stopped with SIGTERM and then with SIGKILL while a job runs, and started
again. Afterwards every job the server created has ended (succeeded: never stuck queued or running), every video is
searchable with exactly its job's counts, and no search ever answered an error or a
half-indexed total. The production test owns its PostgreSQL database and Redis DB."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from bench.common import free_port
from bench.load import Api
from tests.conftest import REPO, require_service

DATABASE = "scoop_test_restart"
BROKER = "redis://127.0.0.1:6379/13"
VIDEOS = 6
FINAL = ("succeeded", "failed")


class Cluster:
    """The production processes of one test: the web server and a Celery worker, each restartable."""

    def __init__(self, data_dir: Path, logs: Path):
        self.data_dir, self.logs = data_dir, logs
        self.port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "scoop.settings.test",
            "SCOOP_DATA_DIR": str(data_dir),
            "SCOOP_TEST_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
            "CELERY_BROKER_URL": BROKER,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            # A killed worker's unacknowledged message comes back after 5 s, looked for every second.
            "CELERY_VISIBILITY_TIMEOUT": "5",
            "CELERY_UNACKED_RESTORE_INTERVAL": "1",
            "CELERY_UNACKED_RESTORE_THROTTLE": "1",
            "LOG_LEVEL": "WARNING",
        }
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "a")  # noqa: SIM115 - the process writes to it until it ends
        return subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start_web(self) -> None:
        self.web = self._spawn("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}",
                                       "--noreload"])
        self._wait_for_web()

    def _wait_for_web(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login/", timeout=5).close()
                return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the web server did not start")

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", [
            sys.executable, "-m", "celery", "-A", "scoop", "worker", "--pool=solo", "--concurrency=1",
            "-Q", "ingest,media,index", "--without-gossip", "--without-mingle", "--loglevel=INFO"])

    @staticmethod
    def stop(process: subprocess.Popen | None, sig: int) -> None:
        if process is not None and process.poll() is None:
            process.send_signal(sig)
            process.wait(timeout=120)

    def stop_all(self) -> None:
        for process in (self.web, self.worker):
            self.stop(process, signal.SIGTERM)

    def jobs(self) -> list[dict]:
        """Every ingest job in the database (read there, so it works while the web server is down)."""
        rows = _sql("SELECT json_agg(json_build_object('id', id, 'video', video_name, 'status', status, "
                     "'error', error, 'counts', counts, 'attempts', attempts)) FROM indexer_ingestjob", DATABASE)
        return [{**job, "id": uuid.UUID(job["id"]).hex} for job in rows or []]


class EmbeddedServer(Cluster):
    """``manage.py serve`` as ``make run`` starts it: SQLite, and the task worker it starts itself."""

    def __init__(self, data_dir: Path, logs: Path):
        super().__init__(data_dir, logs)
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "scoop.settings.embedded",
                    "SCOOP_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"}

    def start_web(self) -> None:
        self.web = self._spawn("web", [sys.executable, "manage.py", "serve", f"127.0.0.1:{self.port}"])
        self._wait_for_web()

    def start_worker(self) -> None:
        """serve starts and stops its task worker itself."""

    def jobs(self) -> list[dict]:
        with closing(sqlite3.connect(self.data_dir / "scoop.sqlite3", timeout=30)) as db:
            rows = db.execute("SELECT id, video_name, status, error, counts, attempts FROM indexer_ingestjob")
            return [{"id": uuid.UUID(row[0]).hex, "video": row[1], "status": row[2], "error": row[3],
                     "counts": json.loads(row[4]), "attempts": row[5]} for row in rows]


def _sql(sql: str, database: str = "postgres"):
    """Run one statement on the local PostgreSQL; the first column of its first row, if any."""
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database)
    connection.autocommit = True  # CREATE / DROP DATABASE cannot run in a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0] if cursor.description else None
    finally:
        connection.close()


@pytest.fixture
def cluster(tmp_path):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    _sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    _sql(f"CREATE DATABASE {DATABASE}")
    (tmp_path / "served").mkdir()
    cluster = Cluster(tmp_path / "served", tmp_path)
    cluster.manage("migrate", "--noinput")
    yield cluster
    cluster.stop_all()
    for name in ("web", "worker"):
        log = tmp_path / f"{name}.log"
        if log.exists():
            print(f"--- {name} log ---\n{log.read_text()[-4000:]}")
    _sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


class Analyst(threading.Thread):
    """Searches everything in a loop; keeps every answer the server gave."""

    def __init__(self, api: Api):
        super().__init__()
        self.api, self.stopping = api, threading.Event()
        self.totals: list[int] = []
        self.failures: list[str] = []
        self.unreachable = 0

    def run(self) -> None:
        # A short pause between searches keeps the analyst under the search rate (600 a minute),
        # which answers kept by the server would otherwise exceed.
        while not self.stopping.wait(0.15):
            try:
                answer = self.api.post_json("/api/v1/search/", {"q": "*"})
                self.totals.append(answer["counts"]["objects"])
            except urllib.error.HTTPError as error:
                self.failures.append(f"HTTP {error.code}: {error.read()[:300]!r}")
            except (OSError, http.client.HTTPException) as error:
                self._no_answer(error)
            except json.JSONDecodeError as error:
                if error.doc:
                    self.failures.append(f"not JSON: {error.doc[:300]!r}")
                else:
                    self._no_answer(error)  # the server was stopped before it wrote the body
            except Exception as error:  # anything else is a wrong answer: fail the test, never the thread
                self.failures.append(f"{type(error).__name__}: {error}")

    def _no_answer(self, error: Exception) -> None:
        """The web server is down, restarting or was stopped while answering: no answer is fine."""
        self.unreachable += 1
        time.sleep(0.1)


def submit(api: Api, name: str, path: Path) -> str:
    """Post until the server answers (it may be restarting); the job id of the 202."""
    deadline = time.monotonic() + 90
    while True:
        try:
            return api.post_file("/api/v1/ingest/", {"video": name, "schema": "gen"}, path.read_bytes())["id"]
        except urllib.error.HTTPError:
            raise
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def embedded(tmp_path):
    (tmp_path / "served").mkdir()
    server = EmbeddedServer(tmp_path / "served", tmp_path)
    server.manage("migrate", "--noinput")
    yield server
    server.stop_all()
    log = tmp_path / "web.log"
    if log.exists():
        print(f"--- serve log ---\n{log.read_text()[-4000:]}")


def restart_under_load(cluster: Cluster, tmp_path: Path) -> None:
    """Post jobs and search while the processes are stopped (SIGTERM, then SIGKILL) and
    started again with a job running; then check that every job ended and the index holds
    exactly what the jobs say."""
    from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video

    cluster.manage("shell", "-c", "from indexer.services import schema_create; "
                   f"schema_create(name='gen', document={DEFAULT_ONTOLOGY.to_document()!r}, author=None)")
    worker_token = cluster.manage("issue_token", "wes", "--role", "worker").strip().splitlines()[-1]
    analyst_token = cluster.manage("issue_token", "ann", "--role", "analyst").strip().splitlines()[-1]
    videos = {f"cam-{n}": write_eta_video(tmp_path / f"cam-{n}.json", frames=3000, objects_per_frame=6, seed=n)
              for n in range(VIDEOS)}
    possible_totals = {sum(combo) for size in range(VIDEOS + 1)
                       for combo in itertools.combinations([v.objects for v in videos.values()], size)}
    worker, analyst = Api(cluster.port, worker_token), Api(cluster.port, analyst_token)
    cluster.start_web()
    cluster.start_worker()
    searching = Analyst(analyst)
    searching.start()
    accepted: list[str] = []
    names = iter(videos)

    def post_two() -> None:
        for _ in range(2):
            name = next(names)
            accepted.append(uuid.UUID(submit(worker, name, videos[name].path)).hex)

    def all_ended() -> bool:
        jobs = cluster.jobs()
        return len(jobs) == VIDEOS and all(job["status"] in FINAL for job in jobs)

    try:
        post_two()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            wait_until(lambda: any(job["status"] == "running" for job in cluster.jobs()), 120, "a running job")
            cluster.stop(cluster.worker, sig)  # a Celery worker finishes its task on SIGTERM first
            cluster.stop(cluster.web, sig)
            cluster.start_worker()
            cluster.start_web()
            post_two()
        wait_until(all_ended, 300, "every job to end")
    finally:
        searching.stopping.set()
        searching.join(timeout=150)

    ended = {job["id"]: job for job in cluster.jobs()}
    assert sorted(ended) == sorted(accepted)  # every 202 has its job, and no job without one
    assert [job for job in ended.values() if job["status"] != "succeeded"] == []
    assert max(job["attempts"] for job in ended.values()) >= 2  # an interrupted ingest ran again
    for job in ended.values():
        assert job["counts"]["objects"] == videos[job["video"]].objects, job
        found = analyst.post_json("/api/v1/search/", {"query": {"video": {"name": job["video"]}}})["counts"]
        assert (found["frames"], found["objects"], found["tracks"]) == (
            job["counts"]["frames"], job["counts"]["objects"], job["counts"]["tracks"]), job
    everything = analyst.post_json("/api/v1/search/", {"q": "*"})["counts"]
    assert everything["videos"] == VIDEOS
    assert everything["objects"] == sum(video.objects for video in videos.values())
    assert searching.failures == []
    assert searching.totals, "the analyst never got an answer"
    assert set(searching.totals) <= possible_totals  # never a half-indexed video


@pytest.mark.services
@pytest.mark.slow
def test_restarting_web_and_celery_worker_under_load_loses_nothing(cluster, tmp_path):
    restart_under_load(cluster, tmp_path)


@pytest.mark.slow
def test_restarting_the_embedded_server_under_load_loses_nothing(embedded, tmp_path):
    restart_under_load(embedded, tmp_path)
