"""The normalized query tree (:mod:`indexer.query`) compiled to SQL over the DuckDB tables.

Each node becomes one boolean SQL expression over ``frames f`` built from uncorrelated
``f.frame_id IN (SELECT ...)`` semi-joins, never NULL, so ``NOT`` is exact. Categorical and
boolean conditions match ``attr_keys`` ids, numbers the ``n`` column; both keep the typed-value
rule of :func:`~indexer.search.semantics.cond_holds`. Polygons run
:func:`~indexer.search.semantics.in_polygon`'s float expression term for term. Every value
is a bound parameter (:mod:`indexer.search.duckdb.sql`).
"""

from __future__ import annotations

from typing import Any

from indexer.search.duckdb.sql import FALSE, TRUE, Sql, is_in, joined
from indexer.search.semantics import WEEKDAY_NAMES, value_kind

# Conditions --------------------------------------------------------------------------------------


def _of_kind(values: list[Any], kind: str) -> list[Any]:
    # Numbers are compared as DOUBLE, like the stored values.
    return [float(value) if kind == "num" else value for value in values if value_kind(value) == kind]


def _range(column: str, cond: dict[str, Any]) -> Sql:
    """``{"gte", "lte"}`` on a number column; a missing value (NULL) never matches, even an open range."""
    parts = [Sql(f"{column} IS NOT NULL")]
    if cond.get("gte") is not None:
        parts.append(Sql(f"{column} >= ?", [float(cond["gte"])]))
    if cond.get("lte") is not None:
        parts.append(Sql(f"{column} <= ?", [float(cond["lte"])]))
    return joined(parts, "AND", TRUE)


def _number_cond(cond: dict[str, Any], column: str) -> Sql:
    """A condition on a column that only ever holds numbers (t, confidence)."""
    if "in" in cond:
        return is_in(column, _of_kind(cond["in"], "num"))
    return _range(column, cond)


def _attr_match(alias: str, scope: str, label: str | None, attr: str, cond: dict[str, Any]) -> Sql:
    """Rows of an attribute table (alias) whose attribute ``attr`` meets ``cond``.

    Categorical and boolean values are matched through ``attr_keys`` (an integer
    semi-join), numbers on ``n``. ``label`` restricts object attributes to a label.
    """
    on_label = [Sql(f"{alias}.label = ?", [label])] if label is not None and scope == "object" else []
    numbers = joined([*on_label, Sql(f"{alias}.name = ?", [attr])], "AND", TRUE)
    if "gte" in cond or "lte" in cond:
        return joined([numbers, _range(f"{alias}.n", cond)], "AND", TRUE)
    parts = []
    values = joined([is_in("k.s", _of_kind(cond["in"], "str")), is_in("k.b", _of_kind(cond["in"], "bool"))],
                    "OR", FALSE)
    if values is not FALSE and values.params:
        keys = [Sql("k.scope = ?", [scope]), Sql("k.name = ?", [attr]), values]
        if label is not None:
            keys.insert(1, Sql("k.label = ?", [label]))
        inner = joined(keys, "AND", TRUE)
        parts.append(Sql(f"{alias}.key_id IN (SELECT k.key_id FROM attr_keys k WHERE {inner.text})", inner.params))
    wanted_numbers = _of_kind(cond["in"], "num")
    if wanted_numbers:
        parts.append(joined([numbers, is_in(f"{alias}.n", wanted_numbers)], "AND", TRUE))
    return joined(parts, "OR", FALSE)


# Nodes -------------------------------------------------------------------------------------------


def _within(alias: str, videos: list[int] | None) -> list[Sql]:
    """Table ``alias`` restricted to ``videos`` (no condition for None): a subquery then reads
    only their row groups."""
    return [] if videos is None else [is_in(f"{alias}.video_id", videos)]


def _object_node(spec: dict[str, Any], videos: list[int] | None) -> Sql:
    label, attrs = spec.get("label"), list(spec.get("attrs", {}).items())
    on_objects = []
    if spec.get("track") is not None:
        on_objects.append(Sql("o.track = ?", [spec["track"]]))
    if spec.get("confidence") is not None:
        on_objects.append(_number_cond(spec["confidence"], "o.confidence"))
    if not attrs:
        where = ([Sql("o.label = ?", [label])] if label is not None else []) + on_objects
        if not where:
            return Sql("f.n_objects > 0")
        inner = joined(where + _within("o", videos), "AND", TRUE)
        return Sql(f"f.frame_id IN (SELECT o.frame_id FROM objects o WHERE {inner.text})", inner.params)
    # One object must meet every constraint: intersect object ids, starting from the first attribute
    # (each attribute match carries the label).
    where = [_attr_match("a0", "object", label, *attrs[0]), *_within("a0", videos)]
    for number, (attr, cond) in enumerate(attrs[1:], start=1):
        alias = f"a{number}"
        match = joined([_attr_match(alias, "object", label, attr, cond), *_within(alias, videos)], "AND", TRUE)
        where.append(Sql(f"a0.object_id IN (SELECT {alias}.object_id FROM object_attrs {alias} "
                         f"WHERE {match.text})", match.params))
    if on_objects:
        inner = joined(on_objects + _within("o", videos), "AND", TRUE)
        where.append(Sql(f"a0.object_id IN (SELECT o.object_id FROM objects o WHERE {inner.text})", inner.params))
    inner = joined(where, "AND", TRUE)
    return Sql(f"f.frame_id IN (SELECT a0.frame_id FROM object_attrs a0 WHERE {inner.text})", inner.params)


def _frame_node(body: dict[str, Any], videos: list[int] | None) -> Sql:
    parts = []
    for attr, cond in body.items():
        match = joined([_attr_match("fa", "frame", None, attr, cond), *_within("fa", videos)], "AND", TRUE)
        parts.append(Sql(f"f.frame_id IN (SELECT fa.frame_id FROM frame_attrs fa WHERE {match.text})",
                         match.params))
    return joined(parts, "AND", TRUE)


def _video_node(body: dict[str, Any], videos: list[int] | None) -> Sql:
    parts = []
    for attr, cond in body.items():
        match = joined([_attr_match("va", "video", None, attr, cond), *_within("va", videos)], "AND", TRUE)
        parts.append(Sql(f"f.video_id IN (SELECT va.video_id FROM video_attrs va WHERE {match.text})",
                         match.params))
    return joined(parts, "AND", TRUE)


def _event_node(spec: dict[str, Any], videos: list[int] | None) -> Sql:
    where = [Sql("e.label = ?", [spec["label"]])] if spec.get("label") is not None else []
    where += _within("e", videos)
    for attr, cond in spec.get("attrs", {}).items():
        match = _attr_match("ea", "event", None, attr, cond)
        where.append(Sql(f"e.event_id IN (SELECT ea.event_id FROM event_attrs ea WHERE {match.text})",
                         match.params))
    inner = joined(where, "AND", TRUE)
    return Sql(
        "f.frame_id IN (SELECT fr.frame_id FROM events e JOIN frames fr ON fr.video_id = e.video_id "
        f"AND fr.idx BETWEEN e.start_idx AND e.end_idx WHERE {inner.text})",
        inner.params,
    )


def _geo_node(spec: dict[str, Any], videos: list[int] | None = None) -> Sql:
    if "bbox" in spec:
        west, south, east, north = (float(value) for value in spec["bbox"])
        lon = "(f.lon >= ? AND f.lon <= ?)" if west <= east else "(f.lon >= ? OR f.lon <= ?)"
        return Sql(f"(f.lat IS NOT NULL AND f.lat >= ? AND f.lat <= ? AND {lon})", [south, north, west, east])
    polygon = [(float(vertex[0]), float(vertex[1])) for vertex in spec["polygon"]]
    previous = polygon[-1:] + polygon[:-1]
    within = joined(_within("p", videos), "AND", TRUE)
    # PNPOLY as a join: edge (i, j = i - 1) crosses the point's latitude iff min(yi, yj) <= lat < max(yi, yj);
    # the crossing test is semantics.in_polygon's float expression, term for term.
    return Sql(
        "f.frame_id IN (SELECT p.frame_id FROM frames p JOIN ("
        "SELECT unnest(?::DOUBLE[]) AS xi, unnest(?::DOUBLE[]) AS yi, "
        "unnest(?::DOUBLE[]) AS xj, unnest(?::DOUBLE[]) AS yj) e "
        "ON p.lat >= least(e.yi, e.yj) AND p.lat < greatest(e.yi, e.yj) "
        f"WHERE p.lon < (e.xj - e.xi) * (p.lat - e.yi) / (e.yj - e.yi) + e.xi AND {within.text} "
        "GROUP BY p.frame_id HAVING count(*) % 2 = 1)",
        [[x for x, _ in polygon], [y for _, y in polygon], [x for x, _ in previous], [y for _, y in previous],
         *within.params],
    )


def compile_node(node: dict[str, Any], videos: list[int] | None = None) -> Sql:
    """A normalized query node as a boolean SQL expression over ``frames f`` (never NULL).

    ``videos``: the frames are those of these videos only, and the subqueries read only their
    rows (the expression is the same on them)."""
    (kind, body), = node.items()
    if kind in ("and", "or"):
        return joined([compile_node(child, videos) for child in body], kind.upper(),
                      TRUE if kind == "and" else FALSE)
    if kind == "not":
        inner = compile_node(body, videos)
        return Sql(f"(NOT {inner.text})", inner.params)
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
    if kind in FRAME_LEVEL_NODES:
        return FRAME_LEVEL_NODES[kind](body, videos)
    if kind == "sequence":
        return _sequence_node(body, videos)
    if kind == "dwell":
        return _dwell_node(body, videos)
    raise ValueError(f"unknown query node {kind!r}")


# Sequences and dwell (rules: indexer.search.semantics, "Sequences and dwell") --------------------


def matching_rows(node: dict[str, Any], videos: list[int] | None, columns: str = "f.frame_id, f.video_id, f.t"
                  ) -> Sql:
    """``SELECT columns FROM frames f`` where ``node`` holds (on ``videos`` only)."""
    where = joined([compile_node(node, videos), *_within("f", videos)], "AND", TRUE)
    return Sql(f"SELECT {columns} FROM frames f WHERE {where.text}", where.params)


def _sequence_node(spec: dict[str, Any], videos: list[int] | None) -> Sql:
    # The latest frame of ``first`` strictly before each frame of ``then`` (an ASOF join) is the
    # one nearest in time, so the window holds a frame of ``first`` iff it holds that one.
    then = matching_rows(spec["then"], videos)
    first = matching_rows(spec["first"], videos, "f.video_id, f.t")
    return Sql(
        f"f.frame_id IN (SELECT b.frame_id FROM ({then.text}) b ASOF JOIN ({first.text}) a "
        "ON a.video_id = b.video_id AND b.t > a.t WHERE b.t - a.t <= ?)",
        [*then.params, *first.params, float(spec["within_s"])],
    )


def _dwell_node(spec: dict[str, Any], videos: list[int] | None) -> Sql:
    query = spec["query"]
    if "object" in query:
        # A track's frames where one of its detections meets the object node; untracked never count.
        match = joined([object_match(query["object"]), Sql("o.track IS NOT NULL"), *_within("o", videos)],
                       "AND", TRUE)
        rows = Sql("SELECT DISTINCT o.frame_id, o.video_id, o.track AS run_of, fr.t, fr.idx "
                   f"FROM objects o JOIN frames fr ON fr.frame_id = o.frame_id WHERE {match.text}", match.params)
    else:
        rows = matching_rows(query, videos, "f.frame_id, f.video_id, 0 AS run_of, f.t, f.idx")
    order = "PARTITION BY video_id, run_of ORDER BY t, idx"
    return Sql(
        "f.frame_id IN (SELECT frame_id FROM ("
        f"SELECT frame_id, t, first_value(t) OVER (PARTITION BY video_id, run_of, run ORDER BY t, idx) AS since "
        f"FROM (SELECT *, sum(fresh) OVER ({order} ROWS UNBOUNDED PRECEDING) AS run FROM ("
        f"SELECT *, CASE WHEN t - lag(t) OVER ({order}) < ? THEN 0 ELSE 1 END AS fresh FROM ({rows.text}) r))) "
        "WHERE t - since >= ?)",
        [float(spec["gap_s"]), *rows.params, float(spec["min_s"])],
    )


# Parts of statistics and labels queries ----------------------------------------------------------


def located(bbox: list[float] | None) -> Sql:
    """Frames ``f`` with a location, inside ``bbox`` when one is given (as a ``geo`` node)."""
    return _geo_node({"bbox": bbox}) if bbox is not None else Sql("f.lat IS NOT NULL")


def object_match(spec: dict[str, Any]) -> Sql:
    """An ``object`` node's constraints on one detection ``o`` (not on its frame)."""
    label = spec.get("label")
    parts = [Sql("o.label = ?", [label])] if label is not None else []
    if spec.get("track") is not None:
        parts.append(Sql("o.track = ?", [spec["track"]]))
    if spec.get("confidence") is not None:
        parts.append(_number_cond(spec["confidence"], "o.confidence"))
    for attr, cond in spec.get("attrs", {}).items():
        match = _attr_match("a", "object", label, attr, cond)
        parts.append(Sql(f"o.object_id IN (SELECT a.object_id FROM object_attrs a WHERE {match.text})",
                         match.params))
    return joined(parts, "AND", TRUE)


# Wall-clock time and counts (issue 21) -----------------------------------------------------------

# A frame's clock time (semantics.frame_clock): one DOUBLE addition, as in Python.
_CLOCK = "(v.recorded_at + c.t)"
# ... floored to the second and read in a zone (ICU, built into DuckDB): semantics.local_hour_weekday.
_LOCAL = f"timezone(?, to_timestamp(floor({_CLOCK})))"


def _clocked_frames(conditions: list[Sql], videos: list[int] | None) -> Sql:
    """Frames ``f`` of videos with a ``recorded_at`` whose clock time meets ``conditions``."""
    where = joined([Sql("v.recorded_at IS NOT NULL"), *conditions, *_within("c", videos)], "AND", TRUE)
    return Sql(f"f.frame_id IN (SELECT c.frame_id FROM frames c JOIN videos v ON v.video_id = c.video_id "
               f"WHERE {where.text})", where.params)


def _clock_node(spec: dict[str, Any], videos: list[int] | None) -> Sql:
    return _clocked_frames([_range(_CLOCK, spec)], videos)


def _hour_node(spec: dict[str, Any], videos: list[int] | None) -> Sql:
    if not spec["in"]:
        return FALSE
    return _clocked_frames([Sql(f"hour({_LOCAL}) IN (SELECT unnest(?::INTEGER[]))", [spec["tz"], spec["in"]])],
                           videos)


def _weekday_node(spec: dict[str, Any], videos: list[int] | None) -> Sql:
    days = [WEEKDAY_NAMES.index(day) + 1 for day in spec["in"]]  # isodow: Monday is 1
    if not days:
        return FALSE
    return _clocked_frames([Sql(f"isodow({_LOCAL}) IN (SELECT unnest(?::INTEGER[]))", [spec["tz"], days])], videos)


def _count_node(spec: dict[str, Any], videos: list[int] | None) -> Sql:
    """Detections of the frame meeting the object body, counted: frames with at least ``gte`` of
    them, and not at least ``lte + 1`` (so frames with none, absent from ``objects``, count 0)."""
    def at_least(count: int) -> Sql:
        match = joined([object_match(spec["object"]), *_within("o", videos)], "AND", TRUE)
        return Sql(f"f.frame_id IN (SELECT o.frame_id FROM objects o WHERE {match.text} "
                   "GROUP BY o.frame_id HAVING count(*) >= ?)", [*match.params, count])

    parts = []
    if spec.get("gte") is not None and spec["gte"] > 0:
        parts.append(at_least(int(spec["gte"])))
    if spec.get("lte") is not None:
        above = at_least(int(spec["lte"]) + 1)
        parts.append(Sql(f"(NOT {above.text})", above.params))
    return joined(parts, "AND", TRUE)


def _zone_node(spec: dict[str, Any], videos: list[int] | None) -> Sql:
    """Detections meeting the object body whose box's anchor point lies in their camera's polygon:
    per camera, PNPOLY as in :func:`_geo_node` with x as lon and y as lat
    (semantics.anchor_point's float expressions)."""
    parts = []
    for camera, zone in spec["cameras"].items():
        x = "(o.x1 + o.x2) / 2"
        y = "o.y2" if zone["anchor"] == "bottom_center" else "(o.y1 + o.y2) / 2"
        polygon = [(float(vertex[0]), float(vertex[1])) for vertex in zone["polygon"]]
        previous = polygon[-1:] + polygon[:-1]
        placed = joined([Sql("v.camera = ?", [camera]), Sql("o.x1 IS NOT NULL"), object_match(spec["object"]),
                         *_within("o", videos)], "AND", TRUE)
        parts.append(Sql(
            f"f.frame_id IN (SELECT p.frame_id FROM (SELECT o.object_id, o.frame_id, {x} AS x, {y} AS y "
            f"FROM objects o JOIN videos v ON v.video_id = o.video_id WHERE {placed.text}) p JOIN ("
            "SELECT unnest(?::DOUBLE[]) AS xi, unnest(?::DOUBLE[]) AS yi, "
            "unnest(?::DOUBLE[]) AS xj, unnest(?::DOUBLE[]) AS yj) e "
            "ON p.y >= least(e.yi, e.yj) AND p.y < greatest(e.yi, e.yj) "
            "WHERE p.x < (e.xj - e.xi) * (p.y - e.yi) / (e.yj - e.yi) + e.xi "
            "GROUP BY p.object_id, p.frame_id HAVING count(*) % 2 = 1)",
            [*placed.params, [x for x, _ in polygon], [y for _, y in polygon], [x for x, _ in previous],
             [y for _, y in previous]],
        ))
    return joined(parts, "OR", FALSE)


FRAME_LEVEL_NODES = {"clock": _clock_node, "hour": _hour_node, "weekday": _weekday_node, "count": _count_node,
                     "zone": _zone_node}
