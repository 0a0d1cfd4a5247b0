"""The writers' lock of the Elasticsearch engine: one writer at a time, across processes and hosts.

Every write (ingest, append, delete, rebuild) holds it, so that a rebuild, which loads a fresh
index beside the live one and then moves the alias, never races a write that would land in the
index it is about to replace and be lost at the swap: writers wait for the rebuild instead.

The lock is the document ``writers`` in the index ``<prefix>-locks``: taking it is a ``_create``
(which fails with 409 while someone holds it); it is a lease (``expires``, epoch seconds) that
the holder renews while it works (:meth:`WritersLock.renew_if_due`), so a writer that died frees
it after :data:`LEASE_S`; a waiting writer takes an expired lease over with ``if_seq_no`` and
``if_primary_term``, so two waiters never both win. Hosts' clocks are assumed to agree to well
within the lease.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

LOCK_ID = "writers"
# How long a lease lasts unless renewed, when it is renewed, and how long a writer waits for it.
LEASE_S = 600.0
RENEW_AFTER_S = LEASE_S / 3
WAIT_S = 6 * 3600.0
POLL_S = 1.0


class WritersLock:
    """The lease on ``<prefix>-locks/_doc/writers`` held by one write."""

    def __init__(self, client: Elasticsearch, index: str, *, wait_s: float = WAIT_S):
        self.client = client
        self.index = index
        self.wait_s = wait_s
        self.owner = uuid.uuid4().hex
        self.version: tuple[int, int] | None = None  # (seq_no, primary_term) of our last write
        self.renewed_at = 0.0

    def _lease(self) -> dict[str, Any]:
        return {"owner": self.owner, "expires": time.time() + LEASE_S}

    def _held(self, response: Any) -> None:
        self.version = (response["_seq_no"], response["_primary_term"])
        self.renewed_at = time.monotonic()

    def acquire(self) -> None:
        """Wait until the lock is free (or its lease expired), then take it."""
        deadline = time.monotonic() + self.wait_s
        while True:
            holder = self._try_take()
            if holder is None:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the Elasticsearch writers' lock ({self.index}/{LOCK_ID}) is still held by "
                                   f"{holder.get('owner')} after {self.wait_s:g} s (a rebuild?)")
            time.sleep(POLL_S)

    def _try_take(self) -> dict[str, Any] | None:
        """Take the lock; None when taken, else the holder's lease."""
        try:
            self._held(self._create())
            return None
        except ConflictError:
            pass
        current = self.client.options(ignore_status=404).get(index=self.index, id=LOCK_ID)
        if not current.get("found"):
            return {}  # released in between: try again
        lease = current["_source"]
        if lease["expires"] > time.time():
            return lease
        try:  # the holder died: take its expired lease over, unless another waiter did first
            self._held(self.client.index(index=self.index, id=LOCK_ID, document=self._lease(),
                                         if_seq_no=current["_seq_no"], if_primary_term=current["_primary_term"]))
            return None
        except ConflictError:
            return lease

    def _create(self) -> Any:
        try:
            return self.client.create(index=self.index, id=LOCK_ID, document=self._lease())
        except NotFoundError:  # the cluster creates no index on a write (action.auto_create_index)
            self.client.options(ignore_status=400).indices.create(
                index=self.index, mappings={"dynamic": "strict", "properties": {
                    "owner": {"type": "keyword"}, "expires": {"type": "double"}}})
            return self.client.create(index=self.index, id=LOCK_ID, document=self._lease())

    def renew_if_due(self) -> None:
        """Extend the lease when a third of it has passed; ``RuntimeError`` if it was lost."""
        if self.version is None or time.monotonic() - self.renewed_at < RENEW_AFTER_S:
            return
        seq_no, primary_term = self.version
        try:
            self._held(self.client.index(index=self.index, id=LOCK_ID, document=self._lease(),
                                         if_seq_no=seq_no, if_primary_term=primary_term))
        except ConflictError as error:
            raise RuntimeError(f"the Elasticsearch writers' lock was taken over while this write held it "
                               f"(its lease of {LEASE_S:g} s ran out)") from error

    def release(self) -> None:
        """Free the lock (nothing happens if it was taken over meanwhile)."""
        if self.version is None:
            return
        seq_no, primary_term = self.version
        self.client.options(ignore_status=(404, 409)).delete(index=self.index, id=LOCK_ID, if_seq_no=seq_no,
                                                             if_primary_term=primary_term)
        self.version = None


@contextmanager
def writers_lock(client: Elasticsearch, index: str) -> Iterator[WritersLock]:
    """Hold the writers' lock for the duration of the block."""
    lock = WritersLock(client, index)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()
