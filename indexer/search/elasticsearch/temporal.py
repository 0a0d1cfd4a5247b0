"""Sequences and dwell in Elasticsearch: evaluated by fetching the frames of their operands and
combining them in Python, exactly (rules: :mod:`indexer.search.semantics`, "Sequences and dwell").

Elasticsearch has no query that relates one frame document to another, so before a search
compiles, :func:`resolve` replaces each ``sequence`` and ``dwell`` node, innermost first, by the
frames where it holds: an internal ``frames`` node (``{"frames": {video_id: [index, ...]}}``) that
compiles to ``video_id`` and ``frame`` terms. The operands' frames are streamed from the same
point in time as the search (sorted by video, time, index, doc values only): ``video_id``, ``t``
and ``frame`` from the sort values, and, for a dwell of an object node, the ``objects.track`` of
the detections that meet it (``inner_hits``, at most :data:`MAX_INNER_HITS` per frame; a frame with
more is refused with an error rather than answered inexactly). The window and run arithmetic are
the shared numpy functions (:func:`~indexer.search.semantics.sequence_leads`,
:func:`~indexer.search.semantics.dwell_mask`), the same float operations as the rules.

A search whose query has a sequence also gets each matching frame's lead (where its clip starts);
:class:`~indexer.search.elasticsearch.reader.ClipWalker` forms clips from them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from elasticsearch.dsl import Q
from elasticsearch.dsl.query import Query

from indexer.search.elasticsearch.query import compile_node
from indexer.search.semantics import dwell_mask, sequence_leads

FrameKey = tuple[int, int]  # (video_id, frame index)
Lead = tuple[float, int]  # (t, index) a clip reaches back to
Leads = dict[FrameKey, Lead]
# index.max_inner_result_window: the most detections of one frame a dwell reads.
MAX_INNER_HITS = 100
INNER = "dwell_tracks"

# Streams every live frame matching a query, by (video, t, index); ``inner`` asks for the inner hits.
Stream = Callable[[Query], Iterator[dict[str, Any]]]


def has_temporal(node: dict[str, Any]) -> bool:
    """Whether a sequence or a dwell lies anywhere in ``node``."""
    (kind, body), = node.items()
    if kind in ("sequence", "dwell"):
        return True
    if kind in ("and", "or"):
        return any(has_temporal(child) for child in body)
    return kind == "not" and has_temporal(body)


def resolve(node: dict[str, Any], stream: Stream) -> tuple[dict[str, Any], Leads]:
    """``node`` with every sequence and dwell replaced by the frames where it holds, and the leads
    of the sequences reached through and, or and a sequence's ``then`` (where they hold)."""
    (kind, body), = node.items()
    if kind in ("and", "or"):
        resolved = [resolve(child, stream) for child in body]
        return {kind: [child for child, _ in resolved]}, _earliest([leads for _, leads in resolved])
    if kind == "not":
        return {"not": resolve(body, stream)[0]}, {}
    if kind == "sequence":
        return _sequence(body, stream)
    if kind == "dwell":
        return _dwell(body, stream), {}
    return node, {}


def _rows(stream: Stream, node: dict[str, Any]) -> dict[str, np.ndarray]:
    video, t, index = [], [], []
    for hit in stream(compile_node(node)):
        video_id, time, frame = hit["sort"][:3]
        video.append(video_id)
        t.append(time)
        index.append(frame)
    return {"video": np.array(video, dtype=np.int64), "t": np.array(t, dtype=float),
            "idx": np.array(index, dtype=np.int64)}


def _sequence(spec: dict[str, Any], stream: Stream) -> tuple[dict[str, Any], Leads]:
    first, first_leads = resolve(spec["first"], stream)
    then, then_leads = resolve(spec["then"], stream)
    a = _rows(stream, first)
    leads = [min((t, i), first_leads.get((v, i), (t, i)))
             for v, t, i in zip(a["video"].tolist(), a["t"].tolist(), a["idx"].tolist(), strict=True)]
    a["lead_t"] = np.array([lead[0] for lead in leads], dtype=float)
    a["lead_idx"] = np.array([lead[1] for lead in leads], dtype=np.int64)
    b = _rows(stream, then)
    found, lead_t, lead_idx = sequence_leads(a, b, float(spec["within_s"]))
    holds: dict[int, list[int]] = {}
    own_leads: Leads = {}
    for video_id, index, ok, t, i in zip(b["video"].tolist(), b["idx"].tolist(), found.tolist(), lead_t.tolist(),
                                         lead_idx.tolist(), strict=True):
        if ok:
            holds.setdefault(video_id, []).append(index)
            own_leads[(video_id, index)] = (t, i)
    return {"frames": holds}, _earliest([then_leads, own_leads])


def _dwell(spec: dict[str, Any], stream: Stream) -> dict[str, Any]:
    query, _ = resolve(spec["query"], stream)
    if "object" in query:
        video, group, t, index = _track_rows(stream, query)
    else:
        rows = _rows(stream, query)
        video, t, index = rows["video"], rows["t"], rows["idx"]
        group = video
    holds: dict[int, set[int]] = {}
    mask = dwell_mask(group, t, float(spec["min_s"]), float(spec["gap_s"]))
    for video_id, frame in zip(video[mask].tolist(), index[mask].tolist(), strict=True):
        holds.setdefault(video_id, set()).add(frame)
    return {"frames": {video_id: sorted(frames) for video_id, frames in holds.items()}}


def _track_rows(stream: Stream, query: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """(video, track group, t, index) of each (track, frame) where a detection of the track meets
    the object node, sorted by (video, track, t, index); untracked detections are left out."""
    nested = compile_node(query).to_dict()["nested"]
    with_tracks = Q("nested", **nested, inner_hits={
        "name": INNER, "_source": False, "docvalue_fields": ["objects.track"], "size": MAX_INNER_HITS})
    rows: set[tuple[int, str, float, int]] = set()
    for hit in stream(with_tracks):
        video_id, t, frame = hit["sort"][:3]
        inner = hit["inner_hits"][INNER]["hits"]
        if inner["total"]["value"] > len(inner["hits"]):
            raise ValueError(f"frame {frame} of video {video_id} has more than {MAX_INNER_HITS} detections meeting "
                             "a dwell's object condition; narrow the condition")
        for detection in inner["hits"]:
            for track in detection.get("fields", {}).get("objects.track", []):
                rows.add((video_id, track, t, frame))
    ordered = sorted(rows)
    groups = {key: number for number, key in enumerate(sorted({(v, track) for v, track, _, _ in ordered}))}
    return (np.array([v for v, _, _, _ in ordered], dtype=np.int64),
            np.array([groups[(v, track)] for v, track, _, _ in ordered], dtype=np.int64),
            np.array([t for _, _, t, _ in ordered], dtype=float),
            np.array([i for _, _, _, i in ordered], dtype=np.int64))


def _earliest(maps: list[Leads]) -> Leads:
    merged: Leads = {}
    for leads in maps:
        for key, lead in leads.items():
            merged[key] = min(lead, merged.get(key, lead))
    return merged
