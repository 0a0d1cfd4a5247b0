"""Selectors for the dashboard page: what the browser needs before its first
API call, embedded in the page as JSON (``json_script``).

- the sidebar tree, built from the active ontology's display groups;
- the vocabulary the query bar autocompletes from;
- the map's start view and the routes the videos were recorded along.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from indexer.facets import Facet, facets_for
from indexer.models import LabelSchema, Video
from indexer.ontology import NUMERIC, AttrSpec, Ontology
from indexer.serializers import SchemaRef
from indexer.services import schema_ontology

OTHER_GROUP = "Other"
# The map draws the routes of at most this many videos, each with at most this
# many waypoints: enough to see where the corpus was recorded, small enough to embed.
ROUTE_VIDEOS = 300
ROUTE_POINTS = 64


def dashboard_page_data(*, schema: LabelSchema | None, roles: set[str]) -> dict[str, Any]:
    """Everything the dashboard's scripts read at start-up."""
    return {
        "schema": SchemaRef(schema).data if schema else None,
        "sidebar": sidebar_tree(ontology=schema_ontology(schema)) if schema else [],
        "facets": facet_catalog(ontology=schema_ontology(schema)) if schema else {},
        "vocabulary": query_vocabulary(ontology=schema_ontology(schema)) if schema else {},
        "map": map_setup(),
        "roles": sorted(roles),
        "urls": {
            "search": reverse("search"),
            "videos": reverse("video-list"),
            "stats": "/api/v1/stats/",
            "export_geojson": "/api/v1/export/detections.geojson",
        },
        "video_count": Video.objects.filter(indexed_at__isnull=False).count(),
    }


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
    ``event`` facet). Facets and labels that no group names go to a last group,
    "Other", so every facet of the ontology can be filtered on.
    """
    facets = facets_for(ontology)
    shown: set[tuple[str, str | None]] = set()
    groups = []
    for group in ontology.display.groups:
        items = [item for name in group["items"] if (item := _sidebar_item(ontology, facets, name, shown))]
        if items:
            groups.append({"name": group["name"], "items": items})
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


def map_setup() -> dict[str, Any]:
    """Tiles (SCOOP_MAP_TILES; empty: no base map), the routes of up to
    ROUTE_VIDEOS recorded videos, and the view that fits them."""
    routes = []
    west = south = float("inf")
    east = north = float("-inf")
    recorded = Video.objects.filter(indexed_at__isnull=False).order_by("pk")
    for video_id, name, gps in recorded.values_list("pk", "name", "gps")[:ROUTE_VIDEOS]:
        points = [[float(lat), float(lon)] for _t, lat, lon in (gps or [])]
        if not points:
            continue
        step = max(1, -(-len(points) // ROUTE_POINTS))
        route = points[::step] if points[-1] in points[::step] else [*points[::step], points[-1]]
        routes.append({"video": video_id, "name": name, "points": route})
        for lat, lon in points:
            south, north = min(south, lat), max(north, lat)
            west, east = min(west, lon), max(east, lon)
    return {
        "tiles": settings.SCOOP_MAP_TILES,
        "attribution": settings.SCOOP_MAP_ATTRIBUTION,
        "bounds": [[south, west], [north, east]] if routes else None,
        "routes": routes,
    }
