"""Where matching frames and objects were seen, for a map view, as GeoJSON (see the
statistics guide, docs/guide/statistics.md).

- **Cells**: the located matching frames (``target`` ``frames``) or their detections
  (``objects``) inside the view's bbox, counted per web-mercator tile. The tile
  level follows the map's zoom: **level = min(floor(zoom) + 3, 22)**, so a cell is
  1/8 of a map tile on each side (about 32 screen pixels) at every zoom. Each cell
  is a Feature: the tile's polygon with ``properties: {count, tile: "z/x/y"}``;
  tiles without a count are left out.
- **Points**: one Point per located matching frame in the bbox, ``{video, frame, t,
  count}`` (count 1, or the frame's detections for ``objects``; frames without
  detections are left out for ``objects``), when at most :data:`MAX_POINTS` units
  are in the view; more is a 400 asking to zoom in or use cells.

Frames without a location never count. The bbox is ``[west, south, east, north]``
in degrees as a map reports it: longitudes are wrapped into -180..180 (a view
crossing the antimeridian has west > east), a view 360 degrees wide or more
covers every longitude, latitudes are clamped to -90..90.
"""

from __future__ import annotations

import math
from contextlib import closing
from typing import Any

from indexer.facets import FacetError
from indexer.limits import GEO_POINTS_MAX as MAX_POINTS
from indexer.search import get_search_backend
from indexer.search.contract import GEO_TARGETS, MAX_TILE_LEVEL, SearchRequest

CELL_LEVELS_ABOVE_ZOOM = 3
GRIDS = ("tiles",)
FORMATS = ("cells", "points")


def tile_level(zoom: float) -> int:
    """The tile level cells are counted at for a map zoom."""
    return min(math.floor(zoom) + CELL_LEVELS_ABOVE_ZOOM, MAX_TILE_LEVEL)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a web-mercator tile, degrees."""
    n = 2**z

    def latitude(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360.0 - 180.0, latitude(y + 1), (x + 1) / n * 360.0 - 180.0, latitude(y)


def _wrap(lon: float) -> float:
    wrapped = (lon + 180.0) % 360.0 - 180.0
    return 180.0 if wrapped == -180.0 and lon > 0 else wrapped


def view_bbox(bbox: Any) -> list[float]:
    """A map's ``[west, south, east, north]`` as a ``geo`` query bbox (see module docs)."""
    if not (isinstance(bbox, list | tuple) and len(bbox) == 4 and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in bbox)):
        raise FacetError("bbox", "bbox must be [west, south, east, north], four numbers (degrees)")
    west, south, east, north = (float(v) for v in bbox)
    if south > north:
        raise FacetError("bbox", "bbox south must not be greater than north")
    south, north = max(south, -90.0), min(north, 90.0)
    if east - west >= 360.0:
        return [-180.0, south, 180.0, north]
    return [_wrap(west), south, _wrap(east), north]


def _check(zoom: Any, target: str, grid: str) -> None:
    if not (isinstance(zoom, int | float) and not isinstance(zoom, bool) and 0 <= zoom <= MAX_TILE_LEVEL):
        raise FacetError("zoom", f"zoom must be a number from 0 to {MAX_TILE_LEVEL}")
    if target not in GEO_TARGETS:
        raise FacetError("target", f"unknown target '{target}'; expected one of {', '.join(GEO_TARGETS)}")
    if grid not in GRIDS:
        raise FacetError("grid", f"unknown grid '{grid}'; this server bins by web-mercator tiles ('tiles')")


def geo_cells(*, request: SearchRequest, bbox: Any, zoom: Any, target: str = "frames",
              grid: str = "tiles") -> dict[str, Any]:
    """The matching frames or objects in the view, counted per tile, as a FeatureCollection."""
    _check(zoom, target, grid)
    view = view_bbox(bbox)
    z = tile_level(zoom)
    cells = get_search_backend().geo_cells(request=request, z=z, bbox=view, target=target)
    features = []
    for (x, y), count in sorted(cells.items()):
        west, south, east, north = tile_bounds(z, x, y)
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                         "properties": {"count": count, "tile": f"{z}/{x}/{y}"}})
    return {"type": "FeatureCollection", "grid": grid, "level": z, "target": target, "features": features}


def geo_points(*, request: SearchRequest, bbox: Any, zoom: Any = 0, target: str = "frames",
               grid: str = "tiles") -> dict[str, Any]:
    """The located matching frames in the view as Points, when there are at most MAX_POINTS units."""
    _check(zoom, target, grid)
    view = view_bbox(bbox)
    features = []
    units = 0
    with closing(get_search_backend().located_frames(request=request, bbox=view)) as batches:
        for batch in batches:
            for frame in batch:
                count = 1 if target == "frames" else frame.objects
                if not count:
                    continue
                units += count
                if units > MAX_POINTS:
                    raise FacetError("format", f"more than {MAX_POINTS} matching {target} are in this view: "
                                               "zoom in, or ask for format=cells")
                features.append({
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [frame.lon, frame.lat]},
                    "properties": {"video": frame.video_id, "frame": frame.index, "t": frame.t, "count": count},
                })
    return {"type": "FeatureCollection", "target": target, "features": features}
