"""Track vectors for similarity search ("find more like this", target reacquisition).

**What a track's vector is.** Workers may attach an ``embedding`` (appearance vector) to
detections (``ObjectRecord.embedding``) and to whole tracks (``TrackRecord.embedding``).
A track's vector is its first ``TrackRecord`` embedding when there is one, else the mean
of its detections' embeddings; either is L2-normalized and stored as float32. A track
whose vector has norm 0 has none. Untracked detections are ignored: they have no id an
analyst could name or a query could restrict. :class:`TrackVectorBuilder` computes the
vectors while an engine reads the record stream (the stream may be readable only once).

**Exact scores.** The score of a track is the cosine of two float32 unit vectors, computed
by :func:`exact_scores`: each product of two float32 numbers is exact in float64, and the
float64 sum over one row runs in an order that depends only on the row, so every engine
gets the same bits. Fast engines shortlist with a float32 matrix product (torch, on CUDA
when there is one) and rescore the shortlist exactly: every candidate whose float32 score
lies within :func:`shortlist_slack` of the k-th is kept, which covers float32 rounding.
Ties are ordered by (score desc, video id, track id).

The DuckDB engine keeps its vectors in files beside its index
(:mod:`indexer.search.duckdb.track_vectors`); the Elasticsearch engine in ``dense_vector`` fields.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from indexer.records import Analytics, ObjectRecord, Record, TrackRecord
from indexer.search.contract import SimilarTrack

if TYPE_CHECKING:  # torch is imported where vectors are scored: it costs ingest a second to load
    import torch

MAX_K = 1000


# Vectors and scores ------------------------------------------------------------------------------


def unit_vector(values: Any) -> np.ndarray | None:
    """``values`` L2-normalized as float32; None when its norm is 0."""
    vector = np.asarray(values, dtype=np.float64)
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        return None
    return np.ascontiguousarray(vector / norm, dtype=np.float32)


def query_vector(vector: Any) -> np.ndarray:
    """A query vector as a float32 unit vector; ``ValueError`` when it cannot be one."""
    values = np.asarray(vector, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("the query vector must be a non-empty list of numbers")
    if not np.isfinite(values).all():
        raise ValueError("the query vector holds a number that is not finite")
    unit = unit_vector(values)
    if unit is None:
        raise ValueError("the query vector is zero")
    return unit


def exact_scores(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Cosine scores of float32 unit ``rows`` (n x d) against a float32 unit ``query``, in
    float64: the engines' shared definition (module docstring)."""
    products = np.ascontiguousarray(rows, dtype=np.float32).astype(np.float64) * query.astype(np.float64)
    return products.sum(axis=1)


def shortlist_slack(dim: int) -> float:
    """How far below the k-th float32 score an exact score may still belong to the top k:
    twice the worst-case float32 dot-product error of unit vectors of ``dim`` values."""
    return dim * 2.0**-22


def check_k(k: int) -> None:
    """``ValueError`` unless 1 <= k <= :data:`MAX_K`."""
    if not 1 <= k <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K}, got {k}")


def ranked(keys: list[tuple[int, str]], scores: np.ndarray, k: int,
           exclude: Collection[tuple[int, str]]) -> list[tuple[int, str, float]]:
    """The best ``k`` (video id, track, score) by (score desc, video id, track), ``exclude`` left out."""
    left_out = set(exclude)
    best = sorted(((-float(score), key) for key, score in zip(keys, scores, strict=True) if key not in left_out))
    return [(video_id, track, -negative) for negative, (video_id, track) in best[:k]]


def device() -> torch.device:
    """Where vectors are scored: CUDA when this machine has it, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# Building vectors from records -------------------------------------------------------------------


@dataclass
class TrackVector:
    track: str
    label: str
    vector: np.ndarray  # float32, unit
    first_index: int
    last_index: int
    first_t: float
    last_t: float
    frames: int


@dataclass
class _Track:
    label: str
    first: tuple[int, float]  # (index, t) of the earliest detection
    last: tuple[int, float]
    frames: set[int] = field(default_factory=set)
    total: np.ndarray | None = None  # sum of the detections' embeddings
    count: int = 0


class TrackVectorBuilder:
    """Collects each track's vector and span from a record stream while it is read."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._tracks: dict[str, _Track] = {}
        self._given: dict[str, tuple[float, ...]] = {}  # TrackRecord embeddings, first wins

    def tap(self, analytics: Analytics) -> Analytics:
        """``analytics`` whose record stream also feeds this builder (restarted on every read)."""
        return Analytics(format=analytics.format, meta=analytics.meta, warnings=analytics.warnings,
                         records=lambda: self._feed(analytics.records()))

    def _feed(self, records: Iterator[Record]) -> Iterator[Record]:
        self._reset()
        for record in records:
            self.add(record)
            yield record

    def add(self, record: Record) -> None:
        """Take one record into account (records of other kinds are ignored)."""
        if isinstance(record, TrackRecord) and record.embedding is not None:
            self._given.setdefault(record.track, record.embedding)
        if not isinstance(record, ObjectRecord) or record.track is None:
            return
        track = self._tracks.get(record.track)
        spot = (record.index, record.t)
        if track is None:
            track = self._tracks[record.track] = _Track(record.label, spot, spot)
        track.first, track.last = min(track.first, spot), max(track.last, spot)
        track.frames.add(record.index)
        if record.embedding is not None:
            values = np.asarray(record.embedding, dtype=np.float64)
            if track.total is not None and track.total.shape != values.shape:
                raise ValueError(f"track '{record.track}' has embeddings of {track.total.size} and "
                                 f"{values.size} values")
            track.total = values if track.total is None else track.total + values
            track.count += 1

    def tracks(self) -> list[TrackVector]:
        """The tracks with a vector (and at least one detection), by track id."""
        found = []
        for name in sorted(self._tracks):
            track = self._tracks[name]
            given = self._given.get(name)
            source = given if given is not None else None if track.total is None else track.total / track.count
            vector = None if source is None else unit_vector(source)
            if vector is not None:
                found.append(TrackVector(name, track.label, vector, track.first[0], track.last[0], track.first[1],
                                         track.last[1], len(track.frames)))
        return found


def similar_track(video_id: int, track: TrackVector, score: float, fps: float) -> SimilarTrack:
    """A result: the track's span as a clip (end = last detection + 1/fps)."""
    return SimilarTrack(video_id=video_id, track=track.track, score=score, label=track.label,
                        start_frame=track.first_index, end_frame=track.last_index, start_s=track.first_t,
                        end_s=track.last_t + 1.0 / fps, frames=track.frames)
