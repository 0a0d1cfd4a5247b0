"""Reading the Elasticsearch index: one point in time per call, and the live frames under it.

Everything one call reads comes from one point in time of the alias: first the pointer
documents (which generations of each video are live, its fps, name and recording time), then the
frames, always filtered on the live generations and streamed with ``search_after`` in a fixed
sort order, at most ``index.max_result_window`` hits a page (:class:`Reader`). The live filter
lists no live generation: it excludes the generations that pointers list but do not make live
(being written, replaced, deleted), normally none, so a page costs the same with 10 or a million
videos. :class:`ClipWalker` groups streamed frames into clips.

The point in time is kept alive :data:`KEEP_ALIVE` from each request: an export streams pages
as its reader consumes them, and a slow consumer (a large CSV download on a slow link) must not
outlive it between two pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.dsl import Q, Search
from elasticsearch.dsl.query import Query

from indexer.facets import filters_to_node
from indexer.search.contract import Clip, SearchRequest
from indexer.search.elasticsearch.query import FRAME, TRACK, VIDEO, all_of, compile_node, live_key, terms_in
from indexer.search.elasticsearch.temporal import Leads, has_temporal, resolve
from indexer.search.semantics import clip_break_s

# How long a point in time stays open between two requests of one call (renewed by each).
KEEP_ALIVE = "30m"
MAX_WINDOW = 10_000  # index.max_result_window: the most hits one search may return
# Sort orders of streamed frames: by time (clips), by index (detections, labels, maps).
BY_TIME = ({"video_id": "asc"}, {"t": "asc"}, {"frame": "asc"})
BY_INDEX = ({"video_id": "asc"}, {"frame": "asc"})


# Point in time -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveVideo:
    """What a video's pointer document says: ``keys``, the ``vgen`` of its live generations."""

    keys: tuple[str, ...]
    fps: float
    name: str
    recorded_at: float | None


class PointInTime:
    """Every request of one call, against one point in time of the alias."""

    def __init__(self, client: Elasticsearch, index: str, page_size: int):
        self.client = client
        self.page_size = min(page_size, MAX_WINDOW)
        self.pit_id = client.open_point_in_time(index=index, keep_alive=KEEP_ALIVE)["id"]

    def close(self) -> None:
        """Close the point in time (already gone is fine)."""
        self.client.options(ignore_status=404).close_point_in_time(id=self.pit_id)

    def search(self, search: Search) -> dict[str, Any]:
        """The response to ``search`` under this point in time."""
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

    def live_videos(self) -> tuple[dict[int, LiveVideo], list[str]]:
        """The live videos by id, and the keys of the generations listed but not live."""
        search = Search().query(Q("term", doc_type=VIDEO)).sort({"video_id": "asc"}).extra(
            track_total_hits=False).source(["video_id", "gen", "chunks", "gens", "fps", "name", "recorded_at"])
        _, hits = self.hits(search)
        videos: dict[int, LiveVideo] = {}
        excluded: set[str] = set()
        for hit in hits:
            source = hit["_source"]
            video_id = source["video_id"]
            live = [] if source.get("gen") is None else [source["gen"], *source.get("chunks", [])]
            excluded.update(live_key(video_id, gen) for gen in source.get("gens", []) if gen not in live)
            if live:
                videos[video_id] = LiveVideo(tuple(live_key(video_id, gen) for gen in live), source["fps"],
                                             source["name"], source.get("recorded_at"))
        return videos, sorted(excluded)


def _live(doc_type: str, field: str, excluded: list[str]) -> Query:
    """Documents of ``doc_type`` but those of the ``excluded`` generations."""
    kind = Q("term", doc_type=doc_type)
    return Q("bool", filter=[kind], must_not=[terms_in(field, excluded)]) if excluded else kind


class Reader:
    """The frames of one request (or of none) under a point in time; None: nothing was indexed."""

    def __init__(self, pit: PointInTime | None, request: SearchRequest | None = None):
        self.pit = pit
        self.videos, excluded = pit.live_videos() if pit is not None else ({}, [])
        self.fps = {video_id: video.fps for video_id, video in self.videos.items()}
        self.live = _live(FRAME, "vgen", excluded)
        self.live_tracks = _live(TRACK, "tvgen", excluded)
        self.filters: dict[str, Query] = {}
        self.base = self.live
        self.leads: Leads = {}  # where clips of a query with a sequence start (temporal module)
        if request is not None:
            query = request.query
            if has_temporal(query):
                query, self.leads = resolve(query, self._by_time)
            self.base = all_of([self.live, compile_node(query)])
            self.filters = {key: compile_node(filters_to_node({key: selection}, request.ontology))
                            for key, selection in request.filters.items()}

    def _by_time(self, query: Query) -> Iterator[dict[str, Any]]:
        """Every live frame matching ``query``, by (video, t, index)."""
        return self.frames(all_of([self.live, query]), sort=BY_TIME)

    def matching(self) -> Query:
        """The query AND every filter."""
        return all_of([self.base, *self.filters.values()])

    def except_filter(self, set_key: str | None) -> list[Query]:
        """Every filter's query except ``set_key``'s own."""
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
    """Clips of frames given in (video, t, index) order, with the gap rule of
    :func:`~indexer.search.semantics.clip_break_s`; ``window`` (offset, limit) keeps that page."""

    def __init__(self, fps: dict[int, float], gap_s: float, window: tuple[int, int] | None = None):
        self.fps = fps
        self.break_s = clip_break_s(gap_s)
        self.window = window
        self.count = 0
        self.duration = 0.0
        self.page: list[Clip] = []
        self.current: Clip | None = None
        self.last_t = 0.0  # the latest frame of the current clip
        self.last_index = 0

    def add(self, video_id: int, t: float, index: int, lead: tuple[float, int] | None = None) -> int:
        """Place a frame; the number of its clip (from 1). With ``lead`` (a query with a sequence),
        frames come by (video, lead, t, index) and a clip starts at its first lead and ends after
        its latest frame (:func:`~indexer.search.semantics.lead_clip_starts`)."""
        lead_t, lead_index = (t, index) if lead is None else lead
        current = self.current
        if current is None or current.video_id != video_id or lead_t - self.last_t > self.break_s:
            self._close()
            current = self.current = Clip(video_id, lead_t, 0.0, lead_index, index, 0)
            self.count += 1
        if current.frames == 0 or (t, index) > (self.last_t, self.last_index):
            current.end_s = t + 1.0 / self.fps[video_id]
            current.end_frame = index
            self.last_t, self.last_index = t, index
        current.frames += 1
        return self.count

    def finish(self) -> None:
        """Close the last clip."""
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


def by_leads(hits: Iterable[dict[str, Any]], leads: Leads) -> Iterator[tuple[dict[str, Any], tuple | None]]:
    """Streamed frames with their leads, in (video, lead, t, index) order where there are leads
    (this holds every frame in memory), else as they come."""
    if not leads:
        yield from ((hit, None) for hit in hits)
        return

    def lead_of(hit: dict[str, Any]) -> tuple[float, int]:
        video_id, t, index = hit["sort"][:3]
        return leads.get((video_id, index), (t, index))

    rows = sorted(hits, key=lambda hit: (hit["sort"][0], lead_of(hit), hit["sort"][1], hit["sort"][2]))
    yield from ((hit, lead_of(hit)) for hit in rows)


# How an engine call opens a reader: ``with read(request) as reader``.
Read = Callable[[SearchRequest | None], AbstractContextManager[Reader]]
