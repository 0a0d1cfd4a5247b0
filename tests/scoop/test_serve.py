"""``make run``'s server for real: ``manage.py serve`` on a fresh data dir, driven over HTTP.

gunicorn answers (its ``Server`` header) from several web processes at once and never with a
debug page; static files come collected, hashed, gzipped and cached for good; the dashboard, the
admin and the API docs work with DEBUG off. An ingest posted through the API runs in the task
worker process, at a lower CPU priority, while searches answer, and every web process answers
with the new counts at once (each keeps its own answers, per index generation). The task worker
runs jobs of two videos at once and the jobs of one video in order. Killing the server kills every
process it started, a killed task worker stops the server, and started again, the job runs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest

from bench.common import free_port
from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from scoop import server as serve_module
from tests.conftest import REPO
from tests.served import Http, alive, command_line, descendants, niceness, parent, spawn, wait_for, wait_until_answering

pytestmark = pytest.mark.slow

WEB_PROCESSES = 2
WORKER_NICE = 10
PASSWORD = "a long enough sign-in phrase"
# Users, tokens and the schema the tests post with, made in one `manage.py shell`.
SETUP = f"""
import json
from accounts.services import user_issue_token
from indexer.services import schema_create
schema_create(name="gen", document={DEFAULT_ONTOLOGY.to_document()!r}, author=None)
tokens = {{role: user_issue_token(username=role, role=role).key for role in ("admin", "analyst", "worker")}}
admin = user_issue_token(username="admin", role="admin").user
admin.set_password({PASSWORD!r})
admin.save()
print(json.dumps(tokens))
"""
HASHED = re.compile(r"\.[0-9a-f]{12}\.")
FOREVER = "max-age=315360000, public, immutable"


class Server:
    """``manage.py serve`` on its own data dir and port, as ``make run`` starts it."""

    def __init__(self, root: Path):
        self.data_dir, self.log = root / "data", root / "serve.log"
        self.port = free_port()
        self.env = {
            **os.environ, "DJANGO_SETTINGS_MODULE": "scoop.settings.embedded", "SCOOP_DATA_DIR": str(self.data_dir),
            "SCOOP_WEB_PROCESSES": str(WEB_PROCESSES), "SCOOP_WEB_THREADS": "4",
            "SCOOP_WORKER_CONCURRENCY": "2", "SCOOP_WORKER_NICE": str(WORKER_NICE),
        }
        self.process: subprocess.Popen | None = None
        self.tokens: dict[str, str] = {}

    def prepare(self) -> None:
        for command in (["migrate", "--noinput"], ["shell", "-c", SETUP]):
            done = subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=self.env,
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
        self.tokens = json.loads(done.stdout.strip().splitlines()[-1])

    def start(self) -> None:
        self.process = spawn([sys.executable, "manage.py", "serve", f"127.0.0.1:{self.port}"], env=self.env,
                             log=self.log)
        wait_until_answering(self.port, self.process, self.log)
        # gunicorn forks its web processes one by one, a random tenth of a second apart: the first
        # may answer before the last exists.
        wait_for(lambda: len(self.web_processes()) == WEB_PROCESSES, 60, f"{WEB_PROCESSES} web processes")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=120)

    def http(self, role: str | None = None) -> Http:
        return Http(self.port, self.tokens[role] if role else None)

    def web_processes(self) -> list[int]:
        return [pid for pid in descendants(self.process.pid) if "celery" not in command_line(pid)]

    def task_worker_processes(self) -> list[int]:
        """The task worker and its pool processes (not the alerts worker, not beat)."""
        return [pid for pid in descendants(self.process.pid) if " worker " in command_line(pid)
                and "celery" in command_line(pid) and "alerts@" not in command_line(pid)]

    def beat_processes(self) -> list[int]:
        return [pid for pid in descendants(self.process.pid) if " beat " in command_line(pid)]

    def alert_worker_processes(self) -> list[int]:
        return [pid for pid in descendants(self.process.pid) if "alerts@" in command_line(pid)]

    def jobs(self) -> dict[str, dict]:
        """Every ingest job by id, read in the database (the server may be down)."""
        with closing(sqlite3.connect(self.data_dir / "scoop.sqlite3", timeout=30)) as db:
            rows = db.execute("SELECT id, status, attempts, counts FROM indexer_ingestjob")
            return {row[0]: {"status": row[1], "attempts": row[2], "counts": json.loads(row[3])} for row in rows}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("serve"))
    server.prepare()
    server.start()
    yield server
    server.stop()
    print(f"--- serve log ---\n{server.log.read_text()[-6000:]}")


@pytest.fixture
def fresh(tmp_path):
    """A server of its own, prepared, not started."""
    server = Server(tmp_path)
    server.prepare()
    yield server
    server.stop()
    print(f"--- serve log ---\n{server.log.read_text()[-6000:]}")


def eta(tmp_path: Path, name: str, frames: int, objects: int, seed: int):
    return write_eta_video(tmp_path / f"{name}.json", frames=frames, objects_per_frame=objects, seed=seed)


def post_ingest(server: Server, video: str, payload) -> dict:
    upload = ("analytics.json", payload.path.read_bytes(), "application/json")
    answer = server.http("worker").post_files("/api/v1/ingest/", {"video": video, "schema": "gen"}, {"file": upload})
    assert answer.status == 202, answer.body
    return answer.json()


def total_objects(http: Http, probe: str = "") -> int:
    answer = http.post_json(f"/api/v1/search/?probe={probe}", {"q": "*"})
    assert answer.status == 200, answer.body
    return answer.json()["counts"]["objects"]


def answering_process(log: Path, probe: str) -> int:
    """The web process that answered the request tagged ``probe``, from the access log."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = re.search(rf"\?probe={probe} HTTP/1\.1\" \d+ .* <(\d+)>", log.read_text())
        if found:
            return int(found.group(1))
        time.sleep(0.1)
    raise AssertionError(f"no access log line for probe {probe}")


def search_from_every_process(server: Server, http: Http) -> dict[int, set[int]]:
    """Bursts of concurrent searches until every web process answered one: the totals each
    process answered, by process."""
    answers: dict[int, set[int]] = {}
    deadline = time.monotonic() + 60
    with ThreadPoolExecutor(8) as pool:
        while len(answers) < WEB_PROCESSES:
            assert time.monotonic() < deadline, f"only processes {sorted(answers)} answered"
            probes = [f"p{time.monotonic_ns()}x{n}" for n in range(8)]
            for probe, total in zip(probes, pool.map(lambda probe: total_objects(http, probe), probes), strict=True):
                answers.setdefault(answering_process(server.log, probe), set()).add(total)
    return answers


def instant(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


# The server ----------------------------------------------------------------------------------------


def test_gunicorn_answers_and_an_unknown_route_is_a_plain_404_never_a_debug_page(served):
    http = served.http()

    page = http.get("/no/such/page/")
    api = http.get("/api/v1/no/such/route/")

    assert page.headers["Server"] == "gunicorn"
    assert (page.status, page.headers.get_content_type()) == (404, "text/html")
    assert b"<title>Not Found</title>" in page.body
    assert [marker for marker in (b"DEBUG = True", b"URLconf", b"Traceback", b"Request Method")
            if marker in page.body] == []
    assert (api.status, api.json()) == (404, {"detail": "no such route: /api/v1/no/such/route/"})


def test_several_web_processes_answer_requests_sent_at_once(served):
    web = served.web_processes()

    answered = search_from_every_process(served, served.http("analyst"))

    assert len(web) == WEB_PROCESSES
    assert sorted(answered) == sorted(web)


def test_pages_work_with_debug_off_and_their_static_files_are_hashed_gzipped_and_cached(served):
    browser = Browser(served.port)
    assert browser.sign_in("admin", PASSWORD).status == 200

    pages = {path: browser.get(path) for path in ("/", "/admin/", "/api/docs/", "/manage/ingest/")}

    assert {path: answer.status for path, answer in pages.items()} == dict.fromkeys(pages, 200)
    assert b"Signed in as <strong>admin</strong>" in pages["/"].body
    static = sorted({url for answer in pages.values()
                     for url in re.findall(r'="(/static/[^"]+)"', answer.body.decode())})
    assert any(re.fullmatch(r"/static/vendor/plotly\.min\.[0-9a-f]{12}\.js", url) for url in static), static
    assert [url for url in static if not HASHED.search(url)] == []
    for url in static:
        answer = served.http().get(url, Accept_Encoding="gzip")
        assert (answer.status, answer.headers["Cache-Control"]) == (200, FOREVER), url
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"], url
        if url.endswith((".js", ".css")):
            assert answer.headers["Content-Encoding"] == "gzip", url


class Browser:
    """A client with a cookie jar that signs in through the login form, as a browser does."""

    def __init__(self, port: int):
        self.http, self.cookies = Http(port), {}

    def get(self, path: str):
        answer = self.http.request("GET", path, headers=self._cookie_header())
        self._keep_cookies(answer)
        return answer

    def sign_in(self, username: str, password: str):
        form = self.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.body.decode()).group(1)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
        answer = self.http.request("POST", "/login/", body=body.encode(), headers={
            **self._cookie_header(), "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"http://127.0.0.1:{self.http.port}"})
        self._keep_cookies(answer)
        assert answer.status == 302, answer.body[:500]
        return self.get(answer.headers["Location"])

    def _cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}

    def _keep_cookies(self, answer) -> None:
        for header in answer.headers.get_all("Set-Cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value


# The task worker ------------------------------------------------------------------------------------


def test_an_ingest_runs_in_the_task_worker_while_searches_answer_and_every_process_sees_it(served, tmp_path):
    analyst = served.http("analyst")
    before = total_objects(analyst)
    payload = eta(tmp_path, "cam", frames=3000, objects=6, seed=7)
    kept_before = search_from_every_process(served, analyst)  # every web process keeps the old answer
    searches: list[tuple[float, int]] = []
    stop = threading.Event()

    def search_in_a_loop() -> None:
        while not stop.wait(0.05):
            searches.append((time.time(), total_objects(analyst)))

    searching = threading.Thread(target=search_in_a_loop)
    searching.start()
    try:
        queued = post_ingest(served, "cam", payload)
        wait_for(lambda: served.http("worker").get(queued["url"]).json()["status"] != "queued", 60, "the job to start")
        workers, web = served.task_worker_processes(), served.web_processes()
        alerts = served.alert_worker_processes()
        job = served.http("worker").job_end(queued["url"])
    finally:
        stop.set()
        searching.join(timeout=60)

    assert (job["status"], job["attempts"], job["counts"]["objects"]) == ("succeeded", 1, payload.objects), job
    assert {niceness(pid) for pid in workers} == {min(niceness(web[0]) + WORKER_NICE, 19)}
    assert {niceness(pid) for pid in web} == {niceness(os.getpid())}
    # The watches' evaluations: one process of its own (solo pool), at the web processes' niceness.
    assert len(alerts) == 1 and {niceness(alerts[0])} == {niceness(os.getpid())}
    # Celery beat: one process, a child of serve's (so it dies with serve).
    beat = served.beat_processes()
    assert len(beat) == 1 and parent(beat[0]) == served.process.pid
    during = [total for at, total in searches if instant(job["started_at"]) <= at <= instant(job["finished_at"])]
    assert during, "no search was answered while the job ran"
    assert {total for _, total in searches} <= {before, before + payload.objects}  # old or new, never half
    assert kept_before == dict.fromkeys(kept_before, {before})
    kept_after = search_from_every_process(served, analyst)
    assert kept_after == dict.fromkeys(kept_before, {before + payload.objects})


def test_jobs_of_two_videos_run_at_once_and_jobs_of_one_video_in_the_order_they_came(served, tmp_path):
    first = eta(tmp_path, "north-1", frames=3000, objects=6, seed=1)
    other = eta(tmp_path, "south", frames=3000, objects=6, seed=2)
    second = eta(tmp_path, "north-2", frames=100, objects=3, seed=3)
    urls = [post_ingest(served, video, payload)["url"]
            for video, payload in (("north", first), ("south", other), ("north", second))]

    north_1, south, north_2 = (served.http("worker").job_end(url) for url in urls)

    assert [job["status"] for job in (north_1, south, north_2)] == ["succeeded"] * 3
    assert instant(south["started_at"]) < instant(north_1["finished_at"])  # two jobs at once
    assert instant(north_2["started_at"]) >= instant(north_1["finished_at"])  # the older north first
    north = served.http("analyst").post_json("/api/v1/search/", {"query": {"video": {"name": "north"}}}).json()
    assert north["counts"]["objects"] == second.objects == 300  # the newer version stays


# Stopping ---------------------------------------------------------------------------------------------


def running_job(server: Server, tmp_path: Path) -> str:
    """Post a big ingest and return its id once it runs."""
    payload = eta(tmp_path, "big", frames=8000, objects=10, seed=5)
    job_id = post_ingest(server, "big", payload)["id"].replace("-", "")
    wait_for(lambda: server.jobs()[job_id]["status"] == "running", 120, "the job to run")
    return job_id


def test_a_killed_server_takes_every_process_with_it_and_its_job_runs_again_at_the_next_start(fresh, tmp_path):
    fresh.start()
    job_id = running_job(fresh, tmp_path)
    started = descendants(fresh.process.pid)

    fresh.process.send_signal(signal.SIGKILL)
    fresh.process.wait(10)
    wait_for(lambda: not any(alive(pid) for pid in started), 10, "the server's processes to die")

    assert len(started) >= WEB_PROCESSES + 1 + 2  # web processes, the task worker and its pool
    assert fresh.jobs()[job_id]["status"] == "running"
    fresh.start()
    wait_for(lambda: fresh.jobs()[job_id]["status"] in ("succeeded", "failed"), 180, "the job to end")
    job = fresh.jobs()[job_id]
    assert (job["status"], job["attempts"], job["counts"]["frames"], job["counts"]["objects"]) == (
        "succeeded", 2, 8000, 80000)
    assert total_objects(fresh.http("analyst")) == 80000


def test_a_killed_task_worker_stops_the_server_and_the_next_start_runs_its_job(fresh, tmp_path):
    fresh.start()
    job_id = running_job(fresh, tmp_path)
    (task_worker,) = [pid for pid in fresh.task_worker_processes() if parent(pid) == fresh.process.pid]

    os.kill(task_worker, signal.SIGKILL)

    assert fresh.process.wait(60) == 1
    assert "Reason: the task worker was killed by SIGKILL" in fresh.log.read_text()
    fresh.start()
    wait_for(lambda: fresh.jobs()[job_id]["status"] in ("succeeded", "failed"), 180, "the job to end")
    job = fresh.jobs()[job_id]
    assert (job["status"], job["attempts"], job["counts"]["objects"]) == ("succeeded", 2, 80000)
    assert total_objects(fresh.http("analyst")) == 80000


def test_the_task_workers_stop_together_within_the_stop_time(monkeypatch):
    """Two workers that ignore SIGTERM (stuck in a task) are both killed once WORKER_STOP_S has
    passed, not after it has passed twice."""
    monkeypatch.setattr(serve_module, "WORKER_STOP_S", 1.0)
    stuck = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                   "print('ready', flush=True); time.sleep(60)"]
    workers = [serve_module.TaskWorker(concurrency=1, nice=0, log_level="INFO", queues=("alerts",)) for _ in range(2)]
    for worker in workers:
        worker.process = subprocess.Popen(stuck, stdout=subprocess.PIPE)
        assert worker.process.stdout.readline() == b"ready\n"
    started = time.monotonic()

    serve_module.stop_all(workers)

    assert time.monotonic() - started < 1.8
    assert [worker.process.returncode for worker in workers] == [-signal.SIGKILL, -signal.SIGKILL]
