"""Answers kept per process, keyed by the index generation that computed them.

An answer depends on the request and on the index contents only, and an index
generation never changes once published (:mod:`indexer.search.duckdb.generations`). So an
answer computed on a generation stays exact for as long as that generation is the
live one, and the next write publishes a new generation, whose requests miss. This
is the idea of Elasticsearch's shard request cache, which drops its entries on
each refresh.

Analysts repeat requests a lot: paging clips recounts the same facets, a dashboard
re-asks after every click that is undone, and several people open the same
default view. Concurrent identical requests are computed once: the others wait for
that answer (single flight), so a burst after a write costs one computation.

An answer may also be brought up to date instead of recomputed: entries carry the
version (index generation) they were computed on, and a caller on a later version
may pass ``update``, which gets the kept version and answer and returns the answer
for its own version, or None when it cannot (:mod:`indexer.search.duckdb.backend` adds the
share of videos indexed since, when nothing else changed).

Callers get their own deep copy, so no one can change a kept answer.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def result_key(*parts: Any) -> bytes:
    """A digest of ``parts`` by their ``repr``: requests are dataclasses of plain values,
    whose reprs keep ``True``, ``1``, ``1.0`` and ``"1"`` apart."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=20).digest()


class ResultCache:
    """At most ``max_entries`` answers, least recently used out first; 0 keeps none."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self.updates = 0  # misses answered by ``update`` instead of ``compute``
        self._entries: OrderedDict[bytes, tuple[int, Any]] = OrderedDict()
        self._computing: dict[bytes, threading.Event] = {}
        self._lock = threading.Lock()

    def get_or_compute(self, key: bytes, compute: Callable[[], T], *, version: int = 0,
                       update: Callable[[int, T], T | None] | None = None) -> T:
        """The answer kept for ``key`` at ``version``, else ``compute()``'s, kept.

        An answer kept at an earlier version goes to ``update(kept_version, kept_answer)``
        first (which must not change it); only if that returns None is ``compute()`` called.
        While one thread computes a key, others asking for it wait; if it fails, the next of
        them computes it. A caller on an older version than the kept one computes its own
        answer and keeps nothing."""
        if self.max_entries <= 0:
            return compute()
        while True:
            with self._lock:
                kept = self._entries.get(key)
                if kept is not None and kept[0] == version:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return copy.deepcopy(kept[1])
                computing = self._computing.get(key)
                if computing is None:
                    self._computing[key] = threading.Event()
                    self.misses += 1
                    break
            computing.wait()
        try:
            value = None
            if kept is not None and kept[0] < version and update is not None:
                value = update(kept[0], kept[1])
                if value is not None:
                    self.updates += 1
            if value is None:
                value = compute()
        except BaseException:
            with self._lock:
                self._computing.pop(key).set()
            raise
        with self._lock:
            if kept is None or kept[0] < version:
                self._entries[key] = (version, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            self._computing.pop(key).set()
        return copy.deepcopy(value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class KeptFrames:
    """The frame sets of searches (their columns as numpy arrays), kept per process up to
    ``max_bytes`` in all, least recently used out first; 0 keeps none.

    A dashboard asks the same query and filters three times after each click (the search, the
    statistics, the map), at once, and a REST client pages and then asks for statistics: each
    of those requests is a miss of the answers kept above, but their frame sets are the same.
    Keys are digests of the index generation and the SQL that selected the frames, so a set
    kept on one generation is never read on another. As with answers, a set that one thread
    is computing is waited for by the others (single flight)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[bytes, tuple[dict[str, Any], int]] = OrderedDict()
        self._bytes = 0
        self._computing: dict[bytes, threading.Event] = {}
        self._lock = threading.Lock()

    def claim(self, key: bytes) -> dict[str, Any] | None:
        """The columns kept for ``key`` (shared, never to be changed); else None, and the caller
        computes them, may :meth:`put` them, and must then :meth:`release` the key, failed or
        not. A key another thread is computing is waited for. A caller holds one claim at a
        time, and waits for none while it does."""
        if self.max_bytes <= 0:
            return None
        while True:
            with self._lock:
                kept = self._entries.get(key)
                if kept is not None:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return kept[0]
                computing = self._computing.get(key)
                if computing is None:
                    self._computing[key] = threading.Event()
                    self.misses += 1
                    return None
            computing.wait()

    def put(self, key: bytes, columns: dict[str, Any]) -> None:
        """Keep ``columns`` (numpy arrays) for ``key``, unless they alone exceed the budget."""
        size = sum(column.nbytes for column in columns.values())
        with self._lock:
            if size <= self.max_bytes and key not in self._entries:
                self._entries[key] = (columns, size)
                self._bytes += size
                while self._bytes > self.max_bytes:
                    _, (_, dropped) = self._entries.popitem(last=False)
                    self._bytes -= dropped

    def release(self, key: bytes) -> None:
        """End the claim on ``key``: its waiters read what was put, or one of them computes it."""
        with self._lock:
            computing = self._computing.pop(key, None)
        if computing is not None:
            computing.set()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
