"""Live ingest under load: the sustained append rate of one live stream while analysts search.

    python -m bench.live [--duration 60] [--chunk-frames 30] [--objects 10] [--analysts 5] [--keep]

A fresh data dir under ``bench-data/`` gets the demo ontology and a real server
(``manage.py serve``, as ``make run`` starts it). One worker creates a live video (30 fps)
and posts chunks of ``--chunk-frames`` ETA frame lines (``--objects`` detections each,
vehicles and people with attributes) back to back for ``--duration`` seconds; each chunk is
acknowledged only once it is searchable. Meanwhile ``--analysts`` threads search through the
HTTP API without pause (a facet filter, a boolean query, and the totals and first page of
clips, in turn). Printed as a Markdown table: appended frames and detections per second,
append latency, and the searches' count and latency.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench.common import REPO, free_port, issue_token, manage, percentile, wait_for_port

FPS = 30.0
SEARCHES = [
    {"filters": {"object:vehicle.color": ["red"]}},
    {"q": "vehicle(type=sedan|suv, color=black) AND NOT person"},
    {"q": "road_type=urban AND person"},
]
COLORS = ["black", "white", "silver", "gray", "red", "blue"]
TYPES = ["sedan", "suv", "pickup", "van", "truck", "bus"]
ROADS = ["highway", "urban", "residential"]


def _attr(name: str, value: str) -> dict:
    return {"type": "eta.core.data.CategoricalAttribute", "name": name, "value": value}


def frame_line(number: int, objects: int, rng: random.Random) -> dict:
    """One ETA frame with ``objects`` detections: vehicles on tracks, now and then a person."""
    detections = []
    for slot in range(objects):
        x, y = rng.uniform(0, 0.8), rng.uniform(0, 0.8)
        box = {"top_left": {"x": x, "y": y}, "bottom_right": {"x": x + 0.1, "y": y + 0.1}}
        if slot % 5 == 4:
            detections.append({"label": "person", "index": 10_000 + slot, "confidence": 0.8, "bounding_box": box})
            continue
        attrs = [_attr("color", COLORS[slot % len(COLORS)]), _attr("type", TYPES[(slot + number // 300) % 6])]
        detections.append({"label": "vehicle", "index": slot + number // 300 * objects, "confidence": 0.9,
                           "bounding_box": box, "attrs": {"attrs": attrs}})
    road = ROADS[number // 900 % len(ROADS)]
    return {"frame_number": number, "attrs": {"attrs": [_attr("road_type", road)]}, "objects": {"objects": detections}}


def _request(port: int, token: str, path: str, body: bytes, content_type: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                     headers={"Authorization": f"Token {token}", "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


class _Run:
    """The shared clock and what each thread measured."""

    def __init__(self, duration: float):
        self.deadline = time.monotonic() + duration
        self.appends: list[tuple[float, int, int]] = []  # (seconds, frames, detections) per chunk
        self.searches: list[float] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def running(self) -> bool:
        return time.monotonic() < self.deadline and not self.errors


def _stream(run: _Run, port: int, token: str, video_id: int, chunk_frames: int, objects: int) -> None:
    rng = random.Random(7)
    number = 1
    while run.running():
        lines = [frame_line(n, objects, rng) for n in range(number, number + chunk_frames)]
        body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        started = time.perf_counter()
        try:
            answer = _request(port, token, f"/api/v1/videos/{video_id}/stream/", body, "application/x-ndjson")
        except Exception as error:  # any failure ends the run and is printed under the table
            run.errors.append(f"append: {error}")
            return
        run.appends.append((time.perf_counter() - started, answer["appended"]["frames"],
                            answer["appended"]["objects"]))
        number += chunk_frames


def _search(run: _Run, port: int, token: str, offset: int) -> None:
    turn = offset
    while run.running():
        body = {**SEARCHES[turn % len(SEARCHES)], "page_size": 20}
        started = time.perf_counter()
        try:
            _request(port, token, "/api/v1/search/", json.dumps(body).encode(), "application/json")
        except Exception as error:  # any failure ends the run and is printed under the table
            run.errors.append(f"search: {error}")
            return
        with run.lock:
            run.searches.append(time.perf_counter() - started)
        turn += 1


def _tokens(data_dir: Path, analysts: int) -> dict[str, str]:
    """Tokens of the admin, the worker and one user per analyst (API rates are per user)."""
    tokens = {role: issue_token(data_dir, f"bench-{role}", role) for role in ("admin", "worker")}
    return tokens | {f"analyst-{number}": issue_token(data_dir, f"bench-analyst-{number}", "analyst")
                     for number in range(analysts)}


def bench(*, duration: float, chunk_frames: int, objects: int, analysts: int, keep: bool) -> dict:
    """One run on a fresh data dir; the numbers of the table's row."""
    data_dir = REPO / "bench-data" / f"live-{datetime.now(UTC):%Y%m%d%H%M%S}"
    data_dir.mkdir(parents=True)
    try:
        manage(data_dir, "migrate")
        tokens = _tokens(data_dir, analysts)
        port = free_port()
        # As make run serves: gunicorn's web processes and the task worker, which merges the
        # segments the appends add.
        server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", f"127.0.0.1:{port}"], cwd=REPO,
            env=_env(data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            ontology = json.loads((REPO / "fixtures" / "demo_ontology.json").read_text())
            _request(port, tokens["admin"], "/api/v1/schemas/", json.dumps({"name": "road", "schema": ontology})
                     .encode(), "application/json")
            video = _request(port, tokens["worker"], "/api/v1/videos/", json.dumps(
                {"name": "bench-live", "live": True, "fps": FPS, "width": 1280, "height": 720}).encode(),
                "application/json")
            run = _Run(duration)
            threads = [threading.Thread(target=_stream, args=(run, port, tokens["worker"], video["id"],
                                                              chunk_frames, objects))]
            threads += [threading.Thread(target=_search, args=(run, port, tokens[f"analyst-{offset}"], offset))
                        for offset in range(analysts)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
        return _row(run, elapsed, chunk_frames, objects, analysts, data_dir)
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def _env(data_dir: Path) -> dict[str, str]:
    # The stream sends chunks back to back to find the engine's sustained rate, faster than the
    # per-user ingest rate (120 a minute) lets one client, and the analysts search without a
    # pause, faster than 600 a minute: lift both rates for this server.
    return {**os.environ, "SCOOP_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "scoop.settings.embedded",
            "LOG_LEVEL": "WARNING", "SCOOP_THROTTLE_INGEST": "1000000/minute",
            "SCOOP_THROTTLE_SEARCH": "1000000/minute", "SCOOP_THROTTLE_API": "1000000/minute"}


def _row(run: _Run, elapsed: float, chunk_frames: int, objects: int, analysts: int, data_dir: Path) -> dict:
    append_ms = [seconds * 1000 for seconds, _, _ in run.appends] or [float("nan")]
    search_ms = [seconds * 1000 for seconds in run.searches] or [float("nan")]
    index = data_dir / "index"
    return {
        "seconds": elapsed, "chunk_frames": chunk_frames, "objects": objects, "analysts": analysts,
        "chunks": len(run.appends),
        "frames_s": sum(frames for _, frames, _ in run.appends) / elapsed,
        "detections_s": sum(detections for _, _, detections in run.appends) / elapsed,
        "append_p50": statistics.median(append_ms), "append_p95": percentile(append_ms, 0.95),
        "searches": len(run.searches),
        "search_p50": statistics.median(search_ms), "search_p95": percentile(search_ms, 0.95),
        "index_mb": sum(path.stat().st_size for path in index.rglob("*") if path.is_file()) / 1e6,
        "errors": run.errors,
    }


def markdown(row: dict) -> str:
    header = ("| run s | frames/chunk | det/frame | analysts | chunks | frames/s | detections/s | append p50 / p95 ms "
              "| searches | search p50 / p95 ms | index MB |")
    lines = [header, "|" + "---:|" * 11]
    lines.append(
        f"| {row['seconds']:.0f} | {row['chunk_frames']} | {row['objects']} | {row['analysts']} | {row['chunks']} "
        f"| {row['frames_s']:,.0f} | {row['detections_s']:,.0f} | {row['append_p50']:.0f} / {row['append_p95']:.0f} "
        f"| {row['searches']} | {row['search_p50']:.0f} / {row['search_p95']:.0f} | {row['index_mb']:.1f} |")
    lines += [f"\nerror: {error}" for error in row["errors"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of streaming (default 60)")
    parser.add_argument("--chunk-frames", type=int, default=30, help="frames per chunk (default 30: 1 s at 30 fps)")
    parser.add_argument("--objects", type=int, default=10, help="detections per frame (default 10)")
    parser.add_argument("--analysts", type=int, default=5, help="threads searching meanwhile (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir under bench-data/")
    options = parser.parse_args(argv)
    row = bench(duration=options.duration, chunk_frames=options.chunk_frames, objects=options.objects,
                analysts=options.analysts, keep=options.keep)
    print(markdown(row))
    if row["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
