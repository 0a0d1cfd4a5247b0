"""The Elasticsearch engine's :class:`SearchBackend`: generations written by pointer flips.

Every document of a video is routed by ``video_id``, so a video
lives in one shard. Frames carry ``gen`` (a fresh id per write) and ``vgen``
(``"<video_id>:<gen>"``); a pointer document ``video-<id>`` (``doc_type: video``: name, fps,
recorded_at, current ``gen``), routed with the frames, says which generation is live. ``index_video`` stages
the records on disk and validates them, bulk-indexes the new generation
(``<video_id>-<gen>-<frame>`` ids: deterministic within a write, so a retried bulk chunk
overwrites rather than duplicates), then flips the pointer with optimistic concurrency
(``if_seq_no``/``if_primary_term``) and ``refresh=true``, then deletes the replaced generation by
query. A search opens a point in time, reads the pointers through it, and filters every frame
query on the live ``vgen`` values. Pointer and frames share a shard and the pointer is written
after the frames were acknowledged, so a point in time that sees a pointer sees all its frames,
and old frames are deleted only after the flip: a search sees the old analytics or the new,
never a mix. A failed write deletes its own generation; frames of a writer that died in between
stay invisible (not live) until the next rebuild.

**Appends** (live streams) ask the live generation, in one search, which of the chunk's frames
and track ids it already has (``post_filter`` on the frames, an exact ``terms`` aggregation on the
tracks), copy the video's frames into a new generation on the cluster with ``_reindex`` (a
Painless script re-tags ``gen``/``vgen`` and the id; routing is kept), bulk-index the new frames
into it, then flip the pointer and delete the old generation as ``index_video`` does: a search sees
the whole chunk or none of it. Each append copies the video once, server-side.

**Rebuilds** create ``<prefix>-frames-<UTC timestamp>`` from the template, bulk-load every video,
refresh, and move the alias in one ``_aliases`` request (remove from the old index, add to the
new one), as elasticsearch-dsl-py's ``examples/alias_migration.py`` does; the index it replaced
is kept for searches still holding a point in time on it, older ones are deleted.

Reads go through :mod:`~indexer.search.elasticsearch.reader` (one point in time per call):
searches in :mod:`~indexer.search.elasticsearch.search`, statistics in
:mod:`~indexer.search.elasticsearch.statistics`, similar tracks in
:mod:`~indexer.search.elasticsearch.similar`.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from elasticsearch import ConflictError, Elasticsearch, NotFoundError, helpers
from elasticsearch.dsl import Index, Q
from elasticsearch.dsl.query import Query

from indexer.records import Analytics, FrameRecord, ObjectRecord
from indexer.search.contract import (
    AppendResult,
    BaseSearchBackend,
    Cooccurrence,
    CooccurrencePairs,
    Detection,
    IndexCounts,
    LocatedFrame,
    SearchRequest,
    SearchResult,
    SimilarTrack,
    Timeline,
)
from indexer.search.elasticsearch import similar, statistics
from indexer.search.elasticsearch.documents import COPY_GENERATION, VideoDocuments, frame_mapping, pointer_id
from indexer.search.elasticsearch.query import FRAME, TRACK, all_of, live_key
from indexer.search.elasticsearch.reader import PointInTime, Reader
from indexer.search.elasticsearch.search import FacetSearch
from indexer.search.semantics import append_split, check_video_id, refuse_track_records

# Documents per bulk request, and attempts at flipping a pointer that another writer keeps moving.
BULK_CHUNK = 500
PUBLISH_ATTEMPTS = 5
# Index settings: the live-generation filter lists one term per live video.
MAX_LIVE_VIDEOS = 262_144
NESTED_OBJECTS_LIMIT = 100_000
TEMPLATE_PRIORITY = 200


def new_generation() -> str:
    """A fresh generation id: unique, so concurrent writers of one video never share documents."""
    return uuid.uuid4().hex


@dataclass
class _Indexed:
    """What a video's live generation already has of an append's chunk."""

    frames: set[int]
    tracks: set[str]


# The engine --------------------------------------------------------------------------------------


def _generation(video_id: int, gen: str) -> Query:
    """Every document (frames and tracks) of one generation of a video."""
    return Q("term", vgen=live_key(video_id, gen)) | Q("term", tvgen=live_key(video_id, gen))


def connect(*, url: str, username: str = "", password: str = "", api_key: str = "", ca_certs: str = "",
            timeout: float = 30.0, max_retries: int = 3) -> Elasticsearch:
    """A client for the cluster at ``url``: basic auth or an API key, an optional CA bundle, a
    request timeout, and retries (also on timeouts) across the cluster's nodes."""
    if not url:
        raise ValueError("the Elasticsearch engine needs a cluster URL (ELASTICSEARCH_URL)")
    return Elasticsearch(
        hosts=[url],
        basic_auth=(username, password) if username else None,
        api_key=api_key or None,
        ca_certs=ca_certs or None,
        request_timeout=timeout,
        max_retries=max_retries,
        retry_on_timeout=True,
    )


class SearchBackend(BaseSearchBackend):
    """Elasticsearch engine over the alias ``<index_prefix>-frames`` (module docstring)."""

    def __init__(self, url: str = "", username: str = "", password: str = "", api_key: str = "",
                 ca_certs: str = "", timeout: float = 30.0, max_retries: int = 3, index_prefix: str = "scoop",
                 shards: int = 1, replicas: int = 1, page_size: int = 5_000, client: Elasticsearch | None = None):
        self.client = client or connect(url=url, username=username, password=password, api_key=api_key,
                                        ca_certs=ca_certs, timeout=timeout, max_retries=max_retries)
        self.alias = f"{index_prefix}-frames"
        self.shards = shards
        self.replicas = replicas
        self.page_size = page_size
        self.max_retries = max_retries

    # Index layout

    def index_template(self) -> dict[str, Any]:
        """The composable index template every frames index is created from (the body of
        ``PUT _index_template/<prefix>-frames``)."""
        index = Index(f"{self.alias}-*")
        index.settings(number_of_shards=self.shards, number_of_replicas=self.replicas,
                       max_terms_count=MAX_LIVE_VIDEOS, **{"mapping.nested_objects.limit": NESTED_OBJECTS_LIMIT})
        index.mapping(frame_mapping())
        # Not Index.as_composable_template(): its copy of the index drops the mapping's dynamic and
        # _routing settings.
        return {"index_patterns": [f"{self.alias}-*"], "template": index.to_dict(), "priority": TEMPLATE_PRIORITY}

    def _put_template(self) -> None:
        self.client.indices.put_index_template(name=self.alias, **self.index_template())

    def _indices(self) -> list[str]:
        """Every frames index of this prefix, live or not."""
        return sorted(self.client.indices.get_alias(index=f"{self.alias}-*").body)

    def _live_indices(self) -> list[str]:
        if not self.client.indices.exists_alias(name=self.alias):
            return []
        return sorted(self.client.indices.get_alias(name=self.alias).body)

    def _ensure_index(self) -> None:
        """Create the template and a first index behind the alias unless the alias exists."""
        if self.client.indices.exists_alias(name=self.alias):
            return
        self._put_template()
        # A fixed name: when two writers race here, the second create fails and both use the first.
        self.client.options(ignore_status=400).indices.create(index=f"{self.alias}-initial",
                                                              aliases={self.alias: {}})
        if not self.client.indices.exists_alias(name=self.alias):
            raise RuntimeError(f"could not create the Elasticsearch alias {self.alias}")

    def _bulk(self, actions: Iterable[dict[str, Any]]) -> None:
        for _ok, _item in helpers.streaming_bulk(self.client, actions, chunk_size=BULK_CHUNK,
                                                 max_retries=self.max_retries, raise_on_error=True):
            pass

    def _delete_frames(self, video_id: int, query: Query) -> None:
        response = self.client.delete_by_query(
            index=self.alias, routing=str(video_id),
            query=all_of([Q("terms", doc_type=[FRAME, TRACK]), query]).to_dict(),
            conflicts="proceed", refresh=True)
        if response.get("failures"):
            raise RuntimeError(f"deleting frames of video {video_id} failed: {response['failures']}")

    def _publish(self, documents: VideoDocuments) -> str | None:
        """Point the video at the new generation; the generation it replaced (None: a new video)."""
        routing = str(documents.video_id)
        for _attempt in range(PUBLISH_ATTEMPTS):
            current = self.client.options(ignore_status=404).get(
                index=self.alias, id=pointer_id(documents.video_id), routing=routing, source=["gen"])
            try:
                if not current.get("found"):
                    self.client.create(index=self.alias, id=pointer_id(documents.video_id), routing=routing,
                                       document=documents.pointer(), refresh=True)
                    return None
                self.client.index(index=self.alias, id=pointer_id(documents.video_id), routing=routing,
                                  document=documents.pointer(), if_seq_no=current["_seq_no"],
                                  if_primary_term=current["_primary_term"], refresh=True)
                return current["_source"]["gen"]
            except ConflictError:
                continue  # another writer flipped the pointer in between: read it again
        raise RuntimeError(f"video {documents.video_id} is being written concurrently; gave up after "
                           f"{PUBLISH_ATTEMPTS} attempts")

    # Writing

    def index_video(self, *, video_id: int, name: str, analytics: Analytics) -> IndexCounts:
        """Write a new generation of the video, flip its pointer, delete the old generation."""
        documents = VideoDocuments(video_id=video_id, name=name, analytics=analytics, gen=new_generation())
        try:
            self._ensure_index()
            try:
                self._bulk(documents.actions(self.alias))
                replaced = self._publish(documents)
            except BaseException:
                # Best effort: the generation is invisible without its pointer, and the write's own
                # error is the one to report.
                with suppress(Exception):
                    self._delete_frames(video_id, _generation(video_id, documents.gen))
                raise
            if replaced is not None:
                self._delete_frames(video_id, _generation(video_id, replaced))
            return documents.counts
        finally:
            documents.close()

    def append_frames(self, *, video_id: int, name: str, analytics: Analytics) -> AppendResult:
        """Copy the live generation into a new one on the cluster (``_reindex``), add the chunk's
        new frames to it, flip the pointer, delete the old generation: searches see the video
        before the chunk or after it, never part of it (the cost: each append copies the video)."""
        check_video_id(video_id)
        records = list(analytics.records())
        refuse_track_records(records)
        self._ensure_index()
        current = self.client.options(ignore_status=404).get(
            index=self.alias, id=pointer_id(video_id), routing=str(video_id), source=["gen", "fps"])
        if not current.get("found"):
            counts = self.index_video(video_id=video_id, name=name, analytics=analytics)
            split = append_split(records, set())
            return AppendResult(appended=counts, duplicate_frames=0, duplicate_objects=0, indices=sorted(split.fresh))
        old_gen = current["_source"]["gen"]
        indexed = self._indexed(video_id, old_gen, records)
        split = append_split(records, indexed.frames)
        if not split.fresh:
            return AppendResult(appended=IndexCounts(0, 0, 0, 0), duplicate_frames=split.duplicate_frames,
                                duplicate_objects=split.duplicate_objects, indices=[])
        # An indexed video keeps its fps; the caller's meta gives the rest, as when it was created.
        meta = replace(analytics.meta, fps=current["_source"]["fps"])
        documents = VideoDocuments(video_id=video_id, name=name, gen=new_generation(),
                                   analytics=Analytics.from_list(format=analytics.format, meta=meta,
                                                                 records=split.kept))
        try:
            try:
                self._copy_generation(video_id, old_gen, documents.gen)
                self._bulk(documents.actions(self.alias))
                replaced = self._publish(documents)
            except BaseException:
                with suppress(Exception):
                    self._delete_frames(video_id, Q("term", vgen=live_key(video_id, documents.gen)))
                raise
            if replaced is not None:
                self._delete_frames(video_id, Q("term", vgen=live_key(video_id, replaced)))
            counts = documents.counts
            return AppendResult(
                appended=IndexCounts(frames=counts.frames, objects=counts.objects,
                                     tracks=len(documents.tracks - indexed.tracks), events=counts.events),
                duplicate_frames=split.duplicate_frames, duplicate_objects=split.duplicate_objects,
                indices=sorted(split.fresh))
        finally:
            documents.close()

    def _indexed(self, video_id: int, gen: str, records: list[Any]) -> _Indexed:
        """Which of the chunk's frame indices and track ids the live generation already has, in one
        search: the frames through ``post_filter``, the tracks by a ``terms`` aggregation listing
        exactly the chunk's track ids (so its counts are exact)."""
        indices = sorted({record.index for record in records if isinstance(record, FrameRecord | ObjectRecord)})
        tracks = sorted({record.track for record in records if isinstance(record, ObjectRecord) and record.track})
        body: dict[str, Any] = {
            "query": all_of([Q("term", doc_type=FRAME), Q("term", vgen=live_key(video_id, gen))]).to_dict(),
            "post_filter": {"terms": {"frame": indices}},
            "size": len(indices), "_source": False, "docvalue_fields": ["frame"], "track_total_hits": False,
        }
        if tracks:
            body["aggs"] = {"tracks": {"terms": {"field": "tracks", "include": tracks, "size": len(tracks)}}}
        response = self.client.search(index=self.alias, routing=str(video_id), **body)
        frames = {hit["fields"]["frame"][0] for hit in response["hits"]["hits"]}
        known_tracks = {bucket["key"] for bucket in response.get("aggregations", {}).get("tracks", {}).get(
            "buckets", [])}
        return _Indexed(frames=frames, tracks=known_tracks)

    def _copy_generation(self, video_id: int, old_gen: str, new_gen: str) -> None:
        """Copy the video's frame and track documents of ``old_gen`` into ``new_gen`` on the cluster
        (routing kept), so that its similarity vectors stay live too."""
        frames = _generation(video_id, old_gen)
        params = {"gen": new_gen, "vgen": live_key(video_id, new_gen), "prefix": f"{video_id}-{new_gen}-"}
        response = self.client.reindex(
            source={"index": self.alias, "query": frames.to_dict()}, dest={"index": self.alias},
            script={"lang": "painless", "source": COPY_GENERATION, "params": params},
            refresh=True, wait_for_completion=True)
        if response.get("failures"):
            raise RuntimeError(f"copying the frames of video {video_id} failed: {response['failures']}")

    def delete_video(self, *, video_id: int) -> None:
        """Drop the pointer (searches stop seeing the video at once), then the frames."""
        if not self.client.indices.exists_alias(name=self.alias):
            return
        self.client.options(ignore_status=404).delete(index=self.alias, id=pointer_id(video_id),
                                                      routing=str(video_id), refresh=True)
        self._delete_frames(video_id, Q("term", video_id=video_id))

    def rebuild(self, *, videos: list[tuple[int, str, Analytics]]) -> None:
        """Load every video into a fresh index, then swap the alias onto it in one request."""
        latest = {video_id: (name, analytics) for video_id, name, analytics in videos}  # a repeated id: last wins
        for video_id in latest:
            check_video_id(video_id)
        self._put_template()
        index = f"{self.alias}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
        self.client.indices.create(index=index)
        try:
            for video_id in sorted(latest):
                name, analytics = latest[video_id]
                documents = VideoDocuments(video_id=video_id, name=name, analytics=analytics, gen=new_generation())
                try:
                    pointer = {"_op_type": "index", "_index": index, "_routing": str(video_id),
                               "_id": pointer_id(video_id), "_source": documents.pointer()}
                    self._bulk(itertools.chain(documents.actions(index), [pointer]))
                finally:
                    documents.close()
            self.client.indices.refresh(index=index)
            previous = self._live_indices()
            actions = [{"remove": {"index": old, "alias": self.alias}} for old in previous]
            self.client.indices.update_aliases(actions=[*actions, {"add": {"index": index, "alias": self.alias}}])
        except BaseException:
            with suppress(Exception):  # the alias never moved: the half-built index is only garbage
                self.client.options(ignore_status=404).indices.delete(index=index)
            raise
        # The index just replaced stays for searches still reading it; older ones go.
        stale = [name for name in self._indices() if name != index and name not in previous]
        if stale:
            self.client.options(ignore_status=404).indices.delete(index=stale)

    def drop(self) -> None:
        """Delete every index and the template of this prefix (tests, uninstalling)."""
        indices = self._indices()
        if indices:
            self.client.indices.delete(index=indices)
        self.client.options(ignore_status=404).indices.delete_index_template(name=self.alias)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()

    # Reading

    @contextmanager
    def _reader(self, request: SearchRequest | None = None) -> Iterator[Reader]:
        """The request's frames under one point in time (none when nothing was ever indexed)."""
        try:
            pit = PointInTime(self.client, self.alias, self.page_size)
        except NotFoundError:
            pit = None
        try:
            yield Reader(pit, request)
        finally:
            if pit is not None:
                pit.close()

    def search(self, *, request: SearchRequest) -> SearchResult:
        """Counts, disjunctive facets and a page of clips, all from one point in time."""
        search = FacetSearch(request)  # checks facet keys and units first, even on an empty index
        with self._reader(request) as reader:
            return search.run(reader)

    def video_ids(self) -> list[int]:
        """Ids of the videos whose pointer is live, ascending."""
        with self._reader() as reader:
            return sorted(reader.videos)

    # Statistics (the statistics guide): every one reads the frames matching the query AND all filters.

    def occurrence(self, *, request: SearchRequest, unit: str) -> dict[str, dict[Any, float]]:
        """Each facet value's count in ``unit``: aggregations for objects and frames, the
        streamed frames for the others."""
        return statistics.occurrence(self._reader, request, unit)

    def cooccurrence(self, *, request: SearchRequest, a: str, b: str, scope: str) -> Cooccurrence:
        """Counted over the streamed units (detections, frames or clips) of the matching frames."""
        return statistics.cooccurrence(self._reader, request, a, b, scope)

    def cooccurrence_pairs(self, *, request: SearchRequest, scope: str, facets: list[str]) -> CooccurrencePairs:
        """Marginals and pair counts over the streamed units of the matching frames."""
        return statistics.cooccurrence_pairs(self._reader, request, scope, facets)

    def geo_cells(self, *, request: SearchRequest, z: int, bbox: list[float] | None,
                  target: str) -> dict[tuple[int, int], int]:
        """Located matching frames tallied by the shared tile formula on exact coordinates."""
        return statistics.geo_cells(self._reader, request, z, bbox, target)

    def located_frames(self, *, request: SearchRequest, bbox: list[float] | None,
                       batch_size: int = 10_000) -> Iterator[list[LocatedFrame]]:
        """Located matching frames by video and index."""
        return statistics.located_frames(self._reader, request, bbox, batch_size)

    def timeline(self, *, request: SearchRequest, max_bins: int) -> Timeline:
        """Matching frames binned over t and recorded_at + t (two passes over the stream)."""
        return statistics.timeline(self._reader, request, max_bins)

    def detections(self, *, request: SearchRequest, batch_size: int = 10_000) -> Iterator[list[Detection]]:
        """Every detection of the matching frames from their stored objects, by video and index."""
        return statistics.detections(self._reader, request, batch_size)

    def frame_labels(self, *, video_id: int, start_s: float, end_s: float | None,
                     request: SearchRequest | None) -> list[dict[str, Any]]:
        """A video's frames in a window; ``matched`` from the matching frames and the request's
        positive object predicates."""
        return statistics.frame_labels(self._reader, request, video_id, start_s, end_s)

    # Similarity

    def similar_tracks(self, *, request: SearchRequest | None, vector: Any, k: int,
                       exclude: Collection[tuple[int, str]] = ()) -> list[SimilarTrack]:
        """Exact cosine top-k: ``script_score`` over the live candidate track documents, then the
        shortlist rescored like every engine (:func:`indexer.search.elasticsearch.similar.similar_tracks`)."""
        return similar.similar_tracks(self._reader, request, vector, k, exclude)

    def track_vector(self, *, video_id: int, track: str) -> np.ndarray | None:
        """The live track document's vector."""
        return similar.track_vector(self._reader, video_id, track)
