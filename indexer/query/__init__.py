"""The query language (docs/guide/query-language.md): the JSON tree, its compact text form, and
validation against the ontology.

Users write the JSON query tree or the text form; :func:`indexer.query.tree.normalize`
checks it against the ontology and returns the **normalized tree** that every
backend evaluates. Normalized nodes, and nothing else:

    {"and": [node, ...]}            # empty: true
    {"or": [node, ...]}             # empty: false
    {"not": node}
    {"object": {"label": str | None, "attrs": {name: cond}, "confidence": range | None,
                "track": str | None}}
    {"frame": {name: cond}}         # one or more frame attributes, AND-ed
    {"video": {name: cond}}         # video attributes or built-ins name, camera, recorded_at
    {"event": {"label": str | None, "attrs": {name: cond}}}
    {"geo": {"bbox": [west, south, east, north]}}      # west > east crosses the antimeridian
    {"geo": {"polygon": [[lon, lat], ...]}}            # closed or not; 3..1000 vertices
    {"time": {"gte": float | None, "lte": float | None}}
    {"clock": {"gte": float | None, "lte": float | None}}     # recorded_at + t, epoch seconds
    {"hour": {"in": [int, ...], "tz": str}}                   # local hour 0..23 of the clock in tz
    {"weekday": {"in": ["mon", ...], "tz": str}}              # local ISO weekday of the clock in tz
    {"count": {"object": object body, "gte": int | None, "lte": int | None}}  # detections meeting it
    {"zone": {"object": object body, "name": str,
              "cameras": {camera: {"polygon": [[x, y], ...], "anchor": "bottom_center" | "center"}}}}
    {"sequence": {"first": node, "then": node, "within_s": float}}   # within_s > 0
    {"dwell": {"query": node, "min_s": float, "gap_s": float}}       # min_s >= 0, gap_s > 0

    cond  := {"in": [value, ...]} | {"gte": float | None, "lte": float | None}
    range := {"gte": float | None, "lte": float | None}

Values are typed by the ontology: ``str`` for categorical attributes, ``float``
for numeric, ``bool`` for boolean. Labels are canonical (synonyms resolved).
``recorded_at`` conditions are ranges of epoch seconds (UTC).
"""

from typing import Any

from indexer.ontology import Ontology
from indexer.query.errors import QueryError
from indexer.query.text import compile_text
from indexer.query.tree import DEFAULT_TIME_ZONE, ZoneSource, check_time_zone, normalize


def compile_query(*, query: Any = None, q: str | None = None, ontology: Ontology,
                  tz: str = DEFAULT_TIME_ZONE, zones: ZoneSource = None) -> dict:
    """The normalized tree of a request's query: ``query`` (a JSON query tree) or ``q``
    (the text form), at most one of them; neither matches everything. ``tz``: the request's
    time zone (``hour``, ``weekday`` and ``clock`` date-times without an offset); ``zones``:
    the zone definitions ``zone`` nodes name (:func:`~indexer.query.tree.normalize`).

    Errors in ``q`` carry ``position``/``line``/``column``, errors in ``query`` a ``path``.
    """
    if query is not None and q is not None:
        raise QueryError("give the query as a JSON tree (query) or as text (q), not both", path="q")
    check_time_zone(tz, "tz")
    if q is not None:
        if not isinstance(q, str):
            raise QueryError("the text query q must be a string", path="q")
        return compile_text(q, ontology, tz=tz, zones=zones)
    if query is None:
        return {"and": []}
    return normalize(query, ontology, tz=tz, zones=zones)
