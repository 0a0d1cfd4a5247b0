"""ETA VideoLabels (framewise) from the worker's detections, and what the
worker needs to know of an ontology (which labels take which colours)."""

from __future__ import annotations

from typing import Any

from scoop_worker.colors import PALETTE
from scoop_worker.detections import Detection

CATEGORICAL = "eta.core.data.CategoricalAttribute"
# Without an ontology to ask, only vehicles get a colour (as in the demo ontology).
DEFAULT_COLORS: dict[str, tuple[str, ...]] = {"vehicle": PALETTE}


def ontology_colors(document: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """``{label: allowed colour values}`` for every object label of a Scoop
    ontology document with a categorical ``color`` attribute (per detection or per track)."""
    colors: dict[str, tuple[str, ...]] = {}
    for label, spec in ((document.get("objects") or {}).get("schema") or {}).items():
        for level in ("frames", "attrs"):
            attribute = ((spec.get(level) or {}).get("schema") or {}).get("color") or {}
            if attribute.get("categories"):
                colors[label] = tuple(attribute["categories"])
    return colors


def ontology_labels(document: dict[str, Any]) -> set[str]:
    """The object labels an ontology document knows."""
    return set((document.get("objects") or {}).get("schema") or {})


def detected_object(detection: Detection, *, width: int, height: int, frame_number: int) -> dict[str, Any]:
    """One ETA DetectedObject: relative box, track ``index``, attributes, embedding."""
    x1, y1, x2, y2 = detection.box
    item: dict[str, Any] = {
        "type": "eta.core.objects.DetectedObject",
        "label": detection.label,
        "name": detection.source,
        "confidence": round(float(detection.score), 4),
        "frame_number": frame_number,
        "bounding_box": {
            "top_left": {"x": round(x1 / width, 5), "y": round(y1 / height, 5)},
            "bottom_right": {"x": round(x2 / width, 5), "y": round(y2 / height, 5)},
        },
        "attrs": {"attrs": [
            {"type": CATEGORICAL, "name": name, "value": value, "confidence": confidence}
            for name, (value, confidence) in sorted(detection.attrs.items())
        ]},
    }
    if detection.track is not None:
        item["index"] = detection.track
    if detection.embedding is not None:
        item["embedding"] = [round(float(v), 5) for v in detection.embedding]
    return item


def video_labels(frames: dict[int, list[Detection]], *, name: str, fps: float, width: int, height: int,
                 frame_count: int) -> dict[str, Any]:
    """ETA VideoLabels (framewise) for ``{0-based frame index: detections}``;
    frames without detections are left out (ETA frame numbers are 1-based)."""
    return {
        "filename": name,
        "metadata": {
            "frame_size": [width, height],
            "frame_rate": fps,
            "total_frame_count": frame_count,
            "duration": round(frame_count / fps, 6) if fps else None,
        },
        "frames": {
            str(index + 1): {
                "frame_number": index + 1,
                "objects": {"objects": [
                    detected_object(d, width=width, height=height, frame_number=index + 1) for d in found
                ]},
            }
            for index, found in sorted(frames.items()) if found
        },
    }
