"""Region layers: admins upload polygons; statistics count matching frames or objects
per region (see the statistics guide, docs/guide/statistics.md).

- **Upload**: a GeoJSON file (``.geojson``/``.json``), a zipped shapefile (``.zip``)
  or a GeoPackage (``.gpkg``, its first layer), read with geopandas (pyogrio) and
  converted to WGS84; a file without a CRS is taken as WGS84. Rows whose geometry
  is missing, empty, not a (multi)polygon or invalid (the reason from
  ``shapely.validation.explain_validity``) are reported by their 0-based row index
  and left out; the others are kept with their attributes.
- **Counts**: a spatial join of the located matching frames (weight 1, or the
  frame's detections for target ``objects``) with the regions: a point counts in
  every region that contains it or has it on its boundary, so overlapping regions
  (and neighbours sharing a border) each count it. Points in no region are
  counted in ``outside``; frames without a location never count.
"""

from __future__ import annotations

import json
import math
import tempfile
from contextlib import closing
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from shapely.geometry import mapping
from shapely.validation import explain_validity

from analytics.models import RegionLayer
from indexer.facets import FacetError
from indexer.limits import REGION_UPLOAD_MAX_BYTES
from indexer.payloads import PayloadError
from indexer.search import get_search_backend
from indexer.search.contract import GEO_TARGETS, SearchRequest

FORMATS = {".geojson": "geojson", ".json": "geojson", ".zip": "shapefile", ".gpkg": "geopackage"}
WGS84 = "EPSG:4326"
POLYGONAL = ("Polygon", "MultiPolygon")


class RegionError(PayloadError):
    """An upload that cannot become a region layer: answered like a refused payload
    (400, ``detail`` and ``path``)."""


def _read(path: Path, filename: str) -> gpd.GeoDataFrame:
    try:
        layers = pyogrio.list_layers(path)
        if not len(layers):
            raise RegionError(f"{filename} holds no layer", path="file")
        return gpd.read_file(path, layer=layers[0][0], engine="pyogrio")
    except (RuntimeError, ValueError) as error:
        reason = str(error).replace(str(path), filename)
        raise RegionError(f"could not read {filename}: {reason}", path="file")


def _problem(geometry: Any) -> str | None:
    """Why a row's geometry cannot be a region; None when it can."""
    if geometry is None or geometry.is_empty:
        return "no geometry"
    if geometry.geom_type not in POLYGONAL:
        return f"a {geometry.geom_type} is not a polygon"
    if not geometry.is_valid:
        return explain_validity(geometry)
    return None


def _json_value(value: Any) -> Any:
    """A property value as JSON: numpy scalars unwrapped, NaN as null, dates as ISO text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@transaction.atomic
def region_layer_create(*, name: str, upload: UploadedFile, author: AbstractBaseUser | None) -> RegionLayer:
    """Read an uploaded GeoJSON, zipped shapefile or GeoPackage into a region layer.

    Raises :class:`RegionError` when the file cannot be read or has no valid polygon.
    """
    filename = Path(upload.name or "upload").name
    source_format = FORMATS.get(Path(filename).suffix.lower())
    if source_format is None:
        raise RegionError(f"{filename}: expected a .geojson or .json file, a zipped shapefile (.zip) "
                          "or a GeoPackage (.gpkg)", path="file")
    if upload.size is not None and upload.size > REGION_UPLOAD_MAX_BYTES:
        raise RegionError(f"{filename} is larger than {REGION_UPLOAD_MAX_BYTES // (1024 * 1024)} MB", path="file")
    with tempfile.TemporaryDirectory(prefix="scoop-regions-") as directory:
        path = Path(directory) / f"upload{Path(filename).suffix.lower()}"
        with open(path, "wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        frame = _read(path, filename)
    source_crs = frame.crs.to_string() if frame.crs is not None else ""
    try:
        frame = frame.set_crs(WGS84) if frame.crs is None else frame.to_crs(WGS84)
    except (RuntimeError, ValueError) as error:
        raise RegionError(f"could not convert {filename} from {source_crs} to WGS84: {error}", path="file")
    features, invalid = [], []
    columns = [column for column in frame.columns if column != frame.geometry.name]
    for index, (geometry, row) in enumerate(zip(frame.geometry, frame[columns].itertuples(index=False),
                                                strict=True)):
        problem = _problem(geometry)
        if problem:
            invalid.append({"index": index, "reason": problem})
            continue
        properties = {column: _json_value(value) for column, value in zip(columns, row, strict=True)}
        features.append({"type": "Feature", "id": index, "geometry": json.loads(json.dumps(mapping(geometry))),
                         "properties": properties})
    if not features:
        reasons = "; ".join(f"row {problem['index']}: {problem['reason']}" for problem in invalid[:5])
        raise RegionError(f"{filename} has no valid polygon ({reasons})", path="file")
    return RegionLayer.objects.create(
        name=name, source_format=source_format, source_crs=source_crs, regions=len(features),
        geojson={"type": "FeatureCollection", "features": features}, invalid=invalid, author=author,
    )


def region_layer_delete(*, layer: RegionLayer) -> None:
    layer.delete()


def region_counts(*, layer: RegionLayer, request: SearchRequest, target: str = "frames") -> dict[str, Any]:
    """The layer as a FeatureCollection with ``properties.count`` per region (see module docs)."""
    if target not in GEO_TARGETS:
        raise FacetError("target", f"unknown target '{target}'; expected one of {', '.join(GEO_TARGETS)}")
    features = layer.geojson["features"]
    regions = gpd.GeoDataFrame.from_features(features, crs=WGS84)
    counts = np.zeros(len(features), dtype=np.int64)
    outside = 0
    with closing(get_search_backend().located_frames(request=request, bbox=None)) as batches:
        for batch in batches:
            weights = np.array([1 if target == "frames" else frame.objects for frame in batch], dtype=np.int64)
            points = gpd.points_from_xy([frame.lon for frame in batch], [frame.lat for frame in batch], crs=WGS84)
            point_index, region_index = regions.sindex.query(points, predicate="intersects")
            np.add.at(counts, region_index, weights[point_index])
            inside = np.zeros(len(batch), dtype=bool)
            inside[point_index] = True
            outside += int(weights[~inside].sum())
    return {
        "type": "FeatureCollection",
        "layer": layer.pk,
        "name": layer.name,
        "target": target,
        "outside": outside,
        "features": [
            {**feature, "properties": {**feature["properties"], "count": int(count)}}
            for feature, count in zip(features, counts, strict=True)
        ],
    }

