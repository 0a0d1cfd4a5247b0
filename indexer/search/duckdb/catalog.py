"""How a process reads the DuckDB index: one in-memory database in which segments are attached.

Each process keeps one in-memory DuckDB database. Every segment file of a generation it reads
is attached to it read-only, once (segments never change), and each generation it reads is a
schema ``g<N>`` of views with the index's table names: ``frames`` in ``g7`` is the union of
the ``frames`` tables of generation 7's segments, each segment's tombstoned videos filtered
out. A thread reads through its own cursor whose ``search_path`` is its generation's schema,
so the engine's SQL names tables as if there were one file. Temp tables (frame sets,
staging) live on the cursor, as before.

A new generation costs its reader an attach of the segments it has not seen (one for a write)
and the views: it reads nothing that was already there, and keeps the buffer pool of the
segments it had. Schemas of old generations are dropped, and segments no kept schema names are
detached, once no thread of the process reads them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from indexer.search.duckdb.generations import SEGMENT, Generations, Manifest, Snapshot
from indexer.search.duckdb.schema import SCHEMA, TABLES
from indexer.search.duckdb.track_vectors import TABLE as TRACK_VECTORS

# Every table a segment holds: those with a video_id column are filtered by tombstones.
SEGMENT_TABLES = (*TABLES, "track_vectors")
ALL_TABLES = (*SEGMENT_TABLES, "attr_keys")
# The schema of empty tables every generation's views start from (and a rebuild writes against).
EMPTY = "memory.empty"
# Generation schemas kept besides those a thread reads.
KEPT_SCHEMAS = 2


def create_tables(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """The index's tables, empty, in ``schema`` (an attached segment's alias, or a schema)."""
    for statement in (SCHEMA + ";" + TRACK_VECTORS).split(";"):
        if statement.strip():
            con.execute(statement.replace("CREATE TABLE IF NOT EXISTS ", f"CREATE TABLE IF NOT EXISTS {schema}."))


def segment_alias(name: str, lineage: str = "") -> str:
    """``seg-12.duckdb`` of lineage ``ab12...`` is attached as ``s12_ab12...``: segment numbers
    only grow within an index folder, and a folder wiped and written again has a new lineage."""
    return f"s{SEGMENT.match(name).group(1)}_{lineage}"


def union_selects(manifest: Manifest, alias: Callable[[str], str], empty: str | None = EMPTY) -> dict[str, str]:
    """Each table of ``manifest`` as one SELECT: the union of its segments' tables (attached as
    ``alias(name)``), tombstoned videos filtered out; a generation without segments reads the
    ``empty`` schema's. A single segment is read without a union: DuckDB plans a scan of one
    table better (statistics, filters pushed into the scan) than a union, even with an empty
    table."""
    selects = {}
    for table in ALL_TABLES:
        parts = [] if manifest.segments or not empty else [f"SELECT * FROM {empty}.{table}"]
        for segment in manifest.segments:
            part = f"SELECT * FROM {alias(segment.name)}.{table}"
            if segment.deleted and table != "attr_keys":
                part += f" WHERE video_id NOT IN ({', '.join(map(str, segment.deleted))})"
            parts.append(part)
        selects[table] = " UNION ALL ".join(parts)
    return selects


class Catalog:
    """The process's in-memory database, its attached segments and generation schemas."""

    def __init__(self, generations: Generations, config: dict[str, Any]):
        self.generations = generations
        self.config = config
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._db: duckdb.DuckDBPyConnection | None = None
        self._attached: set[str] = set()
        self._schemas: dict[tuple[str, str], tuple[str, Manifest, Snapshot]] = {}  # (name, lineage): schema...
        self._reading: dict[int, tuple[str, str]] = {}  # thread: the manifest (name, lineage) it reads

    def database(self) -> duckdb.DuckDBPyConnection:
        """This process's database (a forked child opens its own)."""
        with self._lock:
            return self._database()

    def _database(self) -> duckdb.DuckDBPyConnection:
        if self._db is None or self._pid != os.getpid():
            self._db = duckdb.connect(":memory:", config=self.config)
            self._db.execute("CREATE SCHEMA empty")
            create_tables(self._db, EMPTY)
            self._pid, self._attached, self._schemas, self._reading = os.getpid(), set(), {}, {}
        return self._db

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor of the database, reading nothing yet (staging, writes)."""
        return self.database().cursor()

    def read(self, name: str) -> tuple[duckdb.DuckDBPyConnection, Snapshot]:
        """A new cursor reading generation ``name``, and its snapshot. Raises FileNotFoundError
        (or a DuckDB IOException) when the generation was pruned meanwhile."""
        with self._lock:
            schema, _, snapshot = self._schema(name)
            con = self._database().cursor()
        con.execute(f"SET search_path = '{schema}'")
        return con, snapshot

    def point(self, con: duckdb.DuckDBPyConnection, name: str | None) -> None:
        """Make ``con`` read generation ``name`` (None: the empty index)."""
        with self._lock:
            if name is None:
                schema = EMPTY
            else:
                schema, _, _ = self._schema(name)
        con.execute(f"SET search_path = '{schema}'")

    def attach(self, con: duckdb.DuckDBPyConnection, path: Path, alias: str) -> None:
        """Attach a new segment file for writing, with the index's empty tables: a copy of an empty
        segment (creating the ten tables and checkpointing them took 50 ms of wall time and 8 of
        CPU a segment, the copy about 1)."""
        shutil.copyfile(self._empty_segment(), path)
        con.execute(f"ATTACH '{quoted_path(path)}' AS {alias}")

    def _empty_segment(self) -> Path:
        """The index's empty segment for this schema and DuckDB version (its name says which), made
        once by whichever process needs it first, published with a rename."""
        version = hashlib.sha1(f"{duckdb.__version__}\n{SCHEMA}\n{TRACK_VECTORS}".encode()).hexdigest()[:12]
        path = self.generations.root / f"empty-{version}.duckdb"
        if not path.exists():
            temporary = self.generations.temporary_path()
            con = duckdb.connect(str(temporary))
            try:
                create_tables(con, "main")
                con.execute("CHECKPOINT")
            finally:
                con.close()
            os.replace(temporary, path)
        return path

    def _schema(self, name: str) -> tuple[str, Manifest, Snapshot]:
        """Generation ``name``'s schema (made if new), which the calling thread now reads."""
        db = self._database()
        manifest = self.generations.read(name)
        key = (name, manifest.lineage)
        self._reading[threading.get_ident()] = key
        known = self._schemas.get(key)
        if known is not None:
            return known
        for segment in manifest.segments:
            alias = segment_alias(segment.name, manifest.lineage)
            if alias not in self._attached:
                path = self.generations.segment_path(segment.name)
                if not path.exists():
                    raise FileNotFoundError(path)
                db.execute(f"ATTACH '{quoted_path(path)}' AS {alias} (READ_ONLY)")
                self._attached.add(alias)
        schema = f"memory.g{manifest.generation}_{manifest.lineage}"
        db.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        aliases = {segment.name: segment_alias(segment.name, manifest.lineage) for segment in manifest.segments}
        for table, select in union_selects(manifest, aliases.__getitem__).items():
            db.execute(f"CREATE OR REPLACE VIEW {schema}.{table} AS {select}")
        self._schemas[key] = known = (schema, manifest, Snapshot.of(self.generations.root, name, manifest))
        self._forget(keep=key)
        return known

    def _forget(self, keep: tuple[str, str]) -> None:
        """Drop the schemas no thread reads (but the newest few) and detach their segments."""
        newest = sorted(self._schemas, key=lambda key: self._schemas[key][1].generation)[-KEPT_SCHEMAS:]
        wanted = {keep, *newest, *self._reading.values()}
        db = self._db
        for key in [key for key in self._schemas if key not in wanted]:
            db.execute(f"DROP SCHEMA IF EXISTS {self._schemas.pop(key)[0]} CASCADE")
        named = {segment_alias(s.name, manifest.lineage)
                 for _, manifest, _ in self._schemas.values() for s in manifest.segments}
        for alias in self._attached - named:
            db.execute(f"DETACH {alias}")
            self._attached.discard(alias)

    def close(self) -> None:
        """Let go of the database (tests)."""
        with self._lock:
            self._db, self._pid, self._attached, self._schemas, self._reading = None, None, set(), {}, {}


def quoted_path(path: Path) -> str:
    """A path as the text of a SQL string literal."""
    return str(path).replace("'", "''")
