"""Export of the detections in the matching frames, streamed as GeoJSON or CSV (see the
statistics guide, docs/guide/statistics.md).

Each detection of a frame matching the query AND the filters: video id and name,
frame index, ``t``, label, track, confidence, box (relative x1, y1, x2, y2),
effective attributes and the frame's location. Rows come in the index's order
(video id, frame index, record order), read from the backend in batches, so
memory stays bounded whatever the number of detections.

- GeoJSON: a FeatureCollection of Points (``[lon, lat]``); a frame without a
  location gives ``"geometry": null``.
- CSV: one column per object attribute name of the ontology (``attr.<name>``,
  in ontology order; booleans as ``true``/``false``, empty when absent), after
  the fixed columns. Text cells that a spreadsheet would run as a formula are
  neutralised (:func:`spreadsheet_safe`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import closing
from typing import Any

from indexer.search import get_search_backend
from indexer.search.contract import Detection, SearchRequest

BATCH_SIZE = 5000
CSV_COLUMNS = ("video", "video_name", "frame", "t", "label", "track", "confidence", "x1", "y1", "x2", "y2",
               "lat", "lon")


def _detections(request: SearchRequest) -> Iterator[list[Detection]]:
    with closing(get_search_backend().detections(request=request, batch_size=BATCH_SIZE)) as batches:
        yield from batches


def _feature(detection: Detection) -> dict[str, Any]:
    geometry = None
    if detection.lat is not None:
        geometry = {"type": "Point", "coordinates": [detection.lon, detection.lat]}
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "video": detection.video_id,
            "video_name": detection.video_name,
            "frame": detection.index,
            "t": detection.t,
            "label": detection.label,
            "track": detection.track,
            "confidence": detection.confidence,
            "box": None if detection.box is None else list(detection.box),
            "attrs": detection.attrs,
        },
    }


def detections_geojson(*, request: SearchRequest) -> Iterator[str]:
    """The FeatureCollection's text, one chunk per batch."""
    yield '{"type": "FeatureCollection", "features": ['
    separator = ""
    for batch in _detections(request):
        yield separator + ",".join(json.dumps(_feature(detection)) for detection in batch)
        separator = ","
    yield "]}\n"


def attribute_columns(request: SearchRequest) -> list[str]:
    """Every object attribute name of the ontology, in ontology order, once."""
    names: dict[str, None] = {}
    for spec in request.ontology.objects.values():
        names.update(dict.fromkeys(spec.attrs))
    return list(names)


# OWASP's CSV injection rule: a cell starting with one of these is a formula to Excel,
# LibreOffice or Google Sheets (tab and carriage return hide a formula after them).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would read it as a formula, so it shows as text.

    Only text is changed: numbers (a negative longitude) are written as numbers."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return "" if value is None else value


def detections_csv(*, request: SearchRequest) -> Iterator[str]:
    """The CSV's text, the header first, then one chunk per batch."""
    attributes = attribute_columns(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([*CSV_COLUMNS, *(f"attr.{name}" for name in attributes)])
    yield flush()
    for batch in _detections(request):
        for detection in batch:
            box = detection.box or (None, None, None, None)
            row = [detection.video_id, detection.video_name, detection.index, detection.t, detection.label,
                   detection.track, detection.confidence, *box, detection.lat, detection.lon,
                   *(detection.attrs.get(name) for name in attributes)]
            writer.writerow([_cell(value) for value in row])
        yield flush()
