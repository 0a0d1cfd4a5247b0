"""A search in DuckDB: frame sets in temp tables, then counts, clips and facets read from them.

The normalized tree compiles to one boolean SQL expression over ``frames f``
(:mod:`indexer.search.duckdb.compiler`). Each distinct frame set (the query AND all
filters, plus one per filtered facet for disjunctive counts) is computed once
into a temp table (with clip numbers only where something counts clips: the
main set, and a facet's set when its unit is clips); counts, the clip page and one grouped
aggregation per facet family (labels, object attributes, frame attributes,
video attributes, event labels, event attributes) read it. When a frame set
holds every frame, per-object families skip the join with it. Every value from
the request is a bound parameter; only identifiers and constants written here
are formatted in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from indexer.facets import Facet, filters_to_node
from indexer.search.contract import Clip, SearchRequest, SearchResult
from indexer.search.duckdb.compiler import compile_node, matching_rows
from indexer.search.duckdb.facets import (
    FAMILIES,
    KEYED_SCOPES,
    AttrKeys,
    family_name,
    family_sql,
    merged_family,
)
from indexer.search.duckdb.result_cache import KeptFrames, result_key
from indexer.search.duckdb.sql import TRUE, Sql, is_in, joined
from indexer.search.semantics import (
    clip_break_s,
    earliest_leads,
    facet_set_key,
    facet_unit,
    lead_clip_starts,
    page_bounds,
    requested_facets,
    seconds_of,
    sequence_leads,
)

# The columns of a frame set but its clip ids.
FRAME_COLUMNS = "f.frame_id, f.video_id, f.idx, f.t, f.n_objects"

# Frame sets and counts ---------------------------------------------------------------------------


@dataclass
class FrameSet:
    """A table of matching frames (``frame_id, video_id, idx, t, n_objects, clip_id``)."""

    table: str
    whole: bool  # every indexed frame matches: per-object facets can skip the join
    clip_ids: bool  # clip_id is computed (else NULL)


class Search:
    """One search on one read-only connection; frame sets live in temp tables until it ends."""

    def __init__(self, con: duckdb.DuckDBPyConnection, request: SearchRequest, *, clip_ids: bool = True,
                 videos: list[int] | None = None, kept: KeptFrames | None = None, generation: Any = None):
        self.con = con
        self.request = request
        self.videos = videos  # only these videos' frames (None: all)
        self.clip_ids = clip_ids  # False: the main frame set leaves clip_id NULL (statistics that need no clips)
        self.frame_sets: dict[str | None, FrameSet] = {}
        self.parts: dict[str | None, str] = {}
        self.leads: str | None = None  # temp table of sequence leads, when the query has a sequence
        # Frame sets kept across the searches of one index ``generation`` (any value naming it); None: none.
        self.kept = kept if generation is not None else None
        self.generation = generation

    def run(self) -> SearchResult:
        """Counts, facets and the requested page of clips; the temp tables are dropped after."""
        try:
            counts, clips = self.summary(*page_bounds(self.request))
            facets = self.facet_counts()
        finally:
            self.drop()
        return SearchResult(counts=counts, facets=facets, clips=clips, total_clips=int(counts["clips"]))

    def summary(self, offset: int, limit: int) -> tuple[dict[str, float], list[Clip]]:
        """The counts, and ``limit`` clips from the ``offset``-th.

        Clips are numbered here (:class:`ClipSpans`) from one fetch of the matching frames,
        which costs a fraction of numbering them in SQL with window functions; the frame set
        gets clip ids in SQL only where a facet counts clips."""
        main = self._frame_set(None, clip_ids=False)
        spans = ClipSpans.of(self.con, main.table, clip_break_s(self.request.gap_s), self._leads())
        tracks = "objects" if main.whole else f"objects WHERE frame_id IN (SELECT frame_id FROM {main.table})"
        (distinct_tracks,) = self.con.execute(f"SELECT count(DISTINCT track_key) FROM {tracks}").fetchone()
        return spans.counts(distinct_tracks), spans.page(offset, limit)

    def facet_counts(self) -> dict[str, dict[Any, float]]:
        """The requested facets, each in its unit, disjunctive (a filtered facet over its own frame set)."""
        facets = requested_facets(self.request)
        return self._facets(facets, {facet.key: facet_unit(self.request, facet) for facet in facets})

    def drop(self) -> None:
        """Drop this search's temp tables."""
        tables = [frame_set.table for frame_set in self.frame_sets.values() if frame_set.table != "frames"]
        for table in tables + list(self.parts.values()) + ([self.leads] if self.leads else []):
            self.con.execute(f"DROP TABLE IF EXISTS temp.{table}")

    def _frame_set(self, set_key: str | None, *, clip_ids: bool | None = None) -> FrameSet:
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
        if where.text == TRUE.text and not clip_ids:
            # Every frame, nothing to number: the frames table itself (it has the columns read).
            self.frame_sets[set_key] = FrameSet("frames", True, False)
            return self.frame_sets[set_key]
        table = known.table if known is not None and known.table != "frames" else f"scoop_frames_{len(self.frame_sets)}"
        if clip_ids and self._leads():
            self._lead_clip_set(table, where)
        elif not clip_ids:
            self._kept_table(table, ("frames", self._frame_set_source(set_key)), FRAME_COLUMNS, where,
                             extra=", CAST(NULL AS BIGINT) AS clip_id")
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
        self.frame_sets[set_key] = FrameSet(table, matching == total, clip_ids)
        return self.frame_sets[set_key]

    def _lead_clip_set(self, table: str, where: Sql) -> None:
        """A frame set numbered into clips by leads (:func:`~indexer.search.semantics.lead_clip_starts`,
        in SQL): frames by (lead, t, idx), a new clip where a lead is not within the gap of the
        latest t before it."""
        order = "PARTITION BY video_id ORDER BY lead_t, lead_idx, t, idx"
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {table} AS
            WITH hit AS (
                SELECT f.frame_id, f.video_id, f.idx, f.t, f.n_objects, coalesce(l.lead_t, f.t) AS lead_t,
                       coalesce(l.lead_idx, f.idx) AS lead_idx
                FROM frames f LEFT JOIN {self.leads} l ON l.frame_id = f.frame_id WHERE {where.text}),
            marked AS (
                SELECT *, CASE WHEN lead_t - max(t) OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                    <= ? THEN 0 ELSE 1 END AS new_clip
                FROM hit)
            SELECT frame_id, video_id, idx, t, n_objects,
                   (video_id << 32) | CAST(sum(new_clip) OVER ({order} ROWS UNBOUNDED PRECEDING) AS BIGINT) AS clip_id
            FROM marked""",
            [*where.params, clip_break_s(self.request.gap_s)],
        )

    def _leads(self) -> str | None:
        """The temp table ``(frame_id, lead_t, lead_idx)`` of the frames where a sequence of the
        query holds, with their leads; None when the query reaches no sequence (every lead is its frame)."""
        if self.leads is None and _reaches_sequence(self.request.query):
            frame_id, lead_t, lead_idx = earliest_leads(*self._lead_rows(self.request.query))
            # Named per search: several searches may share a connection (kept answers, videos since).
            self.leads = f"scoop_leads_{id(self):x}"
            rows = pd.DataFrame({"frame_id": frame_id, "lead_t": lead_t, "lead_idx": lead_idx})
            self.con.register("scoop_lead_rows", rows)
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {self.leads} AS SELECT * FROM scoop_lead_rows")
            self.con.unregister("scoop_lead_rows")
        return self.leads

    def _lead_rows(self, node: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(frame_id, lead_t, lead_idx) of the sequences ``node`` reaches, where they hold (a frame
        may come more than once)."""
        (kind, body), = node.items()
        parts = []
        if kind in ("and", "or"):
            parts = [self._lead_rows(child) for child in body]
        elif kind == "sequence":
            first = self._fetch(matching_rows(body["first"], self.videos, "f.frame_id, f.video_id, f.t, f.idx"))
            own = (first["frame_id"], first["t"], first["idx"])
            nested = self._lead_rows(body["first"])
            lead_id, lead_t, lead_idx = earliest_leads(*(np.concatenate(pair) for pair in zip(own, nested,
                                                                                             strict=True)))
            position = np.searchsorted(lead_id, first["frame_id"])
            first["lead_t"], first["lead_idx"] = lead_t[position], lead_idx[position]
            then = self._fetch(matching_rows(node, self.videos))
            _, then_lead_t, then_lead_idx = sequence_leads(first, then, float(body["within_s"]))
            parts = [(then["frame_id"], then_lead_t, then_lead_idx), self._lead_rows(body["then"])]
        if not parts:
            return np.array([], dtype=np.int64), np.array([], dtype=float), np.array([], dtype=np.int64)
        return tuple(np.concatenate(column) for column in zip(*parts, strict=True))

    def _fetch(self, query: Sql) -> dict[str, np.ndarray]:
        columns = self.con.execute(query.text, query.params).fetchnumpy()
        rows = {name: np.asarray(values) for name, values in columns.items()}
        return {"frame_id": rows["frame_id"].astype(np.int64), "video": rows["video_id"].astype(np.int64),
                "t": rows["t"].astype(float), **({"idx": rows["idx"].astype(np.int64)} if "idx" in rows else {})}

    def _facet_frames(self, set_key: str) -> FrameSet:
        """The frame set of a filtered facet, which only that facet's count reads: a subquery
        in that count instead of a temp table (no clip ids; its parts are temp tables)."""
        where = self._frame_set_condition(set_key)
        if where.params:
            return self._frame_set(set_key, clip_ids=False)
        if where.text == TRUE.text:
            return FrameSet("frames", True, False)
        return FrameSet(f"(SELECT f.frame_id, f.video_id, f.idx, f.t, f.n_objects FROM frames f WHERE {where.text})",
                        False, False)

    def _frame_set_condition(self, set_key: str | None) -> Sql:
        query = self._restricted(compile_node(self.request.query, self.videos))
        if not self.request.filters:
            return query
        # Disjunctive facets need the query AND all filters but one, for each filtered facet: evaluate
        # the query and each facet's selection once, then intersect the parts a frame set needs.
        everything = query.text == TRUE.text
        parts = [*([] if everything else [None]), *(key for key in self.request.filters if key != set_key)]
        return joined([Sql(f"f.frame_id IN (SELECT frame_id FROM {self._part(key)})") for key in parts],
                      "AND", TRUE)

    def _restricted(self, condition: Sql) -> Sql:
        """``condition`` on this search's videos only."""
        if self.videos is None:
            return condition
        only = is_in("f.video_id", self.videos)
        return only if condition.text == TRUE.text else joined([only, condition], "AND", TRUE)

    def _part(self, key: str | None) -> str:
        """Temp table of the frame ids matching the query (None) or one facet's selection."""
        if key not in self.parts:
            table = f"scoop_part_{len(self.parts)}"
            where = self._part_condition(key)
            self._kept_table(table, ("part", where.text, where.params), "f.frame_id", where)
            self.parts[key] = table
        return self.parts[key]

    def _part_condition(self, key: str | None) -> Sql:
        node = self.request.query if key is None else filters_to_node(
            {key: self.request.filters[key]}, self.request.ontology)
        return self._restricted(compile_node(node, self.videos))

    def _frame_set_source(self, set_key: str | None) -> tuple:
        """What selects the frames of ``set_key``'s set, in SQL over the index's tables alone
        (:meth:`_frame_set_condition` names this search's temp tables): a key to keep it by."""
        query = self._part_condition(None)
        if not self.request.filters:
            return (query.text, query.params)
        parts = [*([] if query.text == TRUE.text else [None]), *(key for key in self.request.filters if key != set_key)]
        return tuple((where.text, where.params) for where in map(self._part_condition, parts))

    def _kept_table(self, table: str, source: tuple, columns: str, where: Sql, *, extra: str = "") -> None:
        """Temp table ``table`` of ``columns`` (and ``extra``) of the frames ``where`` holds: from
        the frame sets kept for ``source`` on this generation, or computed and then kept."""
        key = result_key(self.generation, source) if self.kept is not None else None
        rows = self.kept.claim(key) if key is not None else None
        if rows is None:
            try:
                self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {columns}{extra} FROM frames f "
                                 f"WHERE {where.text}", where.params)
                if key is not None:
                    names = ", ".join(column.split(".")[-1] for column in columns.split(", "))
                    self.kept.put(key, self.con.execute(f"SELECT {names} FROM {table}").fetchnumpy())
            finally:
                if key is not None:
                    self.kept.release(key)
            return
        view = f"scoop_kept_{id(self):x}"
        # A result this connection left unread (a fetchone) is ended first: register refuses to
        # run beside one, where execute would have dropped it.
        self.con.complete()
        self.con.register(view, pd.DataFrame(rows, copy=False))
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT *{extra} FROM {view}")
        finally:
            self.con.unregister(view)

    def _facets(self, facets: list[Facet], units: dict[str, str], *,
                disjunctive: bool = True) -> dict[str, dict[Any, float]]:
        """Facet counts; ``disjunctive`` False counts every facet over the main frame set."""
        counts = {facet.key: dict.fromkeys(facet.values, 0.0 if units[facet.key] == "seconds" else 0)
                  for facet in facets}
        groups: dict[tuple[str | None, str, str], list[Facet]] = {}
        for facet in facets:
            set_key = facet_set_key(self.request, facet) if disjunctive else None
            groups.setdefault((set_key, family_name(facet), units[facet.key]), []).append(facet)
        keys = AttrKeys(self.con) if any(family in KEYED_SCOPES for _, family, _ in groups) else None
        counts_clips: dict[str | None, bool] = {}
        for set_key, _, unit in groups:
            counts_clips[set_key] = counts_clips.get(set_key, False) or unit == "clips"
        for (set_key, family, unit), members in groups.items():
            if set_key is None or counts_clips[set_key]:
                frame_set = self._frame_set(set_key, clip_ids=counts_clips[set_key])
            else:
                frame_set = self._facet_frames(set_key)
            counted, params = FAMILIES[family], []
            if family in KEYED_SCOPES:
                targets, restriction = keys.targets(KEYED_SCOPES[family], members, counted.group)
                if len(set(targets.values())) < len(targets):
                    counted, params, targets = merged_family(counted, targets)
            else:
                targets = {value: (facet.key, value) for facet in members for value in facet.values}
                restriction = TRUE
            if not targets:
                continue
            sql = family_sql(counted, frame_set.table, unit, restriction, whole=frame_set.whole)
            rows = self.con.execute(sql, params + restriction.params).fetchall()
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


def _reaches_sequence(node: dict[str, Any]) -> bool:
    """Whether a sequence lies under ``node`` through and/or (where its lead may start a clip)."""
    (kind, body), = node.items()
    if kind in ("and", "or"):
        return any(_reaches_sequence(child) for child in body)
    return kind == "sequence"


# Clips -------------------------------------------------------------------------------------------


class ClipSpans:
    """The clips of a frame set, numbered in numpy from one fetch of its frames (clips: the search
    guide, docs/guide/search.md).

    Frames sort by video, time and index (they are nearly always stored in that order,
    which one comparison pass confirms); a clip starts at a video's first frame and
    wherever the time since the previous matching frame is not ``<= gap``, the same
    float comparison as :func:`indexer.search.semantics.clip_break_s` is written for."""

    def __init__(self, video: np.ndarray, t: np.ndarray, idx: np.ndarray, n_objects: np.ndarray,
                 fps: dict[int, float], gap: float, leads: tuple[np.ndarray, np.ndarray] | None = None):
        if leads is not None:
            self._by_leads(video, t, idx, n_objects, fps, gap, *leads)
            return
        if len(video) > 1 and not sorted_by(video, t, idx):
            order = np.lexsort((idx, t, video))
            video, t, idx, n_objects = video[order], t[order], idx[order], n_objects[order]
        self.video, self.t, self.idx, self.n_objects = video, t, idx, n_objects
        new_clip = np.ones(len(video), dtype=bool)
        new_clip[1:] = (video[1:] != video[:-1]) | ~(t[1:] - t[:-1] <= gap)
        self.starts = np.flatnonzero(new_clip)
        self.ends = np.append(self.starts[1:], len(video))[:len(self.starts)] - 1
        # One frame's duration per clip, from its video's frame rate.
        self.frame_s = np.array([1.0 / fps[int(v)] for v in video[self.starts]], dtype=float)
        self.start_t, self.start_idx = t[self.starts], idx[self.starts]
        self.end_t, self.end_idx = t[self.ends], idx[self.ends]

    def _by_leads(self, video: np.ndarray, t: np.ndarray, idx: np.ndarray, n_objects: np.ndarray,
                  fps: dict[int, float], gap: float, lead_t: np.ndarray, lead_idx: np.ndarray) -> None:
        """Clips of frames with leads (a query with a sequence): by (video, lead, t, idx), a clip
        from its first lead to its latest frame (:func:`~indexer.search.semantics.lead_clip_starts`)."""
        order = np.lexsort((idx, t, lead_idx, lead_t, video))
        video, t, idx, n_objects = video[order], t[order], idx[order], n_objects[order]
        lead_t, lead_idx = lead_t[order], lead_idx[order]
        self.video, self.t, self.idx, self.n_objects = video, t, idx, n_objects
        self.starts = np.flatnonzero(lead_clip_starts(video, t, lead_t, gap))
        self.ends = np.append(self.starts[1:], len(video))[:len(self.starts)] - 1
        self.frame_s = np.array([1.0 / fps[int(v)] for v in video[self.starts]], dtype=float)
        self.start_t, self.start_idx = lead_t[self.starts], lead_idx[self.starts]
        # The latest frame of each clip: the last of its rows by (clip, t, idx).
        clip_no = np.cumsum(lead_clip_starts(video, t, lead_t, gap)) - 1
        latest = np.lexsort((idx, t, clip_no))
        last = latest[np.append(np.flatnonzero(np.diff(clip_no[latest])), len(latest) - 1)] if len(latest) else latest
        self.end_t, self.end_idx = t[last], idx[last]

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection, table: str, gap: float, leads: str | None = None) -> ClipSpans:
        """The clips of the frames in ``table`` (with the leads of the table ``leads``)."""
        fps = dict(con.execute("SELECT video_id, fps FROM videos").fetchall())
        if leads is None:
            columns = con.execute(f"SELECT video_id, t, idx, n_objects FROM {table}").fetchnumpy()
            return cls(*(np.asarray(columns[name]) for name in ("video_id", "t", "idx", "n_objects")), fps, gap)
        columns = con.execute(
            f"SELECT s.video_id, s.t, s.idx, s.n_objects, coalesce(l.lead_t, s.t) AS lead_t, "
            f"coalesce(l.lead_idx, s.idx) AS lead_idx FROM {table} s LEFT JOIN {leads} l ON l.frame_id = s.frame_id"
        ).fetchnumpy()
        arrays = [np.asarray(columns[name]) for name in ("video_id", "t", "idx", "n_objects")]
        return cls(*arrays, fps, gap, (np.asarray(columns["lead_t"], dtype=float),
                                       np.asarray(columns["lead_idx"], dtype=np.int64)))

    def counts(self, tracks: int) -> dict[str, float]:
        """The search counts (``tracks``: the distinct tracks, counted in SQL)."""
        video = self.video
        videos = int(np.count_nonzero(video[1:] != video[:-1])) + 1 if len(video) else 0
        durations = (self.end_t + self.frame_s) - self.start_t
        return {"videos": videos, "clips": len(self.starts), "frames": len(video),
                "objects": int(self.n_objects.sum()), "tracks": int(tracks), "duration_s": float(durations.sum())}

    def page(self, offset: int, limit: int) -> list[Clip]:
        """``limit`` clips from the ``offset``-th, in (video, start) order."""
        page = slice(offset, offset + limit)
        return [
            Clip(video_id=int(self.video[first]), start_s=float(start_t),
                 end_s=float(end_t + frame_s), start_frame=int(start_idx),
                 end_frame=int(end_idx), frames=int(last - first + 1))
            for first, last, frame_s, start_t, start_idx, end_t, end_idx in zip(
                self.starts[page], self.ends[page], self.frame_s[page], self.start_t[page], self.start_idx[page],
                self.end_t[page], self.end_idx[page], strict=True)
        ]


def sorted_by(video: np.ndarray, t: np.ndarray, idx: np.ndarray) -> bool:
    """Whether rows are in (video, t, idx) order."""
    same_video = video[1:] == video[:-1]
    same_t = same_video & (t[1:] == t[:-1])
    return bool(np.all((video[1:] > video[:-1]) | (same_video & (t[1:] > t[:-1])) | (same_t & (idx[1:] > idx[:-1]))))
