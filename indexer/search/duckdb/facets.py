"""Facet counts in DuckDB: one grouped aggregation per facet family over a frame set.

Facets of one kind are counted together by one grouped query over the table of a frame set
(``m``): labels, object attributes, frame attributes, video attributes, event labels and
event attributes (:data:`FAMILIES`), in any unit of the facets guide (docs/guide/facets.md).
Families of typed attributes group by ``attr_keys`` id and read their values back through
:class:`AttrKeys`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from indexer.facets import Facet
from indexer.search.duckdb.sql import TRUE, Sql, is_in
from indexer.search.semantics import MAX_FRAME_INDEX, typed_key

# Families ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
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
FAMILIES = {
    "label": Family("objects x", "x.label", True),
    "object": Family("object_attrs x", "x.key_id", True),
    "frame": Family("frame_attrs a JOIN {m} m ON a.frame_id = m.frame_id", "a.key_id", False),
    "video": Family("video_attrs a JOIN {m} m ON a.video_id = m.video_id", "a.key_id", False),
    "event": Family(f"{_EVENT_SPANS} JOIN {{m}} m ON m.frame_id BETWEEN e.lo AND e.hi", "e.label", False,
                    distinct=True),
    "event_attr": Family(
        f"{_EVENT_SPANS} JOIN event_attrs a ON a.event_id = e.event_id "
        "JOIN {m} m ON m.frame_id BETWEEN e.lo AND e.hi",
        "a.key_id", False, distinct=True),
}
KEYED_SCOPES = {"object": "object", "frame": "frame", "video": "video", "event_attr": "event"}
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


def family_name(facet: Facet) -> str:
    """The family (a key of :data:`FAMILIES`) that counts a facet."""
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


def family_sql(family: Family, table: str, unit: str, restriction: Sql, *, whole: bool) -> str:
    """The grouped count of one family; ``whole`` when ``table`` holds every frame (no join needed).

    Unit ``seconds`` answers (value, video id, frames) rows, for :func:`~indexer.search.semantics.seconds_of`."""
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


def merged_family(family: Family, targets: dict[int, tuple[str, Any]]
                  ) -> tuple[Family, list[Any], dict[int, tuple[str, Any]]]:
    """A keyed family in which several key ids count as one facet value (a facet of any label,
    such as ``review``: each label has key ids of its own for the value), grouped by the value's
    number instead of the key id, so that a frame or track with two labels counts once. Returns
    the family, the parameters its source takes (before any other) and the targets by number."""
    numbers = {target: number for number, target in enumerate(dict.fromkeys(targets.values()))}
    key_ids = list(targets)
    source = (f"{family.source} JOIN (SELECT unnest(?::INTEGER[]) AS k, unnest(?::INTEGER[]) AS g) map "
              f"ON map.k = {family.group}")
    params = [key_ids, [numbers[targets[key_id]] for key_id in key_ids]]
    return (Family(source, "map.g", family.per_object, family.distinct), params,
            {number: target for target, number in numbers.items()})


# Attribute keys ----------------------------------------------------------------------------------


class AttrKeys:
    """The ``attr_keys`` dictionary: which key ids stand for which facet values."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.rows = con.execute("SELECT key_id, scope, label, name, s, b FROM attr_keys").fetchall()

    def targets(self, scope: str, facets: list[Facet], column: str) -> tuple[dict[int, tuple[str, Any]], Sql]:
        """{key_id: (facet key, facet value)} for ``facets``, and a restriction of ``column`` to
        those keys (none when they are all the keys of the scope)."""
        wanted = {facet.key: {typed_key(value): value for value in facet.values} for facet in facets}
        # An object facet of any label (``review``) takes the rows of its attribute under every label.
        any_label = {facet.attr: facet.key for facet in facets if facet.kind == "object" and facet.label is None}
        in_scope = [row for row in self.rows if row[1] == scope]
        targets = {}
        for key_id, _, label, name, s, b in in_scope:
            facet_key = any_label.get(name) or _facet_key_of(scope, label, name)
            value = s if s is not None else b
            if typed_key(value) in wanted.get(facet_key, {}):
                targets[key_id] = (facet_key, wanted[facet_key][typed_key(value)])
        if len(targets) == len(in_scope):
            return targets, TRUE
        return targets, is_in(column, sorted(targets))
