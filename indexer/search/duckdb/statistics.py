"""Statistics in DuckDB: occurrence, co-occurrence, tiles, time bins, detections and labels.

Statistics (the statistics guide, docs/guide/statistics.md) read the main frame set only:
the query AND all filters (clip ids are computed only when they count clips). Occurrence
runs the facet families over it; co-occurrence joins two facets' (unit, value) rows on the
unit; tiles and time bins evaluate the float expressions of
:func:`~indexer.search.semantics.tile_of` and :func:`~indexer.search.semantics.bin_of` in
SQL term for term; the iterators (located
frames, detections) run on a cursor of their own, so that their temp tables
outlive other calls on the thread's reader, and detections sort one video at
a time.
"""

from __future__ import annotations

from typing import Any

import duckdb

from indexer.facets import Facet
from indexer.ontology import REVIEW
from indexer.search.contract import (
    Cooccurrence,
    CooccurrencePairs,
    Detection,
    Feature,
    Histogram,
    MatchedTrack,
    SearchRequest,
    Timeline,
)
from indexer.search.duckdb.compiler import compile_node, located, object_match
from indexer.search.duckdb.facets import FAMILIES, KEYED_SCOPES, AttrKeys, family_name
from indexer.search.duckdb.result_cache import KeptFrames
from indexer.search.duckdb.search import FrameSet, Search
from indexer.search.duckdb.sql import TRUE, Sql, joined
from indexer.search.semantics import (
    MAX_MERCATOR_LAT,
    VIDEO_TIME_WIDTHS,
    WALL_CLOCK_WIDTHS,
    facet_frame_node,
    positive_object_specs,
    requested_facets,
    time_bins,
)

# Rows --------------------------------------------------------------------------------------------

# Effective attributes of some detections as one list per object; ``{where}`` restricts ``a``.
ATTRS_CTE = """attrs AS (
    SELECT a.object_id, list(struct_pack(name := a.name, s := k.s, b := k.b, n := a.n)) AS attrs
    FROM object_attrs a LEFT JOIN attr_keys k ON k.key_id = a.key_id
    WHERE {where} GROUP BY a.object_id)"""
SCOPE_UNITS = {"object": "x.object_id", "frame": "x.frame_id", "clip": "m.clip_id"}


def attr_dict(rows: list[dict[str, Any]] | None) -> dict[str, Any]:
    """``attrs`` list rows as ``{name: value}`` (text, boolean or number)."""
    values = {}
    for row in rows or ():
        values[row["name"]] = row["s"] if row["s"] is not None else row["b"] if row["b"] is not None else row["n"]
    return values


def box_list(x1: float | None, y1: float | None, x2: float | None, y2: float | None) -> list[float] | None:
    """A stored box as a list; None when the detection has none."""
    return None if x1 is None else [x1, y1, x2, y2]


# Statistics --------------------------------------------------------------------------------------


class Stats(Search):
    """Statistics of one request on one connection, over its main frame set (query AND all filters)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, request: SearchRequest, *, clip_ids: bool,
                 kept: KeptFrames | None = None, generation: Any = None):
        super().__init__(con, request, clip_ids=clip_ids, kept=kept, generation=generation)
        self.units_table: str | None = None

    def drop(self) -> None:
        """Drop this search's temp tables, the units table of :meth:`pairs` included."""
        super().drop()
        if self.units_table:
            self.con.execute(f"DROP TABLE IF EXISTS temp.{self.units_table}")

    def main(self) -> FrameSet:
        """The main frame set (the query AND every filter)."""
        return self._frame_set(None)

    def occurrence(self, unit: str) -> dict[str, dict[Any, float]]:
        """Every requested facet over the main frame set, in ``unit``."""
        facets = requested_facets(self.request)
        return self._facets(facets, {facet.key: unit for facet in facets}, disjunctive=False)

    def _features(self, facets: list[Facet], scope: str, ids: dict[Feature, int]) -> Sql:
        """``SELECT unit, g, f``: the units of ``scope`` having each value of ``facets``, as its
        feature id ``f`` (from ``ids``) and its facet's position ``g`` in ``facets``."""
        main = self.main()
        position = {facet.key: i for i, facet in enumerate(facets)}
        families: dict[str, list[Facet]] = {}
        for facet in facets:
            families.setdefault(family_name(facet), []).append(facet)
        keys = AttrKeys(self.con) if any(name in KEYED_SCOPES for name in families) else None
        parts = []
        for name, members in families.items():
            family = FAMILIES[name]
            if name in KEYED_SCOPES:
                targets, _ = keys.targets(KEYED_SCOPES[name], members, family.group)
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
                unit = SCOPE_UNITS[scope]
            else:
                source = family.source.format(m=main.table)
                unit = "m.frame_id" if scope == "frame" else "m.clip_id"
            distinct = "" if scope == "object" else "DISTINCT "
            values = list(targets)
            parts.append(Sql(
                f"SELECT {distinct}{unit} AS unit, map.g, map.f FROM {source} JOIN {mapping} ON map.k = {family.group}",
                [values, [position[targets[v][0]] for v in values], [ids[targets[v]] for v in values]],
            ))
        if not parts:
            return Sql("SELECT CAST(NULL AS BIGINT) AS unit, CAST(NULL AS INTEGER) AS g, "
                       "CAST(NULL AS INTEGER) AS f WHERE FALSE")
        return Sql(" UNION ALL ".join(part.text for part in parts), [p for part in parts for p in part.params])

    def total(self, scope: str) -> int:
        """The units of ``scope`` in the main frame set: detections, frames or clips."""
        table = self.main().table
        sql = {"object": f"SELECT coalesce(sum(n_objects), 0) FROM {table}",
               "frame": f"SELECT count(*) FROM {table}",
               "clip": f"SELECT count(DISTINCT clip_id) FROM {table}"}[scope]
        return int(self.con.execute(sql).fetchone()[0])

    def cooccurrence(self, a: Facet, b: Facet, scope: str) -> Cooccurrence:
        """The matrix of ``a`` x ``b``: one join of the two facets' (unit, value) rows on the unit."""
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
        """Marginals and pair counts: a self-join of every facet's (unit, value) rows on the unit."""
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
        """Tiles of the located frames in ``bbox``, computed in SQL with the float expression of
        :func:`~indexer.search.semantics.tile_of`."""
        source = self.located_source()
        where = located(bbox)
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
        """The data range first, then one grouped count per axis, in the bins of
        :func:`~indexer.search.semantics.time_bins`."""
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


# Detections and labels ---------------------------------------------------------------------------

# Every detection of one video in the frame set ``{m}``, in frame and record order.
DETECTIONS = """WITH {attrs}
SELECT o.video_id, v.name, f.idx, f.t, o.label, o.track, o.confidence, o.x1, o.y1, o.x2, o.y2, f.lat, f.lon,
       oa.attrs
FROM objects o JOIN {m} m ON m.frame_id = o.frame_id JOIN frames f ON f.frame_id = o.frame_id
JOIN videos v ON v.video_id = o.video_id
LEFT JOIN attrs oa ON oa.object_id = o.object_id
WHERE o.video_id = $video_id
ORDER BY o.frame_id, o.object_id"""


# The tracks of the detections a search matches: per (video, track), the first and the last
# matched detection by (frame_id, object_id), the order of DETECTIONS; the first one's own
# attributes, less the review state laid over them.
MATCHED_TRACKS = """WITH hit AS (
    SELECT o.object_id, o.frame_id, o.video_id, o.track, o.label, f.idx, f.t
    FROM objects o JOIN {m} m ON m.frame_id = o.frame_id JOIN frames f ON f.frame_id = o.frame_id
    WHERE o.track IS NOT NULL AND {specs}),
spans AS (
    SELECT video_id, track, min((frame_id, object_id)) AS first_key,
           arg_min(object_id, (frame_id, object_id)) AS first_object,
           arg_min(label, (frame_id, object_id)) AS label,
           arg_min(idx, (frame_id, object_id)) AS start_idx, arg_min(t, (frame_id, object_id)) AS start_t,
           arg_max(idx, (frame_id, object_id)) AS end_idx, arg_max(t, (frame_id, object_id)) AS end_t
    FROM hit GROUP BY video_id, track),
{attrs}
SELECT s.video_id, v.name, s.track, s.label, oa.attrs, s.start_idx, s.start_t, s.end_idx, s.end_t
FROM spans s JOIN videos v ON v.video_id = s.video_id LEFT JOIN attrs oa ON oa.object_id = s.first_object
ORDER BY s.video_id, s.first_key"""


def matched_tracks(stats: Stats, request: SearchRequest) -> list[MatchedTrack]:
    """The contract's matched tracks from the main frame set of ``stats`` in one query."""
    specs = joined([object_match(spec) for spec in positive_object_specs(facet_frame_node(request, None))],
                   "OR", TRUE)
    attrs = ATTRS_CTE.format(where=f"a.name <> '{REVIEW}' AND a.object_id IN (SELECT first_object FROM spans)")
    rows = stats.con.execute(MATCHED_TRACKS.format(m=stats.main().table, specs=specs.text, attrs=attrs),
                             specs.params).fetchall()
    return [MatchedTrack(video_id=video_id, video_name=name, track=track, label=label, attrs=attr_dict(found),
                         start_index=start_idx, start_t=start_t, end_index=end_idx, end_t=end_t)
            for video_id, name, track, label, found, start_idx, start_t, end_idx, end_t in rows]


def row_detection(row: tuple) -> Detection:
    """One row of :data:`DETECTIONS` as a :class:`~indexer.search.contract.Detection`."""
    video_id, name, index, t, label, track, confidence, x1, y1, x2, y2, lat, lon, attrs = row
    box = box_list(x1, y1, x2, y2)
    return Detection(video_id=video_id, video_name=name, index=index, t=t, label=label, track=track,
                     confidence=confidence, box=None if box is None else tuple(box), attrs=attr_dict(attrs),
                     lat=lat, lon=lon)


def matched_ids(con: duckdb.DuckDBPyConnection, window: Sql, request: SearchRequest) -> tuple[set[int], set[int]]:
    """The ids of the frames of a labels window that match the request, and of their objects
    meeting one of its positive object predicates (all of them when there is none)."""
    node = facet_frame_node(request, None)
    matching = joined([window, compile_node(node)], "AND", TRUE)
    frames = {row[0] for row in con.execute(
        f"SELECT f.frame_id FROM frames f WHERE {matching.text}", matching.params).fetchall()}
    specs = joined([object_match(spec) for spec in positive_object_specs(node)], "OR", TRUE)
    objects = {row[0] for row in con.execute(
        f"SELECT o.object_id FROM objects o WHERE o.frame_id IN (SELECT f.frame_id FROM frames f "
        f"WHERE {matching.text}) AND {specs.text}", matching.params + specs.params).fetchall()}
    return frames, objects
