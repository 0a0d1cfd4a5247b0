"""Searches in Elasticsearch: counts, disjunctive facets and a page of clips, exactly.

Searches happen under one point in time per call (:mod:`indexer.search.elasticsearch.reader`).
Counts are exact (no ``cardinality``, which is approximate): facets in the
``objects`` and ``frames`` units are aggregations computed the way ``FacetedSearch`` does: the first request
has the query in ``query``, all filters in ``post_filter`` and one ``filter`` aggregation per
frame set (all filters but the facet's own), holding ``terms`` aggregations whose ``include``
lists exactly the facet values' terms and whose ``size``/``shard_size`` equal that list's
length, so no shard can leave a term out (objects: ``nested`` + ``terms`` on
``objects.facets``; frames: ``terms`` on ``keys``; objects of frame facets: ``sum`` of
``n_objects``). Clips, tracks and videos are distinct sets: the matching frames are streamed
with ``search_after`` under the point in time, sorted by ``(video_id, t, frame)``, carrying
only doc values, and counted in Python (clips with the shared gap rule, fps from the
pointer). The same stream gives the counts and the page of clips; a filtered facet counted in
one of those units streams its own frame set.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from elasticsearch.dsl import A, Search
from elasticsearch.dsl.query import Query

from indexer.facets import OBJECT_KINDS, Facet
from indexer.search.contract import SearchRequest, SearchResult
from indexer.search.elasticsearch.query import all_of, facet_term
from indexer.search.elasticsearch.reader import BY_TIME, ClipWalker, Reader, by_leads
from indexer.search.semantics import empty_result, facet_set_key, facet_unit, page_bounds, requested_facets, seconds_of

# Units counted from streamed frames (distinct sets, or seconds); objects and frames are aggregated.
STREAM_UNITS = ("tracks", "videos", "clips", "seconds")


@dataclass
class _Plan:
    """The facets counted over one frame set (the query AND all filters except ``set_key``'s)."""

    set_key: str | None
    aggregated: list[Facet] = field(default_factory=list)  # objects and frames units
    streamed: list[Facet] = field(default_factory=list)  # the other units

    def fields(self) -> list[str]:
        """The doc values streamed frames must carry for this plan's streamed facets."""
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
        """Count one streamed frame (its clip number and doc values)."""
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
        """(facet key, value, count) for every wanted value."""
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
        """The answer over an empty index: zeros (0.0 in unit seconds)."""
        result = empty_result(self.request)
        for facet in self.facets:
            if self.units[facet.key] == "seconds":
                result.facets[facet.key] = dict.fromkeys(facet.values, 0.0)
        return result

    def run(self, reader: Reader) -> SearchResult:
        """Counts, facets and the page of clips of the request, read through ``reader``."""
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
        for hit, lead in by_leads(hits, self.reader.leads):
            video_id, t, index = hit["sort"][:3]
            fields = hit.get("fields", {})
            streamed.add(video_id, walker.add(video_id, t, index, lead), fields)
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
        for hit, lead in by_leads(hits, self.reader.leads):
            video_id, t, index = hit["sort"][:3]
            streamed.add(video_id, walker.add(video_id, t, index, lead), hit.get("fields", {}))
        for facet_key, value, count in streamed.counts():
            facets[facet_key][value] = count
