"""A campaign's reviewed labels as a download: CSV rows, or ETA-style VideoLabels (one per
video: each item a VideoObject whose attributes carry its review state and correction)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from itertools import groupby
from typing import Any

from analytics.review.models import Campaign
from analytics.review.selectors import export_rows

CSV_COLUMNS = ("item", "video", "video_name", "unit", "key", "track", "start_frame", "end_frame", "start_s", "end_s",
               "label", "attrs", "state", "votes", "decided_by_admin", "corrected_label", "corrected_attrs")
ETA_TYPES = {bool: "eta.core.data.BooleanAttribute", float: "eta.core.data.NumericAttribute",
             int: "eta.core.data.NumericAttribute", str: "eta.core.data.CategoricalAttribute"}


def review_csv(*, campaign: Campaign) -> Iterator[str]:
    """A header, then one row per item; attributes as JSON text, by name."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in export_rows(campaign=campaign):
        writer.writerow([json.dumps(row[c], sort_keys=True) if c in ("attrs", "corrected_attrs") and row[c] is not None
                         else "" if row[c] is None else row[c] for c in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def review_eta(*, campaign: Campaign) -> dict[str, Any]:
    """``{"campaign", "question", "videos": [{"video", "name", "labels": VideoLabels}]}``: each
    item an ETA VideoObject with its label as counted (corrected where corrected), its track id
    as ``index``, its 1-based frame ``support`` and attributes ``review_state``, ``review_key``
    and the values it counts under (by name)."""
    videos = []
    for (video_id, name), rows in groupby(export_rows(campaign=campaign), key=lambda r: (r["video"], r["video_name"])):
        objects = [_video_object(row) for row in rows]
        videos.append({"video": video_id, "name": name, "labels": {"filename": name, "objects": {"objects": objects}}})
    return {"campaign": campaign.pk, "question": campaign.question, "videos": videos}


def _video_object(row: dict[str, Any]) -> dict[str, Any]:
    label = row["corrected_label"] or row["label"]
    values = row["attrs"] if row["corrected_attrs"] is None else row["corrected_attrs"]
    attrs = {**{name: values[name] for name in sorted(values)}, "review_state": row["state"], "review_key": row["key"]}
    video_object: dict[str, Any] = {
        "type": "eta.core.objects.VideoObject", "label": label,
        "support": {"ranges": [[row["start_frame"] + 1, row["end_frame"] + 1]]},
        "attrs": {"attrs": [{"type": ETA_TYPES[type(value)], "name": name, "value": value}
                            for name, value in attrs.items()]},
    }
    if row["track"] is not None:
        video_object["index"] = int(row["track"]) if row["track"].isdigit() else row["track"]
    return video_object
