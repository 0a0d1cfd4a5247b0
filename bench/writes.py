"""What one write costs the embedded index as it grows: the DuckDB engine in this process.

    python -m bench.writes --sizes 1m,10m [--writes 20] [--write-size 5000]

For each size, a fresh index is filled with videos of 100,000 detections, written straight
into the engine (``index_video`` of records parsed once and kept in memory, so the fill is
fast) and merged as the merge task would (timed apart). Then ``--writes`` new videos of
``--write-size`` detections are written one after the other, each followed by the merges
its write made due, and the write alone is timed: staging the records in memory, the new
segment and the manifest. This is the engine's share of an ingest, without the HTTP upload,
parsing and validation that ``bench.ingest`` measures through the API: the figure that
must stay flat as the index grows. Also printed: the live segments, the index on disk and
the p50 of a full search (counts, every facet, first page) computed in this process.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import REPO, percentile
from bench.corpus import parse_size
from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from indexer.formats import read_analytics
from indexer.query import compile_query
from indexer.records import Analytics
from indexer.search.contract import SearchRequest
from indexer.search.duckdb import SearchBackend
from indexer.search.duckdb.generations import Manifest

FILL_VIDEO = 100_000
OBJECTS_PER_FRAME = 10
EVERYTHING = SearchRequest(ontology=DEFAULT_ONTOLOGY, query=compile_query(query={"and": []}, ontology=DEFAULT_ONTOLOGY),
                           facets=None)


def kept_in_memory(path: Path) -> Analytics:
    """A file's records parsed once and kept, so that writing them costs no parsing."""
    analytics = read_analytics(path, format="eta")
    return Analytics.from_list(format="eta", meta=analytics.meta, records=analytics.records())


def merged(engine: SearchBackend) -> int:
    merges = 0
    while engine.merge():
        merges += 1
    return merges


def run_size(detections: int, writes: int, write_size: int, work: Path) -> dict:
    fill = kept_in_memory(write_eta_video(work / "fill.json", frames=FILL_VIDEO // OBJECTS_PER_FRAME,
                                          objects_per_frame=OBJECTS_PER_FRAME, seed=1).path)
    small = kept_in_memory(write_eta_video(work / "small.json", frames=write_size // OBJECTS_PER_FRAME,
                                           objects_per_frame=OBJECTS_PER_FRAME, seed=2).path)
    data_dir = work / f"index-{detections}"
    shutil.rmtree(data_dir, ignore_errors=True)
    engine = SearchBackend(data_dir, result_cache=0, kept_frames_mb=0)
    started, merge_s, merges = time.perf_counter(), 0.0, 0
    videos = max(detections // FILL_VIDEO, 1)
    for video_id in range(1, videos + 1):
        engine.index_video(video_id=video_id, name=f"fill-{video_id}", analytics=fill)
        merge_started = time.perf_counter()
        merges += merged(engine)
        merge_s += time.perf_counter() - merge_started
    fill_s = time.perf_counter() - started
    write_ms, write_merges = [], 0
    for n in range(writes):
        began = time.perf_counter()
        engine.index_video(video_id=videos + 1 + n, name=f"write-{n}", analytics=small)
        write_ms.append((time.perf_counter() - began) * 1000)
        write_merges += merged(engine)
    search_ms = []
    for _ in range(7):
        began = time.perf_counter()
        found = engine.search(request=EVERYTHING).counts["objects"]
        search_ms.append((time.perf_counter() - began) * 1000)
    root = data_dir / "index"
    live = Manifest.from_json((root / (root / "CURRENT").read_text()).read_text())
    index_mb = sum(path.stat().st_size for path in root.rglob("*") if path.is_file()) / 1e6
    engine.close()
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "indexed": videos * FILL_VIDEO, "fill_s": fill_s, "fill_merges": merges, "fill_merge_s": merge_s,
        "write_size": write_size, "writes": writes, "write_p50_ms": statistics.median(write_ms),
        "write_p95_ms": percentile(write_ms, 0.95), "merges_after_writes": write_merges,
        "objects_found": found, "segments": len(live.segments), "index_mb": index_mb,
        "search_p50_ms": statistics.median(search_ms[2:]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1m,10m", help="detections indexed before the timed writes, e.g. 1m,10m")
    parser.add_argument("--writes", type=int, default=20, help="timed writes per size")
    parser.add_argument("--write-size", type=int, default=5_000, help="detections per timed write")
    args = parser.parse_args()
    if args.writes < 1 or args.write_size < OBJECTS_PER_FRAME:
        parser.error("--writes must be >= 1 and --write-size >= 10")
    rows = []
    with tempfile.TemporaryDirectory(dir=REPO / "bench-data" if (REPO / "bench-data").is_dir() else None) as work:
        for size in (parse_size(text) for text in args.sizes.split(",")):
            row = run_size(size, args.writes, args.write_size, Path(work))
            print(json.dumps(row), flush=True)
            rows.append(row)
    print("| indexed | write of | write p50 / p95 ms | segments | index MB | fill s (merges s) | search p50 ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['indexed']:,} | {row['write_size']:,} | {row['write_p50_ms']:.0f} / {row['write_p95_ms']:.0f} "
              f"| {row['segments']} | {row['index_mb']:.0f} | {row['fill_s']:.0f} ({row['fill_merge_s']:.0f}) "
              f"| {row['search_p50_ms']:.0f} |")


if __name__ == "__main__":
    main()
