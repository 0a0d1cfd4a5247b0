"""Normalization: a user's JSON query tree (docs/guide/query-language.md), checked against the ontology, becomes the
normalized tree of :mod:`indexer.query` that every backend evaluates.

Besides typing values and resolving synonyms, normalization makes equivalent trees
equal, so that the text form round-trips (``normalize(parse_text(to_text(t)))``
equals ``normalize(t)``) and ``normalize`` is idempotent:

- nested ``and`` inside ``and`` (``or`` inside ``or``) is flattened, a group of one
  is its child, ``not`` of an empty ``and`` (true) is an empty ``or`` (false) and
  the other way round;
- a ``frame`` or ``video`` node names exactly one attribute: several attributes
  become an ``and`` of one-attribute nodes;
- values are de-duplicated in order; a single value is ``{"in": [value]}``;
- ``recorded_at`` values become epoch-second ranges, and a list of them an ``or``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from indexer.ontology import BOOLEAN, CATEGORICAL, NUMERIC, REVIEW, VIDEO_BUILTINS, AttrSpec, LabelSpec, Ontology
from indexer.query.errors import QueryError, child_path, describe, hint, nearest, unknown

MAX_DEPTH = 64
MIN_POLYGON_VERTICES = 3
MAX_POLYGON_VERTICES = 1000
ROOT = "query"
DEFAULT_TIME_ZONE = "UTC"
NODE_KINDS = ("and", "or", "not", "object", "frame", "video", "event", "geo", "time")
# Frame-level kinds of issue 21: wall-clock time and counts (section "Wall-clock time and counts").
NODE_KINDS += ("clock", "hour", "weekday", "count", "zone")
# Time over frames: sequences and dwell (section "Sequences and dwell").
NODE_KINDS += ("sequence", "dwell")
# ``review`` is short for the built-in attribute's condition: attrs {"review": {"in": [...]}}.
OBJECT_FIELDS = ("label", "attrs", "confidence", "track", REVIEW)
EVENT_FIELDS = ("label", "attrs")
BOUNDS = ("gte", "lte")
ZoneSource = dict | Callable[[], dict] | None
GEO_SHAPES = ("bbox", "polygon")
RECORDED_AT = "recorded_at"
# The other built-ins are free text: any string names a video or a camera.
FREE_TEXT_BUILTINS = {name: AttrSpec(name=name, kind=CATEGORICAL) for name in VIDEO_BUILTINS if name != RECORDED_AT}

SEQUENCE_FIELDS = ("first", "then", "within_s")
DWELL_FIELDS = ("query", "min_s", "gap_s")
# A dwell's run goes on across gaps shorter than this when the query does not say (GAP).
DEFAULT_DWELL_GAP_S = 3.0
MAX_DURATION_S = 1e9

Bound = Callable[[Any, str, str], float]


def normalize(tree: Any, ontology: Ontology, *, tz: str = DEFAULT_TIME_ZONE, zones: ZoneSource = None) -> dict:
    """Check a JSON query tree against ``ontology`` and return its normalized tree.

    ``tz`` is the time zone of ``hour`` and ``weekday`` nodes that name none and of
    ``clock`` date-times without an offset (an IANA name; :func:`check_time_zone`).
    ``zones`` resolves the names of ``zone`` nodes: ``{name: {camera: {"polygon", "anchor"}}}``
    or a function returning that, called once when the tree names a zone.

    Raises :class:`~indexer.query.errors.QueryError` whose ``path`` points at the
    first problem (``query.and[1].object.attrs.colour``) and whose ``suggestions``
    list the nearest known names.
    """
    return _Normalizer(ontology, check_time_zone(tz, "tz"), zones).node(tree, ROOT, 1)


class _Normalizer:
    def __init__(self, ontology: Ontology, tz: str = DEFAULT_TIME_ZONE, zones: ZoneSource = None):
        self.ontology = ontology
        self.tz = tz
        self.zone_source = zones
        self.handlers: dict[str, Callable[[Any, str, int], dict]] = {
            "and": self._and,
            "or": self._or,
            "not": self._not,
            "object": self._object,
            "frame": self._frame,
            "video": self._video,
            "event": self._event,
            "geo": self._geo,
            "time": self._time,
            "sequence": self._sequence,
            "dwell": self._dwell,
        }
        self.handlers.update(self._clock_and_count_handlers())

    def node(self, raw: Any, path: str, depth: int) -> dict:
        if depth > MAX_DEPTH:
            raise QueryError(f"the query is nested more than {MAX_DEPTH} levels deep", path=path)
        if not isinstance(raw, dict) or len(raw) != 1:
            kinds = ", ".join(NODE_KINDS)
            raise QueryError(f"a query node is an object with exactly one key, one of {kinds}", path=path)
        ((kind, body),) = raw.items()
        if kind not in self.handlers:
            raise unknown("query node", kind, NODE_KINDS, path=child_path(path, kind))
        return self.handlers[kind](body, child_path(path, kind), depth)

    # Boolean structure.

    def _and(self, body: Any, path: str, depth: int) -> dict:
        return self._group("and", body, path, depth)

    def _or(self, body: Any, path: str, depth: int) -> dict:
        return self._group("or", body, path, depth)

    def _group(self, kind: str, body: Any, path: str, depth: int) -> dict:
        if not isinstance(body, list):
            raise QueryError(f"'{kind}' takes a list of queries", path=path)
        children: list[dict] = []
        for index, child in enumerate(body):
            normalized = self.node(child, child_path(path, index), depth + 1)
            # Same operator below: its children join ours (associativity).
            children.extend(normalized.get(kind, [normalized]))
        return children[0] if len(children) == 1 else {kind: children}

    def _not(self, body: Any, path: str, depth: int) -> dict:
        child = self.node(body, path, depth + 1)
        # An empty and is true and an empty or false: their negations are each other.
        if child in ({"and": []}, {"or": []}):
            return {"or": []} if "and" in child else {"and": []}
        return {"not": child}

    # Predicates.

    def _object(self, body: Any, path: str, depth: int) -> dict:
        fields = _fields(body, path, OBJECT_FIELDS, "an object predicate")
        label = self._label(fields.get("label"), child_path(path, "label"), self.ontology.objects, "object label")
        where = f" of object label '{label}'" if label else " of any object label"
        candidates = _label_attrs(self.ontology.objects, label)
        attrs = self._conditions(fields.get("attrs"), child_path(path, "attrs"), candidates, where)
        if fields.get(REVIEW) is not None:
            attrs[REVIEW] = self._review(fields[REVIEW], child_path(path, REVIEW), candidates, attrs)
        return {
            "object": {
                "label": label,
                "attrs": attrs,
                "confidence": _confidence(fields.get("confidence"), child_path(path, "confidence")),
                "track": _track(fields.get("track"), child_path(path, "track")),
            }
        }

    def _review(self, raw: Any, path: str, candidates: dict[str, list[AttrSpec]], attrs: dict) -> dict:
        """The object's ``review`` field: the condition on the built-in attribute, given once."""
        if REVIEW not in candidates:
            raise QueryError(f"no object label has the attribute '{REVIEW}'", path=path)
        if REVIEW in attrs:
            raise QueryError(f"give the review condition once: as '{REVIEW}' or as 'attrs.{REVIEW}', not both",
                             path=path)
        if isinstance(raw, dict):
            raise QueryError(f"'{REVIEW}' takes a state or a list of states, got an object", path=path)
        return self._condition(raw, candidates[REVIEW], path)

    def _event(self, body: Any, path: str, depth: int) -> dict:
        fields = _fields(body, path, EVENT_FIELDS, "an event predicate")
        label = self._label(fields.get("label"), child_path(path, "label"), self.ontology.events, "event label")
        where = f" of event label '{label}'" if label else " of any event label"
        candidates = _label_attrs(self.ontology.events, label)
        attrs = self._conditions(fields.get("attrs"), child_path(path, "attrs"), candidates, where)
        return {"event": {"label": label, "attrs": attrs}}

    def _frame(self, body: Any, path: str, depth: int) -> dict:
        candidates = {name: [spec] for name, spec in self.ontology.frame_attrs.items()}
        nodes = [
            {"frame": {name: self._condition(raw, candidates[name], child_path(path, name))}}
            for name, raw in self._attribute_items(body, path, candidates, " of frames")
        ]
        return _all_of(nodes)

    def _video(self, body: Any, path: str, depth: int) -> dict:
        candidates = {name: [spec] for name, spec in self.ontology.video_attrs.items()}
        # Built-ins win over a video attribute of the same name: every ontology has them.
        candidates.update({name: [spec] for name, spec in FREE_TEXT_BUILTINS.items()})
        nodes = []
        for name, raw in self._attribute_items(body, path, [*candidates, RECORDED_AT], " of videos"):
            name_path = child_path(path, name)
            if name == RECORDED_AT:
                nodes.append(_recorded_at(raw, name_path))
            else:
                nodes.append({"video": {name: self._condition(raw, candidates[name], name_path)}})
        return _all_of(nodes)

    def _geo(self, body: Any, path: str, depth: int) -> dict:
        if not isinstance(body, dict) or len(body) != 1:
            raise QueryError("geo takes exactly one of bbox or polygon", path=path)
        ((shape, raw),) = body.items()
        if shape == "bbox":
            return {"geo": {"bbox": _bbox(raw, child_path(path, shape))}}
        if shape == "polygon":
            return {"geo": {"polygon": _polygon(raw, child_path(path, shape))}}
        raise unknown("geo shape", shape, GEO_SHAPES, path=child_path(path, shape))

    def _time(self, body: Any, path: str, depth: int) -> dict:
        return {"time": _range(body, path, "time", _finite)}


    # Wall-clock time and counts (issue 21): clock, hour, weekday, count.

    def _clock_and_count_handlers(self) -> dict[str, Callable[[Any, str, int], dict]]:
        return {"clock": self._clock, "hour": self._hour, "weekday": self._weekday, "count": self._count,
                "zone": self._zone}

    def _clock(self, body: Any, path: str, depth: int) -> dict:
        def instant(value: Any, value_path: str, what: str) -> float:
            return _clock_epoch(value, value_path, self.tz)

        return {"clock": _range(body, path, "clock", instant)}

    def _hour(self, body: Any, path: str, depth: int) -> dict:
        return {"hour": self._cyclic(body, path, "hour", HOURS, _hour_value)}

    def _weekday(self, body: Any, path: str, depth: int) -> dict:
        return {"weekday": self._cyclic(body, path, "weekday", WEEKDAYS, _weekday_value)}

    def _cyclic(self, body: Any, path: str, what: str, cycle: tuple, value_of: Callable[[Any, str], Any]) -> dict:
        """``hour``/``weekday``: a value, a list, ``{"in": [...]}`` or a range ``{"gte", "lte"}`` (both
        bounds; it wraps round when gte comes after lte: hour 22..5 is the night), each with an
        optional ``tz``; normalized to the values in cycle order and the zone."""
        tz = self.tz
        if isinstance(body, dict):
            body = dict(body)
            if "tz" in body:
                tz = check_time_zone(body.pop("tz"), child_path(path, "tz"))
            if not body:
                raise QueryError(f"{what} needs values or a range besides tz", path=path)
        if isinstance(body, dict) and "in" not in body:
            for key in body:
                if key not in BOUNDS:
                    raise unknown("key", key, ("in", *BOUNDS, "tz"), where=f" in {what}", path=child_path(path, key))
            missing = [key for key in BOUNDS if body.get(key) is None]
            if missing:
                raise QueryError(f"the {what} range needs both gte and lte (it may wrap round: 22..5)",
                                 path=child_path(path, missing[0]))
            low = cycle.index(value_of(body["gte"], child_path(path, "gte")))
            high = cycle.index(value_of(body["lte"], child_path(path, "lte")))
            chosen = set(cycle[low:high + 1] if low <= high else cycle[low:] + cycle[:high + 1])
        else:
            chosen = {value_of(value, value_path) for value, value_path in _values(body, path, what)}
        return {"in": [value for value in cycle if value in chosen], "tz": tz}

    def _count(self, body: Any, path: str, depth: int) -> dict:
        fields = _fields(body, path, ("object", *COUNT_BOUNDS), "a count")
        if "object" not in fields:
            raise QueryError('a count needs the objects to count: {"object": {...}, "gte": 5}', path=path)
        spec = self._object(fields["object"], child_path(path, "object"), depth + 1)["object"]
        low, high = _count_bounds(fields, path)
        if low is None and high is None:
            return {"and": []}  # COUNT(x) >= 0: every frame
        return {"count": {"object": spec, "gte": low, "lte": high}}

    def _zone(self, body: Any, path: str, depth: int) -> dict:
        """``{"object": {...}, "name": "crosswalk"}``: the name resolved to each camera's polygon and
        anchor (``cameras``), unless the node gives ``cameras`` itself."""
        fields = _fields(body, path, ("object", "name", "cameras"), "a zone predicate")
        if "object" not in fields or "name" not in fields:
            raise QueryError('a zone predicate is {"object": {...}, "name": "<zone>"}', path=path)
        spec = self._object(fields["object"], child_path(path, "object"), depth + 1)["object"]
        name = fields["name"]
        if not isinstance(name, str) or not name:
            raise QueryError(f"a zone's name is a string, got {describe(name)}", path=child_path(path, "name"))
        if fields.get("cameras") is not None:
            cameras = _zone_cameras(fields["cameras"], child_path(path, "cameras"))
        else:
            known = self._zones()
            if name not in known:
                where = "" if known else " (no zone is defined yet: admins add them under /api/v1/zones/)"
                raise unknown("zone", name, sorted(known), where=where, path=child_path(path, "name"))
            cameras = _zone_cameras(known[name], child_path(path, "name"))
        return {"zone": {"object": spec, "name": name, "cameras": cameras}}

    def _zones(self) -> dict:
        if callable(self.zone_source):
            self.zone_source = self.zone_source()
        return self.zone_source or {}
    # Time: sequences and dwell (docs/guide/query-language.md, "Sequences and dwell").

    def _sequence(self, body: Any, path: str, depth: int) -> dict:
        fields = _fields(body, path, SEQUENCE_FIELDS, "a sequence")
        for key in ("first", "then", "within_s"):
            if fields.get(key) is None:
                raise QueryError(f"a sequence needs '{key}': {{\"first\": A, \"then\": B, \"within_s\": 10}}",
                                 path=child_path(path, key))
        return {"sequence": {
            "first": self.node(fields["first"], child_path(path, "first"), depth + 1),
            "then": self.node(fields["then"], child_path(path, "then"), depth + 1),
            "within_s": _duration(fields["within_s"], child_path(path, "within_s"), "within_s", positive=True),
        }}

    def _dwell(self, body: Any, path: str, depth: int) -> dict:
        fields = _fields(body, path, DWELL_FIELDS, "a dwell")
        for key in ("query", "min_s"):
            if fields.get(key) is None:
                raise QueryError(f"a dwell needs '{key}': {{\"query\": A, \"min_s\": 300, \"gap_s\": 2}}",
                                 path=child_path(path, key))
        gap = fields.get("gap_s")
        return {"dwell": {
            "query": self.node(fields["query"], child_path(path, "query"), depth + 1),
            "min_s": _duration(fields["min_s"], child_path(path, "min_s"), "min_s", positive=False),
            "gap_s": DEFAULT_DWELL_GAP_S if gap is None else _duration(gap, child_path(path, "gap_s"), "gap_s",
                                                                       positive=True),
        }}

    # Labels, attributes and values.

    def _label(self, raw: Any, path: str, labels: dict[str, LabelSpec], what: str) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise QueryError(f"an {what} is a string, got {describe(raw)}", path=path)
        synonyms = self.ontology.display.synonyms
        label = raw if raw in labels else synonyms.get(raw, raw)
        if label not in labels:
            known = [*labels, *(name for name, target in synonyms.items() if target in labels)]
            raise unknown(what, raw, known, path=path)
        return label

    def _attribute_items(self, body: Any, path: str, known: Collection[str], where: str) -> list[tuple[str, Any]]:
        if not isinstance(body, dict) or not body:
            raise QueryError(f"expected an object of one or more attributes{where}: {{name: condition}}", path=path)
        for name in body:
            if name not in known:
                raise unknown("attribute", name, known, where=where, path=child_path(path, name))
        return list(body.items())

    def _conditions(self, raw: Any, path: str, candidates: dict[str, list[AttrSpec]], where: str) -> dict:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise QueryError(f"attrs is an object {{name: condition}}, got {describe(raw)}", path=path)
        conditions = {}
        for name, value in raw.items():
            name_path = child_path(path, name)
            if name not in candidates:
                raise unknown("attribute", name, candidates, where=where, path=name_path)
            conditions[name] = self._condition(value, candidates[name], name_path)
        return conditions

    def _condition(self, raw: Any, specs: list[AttrSpec], path: str) -> dict:
        name = specs[0].name
        if isinstance(raw, dict) and "in" not in raw:
            if not any(spec.kind == NUMERIC for spec in specs):
                raise QueryError(f"attribute '{name}' is not numeric: a range applies to numbers only", path=path)
            return _range(raw, path, f"attribute '{name}'", _finite)
        values = [_typed_value(value, specs, value_path) for value, value_path in _values(raw, path, name)]
        return {"in": _unique(values)}


def _fields(body: Any, path: str, allowed: tuple[str, ...], what: str) -> dict:
    if not isinstance(body, dict):
        raise QueryError(f"{what} is an object with keys {', '.join(allowed)}", path=path)
    for key in body:
        if key not in allowed:
            raise unknown("key", key, allowed, where=f" in {what}", path=child_path(path, key))
    return body


def _label_attrs(labels: dict[str, LabelSpec], label: str | None) -> dict[str, list[AttrSpec]]:
    """Attribute name -> the specs a condition on it must satisfy one of: the label's own,
    or (without a label) those of every label that has the attribute."""
    chosen = [labels[label]] if label else list(labels.values())
    candidates: dict[str, list[AttrSpec]] = {}
    for spec in chosen:
        for name, attr in spec.attrs.items():
            candidates.setdefault(name, []).append(attr)
    return candidates


def _all_of(nodes: list[dict]) -> dict:
    return nodes[0] if len(nodes) == 1 else {"and": nodes}


def _values(raw: Any, path: str, name: str) -> list[tuple[Any, str]]:
    """The values of ``value | [values] | {"in": [values]}``, each with its path."""
    if isinstance(raw, dict):
        if set(raw) != {"in"}:
            extra = next(key for key in raw if key != "in")
            raise unknown(
                "key", extra, ("in", *BOUNDS), where=f" in the condition on '{name}'", path=child_path(path, extra)
            )
        raw, path = raw["in"], child_path(path, "in")
        if not isinstance(raw, list):
            raise QueryError(f"'in' takes a list of values, got {describe(raw)}", path=path)
    if not isinstance(raw, list):
        return [(raw, path)]
    if not raw:
        raise QueryError(f"the condition on '{name}' needs at least one value", path=path)
    return [(value, child_path(path, index)) for index, value in enumerate(raw)]


def _typed_value(value: Any, specs: list[AttrSpec], path: str) -> Any:
    """``value`` typed by the first spec that accepts it."""
    errors = []
    for spec in specs:
        try:
            return _coerce(value, spec, path)
        except QueryError as error:
            errors.append(error)
    categories = [category for spec in specs if spec.kind == CATEGORICAL for category in spec.values or ()]
    if len(specs) > 1 and isinstance(value, str) and categories:
        # Without a label, suggest from every label's categories, not just the first's.
        close = nearest(value, categories)
        raise QueryError(
            f"unknown value '{value}' for attribute '{specs[0].name}'{hint(close)}", path=path, suggestions=close
        )
    raise errors[0]


def _coerce(value: Any, spec: AttrSpec, path: str) -> Any:
    if spec.kind == NUMERIC:
        number = _finite_or_none(value)
        if number is None:
            raise QueryError(f"attribute '{spec.name}' expects a finite number, got {describe(value)}", path=path)
        return number
    if spec.kind == BOOLEAN:
        flag = _boolean_or_none(value)
        if flag is None:
            raise QueryError(f"attribute '{spec.name}' expects true or false, got {describe(value)}", path=path)
        if spec.values is not None and flag not in spec.values:
            raise QueryError(f"value {str(flag).lower()} is not allowed for attribute '{spec.name}'", path=path)
        return flag
    category = _category_or_none(value)
    if category is None:
        raise QueryError(f"attribute '{spec.name}' expects a category (string), got {describe(value)}", path=path)
    if spec.values is not None and category not in spec.values:
        close = nearest(category, spec.values)
        raise QueryError(
            f"unknown value '{category}' for attribute '{spec.name}'{hint(close)}", path=path, suggestions=close
        )
    return category


def _finite_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _boolean_or_none(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _category_or_none(value: Any) -> str | None:
    """A category as text. Numbers and booleans are accepted by their text form because
    the text form cannot tell ``lanes=2`` from ``lanes="2"``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # more digits than Python will print
            return None
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def _unique(values: list[Any]) -> list[Any]:
    seen: set[tuple[type, Any]] = set()
    unique = []
    for value in values:
        # Keyed by type too, so that True and 1.0 (equal in Python) both stay.
        if (type(value), value) not in seen:
            seen.add((type(value), value))
            unique.append(value)
    return unique


def _range(raw: Any, path: str, what: str, bound: Bound) -> dict:
    """``{"gte": x, "lte": y}`` with at least one bound, each converted by ``bound``."""
    if not isinstance(raw, dict):
        raise QueryError(f'{what} expects a range {{"gte": x, "lte": y}}, got {describe(raw)}', path=path)
    for key in raw:
        if key not in BOUNDS:
            raise unknown("range bound", key, BOUNDS, where=f" for {what}", path=child_path(path, key))
    bounds = {key: None if raw.get(key) is None else bound(raw[key], child_path(path, key), what) for key in BOUNDS}
    low, high = bounds["gte"], bounds["lte"]
    if low is None and high is None:
        raise QueryError(f"the range for {what} needs gte, lte or both", path=path)
    if low is not None and high is not None and low > high:
        raise QueryError(f"the range for {what} is empty: gte {low:g} is greater than lte {high:g}", path=path)
    return bounds


def _finite(value: Any, path: str, what: str) -> float:
    number = _finite_or_none(value)
    if number is None:
        raise QueryError(f"{what} expects a finite number, got {describe(value)}", path=path)
    return number


def _probability(value: Any, path: str, what: str) -> float:
    number = _finite(value, path, what)
    if not 0.0 <= number <= 1.0:
        raise QueryError(f"{what} is between 0 and 1, got {number:g}", path=path)
    return number


def _epoch(value: Any, path: str, what: str) -> float:
    """Epoch seconds of an ISO 8601 date-time (naive means UTC) or of a number."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None:
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    number = _finite_or_none(value)
    if number is None:
        raise QueryError(f"{what} expects an ISO 8601 date-time or epoch seconds, got {describe(value)}", path=path)
    return number


def _duration(value: Any, path: str, what: str, *, positive: bool) -> float:
    """Seconds of a sequence window, a dwell's minimum or its gap: finite, at most 1e9, and
    above 0 (``positive``) or at least 0."""
    number = _finite(value, path, what)
    if number > MAX_DURATION_S:
        raise QueryError(f"{what} is at most {MAX_DURATION_S:g} s, got {number:g}", path=path)
    if positive and number <= 0:
        raise QueryError(f"{what} is a number of seconds above 0, got {number:g}", path=path)
    if number < 0:
        raise QueryError(f"{what} is a number of seconds, 0 or more, got {number:g}", path=path)
    return number


def _confidence(raw: Any, path: str) -> dict | None:
    return None if raw is None else _range(raw, path, "confidence", _probability)


def _track(raw: Any, path: str) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        track = _category_or_none(raw)
    else:
        track = raw if isinstance(raw, str) and raw else None
    if track is None:
        raise QueryError(f"a track id is a non-empty string or an integer, got {describe(raw)}", path=path)
    return track


def _recorded_at(raw: Any, path: str) -> dict:
    """``recorded_at`` as epoch-second ranges: an instant is the range from it to itself,
    several instants an ``or`` of such ranges."""
    if isinstance(raw, dict) and "in" not in raw:
        return {"video": {RECORDED_AT: _range(raw, path, RECORDED_AT, _epoch)}}
    values = _values(raw, path, RECORDED_AT)
    instants = _unique([_epoch(value, value_path, RECORDED_AT) for value, value_path in values])
    nodes = [{"video": {RECORDED_AT: {"gte": instant, "lte": instant}}} for instant in instants]
    return nodes[0] if len(nodes) == 1 else {"or": nodes}


def _coordinate(value: Any, path: str, what: str, limit: float) -> float:
    number = _finite(value, path, what)
    if not -limit <= number <= limit:
        raise QueryError(f"{what} {number:g} is outside -{limit:g}..{limit:g}", path=path)
    return number


def _bbox(raw: Any, path: str) -> list[float]:
    if not isinstance(raw, list) or len(raw) != 4:
        raise QueryError("bbox is [west, south, east, north]", path=path)
    names = ("west", "south", "east", "north")
    limits = (180.0, 90.0, 180.0, 90.0)
    west, south, east, north = (
        _coordinate(value, child_path(path, index), name, limit)
        for index, (value, name, limit) in enumerate(zip(raw, names, limits, strict=True))
    )
    if south > north:
        raise QueryError(f"bbox south {south:g} is north of its north {north:g}", path=path)
    return [west, south, east, north]


def _polygon(raw: Any, path: str) -> list[list[float]]:
    if not isinstance(raw, list) or not MIN_POLYGON_VERTICES <= len(raw) <= MAX_POLYGON_VERTICES:
        raise QueryError(
            f"polygon is a list of {MIN_POLYGON_VERTICES} to {MAX_POLYGON_VERTICES} [lon, lat] vertices", path=path
        )
    vertices = []
    for index, vertex in enumerate(raw):
        vertex_path = child_path(path, index)
        if not isinstance(vertex, list) or len(vertex) != 2:
            raise QueryError("a polygon vertex is [lon, lat]", path=vertex_path)
        lon = _coordinate(vertex[0], child_path(vertex_path, 0), "longitude", 180.0)
        lat = _coordinate(vertex[1], child_path(vertex_path, 1), "latitude", 90.0)
        vertices.append([lon, lat])
    return vertices


# Wall-clock time and counts ----------------------------------------------------------------------

HOURS = tuple(range(24))
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # ISO order: Monday is day 1
_WEEKDAY_NAMES = {
    **{day: day for day in WEEKDAYS},
    **{name: name[:3] for name in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")},
    **{str(number): day for number, day in enumerate(WEEKDAYS, start=1)},
}
COUNT_BOUNDS = ("eq", "gte", "lte", "gt", "lt")


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_time_zone(raw: Any, path: str) -> str:
    """An IANA time zone name (``Europe/Berlin``, ``UTC``), else a QueryError with suggestions."""
    if not isinstance(raw, str) or raw not in _time_zones():
        if not isinstance(raw, str):
            raise QueryError(f"a time zone is an IANA name such as Europe/Berlin, got {describe(raw)}", path=path)
        raise unknown("time zone", raw, sorted(_time_zones()), path=path)
    return raw


def _clock_epoch(value: Any, path: str, tz: str) -> float:
    """Epoch seconds of an ISO 8601 date-time (without an offset: in ``tz``) or of a number."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None:
            return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))).timestamp()
    number = _finite_or_none(value)
    if number is None:
        raise QueryError(f"clock expects an ISO 8601 date-time or epoch seconds, got {describe(value)}", path=path)
    return number


def _hour_value(value: Any, path: str) -> int:
    number = _finite_or_none(value)
    if number is None or not number.is_integer() or not 0 <= number <= 23:
        shown = f"{number:g}" if number is not None else describe(value)
        raise QueryError(f"an hour is a whole number 0..23, got {shown}", path=path)
    return int(number)


def _weekday_value(value: Any, path: str) -> str:
    key = str(value).lower() if isinstance(value, str | int) and not isinstance(value, bool) else None
    if key not in _WEEKDAY_NAMES:
        raise unknown("weekday", value if isinstance(value, str) else describe(value), WEEKDAYS, path=path)
    return _WEEKDAY_NAMES[key]


def _count_bound(value: Any, path: str) -> int:
    number = _finite_or_none(value)
    if number is None or not number.is_integer():
        raise QueryError(f"a count bound is a whole number, got {describe(value)}", path=path)
    return int(number)


def _count_bounds(fields: dict, path: str) -> tuple[int | None, int | None]:
    """(gte, lte) of a count from ``eq``, ``gte``/``gt`` and ``lte``/``lt``; gte 0 is no bound."""
    given = {key: _count_bound(fields[key], child_path(path, key)) for key in COUNT_BOUNDS
             if fields.get(key) is not None}
    for one, other in (("eq", "gte"), ("eq", "gt"), ("eq", "lte"), ("eq", "lt"), ("gte", "gt"), ("lte", "lt")):
        if one in given and other in given:
            raise QueryError(f"give a count either {one} or {other}, not both", path=child_path(path, other))
    if "eq" in given:
        given["gte"] = given["lte"] = given["eq"]
    low = given["gt"] + 1 if "gt" in given else given.get("gte")
    high = given["lt"] - 1 if "lt" in given else given.get("lte")
    if high is not None and high < 0:
        key = next(key for key in ("lt", "lte", "eq") if key in given)
        raise QueryError(f"a count is never below 0: this bound holds on no frame ({key} {given[key]})",
                         path=child_path(path, key))
    if low is not None and high is not None and low > high:
        raise QueryError(f"the count range is empty: at least {low} and at most {high}", path=path)
    return (None if low is None or low <= 0 else low), high


# Zones ---------------------------------------------------------------------------------------------

ANCHORS = ("bottom_center", "center")


def _zone_cameras(raw: Any, path: str) -> dict[str, dict[str, Any]]:
    """``{camera: {"polygon": [[x, y], ...], "anchor": ...}}`` checked (0..1 coordinates), cameras sorted."""
    if not isinstance(raw, dict) or not raw:
        raise QueryError("cameras is an object {camera: {polygon, anchor}}", path=path)
    cameras = {}
    for camera in sorted(raw):
        camera_path = child_path(path, camera)
        zone = raw[camera]
        if not isinstance(zone, dict) or set(zone) - {"polygon", "anchor"} or "polygon" not in zone:
            raise QueryError("a camera's zone is {polygon, anchor}", path=camera_path)
        anchor = zone.get("anchor", ANCHORS[0])
        if anchor not in ANCHORS:
            raise unknown("anchor", anchor, ANCHORS, path=child_path(camera_path, "anchor"))
        polygon = zone["polygon"]
        polygon_path = child_path(camera_path, "polygon")
        if not isinstance(polygon, list) or not MIN_POLYGON_VERTICES <= len(polygon) <= MAX_POLYGON_VERTICES:
            raise QueryError(f"a zone's polygon has {MIN_POLYGON_VERTICES} to {MAX_POLYGON_VERTICES} [x, y] vertices",
                             path=polygon_path)
        vertices = []
        for index, vertex in enumerate(polygon):
            vertex_path = child_path(polygon_path, index)
            if not isinstance(vertex, list) or len(vertex) != 2:
                raise QueryError("a zone vertex is [x, y]", path=vertex_path)
            vertices.append([_coordinate(vertex[0], child_path(vertex_path, 0), "x", 1.0),
                             _coordinate(vertex[1], child_path(vertex_path, 1), "y", 1.0)])
        cameras[camera] = {"polygon": vertices, "anchor": anchor}
    return cameras
