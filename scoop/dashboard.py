"""The dashboard page's schema and start-up data: what the browser needs before its
first API call, embedded in the page as JSON (``json_script``).

- the schema it shows: the one its address names (``?schema=road``, ``road:1`` or an
  id), else the default, and the picker's choices;
- the sidebar tree, built from that schema's display groups, the facet catalog and
  the vocabulary the query bar autocompletes from (:mod:`indexer.display`);
- the map's start view and the routes the videos were recorded along.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse

from indexer.display import facet_catalog, query_vocabulary, sidebar_tree
from indexer.models import LabelSchema
from indexer.selectors import (
    SchemaNotFound,
    schema_default,
    schema_resolve,
    schemas_newest,
    search_ontology,
    video_gps_tracks,
    videos_indexed_count,
)
from indexer.serializers import SchemaRef
from indexer.zones import zone_definitions

# The map draws the routes of at most this many videos, each with at most this
# many waypoints: enough to see where the corpus was recorded, small enough to embed.
ROUTE_VIDEOS = 300
ROUTE_POINTS = 64


@dataclass(frozen=True)
class PickerOption:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class ShownSchema:
    """The schema the dashboard shows (None before the first upload); ``choice``, what
    its address keeps in ``?schema=`` ('' for the default); ``notice``, why it shows
    the default instead of the schema the address named ('' when it does not)."""

    schema: LabelSchema | None
    is_default: bool
    choice: str = ""
    notice: str = ""
    options: list[PickerOption] = field(default_factory=list)


def dashboard_schema(*, choice: str) -> ShownSchema:
    """The schema for the address's ``?schema=`` (empty: the default), with the
    picker's options: every schema name's newest version, and the version the
    address pins when it is an older one."""
    default = schema_default()
    notice = ""
    try:
        schema = schema_resolve(ref=choice) if choice else default
    except SchemaNotFound as error:
        schema, choice, notice = default, "", error.message
    if schema is None:
        return ShownSchema(schema=None, is_default=False)
    options = [PickerOption(value=newest.name, selected=newest.pk == schema.pk,
                            label=f"{newest.name} v{newest.version}{' (default)' if newest == default else ''}")
               for newest in schemas_newest()]
    if not any(option.selected for option in options):
        options.append(PickerOption(value=f"{schema.name}:{schema.version}", selected=True,
                                    label=f"{schema.name} v{schema.version} (an older version)"))
    return ShownSchema(schema=schema, is_default=schema == default, choice=choice, notice=notice, options=options)


def dashboard_page_data(*, shown: ShownSchema, roles: set[str]) -> dict[str, Any]:
    """Everything the dashboard's scripts read at start-up."""
    schema = shown.schema
    return {
        "schema": SchemaRef(schema).data if schema else None,
        "schema_choice": shown.choice,
        "sidebar": sidebar_tree(ontology=search_ontology(schema)) if schema else [],
        "facets": facet_catalog(ontology=search_ontology(schema)) if schema else {},
        # The zone names complete after "IN ZONE" (any camera's: the query resolves each per camera).
        "vocabulary": {**query_vocabulary(ontology=search_ontology(schema)), "zones": sorted(zone_definitions())}
        if schema else {},
        "map": map_setup(),
        "roles": sorted(roles),
        "urls": {
            "search": reverse("search"),
            "saved_searches": reverse("saved-search-list"),
            "videos": reverse("video-list"),
            "stats": "/api/v1/stats/",
            "export_geojson": "/api/v1/export/detections.geojson",
        },
        "video_count": videos_indexed_count(),
    }


def map_setup() -> dict[str, Any]:
    """Tiles (SCOOP_MAP_TILES; empty: none), the fallback base layer, the routes of up to
    ROUTE_VIDEOS recorded videos, and the view that fits them."""
    routes = []
    west = south = float("inf")
    east = north = float("-inf")
    for video_id, name, gps in video_gps_tracks(limit=ROUTE_VIDEOS):
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
        # The base layer Scoop ships: drawn when there are no tiles or they cannot load.
        "fallback": {"land": static("vendor/world-atlas/land-50m.geojson"),
                     "borders": static("vendor/world-atlas/borders-50m.geojson")},
        "bounds": [[south, west], [north, east]] if routes else None,
        "routes": routes,
    }
