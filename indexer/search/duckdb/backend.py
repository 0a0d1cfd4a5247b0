"""The DuckDB engine's :class:`SearchBackend`: generations written, read and searched.

Writes stage a video (:mod:`~indexer.search.duckdb.staging`), then write its rows into a new
segment and publish the next generation's manifest (:mod:`~indexer.search.duckdb.generations`);
merges of segments run as a task. Reads go through the process's database, where each
generation is a schema of views over its segments (:mod:`~indexer.search.duckdb.catalog`),
with a cursor per thread; searches
(:mod:`~indexer.search.duckdb.search`) and statistics (:mod:`~indexer.search.duckdb.statistics`)
run on it. Search answers are kept per process (:mod:`~indexer.search.duckdb.result_cache`)
in two parts, counts with the first clips and facets; an answer kept from an earlier
generation of the same lineage gets the share of the videos indexed since added: every
count, facet and clip of a search is a sum over videos.
"""

from __future__ import annotations

import heapq
import os
import threading
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np

from indexer.payloads import storage_guard
from indexer.records import Analytics
from indexer.search.contract import (
    WINDOW_SLACK_S,
    AppendResult,
    BaseSearchBackend,
    Clip,
    Cooccurrence,
    CooccurrencePairs,
    Detection,
    Histogram,
    IndexCounts,
    LocatedFrame,
    MatchedTrack,
    SearchRequest,
    SearchResult,
    SimilarTrack,
    Timeline,
    Written,
)
from indexer.search.duckdb.catalog import (
    SEGMENT_TABLES,
    Catalog,
    create_tables,
    quoted_path,
    union_selects,
)
from indexer.search.duckdb.compiler import located
from indexer.search.duckdb.generations import (
    MERGE_FACTOR,
    Generations,
    Manifest,
    Segment,
    Snapshot,
    fsync_file,
    remove_database,
)
from indexer.search.duckdb.result_cache import KeptFrames, ResultCache, result_key
from indexer.search.duckdb.search import Search
from indexer.search.duckdb.sql import TRUE, Sql, joined, row_counts
from indexer.search.duckdb.staging import append_video, insert_staged, load_video, stage_video
from indexer.search.duckdb.statistics import (
    ATTRS_CTE,
    DETECTIONS,
    Stats,
    attr_dict,
    box_list,
    matched_ids,
    matched_tracks,
    row_detection,
)
from indexer.search.duckdb.track_vectors import VectorSearch, vector_files_prune, vectors_store
from indexer.search.duckdb.written import frame_local, written_clips
from indexer.search.semantics import (
    check_target,
    check_tile_level,
    check_video_id,
    cooccurrence_facets,
    empty_result,
    page_bounds,
    pairs_facets,
    requested_facets,
    stat_unit,
)
from indexer.search.vectors import TrackVectorBuilder, check_k, query_vector

T = TypeVar("T")


# Clips kept with a search's counts in the result cache: pages within them are slices (a
# page reaching past them is computed on its own). At least the largest page size.
KEPT_CLIPS = 1_000


# Kept answers ------------------------------------------------------------------------------------


def _summary_sum(kept: tuple[dict[str, float], list[Clip]],
                 more: tuple[dict[str, float], list[Clip]]) -> tuple[dict[str, float], list[Clip]]:
    """Counts and first clips of two disjoint sets of videos together (clips never span videos,
    and tracks, clips and videos are told apart by video, so every count adds up)."""
    (counts, clips), (more_counts, more_clips) = kept, more
    merged = heapq.merge(clips, more_clips, key=lambda clip: (clip.video_id, clip.start_s, clip.start_frame))
    return {name: counts[name] + more_counts[name] for name in counts}, list(merged)[:KEPT_CLIPS]


def _facets_sum(kept: dict[str, dict[Any, float]], more: dict[str, dict[Any, float]]) -> dict[str, dict[Any, float]]:
    """Facet counts of two disjoint sets of videos together."""
    return {key: {value: count + more[key][value] for value, count in values.items()} for key, values in kept.items()}


# The engine --------------------------------------------------------------------------------------


class SearchBackend(BaseSearchBackend):
    """DuckDB engine over ``data_dir/index``; safe for many reader processes and one writer at a time."""

    def __init__(self, data_dir: str | Path, memory_limit: str = "2GB", threads: int | None = None,
                 result_cache: int = 256, searches: int | None = None, merge_factor: int = MERGE_FACTOR,
                 kept_frames_mb: int = 256):
        self.root = Path(data_dir) / "index"
        self.memory_limit = memory_limit
        self.threads = threads
        if merge_factor < 2:
            raise ValueError(f"merge_factor must be >= 2, got {merge_factor}")
        self._generations = Generations(self.root, merge_factor=merge_factor)
        # What does not fit in memory (staging a big video) spills next to the index.
        self._catalog = Catalog(self._generations, {**self._config(), "temp_directory": str(self.root / "spill.tmp")})
        self._local = threading.local()
        # Search answers of the live generation (result_cache entries; 0: none kept).
        self._results = ResultCache(result_cache)
        # Frame sets of the live generation, shared by the searches and statistics that select them.
        self._frames = KeptFrames(kept_frames_mb * 2**20)
        # Searches computed at once in this process; the others queue (first come, first
        # served) instead of all sharing the cores and all finishing late.
        self._searching = threading.BoundedSemaphore(searches or os.cpu_count() or 1)
        self._vectors = VectorSearch(self.root)

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"memory_limit": self.memory_limit}
        if self.threads is not None:
            config["threads"] = self.threads
        return config

    # Writing

    @contextmanager
    def _write(self, *, videos: Collection[int], replacing: Collection[int] = (), rebuild: bool = False,
               con: duckdb.DuckDBPyConnection | None = None) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
        """A cursor reading the live generation and the alias of a new segment attached to it for
        writing; the next generation (the live one plus that segment, ``replacing`` hidden in the
        segments before it) is published only if the block succeeds. ``videos``: those the block
        writes, for the write log. ``rebuild``: the segment alone, reading an empty index. ``con``:
        the cursor (holding staged temp tables) to write with.

        A full or read-only disk raises :class:`~indexer.payloads.StorageError`; the
        unpublished segment is removed and the live generation stays as it was.
        """
        self._upgraded(self._generations.current())
        with storage_guard(self.root, errors=(OSError, duckdb.Error)), self._generations.locked():
            previous = self._generations.current()
            owned = con is None
            con = self._catalog.cursor() if owned else con
            live = self._generations.read(previous)
            self._catalog.point(con, None if rebuild else previous)  # a rebuild reads an empty index
            name = self._generations.new_segment_name()
            path = self._generations.segment_path(name)
            try:
                try:
                    with self._segment_filled(con, path) as (alias, contents):
                        yield con, alias
                finally:
                    if owned:
                        con.close()
                segment = replace(contents[0], name=name, videos=tuple(sorted(set(videos))))
                manifest = live.rebuilt(segment) if rebuild else live.written(segment, videos, replacing=replacing)
                self._generations.publish(manifest)
            except BaseException:
                remove_database(path)
                raise
            self._pruned(manifest, live)

    @contextmanager
    def _segment_filled(self, con: duckdb.DuckDBPyConnection, path: Path) -> Iterator[tuple[str, list[Segment]]]:
        """A new segment file at ``path``, attached to ``con`` under the alias yielded for the block
        to fill; after the block it is checkpointed, detached and synced, and the list yielded
        holds its contents (a nameless :class:`Segment`: rows, vector files, keys)."""
        alias = f"w{uuid.uuid4().hex}"
        contents: list[Segment] = []
        self._catalog.attach(con, path, alias)
        try:
            yield alias, contents
            contents.append(_segment_contents(con, alias))
            con.execute(f"CHECKPOINT {alias}")
        finally:
            con.execute(f"DETACH {alias}")
        fsync_file(path)

    def _pruned(self, manifest: Manifest, previous: Manifest) -> None:
        kept = self._generations.prune(live=manifest, previous=previous)
        vector_files_prune(self.root, kept)

    def index_video(self, *, video_id: int, name: str, analytics: Analytics) -> IndexCounts:
        """Write the video's rows into a new segment and publish a generation with it, its
        earlier rows hidden.

        The records are read, checked and staged in memory first, outside the write lock, so
        that several workers parse their videos at once and take turns only to write them."""
        check_video_id(video_id)
        builder = TrackVectorBuilder()
        with storage_guard(self.root, errors=(OSError, duckdb.Error)):
            staging = self._catalog.cursor()
        try:
            with storage_guard(self.root, errors=(OSError, duckdb.Error)):
                stage_video(staging, name, builder.tap(analytics))
            with self._write(videos=[video_id], replacing=[video_id], con=staging) as (con, out):
                counts = insert_staged(con, video_id, name, analytics.meta, out=out)
                vectors_store(con, self.root, video_id, builder.tracks(), table=f"{out}.track_vectors")
                return counts
        finally:
            staging.close()

    def append_frames(self, *, video_id: int, name: str, analytics: Analytics) -> AppendResult:
        """Write the chunk's new frames into a new segment and publish a generation with it.

        The segment is built outside the write lock, against the generation live when the
        append starts, so that appends to many videos build at once; the lock is held only to
        publish it (:meth:`_append_publish`). When a generation published meanwhile changed what
        the build read (:meth:`Manifest.changed_for`), the segment is dropped and the append
        done again under the lock, as every write was before. The caller serializes appends to
        one video (the spool lock of :mod:`indexer.live`); the check keeps the answer right
        even when it does not."""
        check_video_id(video_id)
        self._upgraded(self._generations.current())
        with storage_guard(self.root, errors=(OSError, duckdb.Error)):
            built = self._append_built(video_id, name, analytics)
            if built is not None:
                base, temporary, contents, result = built
                try:
                    if contents.rows == 0:  # only duplicates: nothing to publish, if the video is as read
                        live = self._generations.read(self._generations.current())
                        if not live.changed_for(base, video_id, new_keys=False):
                            return result
                    else:
                        with self._generations.locked():
                            if self._append_publish(base, video_id, temporary, contents):
                                return result
                finally:
                    remove_database(temporary)
        with self._write(videos=[video_id]) as (con, out):
            return append_video(con, video_id, name, analytics, out=out)

    def _append_built(self, video_id: int, name: str,
                      analytics: Analytics) -> tuple[Manifest, Path, Segment, AppendResult] | None:
        """The chunk's segment, built without the write lock at a temporary path against the live
        generation: that generation, the path, the segment's contents and what it appended. None
        when the generation was replaced and pruned before it could be read."""
        con = self._catalog.cursor()
        temporary = self._generations.temporary_path()
        try:
            base_name = self._generations.current()
            try:
                base = self._generations.read(base_name)
                self._catalog.point(con, base_name)
            except (FileNotFoundError, duckdb.IOException):
                return None
            with self._segment_filled(con, temporary) as (out, contents):
                result = append_video(con, video_id, name, analytics, out=out)
            return base, temporary, contents[0], result
        except BaseException:
            remove_database(temporary)
            raise
        finally:
            con.close()

    def _append_publish(self, base: Manifest, video_id: int, temporary: Path, contents: Segment) -> bool:
        """Under the write lock: name the segment built at ``temporary`` against ``base`` and publish
        the live generation with it; False (nothing published) when the live one changed what
        the build read."""
        live = self._generations.read(self._generations.current())
        if live.changed_for(base, video_id, new_keys=contents.keys > 0):
            return False
        segment = replace(contents, name=self._generations.adopt(temporary), videos=(video_id,))
        manifest = live.written(segment, [video_id], replacing=())
        self._generations.publish(manifest)
        self._pruned(manifest, live)
        return True

    def delete_video(self, *, video_id: int) -> None:
        """Publish a generation that hides the video (a no-op write when it is absent): a
        manifest of tombstones, no segment."""
        self._upgraded(self._generations.current())
        with storage_guard(self.root, errors=(OSError, duckdb.Error)), self._generations.locked():
            live = self._generations.read(self._generations.current())
            manifest = live.written(None, [video_id], replacing=[video_id])
            self._generations.publish(manifest)
            self._pruned(manifest, live)

    def rebuild(self, *, videos: list[tuple[int, str, Analytics]]) -> None:
        """Build one segment from scratch (videos in id order) and publish it alone."""
        latest = {video_id: (name, analytics) for video_id, name, analytics in videos}  # a repeated id: last wins
        with self._write(videos=sorted(latest), rebuild=True) as (con, out):
            for video_id in sorted(latest):
                _load_video_with_vectors(con, self.root, video_id, *latest[video_id], out=out)

    # Merging

    def merge_due(self) -> bool:
        """Whether the live generation has segments worth merging (:meth:`merge`)."""
        name = self._generations.current()
        try:
            return name is not None and self._generations.merge_plan(self._generations.read(name)) is not None
        except FileNotFoundError:
            return True  # replaced meanwhile: the merge looks again

    def merge(self) -> bool:
        """Merge the segments the live generation's plan names into one and publish it; False when
        there was nothing to merge or another process merges. Reads and writes outside the write
        lock (writes go on meanwhile), which it takes only to publish: then what the merged
        segments lost since it read them stays hidden in the new one."""
        with self._generations.locked("merge.lock", wait=False) as mine:
            if not mine:
                return False
            with storage_guard(self.root, errors=(OSError, duckdb.Error)):
                read = self._generations.read(self._generations.current())
                plan = self._generations.merge_plan(read)
                if plan is None:
                    return False
                inputs = [segment for segment in read.segments if segment.name in plan.inputs]
                temporary = self._generations.temporary_path()
                try:
                    contents = _merge_into(temporary, inputs, self._generations, self._config())
                    fsync_file(temporary)
                    with self._generations.locked():
                        return self._merge_publish(inputs, temporary, contents)
                finally:
                    remove_database(temporary)

    def _merge_publish(self, inputs: list[Segment], temporary: Path, contents: Segment) -> bool:
        """Under the write lock: name the merged file a segment and publish the live generation with
        it instead of ``inputs`` (as the merge read them); False when a rebuild replaced them."""
        live = self._generations.read(self._generations.current())
        now = {segment.name: segment for segment in live.segments}
        if any(segment.name not in now for segment in inputs):
            return False
        videos = set().union(*(segment.live_videos() for segment in inputs))
        hidden = set().union(*(set(now[segment.name].deleted) - set(segment.deleted) for segment in inputs))
        merged = replace(contents, name=self._generations.adopt(temporary), videos=tuple(sorted(videos)),
                         deleted=tuple(sorted(hidden & videos)))
        manifest = live.merged([segment.name for segment in inputs], merged)
        self._generations.publish(manifest)
        self._pruned(manifest, live)
        return True

    # Reading

    def _upgraded(self, name: str | None) -> str | None:
        """``name``, or for an index written before segments (``CURRENT`` naming a
        ``gen-<N>.duckdb`` file) the manifest that now lists that file as its one segment."""
        if name is None or not name.endswith(".duckdb"):
            return name
        with storage_guard(self.root, errors=(OSError, duckdb.Error)), self._generations.locked():
            name = self._generations.current()
            if name.endswith(".duckdb"):
                name = self._generations.publish(_single_file_upgraded(self.root, name, self._generations))
            return name

    def _reader(self) -> duckdb.DuckDBPyConnection | None:
        """This thread's cursor on the live generation (None before the first write)."""
        for _attempt in range(3):
            name = self._upgraded(self._generations.current())
            if name is None:
                return None
            cached = getattr(self._local, "reader", None)
            if cached is not None and cached[0] == os.getpid():
                if cached[1] == name:
                    return cached[2]
                cached[2].close()
            self._local.reader = None
            try:
                con, snapshot = self._catalog.read(name)
            except (duckdb.IOException, FileNotFoundError):
                continue  # pruned between reading CURRENT and opening it: read CURRENT again
            self._local.reader = (os.getpid(), name, con, snapshot)
            return con
        raise RuntimeError(f"could not open the current index generation in {self.root}")

    def close(self) -> None:
        """Close this thread's cursor and let go of the process's database (tests; a process
        exit does it too)."""
        cached = getattr(self._local, "reader", None)
        if cached is not None and cached[0] == os.getpid():
            cached[2].close()
        self._local.reader = None
        self._catalog.close()

    def search(self, *, request: SearchRequest) -> SearchResult:
        """Counts, disjunctive facets and a page of clips from the live generation."""
        con = self._reader()
        if con is None:
            return empty_result(request)
        offset, limit = page_bounds(request)
        if self._results.max_entries <= 0 or offset + limit > KEPT_CLIPS:
            with self._searching:
                return Search(con, request, **self._kept()).run()
        # Kept in two parts, so that paging (same query and filters, any facets) reuses the counts
        # and clips, and a change of facets or unit reuses them too. One search computes both, so
        # a miss of both builds each frame set once. An answer kept from an earlier generation of
        # the same lineage gets the share of the videos indexed since added, when nothing else
        # changed (analysts keep their answers while a worker ingests new videos).
        snapshot: Snapshot = self._local.reader[3]
        asked = (snapshot.lineage or snapshot.identity, request.ontology, request.query, request.filters,
                 request.gap_s)
        searches: dict[tuple[int, ...] | None, Search] = {}

        def on(videos: list[int] | None) -> Search:
            key = None if videos is None else tuple(videos)
            if key not in searches:
                searches[key] = Search(con, request, videos=videos, **self._kept())
            return searches[key]

        def kept(kind: str, asked_too: tuple, compute: Callable[[Search], T], add: Callable[[T, T], T]) -> T:
            """One kept part: computed over every video, or a kept one plus the videos written since."""
            def since(generation: int, answer: T) -> T | None:
                videos = snapshot.added_since(generation)
                if not videos:
                    return answer if videos == [] else None
                return add(answer, self._limited(compute, on(videos)))

            return self._results.get_or_compute(result_key(kind, *asked, *asked_too),
                                                lambda: self._limited(compute, on(None)),
                                                version=snapshot.generation, update=since)

        try:
            counts, first_clips = kept("summary", (), lambda search: search.summary(0, KEPT_CLIPS), _summary_sum)
            facets = kept("facets", (request.facet_unit, request.facets), Search.facet_counts, _facets_sum)
        finally:
            for search in searches.values():
                search.drop()
        return SearchResult(counts=counts, facets=facets, clips=first_clips[offset:offset + limit],
                            total_clips=int(counts["clips"]))

    def written_clips(self, *, requests: list[SearchRequest], written: list[Written]) -> list[list[Clip]]:
        """Every request at once over the written rows alone (:mod:`~indexer.search.duckdb.written`),
        but those with a sequence or dwell: a search each, narrowed to the spans (the contract's way)."""
        con = self._reader()
        if con is None:
            return [[] for _ in requests]
        local = [frame_local(request) for request in requests]
        with self._searching:
            one_pass = iter(written_clips(con, [r for r, alone in zip(requests, local, strict=True) if alone], written))
        searched = iter(super().written_clips(
            requests=[r for r, alone in zip(requests, local, strict=True) if not alone], written=written))
        return [next(one_pass) if alone else next(searched) for alone in local]

    def _kept(self) -> dict[str, Any]:
        """What lets a search on this thread's reader share the frame sets of its generation
        (nothing when none are kept: a search then reads no set back to keep it)."""
        if self._frames.max_bytes <= 0:
            return {}
        snapshot: Snapshot = self._local.reader[3]
        # A wiped and rebuilt index reuses generation names; its lineage is new.
        return {"kept": self._frames, "generation": (snapshot.identity, snapshot.lineage, snapshot.generation)}

    def _limited(self, compute: Callable[..., Any], *args: Any) -> Any:
        with self._searching:
            return compute(*args)

    def video_ids(self) -> list[int]:
        """Indexed video ids, ascending."""
        con = self._reader()
        if con is None:
            return []
        return [row[0] for row in con.execute("SELECT video_id FROM videos ORDER BY video_id").fetchall()]


    # Statistics

    @contextmanager
    def _stats(self, request: SearchRequest, *, clip_ids: bool = False,
               own_connection: bool = False) -> Iterator[Stats | None]:
        """Statistics on the live generation (None before the first write). ``clip_ids`` when
        they count clips; ``own_connection`` for iterators, whose temp tables must outlive
        other calls on this thread's reader."""
        reader = self._reader()
        if reader is None:
            yield None
            return
        con = self._catalog.read(self._local.reader[1])[0] if own_connection else reader
        stats = Stats(con, request, clip_ids=clip_ids, **self._kept())
        try:
            yield stats
        finally:
            stats.drop()
            if own_connection:
                con.close()

    def occurrence(self, *, request: SearchRequest, unit: str) -> dict[str, dict[Any, float]]:
        """Facet families grouped over the main frame set, like search's facets but never disjunctive."""
        stat_unit(unit)
        with self._stats(request, clip_ids=unit == "clips") as stats:
            if stats is None:
                facets = requested_facets(request)
                return {facet.key: dict.fromkeys(facet.values, 0.0 if unit == "seconds" else 0) for facet in facets}
            return stats.occurrence(unit)

    def cooccurrence(self, *, request: SearchRequest, a: str, b: str, scope: str) -> Cooccurrence:
        """One join of the two facets' (unit, value) rows on the unit."""
        facet_a, facet_b = cooccurrence_facets(request, a, b, scope)
        with self._stats(request, clip_ids=scope == "clip") as stats:
            if stats is None:
                rows, cols = list(facet_a.values), list(facet_b.values)
                return Cooccurrence(rows=rows, cols=cols, matrix=[[0] * len(cols) for _ in rows],
                                    row_totals=[0] * len(rows), col_totals=[0] * len(cols), total=0)
            return stats.cooccurrence(facet_a, facet_b, scope)

    def cooccurrence_pairs(self, *, request: SearchRequest, scope: str, facets: list[str]) -> CooccurrencePairs:
        """A self-join of every facet's (unit, value) rows on the unit."""
        chosen = pairs_facets(request, facets, scope)
        with self._stats(request, clip_ids=scope == "clip") as stats:
            if stats is None:
                marginals = {(facet.key, value): 0 for facet in chosen for value in facet.values}
                return CooccurrencePairs(total=0, marginals=marginals, pairs={})
            return stats.pairs(chosen, scope)

    def geo_cells(self, *, request: SearchRequest, z: int, bbox: list[float] | None,
                  target: str) -> dict[tuple[int, int], int]:
        """Tiles computed in SQL with :func:`tile_of`'s float expression, grouped."""
        check_tile_level(z)
        check_target(target)
        with self._stats(request) as stats:
            return {} if stats is None else stats.geo_cells(z, bbox, target)

    def located_frames(self, *, request: SearchRequest, bbox: list[float] | None,
                       batch_size: int = 10_000) -> Iterator[list[LocatedFrame]]:
        """Streamed from the main frame set on a connection of its own."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        with self._stats(request, own_connection=True) as stats:
            if stats is None:
                return
            where = located(bbox)
            result = stats.con.execute(
                f"SELECT f.video_id, f.idx, f.t, f.lat, f.lon, f.n_objects FROM {stats.located_source()} "
                f"WHERE {where.text} ORDER BY f.frame_id", where.params)
            while rows := result.fetchmany(batch_size):
                yield [LocatedFrame(*row) for row in rows]

    def timeline(self, *, request: SearchRequest, max_bins: int) -> Timeline:
        """The data range first, then one grouped count per axis."""
        if max_bins < 1:
            raise ValueError("max_bins must be >= 1")
        with self._stats(request) as stats:
            if stats is None:
                return Timeline(video_time=Histogram(start=None, width=None, counts=[]),
                                wall_clock=Histogram(start=None, width=None, counts=[]), unplaced=0)
            return stats.timeline(max_bins)

    def detections(self, *, request: SearchRequest, batch_size: int = 10_000) -> Iterator[list[Detection]]:
        """One sorted query per video (so no sort holds more than one video), fetched in batches."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        with self._stats(request, own_connection=True) as stats:
            if stats is None:
                return
            table = stats.main().table
            video_ids = [row[0] for row in stats.con.execute(
                f"SELECT DISTINCT video_id FROM {table} ORDER BY video_id").fetchall()]
            attrs = ATTRS_CTE.format(
                where=f"a.video_id = $video_id AND a.frame_id IN (SELECT frame_id FROM {table})")
            sql = DETECTIONS.format(attrs=attrs, m=table)
            batch: list[Detection] = []
            for video_id in video_ids:
                result = stats.con.execute(sql, {"video_id": video_id})
                while rows := result.fetchmany(batch_size):
                    for row in rows:
                        batch.append(row_detection(row))
                        if len(batch) == batch_size:
                            yield batch
                            batch = []
            if batch:
                yield batch

    def matched_tracks(self, *, request: SearchRequest) -> list[MatchedTrack]:
        """One query grouping the matched detections by track (:func:`statistics.matched_tracks
        <indexer.search.duckdb.statistics.matched_tracks>`)."""
        with self._stats(request) as stats:
            return [] if stats is None else matched_tracks(stats, request)

    def frame_labels(self, *, video_id: int, start_s: float, end_s: float | None,
                     request: SearchRequest | None) -> list[dict[str, Any]]:
        """The window's frames and objects; with a request, the frames matching it and the
        objects meeting one of its positive object predicates."""
        con = self._reader()
        if con is None:
            return []
        window = [Sql("f.video_id = ?", [video_id]), Sql("f.t >= ?", [start_s - WINDOW_SLACK_S])]
        if end_s is not None:
            window.append(Sql("f.t < ?", [end_s - WINDOW_SLACK_S]))
        where = joined(window, "AND", TRUE)
        frames = {
            frame_id: {"index": index, "t": t, "objects": []}
            for frame_id, index, t in con.execute(
                f"SELECT f.frame_id, f.idx, f.t FROM frames f WHERE {where.text} ORDER BY f.idx", where.params
            ).fetchall()
        }
        window_frames = f"SELECT f.frame_id FROM frames f WHERE {where.text}"
        objects = con.execute(
            f"""WITH {ATTRS_CTE.format(where=f"a.frame_id IN ({window_frames})")}
            SELECT o.frame_id, o.object_id, o.label, o.track, o.confidence, o.x1, o.y1, o.x2, o.y2, oa.attrs
            FROM objects o LEFT JOIN attrs oa ON oa.object_id = o.object_id
            WHERE o.frame_id IN ({window_frames}) ORDER BY o.frame_id, o.object_id""",
            where.params + where.params,
        ).fetchall()
        matched_frames, matched_objects = matched_ids(con, where, request) if request is not None else (None, set())
        for frame_id, object_id, label, track, confidence, x1, y1, x2, y2, attr_rows in objects:
            shown = {"label": label, "track": track, "confidence": confidence, "box": box_list(x1, y1, x2, y2),
                     "attrs": attr_dict(attr_rows)}
            if matched_frames is not None:
                shown["matched"] = object_id in matched_objects
            frames[frame_id]["objects"].append(shown)
        if matched_frames is not None:
            for frame_id, frame in frames.items():
                frame["matched"] = frame_id in matched_frames
        return list(frames.values())

    # Similarity

    def similar_tracks(self, *, request: SearchRequest | None, vector: Any, k: int,
                       exclude: Collection[tuple[int, str]] = ()) -> list[SimilarTrack]:
        """Exact top-k with torch over the live generation's vectors (:mod:`indexer.search.duckdb.track_vectors`);
        candidates are the tracks with a detection in the request's main frame set."""
        con = self._reader()
        if con is None:
            check_k(k)
            query_vector(vector)
            return []
        generation = self._local.reader[1]  # the generation ``con`` reads: its vectors are cached by name
        if request is None:
            return self._vectors.similar(con, generation, vector=vector, k=k, exclude=exclude, frames=None)
        stats = Stats(con, request, clip_ids=False)
        try:
            main = stats.main()
            return self._vectors.similar(con, generation, vector=vector, k=k, exclude=exclude,
                                         frames=None if main.whole else main.table)
        finally:
            stats.drop()

    def track_vector(self, *, video_id: int, track: str) -> np.ndarray | None:
        """The track's row of its video's vector file."""
        con = self._reader()
        return None if con is None else self._vectors.track_vector(con, video_id, track)


# Writing helpers ---------------------------------------------------------------------------------

def _segment_contents(con: duckdb.DuckDBPyConnection, alias: str) -> Segment:
    """What the segment ``alias`` holds, as a nameless :class:`Segment`: the rows of every table
    (attr_keys excepted), its vector files and its highest attribute key id."""
    rows = sum(row_counts(con, [f"{alias}.{table}" for table in SEGMENT_TABLES]))
    keys, files = con.execute(
        f"SELECT (SELECT coalesce(max(key_id), 0) FROM {alias}.attr_keys), "
        f"(SELECT list(DISTINCT file ORDER BY file) FROM {alias}.track_vectors)").fetchone()
    return Segment(name="", videos=(), rows=rows, vector_files=tuple(files or ()), keys=keys)


def _merge_into(path: Path, inputs: list[Segment], generations: Generations, config: dict[str, Any]) -> Segment:
    """Write the live rows of the segments ``inputs`` (their tombstones applied) into a new
    DuckDB file at ``path``; its contents (:func:`_segment_contents`)."""
    con = duckdb.connect(str(path), config=config)
    try:
        create_tables(con, "main")
        aliases = {segment.name: f"m{number}" for number, segment in enumerate(inputs)}
        for segment in inputs:
            con.execute(f"ATTACH '{quoted_path(generations.segment_path(segment.name))}' AS {aliases[segment.name]} "
                        "(READ_ONLY)")
        for table, select in union_selects(Manifest(segments=tuple(inputs)), aliases.__getitem__, empty=None).items():
            con.execute(f"INSERT INTO main.{table} {select}")
        contents = _segment_contents(con, "main")
        con.execute("CHECKPOINT")
        return contents
    finally:
        con.close()


def _single_file_upgraded(root: Path, name: str, generations: Generations) -> Manifest:
    """The manifest of an index written before segments, whose one file ``name`` (the live
    ``gen-<N>.duckdb``) becomes its one segment, keeping its lineage; older files go."""
    path = root / name
    con = duckdb.connect(str(path), config={"threads": 1})
    try:
        create_tables(con, "main")  # track_vectors, in a file older than vectors
        videos = tuple(row[0] for row in con.execute("SELECT video_id FROM videos ORDER BY video_id").fetchall())
        try:
            lineage = con.execute("SELECT uid FROM index_lineage").fetchall()
        except duckdb.CatalogException:
            lineage = []
        contents = _segment_contents(con, "main")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    segment = generations.new_segment_name()
    os.replace(path, generations.segment_path(segment))
    for old in root.glob("gen-*.duckdb*"):
        old.unlink(missing_ok=True)
    number = int(name.removeprefix("gen-").removesuffix(".duckdb"))
    return Manifest(generation=number + 1, lineage=lineage[0][0] if len(lineage) == 1 else uuid.uuid4().hex,
                    logged_from=number + 1, segments=(replace(contents, name=segment, videos=videos),))


def _load_video_with_vectors(con: duckdb.DuckDBPyConnection, root: Path, video_id: int, name: str,
                             analytics: Analytics, *, out: str) -> IndexCounts:
    """:func:`~indexer.search.duckdb.staging.load_video`, plus the video's track vectors,
    computed in the same pass over the records."""
    builder = TrackVectorBuilder()
    counts = load_video(con, video_id, name, builder.tap(analytics), out=out)
    vectors_store(con, root, video_id, builder.tracks(), table=f"{out}.track_vectors")
    return counts
