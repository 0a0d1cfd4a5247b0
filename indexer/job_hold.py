"""One worker at a time runs a job, even when the broker delivers its task twice.

Tasks are acknowledged when they end, and Redis delivers an unacknowledged task again once
``CELERY_VISIBILITY_TIMEOUT`` has passed: the right thing after its worker was killed, and a
second, simultaneous run of the job when the first is merely slow. A worker therefore holds a
job while it runs it. The hold belongs to the worker's connection or process, never to a row,
so a killed worker's hold ends with it and the delivery that follows runs the job again.

- PostgreSQL: a session-level advisory lock, keyed by the job's id.
- Elsewhere (SQLite: one machine): an ``flock`` on ``SCOOP_DATA_DIR/holds/<id>.lock``.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import DatabaseError, connection

# PostgreSQL advisory lock keys are signed 64-bit integers.
_KEY_BITS = (1 << 63) - 1


@contextmanager
def job_hold(job_id: str) -> Iterator[bool]:
    """Hold ``job_id`` for this worker: yields True when it is this worker's to run, False
    while another worker holds it."""
    if connection.vendor == "postgresql":
        with _advisory_lock(uuid.UUID(str(job_id)).int & _KEY_BITS) as held:
            yield held
    else:
        with _file_lock(Path(settings.SCOOP_DATA_DIR) / "holds" / f"{uuid.UUID(str(job_id))}.lock") as held:
            yield held


@contextmanager
def _advisory_lock(key: int) -> Iterator[bool]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:
                pass  # the session is gone, and its locks with it


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = _locked(path)
    if handle is None:
        yield False
        return
    with handle:  # closing it releases the lock
        try:
            yield True
        finally:
            path.unlink(missing_ok=True)


def _locked(path: Path) -> IO | None:
    """The file at ``path`` opened and locked; None while another process holds it."""
    while True:
        with ExitStack() as opened:
            handle = opened.enter_context(open(path, "a"))
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            # The holder before removes the file while it still holds it: a lock taken on a file
            # that is no longer at ``path`` holds nothing, so take the one there now.
            if path.exists() and os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                opened.pop_all()
                return handle
