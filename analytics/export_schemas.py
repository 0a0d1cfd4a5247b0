"""The OpenAPI schemas of the JSON label exports (docs/api/exports.md): ETA VideoLabels as
:mod:`analytics.label_export.eta` writes them, COCO-style JSON and Camio's download layout."""

from __future__ import annotations

from typing import Any

ANY_VALUE = {"description": "a category (string), a number or a boolean"}
TRACK_ID = {"description": "the track id: an integer, or a string"}
POINT = {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}}
ATTRS = {"type": "object", "properties": {"attrs": {"type": "array", "items": {"type": "object", "properties": {
    "type": {"type": "string"}, "name": {"type": "string"}, "value": ANY_VALUE, "constant": {"type": "boolean"}}}}}}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


ETA_OBJECT = {"type": "object", "properties": {
    "label": {"type": "string"}, "index": TRACK_ID, "confidence": {"type": "number"},
    "bounding_box": {"type": "object", "properties": {"top_left": POINT, "bottom_right": POINT}}, "attrs": ATTRS}}
ETA_EXPORT = {"type": "object", "description": "format=eta: one video's ETA VideoLabels", "properties": {
    "filename": {"type": "string"},
    "metadata": {"type": "object", "properties": {
        "frame_rate": {"type": "number"}, "total_frame_count": {"type": "integer"}, "duration": {"type": "number"},
        "frame_size": _array({"type": "integer"}), "start_time": {"type": "string"},
        "size_bytes": {"type": "integer"}, "mime_type": {"type": "string"},
        "gps_waypoints": {"type": "object", "properties": {"points": _array({"type": "object", "properties": {
            "latitude": {"type": "number"}, "longitude": {"type": "number"}, "frame_number": {"type": "number"}}})}}}},
    "attrs": ATTRS,
    "frames": {"type": "object", "description": "by 1-based frame number", "additionalProperties": {
        "type": "object", "properties": {
            "frame_number": {"type": "integer"}, "attrs": ATTRS,
            "objects": {"type": "object", "properties": {"objects": _array(ETA_OBJECT)}}}}},
    "objects": {"type": "object", "description": "the tracks and their constant attributes",
                "properties": {"objects": _array(ETA_OBJECT)}},
    "events": {"type": "object", "properties": {"events": _array({"type": "object", "properties": {
        "label": {"type": "string"}, "confidence": {"type": "number"}, "attrs": ATTRS,
        "support": {"type": "object", "properties": {"ranges": _array(_array({"type": "integer"}))}}}})}}}}
COCO_EXPORT = {"type": "object", "description": "format=coco: frames as images, detections as annotations",
               "properties": {
    "images": _array({"type": "object", "properties": {
        "id": {"type": "integer"}, "video_id": {"type": "integer"}, "frame_index": {"type": "integer"},
        "t": {"type": "number"}, "file_name": {"type": "string"}, "width": {"type": "integer", "nullable": True},
        "height": {"type": "integer", "nullable": True}}}),
    "annotations": _array({"type": "object", "properties": {
        "id": {"type": "integer"}, "image_id": {"type": "integer"}, "category_id": {"type": "integer"},
        "bbox": _array({"type": "number"}), "area": {"type": "number"}, "iscrowd": {"type": "integer"},
        "track_id": {"type": "string", "nullable": True}, "score": {"type": "number", "nullable": True},
        "attributes": {"type": "object", "additionalProperties": ANY_VALUE}}}),
    "videos": _array({"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "fps": {"type": "number"},
        "width": {"type": "integer", "nullable": True}, "height": {"type": "integer", "nullable": True}}}),
    "categories": _array({"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}})}}
CAMIO_EXPORT = {"type": "object", "description": "format=camio, layout=json: Camio's label download", "properties": {
    "job_id": {"type": "string"}, "earliest_date": {"type": "string", "nullable": True},
    "latest_date": {"type": "string", "nullable": True},
    "labels": {"type": "object", "description": "by time stamp", "additionalProperties": {
        "type": "object",
        "properties": {"cameras": _array({"type": "string"}), "labels": _array({"type": "string"})}}}}}
JSON_EXPORT = {"anyOf": [ETA_EXPORT, COCO_EXPORT, CAMIO_EXPORT]}
