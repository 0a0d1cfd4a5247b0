"""Scoop's benchmark: ingest throughput, search and statistics latency through the
HTTP API, and peak memory, at growing corpus sizes.

    python -m bench.search --sizes 10k,100k,1m [--reps 20] [--keep]

For each size, a fresh data dir under ``bench-data/`` gets synthetic ETA
analytics (10 detections a frame, GPS fixes every second, videos of up to
10,000 frames; generated once into ``bench-data/corpus/`` and reused),
ingested end to end with ``manage.py ingest_file`` (payload stored, JSON
checked, parsed, validated in strict mode, indexed). Then a real server
(``manage.py runserver --noreload``) answers a fixed mix of searches, each
with every facet and the first page of clips (two with a sequence and a dwell: issue 21's
targets, reported apart), and three statistics of the
whole corpus: occurrence of every facet, geo cells of a city-sized view at
zoom 14, and the co-occurrence of vehicle type x colour per frame (p50/p95 of
each). Numbers are printed as a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.common import REPO, free_port, issue_token, manage, percentile, wait_for_port
from bench.corpus import UPLOAD_ONTOLOGY, parse_size, write_corpus

QUERIES = {
    "single facet": {"filters": {"object:vehicle.color": ["red"]}},
    "3 sidebar filters": {
        "filters": {"object:vehicle.type": ["sedan", "suv"], "frame:road_type": ["urban"], "label": ["person"]}
    },
    "deep boolean with NOT": {
        "q": "(vehicle(type=sedan|suv, color=black) OR vehicle(make=Toyota)) AND NOT person "
        "AND (road_type=urban OR NOT vehicle(parked=true))"
    },
    "geo bbox": {"query": {"geo": {"bbox": [-122.4200, 37.7740, -122.4180, 37.7760]}}},
    # Issue 21's targets: a full answer whose query holds a sequence or a dwell.
    "sequence": {"q": "person(activity=running) THEN vehicle(type=truck) WITHIN 10s"},
    # The corpus runs at 30 fps and its tracks last 10 to 300 frames (at most 10 s).
    "dwell": {"q": "vehicle(type=truck) FOR >= 5s GAP 1s"},
    "count": {"q": "COUNT(person) >= 2 AND COUNT(vehicle(color=red)) = 0"},
}
TEMPORAL = ("sequence", "dwell", "count")
# name: (endpoint under /api/v1/, body)
STATS = {
    "occurrence": ("stats/occurrence/", {"unit": "objects"}),
    "geo cells": ("stats/geo/", {"bbox": [-122.52, 37.70, -122.35, 37.83], "zoom": 14, "target": "frames",
                                 "format": "cells"}),
    "co-occurrence": ("stats/cooccurrence/", {"a": "object:vehicle.type", "b": "object:vehicle.color",
                                              "scope": "frame"}),
}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_ingest(data_dir: Path, paths: list[Path], jobs: int) -> tuple[float, float]:
    """Seconds to ingest every file, ``jobs`` at a time, and the peak RSS in MB of the largest
    ingest process."""
    env = {**os.environ, "SCOOP_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"}
    log = data_dir / "ingest.log"
    started = time.perf_counter()
    with open(log, "w") as errors:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "ingest_file", "--schema", "road", "--jobs", str(jobs), *map(str, paths)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=errors,
        )
        # wait4 gives the peak RSS of this child or of the largest of its waited-for workers
        # (ru_maxrss, in KB on Linux).
        _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"ingest failed: {log.read_text()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def search_latencies(data_dir: Path, reps: int) -> tuple[dict[str, list[float]], float]:
    token = issue_token(data_dir, "bench", "analyst")
    port = free_port()
    # Every repetition computes its answer: the server keeps no answers and no frame sets (a
    # repeated request would otherwise be answered from them, which is not what this measures).
    env = {**os.environ, "SCOOP_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING",
           "SCOOP_RESULT_CACHE": "0", "SCOOP_KEPT_FRAMES_MB": "0"}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        timings: dict[str, list[float]] = {}
        for name, body in QUERIES.items():
            timings[name], answer = _timed(port, token, "search/", {**body, "page_size": 20}, reps)
            timings[name + " (frames)"] = [answer["counts"]["frames"]]
        for name, (endpoint, body) in STATS.items():
            timings["stats: " + name], _ = _timed(port, token, endpoint, body, reps)
        return timings, peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _timed(port: int, token: str, endpoint: str, body: dict, reps: int) -> tuple[list[float], dict]:
    """Milliseconds of ``reps`` calls after two that warm the caches, and the last answer."""
    timings = []
    for attempt in range(reps + 2):
        started = time.perf_counter()
        answer = _post(port, token, endpoint, body)
        elapsed = time.perf_counter() - started
        if attempt >= 2:
            timings.append(elapsed * 1000)
    return timings, answer


def _post(port: int, token: str, endpoint: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/{endpoint}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def run_size(detections: int, reps: int, keep: bool, ingest_jobs: int) -> dict:
    data_dir = REPO / "bench-data" / str(detections)
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    paths = write_corpus(REPO / "bench-data" / "corpus", detections)
    manage(data_dir, "migrate", "--noinput")
    manage(data_dir, "shell", "-c", UPLOAD_ONTOLOGY)
    ingest_s, ingest_mb = timed_ingest(data_dir, paths, ingest_jobs)
    # No task worker ran the merges the ingests queued: run them, as make run's would have.
    merge_started = time.perf_counter()
    manage(data_dir, "merge_index")
    merge_s = time.perf_counter() - merge_started
    timings, server_mb = search_latencies(data_dir, reps)
    searches = {name: values for name, values in timings.items()
                if not name.endswith("(frames)") and not name.startswith("stats: ")}
    everything = [t for values in searches.values() for t in values]
    row = {
        "merge_s": merge_s,
        "detections": detections,
        "videos": len(paths),
        "ingest_s": ingest_s,
        "ingest_rate": detections / ingest_s,
        "ingest_jobs": ingest_jobs,
        "p50": statistics.median(everything),
        "p95": percentile(everything, 0.95),
        "per_query": {name: statistics.median(v) for name, v in searches.items()},
        "temporal": {name: {"p50": statistics.median(timings[name]), "p95": percentile(timings[name], 0.95)}
                     for name in TEMPORAL},
        "stats": {name: {"p50": statistics.median(timings["stats: " + name]),
                         "p95": percentile(timings["stats: " + name], 0.95)} for name in STATS},
        "matching_frames": {name: v[0] for name, v in timings.items() if name.endswith("(frames)")},
        "ingest_peak_mb": ingest_mb,
        "server_peak_mb": server_mb,
    }
    if not keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return row


def markdown(rows: list[dict]) -> str:
    stats_columns = "".join(f" {name} p50 / p95 ms |" for name in STATS)
    lines = [
        "| detections | videos | ingest det/s | search p50 ms | search p95 ms |" + stats_columns
        + " ingest peak MB | server peak MB |",
        "|---:|---:|---:|---:|---:|" + "---:|" * len(STATS) + "---:|---:|",
    ]
    for row in rows:
        stats_cells = "".join(f" {row['stats'][name]['p50']:.0f} / {row['stats'][name]['p95']:.0f} |"
                              for name in STATS)
        lines.append(
            f"| {row['detections']:,} | {row['videos']} | {row['ingest_rate']:,.0f} | {row['p50']:.0f} | "
            f"{row['p95']:.0f} |{stats_cells} {row['ingest_peak_mb']:.0f} | {row['server_peak_mb']:.0f} |"
        )
    lines.append("")
    lines.append("Sequence and dwell, p50 / p95 ms: " + "; ".join(
        f"{row['detections']:,}: " + ", ".join(f"{name} {row['temporal'][name]['p50']:.0f} / "
                                               f"{row['temporal'][name]['p95']:.0f}" for name in TEMPORAL)
        for row in rows))
    lines.append("")
    lines.append("Median per query (ms): " + "; ".join(
        f"{row['detections']:,}: " + ", ".join(f"{k} {v:.0f}" for k, v in row["per_query"].items()) for row in rows
    ))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k,1m,10m", help="detections per corpus, e.g. 10k,100k,1m,10m")
    parser.add_argument("--reps", type=int, default=20, help="timed searches per query (after 2 warm-ups)")
    parser.add_argument("--keep", action="store_true", help="keep bench-data/ for inspection")
    parser.add_argument("--ingest-jobs", type=int, default=os.cpu_count() or 1,
                        help="files ingested at once (manage.py ingest_file --jobs; default: one per core)")
    args = parser.parse_args(argv)
    rows = []
    for size in args.sizes.split(","):
        row = run_size(parse_size(size), args.reps, args.keep, args.ingest_jobs)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(markdown(rows))


if __name__ == "__main__":
    main()
