"""Statistics in Elasticsearch: occurrence, co-occurrence, tiles, time bins, detections, labels.

Every statistic (the statistics guide, docs/guide/statistics.md) reads the frames matching
the query AND all filters under one point in time. Occurrence counts every facet over them
in one unit, as search counts facets (:class:`~indexer.search.elasticsearch.search.FacetSearch`,
not disjunctive); everything else streams the matching frames and applies the shared rules in Python: tiles,
time bins, seconds and scope rules of :mod:`indexer.search.semantics`. ``geotile_grid`` and
``histogram`` aggregations are not used because their float formulas run on rounded values
and could put a frame on the border of a tile or bin in another cell than the shared rules do.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from elasticsearch.dsl import Q

from indexer.facets import Facet
from indexer.search.contract import (
    WINDOW_SLACK_S,
    Cooccurrence,
    CooccurrencePairs,
    Detection,
    Feature,
    Histogram,
    LocatedFrame,
    SearchRequest,
    Timeline,
)
from indexer.search.elasticsearch.query import all_of, compile_node, facet_term
from indexer.search.elasticsearch.reader import BY_INDEX, BY_TIME, ClipWalker, Read, Reader, by_leads
from indexer.search.elasticsearch.search import FacetSearch
from indexer.search.semantics import (
    VIDEO_TIME_WIDTHS,
    WALL_CLOCK_WIDTHS,
    batches,
    bin_of,
    check_target,
    check_tile_level,
    cooccurrence_facets,
    facet_frame_node,
    object_holds,
    pairs_facets,
    plain_attrs,
    plain_box,
    positive_object_specs,
    stat_unit,
    tile_of,
    time_bins,
)

# The source fields of a frame's detections that detections and labels show.
OBJECT_SOURCE = ["objects.label", "objects.track", "objects.confidence", "objects.box", "objects.attrs"]


# Occurrence --------------------------------------------------------------------------------------


def occurrence(read: Read, request: SearchRequest, unit: str) -> dict[str, dict[Any, float]]:
    """Every facet's values over the matching frames, in ``unit``."""
    stat_unit(unit)
    search = FacetSearch(request, disjunctive=False, unit=unit)
    with read(request) as reader:
        return search.run(reader).facets


# Co-occurrence -----------------------------------------------------------------------------------


def _unit_features(reader: Reader, request: SearchRequest, scope: str,
                   facets: list[Facet]) -> Iterator[set[Feature]]:
    """For every unit of ``scope`` (detections, frames or clips of the matching frames), the facet
    values it has: an object's ``facets`` terms, or a frame's ``keys``."""
    wanted = {facet_term(facet, value): (facet.key, value) for facet in facets for value in facet.values}
    if scope == "object":
        for hit in reader.frames(reader.matching(), sort=BY_TIME, source=["objects.facets"]):
            for obj in hit["_source"].get("objects", []):
                yield {wanted[key] for key in obj.get("facets", ()) if key in wanted}
        return
    walker = ClipWalker(reader.fps, request.gap_s)
    clip, features = 0, set()
    for hit, lead in by_leads(reader.frames(reader.matching(), sort=BY_TIME, fields=["keys"]), reader.leads):
        video_id, t, index = hit["sort"][:3]
        frame_features = {wanted[key] for key in hit.get("fields", {}).get("keys", ()) if key in wanted}
        if scope == "frame":
            yield frame_features
            continue
        number = walker.add(video_id, t, index, lead)
        if number != clip and clip:
            yield features
            features = set()
        clip = number
        features |= frame_features
    if scope == "clip" and clip:
        yield features


def cooccurrence(read: Read, request: SearchRequest, a: str, b: str, scope: str) -> Cooccurrence:
    """The matrix of facets ``a`` x ``b`` over the streamed units of ``scope``."""
    facet_a, facet_b = cooccurrence_facets(request, a, b, scope)
    rows, cols = list(facet_a.values), list(facet_b.values)
    matrix = [[0] * len(cols) for _ in rows]
    row_totals, col_totals = [0] * len(rows), [0] * len(cols)
    total = 0
    with read(request) as reader:
        for unit in _unit_features(reader, request, scope, [facet_a, facet_b]):
            total += 1
            has_rows = [i for i, row in enumerate(rows) if (a, row) in unit]
            has_cols = [j for j, col in enumerate(cols) if (b, col) in unit]
            for i in has_rows:
                row_totals[i] += 1
                for j in has_cols:
                    matrix[i][j] += 1
            for j in has_cols:
                col_totals[j] += 1
    return Cooccurrence(rows=rows, cols=cols, matrix=matrix, row_totals=row_totals, col_totals=col_totals,
                        total=total)


def cooccurrence_pairs(read: Read, request: SearchRequest, scope: str, facets: list[str]) -> CooccurrencePairs:
    """Marginals and pair counts of ``facets`` over the streamed units of ``scope``."""
    chosen = pairs_facets(request, facets, scope)
    order = {key: position for position, key in enumerate(facets)}
    marginals = {(facet.key, value): 0 for facet in chosen for value in facet.values}
    pairs: Counter[tuple[Feature, Feature]] = Counter()
    total = 0
    with read(request) as reader:
        for unit in _unit_features(reader, request, scope, chosen):
            total += 1
            for feature in unit:
                marginals[feature] += 1
                for other in unit:
                    if order[feature[0]] < order[other[0]]:
                        pairs[(feature, other)] += 1
    return CooccurrencePairs(total=total, marginals=marginals, pairs=dict(pairs))


# Geo and time ------------------------------------------------------------------------------------


def _located_hits(reader: Reader, bbox: list[float] | None) -> Iterator[dict[str, Any]]:
    where = [reader.matching(), Q("exists", field="lat")]
    if bbox is not None:
        where.append(compile_node({"geo": {"bbox": bbox}}))
    return reader.frames(all_of(where), sort=BY_INDEX, fields=["t", "lat", "lon", "n_objects"])


def located_frames(read: Read, request: SearchRequest, bbox: list[float] | None,
                   batch_size: int) -> Iterator[list[LocatedFrame]]:
    """Batches of located matching frames; the point in time stays open while they are read."""
    def each(reader: Reader) -> Iterator[LocatedFrame]:
        for hit in _located_hits(reader, bbox):
            video_id, index = hit["sort"][:2]
            fields = hit["fields"]
            yield LocatedFrame(video_id, index, fields["t"][0], fields["lat"][0], fields["lon"][0],
                               fields["n_objects"][0])

    with read(request) as reader:
        yield from batches(each(reader), batch_size)


def geo_cells(read: Read, request: SearchRequest, z: int, bbox: list[float] | None,
              target: str) -> dict[tuple[int, int], int]:
    """The located matching frames (or their detections) tallied by
    :func:`~indexer.search.semantics.tile_of` on their exact coordinates."""
    check_tile_level(z)
    check_target(target)
    cells: Counter[tuple[int, int]] = Counter()
    with read(request) as reader:
        for hit in _located_hits(reader, bbox):
            fields = hit["fields"]
            weight = 1 if target == "frames" else fields["n_objects"][0]
            if weight:
                cells[tile_of(fields["lat"][0], fields["lon"][0], z)] += weight
    return dict(cells)


class _Bins:
    """:func:`~indexer.search.semantics.histogram` for values seen twice (their range, then each
    value), so memory does not grow with the number of frames."""

    def __init__(self, widths: tuple[float, ...]):
        self.widths = widths
        self.low: float | None = None
        self.high: float | None = None
        self.counts: list[int] = []

    def extend(self, value: float) -> None:
        self.low = value if self.low is None else min(self.low, value)
        self.high = value if self.high is None else max(self.high, value)

    def start(self, max_bins: int) -> None:
        if self.low is not None:
            self.first, self.width, bins = time_bins(self.low, self.high, max_bins, self.widths)
            self.counts = [0] * bins

    def add(self, value: float) -> None:
        self.counts[bin_of(value, self.first, self.width, len(self.counts))] += 1

    def histogram(self) -> Histogram:
        if self.low is None:
            return Histogram(start=None, width=None, counts=[])
        return Histogram(start=self.first, width=self.width, counts=self.counts)


def timeline(read: Read, request: SearchRequest, max_bins: int) -> Timeline:
    """The matching frames binned over t and recorded_at + t: one pass for the range, one to count."""
    if max_bins < 1:
        raise ValueError("max_bins must be >= 1")
    with read(request) as reader:
        return _timeline(reader, max_bins)


def _timeline(reader: Reader, max_bins: int) -> Timeline:

    def times() -> Iterator[tuple[float, float | None]]:
        for hit in reader.frames(reader.matching(), sort=BY_TIME):
            video_id, t = hit["sort"][:2]
            recorded = reader.videos[video_id].recorded_at
            yield t, None if recorded is None else recorded + t

    video_time, wall_clock = _Bins(VIDEO_TIME_WIDTHS), _Bins(WALL_CLOCK_WIDTHS)
    unplaced = 0
    for t, wall in times():
        video_time.extend(t)
        if wall is None:
            unplaced += 1
        else:
            wall_clock.extend(wall)
    if video_time.low is not None:
        video_time.start(max_bins)
        wall_clock.start(max_bins)
        for t, wall in times():
            video_time.add(t)
            if wall is not None:
                wall_clock.add(wall)
    return Timeline(video_time=video_time.histogram(), wall_clock=wall_clock.histogram(), unplaced=unplaced)


# Detections and labels ---------------------------------------------------------------------------


@dataclass
class StoredObject:
    """A detection as stored: effective attributes decoded from their typed terms."""

    label: str
    track: str | None
    confidence: float | None
    box: list[float] | None
    attrs: dict[str, Any]

    @classmethod
    def from_source(cls, source: dict[str, Any]) -> StoredObject:
        """A nested object of a frame document's source."""
        attrs = dict(json.loads(key) for key in source.get("attrs", ()))
        return cls(source["label"], source.get("track"), source.get("confidence"), source.get("box"), attrs)

    def label_json(self) -> dict[str, Any]:
        """The detection as frame labels and detections show it."""
        return {"label": self.label, "track": self.track,
                "confidence": None if self.confidence is None else float(self.confidence),
                "box": plain_box(self.box), "attrs": plain_attrs(self.attrs)}


def detections(read: Read, request: SearchRequest, batch_size: int) -> Iterator[list[Detection]]:
    """Batches of detections; the point in time stays open while they are read."""
    def each(reader: Reader) -> Iterator[Detection]:
        for hit in reader.frames(reader.matching(), sort=BY_INDEX, source=["t", "lat", "lon", *OBJECT_SOURCE]):
            video_id, index = hit["sort"][:2]
            source = hit["_source"]
            for stored in source.get("objects", []):
                label = StoredObject.from_source(stored).label_json()
                yield Detection(
                    video_id=video_id, video_name=reader.videos[video_id].name, index=index, t=source["t"],
                    label=label["label"], track=label["track"], confidence=label["confidence"],
                    box=None if label["box"] is None else tuple(label["box"]), attrs=label["attrs"],
                    lat=source.get("lat"), lon=source.get("lon"))

    with read(request) as reader:
        yield from batches(each(reader), batch_size)


def frame_labels(read: Read, request: SearchRequest | None, video_id: int, start_s: float,
                 end_s: float | None) -> list[dict[str, Any]]:
    """One video's frames in a time window, each object marked ``matched`` when a request is given."""
    with read(request) as reader:
        return _frame_labels(reader, request, video_id, start_s, end_s)


def _frame_labels(reader: Reader, request: SearchRequest | None, video_id: int, start_s: float,
                  end_s: float | None) -> list[dict[str, Any]]:
    video = reader.videos.get(video_id)
    if video is None:
        return []
    bounds = {"gte": start_s - WINDOW_SLACK_S}
    if end_s is not None:
        bounds["lt"] = end_s - WINDOW_SLACK_S
    window = all_of([Q("terms", vgen=list(video.keys)), Q("range", t=bounds)])
    matched_frames: set[int] = set()
    specs: list[dict[str, Any]] = []
    if request is not None:
        matched_frames = {hit["sort"][1] for hit in reader.frames(all_of([window, reader.matching()]), sort=BY_INDEX)}
        specs = positive_object_specs(facet_frame_node(request, None))
    frames = []
    for hit in reader.frames(window, sort=BY_INDEX, source=["t", *OBJECT_SOURCE]):
        index = hit["sort"][1]
        stored = [StoredObject.from_source(source) for source in hit["_source"].get("objects", [])]
        labeled = {"index": index, "t": hit["_source"]["t"], "objects": [obj.label_json() for obj in stored]}
        if request is not None:
            matched = index in matched_frames
            labeled["matched"] = matched
            for obj, shown in zip(stored, labeled["objects"], strict=True):
                shown["matched"] = matched and (not specs or any(object_holds(spec, obj) for spec in specs))
        frames.append(labeled)
    return frames
