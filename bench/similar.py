"""Benchmark of similarity search: exact top-k over N track vectors through the DuckDB
engine's own function (``SearchBackend.similar_tracks``), torch on CUDA when there is one,
else on the CPU.

    python -m bench.similar [--vectors 1000000] [--dim 256] [--k 20] [--reps 30] [--writes 5]

A fresh index under a temporary folder (``--data-dir`` to choose, ``--keep`` to keep it) gets
``--videos`` videos of one-detection tracks with random unit embeddings, half labeled ``car``,
half ``person``, built in one ``rebuild`` (records are generated lazily, so memory holds one
video's tracks at a time). Then, with random query vectors:

- ``load``: the first search, which reads every vector file into memory (once per file and
  process);
- ``all tracks``: top-k over every vector (``request`` None);
- ``query car``: top-k over the tracks of frames matching ``car`` (half of them), which adds
  the DuckDB query for the candidate tracks;
- ``write``: one more video of ``--write-tracks`` tracks indexed (a new generation);
- ``first search after the write``: the first search of the new generation, which reads
  only what the write added (the first search after each of ``--writes`` writes);
- ``all tracks after the writes``: top-k over every vector again.

p50/p95 in milliseconds are printed as a Markdown table. The HTTP API adds the request's
validation and JSON around the same call; it is not measured here.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bench.common import percentile
from indexer.ontology import LabelSpec, Ontology
from indexer.records import Analytics, ObjectRecord, VideoMeta
from indexer.search.contract import SearchRequest
from indexer.search.duckdb import SearchBackend
from indexer.search.vectors import device

ONTOLOGY = Ontology(video_attrs={}, frame_attrs={}, events={},
                    objects={"car": LabelSpec("car", {}), "person": LabelSpec("person", {})})
FPS = 30.0


def _video(seed: int, tracks: int, dim: int) -> Analytics:
    """One video of ``tracks`` one-detection tracks, its records generated on demand."""
    def records() -> Iterator[ObjectRecord]:
        rng = np.random.default_rng(seed)
        for start in range(0, tracks, 4096):
            block = rng.standard_normal((min(4096, tracks - start), dim))
            for offset, vector in enumerate(block):
                number = start + offset
                yield ObjectRecord(index=number, t=number / FPS, label="car" if number % 2 else "person",
                                   track=str(number), embedding=tuple(vector.tolist()))

    return Analytics(format="bench", meta=VideoMeta(fps=FPS), records=records)


def build(engine: SearchBackend, *, vectors: int, videos: int, dim: int) -> float:
    """Index the corpus in one generation; seconds taken."""
    per_video = -(-vectors // videos)
    corpus = []
    for video_id in range(1, videos + 1):
        tracks = min(per_video, vectors - per_video * (video_id - 1))
        if tracks > 0:
            corpus.append((video_id, f"bench-{video_id}", _video(video_id, tracks, dim)))
    started = time.perf_counter()
    engine.rebuild(videos=corpus)
    return time.perf_counter() - started


def timed_ms(search, queries: np.ndarray) -> list[float]:
    times = []
    for query in queries:
        started = time.perf_counter()
        search(query)
        times.append((time.perf_counter() - started) * 1000)
    return times


def run(*, vectors: int, dim: int, k: int, reps: int, videos: int, writes_count: int, write_tracks: int,
        data_dir: Path) -> list[tuple[str, list[float]]]:
    engine = SearchBackend(data_dir)
    print(f"indexing {vectors:,} vectors of {dim} values in {videos} videos...", flush=True)
    print(f"indexed in {build(engine, vectors=vectors, videos=videos, dim=dim):.1f} s", flush=True)
    queries = np.random.default_rng(0).standard_normal((reps + 1, dim))
    cars = SearchRequest(ontology=ONTOLOGY, query={"object": {"label": "car", "attrs": {}}})
    load = timed_ms(lambda query: engine.similar_tracks(request=None, vector=query, k=k), queries[:1])
    rows = [
        ("load (first search)", load),
        ("all tracks", timed_ms(lambda query: engine.similar_tracks(request=None, vector=query, k=k), queries[1:])),
        ("query car", timed_ms(lambda query: engine.similar_tracks(request=cars, vector=query, k=k), queries[1:])),
    ]
    writes, after_writes = [], []
    for number in range(writes_count):
        video_id = videos + 1 + number
        started = time.perf_counter()
        engine.index_video(video_id=video_id, name=f"bench-{video_id}", analytics=_video(video_id, write_tracks, dim))
        writes.append((time.perf_counter() - started) * 1000)
        after_writes += timed_ms(lambda query: engine.similar_tracks(request=None, vector=query, k=k),
                                 queries[number:number + 1])
    rows += [
        (f"write ({write_tracks:,} tracks)", writes),
        ("first search after the write", after_writes),
        ("all tracks after the writes",
         timed_ms(lambda query: engine.similar_tracks(request=None, vector=query, k=k), queries[1:])),
    ]
    engine.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--videos", type=int, default=100)
    parser.add_argument("--writes", type=int, default=5, help="small writes, each followed by a timed search")
    parser.add_argument("--write-tracks", type=int, default=1000, help="tracks of each small write's video")
    parser.add_argument("--data-dir", type=Path, help="where to build the index (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the index afterwards")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="scoop-bench-similar-"))
    try:
        rows = run(vectors=args.vectors, dim=args.dim, k=args.k, reps=args.reps, videos=args.videos,
                   writes_count=args.writes, write_tracks=args.write_tracks, data_dir=data_dir)
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(f"\n{args.vectors:,} vectors x {args.dim}, k={args.k}, torch on {device().type}\n")
    print("| search | p50 ms | p95 ms | runs |\n|---|---:|---:|---:|")
    for name, times in rows:
        print(f"| {name} | {statistics.median(times):.1f} | {percentile(times, 0.95):.1f} | {len(times)} |")


if __name__ == "__main__":
    main()
