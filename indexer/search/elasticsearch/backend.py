"""The Elasticsearch engine's :class:`SearchBackend`: generations written by pointer flips.

Every document of a video is routed by ``video_id``, so a video lives in one shard. Frames carry
``gen`` (a fresh id per write) and ``vgen`` (``"<video_id>:<gen>"``), track documents ``tvgen``.
A pointer document ``video-<id>`` (``doc_type: video``), routed with them, says which
generations are live: ``gen``, and the appended ``chunks`` live with it; ``gens`` lists every
generation that may have documents in the index. A search opens a point in time, reads the
pointers through it, and excludes the generations that are listed but not live (normally none,
so the filter costs nothing however many videos are live: no list of live generations is sent).

**Writes** hold the writers' lock (:mod:`indexer.search.elasticsearch.lock`), one writer at a
time, so that a rebuild never loses a write made while it loads. ``index_video`` stages the
records on disk and validates them, adds the new generation to the pointer's ``gens`` (so its
documents are excluded until the flip), bulk-indexes it (``<video_id>-<gen>-<frame>`` ids:
deterministic within a write, so a retried bulk chunk overwrites rather than duplicates), then
flips ``gen`` with optimistic concurrency (``if_seq_no``/``if_primary_term``) and
``refresh=true``. Pointer and documents share a shard and the pointer is written after the
documents were acknowledged, so a point in time that sees the flip sees all the documents: a
search sees the old analytics or the new, never a mix. A failed write deletes its own generation.

**Appends** (live streams) ask the live generations, in searches of at most
``index.max_result_window`` hits, which of the chunk's frames and track ids they already have,
bulk-index the new frames as a chunk generation, then flip it into the pointer's ``chunks``: a
search sees the whole chunk or none of it, and an append writes only what it adds. Nothing is
copied: no ``_reindex``, whose destination must differ from its source. As in every engine, an
append adds no track vectors (a stream's are indexed when it is ingested again or rebuilt).

**Tidying** after a flip folds the live chunks into ``gen`` with an ``_update_by_query`` on the
same documents (both are live meanwhile, so searches never notice) and deletes the generations
that are no longer live by query, frames and tracks (``vgen`` and ``tvgen``), then shortens the
pointer's lists. Both run as tasks (``wait_for_completion=false``, then the tasks API is polled),
so a client timeout never resends them; when tidying fails the write has still succeeded: a
warning is logged and the next write of the video tidies again.

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
import logging
import time
import uuid
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from elasticsearch import ConflictError, Elasticsearch, NotFoundError, helpers
from elasticsearch.dsl import Index, Q
from elasticsearch.dsl.query import Query
from elasticsearch.exceptions import GeneralAvailabilityWarning

from indexer.records import Analytics, FrameRecord, ObjectRecord
from indexer.search.contract import (
    AppendResult,
    BaseSearchBackend,
    Cooccurrence,
    CooccurrencePairs,
    Detection,
    IndexCounts,
    LocatedFrame,
    MatchedTrack,
    SearchRequest,
    SearchResult,
    SimilarTrack,
    Timeline,
)
from indexer.search.elasticsearch import similar, statistics
from indexer.search.elasticsearch.documents import (
    RETAG_GENERATION,
    VideoDocuments,
    frame_mapping,
    pointer_id,
    vector_field,
)
from indexer.search.elasticsearch.lock import WritersLock, writers_lock
from indexer.search.elasticsearch.query import FRAME, TRACK, all_of, batched, live_key
from indexer.search.elasticsearch.reader import MAX_WINDOW, PointInTime, Reader
from indexer.search.elasticsearch.search import FacetSearch
from indexer.search.semantics import append_split, check_video_id, matched_tracks, refuse_track_records

logger = logging.getLogger(__name__)

# Documents per bulk request, and attempts at writing a pointer that another writer keeps moving.
BULK_CHUNK = 500
PUBLISH_ATTEMPTS = 5
NESTED_OBJECTS_LIMIT = 100_000
TEMPLATE_PRIORITY = 200
# Seconds between two looks at a running task (_update_by_query, _delete_by_query).
TASK_POLL_S = 2.0


def new_generation() -> str:
    """A fresh generation id: unique, so concurrent writers of one video never share documents."""
    return uuid.uuid4().hex


@dataclass
class _Indexed:
    """What a video's live generations already have of an append's chunk."""

    frames: set[int]
    tracks: set[str]


@dataclass
class _Pointer:
    """A pointer document as read, with what a conditional write of it needs."""

    source: dict[str, Any]
    seq_no: int
    primary_term: int

    @property
    def live(self) -> list[str]:
        """The live generations (none while the video is being created or deleted)."""
        gen = self.source.get("gen")
        return [] if gen is None else [gen, *self.source.get("chunks", [])]


# The engine --------------------------------------------------------------------------------------


def _generations(video_id: int, gens: Collection[str]) -> Query:
    """Every document (frames and tracks) of some generations of a video."""
    keys = sorted(live_key(video_id, gen) for gen in gens)
    return Q("terms", vgen=keys) | Q("terms", tvgen=keys)


def connect(*, url: str, username: str = "", password: str = "", api_key: str = "", ca_certs: str = "",
            timeout: float = 30.0, max_retries: int = 3) -> Elasticsearch:
    """A client for the cluster at ``url``: basic auth or an API key, an optional CA bundle, a
    request timeout, and retries (also on timeouts) across the cluster's nodes. Requests that
    start long operations are sent without retry on timeout (:meth:`SearchBackend._run_task`)."""
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
        self.lock_index = f"{index_prefix}-locks"
        self.shards = shards
        self.replicas = replicas
        self.page_size = min(page_size, MAX_WINDOW)
        self.max_retries = max_retries

    # Index layout

    def index_template(self) -> dict[str, Any]:
        """The composable index template every frames index is created from (the body of
        ``PUT _index_template/<prefix>-frames``)."""
        index = Index(f"{self.alias}-*")
        index.settings(number_of_shards=self.shards, number_of_replicas=self.replicas,
                       **{"mapping.nested_objects.limit": NESTED_OBJECTS_LIMIT})
        index.mapping(frame_mapping())
        # Not Index.as_composable_template(): its copy of the index drops the mapping's dynamic and
        # _routing settings.
        return {"index_patterns": [f"{self.alias}-*"], "template": index.to_dict(), "priority": TEMPLATE_PRIORITY}

    def _put_template(self) -> None:
        self.client.indices.put_index_template(name=self.alias, **self.index_template())

    def _put_vector_fields(self, index: str, dims: list[int]) -> None:
        """Add the ``dense_vector`` field of each dimension (the same mapping again is a no-op)."""
        if dims:
            properties: dict[str, Any] = {}
            for dim in dims:
                properties.update(vector_field(dim))
            self.client.indices.put_mapping(index=index, properties=properties)

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

    @contextmanager
    def _writing(self) -> Iterator[WritersLock]:
        with writers_lock(self.client, self.lock_index) as lock:
            yield lock

    def _bulk(self, lock: WritersLock, actions: Iterable[dict[str, Any]]) -> None:
        for _ok, _item in helpers.streaming_bulk(self.client, actions, chunk_size=BULK_CHUNK,
                                                 max_retries=self.max_retries, raise_on_error=True):
            lock.renew_if_due()

    def _run_task(self, lock: WritersLock, what: str, start: Callable[..., Any], **request: Any) -> dict[str, Any]:
        """Start a long operation as a task and poll the tasks API until it ends; its response.

        The request that starts it is never resent on a timeout (the cluster may have started
        it), and polling may be retried freely."""
        submitted = start(self.client.options(retry_on_timeout=False), wait_for_completion=False, **request)
        task_id = submitted["task"]
        while True:
            with warnings.catch_warnings():  # "technical preview" since 5.0, and what _delete_by_query documents
                warnings.simplefilter("ignore", GeneralAvailabilityWarning)
                status = self.client.tasks.get(task_id=task_id)
            if status.get("completed"):
                break
            lock.renew_if_due()
            time.sleep(TASK_POLL_S)
        if status.get("error"):
            raise RuntimeError(f"{what} failed: {status['error']}")
        response = status.get("response", {})
        if response.get("failures"):
            raise RuntimeError(f"{what} failed: {response['failures']}")
        return response

    def _delete_documents(self, lock: WritersLock, video_id: int, query: Query, what: str) -> None:
        self._run_task(lock, what, lambda client, **kw: client.delete_by_query(**kw),
                       index=self.alias, routing=str(video_id),
                       query=all_of([Q("terms", doc_type=[FRAME, TRACK]), query]).to_dict(),
                       conflicts="proceed", refresh=True)

    # Pointers

    def _read_pointer(self, video_id: int) -> _Pointer | None:
        found = self.client.options(ignore_status=404).get(index=self.alias, id=pointer_id(video_id),
                                                           routing=str(video_id))
        if not found.get("found"):
            return None
        return _Pointer(found["_source"], found["_seq_no"], found["_primary_term"])

    def _change_pointer(self, video_id: int,
                        change: Callable[[dict[str, Any] | None], dict[str, Any] | None]) -> _Pointer | None:
        """Write ``change(current source)`` over the pointer (None: delete it), conditionally on
        what was read, reading again when another writer moved it in between; the pointer as read."""
        routing, doc_id = str(video_id), pointer_id(video_id)
        for _attempt in range(PUBLISH_ATTEMPTS):
            current = self._read_pointer(video_id)
            wanted = change(None if current is None else dict(current.source))
            try:
                if current is None:
                    if wanted is not None:
                        self.client.create(index=self.alias, id=doc_id, routing=routing, document=wanted,
                                           refresh=True)
                elif wanted is None:
                    self.client.delete(index=self.alias, id=doc_id, routing=routing, if_seq_no=current.seq_no,
                                       if_primary_term=current.primary_term, refresh=True)
                else:
                    self.client.index(index=self.alias, id=doc_id, routing=routing, document=wanted,
                                      if_seq_no=current.seq_no, if_primary_term=current.primary_term, refresh=True)
                return current
            except ConflictError:
                continue  # another writer moved the pointer in between: read it again
        raise RuntimeError(f"video {video_id} is being written concurrently; gave up after "
                           f"{PUBLISH_ATTEMPTS} attempts")

    def _register(self, documents: VideoDocuments) -> None:
        """List a generation about to be written in the pointer's ``gens`` (not live yet)."""
        def change(source: dict[str, Any] | None) -> dict[str, Any]:
            if source is None:  # a new video: its pointer says nothing is live yet
                return {**documents.pointer(), "gen": None}
            return {**source, "gens": sorted({*source.get("gens", []), documents.gen})}
        self._change_pointer(documents.video_id, change)

    def _discard(self, lock: WritersLock, video_id: int, gen: str) -> None:
        """Delete a generation whose write failed, then unlist it. The refresh first makes every
        document the failed bulk did write visible to the deletion (it deletes what a search finds):
        one left behind unlisted would be live."""
        self.client.indices.refresh(index=self.alias)
        self._delete_documents(lock, video_id, _generations(video_id, [gen]), f"discarding a write of video {video_id}")

        def change(source: dict[str, Any] | None) -> dict[str, Any] | None:
            if source is None:
                return None
            gens = [listed for listed in source.get("gens", []) if listed != gen]
            return None if source.get("gen") is None and not gens else {**source, "gens": gens}
        self._change_pointer(video_id, change)

    def _tidy(self, lock: WritersLock, video_id: int) -> None:
        """Fold live chunks into the live generation and delete the generations no longer live;
        a failure only warns (the write it follows has succeeded; the next write tidies again)."""
        try:
            pointer = self._read_pointer(video_id)
            if pointer is None or pointer.source.get("gen") is None:
                return
            gen, chunks = pointer.source["gen"], pointer.source.get("chunks", [])
            dead = sorted(set(pointer.source.get("gens", [])) - {gen, *chunks})
            if not chunks and not dead:
                return
            if chunks:
                self._run_task(lock, f"folding the appended chunks of video {video_id}",
                               lambda client, **kw: client.update_by_query(**kw),
                               index=self.alias, routing=str(video_id),
                               query=_generations(video_id, chunks).to_dict(),
                               script={"lang": "painless", "source": RETAG_GENERATION,
                                       "params": {"gen": gen, "vgen": live_key(video_id, gen)}},
                               refresh=True)
            if dead:
                self._delete_documents(lock, video_id, _generations(video_id, dead),
                                       f"deleting replaced generations of video {video_id}")
            done = {*chunks, *dead}

            def change(source: dict[str, Any] | None) -> dict[str, Any] | None:
                if source is None:
                    return None
                return {**source, "chunks": [chunk for chunk in source.get("chunks", []) if chunk not in done],
                        "gens": [listed for listed in source.get("gens", []) if listed not in done]}
            self._change_pointer(video_id, change)
        except Exception:
            logger.warning("tidying video %s in Elasticsearch failed after its write succeeded; "
                           "the next write of the video tries again", video_id, exc_info=True)

    # Writing

    def index_video(self, *, video_id: int, name: str, analytics: Analytics) -> IndexCounts:
        """Write a new generation of the video, flip its pointer, delete the old generations."""
        documents = VideoDocuments(video_id=video_id, name=name, analytics=analytics, gen=new_generation())
        try:
            with self._writing() as lock:
                self._write(lock, documents)
            return documents.counts
        finally:
            documents.close()

    def _write(self, lock: WritersLock, documents: VideoDocuments, *, tracks: bool = True) -> None:
        video_id = documents.video_id
        self._ensure_index()
        if tracks:
            self._put_vector_fields(self.alias, documents.dims)
        self._register(documents)
        try:
            self._bulk(lock, documents.actions(self.alias, tracks=tracks))
            self._change_pointer(video_id, lambda source: {
                **documents.pointer(), "gens": sorted({*(source or {}).get("gens", []), documents.gen})})
        except BaseException:
            # Best effort: the generation is not live, and the write's own error is the one to report.
            with suppress(Exception):
                self._discard(lock, video_id, documents.gen)
            raise
        self._tidy(lock, video_id)

    def append_frames(self, *, video_id: int, name: str, analytics: Analytics) -> AppendResult:
        """Bulk-index the chunk's new frames as a chunk generation, then flip it live: searches see
        the video before the chunk or after it, never part of it, and the append writes only what
        it adds (module docstring)."""
        check_video_id(video_id)
        records = list(analytics.records())
        refuse_track_records(records)
        with self._writing() as lock:
            self._ensure_index()
            current = self._read_pointer(video_id)
            if current is None or not current.live:
                documents = VideoDocuments(video_id=video_id, name=name, analytics=analytics, gen=new_generation())
                try:
                    self._write(lock, documents, tracks=False)
                finally:
                    documents.close()
                split = append_split(records, set())
                return AppendResult(appended=documents.counts, duplicate_frames=0, duplicate_objects=0,
                                    indices=sorted(split.fresh))
            indexed = self._indexed(video_id, current.live, records)
            split = append_split(records, indexed.frames)
            if not split.fresh:
                return AppendResult(appended=IndexCounts(0, 0, 0, 0), duplicate_frames=split.duplicate_frames,
                                    duplicate_objects=split.duplicate_objects, indices=[])
            # An indexed video keeps its fps; the caller's meta gives the rest, as when it was created.
            meta = replace(analytics.meta, fps=current.source["fps"])
            documents = VideoDocuments(video_id=video_id, name=name, gen=new_generation(),
                                       analytics=Analytics.from_list(format=analytics.format, meta=meta,
                                                                     records=split.kept))
            try:
                self._append(lock, documents)
                counts = documents.counts
            finally:
                documents.close()
        return AppendResult(
            appended=IndexCounts(frames=counts.frames, objects=counts.objects,
                                 tracks=len(documents.tracks - indexed.tracks), events=counts.events),
            duplicate_frames=split.duplicate_frames, duplicate_objects=split.duplicate_objects,
            indices=sorted(split.fresh))

    def _append(self, lock: WritersLock, documents: VideoDocuments) -> None:
        """Write the chunk's frames as a generation of its own, then make it live beside the others."""
        video_id, chunk = documents.video_id, documents.gen
        self._change_pointer(video_id, lambda source: {**source, "gens": sorted({*source.get("gens", []), chunk})})
        try:
            self._bulk(lock, documents.actions(self.alias, tracks=False))
            # Idempotent, as every pointer change: a write resent after a timeout reads its own result.
            self._change_pointer(video_id, lambda source: {**source, "chunks": [
                *(listed for listed in source.get("chunks", []) if listed != chunk), chunk]})
        except BaseException:
            with suppress(Exception):
                self._discard(lock, video_id, chunk)
            raise
        self._tidy(lock, video_id)

    def _indexed(self, video_id: int, live: list[str], records: list[Any]) -> _Indexed:
        """Which of the chunk's frame indices and track ids the live generations already have: the
        frames through ``post_filter``, the tracks by a ``terms`` aggregation listing exactly the
        chunk's track ids (so its counts are exact); at most ``index.max_result_window`` frames and
        as many track ids per search."""
        indices = sorted({record.index for record in records if isinstance(record, FrameRecord | ObjectRecord)})
        tracks = sorted({record.track for record in records if isinstance(record, ObjectRecord) and record.track})
        found = _Indexed(frames=set(), tracks=set())
        query = all_of([Q("term", doc_type=FRAME), Q("terms", vgen=[live_key(video_id, gen) for gen in live])])
        for frame_batch, track_batch in itertools.zip_longest(batched(indices, MAX_WINDOW),
                                                              batched(tracks, MAX_WINDOW), fillvalue=[]):
            body: dict[str, Any] = {
                "query": query.to_dict(), "post_filter": {"terms": {"frame": frame_batch}},
                "size": len(frame_batch), "_source": False, "docvalue_fields": ["frame"], "track_total_hits": False,
            }
            if track_batch:
                body["aggs"] = {"tracks": {"terms": {"field": "tracks", "include": track_batch,
                                                     "size": len(track_batch)}}}
            response = self.client.search(index=self.alias, routing=str(video_id), **body)
            found.frames.update(hit["fields"]["frame"][0] for hit in response["hits"]["hits"])
            found.tracks.update(bucket["key"] for bucket in response.get("aggregations", {}).get("tracks", {}).get(
                "buckets", []))
        return found

    def delete_video(self, *, video_id: int) -> None:
        """Take the video's generations out of the pointer (searches stop seeing it at once), delete
        its documents, then the pointer; a failed deletion only warns (the next write or the
        deletion again finishes it)."""
        with self._writing() as lock:
            if not self.client.indices.exists_alias(name=self.alias):
                return
            before = self._change_pointer(video_id, lambda source: None if source is None else {
                **source, "gen": None, "chunks": []})
            if before is None:
                return
            try:
                self._delete_documents(lock, video_id, Q("term", video_id=video_id),
                                       f"deleting the documents of video {video_id}")
                self._change_pointer(video_id, lambda source: None)
            except Exception:
                logger.warning("video %s is deleted from searches, but deleting its documents from Elasticsearch "
                               "failed", video_id, exc_info=True)

    def rebuild(self, *, videos: list[tuple[int, str, Analytics]]) -> None:
        """Load every video into a fresh index, then swap the alias onto it in one request; the
        writers' lock keeps other writes waiting meanwhile."""
        latest = {video_id: (name, analytics) for video_id, name, analytics in videos}  # a repeated id: last wins
        for video_id in latest:
            check_video_id(video_id)
        with self._writing() as lock:
            self._put_template()
            index = f"{self.alias}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
            self.client.indices.create(index=index)
            try:
                for video_id in sorted(latest):
                    name, analytics = latest[video_id]
                    documents = VideoDocuments(video_id=video_id, name=name, analytics=analytics,
                                               gen=new_generation())
                    try:
                        self._put_vector_fields(index, documents.dims)
                        pointer = {"_op_type": "index", "_index": index, "_routing": str(video_id),
                                   "_id": pointer_id(video_id), "_source": documents.pointer()}
                        self._bulk(lock, itertools.chain(documents.actions(index), [pointer]))
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
            try:
                stale = [name for name in self._indices() if name != index and name not in previous]
                if stale:
                    self.client.options(ignore_status=404).indices.delete(index=stale)
            except Exception:
                logger.warning("the rebuilt index is live, but deleting older indices failed", exc_info=True)

    def drop(self) -> None:
        """Delete every index, the lock and the template of this prefix (tests, uninstalling)."""
        indices = self._indices()
        if indices:
            self.client.indices.delete(index=indices)
        self.client.options(ignore_status=404).indices.delete(index=self.lock_index)
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

    def matched_tracks(self, *, request: SearchRequest) -> list[MatchedTrack]:
        """Found in :meth:`detections`, as the contract defines them (a scan of the matching
        frames' objects)."""
        return matched_tracks(self.detections(request=request), request)

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
