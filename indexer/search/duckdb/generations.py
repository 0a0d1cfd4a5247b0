"""Generations of the DuckDB index: immutable files published one after the other.

The live index is ``data_dir/index/gen-<N>.duckdb`` and
``data_dir/index/CURRENT`` names it. A write takes an exclusive ``flock`` on
``write.lock``, copies the live file to ``gen-<N+1>.duckdb`` (rebuild starts
empty), changes it (unseen by anyone until published), checkpoints and closes it, then points
``CURRENT`` at it with ``os.replace`` and deletes generations older than the
one it replaced. Each process opens the current file read-only once, each thread
reads through its own cursor of that connection, and every search re-reads
``CURRENT`` (a new generation gets a new connection), so a search
sees a whole generation or the next one, never a half-indexed video. One
instance per process is the intended use (the connection cache lives on it).

Each generation also logs which videos it wrote, and whether each was indexed
before (``generation_log``, with the index's ``index_lineage``). A search answer
kept from an earlier generation (the result cache) is brought up to date by
adding the answer over only the videos written since, when none of them existed
then: every count, facet and clip of a search is a sum over videos. Any other
change (a video indexed again, appended to or deleted, a rebuild) computes
afresh.
"""

from __future__ import annotations

import fcntl
import os
import re
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from indexer.search.duckdb.sql import is_in

GENERATION = re.compile(r"^gen-(\d+)\.duckdb$")
# Generations whose written videos each generation keeps in its log (see log_generation).
LOGGED_GENERATIONS = 1_000


class Generations:
    """The generation files of one index directory and the pointer to the live one."""

    def __init__(self, root: Path):
        self.root = root

    def current(self) -> str | None:
        """The live generation's file name (None before the first write)."""
        try:
            name = (self.root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive across processes: one writer at a time."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "write.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def next_name(self) -> str:
        """The file name of the next generation."""
        # Higher than anything on disk, so a file left by a crashed writer is never reused.
        numbers = [generation_number(path.name) for path in self.root.iterdir()]
        return f"gen-{max([n for n in numbers if n is not None], default=0) + 1}.duckdb"

    def publish(self, name: str) -> None:
        """Point CURRENT at ``name`` atomically (and durably)."""
        staging = self.root / "CURRENT.tmp"
        try:
            with open(staging, "w") as handle:
                handle.write(name)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(staging, self.root / "CURRENT")
        except BaseException:
            staging.unlink(missing_ok=True)
            raise
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def prune(self, *, previous: str | None) -> None:
        """Delete generations older than ``previous`` (readers may still hold ``previous``)."""
        oldest_kept = generation_number(previous) if previous else None
        if oldest_kept is None:
            return
        for path in self.root.iterdir():
            number = generation_number(path.name)
            if number is not None and number < oldest_kept:
                remove_database(path)

    def remove_unpublished(self, name: str) -> None:
        """Delete a generation a failed write left unpublished."""
        remove_database(self.root / name)


def log_generation(con: duckdb.DuckDBPyConnection, generation: int, videos: Collection[int] | None) -> None:
    """Record in a new generation which videos it writes (None: all of them, as a rebuild).

    ``index_lineage`` holds the index's random ``uid`` (kept by every copied generation, new
    for a rebuild or a new index) and ``logged_from``: every video written by a generation
    after that one is in ``generation_log``, with whether it was indexed before the write.
    Kept answers use it to add the share of new videos instead of computing afresh
    (:meth:`Snapshot.added_since`). Rows older than ``LOGGED_GENERATIONS`` go."""
    lineage = con.execute("SELECT uid FROM index_lineage").fetchall()
    if videos is None or not lineage:
        con.execute("DELETE FROM index_lineage")
        con.execute("DELETE FROM generation_log")
        con.execute("INSERT INTO index_lineage VALUES (?, ?)", [uuid.uuid4().hex, generation])
        return
    wanted = sorted(set(videos))
    present = is_in("video_id", wanted)
    existing = {row[0] for row in con.execute(f"SELECT video_id FROM videos WHERE {present.text}",
                                              present.params).fetchall()}
    con.executemany("INSERT INTO generation_log VALUES (?, ?, ?)",
                    [(generation, video_id, video_id in existing) for video_id in wanted])
    horizon = generation - LOGGED_GENERATIONS
    con.execute("DELETE FROM generation_log WHERE generation <= ?", [horizon])
    con.execute("UPDATE index_lineage SET logged_from = greatest(logged_from, ?)", [horizon])


@dataclass(frozen=True)
class Snapshot:
    """What a reader knows of the generation it reads: its identity (path, inode, modification
    time, size), number, and the lineage and write log of :func:`log_generation` (None and
    empty in a generation written before there was one)."""

    identity: tuple
    generation: int
    lineage: str | None = None
    logged_from: int = 0
    log: tuple[tuple[int, int, bool], ...] = ()

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, identity: tuple, generation: int) -> Snapshot:
        """What ``con`` (a reader of generation ``generation``) tells of its lineage and log."""
        try:
            lineage = con.execute("SELECT uid, logged_from FROM index_lineage").fetchall()
            log = con.execute("SELECT generation, video_id, existed FROM generation_log ORDER BY generation").fetchall()
        except duckdb.CatalogException:
            return cls(identity, generation)
        if len(lineage) != 1:
            return cls(identity, generation)
        (uid, logged_from), = lineage
        return cls(identity, generation, uid, logged_from, tuple(log))

    def added_since(self, generation: int) -> list[int] | None:
        """The videos written since ``generation`` of this lineage, if none of them was indexed
        then (so that an answer of that generation plus theirs is this one's); None when one
        was, or the log does not reach back that far."""
        if self.lineage is None or generation < self.logged_from or generation > self.generation:
            return None
        existed_then: dict[int, bool] = {}
        for written, video_id, existed in self.log:
            if written > generation:
                existed_then.setdefault(video_id, existed)
        if any(existed_then.values()):
            return None
        return sorted(existed_then)


def generation_number(name: str) -> int | None:
    """N of a ``gen-<N>.duckdb`` file name; None for any other name."""
    match = GENERATION.match(name)
    return int(match.group(1)) if match else None


def remove_database(path: Path) -> None:
    """Delete a DuckDB file with its write-ahead log, if any."""
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
