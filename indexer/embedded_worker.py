"""The embedded deployment's task worker: a Celery worker in a daemon thread
of the web process, consuming the in-memory broker, which hands its heavy tasks
to one helper process at a lower CPU priority. Production runs
``celery -A scoop worker`` processes on Redis instead."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from celery import Celery
from celery.worker import WorkController
from django.conf import settings

T = TypeVar("T")
PR_SET_PDEATHSIG = 1


def start_inprocess_worker(app: Celery, *, helper_nice: int | None = None) -> WorkController:
    """Start one solo-pool worker thread and return once it consumes. With ``helper_nice``,
    its heavy tasks run in a :class:`HelperProcess` at that niceness (:func:`run_heavy`)."""
    global HELPER
    if helper_nice is not None:
        HELPER = HelperProcess(helper_nice)
    started = threading.Event()

    class ThreadWorker(WorkController):
        def on_consumer_ready(self, consumer):
            started.set()

    worker = ThreadWorker(
        app=app,
        concurrency=1,
        pool="solo",
        hostname="embedded@scoop",
        queues=list(settings.SCOOP_TASK_QUEUES),
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )
    threading.Thread(target=worker.start, name="scoop-worker", daemon=True).start()
    if not started.wait(timeout=30):
        raise RuntimeError("the in-process task worker did not start within 30 s")
    return worker


class HelperProcess:
    """One long-lived process, started on first use, that runs the embedded worker's heavy
    tasks (parsing and indexing payloads, rebuilds) at a lower CPU priority (``nice``).

    In the embedded deployment the worker thread shares the web process: parsing a payload in
    Python there holds the interpreter lock that every search needs between its DuckDB calls,
    and it gets the same CPU priority. In its own process at ``nice`` 10, the searches come
    first and ingest takes what CPU is left; the index and the database are files that both
    processes share, as with separate Celery workers. The process is spawned (not forked from a
    threaded server) and dies with the server (``PR_SET_PDEATHSIG`` on Linux).
    """

    def __init__(self, nice: int):
        self.nice = nice
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in the helper process (a module-level function; its arguments
        and result are pickled). If the process died, the call raises ``HelperDied`` and the next
        call starts a new one."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_helper_start, initargs=(self.nice,))
            pool = self._pool
        try:
            return pool.submit(function, *args).result()
        except BrokenProcessPool as error:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False)
            raise HelperDied("the worker's helper process stopped while running the task") from error

    def stop(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


class HelperDied(RuntimeError):
    pass


def _helper_start(nice: int) -> None:
    import django

    if nice:
        os.nice(nice)
    if sys.platform == "linux":
        # Die with the server instead of finishing a job that the restarted server resumes.
        # (Linux sends it when the thread that started this process ends: the worker thread,
        # which lives as long as the server; were it another, the next task gets a new helper.)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    django.setup()


# The helper of this process's embedded worker (None: tasks run in the worker thread).
HELPER: HelperProcess | None = None


def run_heavy(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in the embedded worker's helper process if there is one, else here."""
    helper = HELPER
    if helper is None:
        return function(*args)
    return helper.run(function, *args)
