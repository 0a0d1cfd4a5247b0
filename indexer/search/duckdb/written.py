"""Watches' one pass (:meth:`SearchBackend.written_clips`): every request at once over the rows
that writes added, never the whole index.

The frames of the written spans and the rows that belong to them (their detections and
attributes; their videos, with those videos' attributes and events; every attribute key) are
copied into a schema of their own in the process's database: a small index of those rows alone,
with the index's table names. Each request's query AND filters compiles
(:mod:`~indexer.search.duckdb.compiler`) into one boolean column of a single SELECT over that
small index's frames. A frame's match depends only on its own rows, its video's and the events
that cover it, all copied, so each column says of a frame exactly what a search of the whole
index says. Sequences and dwell are the exception: they read the frames around a frame, which may
lie outside the spans, so a request that holds one is searched over the whole index instead
(:func:`frame_local`). Each request's clips are then numbered from its column (:class:`ClipSpans`), as a
search numbers them.

Rows are found through the zone maps of the segments: frames by their video ids, the rest by
ranges of frame ids (``video_id << 32 | idx``), then kept exactly by the frames copied.
"""

from __future__ import annotations

import uuid

import duckdb
import numpy as np

from indexer.facets import filters_to_node
from indexer.search.contract import Clip, SearchRequest, Written
from indexer.search.duckdb.compiler import compile_node
from indexer.search.duckdb.search import ClipSpans
from indexer.search.duckdb.sql import Sql, is_in, joined
from indexer.search.semantics import clip_break_s

# Tables whose rows belong to frames, and tables whose rows belong to videos.
FRAME_TABLES = ("frame_attrs", "objects", "object_attrs")
VIDEO_TABLES = ("videos", "video_attrs", "events", "event_attrs")


def written_clips(con: duckdb.DuckDBPyConnection, requests: list[SearchRequest],
                  written: list[Written]) -> list[list[Clip]]:
    """Each request's clips among the frames of ``written`` (the contract's
    :meth:`~indexer.search.contract.BaseSearchBackend.written_clips`), read through ``con``, a
    cursor on a generation."""
    if not written or not requests:
        return [[] for _ in requests]
    schema = f"memory.scoop_written_{uuid.uuid4().hex}"
    con.execute(f"CREATE SCHEMA {schema}")
    small = con.cursor()
    try:
        _copy_written(con, schema, written)
        small.execute(f"SET search_path = '{schema}'")
        return _matching_clips(small, requests)
    finally:
        small.close()
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _copy_written(con: duckdb.DuckDBPyConnection, schema: str, written: list[Written]) -> None:
    """The spans' frames and every row they need, as tables of ``schema``."""
    videos = sorted({span.video_id for span in written})
    spans = joined([_span_condition(span) for span in written], "OR", Sql("FALSE"))
    among = is_in("f.video_id", videos)
    con.execute(f"CREATE TABLE {schema}.frames AS SELECT * FROM frames f WHERE {among.text} AND {spans.text}",
                among.params + spans.params)
    ranges = con.execute(f"SELECT min(frame_id), max(frame_id) FROM {schema}.frames GROUP BY video_id").fetchall()
    in_ranges = joined([Sql("x.frame_id BETWEEN ? AND ?", [low, high]) for low, high in ranges], "OR", Sql("FALSE"))
    for table in FRAME_TABLES:
        con.execute(f"CREATE TABLE {schema}.{table} AS SELECT x.* FROM {table} x WHERE {in_ranges.text} "
                    f"AND x.frame_id IN (SELECT frame_id FROM {schema}.frames)", in_ranges.params)
    of_videos = is_in("x.video_id", videos)
    for table in VIDEO_TABLES:
        con.execute(f"CREATE TABLE {schema}.{table} AS SELECT x.* FROM {table} x WHERE {of_videos.text}",
                    of_videos.params)
    con.execute(f"CREATE TABLE {schema}.attr_keys AS SELECT * FROM attr_keys")


def _span_condition(span: Written) -> Sql:
    if span.start_t is None:
        return Sql("f.video_id = ?", [span.video_id])
    return Sql("(f.video_id = ? AND f.t >= ? AND f.t <= ?)", [span.video_id, float(span.start_t), float(span.end_t)])


def _matching_clips(small: duckdb.DuckDBPyConnection, requests: list[SearchRequest]) -> list[list[Clip]]:
    """One SELECT of every request's match over the small index's frames, then each one's clips."""
    conditions = [compile_node(_request_node(request)) for request in requests]
    columns = ", ".join(f"{condition.text} AS m{number}" for number, condition in enumerate(conditions))
    frames = small.execute(f"SELECT f.video_id, f.t, f.idx, f.n_objects, {columns} FROM frames f",
                           [param for condition in conditions for param in condition.params]).fetchnumpy()
    fps = dict(small.execute("SELECT video_id, fps FROM videos").fetchall())
    video, t, idx, n_objects = (np.asarray(frames[name]) for name in ("video_id", "t", "idx", "n_objects"))
    found = []
    for number, request in enumerate(requests):
        matching = np.asarray(frames[f"m{number}"], dtype=bool)
        spans = ClipSpans(video[matching], t[matching], idx[matching], n_objects[matching], fps,
                          clip_break_s(request.gap_s))
        found.append(spans.page(0, len(spans.starts)))
    return found


# Nodes whose match at a frame reads other frames (indexer.search.semantics, "Sequences and dwell").
NEIGHBOUR_NODES = ("sequence", "dwell")


def frame_local(request: SearchRequest) -> bool:
    """Whether each frame's match of ``request`` depends on that frame's own rows alone (no
    sequence or dwell anywhere in its query or filters)."""
    pending: list = [_request_node(request)]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if any(kind in node for kind in NEIGHBOUR_NODES):
                return False
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return True


def _request_node(request: SearchRequest) -> dict:
    """A request's query AND its filters, as one node."""
    if not request.filters:
        return request.query
    return {"and": [request.query, filters_to_node(request.filters, request.ontology)]}
