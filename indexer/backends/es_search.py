"""Reading the Elasticsearch index (:mod:`indexer.backends.elasticsearch`): searches and statistics.

Everything one call reads comes from one point in time of the alias: first the pointer
documents (which generation of each video is live, its fps, name and recording time), then the
frames, always filtered on the live generations. Counts are exact:

- facets in the ``objects`` and ``frames`` units are ``terms`` aggregations whose ``include``
  lists exactly the wanted terms (``size`` and ``shard_size`` equal to its length, so no shard
  truncates), inside one ``filter`` aggregation per frame set, sent with the first page of the
  matching frames: the query in ``query``, every filter in ``post_filter`` (FacetedSearch's layout);
- everything that needs distinct clips, tracks or videos, or a per-frame computation (counts, clips,
  facets in the other units, ``seconds``, co-occurrence, tiles, histograms, detections, labels) is
  computed in Python from the matching frames, streamed with ``search_after`` in a fixed sort order,
  carrying only the doc values or source fields it needs. Aggregations that would do it inside
  Elasticsearch either approximate (``cardinality``) or use their own float formulas on rounded
  ``geo_point`` values (``geotile_grid``), so their answers could differ from the reference at the
  edges: tiles and bins use the reference's :func:`~indexer.backends.reference.tile_of` and
  :func:`~indexer.backends.reference.time_bins` on the exact doubles instead.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch
from elasticsearch.dsl import A, Q, Search
from elasticsearch.dsl.query import Query

from indexer.backends.base import (
    WINDOW_SLACK_S,
    Clip,
    Cooccurrence,
    CooccurrencePairs,
    Detection,
    Feature,
    Histogram,
    LocatedFrame,
    SearchRequest,
    SearchResult,
    SimilarTrack,
    Timeline,
)
from indexer.backends.es_query import VIDEO, all_of, compile_node, facet_term, live_key
from indexer.backends.reference import (
    VIDEO_TIME_WIDTHS,
    WALL_CLOCK_WIDTHS,
    _object_holds,
    batches,
    bin_of,
    check_target,
    check_tile_level,
    clip_break_s,
    cooccurrence_facets,
    empty_result,
    facet_frame_node,
    facet_set_key,
    facet_unit,
    page_bounds,
    pairs_facets,
    plain_attrs,
    plain_box,
    positive_object_specs,
    requested_facets,
    seconds_of,
    stat_unit,
    tile_of,
    time_bins,
)
from indexer.backends.vectors import (
    TrackVector,
    check_k,
    exact_scores,
    query_vector,
    ranked,
    shortlist_slack,
    similar_track,
)
from indexer.facets import OBJECT_KINDS, Facet, filters_to_node

KEEP_ALIVE = "2m"
BY_TIME = ({"video_id": "asc"}, {"t": "asc"}, {"frame": "asc"})
BY_INDEX = ({"video_id": "asc"}, {"frame": "asc"})
STREAM_UNITS = ("tracks", "videos", "clips", "seconds")
OBJECT_SOURCE = ["objects.label", "objects.track", "objects.confidence", "objects.box", "objects.attrs"]


# Point in time -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveVideo:
    """What a video's pointer document says."""

    gen: str
    fps: float
    name: str
    recorded_at: float | None


class PointInTime:
    """Every request of one call, against one point in time of the alias."""

    def __init__(self, client: Elasticsearch, index: str, page_size: int):
        self.client = client
        self.page_size = page_size
        self.pit_id = client.open_point_in_time(index=index, keep_alive=KEEP_ALIVE)["id"]

    def close(self) -> None:
        self.client.options(ignore_status=404).close_point_in_time(id=self.pit_id)

    def search(self, search: Search) -> dict[str, Any]:
        body = search.extra(pit={"id": self.pit_id, "keep_alive": KEEP_ALIVE}).to_dict()
        response = self.client.search(body=body).body
        self.pit_id = response.get("pit_id", self.pit_id)  # always continue with the newest id
        return response

    def hits(self, first: Search, rest: Search | None = None) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
        """The first response (for its aggregations) and every hit of the query, paged with
        ``search_after``; pages after the first are sent as ``rest`` (the request without
        aggregations)."""
        response = self.search(first.extra(size=self.page_size))

        def pages() -> Iterator[dict[str, Any]]:
            page = response
            while True:
                hits = page["hits"]["hits"]
                yield from hits
                if len(hits) < self.page_size:
                    return
                page = self.search((rest or first).extra(size=self.page_size, search_after=hits[-1]["sort"]))

        return response, pages()

    def live_videos(self) -> dict[int, LiveVideo]:
        """The pointer documents, by video id."""
        search = Search().query(Q("term", doc_type=VIDEO)).sort({"video_id": "asc"}).extra(
            track_total_hits=False).source(["video_id", "gen", "fps", "name", "recorded_at"])
        _, hits = self.hits(search)
        return {
            hit["_source"]["video_id"]: LiveVideo(hit["_source"]["gen"], hit["_source"]["fps"], hit["_source"]["name"],
                                                  hit["_source"].get("recorded_at"))
            for hit in hits
        }


class Reader:
    """The frames of one request (or of none) under a point in time; None: nothing was indexed."""

    def __init__(self, pit: PointInTime | None, request: SearchRequest | None = None):
        self.pit = pit
        self.videos = pit.live_videos() if pit is not None else {}
        self.fps = {video_id: video.fps for video_id, video in self.videos.items()}
        self.live = Q("terms", vgen=sorted(live_key(video_id, video.gen) for video_id, video in self.videos.items()))
        self.filters: dict[str, Query] = {}
        self.base = self.live
        if request is not None:
            self.base = all_of([self.live, compile_node(request.query)])
            self.filters = {key: compile_node(filters_to_node({key: selection}, request.ontology))
                            for key, selection in request.filters.items()}

    def matching(self) -> Query:
        """The query AND every filter."""
        return all_of([self.base, *self.filters.values()])

    def except_filter(self, set_key: str | None) -> list[Query]:
        return [query for key, query in self.filters.items() if key != set_key]

    def frames(self, query: Query, *, sort: tuple[dict[str, str], ...], fields: Iterable[str] = (),
               source: list[str] | bool = False) -> Iterator[dict[str, Any]]:
        """Every live frame matching ``query`` in ``sort`` order (sort values in ``hit["sort"]``)."""
        if not self.videos:
            return iter(())
        search = Search().query(query).source(source).sort(*sort).extra(track_total_hits=False)
        if fields:
            search = search.extra(docvalue_fields=list(fields))
        return self.pit.hits(search)[1]


# Clips -------------------------------------------------------------------------------------------


class ClipWalker:
    """Clips of frames given in (video, t, index) order, with the reference's gap rule."""

    def __init__(self, fps: dict[int, float], gap_s: float, window: tuple[int, int] | None = None):
        self.fps = fps
        self.break_s = clip_break_s(gap_s)
        self.window = window
        self.count = 0
        self.duration = 0.0
        self.page: list[Clip] = []
        self.current: Clip | None = None
        self.last_t = 0.0

    def add(self, video_id: int, t: float, index: int) -> int:
        """Place a frame; the number of its clip (from 1)."""
        current = self.current
        if current is None or current.video_id != video_id or t - self.last_t > self.break_s:
            self._close()
            current = self.current = Clip(video_id, t, 0.0, index, index, 0)
            self.count += 1
        current.end_s = t + 1.0 / self.fps[video_id]
        current.end_frame = index
        current.frames += 1
        self.last_t = t
        return self.count

    def finish(self) -> None:
        self._close()
        self.current = None

    def _close(self) -> None:
        if self.current is None:
            return
        self.duration += self.current.end_s - self.current.start_s
        if self.window is not None:
            offset, limit = self.window
            if offset < self.count <= offset + limit:
                self.page.append(self.current)


# Facets ------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """The facets counted over one frame set (the query AND all filters except ``set_key``'s)."""

    set_key: str | None
    aggregated: list[Facet] = field(default_factory=list)  # objects and frames units
    streamed: list[Facet] = field(default_factory=list)  # the other units

    def fields(self) -> list[str]:
        return ["keys", "track_keys", "tracks"] if self.streamed else []


class _StreamedFacets:
    """Distinct tracks, videos or clips, or seconds, per facet value, from streamed frames."""

    def __init__(self, facets: list[Facet], units: dict[str, str], fps: dict[int, float]):
        self.fps = fps
        self.wanted: dict[str, tuple[Facet, Any, str]] = {}
        for facet in facets:
            for value in facet.values:
                self.wanted[facet_term(facet, value)] = (facet, value, units[facet.key])
        self.seen: dict[str, set] = {key: set() for key in self.wanted}
        self.frames: dict[str, Counter[int]] = {key: Counter() for key in self.wanted}

    def add(self, video_id: int, clip: int, fields: dict[str, list]) -> None:
        for key in fields.get("keys", ()):
            if key not in self.wanted:
                continue
            facet, _, unit = self.wanted[key]
            if unit == "videos":
                self.seen[key].add(video_id)
            elif unit == "clips":
                self.seen[key].add(clip)
            elif unit == "seconds":
                self.frames[key][video_id] += 1
            elif facet.kind not in OBJECT_KINDS:
                self.seen[key].update((video_id, track) for track in fields.get("tracks", ()))
        for pair in fields.get("track_keys", ()):
            key, track = json.loads(pair)
            if key in self.wanted and self.wanted[key][2] == "tracks":
                self.seen[key].add((video_id, track))

    def counts(self) -> Iterator[tuple[str, Any, float]]:
        for key, (facet, value, unit) in self.wanted.items():
            count = seconds_of(self.frames[key], self.fps) if unit == "seconds" else len(self.seen[key])
            yield facet.key, value, count


class FacetSearch:
    """Counts, facets and a page of clips; ``disjunctive=False`` and a ``unit`` give occurrence
    (every facet over the matching frames, in one unit)."""

    def __init__(self, request: SearchRequest, *, disjunctive: bool = True, unit: str | None = None):
        self.request = request
        self.disjunctive = disjunctive
        self.facets = requested_facets(request)
        self.units = {facet.key: unit or facet_unit(request, facet) for facet in self.facets}

    def empty(self) -> SearchResult:
        result = empty_result(self.request)
        for facet in self.facets:
            if self.units[facet.key] == "seconds":
                result.facets[facet.key] = dict.fromkeys(facet.values, 0.0)
        return result

    def run(self, reader: Reader) -> SearchResult:
        if not reader.videos:
            return self.empty()
        self.reader = reader
        plans = self._plans()
        facets: dict[str, dict[Any, float]] = {facet.key: dict.fromkeys(facet.values, 0) for facet in self.facets}
        counts, clips, aggregations = self._main(plans, facets)
        for index, plan in enumerate(plans.values()):
            self._read_aggregations(plan, aggregations.get(f"set{index}", {}), facets)
        for set_key, plan in plans.items():
            if plan.streamed and set_key is not None:
                self._count_streamed(plan, facets)
        return SearchResult(counts=counts, facets=facets, clips=clips, total_clips=int(counts["clips"]))

    def _plans(self) -> dict[str | None, _Plan]:
        plans: dict[str | None, _Plan] = {None: _Plan(None)}
        for facet in self.facets:
            set_key = facet_set_key(self.request, facet) if self.disjunctive else None
            plan = plans.setdefault(set_key, _Plan(set_key))
            (plan.streamed if self.units[facet.key] in STREAM_UNITS else plan.aggregated).append(facet)
        return plans

    # Aggregations (objects and frames units)

    def _aggregations(self, plans: dict[str | None, _Plan]) -> dict[str, A]:
        aggregations = {}
        for index, plan in enumerate(plans.values()):
            objects, frames, sums = self._agg_terms(plan)
            if not objects and not frames:
                continue
            per_set = A("filter", filter=all_of(self.reader.except_filter(plan.set_key)))
            if objects:
                per_set.bucket("objects", "nested", path="objects").bucket(
                    "keys", "terms", field="objects.facets", include=objects, size=len(objects),
                    shard_size=len(objects))
            if frames:
                terms = per_set.bucket("frames", "terms", field="keys", include=frames, size=len(frames),
                                       shard_size=len(frames))
                if sums:
                    terms.metric("objects", "sum", field="n_objects")
            aggregations[f"set{index}"] = per_set
        return aggregations

    def _agg_terms(self, plan: _Plan) -> tuple[list[str], list[str], bool]:
        """Terms counted per object, terms counted per frame, and whether frames need object sums."""
        objects: list[str] = []
        frames: list[str] = []
        sums = False
        for facet in plan.aggregated:
            keys = [facet_term(facet, value) for value in facet.values]
            if self.units[facet.key] == "objects" and facet.kind in OBJECT_KINDS:
                objects += keys
            else:
                frames += keys
                sums = sums or self.units[facet.key] == "objects"
        return sorted(set(objects)), sorted(set(frames)), sums

    def _read_aggregations(self, plan: _Plan, result: dict[str, Any], facets: dict[str, dict[Any, float]]) -> None:
        objects = {bucket["key"]: bucket for bucket in result.get("objects", {}).get("keys", {}).get("buckets", [])}
        frames = {bucket["key"]: bucket for bucket in result.get("frames", {}).get("buckets", [])}
        for facet in plan.aggregated:
            unit = self.units[facet.key]
            for value in facet.values:
                key = facet_term(facet, value)
                if unit == "objects" and facet.kind in OBJECT_KINDS:
                    facets[facet.key][value] = objects.get(key, {}).get("doc_count", 0)
                elif unit == "objects":
                    facets[facet.key][value] = int(frames[key]["objects"]["value"]) if key in frames else 0
                else:
                    facets[facet.key][value] = frames.get(key, {}).get("doc_count", 0)

    # Streams

    def _frames_search(self, query: Query, fields: list[str]) -> Search:
        return Search().query(query).source(False).sort(*BY_TIME).extra(
            track_total_hits=False, docvalue_fields=["n_objects", *fields])

    def _main_search(self, plans: dict[str | None, _Plan], *, aggregated: bool = False) -> Search:
        """FacetedSearch's layout: the query in ``query``, the filters in ``post_filter`` (hits only),
        each frame set's filters in a ``filter`` aggregation."""
        search = self._frames_search(self.reader.base, ["tracks", *plans[None].fields()])
        if self.reader.filters:
            search = search.post_filter(all_of(list(self.reader.filters.values())))
        if aggregated:
            for name, aggregation in self._aggregations(plans).items():
                search.aggs.bucket(name, aggregation)
        return search

    def _main(self, plans: dict[str | None, _Plan], facets: dict[str, dict[Any, float]]):
        """Stream the query AND all filters: the counts, the page of clips and the streamed facets
        of the unfiltered frame set; the first response also carries every aggregation."""
        main_plan = plans[None]
        response, hits = self.reader.pit.hits(self._main_search(plans, aggregated=True), self._main_search(plans))
        walker = ClipWalker(self.reader.fps, self.request.gap_s, page_bounds(self.request))
        streamed = _StreamedFacets(main_plan.streamed, self.units, self.reader.fps)
        videos: set[int] = set()
        tracks: set[tuple[int, str]] = set()
        frames = objects = 0
        for hit in hits:
            video_id, t, index = hit["sort"][:3]
            fields = hit.get("fields", {})
            streamed.add(video_id, walker.add(video_id, t, index), fields)
            videos.add(video_id)
            tracks.update((video_id, track) for track in fields.get("tracks", ()))
            frames += 1
            objects += fields.get("n_objects", [0])[0]
        walker.finish()
        for facet_key, value, count in streamed.counts():
            facets[facet_key][value] = count
        counts = {"videos": len(videos), "clips": walker.count, "frames": frames, "objects": objects,
                  "tracks": len(tracks), "duration_s": walker.duration}
        return counts, walker.page, response.get("aggregations", {})

    def _count_streamed(self, plan: _Plan, facets: dict[str, dict[Any, float]]) -> None:
        """Stream a filtered facet's own frame set (the query AND every other filter)."""
        query = all_of([self.reader.base, *self.reader.except_filter(plan.set_key)])
        _, hits = self.reader.pit.hits(self._frames_search(query, plan.fields()))
        walker = ClipWalker(self.reader.fps, self.request.gap_s)
        streamed = _StreamedFacets(plan.streamed, self.units, self.reader.fps)
        for hit in hits:
            video_id, t, index = hit["sort"][:3]
            streamed.add(video_id, walker.add(video_id, t, index), hit.get("fields", {}))
        for facet_key, value, count in streamed.counts():
            facets[facet_key][value] = count


Read = Callable[[SearchRequest | None], AbstractContextManager[Reader]]


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
    for hit in reader.frames(reader.matching(), sort=BY_TIME, fields=["keys"]):
        video_id, t, index = hit["sort"][:3]
        frame_features = {wanted[key] for key in hit.get("fields", {}).get("keys", ()) if key in wanted}
        if scope == "frame":
            yield frame_features
            continue
        number = walker.add(video_id, t, index)
        if number != clip and clip:
            yield features
            features = set()
        clip = number
        features |= frame_features
    if scope == "clip" and clip:
        yield features


def cooccurrence(read: Read, request: SearchRequest, a: str, b: str, scope: str) -> Cooccurrence:
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


# Geo, time, detections ---------------------------------------------------------------------------


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
    """:func:`~indexer.backends.reference.histogram` for values seen twice (their range, then each
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
        attrs = dict(json.loads(key) for key in source.get("attrs", ()))
        return cls(source["label"], source.get("track"), source.get("confidence"), source.get("box"), attrs)

    def label_json(self) -> dict[str, Any]:
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
    window = all_of([Q("term", vgen=live_key(video_id, video.gen)), Q("range", t=bounds)])
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
                shown["matched"] = matched and (not specs or any(_object_holds(spec, obj) for spec in specs))
        frames.append(labeled)
    return frames


# Similar tracks ----------------------------------------------------------------------------------

TRACK = "track"  # doc_type of track documents (:mod:`indexer.backends.elasticsearch`)
# Scored hits asked for beyond the k (+ excluded) wanted, before near-ties force a second request.
SHORTLIST_EXTRA = 32
MAX_WINDOW = 10_000  # index.max_result_window
# Exact brute force over the filtered candidates (the reference's "exact kNN"); + 1 keeps scores >= 0.
COSINE_SCRIPT = "cosineSimilarity(params.query_vector, 'vector') + 1.0"


def track_key(video_id: int, track: str) -> str:
    """The ``vtrack`` term of a track: candidates are filtered on it."""
    return f"{video_id}:{track}"


def _live_tracks(reader: Reader) -> Query:
    keys = sorted(live_key(video_id, video.gen) for video_id, video in reader.videos.items())
    return all_of([Q("term", doc_type=TRACK), Q("terms", tvgen=keys)])


def _track_dims(reader: Reader, tracks: Query) -> list[int]:
    search = Search().query(tracks).extra(size=0, track_total_hits=False)
    search.aggs.bucket("dims", "terms", field="dim", size=100)
    return sorted(bucket["key"] for bucket in reader.pit.search(search)["aggregations"]["dims"]["buckets"])


def _candidate_keys(reader: Reader) -> list[str]:
    """``vtrack`` terms of the tracks with a detection in a matching frame."""
    keys = set()
    for hit in reader.frames(reader.matching(), sort=BY_INDEX, fields=["video_id", "tracks"]):
        video_id = hit["fields"]["video_id"][0]
        keys.update(track_key(video_id, track) for track in hit["fields"].get("tracks", []))
    return sorted(keys)


def scored_search(candidates: Query, query: np.ndarray, size: int, min_score: float | None = None) -> Search:
    """The ``script_score`` request: candidates by float32 cosine, best first, ties by video and track."""
    script = {"source": COSINE_SCRIPT, "params": {"query_vector": query.tolist()}}
    search = Search().query(Q("script_score", query=candidates, script=script)).sort(
        {"_score": "desc"}, {"video_id": "asc"}, {"track": "asc"}).source(
        ["video_id", "track", "label", "span", "vector"]).extra(size=size, track_total_hits=False)
    return search if min_score is None else search.extra(min_score=min_score)


def _shortlist(reader: Reader, candidates: Query, query: np.ndarray, want: int) -> list[dict[str, Any]]:
    """Every hit whose float32 score may put it in the top ``want`` (as the DuckDB engine shortlists)."""
    size = min(want + SHORTLIST_EXTRA, MAX_WINDOW)
    found = reader.pit.search(scored_search(candidates, query, size))["hits"]["hits"]
    if len(found) < size:
        return found
    floor = found[want - 1]["sort"][0] - shortlist_slack(query.size)
    if found[-1]["sort"][0] < floor:
        return found
    return reader.pit.search(scored_search(candidates, query, MAX_WINDOW, min_score=floor))["hits"]["hits"]


def similar_tracks(read: Read, request: SearchRequest | None, vector: Any, k: int,
                   exclude: Collection[tuple[int, str]]) -> list[SimilarTrack]:
    """Top ``k`` of the live tracks (candidates of ``request``), rescored exactly and ranked."""
    check_k(k)
    query = query_vector(vector)
    with read(request) as reader:
        if not reader.videos:
            return []
        tracks = _live_tracks(reader)
        dims = _track_dims(reader, tracks)
        if not dims:
            return []
        if query.size not in dims:
            raise ValueError(f"no indexed track has a {query.size}-dimensional embedding "
                             f"(indexed: {', '.join(map(str, dims))})")
        candidates = all_of([tracks, Q("term", dim=query.size)])
        if request is not None:
            keys = _candidate_keys(reader)
            if not keys:
                return []
            candidates = all_of([candidates, Q("terms", vtrack=keys)])
        hits = [hit["_source"] for hit in _shortlist(reader, candidates, query, k + len(exclude))]
        fps = reader.fps
    if not hits:
        return []
    found = {(hit["video_id"], hit["track"]): hit for hit in hits}
    keys = list(found)
    scores = exact_scores(np.array([found[key]["vector"] for key in keys], dtype=np.float32), query)
    return [similar_track(video_id, _span(found[(video_id, track)]), score, fps[video_id])
            for video_id, track, score in ranked(keys, scores, k, exclude)]


def _span(source: dict[str, Any]) -> TrackVector:
    span = source["span"]
    return TrackVector(source["track"], source["label"], np.empty(0, dtype=np.float32), span["first_frame"],
                       span["last_frame"], span["first_t"], span["last_t"], span["frames"])


def track_vector(read: Read, video_id: int, track: str) -> np.ndarray | None:
    """The live document of one track, its vector."""
    with read(None) as reader:
        if not reader.videos:
            return None
        search = Search().query(all_of([_live_tracks(reader), Q("term", vtrack=track_key(video_id, track))])).source(
            ["vector"]).extra(size=1, track_total_hits=False)
        found = reader.pit.search(search)["hits"]["hits"]
    return np.array(found[0]["_source"]["vector"], dtype=np.float32) if found else None
