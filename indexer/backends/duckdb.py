"""DuckDB index backend: the embedded default (SPEC 8).

Semantics are those of :mod:`indexer.backends.reference` (the truth); this module
only makes them fast and safe to share between processes.

Tables (attribute values are typed: categorical and boolean values are integer keys
into ``attr_keys``, whose text ``vt`` is ``'s:<text>'`` or ``'b:true'``, so ``"true"``,
``True`` and ``1.0`` never meet; numbers live in ``n``):

- ``attr_keys(key_id, scope, label, name, vt, s, b)``: one row per distinct categorical or
  boolean value of an attribute (scope ``object``/``frame``/``video``/``event``, label ``''``
  for frame and video attributes). Facets group by ``key_id`` and query conditions match
  keys with an integer semi-join, both far cheaper than comparing strings per detection;
- ``videos(video_id, name, camera, recorded_at, fps)``, ``video_attrs(video_id, name, key_id, n)``
  holding :func:`~indexer.backends.reference.video_values` (built-ins included, so
  ``video`` nodes and facets read one table);
- ``frames(frame_id, video_id, idx, t, lat, lon, n_objects)`` with
  ``frame_id = video_id << 32 | idx``; ``n_objects`` (detections in the frame)
  lets frame facets count objects without touching ``objects``;
- ``frame_attrs(frame_id, video_id, name, key_id, n)``, one row per frame and name;
- ``objects(object_id, frame_id, video_id, label, track, track_key, confidence, x1, y1, x2, y2)``;
  ``track_key`` numbers a (video, track) pair so distinct tracks are one BIGINT;
- ``object_attrs(object_id, frame_id, video_id, label, track_key, name, key_id, n)``: the
  *effective* attributes (track constants merged in), label and frame denormalized so
  object facets are one scan;
- ``events(event_id, video_id, label, start_idx, end_idx, confidence)``,
  ``event_attrs(event_id, video_id, name, key_id, n)``.

Rows are appended per video: frames and objects in frame order, attribute rows by
``key_id`` (zone maps then skip row groups for key filters).

Searching: the normalized tree compiles to one boolean SQL expression over
``frames f`` built from uncorrelated ``f.frame_id IN (SELECT ...)`` semi-joins
(never NULL, so ``NOT`` is exact). Each distinct frame set (the query AND all
filters, plus one per filtered facet for disjunctive counts) is computed once
into a temp table (with clip numbers only where something counts clips: the
main set, and a facet's set when its unit is clips); counts, the clip page and one grouped
aggregation per facet family (labels, object attributes, frame attributes,
video attributes, event labels, event attributes) read it. When a frame set
holds every frame, per-object families skip the join with it. Every value from
the request is a bound parameter; only identifiers and constants written here
are formatted in.

Statistics read the main frame set only (clip ids are computed only when they
count clips): occurrence runs the facet families over it; co-occurrence joins
two facets' (unit, value) rows on the unit; tiles and time bins evaluate the
reference's float expressions in SQL term for term; the iterators (located
frames, detections) run on a cursor of their own, so that their temp tables
outlive other calls on the thread's reader, and detections sort one video at
a time.

Generations: the live index is ``data_dir/index/gen-<N>.duckdb`` and
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
import heapq
import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd

from indexer.backends import vectors
from indexer.backends.base import (
    WINDOW_SLACK_S,
    AppendResult,
    BaseSearchBackend,
    Clip,
    Cooccurrence,
    CooccurrencePairs,
    Detection,
    Feature,
    Histogram,
    IndexCounts,
    LocatedFrame,
    SearchRequest,
    SearchResult,
    SimilarTrack,
    Timeline,
)
from indexer.backends.reference import (
    MAX_FRAME_INDEX,
    MAX_MERCATOR_LAT,
    VIDEO_TIME_WIDTHS,
    WALL_CLOCK_WIDTHS,
    check_frame_index,
    check_target,
    check_tile_level,
    check_video_id,
    clip_break_s,
    cooccurrence_facets,
    effective_fps,
    empty_result,
    facet_frame_node,
    facet_set_key,
    facet_unit,
    page_bounds,
    pairs_facets,
    positive_object_specs,
    recorded_epoch,
    requested_facets,
    seconds_of,
    sorted_gps,
    stat_unit,
    time_bins,
    typed_key,
    value_kind,
    video_values,
)
from indexer.backends.result_cache import ResultCache, result_key
from indexer.facets import Facet, filters_to_node
from indexer.payloads import storage_guard
from indexer.records import Analytics, EventRecord, FrameRecord, ObjectRecord, TrackRecord, VideoMeta, Waypoint

T = TypeVar("T")

BATCH_ROWS = 50_000
# Clips kept with a search's counts in the result cache: pages within them are slices (a
# page reaching past them is computed on its own). At least the largest page size.
KEPT_CLIPS = 1_000
GENERATION = re.compile(r"^gen-(\d+)\.duckdb$")
# Generations whose written videos each generation keeps in its log (see _log_generation).
LOGGED_GENERATIONS = 1_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    video_id BIGINT NOT NULL, name VARCHAR, camera VARCHAR, recorded_at DOUBLE, fps DOUBLE NOT NULL);
CREATE TABLE IF NOT EXISTS attr_keys (
    key_id INTEGER NOT NULL, scope VARCHAR NOT NULL, label VARCHAR NOT NULL, name VARCHAR NOT NULL,
    vt VARCHAR NOT NULL, s VARCHAR, b BOOLEAN);
CREATE TABLE IF NOT EXISTS video_attrs (
    video_id BIGINT NOT NULL, name VARCHAR NOT NULL, key_id INTEGER, n DOUBLE);
CREATE TABLE IF NOT EXISTS frames (
    frame_id BIGINT NOT NULL, video_id BIGINT NOT NULL, idx BIGINT NOT NULL, t DOUBLE NOT NULL,
    lat DOUBLE, lon DOUBLE, n_objects INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS frame_attrs (
    frame_id BIGINT NOT NULL, video_id BIGINT NOT NULL, name VARCHAR NOT NULL, key_id INTEGER, n DOUBLE);
CREATE TABLE IF NOT EXISTS objects (
    object_id BIGINT NOT NULL, frame_id BIGINT NOT NULL, video_id BIGINT NOT NULL, label VARCHAR NOT NULL,
    track VARCHAR, track_key BIGINT, confidence DOUBLE, x1 DOUBLE, y1 DOUBLE, x2 DOUBLE, y2 DOUBLE);
CREATE TABLE IF NOT EXISTS object_attrs (
    object_id BIGINT NOT NULL, frame_id BIGINT NOT NULL, video_id BIGINT NOT NULL, label VARCHAR NOT NULL,
    track_key BIGINT, name VARCHAR NOT NULL, key_id INTEGER, n DOUBLE);
CREATE TABLE IF NOT EXISTS events (
    event_id BIGINT NOT NULL, video_id BIGINT NOT NULL, label VARCHAR NOT NULL,
    start_idx BIGINT NOT NULL, end_idx BIGINT NOT NULL, confidence DOUBLE);
CREATE TABLE IF NOT EXISTS event_attrs (
    event_id BIGINT NOT NULL, video_id BIGINT NOT NULL, name VARCHAR NOT NULL, key_id INTEGER, n DOUBLE);
CREATE TABLE IF NOT EXISTS index_lineage (uid VARCHAR NOT NULL, logged_from BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS generation_log (
    generation BIGINT NOT NULL, video_id BIGINT NOT NULL, existed BOOLEAN NOT NULL);
"""
TABLES = ("videos", "video_attrs", "frames", "frame_attrs", "objects", "object_attrs", "events", "event_attrs")


# Generations -------------------------------------------------------------------------------------


class _Generations:
    """The generation files of one index directory and the pointer to the live one."""

    def __init__(self, root: Path):
        self.root = root

    def current(self) -> str | None:
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
        # Higher than anything on disk, so a file left by a crashed writer is never reused.
        numbers = [_generation_number(path.name) for path in self.root.iterdir()]
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
        oldest_kept = _generation_number(previous) if previous else None
        if oldest_kept is None:
            return
        for path in self.root.iterdir():
            number = _generation_number(path.name)
            if number is not None and number < oldest_kept:
                remove_database(path)

    def remove_unpublished(self, name: str) -> None:
        remove_database(self.root / name)


def _log_generation(con: duckdb.DuckDBPyConnection, generation: int, videos: Collection[int] | None) -> None:
    """Record in a new generation which videos it writes (None: all of them, as a rebuild).

    ``index_lineage`` holds the index's random ``uid`` (kept by every copied generation, new
    for a rebuild or a new index) and ``logged_from``: every video written by a generation
    after that one is in ``generation_log``, with whether it was indexed before the write.
    Kept answers use it to add the share of new videos instead of computing afresh
    (:meth:`_Snapshot.added_since`). Rows older than ``LOGGED_GENERATIONS`` go."""
    lineage = con.execute("SELECT uid FROM index_lineage").fetchall()
    if videos is None or not lineage:
        con.execute("DELETE FROM index_lineage")
        con.execute("DELETE FROM generation_log")
        con.execute("INSERT INTO index_lineage VALUES (?, ?)", [uuid.uuid4().hex, generation])
        return
    wanted = sorted(set(videos))
    present = _in("video_id", wanted)
    existing = {row[0] for row in con.execute(f"SELECT video_id FROM videos WHERE {present.text}",
                                              present.params).fetchall()}
    con.executemany("INSERT INTO generation_log VALUES (?, ?, ?)",
                    [(generation, video_id, video_id in existing) for video_id in wanted])
    horizon = generation - LOGGED_GENERATIONS
    con.execute("DELETE FROM generation_log WHERE generation <= ?", [horizon])
    con.execute("UPDATE index_lineage SET logged_from = greatest(logged_from, ?)", [horizon])


@dataclass(frozen=True)
class _Snapshot:
    """What a reader knows of the generation it reads: its identity (path, inode, modification
    time, size), number, and the lineage and write log of :func:`_log_generation` (None and
    empty in a generation written before there was one)."""

    identity: tuple
    generation: int
    lineage: str | None = None
    logged_from: int = 0
    log: tuple[tuple[int, int, bool], ...] = ()

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, identity: tuple, generation: int) -> _Snapshot:
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


def _generation_number(name: str) -> int | None:
    match = GENERATION.match(name)
    return int(match.group(1)) if match else None


def remove_database(path: Path) -> None:
    """Delete a DuckDB file with its write-ahead log, if any."""
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


# Locations ---------------------------------------------------------------------------------------


def frame_locations(gps: list[Waypoint], times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`indexer.records.frame_location` for many times at once (NaN for None).

    The same float operations in the same order as the scalar function, so the
    results are bit-identical (numpy's float64 ``+ - * /`` are IEEE like Python's).
    ``gps`` must be sorted by ``t``.
    """
    lat = np.full(len(times), np.nan)
    lon = np.full(len(times), np.nan)
    if not gps:
        return lat, lon
    wt = np.array([w.t for w in gps], dtype=float)
    wlat = np.array([w.lat for w in gps], dtype=float)
    wlon = np.array([w.lon for w in gps], dtype=float)
    inside = (times >= wt[0]) & (times <= wt[-1])
    right = np.minimum(np.searchsorted(wt, times, side="left"), len(wt) - 1)
    exact = inside & (wt[right] == times)
    lat[exact], lon[exact] = wlat[right[exact]], wlon[right[exact]]
    between = inside & ~exact
    after = right[between]
    before = after - 1
    share = (times[between] - wt[before]) / (wt[after] - wt[before])
    lat[between] = wlat[before] + (wlat[after] - wlat[before]) * share
    lon[between] = wlon[before] + (wlon[after] - wlon[before]) * share
    return lat, lon


# Ingest ------------------------------------------------------------------------------------------

# Attribute values travel as (kind, s, n): kind 0 str, 1 number, 2 bool (n = 1.0/0.0), 3 other
# (kept so that "first wins" sees it, but it matches nothing). One float column avoids pandas
# guessing the type of an object column of booleans and Nones.
_TYPED = (
    "CASE WHEN kind = 0 THEN CAST(s AS VARCHAR) END AS s, CASE WHEN kind = 1 THEN CAST(n AS DOUBLE) END AS n, "
    "CASE WHEN kind = 2 THEN n = 1 END AS b"
)
_VALUE_COLUMNS = "s VARCHAR, n DOUBLE, b BOOLEAN"
# table: (column definitions, DataFrame columns, SELECT turning a DataFrame batch into rows)
_STAGING = {
    "st_frames": ("seq BIGINT, idx BIGINT, t DOUBLE", "seq, idx, t",
                  "CAST(seq AS BIGINT), CAST(idx AS BIGINT), CAST(t AS DOUBLE)"),
    "st_frame_attrs": (f"seq BIGINT, idx BIGINT, name VARCHAR, {_VALUE_COLUMNS}",
                       "seq, idx, name, kind, s, n", f"seq, idx, CAST(name AS VARCHAR), {_TYPED}"),
    "st_objects": (
        "seq BIGINT, idx BIGINT, t DOUBLE, label VARCHAR, track VARCHAR, confidence DOUBLE, "
        "x1 DOUBLE, y1 DOUBLE, x2 DOUBLE, y2 DOUBLE",
        "seq, idx, t, label, track, confidence, x1, y1, x2, y2",
        "seq, idx, CAST(t AS DOUBLE), CAST(label AS VARCHAR), CAST(track AS VARCHAR), CAST(confidence AS DOUBLE), "
        "CAST(x1 AS DOUBLE), CAST(y1 AS DOUBLE), CAST(x2 AS DOUBLE), CAST(y2 AS DOUBLE)",
    ),
    "st_object_attrs": (f"seq BIGINT, name VARCHAR, {_VALUE_COLUMNS}",
                        "seq, name, kind, s, n", f"seq, CAST(name AS VARCHAR), {_TYPED}"),
    "st_track_attrs": (f"seq BIGINT, track VARCHAR, name VARCHAR, {_VALUE_COLUMNS}",
                       "seq, track, name, kind, s, n",
                       f"seq, CAST(track AS VARCHAR), CAST(name AS VARCHAR), {_TYPED}"),
    "st_events": ("seq BIGINT, label VARCHAR, start_idx BIGINT, end_idx BIGINT, confidence DOUBLE",
                  "seq, label, start_idx, end_idx, confidence",
                  "seq, CAST(label AS VARCHAR), start_idx, end_idx, CAST(confidence AS DOUBLE)"),
    "st_event_attrs": (f"seq BIGINT, name VARCHAR, {_VALUE_COLUMNS}",
                       "seq, name, kind, s, n", f"seq, CAST(name AS VARCHAR), {_TYPED}"),
    "st_video_attrs": (f"name VARCHAR, {_VALUE_COLUMNS}", "name, kind, s, n", f"CAST(name AS VARCHAR), {_TYPED}"),
}
_NO_BOX = (None, None, None, None)


def _split(value: Any) -> tuple[int, str | None, float | None]:
    if type(value) is str:  # nearly every value: skip the general classification
        return 0, value, None
    kind = value_kind(value)
    if kind == "str":
        return 0, value, None
    if kind == "num":
        return 1, None, float(value)
    if kind == "bool":
        return 2, None, 1.0 if value else 0.0
    return 3, None, None


class _Stager:
    """Buffers records per staging table and appends them to DuckDB in DataFrame batches."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.rows: dict[str, list[tuple]] = {table: [] for table in _STAGING}
        for table, (columns, _, _) in _STAGING.items():
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} ({columns})")

    def flush(self, *, full_only: bool) -> None:
        for table, rows in self.rows.items():
            if rows and (len(rows) >= BATCH_ROWS or not full_only):
                _, names, select = _STAGING[table]
                batch = pd.DataFrame.from_records(rows, columns=[name.strip() for name in names.split(",")])
                self.con.register("scoop_batch", batch)
                self.con.execute(f"INSERT INTO {table} SELECT {select} FROM scoop_batch")
                self.con.unregister("scoop_batch")
                rows.clear()

    def stage(self, analytics: Analytics, video_attrs: dict[str, Any]) -> None:
        """Read the record stream once; ``seq`` keeps record order for every 'first wins' rule."""
        rows = self.rows
        rows["st_video_attrs"].extend((name, *_split(value)) for name, value in video_attrs.items())
        frames, frame_attrs = rows["st_frames"], rows["st_frame_attrs"]
        objects, object_attrs = rows["st_objects"], rows["st_object_attrs"]
        for seq, record in enumerate(analytics.records()):
            if isinstance(record, ObjectRecord):
                check_frame_index(record.index)
                objects.append((seq, record.index, record.t, record.label, record.track, record.confidence,
                                *(record.box or _NO_BOX)))
                object_attrs.extend((seq, name, *_split(value)) for name, value in record.attrs.items())
            elif isinstance(record, FrameRecord):
                check_frame_index(record.index)
                frames.append((seq, record.index, record.t))
                frame_attrs.extend((seq, record.index, name, *_split(value)) for name, value in record.attrs.items())
            elif isinstance(record, TrackRecord):
                rows["st_track_attrs"].extend(
                    (seq, record.track, name, *_split(value)) for name, value in record.attrs.items()
                )
            elif isinstance(record, EventRecord):
                rows["st_events"].append((seq, record.label, record.start_index, record.end_index, record.confidence))
                rows["st_event_attrs"].extend((seq, name, *_split(value)) for name, value in record.attrs.items())
            if seq % 4096 == 0:
                self.flush(full_only=True)
        self.flush(full_only=False)

    def drop(self) -> None:
        _drop_staged(self.con)


_DERIVED = {
    # A frame exists when a frame or object record names it; its t is the first record's.
    "st_frame_t": """SELECT idx, arg_min(t, seq) AS t FROM (
                         SELECT seq, idx, t FROM st_frames UNION ALL SELECT seq, idx, t FROM st_objects)
                     GROUP BY idx""",
    "st_frame_final": """SELECT idx, name, s, n, b FROM st_frame_attrs
                         QUALIFY row_number() OVER (PARTITION BY idx, name ORDER BY seq) = 1""",
    "st_constants": """SELECT track, name, s, n, b FROM st_track_attrs
                       QUALIFY row_number() OVER (PARTITION BY track, name ORDER BY seq) = 1""",
    "st_tracks": """SELECT track, row_number() OVER (ORDER BY track) AS track_no
                    FROM (SELECT DISTINCT track FROM st_objects WHERE track IS NOT NULL)""",
    # Effective attributes: the track's constants replace the detection's own values.
    "st_object_final": """WITH overrides AS (
                              SELECT o.seq, c.name, c.s, c.n, c.b
                              FROM st_objects o JOIN st_constants c ON c.track = o.track)
                          SELECT * FROM overrides
                          UNION ALL
                          SELECT a.seq, a.name, a.s, a.n, a.b FROM st_object_attrs a
                          ANTI JOIN overrides v ON v.seq = a.seq AND v.name = a.name""",
}


def _drop_staged(con: duckdb.DuckDBPyConnection) -> None:
    for table in (*_STAGING, *_DERIVED, "st_located"):
        con.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _value_text(alias: str) -> str:
    """A categorical or boolean value as one NOT NULL text, typed ('s:true' is not 'b:true')."""
    return f"CASE WHEN {alias}.s IS NOT NULL THEN 's:' || {alias}.s ELSE 'b:' || CAST({alias}.b AS VARCHAR) END"


# scope: (SELECT of label, name, s, b over the staged rows of that scope)
_KEY_SOURCES = {
    "object": "SELECT o.label, e.name, e.s, e.b FROM st_object_final e JOIN st_objects o USING (seq)",
    "frame": "SELECT '' AS label, name, s, b FROM st_frame_final",
    "video": "SELECT '' AS label, name, s, b FROM st_video_attrs",
    "event": "SELECT ev.label, a.name, a.s, a.b FROM st_event_attrs a JOIN st_events ev USING (seq)",
}
_REGISTER_KEYS = f"""INSERT INTO attr_keys
    SELECT (SELECT coalesce(max(key_id), 0) FROM attr_keys) + row_number() OVER (ORDER BY label, name, vt),
           $scope, label, name, vt, s, b
    FROM (SELECT DISTINCT label, name, {_value_text("v")} AS vt, s, b
          FROM ({{source}}) v WHERE s IS NOT NULL OR b IS NOT NULL) fresh
    WHERE NOT EXISTS (SELECT 1 FROM attr_keys k
                      WHERE k.scope = $scope AND k.label = fresh.label AND k.name = fresh.name AND k.vt = fresh.vt)"""


def _key_join(scope: str, alias: str, label: str) -> str:
    return (f"LEFT JOIN attr_keys k ON k.scope = '{scope}' AND k.label = {label} AND k.name = {alias}.name "
            f"AND k.vt = {_value_text(alias)}")


_ID = "(CAST($video_id AS BIGINT) << 32)"
_HAS_VALUE = "(a.s IS NOT NULL OR a.n IS NOT NULL OR a.b IS NOT NULL)"
_INSERTS = (
    f"""INSERT INTO frames
        SELECT {_ID} | l.idx, $video_id, l.idx, l.t, l.lat, l.lon, coalesce(c.n_objects, 0)
        FROM st_located l LEFT JOIN (SELECT idx, count(*) AS n_objects FROM st_objects GROUP BY idx) c USING (idx)
        ORDER BY l.idx""",
    f"""INSERT INTO frame_attrs
        SELECT {_ID} | a.idx, $video_id, a.name, k.key_id, a.n
        FROM st_frame_final a {_key_join("frame", "a", "''")}
        WHERE {_HAS_VALUE} ORDER BY k.key_id, a.name, a.idx""",
    f"""INSERT INTO objects
        SELECT {_ID} | o.seq, {_ID} | o.idx, $video_id, o.label, o.track, {_ID} | t.track_no,
               o.confidence, o.x1, o.y1, o.x2, o.y2
        FROM st_objects o LEFT JOIN st_tracks t USING (track)
        ORDER BY o.idx, o.seq""",
    f"""INSERT INTO object_attrs
        SELECT {_ID} | o.seq, {_ID} | o.idx, $video_id, o.label, {_ID} | t.track_no, a.name, k.key_id, a.n
        FROM st_object_final a JOIN st_objects o USING (seq) LEFT JOIN st_tracks t ON t.track = o.track
        {_key_join("object", "a", "o.label")}
        WHERE {_HAS_VALUE} ORDER BY k.key_id, a.name, o.idx""",
    f"""INSERT INTO events
        SELECT {_ID} | seq, $video_id, label, start_idx, end_idx, confidence FROM st_events ORDER BY seq""",
    f"""INSERT INTO event_attrs
        SELECT {_ID} | a.seq, $video_id, a.name, k.key_id, a.n
        FROM st_event_attrs a JOIN st_events ev USING (seq) {_key_join("event", "a", "ev.label")}
        WHERE {_HAS_VALUE} ORDER BY k.key_id, a.name, a.seq""",
    f"""INSERT INTO video_attrs
        SELECT $video_id, a.name, k.key_id, a.n FROM st_video_attrs a {_key_join("video", "a", "''")}
        WHERE {_HAS_VALUE}""",
)


def _load_video(con: duckdb.DuckDBPyConnection, video_id: int, name: str, analytics: Analytics) -> IndexCounts:
    """Stage one video's records and derive its rows in an unpublished generation."""
    check_video_id(video_id)
    _stage_video(con, name, analytics)
    return _insert_staged(con, video_id, name, analytics.meta)


def _stage_video(con: duckdb.DuckDBPyConnection, name: str, analytics: Analytics) -> None:
    """Read the records into ``con``'s temp staging tables and derive what the inserts need:
    all the parsing and checking, which needs no index."""
    meta = analytics.meta
    stager = _Stager(con)
    stager.stage(analytics, video_values(name, meta))
    for table, select in _DERIVED.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}")
    _stage_locations(con, sorted_gps(meta))


def _insert_staged(con: duckdb.DuckDBPyConnection, video_id: int, name: str, meta: VideoMeta) -> IndexCounts:
    """Register the staged video's attribute values and insert its rows into the index tables."""
    for scope, source in _KEY_SOURCES.items():
        con.execute(_REGISTER_KEYS.format(source=source), {"scope": scope})
    params = {"video_id": video_id}
    for statement in _INSERTS:
        con.execute(statement, params)
    con.execute(
        "INSERT INTO videos VALUES ($video_id, $name, $camera, $recorded_at, $fps)",
        {**params, "name": name, "camera": meta.camera, "recorded_at": recorded_epoch(meta),
         "fps": effective_fps(meta)},
    )
    counts = con.execute(
        "SELECT (SELECT count(*) FROM st_frame_t), (SELECT count(*) FROM st_objects), "
        "(SELECT count(*) FROM st_tracks), (SELECT count(*) FROM st_events)"
    ).fetchone()
    _drop_staged(con)
    return IndexCounts(frames=counts[0], objects=counts[1], tracks=counts[2], events=counts[3])


# An append keeps only the staged records of frames the video does not have yet (st_known).
_APPEND_PRUNE = (
    "DELETE FROM st_object_attrs WHERE seq IN (SELECT seq FROM st_objects WHERE idx IN (SELECT idx FROM st_known))",
    "DELETE FROM st_objects WHERE idx IN (SELECT idx FROM st_known)",
    "DELETE FROM st_frame_attrs WHERE idx IN (SELECT idx FROM st_known)",
    "DELETE FROM st_frames WHERE idx IN (SELECT idx FROM st_known)",
    # An event is added with its start frame: it must be one of the frames added.
    """DELETE FROM st_event_attrs WHERE seq IN (SELECT seq FROM st_events
           WHERE start_idx NOT IN (SELECT idx FROM st_frames UNION SELECT idx FROM st_objects))""",
    "DELETE FROM st_events WHERE start_idx NOT IN (SELECT idx FROM st_frames UNION SELECT idx FROM st_objects)",
)
_SEQ_TABLES = ("st_frames", "st_frame_attrs", "st_objects", "st_object_attrs", "st_events", "st_event_attrs")
_LOW32 = 4294967295
# Track numbers of the video's tracks, old ones kept, new ones numbered after them.
_APPEND_TRACKS = f"""
    WITH known AS (SELECT DISTINCT track, track_key & {_LOW32} AS track_no FROM objects
                   WHERE video_id = $video_id AND track IS NOT NULL),
         fresh AS (SELECT DISTINCT track FROM st_objects
                   WHERE track IS NOT NULL AND track NOT IN (SELECT track FROM known))
    SELECT track, track_no, false AS fresh FROM known
    UNION ALL
    SELECT track, (SELECT coalesce(max(track_no), 0) FROM known) + row_number() OVER (ORDER BY track), true
    FROM fresh"""


def _append_video(con: duckdb.DuckDBPyConnection, video_id: int, name: str, analytics: Analytics) -> AppendResult:
    """Stage a chunk, drop what the video already has, and add the rest to an unpublished generation."""
    check_video_id(video_id)
    params = {"video_id": video_id}
    known_video = con.execute("SELECT fps FROM videos WHERE video_id = $video_id", params).fetchone()
    # An indexed video keeps its fps; the caller's GPS locates the new frames.
    meta = analytics.meta if known_video is None else VideoMeta(fps=known_video[0], gps=analytics.meta.gps)
    stager = _Stager(con)
    stager.stage(analytics, video_values(name, meta) if known_video is None else {})
    if con.execute("SELECT count(*) FROM st_track_attrs").fetchone()[0]:
        stager.drop()
        raise ValueError("an append takes no track records (constant track attributes)")
    con.execute("CREATE OR REPLACE TEMP TABLE st_known AS SELECT idx FROM frames WHERE video_id = $video_id", params)
    duplicate_frames, duplicate_objects = con.execute(
        "SELECT (SELECT count(DISTINCT idx) FROM (SELECT idx FROM st_frames UNION ALL SELECT idx FROM st_objects) "
        "        WHERE idx IN (SELECT idx FROM st_known)), "
        "       (SELECT count(*) FROM st_objects WHERE idx IN (SELECT idx FROM st_known))").fetchone()
    for statement in _APPEND_PRUNE:
        con.execute(statement)
    # Ids are video_id << 32 | seq: continue after the video's highest object and event ids.
    (offset,) = con.execute(
        f"SELECT coalesce(max(id & {_LOW32}), -1) + 1 FROM (SELECT object_id AS id FROM objects "
        f"WHERE video_id = $video_id UNION ALL SELECT event_id FROM events WHERE video_id = $video_id)", params,
    ).fetchone()
    for table in _SEQ_TABLES:
        con.execute(f"UPDATE {table} SET seq = seq + ?", [offset])
    for table, select in _DERIVED.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE st_tracks AS {_APPEND_TRACKS}", params)
    _stage_locations(con, sorted_gps(meta))
    for scope, source in _KEY_SOURCES.items():
        con.execute(_REGISTER_KEYS.format(source=source), {"scope": scope})
    for statement in _INSERTS:
        con.execute(statement, params)
    if known_video is None:
        con.execute(
            "INSERT INTO videos VALUES ($video_id, $name, $camera, $recorded_at, $fps)",
            {**params, "name": name, "camera": meta.camera, "recorded_at": recorded_epoch(meta),
             "fps": effective_fps(meta)},
        )
    appended = con.execute(
        "SELECT (SELECT count(*) FROM st_frame_t), (SELECT count(*) FROM st_objects), "
        "(SELECT count(*) FROM st_tracks WHERE fresh), (SELECT count(*) FROM st_events)").fetchone()
    indices = [row[0] for row in con.execute("SELECT idx FROM st_frame_t ORDER BY idx").fetchall()]
    stager.drop()
    con.execute("DROP TABLE IF EXISTS temp.st_known")
    return AppendResult(appended=IndexCounts(*appended), duplicate_frames=duplicate_frames,
                        duplicate_objects=duplicate_objects, indices=indices)


def _stage_locations(con: duckdb.DuckDBPyConnection, gps: list[Waypoint]) -> None:
    """``st_located(idx, t, lat, lon)``: every frame with its location, computed like the reference."""
    frames = con.execute("SELECT idx, t FROM st_frame_t ORDER BY idx").fetchnumpy()
    times = np.asarray(frames["t"], dtype=float)
    lat, lon = frame_locations(gps, times)
    located = pd.DataFrame({"idx": np.asarray(frames["idx"], dtype=np.int64), "t": times, "lat": lat, "lon": lon})
    con.register("scoop_located", located)
    con.execute("CREATE OR REPLACE TEMP TABLE st_located AS SELECT * FROM scoop_located")
    con.unregister("scoop_located")


# Query compilation -------------------------------------------------------------------------------


@dataclass
class _Sql:
    """A SQL fragment and its parameters, in the order their ``?`` appear."""

    text: str
    params: list[Any] = field(default_factory=list)


_TRUE, _FALSE = _Sql("TRUE"), _Sql("FALSE")


def _joined(parts: list[_Sql], operator: str, empty: _Sql) -> _Sql:
    if not parts:
        return empty
    return _Sql("(" + f" {operator} ".join(part.text for part in parts) + ")",
                [param for part in parts for param in part.params])


def _in(column: str, values: list[Any]) -> _Sql:
    if not values:
        return _FALSE
    return _Sql(f"{column} IN ({', '.join('?' * len(values))})", list(values))


def _of_kind(values: list[Any], kind: str) -> list[Any]:
    # Numbers are compared as DOUBLE, like the stored values.
    return [float(value) if kind == "num" else value for value in values if value_kind(value) == kind]


def _range(column: str, cond: dict[str, Any]) -> _Sql:
    """``{"gte", "lte"}`` on a number column; a missing value (NULL) never matches, even an open range."""
    parts = [_Sql(f"{column} IS NOT NULL")]
    if cond.get("gte") is not None:
        parts.append(_Sql(f"{column} >= ?", [float(cond["gte"])]))
    if cond.get("lte") is not None:
        parts.append(_Sql(f"{column} <= ?", [float(cond["lte"])]))
    return _joined(parts, "AND", _TRUE)


def _number_cond(cond: dict[str, Any], column: str) -> _Sql:
    """A condition on a column that only ever holds numbers (t, confidence)."""
    if "in" in cond:
        return _in(column, _of_kind(cond["in"], "num"))
    return _range(column, cond)


def _attr_match(alias: str, scope: str, label: str | None, attr: str, cond: dict[str, Any]) -> _Sql:
    """Rows of an attribute table (alias) whose attribute ``attr`` meets ``cond``.

    Categorical and boolean values are matched through ``attr_keys`` (an integer
    semi-join), numbers on ``n``. ``label`` restricts object attributes to a label.
    """
    on_label = [_Sql(f"{alias}.label = ?", [label])] if label is not None and scope == "object" else []
    numbers = _joined([*on_label, _Sql(f"{alias}.name = ?", [attr])], "AND", _TRUE)
    if "gte" in cond or "lte" in cond:
        return _joined([numbers, _range(f"{alias}.n", cond)], "AND", _TRUE)
    parts = []
    values = _joined([_in("k.s", _of_kind(cond["in"], "str")), _in("k.b", _of_kind(cond["in"], "bool"))],
                     "OR", _FALSE)
    if values is not _FALSE and values.params:
        keys = [_Sql("k.scope = ?", [scope]), _Sql("k.name = ?", [attr]), values]
        if label is not None:
            keys.insert(1, _Sql("k.label = ?", [label]))
        inner = _joined(keys, "AND", _TRUE)
        parts.append(_Sql(f"{alias}.key_id IN (SELECT k.key_id FROM attr_keys k WHERE {inner.text})", inner.params))
    wanted_numbers = _of_kind(cond["in"], "num")
    if wanted_numbers:
        parts.append(_joined([numbers, _in(f"{alias}.n", wanted_numbers)], "AND", _TRUE))
    return _joined(parts, "OR", _FALSE)


def _within(alias: str, videos: list[int] | None) -> list[_Sql]:
    """Table ``alias`` restricted to ``videos`` (no condition for None): a subquery then reads
    only their row groups."""
    return [] if videos is None else [_in(f"{alias}.video_id", videos)]


def _object_node(spec: dict[str, Any], videos: list[int] | None) -> _Sql:
    label, attrs = spec.get("label"), list(spec.get("attrs", {}).items())
    on_objects = []
    if spec.get("track") is not None:
        on_objects.append(_Sql("o.track = ?", [spec["track"]]))
    if spec.get("confidence") is not None:
        on_objects.append(_number_cond(spec["confidence"], "o.confidence"))
    if not attrs:
        where = ([_Sql("o.label = ?", [label])] if label is not None else []) + on_objects
        if not where:
            return _Sql("f.n_objects > 0")
        inner = _joined(where + _within("o", videos), "AND", _TRUE)
        return _Sql(f"f.frame_id IN (SELECT o.frame_id FROM objects o WHERE {inner.text})", inner.params)
    # One object must meet every constraint: intersect object ids, starting from the first attribute
    # (each attribute match carries the label).
    where = [_attr_match("a0", "object", label, *attrs[0]), *_within("a0", videos)]
    for number, (attr, cond) in enumerate(attrs[1:], start=1):
        alias = f"a{number}"
        match = _joined([_attr_match(alias, "object", label, attr, cond), *_within(alias, videos)], "AND", _TRUE)
        where.append(_Sql(f"a0.object_id IN (SELECT {alias}.object_id FROM object_attrs {alias} "
                          f"WHERE {match.text})", match.params))
    if on_objects:
        inner = _joined(on_objects + _within("o", videos), "AND", _TRUE)
        where.append(_Sql(f"a0.object_id IN (SELECT o.object_id FROM objects o WHERE {inner.text})", inner.params))
    inner = _joined(where, "AND", _TRUE)
    return _Sql(f"f.frame_id IN (SELECT a0.frame_id FROM object_attrs a0 WHERE {inner.text})", inner.params)


def _frame_node(body: dict[str, Any], videos: list[int] | None) -> _Sql:
    parts = []
    for attr, cond in body.items():
        match = _joined([_attr_match("fa", "frame", None, attr, cond), *_within("fa", videos)], "AND", _TRUE)
        parts.append(_Sql(f"f.frame_id IN (SELECT fa.frame_id FROM frame_attrs fa WHERE {match.text})",
                          match.params))
    return _joined(parts, "AND", _TRUE)


def _video_node(body: dict[str, Any], videos: list[int] | None) -> _Sql:
    parts = []
    for attr, cond in body.items():
        match = _joined([_attr_match("va", "video", None, attr, cond), *_within("va", videos)], "AND", _TRUE)
        parts.append(_Sql(f"f.video_id IN (SELECT va.video_id FROM video_attrs va WHERE {match.text})",
                          match.params))
    return _joined(parts, "AND", _TRUE)


def _event_node(spec: dict[str, Any], videos: list[int] | None) -> _Sql:
    where = [_Sql("e.label = ?", [spec["label"]])] if spec.get("label") is not None else []
    where += _within("e", videos)
    for attr, cond in spec.get("attrs", {}).items():
        match = _attr_match("ea", "event", None, attr, cond)
        where.append(_Sql(f"e.event_id IN (SELECT ea.event_id FROM event_attrs ea WHERE {match.text})",
                          match.params))
    inner = _joined(where, "AND", _TRUE)
    return _Sql(
        "f.frame_id IN (SELECT fr.frame_id FROM events e JOIN frames fr ON fr.video_id = e.video_id "
        f"AND fr.idx BETWEEN e.start_idx AND e.end_idx WHERE {inner.text})",
        inner.params,
    )


def _geo_node(spec: dict[str, Any], videos: list[int] | None = None) -> _Sql:
    if "bbox" in spec:
        west, south, east, north = (float(value) for value in spec["bbox"])
        lon = "(f.lon >= ? AND f.lon <= ?)" if west <= east else "(f.lon >= ? OR f.lon <= ?)"
        return _Sql(f"(f.lat IS NOT NULL AND f.lat >= ? AND f.lat <= ? AND {lon})", [south, north, west, east])
    polygon = [(float(vertex[0]), float(vertex[1])) for vertex in spec["polygon"]]
    previous = polygon[-1:] + polygon[:-1]
    within = _joined(_within("p", videos), "AND", _TRUE)
    # PNPOLY as a join: edge (i, j = i - 1) crosses the point's latitude iff min(yi, yj) <= lat < max(yi, yj);
    # the crossing test is the reference's float expression, term for term.
    return _Sql(
        "f.frame_id IN (SELECT p.frame_id FROM frames p JOIN ("
        "SELECT unnest(?::DOUBLE[]) AS xi, unnest(?::DOUBLE[]) AS yi, "
        "unnest(?::DOUBLE[]) AS xj, unnest(?::DOUBLE[]) AS yj) e "
        "ON p.lat >= least(e.yi, e.yj) AND p.lat < greatest(e.yi, e.yj) "
        f"WHERE p.lon < (e.xj - e.xi) * (p.lat - e.yi) / (e.yj - e.yi) + e.xi AND {within.text} "
        "GROUP BY p.frame_id HAVING count(*) % 2 = 1)",
        [[x for x, _ in polygon], [y for _, y in polygon], [x for x, _ in previous], [y for _, y in previous],
         *within.params],
    )


def compile_node(node: dict[str, Any], videos: list[int] | None = None) -> _Sql:
    """A normalized query node as a boolean SQL expression over ``frames f`` (never NULL).

    ``videos``: the frames are those of these videos only, and the subqueries read only their
    rows (the expression is the same on them)."""
    (kind, body), = node.items()
    if kind in ("and", "or"):
        return _joined([compile_node(child, videos) for child in body], kind.upper(),
                       _TRUE if kind == "and" else _FALSE)
    if kind == "not":
        inner = compile_node(body, videos)
        return _Sql(f"(NOT {inner.text})", inner.params)
    if kind == "object":
        return _object_node(body, videos)
    if kind == "frame":
        return _frame_node(body, videos)
    if kind == "video":
        return _video_node(body, videos)
    if kind == "event":
        return _event_node(body, videos)
    if kind == "geo":
        return _geo_node(body, videos)
    if kind == "time":
        return _number_cond(body, "f.t")
    raise ValueError(f"unknown query node {kind!r}")


# Facet families ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Family:
    """Facets counted by one grouped query over a frame set ``m``.

    ``per_object`` families have one row per detection (alias ``x``, joined to
    ``m`` on ``frame_id``); the others one row per frame and value (``distinct``
    when a frame can repeat, as with overlapping events). Families grouped by
    ``key_id`` read their values from ``attr_keys``; the others by label.
    """

    source: str
    group: str
    per_object: bool
    distinct: bool = False


# Events as spans of packed frame ids: a frame lies in an event when its frame_id (video_id << 32 | idx)
# lies in [lo, hi], one inequality join instead of a join on video_id filtered by index (indices are
# clamped to 0 .. 2**32 - 1 so that a span never reaches into the next video).
_EVENT_SPANS = (f"(SELECT event_id, label, (video_id << 32) + greatest(start_idx, 0) AS lo, "
                f"(video_id << 32) + least(end_idx, {MAX_FRAME_INDEX}) AS hi FROM events) e")
_FAMILIES = {
    "label": _Family("objects x", "x.label", True),
    "object": _Family("object_attrs x", "x.key_id", True),
    "frame": _Family("frame_attrs a JOIN {m} m ON a.frame_id = m.frame_id", "a.key_id", False),
    "video": _Family("video_attrs a JOIN {m} m ON a.video_id = m.video_id", "a.key_id", False),
    "event": _Family(f"{_EVENT_SPANS} JOIN {{m}} m ON m.frame_id BETWEEN e.lo AND e.hi", "e.label", False,
                     distinct=True),
    "event_attr": _Family(
        f"{_EVENT_SPANS} JOIN event_attrs a ON a.event_id = e.event_id "
        "JOIN {m} m ON m.frame_id BETWEEN e.lo AND e.hi",
        "a.key_id", False, distinct=True),
}
_KEYED_SCOPES = {"object": "object", "frame": "frame", "video": "video", "event_attr": "event"}
_OBJECT_UNITS = {
    "objects": "count(*)",
    "tracks": "count(DISTINCT x.track_key)",
    "frames": "count(DISTINCT x.frame_id)",
    "clips": "count(DISTINCT m.clip_id)",
    "videos": "count(DISTINCT x.video_id)",
}
_FRAME_UNITS = {
    "objects": "coalesce(sum(p.n_objects), 0)",
    "tracks": "count(DISTINCT o.track_key)",
    "frames": "count(*)",
    "clips": "count(DISTINCT p.clip_id)",
    "videos": "count(DISTINCT p.video_id)",
}


def _family_name(facet: Facet) -> str:
    if facet.kind == "event":
        return "event" if facet.attr is None else "event_attr"
    return facet.kind


def _facet_key_of(scope: str, label: str, name: str) -> str:
    """The facet an ``attr_keys`` row belongs to."""
    if scope == "object":
        return f"object:{label}.{name}"
    if scope == "event":
        return f"event:{label}.{name}"
    return f"{scope}:{name}"


def _family_sql(family: _Family, table: str, unit: str, restriction: _Sql, *, whole: bool) -> str:
    """The grouped count of one family; ``whole`` when ``table`` holds every frame (no join needed).

    Unit ``seconds`` answers (value, video id, frames) rows, for :func:`seconds_of`."""
    if family.per_object:
        unjoined = whole and unit != "clips"
        source = family.source if unjoined else f"{family.source} JOIN {table} m ON x.frame_id = m.frame_id"
        if unit == "seconds":
            return (f"SELECT {family.group}, x.video_id, count(DISTINCT x.frame_id) FROM {source} "
                    f"WHERE {family.group} IS NOT NULL AND {restriction.text} GROUP BY {family.group}, x.video_id")
        return (f"SELECT {family.group}, {_OBJECT_UNITS[unit]} FROM {source} "
                f"WHERE {family.group} IS NOT NULL AND {restriction.text} GROUP BY {family.group}")
    distinct = "DISTINCT " if family.distinct else ""
    objects = "JOIN objects o ON o.frame_id = p.frame_id " if unit == "tracks" else ""
    grouped = "p.value, p.video_id, count(*) FROM p GROUP BY p.value, p.video_id" if unit == "seconds" else (
        f"p.value, {_FRAME_UNITS[unit]} FROM p {objects}GROUP BY p.value")
    clip_id = "m.clip_id, " if unit == "clips" else ""
    return (
        f"WITH p AS (SELECT {distinct}{family.group} AS value, m.frame_id, m.video_id, {clip_id}m.n_objects "
        f"FROM {family.source.format(m=table)} WHERE {family.group} IS NOT NULL AND {restriction.text}) "
        f"SELECT {grouped}"
    )


# Search ------------------------------------------------------------------------------------------


@dataclass
class _FrameSet:
    table: str
    whole: bool  # every indexed frame matches: per-object facets can skip the join
    clip_ids: bool  # clip_id is computed (else NULL)


class _Search:
    """One search on one read-only connection; frame sets live in temp tables until it ends."""

    def __init__(self, con: duckdb.DuckDBPyConnection, request: SearchRequest, *, clip_ids: bool = True,
                 videos: list[int] | None = None):
        self.con = con
        self.request = request
        self.videos = videos  # only these videos' frames (None: all)
        self.clip_ids = clip_ids  # False: the main frame set leaves clip_id NULL (statistics that need no clips)
        self.frame_sets: dict[str | None, _FrameSet] = {}
        self.parts: dict[str | None, str] = {}

    def run(self) -> SearchResult:
        try:
            counts, clips = self.summary(*page_bounds(self.request))
            facets = self.facet_counts()
        finally:
            self.drop()
        return SearchResult(counts=counts, facets=facets, clips=clips, total_clips=int(counts["clips"]))

    def summary(self, offset: int, limit: int) -> tuple[dict[str, float], list[Clip]]:
        """The counts, and ``limit`` clips from the ``offset``-th.

        Clips are numbered here (:class:`_ClipSpans`) from one fetch of the matching frames,
        which costs a fraction of numbering them in SQL with window functions; the frame set
        gets clip ids in SQL only where a facet counts clips."""
        main = self._frame_set(None, clip_ids=False)
        spans = _ClipSpans.of(self.con, main.table, clip_break_s(self.request.gap_s))
        tracks = "objects" if main.whole else f"objects WHERE frame_id IN (SELECT frame_id FROM {main.table})"
        (distinct_tracks,) = self.con.execute(f"SELECT count(DISTINCT track_key) FROM {tracks}").fetchone()
        return spans.counts(distinct_tracks), spans.page(offset, limit)

    def facet_counts(self) -> dict[str, dict[Any, float]]:
        facets = requested_facets(self.request)
        return self._facets(facets, {facet.key: facet_unit(self.request, facet) for facet in facets})

    def drop(self) -> None:
        """Drop this search's temp tables."""
        tables = [frame_set.table for frame_set in self.frame_sets.values() if frame_set.table != "frames"]
        for table in tables + list(self.parts.values()):
            self.con.execute(f"DROP TABLE IF EXISTS temp.{table}")

    def _frame_set(self, set_key: str | None, *, clip_ids: bool | None = None) -> _FrameSet:
        """Temp table of the frames matching the query AND the filters except ``set_key``'s.

        ``clip_ids`` (default: this search's setting, for the main set) numbers their clips; else
        clip_id is NULL. Numbering sorts every matching frame, so facet sets skip it unless a
        facet counts clips. A set of every frame without clip ids is the ``frames`` table itself
        (no clip_id column: nothing reads it there)."""
        clip_ids = self.clip_ids if clip_ids is None else clip_ids
        known = self.frame_sets.get(set_key)
        if known is not None and (known.clip_ids or not clip_ids):
            return known
        where = self._frame_set_condition(set_key)
        if where.text == _TRUE.text and not clip_ids:
            # Every frame, nothing to number: the frames table itself (it has the columns read).
            self.frame_sets[set_key] = _FrameSet("frames", True, False)
            return self.frame_sets[set_key]
        table = known.table if known is not None and known.table != "frames" else f"scoop_frames_{len(self.frame_sets)}"
        if not clip_ids:
            self.con.execute(f"""CREATE OR REPLACE TEMP TABLE {table} AS
                SELECT f.frame_id, f.video_id, f.idx, f.t, f.n_objects, CAST(NULL AS BIGINT) AS clip_id
                FROM frames f WHERE {where.text}""", where.params)
        else:
            self.con.execute(
                f"""CREATE OR REPLACE TEMP TABLE {table} AS
                WITH hit AS (
                    SELECT f.frame_id, f.video_id, f.idx, f.t, f.n_objects FROM frames f WHERE {where.text}),
                marked AS (
                    SELECT *, CASE WHEN t - lag(t) OVER (PARTITION BY video_id ORDER BY t, idx) <= ? THEN 0 ELSE 1
                        END AS new_clip
                    FROM hit)
                SELECT frame_id, video_id, idx, t, n_objects,
                       (video_id << 32) | CAST(sum(new_clip) OVER (
                           PARTITION BY video_id ORDER BY t, idx ROWS UNBOUNDED PRECEDING) AS BIGINT) AS clip_id
                FROM marked""",
                [*where.params, clip_break_s(self.request.gap_s)],
            )
        matching, total = self.con.execute(f"SELECT (SELECT count(*) FROM {table}), (SELECT count(*) FROM frames)"
                                           ).fetchone()
        self.frame_sets[set_key] = _FrameSet(table, matching == total, clip_ids)
        return self.frame_sets[set_key]

    def _facet_frames(self, set_key: str) -> _FrameSet:
        """The frame set of a filtered facet, which only that facet's count reads: a subquery
        in that count instead of a temp table (no clip ids; its parts are temp tables)."""
        where = self._frame_set_condition(set_key)
        if where.params:
            return self._frame_set(set_key, clip_ids=False)
        if where.text == _TRUE.text:
            return _FrameSet("frames", True, False)
        return _FrameSet(f"(SELECT f.frame_id, f.video_id, f.idx, f.t, f.n_objects FROM frames f WHERE {where.text})",
                         False, False)

    def _frame_set_condition(self, set_key: str | None) -> _Sql:
        query = self._restricted(compile_node(self.request.query, self.videos))
        if not self.request.filters:
            return query
        # Disjunctive facets need the query AND all filters but one, for each filtered facet: evaluate
        # the query and each facet's selection once, then intersect the parts a frame set needs.
        everything = query.text == _TRUE.text
        parts = [*([] if everything else [None]), *(key for key in self.request.filters if key != set_key)]
        return _joined([_Sql(f"f.frame_id IN (SELECT frame_id FROM {self._part(key)})") for key in parts],
                       "AND", _TRUE)

    def _restricted(self, condition: _Sql) -> _Sql:
        """``condition`` on this search's videos only."""
        if self.videos is None:
            return condition
        only = _in("f.video_id", self.videos)
        return only if condition.text == _TRUE.text else _joined([only, condition], "AND", _TRUE)

    def _part(self, key: str | None) -> str:
        """Temp table of the frame ids matching the query (None) or one facet's selection."""
        if key not in self.parts:
            table = f"scoop_part_{len(self.parts)}"
            node = self.request.query if key is None else filters_to_node(
                {key: self.request.filters[key]}, self.request.ontology)
            where = self._restricted(compile_node(node, self.videos))
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT f.frame_id FROM frames f "
                             f"WHERE {where.text}", where.params)
            self.parts[key] = table
        return self.parts[key]

    def _facets(self, facets: list[Facet], units: dict[str, str], *,
                disjunctive: bool = True) -> dict[str, dict[Any, float]]:
        """Facet counts; ``disjunctive`` False counts every facet over the main frame set."""
        counts = {facet.key: dict.fromkeys(facet.values, 0.0 if units[facet.key] == "seconds" else 0)
                  for facet in facets}
        groups: dict[tuple[str | None, str, str], list[Facet]] = {}
        for facet in facets:
            set_key = facet_set_key(self.request, facet) if disjunctive else None
            groups.setdefault((set_key, _family_name(facet), units[facet.key]), []).append(facet)
        keys = _AttrKeys(self.con) if any(family in _KEYED_SCOPES for _, family, _ in groups) else None
        counts_clips: dict[str | None, bool] = {}
        for set_key, _, unit in groups:
            counts_clips[set_key] = counts_clips.get(set_key, False) or unit == "clips"
        for (set_key, family, unit), members in groups.items():
            if set_key is None or counts_clips[set_key]:
                frame_set = self._frame_set(set_key, clip_ids=counts_clips[set_key])
            else:
                frame_set = self._facet_frames(set_key)
            if family in _KEYED_SCOPES:
                targets, restriction = keys.targets(_KEYED_SCOPES[family], members, _FAMILIES[family].group)
            else:
                targets = {value: (facet.key, value) for facet in members for value in facet.values}
                restriction = _TRUE
            if not targets:
                continue
            sql = _family_sql(_FAMILIES[family], frame_set.table, unit, restriction, whole=frame_set.whole)
            rows = self.con.execute(sql, restriction.params).fetchall()
            if unit == "seconds":
                self._seconds(rows, targets, counts)
                continue
            for group_value, count in rows:
                if group_value in targets:
                    facet_key, value = targets[group_value]
                    counts[facet_key][value] = int(count)
        return counts

    def _seconds(self, rows: list[tuple], targets: dict[Any, tuple[str, Any]],
                 counts: dict[str, dict[Any, float]]) -> None:
        """Rows (group value, video id, frames) summed as :func:`seconds_of` per facet value."""
        fps = dict(self.con.execute("SELECT video_id, fps FROM videos").fetchall())
        per_value: dict[tuple[str, Any], dict[int, int]] = {}
        for group_value, video_id, frames in rows:
            if group_value in targets:
                per_value.setdefault(targets[group_value], {})[video_id] = int(frames)
        for (facet_key, value), per_video in per_value.items():
            counts[facet_key][value] = seconds_of(per_video, fps)


class _ClipSpans:
    """The clips of a frame set (SPEC 3), numbered in numpy from one fetch of its frames.

    Frames sort by video, time and index (they are nearly always stored in that order,
    which one comparison pass confirms); a clip starts at a video's first frame and
    wherever the time since the previous matching frame is not ``<= gap``, the same
    float comparison as :func:`indexer.backends.reference.clip_break_s` is written for."""

    def __init__(self, video: np.ndarray, t: np.ndarray, idx: np.ndarray, n_objects: np.ndarray,
                 fps: dict[int, float], gap: float):
        if len(video) > 1 and not _sorted_by(video, t, idx):
            order = np.lexsort((idx, t, video))
            video, t, idx, n_objects = video[order], t[order], idx[order], n_objects[order]
        self.video, self.t, self.idx, self.n_objects = video, t, idx, n_objects
        new_clip = np.ones(len(video), dtype=bool)
        new_clip[1:] = (video[1:] != video[:-1]) | ~(t[1:] - t[:-1] <= gap)
        self.starts = np.flatnonzero(new_clip)
        self.ends = np.append(self.starts[1:], len(video))[:len(self.starts)] - 1
        # One frame's duration per clip, from its video's frame rate.
        self.frame_s = np.array([1.0 / fps[int(v)] for v in video[self.starts]], dtype=float)

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection, table: str, gap: float) -> _ClipSpans:
        columns = con.execute(f"SELECT video_id, t, idx, n_objects FROM {table}").fetchnumpy()
        fps = dict(con.execute("SELECT video_id, fps FROM videos").fetchall())
        return cls(*(np.asarray(columns[name]) for name in ("video_id", "t", "idx", "n_objects")), fps, gap)

    def counts(self, tracks: int) -> dict[str, float]:
        video = self.video
        videos = int(np.count_nonzero(video[1:] != video[:-1])) + 1 if len(video) else 0
        durations = (self.t[self.ends] + self.frame_s) - self.t[self.starts]
        return {"videos": videos, "clips": len(self.starts), "frames": len(video),
                "objects": int(self.n_objects.sum()), "tracks": int(tracks), "duration_s": float(durations.sum())}

    def page(self, offset: int, limit: int) -> list[Clip]:
        starts, ends = self.starts[offset:offset + limit], self.ends[offset:offset + limit]
        return [
            Clip(video_id=int(self.video[first]), start_s=float(self.t[first]),
                 end_s=float(self.t[last] + frame_s), start_frame=int(self.idx[first]),
                 end_frame=int(self.idx[last]), frames=int(last - first + 1))
            for first, last, frame_s in zip(starts, ends, self.frame_s[offset:offset + limit], strict=True)
        ]


def _summary_sum(kept: tuple[dict[str, float], list[Clip]],
                 more: tuple[dict[str, float], list[Clip]]) -> tuple[dict[str, float], list[Clip]]:
    """Counts and first clips of two disjoint sets of videos together (clips never span videos,
    and tracks, clips and videos are told apart by video, so every count adds up)."""
    (counts, clips), (more_counts, more_clips) = kept, more
    merged = heapq.merge(clips, more_clips, key=lambda clip: (clip.video_id, clip.start_s, clip.start_frame))
    return {name: counts[name] + more_counts[name] for name in counts}, list(merged)[:KEPT_CLIPS]


def _facets_sum(kept: dict[str, dict[Any, float]], more: dict[str, dict[Any, float]]) -> dict[str, dict[Any, float]]:
    """Facet counts of two disjoint sets of videos together."""
    return {key: {value: count + more[key][value] for value, count in values.items()} for key, values in kept.items()}


def _sorted_by(video: np.ndarray, t: np.ndarray, idx: np.ndarray) -> bool:
    """Whether rows are in (video, t, idx) order."""
    same_video = video[1:] == video[:-1]
    same_t = same_video & (t[1:] == t[:-1])
    return bool(np.all((video[1:] > video[:-1]) | (same_video & (t[1:] > t[:-1])) | (same_t & (idx[1:] > idx[:-1]))))


class _AttrKeys:
    """The ``attr_keys`` dictionary: which key ids stand for which facet values."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.rows = con.execute("SELECT key_id, scope, label, name, s, b FROM attr_keys").fetchall()

    def targets(self, scope: str, facets: list[Facet], column: str) -> tuple[dict[int, tuple[str, Any]], _Sql]:
        """{key_id: (facet key, facet value)} for ``facets``, and a restriction of ``column`` to
        those keys (none when they are all the keys of the scope)."""
        wanted = {facet.key: {typed_key(value): value for value in facet.values} for facet in facets}
        in_scope = [row for row in self.rows if row[1] == scope]
        targets = {}
        for key_id, _, label, name, s, b in in_scope:
            facet_key = _facet_key_of(scope, label, name)
            value = s if s is not None else b
            if typed_key(value) in wanted.get(facet_key, {}):
                targets[key_id] = (facet_key, wanted[facet_key][typed_key(value)])
        if len(targets) == len(in_scope):
            return targets, _TRUE
        return targets, _in(column, sorted(targets))


# Statistics --------------------------------------------------------------------------------------

# Effective attributes of some detections as one list per object; ``{where}`` restricts ``a``.
_ATTRS_CTE = """attrs AS (
    SELECT a.object_id, list(struct_pack(name := a.name, s := k.s, b := k.b, n := a.n)) AS attrs
    FROM object_attrs a LEFT JOIN attr_keys k ON k.key_id = a.key_id
    WHERE {where} GROUP BY a.object_id)"""
_SCOPE_UNITS = {"object": "x.object_id", "frame": "x.frame_id", "clip": "m.clip_id"}


def _attr_dict(rows: list[dict[str, Any]] | None) -> dict[str, Any]:
    """``attrs`` list rows as ``{name: value}`` (text, boolean or number)."""
    values = {}
    for row in rows or ():
        values[row["name"]] = row["s"] if row["s"] is not None else row["b"] if row["b"] is not None else row["n"]
    return values


def _box(x1: float | None, y1: float | None, x2: float | None, y2: float | None) -> list[float] | None:
    return None if x1 is None else [x1, y1, x2, y2]


def _located(bbox: list[float] | None) -> _Sql:
    """Frames ``f`` with a location, inside ``bbox`` when one is given (as a ``geo`` node)."""
    return _geo_node({"bbox": bbox}) if bbox is not None else _Sql("f.lat IS NOT NULL")


def _object_match(spec: dict[str, Any]) -> _Sql:
    """An ``object`` node's constraints on one detection ``o`` (not on its frame)."""
    label = spec.get("label")
    parts = [_Sql("o.label = ?", [label])] if label is not None else []
    if spec.get("track") is not None:
        parts.append(_Sql("o.track = ?", [spec["track"]]))
    if spec.get("confidence") is not None:
        parts.append(_number_cond(spec["confidence"], "o.confidence"))
    for attr, cond in spec.get("attrs", {}).items():
        match = _attr_match("a", "object", label, attr, cond)
        parts.append(_Sql(f"o.object_id IN (SELECT a.object_id FROM object_attrs a WHERE {match.text})",
                          match.params))
    return _joined(parts, "AND", _TRUE)


class _Stats(_Search):
    """Statistics of one request on one connection, over its main frame set (query AND all filters)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, request: SearchRequest, *, clip_ids: bool):
        super().__init__(con, request, clip_ids=clip_ids)
        self.units_table: str | None = None

    def drop(self) -> None:
        super().drop()
        if self.units_table:
            self.con.execute(f"DROP TABLE IF EXISTS temp.{self.units_table}")

    def main(self) -> _FrameSet:
        return self._frame_set(None)

    def occurrence(self, unit: str) -> dict[str, dict[Any, float]]:
        facets = requested_facets(self.request)
        return self._facets(facets, {facet.key: unit for facet in facets}, disjunctive=False)

    def _features(self, facets: list[Facet], scope: str, ids: dict[Feature, int]) -> _Sql:
        """``SELECT unit, g, f``: the units of ``scope`` having each value of ``facets``, as its
        feature id ``f`` (from ``ids``) and its facet's position ``g`` in ``facets``."""
        main = self.main()
        position = {facet.key: i for i, facet in enumerate(facets)}
        families: dict[str, list[Facet]] = {}
        for facet in facets:
            families.setdefault(_family_name(facet), []).append(facet)
        keys = _AttrKeys(self.con) if any(name in _KEYED_SCOPES for name in families) else None
        parts = []
        for name, members in families.items():
            family = _FAMILIES[name]
            if name in _KEYED_SCOPES:
                targets, _ = keys.targets(_KEYED_SCOPES[name], members, family.group)
                key_type = "INTEGER"
            else:
                targets = {value: (facet.key, value) for facet in members for value in facet.values}
                key_type = "VARCHAR"
            if not targets:
                continue
            mapping = (f"(SELECT unnest(?::{key_type}[]) AS k, unnest(?::INTEGER[]) AS g, "
                       "unnest(?::INTEGER[]) AS f) map")
            if family.per_object:
                joined = not main.whole or scope == "clip"
                source = f"{family.source} JOIN {main.table} m ON x.frame_id = m.frame_id" if joined else family.source
                unit = _SCOPE_UNITS[scope]
            else:
                source = family.source.format(m=main.table)
                unit = "m.frame_id" if scope == "frame" else "m.clip_id"
            distinct = "" if scope == "object" else "DISTINCT "
            values = list(targets)
            parts.append(_Sql(
                f"SELECT {distinct}{unit} AS unit, map.g, map.f FROM {source} JOIN {mapping} ON map.k = {family.group}",
                [values, [position[targets[v][0]] for v in values], [ids[targets[v]] for v in values]],
            ))
        if not parts:
            return _Sql("SELECT CAST(NULL AS BIGINT) AS unit, CAST(NULL AS INTEGER) AS g, "
                        "CAST(NULL AS INTEGER) AS f WHERE FALSE")
        return _Sql(" UNION ALL ".join(part.text for part in parts), [p for part in parts for p in part.params])

    def total(self, scope: str) -> int:
        table = self.main().table
        sql = {"object": f"SELECT coalesce(sum(n_objects), 0) FROM {table}",
               "frame": f"SELECT count(*) FROM {table}",
               "clip": f"SELECT count(DISTINCT clip_id) FROM {table}"}[scope]
        return int(self.con.execute(sql).fetchone()[0])

    def cooccurrence(self, a: Facet, b: Facet, scope: str) -> Cooccurrence:
        rows, cols = list(a.values), list(b.values)
        units_a = self._features([a], scope, {(a.key, value): i for i, value in enumerate(rows)})
        units_b = self._features([b], scope, {(b.key, value): j for j, value in enumerate(cols)})
        matrix = [[0] * len(cols) for _ in rows]
        row_totals, col_totals = [0] * len(rows), [0] * len(cols)
        result = self.con.execute(
            f"""WITH ua AS ({units_a.text}), ub AS ({units_b.text})
            SELECT 0, a.f, b.f, count(*) FROM ua a JOIN ub b ON a.unit = b.unit GROUP BY a.f, b.f
            UNION ALL SELECT 1, f, NULL, count(*) FROM ua GROUP BY f
            UNION ALL SELECT 2, NULL, f, count(*) FROM ub GROUP BY f""",
            units_a.params + units_b.params,
        ).fetchall()
        for kind, i, j, count in result:
            if kind == 0:
                matrix[i][j] = int(count)
            elif kind == 1:
                row_totals[i] = int(count)
            else:
                col_totals[j] = int(count)
        return Cooccurrence(rows=rows, cols=cols, matrix=matrix, row_totals=row_totals, col_totals=col_totals,
                            total=self.total(scope))

    def pairs(self, facets: list[Facet], scope: str) -> CooccurrencePairs:
        features = [(facet.key, value) for facet in facets for value in facet.values]
        units = self._features(facets, scope, {feature: i for i, feature in enumerate(features)})
        self.units_table = "scoop_units"
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {self.units_table} AS {units.text}", units.params)
        marginals = dict.fromkeys(features, 0)
        for f, count in self.con.execute(f"SELECT f, count(*) FROM {self.units_table} GROUP BY f").fetchall():
            marginals[features[f]] = int(count)
        pairs = {
            (features[fa], features[fb]): int(count)
            for fa, fb, count in self.con.execute(
                f"SELECT a.f, b.f, count(*) FROM {self.units_table} a JOIN {self.units_table} b "
                "ON a.unit = b.unit AND a.g < b.g GROUP BY a.f, b.f").fetchall()
        }
        return CooccurrencePairs(total=self.total(scope), marginals=marginals, pairs=pairs)

    def located_source(self) -> str:
        """The matching frames with their locations, as ``frames f``."""
        main = self.main()
        return "frames f" if main.whole else f"frames f JOIN {main.table} m ON m.frame_id = f.frame_id"

    def geo_cells(self, z: int, bbox: list[float] | None, target: str) -> dict[tuple[int, int], int]:
        source = self.located_source()
        where = _located(bbox)
        n = float(2**z)
        weight = "1" if target == "frames" else "f.n_objects"
        # tile_of(), term for term (bound parameters keep every constant the same double).
        rows = self.con.execute(
            f"""SELECT x, y, sum(w) FROM (
                SELECT CAST(least(greatest(floor((lon + 180.0) / 360.0 * ?), 0), ?) AS BIGINT) AS x,
                       CAST(least(greatest(floor((1.0 - ln(tan(r) + 1.0 / cos(r)) / pi()) / 2.0 * ?), 0), ?)
                            AS BIGINT) AS y,
                       w
                FROM (SELECT f.lon, least(greatest(f.lat, ?), ?) * pi() / 180.0 AS r, {weight} AS w
                      FROM {source} WHERE {where.text}))
            GROUP BY x, y HAVING sum(w) > 0""",
            [n, n - 1, n, n - 1, -MAX_MERCATOR_LAT, MAX_MERCATOR_LAT, *where.params],
        ).fetchall()
        return {(int(x), int(y)): int(count) for x, y, count in rows}

    def timeline(self, max_bins: int) -> Timeline:
        table = self.main().table
        source = f"{table} m JOIN videos v USING (video_id)"
        low_t, high_t, low_w, high_w, unplaced = self.con.execute(
            f"SELECT min(m.t), max(m.t), min(v.recorded_at + m.t), max(v.recorded_at + m.t), "
            f"count(*) FILTER (WHERE v.recorded_at IS NULL) FROM {source}").fetchone()
        return Timeline(
            video_time=self._histogram(source, "m.t", "TRUE", low_t, high_t, max_bins, VIDEO_TIME_WIDTHS),
            wall_clock=self._histogram(source, "v.recorded_at + m.t", "v.recorded_at IS NOT NULL", low_w, high_w,
                                       max_bins, WALL_CLOCK_WIDTHS),
            unplaced=int(unplaced),
        )

    def _histogram(self, source: str, value: str, where: str, low: float | None, high: float | None,
                   max_bins: int, widths: tuple[float, ...]) -> Histogram:
        if low is None:
            return Histogram(start=None, width=None, counts=[])
        start, width, bins = time_bins(low, high, max_bins, widths)
        counts = [0] * bins
        # bin_of(), term for term.
        for index, count in self.con.execute(
            f"SELECT CAST(least(greatest(floor(({value} - ?) / ?), 0), ?) AS BIGINT) AS bin, count(*) "
            f"FROM {source} WHERE {where} GROUP BY bin",
            [start, width, bins - 1],
        ).fetchall():
            counts[index] = int(count)
        return Histogram(start=start, width=width, counts=counts)


_DETECTIONS = """WITH {attrs}
SELECT o.video_id, v.name, f.idx, f.t, o.label, o.track, o.confidence, o.x1, o.y1, o.x2, o.y2, f.lat, f.lon,
       oa.attrs
FROM objects o JOIN {m} m ON m.frame_id = o.frame_id JOIN frames f ON f.frame_id = o.frame_id
JOIN videos v ON v.video_id = o.video_id
LEFT JOIN attrs oa ON oa.object_id = o.object_id
WHERE o.video_id = $video_id
ORDER BY o.frame_id, o.object_id"""


def _detection(row: tuple) -> Detection:
    video_id, name, index, t, label, track, confidence, x1, y1, x2, y2, lat, lon, attrs = row
    box = _box(x1, y1, x2, y2)
    return Detection(video_id=video_id, video_name=name, index=index, t=t, label=label, track=track,
                     confidence=confidence, box=None if box is None else tuple(box), attrs=_attr_dict(attrs),
                     lat=lat, lon=lon)


# The backend -------------------------------------------------------------------------------------


class SearchBackend(BaseSearchBackend):
    """DuckDB engine over ``data_dir/index``; safe for many reader processes and one writer at a time."""

    def __init__(self, data_dir: str | Path, memory_limit: str = "2GB", threads: int | None = None,
                 result_cache: int = 256, searches: int | None = None):
        self.root = Path(data_dir) / "index"
        self.memory_limit = memory_limit
        self.threads = threads
        self._generations = _Generations(self.root)
        self._local = threading.local()
        self._open_lock = threading.Lock()
        self._shared: tuple[int, str, duckdb.DuckDBPyConnection, tuple] | None = None
        # Search answers of the live generation (result_cache entries; 0: none kept).
        self._results = ResultCache(result_cache)
        # Searches computed at once in this process; the others queue (first come, first
        # served) instead of all sharing the cores and all finishing late.
        self._searching = threading.BoundedSemaphore(searches or os.cpu_count() or 1)
        self._vectors = vectors.VectorSearch(self.root)

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"memory_limit": self.memory_limit}
        if self.threads is not None:
            config["threads"] = self.threads
        return config

    # Writing

    @contextmanager
    def _new_generation(self, *, copy_current: bool, videos: Collection[int] | None,
                        staging: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to the next generation; published only if the block succeeds.

        With ``staging`` (an in-memory connection holding staged temp tables), the next
        generation is attached to it and made its default database, so the block's
        statements read the staged tables and write the index. ``videos``: those the block
        writes (None: any, as a rebuild does), for the generation log.

        A full or read-only disk raises :class:`~indexer.payloads.StorageError`; the
        unpublished file is removed and the live generation stays as it was.
        """
        with storage_guard(self.root, errors=(OSError, duckdb.Error)), self._generations.locked():
            previous = self._generations.current()
            name = self._generations.next_name()
            path = self.root / name
            try:
                if copy_current and previous:
                    shutil.copyfile(self.root / previous, path)
                con = duckdb.connect(str(path), config=self._config()) if staging is None else _attached(staging, path)
                try:
                    con.execute(SCHEMA)
                    _log_generation(con, _generation_number(name), videos)
                    # No transaction: nobody can see this file until it is published, and
                    # DuckDB keeps every DataFrame staged inside a transaction alive until it
                    # ends, which made memory grow with the payload.
                    yield con
                    con.execute("CHECKPOINT" if staging is None else f"CHECKPOINT {_ATTACHED}")
                finally:
                    if staging is None:
                        con.close()
                    else:
                        staging.execute(f"USE memory; DETACH {_ATTACHED}")
                self._generations.publish(name)
            except BaseException:
                if self._generations.current() != name:
                    self._generations.remove_unpublished(name)
                raise
            self._generations.prune(previous=previous)
            vectors.vector_files_prune(self.root, [previous, name], self._config())

    def index_video(self, *, video_id: int, name: str, analytics: Analytics) -> IndexCounts:
        """Replace the video's rows in a new generation and publish it.

        The records are read, checked and staged in memory first, outside the write lock, so
        that several workers parse their videos at once and take turns only to insert them."""
        check_video_id(video_id)
        builder = vectors.TrackVectorBuilder()
        with storage_guard(self.root, errors=(OSError, duckdb.Error)):
            self.root.mkdir(parents=True, exist_ok=True)
            # What does not fit in memory spills next to the index, not into the working directory.
            spill = str(self.root / "staging.tmp")
            staging = duckdb.connect(":memory:", config={**self._config(), "temp_directory": spill})
        try:
            with storage_guard(self.root, errors=(OSError, duckdb.Error)):
                _stage_video(staging, name, builder.tap(analytics))
            with self._new_generation(copy_current=True, videos=[video_id], staging=staging) as con:
                _delete_rows(con, video_id)
                counts = _insert_staged(con, video_id, name, analytics.meta)
                vectors.vectors_store(con, self.root, video_id, builder.tracks())
                return counts
        finally:
            staging.close()

    def append_frames(self, *, video_id: int, name: str, analytics: Analytics) -> AppendResult:
        """Add the chunk's new frames in a new generation and publish it."""
        with self._new_generation(copy_current=True, videos=[video_id]) as con:
            return _append_video(con, video_id, name, analytics)

    def delete_video(self, *, video_id: int) -> None:
        """Publish a generation without the video (a no-op write when it is absent)."""
        with self._new_generation(copy_current=True, videos=[video_id]) as con:
            _delete_rows(con, video_id)
            vectors.vectors_delete(con, video_id)

    def rebuild(self, *, videos: list[tuple[int, str, Analytics]]) -> None:
        """Build a fresh generation from scratch (videos in id order) and publish it."""
        latest = {video_id: (name, analytics) for video_id, name, analytics in videos}  # a repeated id: last wins
        with self._new_generation(copy_current=False, videos=None) as con:
            for video_id in sorted(latest):
                _load_video_with_vectors(con, self.root, video_id, *latest[video_id])

    # Reading

    def _reader(self) -> duckdb.DuckDBPyConnection | None:
        """This thread's read-only cursor on the live generation (None before the first write)."""
        for _attempt in range(3):
            name = self._generations.current()
            if name is None:
                return None
            cached = getattr(self._local, "reader", None)
            if cached is not None and cached[0] == os.getpid():
                if cached[1] == name:
                    return cached[2]
                cached[2].close()
            self._local.reader = None
            try:
                database, snapshot = self._database(name)
            except (duckdb.IOException, FileNotFoundError):
                continue  # pruned between reading CURRENT and opening it: read CURRENT again
            con = database.cursor()
            self._local.reader = (os.getpid(), name, con, snapshot)
            return con
        raise RuntimeError(f"could not open the current index generation in {self.root}")

    def _database(self, name: str) -> tuple[duckdb.DuckDBPyConnection, _Snapshot]:
        """The process's connection to generation ``name``, whose cursors the threads use.

        One database instance per process keeps its catalog and buffer pool warm across
        requests: a web server that answers each request on a new thread would otherwise
        open the file afresh every time (about 50 ms at 1M detections). The previous
        generation's connection is dropped, not closed: threads still reading it keep
        their cursors, and it closes when the last one goes.

        Also the generation's :class:`_Snapshot`: kept answers are keyed by its lineage (or,
        in a generation without one, its file's identity), so a data dir wiped and written
        again can never serve old ones."""
        with self._open_lock:
            shared = self._shared
            if shared is None or shared[0] != os.getpid() or shared[1] != name:
                path = self.root / name
                con = duckdb.connect(str(path), read_only=True, config=self._config())
                stat = path.stat()
                identity = (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)
                snapshot = _Snapshot.read(con, identity, _generation_number(name) or 0)
                self._shared = shared = (os.getpid(), name, con, snapshot)
            return shared[2], shared[3]

    def close(self) -> None:
        """Close this thread's cursor and let go of the process's connection (tests; a process
        exit does it too)."""
        cached = getattr(self._local, "reader", None)
        if cached is not None and cached[0] == os.getpid():
            cached[2].close()
        self._local.reader = None
        with self._open_lock:
            self._shared = None

    def search(self, *, request: SearchRequest) -> SearchResult:
        """Counts, disjunctive facets and a page of clips from the live generation."""
        con = self._reader()
        if con is None:
            return empty_result(request)
        offset, limit = page_bounds(request)
        if self._results.max_entries <= 0 or offset + limit > KEPT_CLIPS:
            with self._searching:
                return _Search(con, request).run()
        # Kept in two parts, so that paging (same query and filters, any facets) reuses the counts
        # and clips, and a change of facets or unit reuses them too. One search computes both, so
        # a miss of both builds each frame set once. An answer kept from an earlier generation of
        # the same lineage gets the share of the videos indexed since added, when nothing else
        # changed (analysts keep their answers while a worker ingests new videos).
        snapshot: _Snapshot = self._local.reader[3]
        asked = (snapshot.lineage or snapshot.identity, request.ontology, request.query, request.filters,
                 request.gap_s)
        searches: dict[tuple[int, ...] | None, _Search] = {}

        def on(videos: list[int] | None) -> _Search:
            key = None if videos is None else tuple(videos)
            if key not in searches:
                searches[key] = _Search(con, request, videos=videos)
            return searches[key]

        def kept(kind: str, asked_too: tuple, compute: Callable[[_Search], T], add: Callable[[T, T], T]) -> T:
            """One kept part: computed over every video, or a kept one plus the videos written since."""
            def since(generation: int, answer: T) -> T | None:
                videos = snapshot.added_since(generation)
                if not videos:
                    return answer if videos == [] else None
                return add(answer, self._limited(compute, on(videos)))

            return self._results.get_or_compute(result_key(kind, *asked, *asked_too),
                                                lambda: self._limited(compute, on(None)),
                                                version=snapshot.generation, update=since)

        try:
            counts, first_clips = kept("summary", (), lambda search: search.summary(0, KEPT_CLIPS), _summary_sum)
            facets = kept("facets", (request.facet_unit, request.facets), _Search.facet_counts, _facets_sum)
        finally:
            for search in searches.values():
                search.drop()
        return SearchResult(counts=counts, facets=facets, clips=first_clips[offset:offset + limit],
                            total_clips=int(counts["clips"]))

    def _limited(self, compute: Callable[..., Any], *args: Any) -> Any:
        with self._searching:
            return compute(*args)

    def video_ids(self) -> list[int]:
        """Indexed video ids, ascending."""
        con = self._reader()
        if con is None:
            return []
        return [row[0] for row in con.execute("SELECT video_id FROM videos ORDER BY video_id").fetchall()]


    # Statistics

    @contextmanager
    def _stats(self, request: SearchRequest, *, clip_ids: bool = False,
               own_connection: bool = False) -> Iterator[_Stats | None]:
        """Statistics on the live generation (None before the first write). ``clip_ids`` when
        they count clips; ``own_connection`` for iterators, whose temp tables must outlive
        other calls on this thread's reader."""
        reader = self._reader()
        if reader is None:
            yield None
            return
        con = reader.cursor() if own_connection else reader
        stats = _Stats(con, request, clip_ids=clip_ids)
        try:
            yield stats
        finally:
            stats.drop()
            if own_connection:
                con.close()

    def occurrence(self, *, request: SearchRequest, unit: str) -> dict[str, dict[Any, float]]:
        """Facet families grouped over the main frame set, like search's facets but never disjunctive."""
        stat_unit(unit)
        with self._stats(request, clip_ids=unit == "clips") as stats:
            if stats is None:
                facets = requested_facets(request)
                return {facet.key: dict.fromkeys(facet.values, 0.0 if unit == "seconds" else 0) for facet in facets}
            return stats.occurrence(unit)

    def cooccurrence(self, *, request: SearchRequest, a: str, b: str, scope: str) -> Cooccurrence:
        """One join of the two facets' (unit, value) rows on the unit."""
        facet_a, facet_b = cooccurrence_facets(request, a, b, scope)
        with self._stats(request, clip_ids=scope == "clip") as stats:
            if stats is None:
                rows, cols = list(facet_a.values), list(facet_b.values)
                return Cooccurrence(rows=rows, cols=cols, matrix=[[0] * len(cols) for _ in rows],
                                    row_totals=[0] * len(rows), col_totals=[0] * len(cols), total=0)
            return stats.cooccurrence(facet_a, facet_b, scope)

    def cooccurrence_pairs(self, *, request: SearchRequest, scope: str, facets: list[str]) -> CooccurrencePairs:
        """A self-join of every facet's (unit, value) rows on the unit."""
        chosen = pairs_facets(request, facets, scope)
        with self._stats(request, clip_ids=scope == "clip") as stats:
            if stats is None:
                marginals = {(facet.key, value): 0 for facet in chosen for value in facet.values}
                return CooccurrencePairs(total=0, marginals=marginals, pairs={})
            return stats.pairs(chosen, scope)

    def geo_cells(self, *, request: SearchRequest, z: int, bbox: list[float] | None,
                  target: str) -> dict[tuple[int, int], int]:
        """Tiles computed in SQL with :func:`tile_of`'s float expression, grouped."""
        check_tile_level(z)
        check_target(target)
        with self._stats(request) as stats:
            return {} if stats is None else stats.geo_cells(z, bbox, target)

    def located_frames(self, *, request: SearchRequest, bbox: list[float] | None,
                       batch_size: int = 10_000) -> Iterator[list[LocatedFrame]]:
        """Streamed from the main frame set on a connection of its own."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        with self._stats(request, own_connection=True) as stats:
            if stats is None:
                return
            where = _located(bbox)
            result = stats.con.execute(
                f"SELECT f.video_id, f.idx, f.t, f.lat, f.lon, f.n_objects FROM {stats.located_source()} "
                f"WHERE {where.text} ORDER BY f.frame_id", where.params)
            while rows := result.fetchmany(batch_size):
                yield [LocatedFrame(*row) for row in rows]

    def timeline(self, *, request: SearchRequest, max_bins: int) -> Timeline:
        """The data range first, then one grouped count per axis."""
        if max_bins < 1:
            raise ValueError("max_bins must be >= 1")
        with self._stats(request) as stats:
            if stats is None:
                return Timeline(video_time=Histogram(start=None, width=None, counts=[]),
                                wall_clock=Histogram(start=None, width=None, counts=[]), unplaced=0)
            return stats.timeline(max_bins)

    def detections(self, *, request: SearchRequest, batch_size: int = 10_000) -> Iterator[list[Detection]]:
        """One sorted query per video (so no sort holds more than one video), fetched in batches."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        with self._stats(request, own_connection=True) as stats:
            if stats is None:
                return
            table = stats.main().table
            video_ids = [row[0] for row in stats.con.execute(
                f"SELECT DISTINCT video_id FROM {table} ORDER BY video_id").fetchall()]
            attrs = _ATTRS_CTE.format(
                where=f"a.video_id = $video_id AND a.frame_id IN (SELECT frame_id FROM {table})")
            sql = _DETECTIONS.format(attrs=attrs, m=table)
            batch: list[Detection] = []
            for video_id in video_ids:
                result = stats.con.execute(sql, {"video_id": video_id})
                while rows := result.fetchmany(batch_size):
                    for row in rows:
                        batch.append(_detection(row))
                        if len(batch) == batch_size:
                            yield batch
                            batch = []
            if batch:
                yield batch

    def frame_labels(self, *, video_id: int, start_s: float, end_s: float | None,
                     request: SearchRequest | None) -> list[dict[str, Any]]:
        """The window's frames and objects; with a request, the frames matching it and the
        objects meeting one of its positive object predicates."""
        con = self._reader()
        if con is None:
            return []
        window = [_Sql("f.video_id = ?", [video_id]), _Sql("f.t >= ?", [start_s - WINDOW_SLACK_S])]
        if end_s is not None:
            window.append(_Sql("f.t < ?", [end_s - WINDOW_SLACK_S]))
        where = _joined(window, "AND", _TRUE)
        frames = {
            frame_id: {"index": index, "t": t, "objects": []}
            for frame_id, index, t in con.execute(
                f"SELECT f.frame_id, f.idx, f.t FROM frames f WHERE {where.text} ORDER BY f.idx", where.params
            ).fetchall()
        }
        window_frames = f"SELECT f.frame_id FROM frames f WHERE {where.text}"
        objects = con.execute(
            f"""WITH {_ATTRS_CTE.format(where=f"a.frame_id IN ({window_frames})")}
            SELECT o.frame_id, o.object_id, o.label, o.track, o.confidence, o.x1, o.y1, o.x2, o.y2, oa.attrs
            FROM objects o LEFT JOIN attrs oa ON oa.object_id = o.object_id
            WHERE o.frame_id IN ({window_frames}) ORDER BY o.frame_id, o.object_id""",
            where.params + where.params,
        ).fetchall()
        matched_frames, matched_objects = _matched(con, where, request) if request is not None else (None, set())
        for frame_id, object_id, label, track, confidence, x1, y1, x2, y2, attr_rows in objects:
            shown = {"label": label, "track": track, "confidence": confidence, "box": _box(x1, y1, x2, y2),
                     "attrs": _attr_dict(attr_rows)}
            if matched_frames is not None:
                shown["matched"] = object_id in matched_objects
            frames[frame_id]["objects"].append(shown)
        if matched_frames is not None:
            for frame_id, frame in frames.items():
                frame["matched"] = frame_id in matched_frames
        return list(frames.values())

    # Similarity

    def similar_tracks(self, *, request: SearchRequest | None, vector: Any, k: int,
                       exclude: Collection[tuple[int, str]] = ()) -> list[SimilarTrack]:
        """Exact top-k with torch over the live generation's vectors (:mod:`indexer.backends.vectors`);
        candidates are the tracks with a detection in the request's main frame set."""
        con = self._reader()
        if con is None:
            vectors.check_k(k)
            vectors.query_vector(vector)
            return []
        generation = self._local.reader[1]  # the generation ``con`` reads: its vectors are cached by name
        if request is None:
            return self._vectors.similar(con, generation, vector=vector, k=k, exclude=exclude, frames=None)
        stats = _Stats(con, request, clip_ids=False)
        try:
            main = stats.main()
            return self._vectors.similar(con, generation, vector=vector, k=k, exclude=exclude,
                                         frames=None if main.whole else main.table)
        finally:
            stats.drop()

    def track_vector(self, *, video_id: int, track: str) -> np.ndarray | None:
        """The track's row of its video's vector file."""
        con = self._reader()
        return None if con is None else self._vectors.track_vector(con, video_id, track)


_ATTACHED = "scoop_generation"


def _attached(staging: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyConnection:
    """``staging`` with the database file at ``path`` attached as its default database."""
    quoted = str(path).replace("'", "''")
    staging.execute(f"ATTACH '{quoted}' AS {_ATTACHED}; USE {_ATTACHED}")
    return staging


def _load_video_with_vectors(con: duckdb.DuckDBPyConnection, root: Path, video_id: int, name: str,
                             analytics: Analytics) -> IndexCounts:
    """:func:`_load_video`, plus the video's track vectors, computed in the same pass over the records."""
    builder = vectors.TrackVectorBuilder()
    counts = _load_video(con, video_id, name, builder.tap(analytics))
    vectors.vectors_store(con, root, video_id, builder.tracks())
    return counts


def _matched(con: duckdb.DuckDBPyConnection, window: _Sql, request: SearchRequest) -> tuple[set[int], set[int]]:
    """The ids of the frames of a labels window that match the request, and of their objects
    meeting one of its positive object predicates (all of them when there is none)."""
    node = facet_frame_node(request, None)
    matching = _joined([window, compile_node(node)], "AND", _TRUE)
    frames = {row[0] for row in con.execute(
        f"SELECT f.frame_id FROM frames f WHERE {matching.text}", matching.params).fetchall()}
    specs = _joined([_object_match(spec) for spec in positive_object_specs(node)], "OR", _TRUE)
    objects = {row[0] for row in con.execute(
        f"SELECT o.object_id FROM objects o WHERE o.frame_id IN (SELECT f.frame_id FROM frames f "
        f"WHERE {matching.text}) AND {specs.text}", matching.params + specs.params).fetchall()}
    return frames, objects


def _delete_rows(con: duckdb.DuckDBPyConnection, video_id: int) -> None:
    for table in TABLES:
        con.execute(f"DELETE FROM {table} WHERE video_id = ?", [video_id])
