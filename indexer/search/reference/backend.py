"""The reference engine's :class:`SearchBackend`: the contract answered by enumeration."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from indexer.records import Analytics, VideoMeta
from indexer.search.contract import (
    AppendResult,
    BaseSearchBackend,
    Cooccurrence,
    CooccurrencePairs,
    Detection,
    Feature,
    IndexCounts,
    LocatedFrame,
    MatchedTrack,
    SearchRequest,
    SearchResult,
    SimilarTrack,
    Timeline,
)
from indexer.search.reference.evaluation import (
    FrameSet,
    facet_hits,
    frame_holds,
    label_json,
    matching_frames,
    sorted_frames,
    unit_count,
    unit_values,
)
from indexer.search.reference.materialized import StoredVideo, materialize
from indexer.search.semantics import (
    VIDEO_TIME_WIDTHS,
    WALL_CLOCK_WIDTHS,
    append_split,
    batches,
    check_target,
    check_tile_level,
    cooccurrence_facets,
    facet_frame_node,
    facet_set_key,
    facet_unit,
    histogram,
    in_bbox,
    in_window,
    matched_tracks,
    object_holds,
    page_bounds,
    pairs_facets,
    positive_object_specs,
    refuse_track_records,
    requested_facets,
    seconds_of,
    stat_unit,
    tile_of,
)
from indexer.search.vectors import check_k, exact_scores, query_vector, ranked, similar_track


class SearchBackend(BaseSearchBackend):
    """The reference engine: the index is a dict of materialized videos in this instance's
    memory, so only this process sees it (:attr:`process_local`)."""

    process_local = True

    def __init__(self) -> None:
        self._videos: dict[int, StoredVideo] = {}

    def index_video(self, *, video_id: int, name: str, analytics: Analytics) -> IndexCounts:
        """Materialize the video, then swap it in (a failure leaves the old one)."""
        video = materialize(video_id, name, analytics)
        self._videos[video_id] = video
        objects = sum(len(frame.objects) for frame in video.frames)
        return IndexCounts(frames=len(video.frames), objects=objects, tracks=video.tracks, events=len(video.events))

    def append_frames(self, *, video_id: int, name: str, analytics: Analytics) -> AppendResult:
        """Materialize the new frames on their own, then swap in the merged video."""
        records = list(analytics.records())
        refuse_track_records(records)
        video = self._videos.get(video_id) or materialize(
            video_id, name, Analytics.from_list(format=analytics.format, meta=analytics.meta, records=[]))
        split = append_split(records, {frame.index for frame in video.frames})
        # An indexed video keeps its fps; the caller's GPS locates the new frames.
        meta = VideoMeta(fps=video.fps, gps=analytics.meta.gps)
        part = materialize(video_id, video.name,
                           Analytics.from_list(format=analytics.format, meta=meta, records=split.kept))
        old_tracks = {obj.track for frame in video.frames for obj in frame.objects if obj.track is not None}
        new_tracks = {obj.track for frame in part.frames for obj in frame.objects if obj.track is not None}
        merged = replace(video, frames=sorted(video.frames + part.frames, key=lambda frame: frame.index),
                         events=video.events + part.events, tracks=len(old_tracks | new_tracks))
        self._videos[video_id] = merged
        return AppendResult(
            appended=IndexCounts(frames=len(part.frames), objects=sum(len(frame.objects) for frame in part.frames),
                                 tracks=len(new_tracks - old_tracks), events=len(part.events)),
            duplicate_frames=split.duplicate_frames,
            duplicate_objects=split.duplicate_objects,
            indices=sorted(split.fresh),
        )

    def delete_video(self, *, video_id: int) -> None:
        """Forget a video; absent ids are ignored."""
        self._videos.pop(video_id, None)

    def rebuild(self, *, videos: list[tuple[int, str, Analytics]]) -> None:
        """Replace the whole index at once."""
        self._videos = {video_id: materialize(video_id, name, analytics) for video_id, name, analytics in videos}

    def video_ids(self) -> list[int]:
        """Indexed video ids, ascending."""
        return sorted(self._videos)

    def search(self, *, request: SearchRequest) -> SearchResult:
        """Evaluate the query on every frame, then count, facet and page."""
        videos = [self._videos[video_id] for video_id in sorted(self._videos)]
        main = matching_frames(videos, facet_frame_node(request, None), request.gap_s)
        offset, limit = page_bounds(request)
        return SearchResult(
            counts=self._counts(main),
            facets=self._facets(request, videos, main),
            clips=main.clips[offset:offset + limit],
            total_clips=len(main.clips),
        )

    @staticmethod
    def _counts(frame_set: FrameSet) -> dict[str, float]:
        objects = [(video.video_id, obj) for video, frame in frame_set.frames for obj in frame.objects]
        return {
            "videos": len({video.video_id for video, _ in frame_set.frames}),
            "clips": len(frame_set.clips),
            "frames": len(frame_set.frames),
            "objects": len(objects),
            "tracks": unit_count("tracks", frame_set, frame_set.frames, objects),
            "duration_s": sum(clip.end_s - clip.start_s for clip in frame_set.clips),
        }

    @staticmethod
    def _facets(request: SearchRequest, videos: list[StoredVideo], main: FrameSet) -> dict[str, dict[Any, int]]:
        facets: dict[str, dict[Any, int]] = {}
        for facet in requested_facets(request):
            unit = facet_unit(request, facet)
            set_key = facet_set_key(request, facet)
            frame_set = main if set_key is None else matching_frames(
                videos, facet_frame_node(request, set_key), request.gap_s
            )
            facets[facet.key] = {
                value: unit_count(unit, frame_set, *facet_hits(facet, value, frame_set)) for value in facet.values
            }
        return facets

    # Statistics

    def _matching(self, request: SearchRequest) -> FrameSet:
        videos = [self._videos[video_id] for video_id in sorted(self._videos)]
        return matching_frames(videos, facet_frame_node(request, None), request.gap_s)

    def occurrence(self, *, request: SearchRequest, unit: str) -> dict[str, dict[Any, float]]:
        """Each facet value's count over the matching frames, by plain enumeration."""
        stat_unit(unit)
        facets = requested_facets(request)
        main = self._matching(request)
        fps = {video_id: video.fps for video_id, video in self._videos.items()}
        counts: dict[str, dict[Any, float]] = {}
        for facet in facets:
            counts[facet.key] = {}
            for value in facet.values:
                frames, objects = facet_hits(facet, value, main)
                if unit == "seconds":
                    per_video = Counter(video.video_id for video, _ in frames)
                    counts[facet.key][value] = seconds_of(per_video, fps)
                else:
                    counts[facet.key][value] = unit_count(unit, main, frames, objects)
        return counts

    def cooccurrence(self, *, request: SearchRequest, a: str, b: str, scope: str) -> Cooccurrence:
        """Count, for every unit of the scope, which values of ``a`` and ``b`` it has."""
        facet_a, facet_b = cooccurrence_facets(request, a, b, scope)
        units = unit_values(scope, self._matching(request), [facet_a, facet_b])
        rows, cols = list(facet_a.values), list(facet_b.values)
        return Cooccurrence(
            rows=rows,
            cols=cols,
            matrix=[[sum(1 for unit in units if (a, row) in unit and (b, col) in unit) for col in cols]
                    for row in rows],
            row_totals=[sum(1 for unit in units if (a, row) in unit) for row in rows],
            col_totals=[sum(1 for unit in units if (b, col) in unit) for col in cols],
            total=len(units),
        )

    def cooccurrence_pairs(self, *, request: SearchRequest, scope: str, facets: list[str]) -> CooccurrencePairs:
        """Every pair of values of two different facets that some unit has together."""
        chosen = pairs_facets(request, facets, scope)
        order = {key: position for position, key in enumerate(facets)}
        units = unit_values(scope, self._matching(request), chosen)
        marginals = {(facet.key, value): 0 for facet in chosen for value in facet.values}
        pairs: Counter[tuple[Feature, Feature]] = Counter()
        for unit in units:
            for feature in unit:
                marginals[feature] += 1
                for other in unit:
                    if order[feature[0]] < order[other[0]]:
                        pairs[(feature, other)] += 1
        return CooccurrencePairs(total=len(units), marginals=marginals, pairs=dict(pairs))

    def geo_cells(self, *, request: SearchRequest, z: int, bbox: list[float] | None,
                  target: str) -> dict[tuple[int, int], int]:
        """Located matching frames in the bbox, tallied by tile."""
        check_tile_level(z)
        check_target(target)
        cells: Counter[tuple[int, int]] = Counter()
        for batch in self.located_frames(request=request, bbox=bbox):
            for frame in batch:
                weight = 1 if target == "frames" else frame.objects
                if weight:
                    cells[tile_of(frame.lat, frame.lon, z)] += weight
        return dict(cells)

    def located_frames(self, *, request: SearchRequest, bbox: list[float] | None,
                       batch_size: int = 10_000) -> Iterator[list[LocatedFrame]]:
        """Matching frames with a location inside the bbox."""
        located = (
            LocatedFrame(video.video_id, frame.index, frame.t, frame.location[0], frame.location[1],
                         len(frame.objects))
            for video, frame in sorted_frames(self._matching(request))
            if frame.location is not None and (bbox is None or in_bbox(frame.location[1], frame.location[0], bbox))
        )
        return batches(located, batch_size)

    def timeline(self, *, request: SearchRequest, max_bins: int) -> Timeline:
        """Histograms of the matching frames' t and recorded_at + t."""
        if max_bins < 1:
            raise ValueError("max_bins must be >= 1")
        frames = self._matching(request).frames
        placed = [(video.values.get("recorded_at"), frame.t) for video, frame in frames]
        wall = [recorded + t for recorded, t in placed if recorded is not None]
        return Timeline(
            video_time=histogram((frame.t for _, frame in frames), max_bins, VIDEO_TIME_WIDTHS),
            wall_clock=histogram(wall, max_bins, WALL_CLOCK_WIDTHS),
            unplaced=len(placed) - len(wall),
        )

    def detections(self, *, request: SearchRequest, batch_size: int = 10_000) -> Iterator[list[Detection]]:
        """Every detection of the matching frames, in index order."""
        def each() -> Iterator[Detection]:
            for video, frame in sorted_frames(self._matching(request)):
                lat, lon = frame.location if frame.location is not None else (None, None)
                for obj in frame.objects:
                    label = label_json(obj)
                    yield Detection(
                        video_id=video.video_id, video_name=video.name, index=frame.index, t=frame.t,
                        label=obj.label, track=obj.track, confidence=label["confidence"],
                        box=None if obj.box is None else tuple(label["box"]), attrs=label["attrs"],
                        lat=lat, lon=lon)

        return batches(each(), batch_size)

    def matched_tracks(self, *, request: SearchRequest) -> list[MatchedTrack]:
        """Found in :meth:`detections`, as the contract defines them."""
        return matched_tracks(self.detections(request=request), request)

    def frame_labels(self, *, video_id: int, start_s: float, end_s: float | None,
                     request: SearchRequest | None) -> list[dict[str, Any]]:
        """The window's frames from the materialized video, each object marked when asked."""
        video = self._videos.get(video_id)
        if video is None:
            return []
        node = facet_frame_node(request, None) if request is not None else None
        specs = positive_object_specs(node) if node is not None else []
        frames = []
        for frame in video.frames:
            if not in_window(frame.t, start_s, end_s):
                continue
            labeled = {"index": frame.index, "t": frame.t, "objects": [label_json(obj) for obj in frame.objects]}
            if node is not None:
                matched = frame_holds(node, video, frame)
                labeled["matched"] = matched
                for obj, shown in zip(frame.objects, labeled["objects"], strict=True):
                    shown["matched"] = matched and (not specs or any(object_holds(spec, obj) for spec in specs))
            frames.append(labeled)
        return frames

    # Similarity

    def similar_tracks(self, *, request: SearchRequest | None, vector: Any, k: int,
                       exclude: Collection[tuple[int, str]] = ()) -> list[SimilarTrack]:
        """Every candidate scored with :func:`~indexer.search.vectors.exact_scores`, then sorted."""
        check_k(k)
        query = query_vector(vector)
        videos = [self._videos[video_id] for video_id in sorted(self._videos)]
        dims = sorted({track.vector.size for video in videos for track in video.vectors})
        if dims and query.size not in dims:
            raise ValueError(f"no indexed track has a {query.size}-dimensional embedding "
                             f"(indexed: {', '.join(map(str, dims))})")
        allowed = None if request is None else {
            (video.video_id, obj.track) for video, frame in self._matching(request).frames for obj in frame.objects}
        found = {(video.video_id, track.track): (video, track) for video in videos for track in video.vectors
                 if track.vector.size == query.size
                 and (allowed is None or (video.video_id, track.track) in allowed)}
        if not found:
            return []
        keys = list(found)
        scores = exact_scores(np.stack([found[key][1].vector for key in keys]), query)
        return [similar_track(video_id, found[(video_id, track)][1], score, found[(video_id, track)][0].fps)
                for video_id, track, score in ranked(keys, scores, k, exclude)]

    def track_vector(self, *, video_id: int, track: str) -> np.ndarray | None:
        """The track's stored vector, from the materialized video."""
        video = self._videos.get(video_id)
        stored = {vector.track: vector.vector for vector in video.vectors} if video is not None else {}
        return stored.get(track)
