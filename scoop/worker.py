"""The embedded deployment's task worker: a Celery worker in a daemon thread
of the web process, consuming the in-memory broker. Production runs
``celery -A scoop worker`` processes on Redis instead."""

from __future__ import annotations

import threading

from celery import Celery
from celery.worker import WorkController
from django.conf import settings


def start_inprocess_worker(app: Celery) -> WorkController:
    """Start one solo-pool worker thread and return once it consumes."""
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
