"""Writing a video into a DuckDB generation: records staged in temp tables, then inserted.

A video's record stream is read once into typed staging tables (``st_*``, in record order:
``seq`` keeps every "first wins" rule), from which SQL derives each frame's time and
attributes, the effective attributes of each detection (track constants applied) and the
track numbers. The values are then registered in ``attr_keys`` and the rows inserted into the
index tables (:mod:`indexer.search.duckdb.schema`). Staging needs no index, so
:meth:`~indexer.search.duckdb.backend.SearchBackend.index_video` stages before it takes the
write lock. An append stages a chunk the same way and keeps only the frames the video does
not have yet.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd

from indexer.records import Analytics, EventRecord, FrameRecord, ObjectRecord, TrackRecord, VideoMeta, Waypoint
from indexer.search.contract import AppendResult, IndexCounts
from indexer.search.duckdb.sql import row_counts
from indexer.search.semantics import (
    check_frame_index,
    check_video_id,
    effective_fps,
    frame_locations,
    recorded_epoch,
    sorted_gps,
    value_kind,
    video_values,
)

# Staged rows buffered per table before they are appended to DuckDB as one DataFrame.
BATCH_ROWS = 50_000


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


# scope: (SELECT of label, name, s, b over the staged rows of that scope), in the order their
# new keys are numbered.
_KEY_SOURCES = {
    "object": "SELECT o.label, e.name, e.s, e.b FROM st_object_final e JOIN st_objects o USING (seq)",
    "frame": "SELECT '' AS label, name, s, b FROM st_frame_final",
    "video": "SELECT '' AS label, name, s, b FROM st_video_attrs",
    "event": "SELECT ev.label, a.name, a.s, a.b FROM st_event_attrs a JOIN st_events ev USING (seq)",
}
# Keys are registered in the segment being written (``{out}``), numbered after every key of the
# index (the live generation's ``attr_keys``, read through the search path) and of the segment:
# the new keys of each scope in turn (in _KEY_SOURCES's order), each scope's by label, name and
# value. One statement for the four scopes, with an anti join: four, each probing the keys per
# value, cost a tenth of a write.
_KEYS = "(SELECT * FROM attr_keys UNION ALL SELECT * FROM {out}.attr_keys)"
_REGISTER_KEYS = f"""INSERT INTO {{out}}.attr_keys
    SELECT (SELECT coalesce(max(key_id), 0) FROM {_KEYS})
               + row_number() OVER (ORDER BY fresh.rank, fresh.label, fresh.name, fresh.vt),
           fresh.scope, fresh.label, fresh.name, fresh.vt, fresh.s, fresh.b
    FROM (SELECT DISTINCT rank, scope, label, name, {_value_text("v")} AS vt, s, b
          FROM ({{sources}}) v WHERE s IS NOT NULL OR b IS NOT NULL) fresh
    ANTI JOIN {_KEYS} k ON k.scope = fresh.scope AND k.label = fresh.label AND k.name = fresh.name
                           AND k.vt = fresh.vt"""


def _key_join(scope: str, alias: str, label: str) -> str:
    return (f"LEFT JOIN {_KEYS} k ON k.scope = '{scope}' AND k.label = {label} AND k.name = {alias}.name "
            f"AND k.vt = {_value_text(alias)}")


_ID = "(CAST($video_id AS BIGINT) << 32)"
_HAS_VALUE = "(a.s IS NOT NULL OR a.n IS NOT NULL OR a.b IS NOT NULL)"
_INSERTS = (
    f"""INSERT INTO {{out}}.frames
        SELECT {_ID} | l.idx, $video_id, l.idx, l.t, l.lat, l.lon, coalesce(c.n_objects, 0)
        FROM st_located l LEFT JOIN (SELECT idx, count(*) AS n_objects FROM st_objects GROUP BY idx) c USING (idx)
        ORDER BY l.idx""",
    f"""INSERT INTO {{out}}.frame_attrs
        SELECT {_ID} | a.idx, $video_id, a.name, k.key_id, a.n
        FROM st_frame_final a {_key_join("frame", "a", "''")}
        WHERE {_HAS_VALUE} ORDER BY k.key_id, a.name, a.idx""",
    f"""INSERT INTO {{out}}.objects
        SELECT {_ID} | o.seq, {_ID} | o.idx, $video_id, o.label, o.track, {_ID} | t.track_no,
               o.confidence, o.x1, o.y1, o.x2, o.y2
        FROM st_objects o LEFT JOIN st_tracks t USING (track)
        ORDER BY o.idx, o.seq""",
    f"""INSERT INTO {{out}}.object_attrs
        SELECT {_ID} | o.seq, {_ID} | o.idx, $video_id, o.label, {_ID} | t.track_no, a.name, k.key_id, a.n
        FROM st_object_final a JOIN st_objects o USING (seq) LEFT JOIN st_tracks t ON t.track = o.track
        {_key_join("object", "a", "o.label")}
        WHERE {_HAS_VALUE} ORDER BY k.key_id, a.name, o.idx""",
    f"""INSERT INTO {{out}}.events
        SELECT {_ID} | seq, $video_id, label, start_idx, end_idx, confidence FROM st_events ORDER BY seq""",
    f"""INSERT INTO {{out}}.event_attrs
        SELECT {_ID} | a.seq, $video_id, a.name, k.key_id, a.n
        FROM st_event_attrs a JOIN st_events ev USING (seq) {_key_join("event", "a", "ev.label")}
        WHERE {_HAS_VALUE} ORDER BY k.key_id, a.name, a.seq""",
    f"""INSERT INTO {{out}}.video_attrs
        SELECT $video_id, a.name, k.key_id, a.n FROM st_video_attrs a {_key_join("video", "a", "''")}
        WHERE {_HAS_VALUE}""",
)


def load_video(con: duckdb.DuckDBPyConnection, video_id: int, name: str, analytics: Analytics, *,
               out: str) -> IndexCounts:
    """Stage one video's records and derive its rows in the segment ``out`` being written."""
    check_video_id(video_id)
    stage_video(con, name, analytics)
    return insert_staged(con, video_id, name, analytics.meta, out=out)


def stage_video(con: duckdb.DuckDBPyConnection, name: str, analytics: Analytics) -> None:
    """Read the records into ``con``'s temp staging tables and derive what the inserts need:
    all the parsing and checking, which needs no index."""
    meta = analytics.meta
    stager = _Stager(con)
    stager.stage(analytics, video_values(name, meta))
    for table, select in _DERIVED.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}")
    _stage_locations(con, sorted_gps(meta))


def insert_staged(con: duckdb.DuckDBPyConnection, video_id: int, name: str, meta: VideoMeta, *,
                  out: str) -> IndexCounts:
    """Register the staged video's attribute values and insert its rows into the tables of the
    segment ``out`` being written."""
    _register_keys(con, out)
    params = {"video_id": video_id}
    for statement in _INSERTS:
        con.execute(statement.format(out=out), params)
    con.execute(
        f"INSERT INTO {out}.videos VALUES ($video_id, $name, $camera, $recorded_at, $fps)",
        {**params, "name": name, "camera": meta.camera, "recorded_at": recorded_epoch(meta),
         "fps": effective_fps(meta)},
    )
    counts = row_counts(con, ["st_frame_t", "st_objects", "st_tracks", "st_events"])
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


def append_video(con: duckdb.DuckDBPyConnection, video_id: int, name: str, analytics: Analytics, *,
                 out: str) -> AppendResult:
    """Stage a chunk, drop what the video already has (in the generation ``con`` reads), and add
    the rest to the segment ``out`` being written."""
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
    _register_keys(con, out)
    for statement in _INSERTS:
        con.execute(statement.format(out=out), params)
    if known_video is None:
        con.execute(
            f"INSERT INTO {out}.videos VALUES ($video_id, $name, $camera, $recorded_at, $fps)",
            {**params, "name": name, "camera": meta.camera, "recorded_at": recorded_epoch(meta),
             "fps": effective_fps(meta)},
        )
    appended = row_counts(con, ["st_frame_t", "st_objects", "st_tracks WHERE fresh", "st_events"])
    indices = [row[0] for row in con.execute("SELECT idx FROM st_frame_t ORDER BY idx").fetchall()]
    stager.drop()
    con.execute("DROP TABLE IF EXISTS temp.st_known")
    return AppendResult(appended=IndexCounts(*appended), duplicate_frames=duplicate_frames,
                        duplicate_objects=duplicate_objects, indices=indices)


def _stage_locations(con: duckdb.DuckDBPyConnection, gps: list[Waypoint]) -> None:
    """``st_located(idx, t, lat, lon)``: every frame with its location
    (:func:`~indexer.search.semantics.frame_locations`)."""
    frames = con.execute("SELECT idx, t FROM st_frame_t ORDER BY idx").fetchnumpy()
    times = np.asarray(frames["t"], dtype=float)
    lat, lon = frame_locations(gps, times)
    located = pd.DataFrame({"idx": np.asarray(frames["idx"], dtype=np.int64), "t": times, "lat": lat, "lon": lon})
    con.register("scoop_located", located)
    con.execute("CREATE OR REPLACE TEMP TABLE st_located AS SELECT * FROM scoop_located")
    con.unregister("scoop_located")


def _register_keys(con: duckdb.DuckDBPyConnection, out: str) -> None:
    sources = " UNION ALL ".join(f"SELECT {rank} AS rank, '{scope}' AS scope, * FROM ({source})"
                                 for rank, (scope, source) in enumerate(_KEY_SOURCES.items()))
    con.execute(_REGISTER_KEYS.format(sources=sources, out=out))
