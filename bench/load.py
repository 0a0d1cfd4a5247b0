"""Scoop's load test: many analysts search while a worker ingests, through the HTTP API.

    python -m bench.load --analysts 20 --duration 120 --detections 1m

A fresh data dir gets synthetic ETA analytics of the given size (the benchmark's
generator and set-up, :mod:`bench.corpus`), ingested with ``manage.py
ingest_file``. Then the server starts as ``make run`` starts it (``manage.py serve``
with its web processes and task worker) on a free 127.0.0.1 port, and for ``--duration``
seconds:

- ``--analysts`` client threads each run a mix in a loop: the benchmark's four
  searches (single facet, 3 sidebar filters, deep boolean with NOT, geo bbox;
  every facet, the counts and the first page of clips), then pages 2 and 3 of the
  clips of the deep boolean, pausing after each answer as a person reading it
  would: a random time between half and one and a half times ``--think`` seconds
  (locust's ``between``; equal pauses put the analysts in step, so that they all ask
  at once and then all read at once). ``--think 0``: every client asks again at once.
  ``--mix fixed`` asks exactly the benchmark's searches, so analysts repeat each
  other and the server's kept answers (the result cache) serve most of them until
  the next ingest; ``--mix varied`` draws the values of every search at random
  (colours, types, road types, makes, a shifted map box), so nearly every
  request is new and computed;
- one worker client posts more videos (``--ingest-videos`` of ``--ingest-frames``
  frames) to ``/api/v1/ingest/`` one after another and follows each job.

It prints throughput (requests/s), p50/p95/p99 latency, the error count and the
ingest progress, writes the same as JSON with ``--report``, and exits 1 when any
request or ingest job failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import free_port, issue_token, manage, pause_s, percentile, serve, wait_for_port
from bench.corpus import DETECTIONS_PER_FRAME, UPLOAD_ONTOLOGY, demo_ontology, parse_size, write_corpus
from bench.search import QUERIES
from fixtures.generate_eta import write_eta_video

DEEP = "deep boolean with NOT"
# The fixed mix one analyst repeats: (name, body)
MIX = [(name, {**body, "page_size": 20}) for name, body in QUERIES.items()] + [
    (f"clips page {page}", {**QUERIES[DEEP], "page_size": 20, "page": page, "facets": []}) for page in (2, 3)
]
# What --mix varied draws from (values of fixtures/demo_ontology.json).
COLORS = ["black", "white", "silver", "gray", "red", "blue", "green", "yellow"]
TYPES = ["sedan", "suv", "pickup", "van", "truck", "bus", "motorcycle"]
MAKES = ["Toyota", "Honda", "Ford", "Chevrolet", "Nissan", "BMW", "Tesla", "Volkswagen"]
ROADS = ["highway", "urban", "residential", "rural"]
LABELS = ["person", "vehicle", "traffic_light", "sign"]
REQUEST_TIMEOUT_S = 120
ERRORS_LISTED = 10


@dataclass
class Tally:
    """Latencies and errors of every request, shared by the client threads."""

    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, elapsed_ms: float, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.latencies_ms.setdefault(name, []).append(elapsed_ms)
            else:
                self.errors.append(f"{name}: {error}")


@dataclass
class IngestProgress:
    submitted: int = 0
    succeeded: int = 0
    failed: int = 0
    detections: int = 0
    errors: list[str] = field(default_factory=list)


class Api:
    """A tiny stdlib client for one token."""

    def __init__(self, port: int, token: str):
        self.base = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Token {token}"}

    def call(self, path: str, *, body: bytes | None = None, content_type: str = "application/json") -> dict:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return json.loads(response.read())

    def post_json(self, path: str, body: dict) -> dict:
        return self.call(path, body=json.dumps(body).encode())

    def post_file(self, path: str, fields: dict[str, str], content: bytes) -> dict:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                 for name, value in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="analytics.json"\r\n'
                     "Content-Type: application/json\r\n\r\n".encode() + content + f"\r\n--{boundary}--\r\n".encode())
        return self.call(path, body=b"".join(parts), content_type=f"multipart/form-data; boundary={boundary}")


def _failure(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.read()[:200]!r}"
    return f"{type(error).__name__}: {error}"


def varied_mix(rng: random.Random) -> list[tuple[str, dict]]:
    """The mix's six requests with values drawn at random (``--mix varied``)."""
    pick = rng.sample
    deep = {"q": f"(vehicle(type={'|'.join(pick(TYPES, 2))}, color={rng.choice(COLORS)}) OR "
                 f"vehicle(make={rng.choice(MAKES)})) AND NOT {rng.choice(['person', 'sign'])} "
                 f"AND (road_type={rng.choice(ROADS)} OR NOT vehicle(parked=true))"}
    west, south = -122.4200 + rng.uniform(-0.01, 0.01), 37.7740 + rng.uniform(-0.01, 0.01)
    return [
        ("single facet", {"filters": {"object:vehicle.color": pick(COLORS, 1)}, "page_size": 20}),
        ("3 sidebar filters", {"filters": {"object:vehicle.type": pick(TYPES, 2), "frame:road_type": pick(ROADS, 1),
                                           "label": pick(LABELS, 1)}, "page_size": 20}),
        (DEEP, {**deep, "page_size": 20}),
        ("geo bbox", {"query": {"geo": {"bbox": [west, south, west + 0.002, south + 0.002]}}, "page_size": 20}),
        *((f"clips page {page}", {**deep, "page_size": 20, "page": page, "facets": []}) for page in (2, 3)),
    ]


def analyst_loop(api: Api, tally: Tally, stop: threading.Event, think: float, varied: bool = False) -> None:
    """Run the mix until ``stop``; every request is timed or counted as an error."""
    rng = random.Random()
    # Start at a random point of the first pause, so that the analysts do not ask in lockstep.
    stop.wait(pause_s(think, rng, arriving=True))
    while not stop.is_set():
        for name, body in varied_mix(rng) if varied else MIX:
            if stop.is_set():
                return
            started = time.perf_counter()
            try:
                answer = api.post_json("/api/v1/search/", body)
                error = None if "counts" in answer else f"no counts in {str(answer)[:200]}"
            except Exception as failure:  # any failure is an error of the run, reported at the end
                error = _failure(failure)
            tally.record(name, (time.perf_counter() - started) * 1000, error)
            stop.wait(pause_s(think, rng))


def ingest_loop(api: Api, payloads: list[tuple[str, Path, int]], progress: IngestProgress,
                stop: threading.Event) -> None:
    """Post each payload and follow its job to the end, one at a time, until ``stop``."""
    for video, path, detections in payloads:
        if stop.is_set():
            return
        try:
            job = api.post_file("/api/v1/ingest/", {"video": video, "schema": "road"}, path.read_bytes())
            progress.submitted += 1
            while job["status"] in ("queued", "running"):
                if stop.wait(0.25):
                    return  # still running at the end: neither an error nor done
                job = api.call(job["url"])
        except Exception as failure:
            progress.failed += 1
            progress.errors.append(f"ingest {video}: {_failure(failure)}")
            continue
        if job["status"] == "succeeded" and job["counts"]["objects"] == detections:
            progress.succeeded += 1
            progress.detections += detections
        else:
            progress.failed += 1
            progress.errors.append(f"ingest {video}: {job['status']} {job.get('error', '')} {job.get('counts')}")


def prepare(data_dir: Path, detections: int, ingest_videos: int, ingest_frames: int) -> list[tuple[str, Path, int]]:
    """A data dir with ``detections`` ingested, and the payloads to ingest under load."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    paths = write_corpus(data_dir / "payloads-in", detections)
    manage(data_dir, "migrate", "--noinput")
    manage(data_dir, "shell", "-c", UPLOAD_ONTOLOGY)
    manage(data_dir, "ingest_file", "--schema", "road", "--jobs", str(os.cpu_count() or 1), *map(str, paths))
    ontology = demo_ontology()
    extra = []
    for number in range(ingest_videos):
        path = data_dir / "payloads-in" / f"load-{number:04d}.json"
        video = write_eta_video(path, frames=ingest_frames, objects_per_frame=DETECTIONS_PER_FRAME,
                                seed=10_000 + number, ontology=ontology)
        extra.append((f"load-{number:04d}", path, video.objects))
    return extra


def run(*, analysts: int, duration: float, think: float, data_dir: Path,
        payloads: list[tuple[str, Path, int]], varied: bool = False) -> dict:
    """Serve ``data_dir`` and put it under load for ``duration`` seconds; the report."""
    # One user per analyst, as in real use: API rates are per user (scoop/throttles.py).
    analyst_tokens = [issue_token(data_dir, f"load-analyst-{number}", "analyst") for number in range(analysts)]
    worker = issue_token(data_dir, "load-worker", "worker")
    port = free_port()
    tally, progress, stop = Tally(), IngestProgress(), threading.Event()
    with open(data_dir / "server.log", "w") as log:
        server = serve(data_dir, port, log=log)
        try:
            wait_for_port(port)
            threads = [threading.Thread(target=analyst_loop, args=(Api(port, analyst), tally, stop, think, varied))
                       for analyst in analyst_tokens]
            threads.append(threading.Thread(target=ingest_loop, args=(Api(port, worker), payloads, progress, stop)))
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            time.sleep(duration)
            stop.set()
            for thread in threads:
                thread.join(timeout=REQUEST_TIMEOUT_S + 10)
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
    return report(tally, progress, elapsed, analysts, think, len(payloads), "varied" if varied else "fixed")


def report(tally: Tally, progress: IngestProgress, elapsed: float, analysts: int, think: float,
           planned: int, mix: str = "fixed") -> dict:
    everything = [ms for values in tally.latencies_ms.values() for ms in values]
    requests = len(everything) + len(tally.errors)
    errors = tally.errors + progress.errors
    return {
        "analysts": analysts,
        "think_s": think,
        "mix": mix,
        "duration_s": round(elapsed, 1),
        "requests": requests,
        "throughput_rps": round(requests / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(everything, 0.50), 1) if everything else None,
        "p95_ms": round(percentile(everything, 0.95), 1) if everything else None,
        "p99_ms": round(percentile(everything, 0.99), 1) if everything else None,
        "per_request_p50_ms": {name: round(statistics.median(values), 1)
                               for name, values in tally.latencies_ms.items()},
        "errors": len(errors),
        "error_samples": errors[:ERRORS_LISTED],
        "ingest": {"planned": planned, "submitted": progress.submitted, "succeeded": progress.succeeded,
                   "failed": progress.failed, "detections_indexed": progress.detections},
    }


def summary(result: dict) -> str:
    ingest = result["ingest"]
    lines = [
        f"{result['analysts']} analysts ({result['mix']} mix, {result['think_s']} s pauses) "
        f"for {result['duration_s']} s: "
        f"{result['requests']} requests, "
        f"{result['throughput_rps']} requests/s",
        f"latency p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms",
        "per request p50 (ms): " + ", ".join(f"{k} {v}" for k, v in result["per_request_p50_ms"].items()),
        f"errors: {result['errors']}",
        *(f"  {sample}" for sample in result["error_samples"]),
        f"ingest under load: {ingest['succeeded']} of {ingest['planned']} videos succeeded "
        f"({ingest['submitted']} submitted, {ingest['failed']} failed, "
        f"{ingest['detections_indexed']:,} detections indexed)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--analysts", type=int, default=20, help="concurrent analyst clients")
    parser.add_argument("--duration", type=float, default=120, help="seconds of load")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds an analyst pauses after each answer (0.5x to 1.5x, at random)")
    parser.add_argument("--detections", default="1m", help="corpus size before the load, e.g. 10k, 1m")
    parser.add_argument("--mix", choices=["fixed", "varied"], default="fixed",
                        help="fixed: the benchmark's searches, repeated; varied: values drawn at random")
    parser.add_argument("--ingest-videos", type=int, default=10, help="videos the worker client posts under load")
    parser.add_argument("--ingest-frames", type=int, default=1000,
                        help=f"frames per posted video ({DETECTIONS_PER_FRAME} detections each)")
    parser.add_argument("--data-dir", type=Path, help="where to build the corpus (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir for inspection")
    parser.add_argument("--report", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="scoop-load-"))
    try:
        payloads = prepare(data_dir, parse_size(args.detections), args.ingest_videos, args.ingest_frames)
        result = run(analysts=args.analysts, duration=args.duration, think=args.think, data_dir=data_dir,
                     payloads=payloads, varied=args.mix == "varied")
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(summary(result), flush=True)
    if args.report:
        args.report.write_text(json.dumps(result, indent=2))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
