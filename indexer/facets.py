"""Facets: the sidebar's keys, their values, and the query node each selection means.

Facet keys (docs/guide/facets.md):

- ``label``: object labels;
- ``review``: human review's state of the objects, whatever their label (the built-in
  attribute :data:`~indexer.ontology.REVIEW`, which has no per-label facet);
- ``object:<label>.<attr>``: a categorical or boolean attribute of an object label;
- ``frame:<attr>``: a frame-level attribute;
- ``video:<attr>``: a video-level attribute;
- ``event``: event labels;
- ``event:<label>.<attr>``: an attribute of an event label.

Numeric attributes have no facet (they are filtered with ranges in the query).
Values within one facet are OR-ed, facets are AND-ed (:func:`filters_to_node`).
A selected value prefixed with ``!`` excludes it (NOT) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from indexer.ontology import BOOLEAN, NUMERIC, REVIEW, AttrSpec, Ontology, suggestion

UNITS = ("objects", "tracks", "frames", "clips", "videos")
OBJECT_KINDS = ("label", "object")
# Object attributes faceted over every label at once (an object facet whose ``label`` is None),
# under their own name as the key, instead of once per label.
ANY_LABEL_ATTRS = (REVIEW,)


class FacetError(ValueError):
    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class Facet:
    key: str
    kind: str  # label | object | frame | video | event
    label: str | None
    attr: str | None
    values: tuple[Any, ...]

    @property
    def default_unit(self) -> str:
        return "objects" if self.kind in OBJECT_KINDS else "frames"

    def node(self, values: list[Any]) -> dict[str, Any]:
        """The query node for 'any of these values' of this facet."""
        if self.kind == "label":
            return {"or": [_object_node(label, {}) for label in values]}
        if self.kind == "object":
            return _object_node(self.label, {self.attr: {"in": list(values)}})
        if self.kind == "event" and self.attr is None:
            return {"or": [{"event": {"label": label, "attrs": {}}} for label in values]}
        if self.kind == "event":
            return {"event": {"label": self.label, "attrs": {self.attr: {"in": list(values)}}}}
        return {self.kind: {self.attr: {"in": list(values)}}}


def _object_node(label: str | None, attrs: dict[str, Any]) -> dict[str, Any]:
    return {"object": {"label": label, "attrs": attrs, "confidence": None, "track": None}}


def _attr_values(spec: AttrSpec) -> tuple[Any, ...]:
    if spec.kind == BOOLEAN:
        return tuple(spec.values) if spec.values else (True, False)
    return tuple(spec.values or ())


def facets_for(ontology: Ontology) -> dict[str, Facet]:
    """Every facet of an ontology, in a stable order."""
    facets: dict[str, Facet] = {}
    facets["label"] = Facet("label", "label", None, None, tuple(ontology.objects))
    for name in ANY_LABEL_ATTRS:
        specs = [spec.attrs[name] for spec in ontology.objects.values() if name in spec.attrs]
        if specs:
            facets[name] = Facet(name, "object", None, name, _attr_values(specs[0]))
    for label, spec in ontology.objects.items():
        for name, attr in spec.attrs.items():
            if attr.kind != NUMERIC and name not in ANY_LABEL_ATTRS:
                key = f"object:{label}.{name}"
                facets[key] = Facet(key, "object", label, name, _attr_values(attr))
    for kind, attrs in (("frame", ontology.frame_attrs), ("video", ontology.video_attrs)):
        for name, attr in attrs.items():
            if attr.kind != NUMERIC:
                key = f"{kind}:{name}"
                facets[key] = Facet(key, kind, None, name, _attr_values(attr))
    if ontology.events:
        facets["event"] = Facet("event", "event", None, None, tuple(ontology.events))
    for label, spec in ontology.events.items():
        for name, attr in spec.attrs.items():
            if attr.kind != NUMERIC:
                key = f"event:{label}.{name}"
                facets[key] = Facet(key, "event", label, name, _attr_values(attr))
    return facets


def parse_filters(filters: Any, ontology: Ontology) -> dict[str, tuple[list[Any], list[Any]]]:
    """Validate sidebar filters ``{facet_key: [values]}``.

    Returns ``{facet_key: (included, excluded)}`` with values typed as the
    ontology says ("true" becomes True for a boolean facet). Raises
    :class:`FacetError` naming the offending key or value.
    """
    if filters in (None, ""):
        return {}
    if not isinstance(filters, dict):
        raise FacetError("filters", "filters must be an object {facet_key: [values]}")
    known = facets_for(ontology)
    parsed: dict[str, tuple[list[Any], list[Any]]] = {}
    for key, values in filters.items():
        if key not in known:
            raise FacetError(f"filters.{key}", f"unknown facet '{key}'{suggestion(key, known)}")
        facet = known[key]
        if not isinstance(values, list):
            values = [values]
        included: list[Any] = []
        excluded: list[Any] = []
        for i, raw in enumerate(values):
            negate = isinstance(raw, str) and raw.startswith("!")
            value = _typed_value(facet, raw[1:] if negate else raw, f"filters.{key}[{i}]")
            (excluded if negate else included).append(value)
        if included or excluded:
            parsed[key] = (included, excluded)
    return parsed


def _typed_value(facet: Facet, raw: Any, path: str) -> Any:
    if isinstance(raw, str) and facet.values and all(isinstance(v, bool) for v in facet.values):
        lowered = raw.lower()
        if lowered in ("true", "false"):
            raw = lowered == "true"
    if raw not in facet.values or isinstance(raw, bool) != any(isinstance(v, bool) for v in facet.values):
        shown = [str(v).lower() if isinstance(v, bool) else v for v in facet.values]
        raise FacetError(path, f"unknown value '{raw}' for facet '{facet.key}'{suggestion(raw, shown)}")
    return raw


def filters_to_node(parsed: dict[str, tuple[list[Any], list[Any]]], ontology: Ontology,
                    *, skip: str | None = None) -> dict[str, Any]:
    """The AND of every facet's selection, leaving out facet ``skip``
    (for disjunctive counts)."""
    known = facets_for(ontology)
    parts: list[dict[str, Any]] = []
    for key, (included, excluded) in parsed.items():
        if key == skip:
            continue
        facet = known[key]
        if included:
            parts.append(facet.node(included))
        if excluded:
            parts.append({"not": facet.node(excluded)})
    return {"and": parts}
