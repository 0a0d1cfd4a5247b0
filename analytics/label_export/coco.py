"""COCO-style JSON, one file for every video of the export.

- ``images``: one per exported frame, ``{id, video_id, frame_index, t, file_name, width, height}``
  (``file_name`` = ``<video>/<frame index, 6 digits>.jpg``; the frames' pixels are not exported);
- ``annotations``: one per detection, ``{id, image_id, category_id, bbox [x, y, w, h] in pixels,
  area, iscrowd 0, track_id (null when untracked), score, attributes}`` (the review state among
  the attributes); a detection without a box has ``bbox`` null and area 0;
- ``videos``: ``{id, name, fps, width, height}``; ``categories``: ``{id, name}`` per label,
  the schema's labels numbered from 1 in schema order, others after them.

The annotations are written to a temporary file while the images are, then copied after
them, so each video is read once. A video without a frame size has relative boxes
(width = height = 1).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Iterator

from analytics.label_export.source import VideoLabels

EXTENSION = "json"
CONTENT_TYPE = "application/json"
_ITEMS_PER_CHUNK = 2000
_COPY_BYTES = 1 << 20


def write(videos: Iterable[Callable[[], VideoLabels]], labels: list[str]) -> Iterator[str]:
    """The COCO JSON of every video (each made by its callable, read once, then closed)."""
    categories = {label: number for number, label in enumerate(labels, start=1)}
    image_id = annotation_id = 0
    video_items: list[dict] = []
    yield '{"images": ['
    separator, annotations_separator = "", ""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", prefix="scoop-coco-") as annotations:
        for video_id, make in enumerate(videos, start=1):
            video = make()
            try:
                width, height = video.meta.width or 1, video.meta.height or 1
                video_items.append({"id": video_id, "name": video.name, "fps": video.meta.fps,
                                    "width": video.meta.width, "height": video.meta.height})
                images: list[str] = []
                notes: list[str] = []
                for frame in video.frames():
                    image_id += 1
                    images.append(json.dumps({"id": image_id, "video_id": video_id, "frame_index": frame.index,
                                              "t": frame.t, "file_name": f"{video.name}/{frame.index:06d}.jpg",
                                              "width": width, "height": height}))
                    for obj in frame.objects:
                        annotation_id += 1
                        if obj.label not in categories:
                            categories[obj.label] = len(categories) + 1
                        bbox, area = None, 0.0
                        if obj.box is not None:
                            x1, y1, x2, y2 = obj.box
                            bbox = [x1 * width, y1 * height, (x2 - x1) * width, (y2 - y1) * height]
                            area = bbox[2] * bbox[3]
                        notes.append(json.dumps({
                            "id": annotation_id, "image_id": image_id, "category_id": categories[obj.label],
                            "bbox": bbox, "area": area, "iscrowd": 0, "track_id": obj.track,
                            "score": obj.confidence, "attributes": obj.attrs}))
                    if len(images) + len(notes) >= _ITEMS_PER_CHUNK:
                        yield separator + ", ".join(images)
                        separator = ", "
                        if notes:
                            annotations.write(annotations_separator + ", ".join(notes))
                            annotations_separator = ", "
                        images, notes = [], []
                if images:
                    yield separator + ", ".join(images)
                    separator = ", "
                if notes:
                    annotations.write(annotations_separator + ", ".join(notes))
                    annotations_separator = ", "
            finally:
                video.close()
        yield '], "annotations": ['
        annotations.seek(0)
        while text := annotations.read(_COPY_BYTES):
            yield text
    yield '], "videos": ' + json.dumps(video_items)
    yield ', "categories": ' + json.dumps([{"id": number, "name": label} for label, number in categories.items()])
    yield "}\n"
