"""Generations of the DuckDB index: immutable segments listed by one small manifest each.

The index folder holds:

- ``segments/seg-<S>.duckdb``: immutable DuckDB files, each with every table of
  :mod:`~indexer.search.duckdb.schema` holding the rows of one write (a video indexed, a chunk
  of live frames appended, or a whole rebuild), or of a merge of earlier segments;
- ``gen-<N>.json``: a manifest, listing the segments of generation N, with the videos each
  one holds and those it has lost since (tombstones: deleted or indexed again in a later
  segment), the index's lineage and the write log described below;
- ``CURRENT``: the live manifest's name.

A write takes an exclusive ``flock`` on ``write.lock``, writes its rows into a new segment
file (unseen by anyone until published), then writes the next manifest (the live one plus
that segment, tombstones added) and points ``CURRENT`` at it with ``os.replace``. A live
append builds its segment under a temporary name before it takes the lock, against the
generation live when it started, and holds the lock only to publish it: unless
:meth:`Manifest.changed_for` finds that a generation published meanwhile changed what the
build read, in which case it builds again under the lock. Its cost is
that of the rows it writes and of a manifest of a line per segment: it never copies what is
already indexed. A delete is a manifest of tombstones only. Files that neither the live
manifest nor the one it replaced name are deleted after the publish. A writer that crashes
leaves only an unnamed segment file, which the next publish deletes.

Segments are merged off the request path (:meth:`Generations.merge_plan` picks which):
a merge copies its segments' live rows into one new file and publishes a manifest that names
it instead of them, dropping the rows their tombstones hid. Nothing else changes at a merge,
so an answer computed before it is still exact after it.

Each manifest also logs which videos the generations since ``logged_from`` wrote, and whether
each was indexed before (``log``, with the index's random ``lineage``). A search answer kept
from an earlier generation (the result cache) is brought up to date by adding the answer over
only the videos written since, when none of them existed then: every count, facet and clip of
a search is a sum over videos. Any other change (a video indexed again, appended to or
deleted, a rebuild) computes afresh.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import time
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

GENERATION = re.compile(r"^gen-(\d+)\.json$")
SEGMENT = re.compile(r"^seg-(\d+)\.duckdb$")
SEGMENTS_DIR = "segments"
# Generations whose written videos each manifest keeps in its log.
LOGGED_GENERATIONS = 1_000
# Segments are merged in tiers of rows that grow by this factor: a tier that holds this many
# segments is merged into one of the next tier (Lucene's tiered merging, in its simplest form).
# Each row is copied about log_F(index / write) times; searches read at most about F - 1
# segments per tier.
MERGE_FACTOR = 4
# The rows of the smallest tier: every segment smaller than this counts as this big.
MERGE_FLOOR_ROWS = 10_000
# A segment whose tombstones hide more than this share of its rows is rewritten by the next merge.
MERGE_DELETED_SHARE = 0.5
# Unnamed merge or append outputs older than this are leftovers of a crashed writer.
STALE_TEMPORARY_S = 3600


@dataclass(frozen=True)
class Segment:
    """One segment file of a generation: its name, the videos with rows in it, those of them
    its tombstones hide, its row count (all tables), the vector files its rows name, and the
    highest attribute key id it holds (0: none)."""

    name: str
    videos: tuple[int, ...]
    deleted: tuple[int, ...] = ()
    rows: int = 0
    vector_files: tuple[str, ...] = ()
    keys: int = 0

    def live_videos(self) -> set[int]:
        return set(self.videos) - set(self.deleted)

    def deleted_share(self) -> float:
        return len(self.deleted) / len(self.videos) if self.videos else 0.0


@dataclass(frozen=True)
class Manifest:
    """What generation ``generation`` holds (module docstring)."""

    generation: int = 0
    lineage: str = ""
    logged_from: int = 0
    log: tuple[tuple[int, int, bool], ...] = ()
    segments: tuple[Segment, ...] = ()

    def live_videos(self) -> set[int]:
        return set().union(*(segment.live_videos() for segment in self.segments))

    def vector_files(self) -> set[str]:
        return set().union(*(segment.vector_files for segment in self.segments))

    def max_key(self) -> int:
        """The highest attribute key id: keys are numbered after every key of the index and never
        dropped (but by a rebuild), so it changes exactly when a write registers keys."""
        return max((segment.keys for segment in self.segments), default=0)

    def changed_for(self, base: Manifest, video_id: int, *, new_keys: bool) -> bool:
        """Whether a write of ``video_id`` built against ``base`` (reading the video's rows, and
        the attribute keys when it registered ``new_keys``) would be wrong published on this
        generation: another lineage (a rebuild), the video written since (deleted, indexed
        again, appended to) or a log that no longer reaches back to ``base``, or keys
        registered since (two writes would number different keys alike). Merges change none
        of these."""
        if self.lineage != base.lineage or base.generation < self.logged_from:
            return True
        if any(generation > base.generation and written == video_id for generation, written, _ in self.log):
            return True
        return new_keys and self.max_key() != base.max_key()

    def written(self, segment: Segment | None, videos: Collection[int], *, replacing: Collection[int]) -> Manifest:
        """The next generation: ``segment`` added (if any), after tombstones hide ``replacing``
        (the videos whose earlier rows go) in the segments that hold them; ``videos`` (those
        the write touched) logged."""
        gone = set(replacing)
        kept = tuple(replace(s, deleted=tuple(sorted(set(s.deleted) | (gone & set(s.videos))))) for s in self.segments)
        generation = self.generation + 1
        existing = self.live_videos()
        log = [*self.log, *((generation, video_id, video_id in existing) for video_id in sorted(set(videos)))]
        horizon = generation - LOGGED_GENERATIONS
        return Manifest(generation=generation, lineage=self.lineage or uuid.uuid4().hex,
                        logged_from=max(self.logged_from, horizon),
                        log=tuple(entry for entry in log if entry[0] > horizon),
                        segments=kept + ((segment,) if segment is not None else ()))

    def rebuilt(self, segment: Segment) -> Manifest:
        """The next generation: ``segment`` alone, under a new lineage (no kept answer applies)."""
        generation = self.generation + 1
        return Manifest(generation=generation, lineage=uuid.uuid4().hex, logged_from=generation,
                        segments=(segment,))

    def merged(self, inputs: Collection[str], segment: Segment) -> Manifest:
        """The next generation: the segments ``inputs`` replaced by ``segment``, which holds their
        rows as they were when the merge read them; what was hidden since stays hidden."""
        generation = self.generation + 1
        kept = tuple(s for s in self.segments if s.name not in inputs)
        return Manifest(generation=generation, lineage=self.lineage, logged_from=self.logged_from,
                        log=self.log, segments=(*kept, segment))

    def to_json(self) -> str:
        return json.dumps({
            "generation": self.generation, "lineage": self.lineage, "logged_from": self.logged_from,
            "log": [list(entry) for entry in self.log],
            "segments": [{"name": s.name, "videos": list(s.videos), "deleted": list(s.deleted), "rows": s.rows,
                          "vector_files": list(s.vector_files), "keys": s.keys} for s in self.segments],
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        return cls(generation=data["generation"], lineage=data["lineage"], logged_from=data["logged_from"],
                   log=tuple((g, v, bool(e)) for g, v, e in data["log"]),
                   segments=tuple(Segment(name=s["name"], videos=tuple(s["videos"]), deleted=tuple(s["deleted"]),
                                          rows=s["rows"], vector_files=tuple(s["vector_files"]),
                                          keys=s.get("keys", 0))
                                  for s in data["segments"]))


@dataclass(frozen=True)
class MergePlan:
    """Segments to merge into one, and why."""

    inputs: tuple[str, ...]
    reason: str


@dataclass
class Generations:
    """The manifests and segment files of one index folder and the pointer to the live one."""

    root: Path
    merge_factor: int = MERGE_FACTOR
    _names: dict[tuple, Manifest] = field(default_factory=dict, repr=False)

    @property
    def segments(self) -> Path:
        return self.root / SEGMENTS_DIR

    def current(self) -> str | None:
        """The live manifest's file name (None before the first write)."""
        try:
            name = (self.root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def read(self, name: str | None) -> Manifest:
        """The manifest ``name`` (the empty one for None); raises FileNotFoundError once pruned."""
        if name is None:
            return Manifest()
        path = self.root / name
        stat = path.stat()
        identity = (name, stat.st_ino, stat.st_mtime_ns, stat.st_size)  # a folder wiped and written again
        cached = self._names.get(identity)
        if cached is None:
            cached = Manifest.from_json(path.read_text())
            self._names = {identity: cached}  # manifests are immutable; one is enough to keep
        return cached

    def segment_path(self, name: str) -> Path:
        return self.segments / name

    @contextmanager
    def locked(self, lock: str = "write.lock", *, wait: bool = True) -> Iterator[bool]:
        """Exclusive across processes and threads: one holder at a time. Without ``wait``,
        yields False at once when someone holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / lock, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def new_segment_name(self) -> str:
        """A segment name higher than any on disk (so a file a crashed writer left is never reused).
        Call with the write lock held."""
        self.segments.mkdir(parents=True, exist_ok=True)
        numbers = [int(match.group(1)) for path in self.segments.iterdir() if (match := SEGMENT.match(path.name))]
        return f"seg-{max(numbers, default=0) + 1}.duckdb"

    def temporary_path(self) -> Path:
        """Where a merge or a live append writes before its file gets a segment name (under the
        write lock): publishes leave such files alone while they are young."""
        self.segments.mkdir(parents=True, exist_ok=True)
        return self.segments / f"tmp-{uuid.uuid4().hex}.duckdb"

    def adopt(self, temporary: Path) -> str:
        """Give a file built at a :meth:`temporary_path` the next segment name, durably. Call with
        the write lock held, before publishing a manifest that names it."""
        name = self.new_segment_name()
        os.replace(temporary, self.segment_path(name))
        fsync_file(self.segments)
        return name

    def publish(self, manifest: Manifest) -> str:
        """Write ``manifest`` as ``gen-<N>.json`` and point CURRENT at it, atomically and durably."""
        name = f"gen-{manifest.generation}.json"
        _write_durably(self.root / name, manifest.to_json())
        try:
            _write_durably(self.root / "CURRENT.tmp", name)
            os.replace(self.root / "CURRENT.tmp", self.root / "CURRENT")
        except BaseException:
            (self.root / "CURRENT.tmp").unlink(missing_ok=True)
            (self.root / name).unlink(missing_ok=True)
            raise
        fsync_file(self.root)
        return name

    def prune(self, *, live: Manifest, previous: Manifest) -> list[str]:
        """Delete the manifests older than ``previous`` (readers may still hold it) and the files
        neither manifest names: replaced segments, leftovers of failed writers, stale merge
        outputs. Call with the write lock held. Returns the vector files still named."""
        for path in self.root.iterdir():
            match = GENERATION.match(path.name)
            if match and int(match.group(1)) < previous.generation:
                path.unlink(missing_ok=True)
        named = {segment.name for segment in (*live.segments, *previous.segments)}
        if self.segments.is_dir():
            for path in self.segments.iterdir():
                stale = path.name.startswith("tmp-") and time.time() - _mtime(path) > STALE_TEMPORARY_S
                if (SEGMENT.match(path.name) and path.name not in named) or stale:
                    remove_database(path)
        return sorted(live.vector_files() | previous.vector_files())

    def merge_plan(self, manifest: Manifest) -> MergePlan | None:
        """The segments worth merging now, or None: the smallest tier with ``merge_factor``
        segments, else a segment mostly hidden by tombstones."""
        tiers: dict[int, list[Segment]] = {}
        for segment in manifest.segments:
            rows = max(segment.rows, MERGE_FLOOR_ROWS)
            tiers.setdefault(int(math.log(rows / MERGE_FLOOR_ROWS, self.merge_factor)), []).append(segment)
        for tier in sorted(tiers):
            if len(tiers[tier]) >= self.merge_factor:
                chosen = tiers[tier][:self.merge_factor]
                return MergePlan(tuple(s.name for s in chosen), f"{len(chosen)} segments of tier {tier}")
        for segment in manifest.segments:
            if segment.deleted_share() > MERGE_DELETED_SHARE:
                return MergePlan((segment.name,), f"{len(segment.deleted)} of {len(segment.videos)} videos deleted")
        return None


@dataclass(frozen=True)
class Snapshot:
    """What a reader knows of the generation it reads: the index folder and manifest (its
    identity), its number, and the lineage and write log of its manifest."""

    identity: tuple
    generation: int
    lineage: str | None = None
    logged_from: int = 0
    log: tuple[tuple[int, int, bool], ...] = ()

    @classmethod
    def of(cls, root: Path, name: str, manifest: Manifest) -> Snapshot:
        return cls((str(root), name), manifest.generation, manifest.lineage or None, manifest.logged_from,
                   manifest.log)

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


def remove_database(path: Path) -> None:
    """Delete a DuckDB file with its write-ahead log, if any."""
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def fsync_file(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()
