"""The DuckDB engine's track vectors: stored beside the index, searched exactly.

Each indexed video with vectors writes one immutable file
``index/vectors/<video>-<uuid>.npy`` (float32, one row per track) and rows pointing into it
in the table ``track_vectors`` of the segment the video is written to, so no write copies
vectors. After a generation is published, files that neither it nor the previous generation
(which readers may still hold) names are deleted (:func:`vector_files_prune`).

**Reading them: a block per file.** A file never changes, so readers keep its rows in
memory as a block once it is read (:class:`VectorSearch`), with the fields of its rows
in ``track_vectors``, and the same block serves every generation that refers to the
file. A generation's vectors of one dimension are its files' blocks, one after the
other; its first search asks the generation which files it refers to and reads only the
files no cached generation referred to: after a write, the written video's file. Blocks
are scored one by one and their scores put end to end, so no write copies the vectors
already in memory. A deleted or re-ingested video's file is not in the new generation,
so its rows are never scored again; the blocks no cached generation refers to are
dropped. Scoring block by block costs a few microseconds per file and search. At 1M
vectors of 256 values in 100 files, the first search after a write of 1,000 tracks took
278 ms (p50), against 4.8 s when every generation reread all files
(``python -m bench.similar --vectors 1000000``; ``docs/performance.md``).

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


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class _Block:
    """One vector file's tracks, row ``i`` being the file's row ``i``. Files never change, so a
    block loaded once is valid for every generation that refers to its file."""

    file: str
    video_ids: np.ndarray  # int64, one per row
    tracks: np.ndarray  # str objects
    labels: np.ndarray
    first_idx: np.ndarray
    last_idx: np.ndarray
    first_t: np.ndarray
    last_t: np.ndarray
    frames: np.ndarray
    host: np.ndarray  # rows x dim float32: exact rescoring reads it
    scores_on: torch.Tensor  # the same rows on the search device (shares ``host``'s memory on the CPU)

    def key(self, row: int) -> tuple[int, str]:
        return int(self.video_ids[row]), str(self.tracks[row])

    def span(self, row: int) -> TrackVector:
        return TrackVector(str(self.tracks[row]), str(self.labels[row]), np.empty(0, dtype=np.float32),
                           int(self.first_idx[row]), int(self.last_idx[row]), float(self.first_t[row]),
                           float(self.last_t[row]), int(self.frames[row]))


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class _Matrix:
    """One generation's vectors of one dimension: its files' blocks, one after the other. A
    position counts rows across the blocks in this order."""

    blocks: list[_Block]
    starts: np.ndarray  # int64: the position of each block's first row, then the total

    def locate(self, positions: np.ndarray) -> np.ndarray:
        """The block index of each position."""
        return np.searchsorted(self.starts, positions, side="right") - 1


def _read_vectors(path: Path) -> np.ndarray:
    """A vector file's rows (the only place files are read for search: tests count the calls)."""
    return np.load(path)


class VectorSearch:
    """Exact top-k over the track vectors of the live DuckDB generation (module docstring)."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()
        self._matrices: dict[tuple[str, int], _Matrix] = {}
        self._blocks: dict[str, _Block] = {}  # by file: those of the cached matrices

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
        positions = None if frames is None else _candidates(con, matrix, frames)
        chosen = _shortlist(matrix, query, positions, k + len(exclude))
        places = [(matrix.blocks[block], int(position - matrix.starts[block]))
                  for block, position in zip(matrix.locate(chosen), chosen, strict=True)]
        keys = [block.key(row) for block, row in places]
        rows = np.array([block.host[row] for block, row in places], dtype=np.float32).reshape(-1, query.size)
        best = ranked(keys, exact_scores(rows, query), k, exclude)
        where = dict(zip(keys, places, strict=True))
        fps = _fps(con, sorted({video_id for video_id, _, _ in best}))
        return [similar_track(video_id, where[(video_id, track)][0].span(where[(video_id, track)][1]), score,
                              fps.get(video_id) or DEFAULT_FPS) for video_id, track, score in best]

    def _matrix(self, con: duckdb.DuckDBPyConnection, generation: str, dim: int) -> _Matrix:
        with self._lock:
            cached = self._matrices.get((generation, dim))
            if cached is None:
                cached = self._build(con, dim)
                # Only the live generation's matrices, and the blocks they use, are worth their memory.
                self._matrices = {key: value for key, value in self._matrices.items() if key[0] == generation}
                self._matrices[(generation, dim)] = cached
                self._blocks = {block.file: block for matrix in self._matrices.values() for block in matrix.blocks}
            return cached

    def _build(self, con: duckdb.DuckDBPyConnection, dim: int) -> _Matrix:
        """The generation's matrix from the cached blocks, reading only the files not seen before."""
        counts = con.execute("SELECT file, count(*) FROM track_vectors WHERE dim = ? GROUP BY file ORDER BY file",
                             [dim]).fetchall()
        loaded = self._load(con, dim, [(file, count) for file, count in counts if file not in self._blocks])
        blocks = []
        for file, count in counts:
            block = loaded.get(file) or self._blocks[file]
            if len(block.host) != count:
                raise RuntimeError(f"the index refers to {count} rows of the vector file {file}, which holds "
                                   f"{len(block.host)}")
            blocks.append(block)
        starts = np.zeros(len(blocks) + 1, dtype=np.int64)
        np.cumsum([len(block.host) for block in blocks], out=starts[1:])
        return _Matrix(blocks=blocks, starts=starts)

    def _load(self, con: duckdb.DuckDBPyConnection, dim: int, files: list[tuple[str, int]]) -> dict[str, _Block]:
        """Blocks of ``files`` (name, rows the generation refers to; by name), their rows' fields
        read in one query."""
        if not files:
            return {}
        import torch

        fields = con.execute(
            """SELECT file, "row", video_id, track, label, first_idx, last_idx, first_t, last_t, frames
                FROM track_vectors WHERE file IN (SELECT unnest(?::VARCHAR[])) ORDER BY file, "row"
            """,
            [[file for file, _ in files]]).fetchnumpy()
        target = device()
        blocks = {}
        start = 0
        for file, count in files:
            end = start + count
            if (fields["row"][start:end] != np.arange(count)).any() or fields["file"][end - 1] != file:
                raise RuntimeError(f"the index refers to rows of the vector file {file} other than 0 to {count - 1}")
            host = _read_vectors(self.root / VECTORS_DIR / file)
            if host.shape != (count, dim) or host.dtype != np.float32:
                raise RuntimeError(f"the vector file {file} holds {host.dtype} values of shape {host.shape}, "
                                   f"not the {count} rows of {dim} float32 values the index refers to")
            part = {name: values[start:end].copy() for name, values in fields.items()}  # the rest can go
            blocks[file] = _Block(
                file=file, video_ids=part["video_id"], tracks=part["track"], labels=part["label"],
                first_idx=part["first_idx"], last_idx=part["last_idx"], first_t=part["first_t"],
                last_t=part["last_t"], frames=part["frames"], host=host,
                scores_on=torch.from_numpy(host).to(target))
            start = end
        return blocks


def _candidates(con: duckdb.DuckDBPyConnection, matrix: _Matrix, frames: str) -> np.ndarray:
    """Positions (sorted) of the tracks with a detection in the matching frames."""
    rows = con.execute(
        f"""WITH starts AS (SELECT unnest(?::VARCHAR[]) AS file, unnest(?::BIGINT[]) AS start)
            SELECT s.start + tv."row" AS position
            FROM track_vectors tv JOIN starts s ON s.file = tv.file
            SEMI JOIN (
                SELECT DISTINCT video_id, track FROM objects
                WHERE track IS NOT NULL AND frame_id IN (SELECT frame_id FROM {frames})) c
            ON c.video_id = tv.video_id AND c.track = tv.track
            ORDER BY position""",
        [[block.file for block in matrix.blocks], matrix.starts[:-1].tolist()]).fetchnumpy()
    return np.asarray(rows["position"], dtype=np.int64)


def _fps(con: duckdb.DuckDBPyConnection, video_ids: list[int]) -> dict[int, float | None]:
    """Frame rates of the videos (those of the results: read per search, they are few)."""
    if not video_ids:
        return {}
    return dict(con.execute("SELECT video_id, fps FROM videos WHERE video_id IN (SELECT unnest(?::BIGINT[]))",
                            [video_ids]).fetchall())


def _shortlist(matrix: _Matrix, query: np.ndarray, positions: np.ndarray | None, want: int) -> np.ndarray:
    """Positions whose float32 score may put them in the top ``want`` (module docstring)."""
    if positions is not None and positions.size == 0:
        return positions
    import torch

    target = matrix.blocks[0].scores_on.device
    with torch.no_grad():
        query_on = torch.from_numpy(query).to(target)
        if positions is None:
            scores = _scores(matrix, query_on)
        elif positions.size * 4 < matrix.starts[-1]:  # few candidates: copy their rows, score those
            blocks = matrix.locate(positions)
            cuts = np.searchsorted(blocks, np.arange(len(matrix.blocks) + 1))  # positions are sorted
            rows = [matrix.blocks[block].scores_on.index_select(
                        0, torch.from_numpy(positions[cuts[block]:cuts[block + 1]] - matrix.starts[block]).to(target))
                    for block in np.flatnonzero(np.diff(cuts))]
            scores = torch.mv(torch.cat(rows), query_on)
        else:  # many: scoring every row costs less than copying most of them
            scores = _scores(matrix, query_on)[torch.from_numpy(positions).to(target)]
        if scores.numel() > want:
            kth = torch.topk(scores, want, sorted=True).values[-1]
            picked = torch.nonzero(scores >= kth - shortlist_slack(query.size)).squeeze(1).cpu().numpy()
        else:
            picked = np.arange(scores.numel())
    return picked if positions is None else positions[picked]


def _scores(matrix: _Matrix, query_on: torch.Tensor) -> torch.Tensor:
    """float32 scores of every position: block by block, never copying the blocks into one matrix."""
    import torch

    return torch.cat([torch.mv(block.scores_on, query_on) for block in matrix.blocks])
