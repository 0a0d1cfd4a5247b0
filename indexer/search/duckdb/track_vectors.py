"""The DuckDB engine's track vectors: stored beside the index, searched exactly.

Each indexed video with vectors writes one immutable file
``index/vectors/<video>-<uuid>.npy`` (float32, one row per track) and rows pointing into it
in the table ``track_vectors`` of the segment the video is written to, so no write copies
vectors. After a generation is published, files that neither it nor the previous generation
(which readers may still hold) names are deleted (:func:`vector_files_prune`). Readers load a
generation's vectors of one dimension once into memory (:class:`VectorSearch`), then search them per request.

Scores, shortlists and ranking are the shared ones of :mod:`indexer.search.vectors`.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from indexer.search.contract import DEFAULT_FPS, SimilarTrack
from indexer.search.vectors import (
    TrackVector,
    check_k,
    device,
    exact_scores,
    query_vector,
    ranked,
    shortlist_slack,
    similar_track,
)

if TYPE_CHECKING:  # torch is imported where vectors are scored: it costs ingest a second to load
    import torch

logger = logging.getLogger(__name__)

VECTORS_DIR = "vectors"
TABLE = """CREATE TABLE IF NOT EXISTS track_vectors (
    video_id BIGINT NOT NULL, track VARCHAR NOT NULL, "row" INTEGER NOT NULL, file VARCHAR NOT NULL,
    dim INTEGER NOT NULL, label VARCHAR NOT NULL, first_idx BIGINT NOT NULL, last_idx BIGINT NOT NULL,
    first_t DOUBLE NOT NULL, last_t DOUBLE NOT NULL, frames INTEGER NOT NULL)"""


def vectors_store(con: duckdb.DuckDBPyConnection, root: Path, video_id: int, tracks: list[TrackVector], *,
                  table: str) -> None:
    """Write the video's vectors to a new immutable file (durable before the segment holding
    ``table``'s new rows can be published) and its rows into ``table`` (a segment's
    ``track_vectors``)."""
    if not tracks:
        return
    directory = root / VECTORS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{video_id}-{uuid.uuid4().hex}.npy"
    with open(directory / name, "wb") as handle:
        np.save(handle, np.stack([track.vector for track in tracks]))
        handle.flush()
        os.fsync(handle.fileno())
    rows = pd.DataFrame({
        "video_id": video_id, "track": [track.track for track in tracks], "row": range(len(tracks)), "file": name,
        "dim": [track.vector.size for track in tracks], "label": [track.label for track in tracks],
        "first_idx": [track.first_index for track in tracks], "last_idx": [track.last_index for track in tracks],
        "first_t": [track.first_t for track in tracks], "last_t": [track.last_t for track in tracks],
        "frames": [track.frames for track in tracks]})
    con.register("scoop_track_vectors", rows)  # one bulk insert: executemany runs a statement per row
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM scoop_track_vectors")
    finally:
        con.unregister("scoop_track_vectors")


def vector_files_prune(root: Path, kept: Collection[str]) -> None:
    """Delete vector files that are not ``kept`` (those the live generation and the one it
    replaced name): leftovers of replaced videos and of writers that failed."""
    directory = root / VECTORS_DIR
    if not directory.is_dir():
        return
    kept = set(kept)
    for path in directory.iterdir():
        if path.name not in kept:
            try:
                path.unlink(missing_ok=True)
            except OSError as error:
                logger.warning("could not delete the unused vector file %s: %s", path, error)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[tuple]:
    """Rows of a query on ``track_vectors``; none in a generation written before it existed."""
    try:
        return con.execute(sql, params).fetchall()
    except duckdb.CatalogException:
        return []


@dataclass
class _Matrix:
    """One generation's vectors of one dimension, ordered by (video id, track)."""

    keys: list[tuple[int, str]]
    spans: list[TrackVector]  # vector field empty: the rows live in ``host``
    fps: list[float]
    host: np.ndarray  # n x dim float32
    scores_on: torch.Tensor  # the same rows on the search device


class VectorSearch:
    """Exact top-k over the track vectors of the live DuckDB generation (module docstring)."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()
        self._matrices: dict[tuple[str, int], _Matrix] = {}

    def dims(self, con: duckdb.DuckDBPyConnection) -> list[int]:
        """The dimensions of the generation's vectors."""
        return [row[0] for row in _rows(con, "SELECT DISTINCT dim FROM track_vectors ORDER BY dim", [])]

    def track_vector(self, con: duckdb.DuckDBPyConnection, video_id: int, track: str) -> np.ndarray | None:
        """One track's stored vector (None: it has none), read from its file."""
        rows = _rows(con, 'SELECT file, "row" FROM track_vectors WHERE video_id = ? AND track = ?', [video_id, track])
        if not rows:
            return None
        file, row = rows[0]
        return np.array(np.load(self.root / VECTORS_DIR / file, mmap_mode="r")[row])

    def similar(self, con: duckdb.DuckDBPyConnection, generation: str, *, vector: Any, k: int,
                exclude: Collection[tuple[int, str]], frames: str | None) -> list[SimilarTrack]:
        """Top ``k``; ``frames`` names a temp table of matching frame ids (None: no restriction)."""
        check_k(k)
        query = query_vector(vector)
        dims = self.dims(con)
        if not dims:
            return []
        if query.size not in dims:
            raise ValueError(f"no indexed track has a {query.size}-dimensional embedding "
                             f"(indexed: {', '.join(map(str, dims))})")
        matrix = self._matrix(con, generation, query.size)
        positions = None if frames is None else self._candidates(con, query.size, frames)
        chosen = _shortlist(matrix, query, positions, k + len(exclude))
        keys = [matrix.keys[position] for position in chosen]
        best = ranked(keys, exact_scores(matrix.host[chosen], query), k, exclude)
        where = {key: position for key, position in zip(keys, chosen, strict=True)}
        return [similar_track(video_id, matrix.spans[where[(video_id, track)]], score,
                              matrix.fps[where[(video_id, track)]]) for video_id, track, score in best]

    def _candidates(self, con: duckdb.DuckDBPyConnection, dim: int, frames: str) -> np.ndarray:
        """Positions (in the matrix order) of the tracks with a detection in the matching frames."""
        rows = con.execute(
            f"""WITH ordered AS (
                    SELECT video_id, track, row_number() OVER (ORDER BY video_id, track) - 1 AS position
                    FROM track_vectors WHERE dim = ?)
                SELECT o.position FROM ordered o SEMI JOIN (
                    SELECT DISTINCT video_id, track FROM objects
                    WHERE track IS NOT NULL AND frame_id IN (SELECT frame_id FROM {frames})) c
                ON c.video_id = o.video_id AND c.track = o.track
                ORDER BY o.position""", [dim]).fetchnumpy()
        return np.asarray(rows["position"], dtype=np.int64)

    def _matrix(self, con: duckdb.DuckDBPyConnection, generation: str, dim: int) -> _Matrix:
        with self._lock:
            cached = self._matrices.get((generation, dim))
            if cached is None:
                # Only the live generation's matrices are worth their memory.
                self._matrices = {key: value for key, value in self._matrices.items() if key[0] == generation}
                cached = self._matrices[(generation, dim)] = self._load(con, dim)
            return cached

    def _load(self, con: duckdb.DuckDBPyConnection, dim: int) -> _Matrix:
        rows = con.execute(
            """SELECT tv.video_id, tv.track, tv."row", tv.file, tv.label, tv.first_idx, tv.last_idx, tv.first_t,
                       tv.last_t, tv.frames, v.fps
                FROM track_vectors tv LEFT JOIN videos v USING (video_id)
                WHERE tv.dim = ? ORDER BY tv.video_id, tv.track""", [dim]).fetchall()
        host = np.empty((len(rows), dim), dtype=np.float32)
        by_file: dict[str, list[tuple[int, int]]] = {}
        for position, row in enumerate(rows):
            by_file.setdefault(row[3], []).append((position, row[2]))
        for file, places in by_file.items():
            stored = np.load(self.root / VECTORS_DIR / file, mmap_mode="r")
            host[[position for position, _ in places]] = stored[[row for _, row in places]]
        import torch

        empty = np.empty(0, dtype=np.float32)
        spans = [TrackVector(track, label, empty, first_idx, last_idx, first_t, last_t, frames)
                 for _, track, _, _, label, first_idx, last_idx, first_t, last_t, frames, _ in rows]
        return _Matrix(keys=[(row[0], row[1]) for row in rows], spans=spans,
                       fps=[row[10] or DEFAULT_FPS for row in rows], host=host,
                       scores_on=torch.from_numpy(host).to(device()))


def _shortlist(matrix: _Matrix, query: np.ndarray, positions: np.ndarray | None, want: int) -> np.ndarray:
    """Positions whose float32 score may put them in the top ``want`` (module docstring)."""
    if positions is not None and positions.size == 0:
        return positions
    import torch

    vectors = matrix.scores_on
    target = vectors.device
    with torch.no_grad():
        query_on = torch.from_numpy(query).to(target)
        if positions is None:
            scores = torch.mv(vectors, query_on)
        elif positions.size * 4 < vectors.shape[0]:  # few candidates: copy their rows, score those
            scores = torch.mv(vectors.index_select(0, torch.from_numpy(positions).to(target)), query_on)
        else:  # many: scoring every row costs less than copying most of them
            scores = torch.mv(vectors, query_on)[torch.from_numpy(positions).to(target)]
        if scores.numel() > want:
            kth = torch.topk(scores, want, sorted=True).values[-1]
            picked = torch.nonzero(scores >= kth - shortlist_slack(query.size)).squeeze(1).cpu().numpy()
        else:
            picked = np.arange(scores.numel())
    return picked if positions is None else positions[picked]
