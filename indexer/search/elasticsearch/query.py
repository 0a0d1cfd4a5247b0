"""The Elasticsearch engine's vocabulary: document types and typed terms shared by documents,
queries and facets, and the compiler from the normalized query tree (:mod:`indexer.query`) to
Elasticsearch queries over frame documents (layout in :mod:`indexer.search.elasticsearch.documents`).

**Typed terms.** A value is stored and looked up as the JSON text of a list whose last item is
the value itself: ``["color","black"]``, ``["parked",true]``, ``["speed",3.0]``. JSON keeps the
three kinds apart, so ``"true"``, ``true`` and ``1.0`` never meet (the typed-value rule of
:func:`indexer.search.semantics.cond_holds`). Numbers are written as doubles (``1`` becomes ``1.0``,
``-0.0`` becomes ``0.0``: numbers compare as doubles, as in the DuckDB engine); ``NaN`` and
``Infinity`` keep their JSON5 spelling because Elasticsearch's ``double`` fields only hold finite
numbers, so non-finite attribute values live in the terms alone. Ranges use the ``nums`` nested
objects (``{"name", "n"}``, finite numbers only) plus the non-finite terms that satisfy the range.

**Queries.** Every node compiles to one filter-context query, never scored:
``and`` to ``bool.filter``, ``or`` to ``bool.should`` with ``minimum_should_match: 1``, ``not`` to
``bool.must_not`` (a missing value meets no condition, so ``not`` of it holds, as the shared rules say),
``object``/``event`` to one ``nested`` query holding all of the node's constraints (one object
meets them all), ``time`` to a ``range`` on ``t``. ``geo`` compares the exact ``lat``/``lon``
doubles: a ``geo_point`` is stored rounded to about 1e-7 degrees, which would move points that lie
on a box edge or a polygon edge, so bounding boxes are ``range`` queries on ``lat``/``lon`` (west >
east becomes "lon >= west OR lon <= east", the antimeridian rule of
:func:`~indexer.search.semantics.in_bbox`), and polygons are a latitude ``range`` prefilter
(PNPOLY only counts edges whose latitude span holds the point, so it drops nothing) plus a
Painless ``script`` query that runs the PNPOLY expression of
:func:`~indexer.search.semantics.in_polygon` term for term on Java doubles: the same IEEE
operations in the same order, hence the same answer on every boundary point.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from elasticsearch.dsl import Q
from elasticsearch.dsl.query import Query

from indexer.facets import Facet
from indexer.search.semantics import WEEKDAY_NAMES, cond_holds, value_kind

T = TypeVar("T")

FRAME = "frame"  # doc_type of frame documents, and the scope of frame attributes in terms
VIDEO = "video"  # doc_type of pointer documents, and the scope of video attributes in terms
TRACK = "track"  # doc_type of track documents (similarity search)
# Values an attribute can hold that Elasticsearch's double fields refuse.
NON_FINITE = (math.nan, math.inf, -math.inf)
MATCH_ALL = Q("match_all")
MATCH_NONE = Q("match_none")

# PNPOLY exactly as indexer.search.semantics.in_polygon, on the point (x, y) that the script's
# first lines read: edge (i, j = i - 1) over the polygon's vertices params.xs and params.ys.
PNPOLY_LOOP = """
List xs = params.xs;
List ys = params.ys;
int n = xs.size();
boolean inside = false;
for (int i = 0; i < n; ++i) {
  int j = i == 0 ? n - 1 : i - 1;
  double xi = ((Number) xs.get(i)).doubleValue();
  double yi = ((Number) ys.get(i)).doubleValue();
  double xj = ((Number) xs.get(j)).doubleValue();
  double yj = ((Number) ys.get(j)).doubleValue();
  if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { inside = !inside; }
}
return inside;
"""

# A frame's location: latitude is y and longitude x. Frames without a location never match.
PNPOLY = """
if (doc['lat'].size() == 0) { return false; }
double y = doc['lat'].value;
double x = doc['lon'].value;""".strip() + PNPOLY_LOOP.rstrip()


# Terms -------------------------------------------------------------------------------------------

_UNTYPED = object()


def typed(value: Any) -> Any:
    """The value as it is stored: numbers as doubles; ``_UNTYPED`` for what matches nothing."""
    kind = value_kind(value)
    if kind is None:
        return _UNTYPED
    if kind == "num":
        try:
            return float(value) + 0.0  # + 0.0 turns -0.0 into 0.0, which compares equal to it
        except OverflowError:
            return _UNTYPED
    return value


# index.max_terms_count's default: the most values one terms query may list.
TERMS_LIMIT = 65_536


def batched(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``values`` in consecutive slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def terms_in(field: str, values: Sequence[Any]) -> Query:
    """``field`` holds one of ``values``: one ``terms`` query per :data:`TERMS_LIMIT` values."""
    parts = [Q("terms", **{field: list(part)}) for part in batched(values, TERMS_LIMIT)]
    return any_of(parts)


def live_key(video_id: int, gen: str) -> str:
    """``vgen`` of a video's frames in one generation: what searches filter on."""
    return f"{video_id}:{gen}"


def track_key(video_id: int, track: str) -> str:
    """The ``vtrack`` term of a track: candidates are filtered on it."""
    return f"{video_id}:{track}"


def is_typed(value: Any) -> bool:
    """Whether :func:`typed` found the value a kind (else it matches nothing)."""
    return value is not _UNTYPED


def term(*parts: Any) -> str:
    """One keyword term: the JSON text of ``parts`` (the last part a typed value, or a name)."""
    # UTF-8 as it is (not \u escapes, six bytes a character): a term is indexed whole, at most
    # MAX_TERM_BYTES, and validation limits the values themselves to that.
    return json.dumps(list(parts), separators=(",", ":"), ensure_ascii=False)


def value_term(*names: str, value: Any) -> str | None:
    """The term of a typed value under ``names``; None when the value matches nothing."""
    stored = typed(value)
    return term(*names, stored) if is_typed(stored) else None


def facet_term(facet: Facet, value: Any) -> str:
    """The term a frame (field ``keys``) or an object (``objects.facets``) carries when a facet value
    applies to it."""
    if facet.kind == "label":
        return term("label", value)
    if facet.kind == "object":
        return term("object", facet.label, facet.attr, value)
    if facet.kind == "event":
        return term("event", value) if facet.attr is None else term("event", facet.label, facet.attr, value)
    return term(facet.kind, facet.attr, value)


def is_finite_number(value: Any) -> bool:
    """Whether a value is a number Elasticsearch's ``double`` fields can hold."""
    return value_kind(value) == "num" and math.isfinite(value)


# Conditions --------------------------------------------------------------------------------------


def all_of(parts: list[Query]) -> Query:
    """The AND of ``parts``, flattened: ``match_all`` is dropped, a filter-only ``bool`` is inlined."""
    flat: list[Query] = []
    for part in parts:
        body = part.to_dict()
        if body == MATCH_ALL.to_dict():
            continue
        if list(body) == ["bool"] and list(body["bool"]) == ["filter"]:
            flat.extend(part.filter)
        else:
            flat.append(part)
    if not flat:
        return MATCH_ALL
    return flat[0] if len(flat) == 1 else Q("bool", filter=flat)


def any_of(parts: list[Query]) -> Query:
    """The OR of ``parts``; ``match_none`` for none."""
    if not parts:
        return MATCH_NONE
    return parts[0] if len(parts) == 1 else Q("bool", should=parts, minimum_should_match=1)


def _bounds(cond: dict[str, Any]) -> dict[str, float]:
    return {bound: float(cond[bound]) for bound in ("gte", "lte") if cond.get(bound) is not None}


def number_field(field: str, cond: dict[str, Any]) -> Query:
    """A condition on a field that only ever holds finite numbers (``t``, ``confidence``)."""
    if "in" in cond:
        wanted = sorted({float(value) + 0.0 for value in cond["in"] if is_finite_number(value)})
        return Q("terms", **{field: wanted}) if wanted else MATCH_NONE
    bounds = _bounds(cond)
    return Q("range", **{field: bounds}) if bounds else Q("exists", field=field)


def attr_cond(cond: dict[str, Any], *, keys: str, nums: str, names: tuple[str, ...], num_name: str) -> Query:
    """A typed condition on one attribute.

    ``keys`` is the keyword field holding the terms ``term(*names, value)``; ``nums`` the path of
    the nested ``{"name", "n"}`` objects holding its finite numbers under ``num_name``.
    """
    if "in" in cond:
        wanted = {value_term(*names, value=value) for value in cond["in"] if not _is_nan(value)}
        wanted.discard(None)
        return Q("terms", **{keys: sorted(wanted)}) if wanted else MATCH_NONE
    on_number = [Q("term", **{f"{nums}.name": num_name})]
    bounds = _bounds(cond)
    if bounds:
        on_number.append(Q("range", **{f"{nums}.n": bounds}))
    parts = [Q("nested", path=nums, query=all_of(on_number), score_mode="none")]
    specials = [term(*names, value) for value in NON_FINITE if cond_holds(cond, value)]
    if specials:
        parts.append(Q("terms", **{keys: specials}))
    return any_of(parts)


def _is_nan(value: Any) -> bool:
    # NaN equals nothing, not even a stored NaN.
    return value_kind(value) == "num" and math.isnan(value)


# Nodes -------------------------------------------------------------------------------------------


def _object_node(spec: dict[str, Any]) -> Query:
    inside = []
    if spec.get("label") is not None:
        inside.append(Q("term", **{"objects.label": spec["label"]}))
    if spec.get("track") is not None:
        inside.append(Q("term", **{"objects.track": spec["track"]}))
    if spec.get("confidence") is not None:
        inside.append(number_field("objects.confidence", spec["confidence"]))
    for attr, cond in spec.get("attrs", {}).items():
        inside.append(attr_cond(cond, keys="objects.attrs", nums="objects.nums", names=(attr,), num_name=attr))
    return Q("nested", path="objects", query=all_of(inside), score_mode="none")


def _event_node(spec: dict[str, Any]) -> Query:
    inside = [Q("term", **{"events.label": spec["label"]})] if spec.get("label") is not None else []
    for attr, cond in spec.get("attrs", {}).items():
        inside.append(attr_cond(cond, keys="events.attrs", nums="events.nums", names=(attr,), num_name=attr))
    return Q("nested", path="events", query=all_of(inside), score_mode="none")


def _scoped_node(scope: str, body: dict[str, Any]) -> Query:
    """``frame`` and ``video`` nodes: terms in ``keys``, numbers in ``nums`` named ``[scope, attr]``."""
    return all_of([
        attr_cond(cond, keys="keys", nums="nums", names=(scope, attr), num_name=term(scope, attr))
        for attr, cond in body.items()
    ])


def _geo_node(spec: dict[str, Any]) -> Query:
    if "bbox" in spec:
        west, south, east, north = (float(value) for value in spec["bbox"])
        lat = Q("range", lat={"gte": south, "lte": north})
        if west <= east:
            return all_of([lat, Q("range", lon={"gte": west, "lte": east})])
        return all_of([lat, any_of([Q("range", lon={"gte": west}), Q("range", lon={"lte": east})])])
    xs = [float(vertex[0]) for vertex in spec["polygon"]]
    ys = [float(vertex[1]) for vertex in spec["polygon"]]
    crossing_span = Q("range", lat={"gte": min(ys), "lte": max(ys)})
    script = Q("script", script={"source": PNPOLY, "lang": "painless", "params": {"xs": xs, "ys": ys}})
    return all_of([crossing_span, script])


def compile_node(node: dict[str, Any]) -> Query:
    """A normalized query node as an Elasticsearch query over frame documents."""
    ((kind, body),) = node.items()
    if kind == "and":
        return all_of([compile_node(child) for child in body])
    if kind == "or":
        return any_of([compile_node(child) for child in body])
    if kind == "not":
        return Q("bool", must_not=[compile_node(body)])
    if kind == "object":
        return _object_node(body)
    if kind in ("frame", "video"):
        return _scoped_node(kind, body)
    if kind == "event":
        return _event_node(body)
    if kind == "geo":
        return _geo_node(body)
    if kind == "time":
        return number_field("t", body)
    if kind in FRAME_LEVEL_NODES:
        return FRAME_LEVEL_NODES[kind](body)
    if kind == "frames":
        return frames_node(body)
    if kind in ("sequence", "dwell"):
        raise ValueError(f"a {kind} node is resolved into frames before it compiles "
                         "(indexer.search.elasticsearch.temporal)")
    raise ValueError(f"unknown query node {kind!r}")


# Wall-clock time and counts (issue 21) -----------------------------------------------------------

# A frame's clock time is recorded_at + t (semantics.frame_clock): frame documents carry their
# video's recorded_at (none without one, so these scripts never match such frames), and the
# sum is one double addition in Java as in Python.
CLOCK_RANGE = """
if (doc['recorded_at'].size() == 0) { return false; }
double clock = doc['recorded_at'].value + doc['t'].value;
return (!params.containsKey('gte') || clock >= params.gte) && (!params.containsKey('lte') || clock <= params.lte);
""".strip()
# The local hour or ISO weekday of the clock floored to the second (semantics.local_hour_weekday).
CLOCK_LOCAL = """
if (doc['recorded_at'].size() == 0) { return false; }
double clock = doc['recorded_at'].value + doc['t'].value;
ZonedDateTime local = Instant.ofEpochSecond((long) Math.floor(clock)).atZone(ZoneId.of(params.tz));
int part = params.part == 'hour' ? local.getHour() : local.getDayOfWeek().getValue();
for (def wanted : params.values) { if (((Number) wanted).intValue() == part) { return true; } }
return false;
""".strip()
HAS_CLOCK = Q("exists", field="recorded_at")


def _clock_node(spec: dict[str, Any]) -> Query:
    bounds = _bounds(spec)
    script = Q("script", script={"source": CLOCK_RANGE, "lang": "painless", "params": bounds})
    return all_of([HAS_CLOCK, script])


def _local_node(part: str) -> Any:
    def compile_local(spec: dict[str, Any]) -> Query:
        values = spec["in"] if part == "hour" else [WEEKDAY_NAMES.index(day) + 1 for day in spec["in"]]
        if not values:
            return MATCH_NONE
        params = {"tz": spec["tz"], "part": part, "values": values}
        return all_of([HAS_CLOCK, Q("script", script={"source": CLOCK_LOCAL, "lang": "painless", "params": params})])

    return compile_local


def _count_node(spec: dict[str, Any]) -> Query:
    """How many detections meet the object body, counted as a score: each matching nested object
    scores 1 (``constant_score``), the ``nested`` query sums them (``score_mode: sum``), and
    ``function_score``'s ``min_score`` keeps frames with at least k (nested has no min_children:
    elastic/elasticsearch#10043). At most ``lte`` is NOT at least ``lte + 1``, so frames without
    such detections (no nested match) count 0."""
    inside = _object_node(spec["object"]).to_dict()["nested"]["query"]

    def at_least(count: int) -> Query:
        scored = Q("nested", path="objects", query=Q("constant_score", filter=Q(inside), boost=1.0),
                   score_mode="sum")
        # Scores are float sums of 1.0: exact, so half a unit below the count is a safe threshold.
        return Q("function_score", query=scored, min_score=count - 0.5)

    parts = []
    if spec.get("gte") is not None and spec["gte"] > 0:
        parts.append(at_least(int(spec["gte"])))
    if spec.get("lte") is not None:
        parts.append(Q("bool", must_not=[at_least(int(spec["lte"]) + 1)]))
    return all_of(parts)


# PNPOLY of in_polygon on a detection's anchor point (x, y as lon, lat): the nested object's box_cx and
# box_y2 (bottom centre) or box_cy (centre), computed at indexing as semantics.anchor_point does.
ZONE_PNPOLY = """
if (doc['objects.box_cx'].size() == 0) { return false; }
double x = doc['objects.box_cx'].value;
double y = params.bottom ? doc['objects.box_y2'].value : doc['objects.box_cy'].value;""".strip() + PNPOLY_LOOP.rstrip()


def _zone_node(spec: dict[str, Any]) -> Query:
    """Per camera (the frame's ``["video","camera",c]`` term): one nested object meeting the object
    body whose anchor point lies in that camera's polygon."""
    inside = _object_node(spec["object"]).to_dict()["nested"]["query"]
    parts = []
    for camera, zone in spec["cameras"].items():
        xs = [float(vertex[0]) for vertex in zone["polygon"]]
        ys = [float(vertex[1]) for vertex in zone["polygon"]]
        params = {"xs": xs, "ys": ys, "bottom": zone["anchor"] == "bottom_center"}
        script = Q("script", script={"source": ZONE_PNPOLY, "lang": "painless", "params": params})
        placed = Q("nested", path="objects", query=all_of([Q(inside), script]), score_mode="none")
        parts.append(all_of([Q("term", keys=term(VIDEO, "camera", camera)), placed]))
    return any_of(parts)


FRAME_LEVEL_NODES = {"clock": _clock_node, "hour": _local_node("hour"), "weekday": _local_node("weekday"),
                     "count": _count_node, "zone": _zone_node}


def frames_node(frames: dict[int, list[int]]) -> Query:
    """The internal ``frames`` node (:mod:`indexer.search.elasticsearch.temporal`: the frames where a
    sequence or a dwell holds) as a query: per video, its ``video_id`` and ``frame`` terms."""
    return any_of([all_of([Q("term", video_id=video_id), terms_in("frame", indices)])
                   for video_id, indices in sorted(frames.items()) if indices])
