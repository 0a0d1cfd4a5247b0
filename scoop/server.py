"""``manage.py serve``: the embedded deployment's processes on one machine.

::

    manage.py serve HOST:PORT        gunicorn's master: starts, watches and stops the others
     ├─ web process × SCOOP_WEB_PROCESSES
     │    pages, API and static files (scoop.wsgi, whitenoise),
     │    a request per thread, SCOOP_WEB_THREADS threads (gunicorn's gthread worker)
     ├─ celery -A scoop worker, at niceness SCOOP_WORKER_NICE (searches get the CPU first)
     │    └─ pool process × SCOOP_WORKER_CONCURRENCY: ingest, media, index and delivery tasks
     ├─ celery -A scoop worker for the alerts queue alone, at niceness SCOOP_ALERT_WORKER_NICE:
     │    the watches' evaluations, one at a time, never behind an ingest job or a merge
     └─ celery -A scoop beat: queues the periodic tasks (the jobs' expiry)

The web processes queue tasks as files in ``SCOOP_DATA_DIR/tasks`` (:mod:`scoop.task_files`) and
the task workers take them. The watches' evaluations have a worker of their own: a worker takes no
message while all its slots run tasks, so an evaluation queued behind a merge or an ingest job
waited for it to end (profiled with 10 streams and 50 watches: an evaluation was taken 18 s after
it was queued, behind a merge of 26 s and the evaluation before it).

Before any of them starts, the unfinished ingest jobs are queued
again from the database (:func:`ingest_jobs_requeue`), so a job that a stopped or killed server left
queued or running runs once more, and only once.

Every child dies with the master, even a killed one (Linux's parent-death signal): the web
processes and the task workers, whose pool processes die with them in turn. When a task worker
stops on its own, the master stops the whole server with exit status 1 rather than accept jobs that
nobody runs; started again, it queues them again.

An engine that keeps its index in one process's memory (the reference engine) gets one web process,
which builds the index from the stored payloads when it starts and runs the tasks itself, in a
worker thread (:func:`start_inprocess_worker`): a task worker process would index into its own copy.
"""

from __future__ import annotations

import abc
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from billiard.util import set_pdeathsig
from celery import Celery
from celery.worker import WorkController
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import connections
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.errors import HaltServer

from analytics.alert_delivery import deliveries_unfinished
from analytics.tasks import alert_deliver_task, watches_evaluate_task
from analytics.watches import writes_pending
from indexer.services import index_rebuild, ingest_jobs_resume

# One line per request, ending with the id of the web process that answered it.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms %(p)s'
# Seconds a web process may go without a sign of life before the master replaces it (a request runs
# in a thread, so only a stuck process misses them), and that stopping waits for requests to end.
WEB_TIMEOUT_S = 120
GRACEFUL_STOP_S = 30
# Seconds the task worker gets to finish its running tasks when the server stops (Celery's warm
# shutdown, which puts the messages it took but did not start back in the queue) before it is killed.
WORKER_STOP_S = 10


def ingest_jobs_requeue(app: Celery) -> int:
    """Empty the ingest queue, then queue every unfinished ingest job again, oldest first.

    After a stop, a queued job may still have its message in the queue, or have lost it with the
    worker that held it (a running job, or a queued one the worker had taken): emptying the queue
    first leaves exactly one message per job. Run it while no worker and no web process runs.
    Returns how many jobs were queued again."""
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(settings.CELERY_TASK_ROUTES["indexer.tasks.ingest_run_task"]["queue"])
    return ingest_jobs_resume()


def alert_deliveries_requeue(app: Celery) -> int:
    """Empty the deliveries queue, then queue again every alert delivery left undone (a try the
    stopped worker never ended, or a retry that waited in its memory), and an evaluation of the
    watches when writes wait for one; as :func:`ingest_jobs_requeue`, while nothing else runs.
    Returns how many deliveries."""
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(settings.CELERY_TASK_ROUTES[alert_deliver_task.name]["queue"])
    unfinished = deliveries_unfinished()
    for alert_id, channel, attempt in unfinished:
        alert_deliver_task.delay(alert_id, channel, attempt)
    if writes_pending():  # the stopped worker did not evaluate the watches on the last writes
        watches_evaluate_task.delay()
    return len(unfinished)


class ServeChild(abc.ABC):
    """A process that serve starts once it listens, at niceness ``nice``, in a session of its own (a
    Ctrl-C at the terminal reaches serve, which stops it), killed by Linux if serve dies; its
    ``command`` says what it runs."""

    def __init__(self, *, nice: int, log_level: str, name: str, role: str):
        self.nice, self.log_level, self.name, self.role = nice, log_level, name, role
        self.process: subprocess.Popen | None = None
        self.stopping = False

    @abc.abstractmethod
    def command(self) -> list[str]:
        """The command line it runs."""

    def start(self) -> None:
        self.stopping = False
        self.process = subprocess.Popen(self.command(), preexec_fn=self._in_child, start_new_session=True)

    def _in_child(self) -> None:
        die_with_parent()
        os.nice(self.nice)

    def exit_status(self) -> int | None:
        """None while it runs; else its exit status (minus the signal that killed it)."""
        return None if self.process is None else self.process.poll()

    def ask_to_stop(self) -> None:
        """Send SIGTERM (once): a Celery worker's warm shutdown ends its running tasks and takes no more."""
        if self.process is not None and self.process.poll() is None and not self.stopping:
            self.process.send_signal(signal.SIGTERM)
            self.stopping = True

    def stop(self, deadline: float | None = None) -> None:
        """Let it finish its tasks until ``deadline`` (``time.monotonic()``; default: ``WORKER_STOP_S``
        seconds from now), then kill it. Killed, a task simply stops (its job stays running and is
        queued again at the next start); Celery's cold shutdown would interrupt it, and an
        interrupted ingest would be recorded as failed."""
        deadline = time.monotonic() + WORKER_STOP_S if deadline is None else deadline
        self.ask_to_stop()
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.process.wait(max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class TaskWorker(ServeChild):
    """One of serve's Celery workers: a ``celery worker`` named ``name`` that takes ``queues`` with
    ``concurrency`` pool processes (``pool`` ``solo``: in the worker process itself)."""

    def __init__(self, *, concurrency: int, nice: int, log_level: str, queues: tuple[str, ...],
                 name: str = "serve", pool: str = "prefork"):
        super().__init__(nice=nice, log_level=log_level, name=name,
                         role="task worker" if name == "serve" else f"{name} worker")
        self.concurrency, self.queues, self.pool = concurrency, queues, pool

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "scoop", "worker", "--pool", self.pool,
            "--concurrency", str(self.concurrency), "--queues", ",".join(self.queues),
            "--hostname", f"{self.name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", self.log_level,
        ]


class Beat(ServeChild):
    """Celery beat, which queues the periodic tasks (CELERY_BEAT_SCHEDULE: the jobs' expiry), as a
    child of serve: a worker's embedded beat (``--beat``) is the worker's child and outlived a
    killed serve."""

    def __init__(self, *, log_level: str):
        super().__init__(nice=0, log_level=log_level, name="beat", role="Celery beat process")

    def command(self) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "scoop", "beat", "--loglevel", self.log_level]


def stop_all(workers: list[ServeChild]) -> None:
    """Stop ``workers`` at once: within ``WORKER_STOP_S`` seconds in all, not each in turn."""
    deadline = time.monotonic() + WORKER_STOP_S
    for worker in workers:
        worker.ask_to_stop()
    for worker in workers:
        worker.stop(deadline)


def task_workers(*, log_level: str) -> list[ServeChild]:
    """serve's task processes: a worker for every queue but the alerts queue, one for the alerts
    queue alone (one evaluation at a time, in its own process: ``solo``), and beat."""
    alerts = settings.CELERY_TASK_ROUTES["analytics.tasks.watches_evaluate_task"]["queue"]
    return [
        TaskWorker(concurrency=settings.SCOOP_WORKER_CONCURRENCY, nice=settings.SCOOP_WORKER_NICE, log_level=log_level,
                   queues=tuple(queue for queue in settings.SCOOP_TASK_QUEUES if queue != alerts)),
        TaskWorker(concurrency=1, nice=settings.SCOOP_ALERT_WORKER_NICE, log_level=log_level, queues=(alerts,),
                   name="alerts", pool="solo"),
        Beat(log_level=log_level),
    ]


def die_with_parent() -> None:
    """Have Linux kill this process (SIGKILL) when its parent process ends."""
    if sys.platform.startswith("linux"):
        set_pdeathsig(signal.SIGKILL)


def start_inprocess_worker(app: Celery) -> WorkController:
    """Start a Celery worker in a daemon thread of this process (one task at a time) and return
    once it consumes."""
    started = threading.Event()

    class ThreadWorker(WorkController):
        def on_consumer_ready(self, consumer):
            started.set()

    worker = ThreadWorker(
        app=app,
        concurrency=1,
        pool="solo",
        hostname="serve-thread@scoop",
        queues=list(settings.SCOOP_TASK_QUEUES),
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )
    threading.Thread(target=worker.start, name="scoop-worker", daemon=True).start()
    if not started.wait(timeout=30):
        raise RuntimeError("the in-process task worker did not start within 30 s")
    return worker


def index_and_work_in_process(app: Celery, say: Callable[[str], None]) -> Callable[[Any], None]:
    """gunicorn's ``post_worker_init`` hook for an engine whose index lives in one process: the web
    process builds the index from the stored payloads, then runs the tasks in a worker thread."""

    def post_worker_init(worker) -> None:
        say(f"indexed {index_rebuild()} video(s)")
        start_inprocess_worker(app)

    return post_worker_init


class ServeArbiter(Arbiter):
    """gunicorn's master, which also stops the server when one of its task workers stops."""

    def handle_chld(self):
        # Collect the task workers' exit status before gunicorn reaps every child it has.
        self._task_worker_status()
        super().handle_chld()

    handle_cld = handle_chld  # gunicorn calls SIGCHLD's handler by either of its names

    def manage_workers(self):
        stopped = self._task_worker_status()
        if stopped is not None:
            worker, status = stopped
            ended = f"was killed by {signal.Signals(-status).name}" if status < 0 else f"exited with status {status}"
            raise HaltServer(f"the {worker.role} {ended}; start the server again, which queues the "
                             "unfinished ingest jobs again", 1)
        super().manage_workers()

    def _task_worker_status(self) -> tuple[ServeChild, int] | None:
        """The first task process found stopped, with its exit status; None while they all run."""
        for worker in self.app.task_workers:
            status = worker.exit_status()
            if status is not None:
                return worker, status
        return None


class WebServer(BaseApplication):
    """gunicorn serving Scoop's WSGI application with ``options`` (gunicorn's settings), with
    ``task_workers`` (perhaps none) started once it listens and stopped when it stops."""

    def __init__(self, options: dict[str, Any], *, task_workers: list[ServeChild]):
        self.options, self.task_workers = options, task_workers
        super().__init__()

    def load_config(self):
        hooks = {"post_fork": self._forked, "when_ready": self._listening, "on_exit": self._stopped}
        for name, value in {**self.options, **hooks}.items():
            self.cfg.set(name, value)

    def _forked(self, server: Arbiter, worker) -> None:
        die_with_parent()

    def _listening(self, server: Arbiter) -> None:
        for worker in self.task_workers:
            worker.start()

    def _stopped(self, server: Arbiter) -> None:
        stop_all(self.task_workers)

    def load(self):
        return get_wsgi_application()

    def run(self):
        # The web processes are forked from this one: none may inherit its database connections.
        connections.close_all()
        ServeArbiter(self).run()


def gunicorn_options(*, bind: str, processes: int, threads: int) -> dict[str, Any]:
    """gunicorn's settings for ``manage.py serve``."""
    return {
        "bind": [bind],
        "workers": processes,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": WEB_TIMEOUT_S,
        "graceful_timeout": GRACEFUL_STOP_S,
        # Loaded once in the master, before the web processes are forked from it.
        "preload_app": True,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        # The longest request line gunicorn takes (not its 4094 default): search links carry queries.
        "limit_request_line": 8190,
        "proc_name": "scoop",
        # gunicorn's control socket lives in the home folder, one for every server of the user.
        "control_socket_disable": True,
    }
