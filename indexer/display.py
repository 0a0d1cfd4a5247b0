"""The ontology as the dashboard shows it: display names, the facet catalog (each
facet's title and values), the sidebar tree and the query bar's vocabulary. Pure
functions of an :class:`~indexer.ontology.Ontology`; the charts use the same titles."""

from __future__ import annotations

from typing import Any

from indexer.facets import Facet, facets_for
from indexer.ontology import NUMERIC, REVIEW, AttrSpec, Ontology

OTHER_GROUP = "Other"
REVIEW_GROUP = "Review"  # the built-in review facet's own group, when no display group names it


def display_name(ontology: Ontology, name: str) -> str:
    """The ontology's display name for a label, attribute or value, else the name
    with underscores as spaces."""
    return ontology.display.names.get(name) or name.replace("_", " ")


def _value_json(ontology: Ontology, value: Any) -> dict[str, str]:
    raw = str(value).lower() if isinstance(value, bool) else str(value)
    return {"value": raw, "text": display_name(ontology, raw)}


def _facet_title(ontology: Ontology, facet: Facet) -> str:
    if facet.kind == "label":
        return "Objects"
    if facet.kind == "event" and facet.attr is None:
        return "Events"
    attr = display_name(ontology, facet.attr or "")
    if facet.label:
        return f"{display_name(ontology, facet.label)} {attr[:1].lower()}{attr[1:]}"
    return attr[:1].upper() + attr[1:]


def facet_catalog(*, ontology: Ontology) -> dict[str, dict[str, Any]]:
    """Every facet key with its title, kind, label, attribute and values."""
    return {
        key: {
            "key": key,
            "title": _facet_title(ontology, facet),
            "kind": facet.kind,
            "label": facet.label,
            "attr": facet.attr,
            "boolean": bool(facet.values) and all(isinstance(v, bool) for v in facet.values),
            "values": [_value_json(ontology, value) for value in facet.values],
        }
        for key, facet in facets_for(ontology).items()
    }


def sidebar_tree(*, ontology: Ontology) -> list[dict[str, Any]]:
    """The sidebar: the ontology's display groups in order, each a list of items.

    A group item is a facet key (``object:vehicle.color``: all its values) or an
    object or event label (``vehicle``: that one value of the ``label`` or
    ``event`` facet). The built-in ``review`` facet, unless a group names it, gets a group
    "Review" of its own. Facets and labels that no group names go to a last group,
    "Other", so every facet of the ontology can be filtered on.
    """
    facets = facets_for(ontology)
    shown: set[tuple[str, str | None]] = set()
    groups = []
    for group in ontology.display.groups:
        items = [item for name in group["items"] if (item := _sidebar_item(ontology, facets, name, shown))]
        if items:
            groups.append({"name": group["name"], "items": items})
    if REVIEW in facets and (REVIEW, None) not in shown:
        groups.append({"name": REVIEW_GROUP, "items": [_sidebar_item(ontology, facets, REVIEW, shown)]})
    leftovers = []
    for key, facet in facets.items():
        if facet.kind in ("label", "event") and facet.attr is None:
            leftovers.extend(item for value in facet.values
                             if (item := _sidebar_item(ontology, facets, str(value), shown)))
        elif (key, None) not in shown:
            leftovers.append(_sidebar_item(ontology, facets, key, shown))
    if leftovers:
        groups.append({"name": OTHER_GROUP, "items": leftovers})
    return groups


def _sidebar_item(ontology: Ontology, facets: dict[str, Facet], name: str,
                  shown: set[tuple[str, str | None]]) -> dict[str, Any] | None:
    if name in facets:
        facet = facets[name]
        if facet.kind in ("label", "event") and facet.attr is None:
            # A whole label set: shown as one facet, and its labels count as shown.
            shown.update((facet.key, str(value)) for value in facet.values)
        shown.add((facet.key, None))
        return {
            "key": facet.key,
            "title": _facet_title(ontology, facet),
            "values": [_value_json(ontology, value) for value in facet.values],
            "color": ontology.display.colors.get(facet.label or ""),
        }
    for key, labels in (("label", ontology.objects), ("event", ontology.events)):
        if name in labels and (key, name) not in shown:
            shown.add((key, name))
            return {
                "key": key,
                "title": None,
                "values": [_value_json(ontology, name)],
                "color": ontology.display.colors.get(name),
            }
    return None


def _attrs_vocabulary(attrs: dict[str, AttrSpec]) -> dict[str, list[str] | None]:
    """Attribute names with their values; None for numeric attributes (ranges)."""
    vocabulary: dict[str, list[str] | None] = {}
    for name, spec in attrs.items():
        if spec.kind == NUMERIC:
            vocabulary[name] = None
        else:
            values = spec.values if spec.values is not None else [True, False]
            vocabulary[name] = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
    return vocabulary


def query_vocabulary(*, ontology: Ontology) -> dict[str, Any]:
    """The names the query bar completes: object labels with their attributes and
    values, event labels, frame and video attributes, synonyms."""
    return {
        "objects": {label: _attrs_vocabulary(spec.attrs) for label, spec in ontology.objects.items()},
        "events": {label: _attrs_vocabulary(spec.attrs) for label, spec in ontology.events.items()},
        "frame": _attrs_vocabulary(ontology.frame_attrs),
        "video": {**_attrs_vocabulary(ontology.video_attrs), "name": [], "camera": [], "recorded_at": None},
        "synonyms": dict(ontology.display.synonyms),
        "names": dict(ontology.display.names),
        "colors": dict(ontology.display.colors),
    }
