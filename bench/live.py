"""Live ingest under load: the sustained append rate of live streams while analysts search.

    python -m bench.live [--duration 60] [--chunk-frames 30] [--objects 10] [--analysts 5]
                         [--streams N] [--watches W] [--data-dir DIR] [--keep]

A fresh data dir (under ``bench-data/`` unless ``--data-dir``) gets the demo ontology and a
real server (``manage.py serve``, as ``make run`` starts it). Without ``--streams``, one worker
creates a live video (30 fps) and posts chunks of ``--chunk-frames`` ETA frame lines
(``--objects`` detections each, vehicles and people with attributes) back to back for
``--duration`` seconds, to find the engine's sustained rate. With ``--streams N``, N live
videos are fed at once as cameras would feed them: each stream sends its next chunk when
its video time is due (a chunk of 30 frames a second at 30 fps), or at once when it is
behind; after every tenth chunk it searches for its video's frames, to time how soon after
its 200 the chunk is found. Each chunk is acknowledged only once it is searchable.
Meanwhile ``--analysts`` threads search through the HTTP API without pause (a facet filter,
a boolean query, and the totals and first page of clips, in turn). Printed as a Markdown
table: appended frames and detections per second, append latency, how far the streams fell
behind (seconds of video not yet acknowledged at the end), the searches' count and latency,
and the server's CPU time per chunk (all its processes, the analysts' searches included: a
figure that other work on a shared machine does not change).

With ``--watches W``, an analyst first saves W searches (a vehicle of one colour and type each,
in turn) and watches them. After the run it reads every watch's alerts and reports their
latency, from the 200 of the chunk that holds an alert's first frame to the alert's
``created_at``. It also checks that each watch has exactly one alert per clip that its
search finds in the streams.
"""

from __future__ import annotations

import argparse
import functools
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
# Seconds to wait at most after the streams stop for the watches' evaluation of the last writes.
WATCHES_SETTLE_S = 30.0
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


@functools.lru_cache(maxsize=256)
def chunk_body(first: int, chunk_frames: int, objects: int) -> bytes:
    """The chunk of frames ``first..first + chunk_frames - 1``, as newline-delimited JSON; the
    same for every stream (each has its video), so that the client spends its CPU on sending."""
    rng = random.Random(first)
    return b"".join(json.dumps(frame_line(n, objects, rng)).encode() + b"\n"
                    for n in range(first, first + chunk_frames))


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
        self.behind: list[float] = []  # seconds of video not acknowledged at the end, per paced stream
        self.found: list[float] = []  # seconds from a chunk's 200 to a search that finds it
        self.errors: list[str] = []
        self.acked: dict[tuple[int, int], float] = {}  # (video id, first frame number) -> epoch of its 200
        self.alert_s: list[float] = []  # seconds from a chunk's 200 to its alert
        self.alerts = 0
        self.server_cpu_s = float("nan")
        self.lock = threading.Lock()

    def running(self) -> bool:
        return time.monotonic() < self.deadline and not self.errors


def _append(run: _Run, port: int, token: str, video_id: int, first: int, chunk_frames: int,
            objects: int) -> dict | None:
    """Post one chunk and note its latency; None (and the run ends) when it fails."""
    started = time.perf_counter()
    try:
        answer = _request(port, token, f"/api/v1/videos/{video_id}/stream/",
                          chunk_body(first, chunk_frames, objects), "application/x-ndjson")
    except Exception as error:  # any failure ends the run and is printed under the table
        run.errors.append(f"append: {error}")
        return None
    with run.lock:
        run.appends.append((time.perf_counter() - started, answer["appended"]["frames"],
                            answer["appended"]["objects"]))
        run.acked[(video_id, first)] = time.time()
    return answer


def _stream(run: _Run, port: int, token: str, video_id: int, chunk_frames: int, objects: int) -> None:
    """Chunks back to back: the engine's sustained rate for one stream."""
    number = 1
    while run.running() and _append(run, port, token, video_id, number, chunk_frames, objects) is not None:
        number += chunk_frames


def _paced_stream(run: _Run, port: int, tokens: dict[str, str], video: dict, chunk_frames: int, objects: int,
                  started: float) -> None:
    """A camera: chunk k is sent when its video time is due (at once when behind). Every tenth
    chunk, the watcher searches for the video's frames: how soon after the 200 is it found?"""
    chunk_s = chunk_frames / FPS
    sent = frames = 0
    while run.running():
        time.sleep(max(0.0, min(started + sent * chunk_s, run.deadline) - time.monotonic()))
        if not run.running():
            break
        answer = _append(run, port, tokens["worker"], video["id"], 1 + sent * chunk_frames, chunk_frames, objects)
        if answer is None:
            return
        sent, frames = sent + 1, frames + answer["appended"]["frames"]
        if sent % 10 == 1 and not _found(run, port, tokens["watcher"], video["name"], frames):
            return
    with run.lock:
        run.behind.append(max(0.0, run.deadline - started - sent * chunk_s))


def _found(run: _Run, port: int, token: str, name: str, frames: int) -> bool:
    """Search for the video's frames until all ``frames`` acknowledged are found (5 s at most)."""
    acknowledged = time.perf_counter()
    body = json.dumps({"q": f'video.name = "{name}"', "page_size": 1}).encode()
    while time.perf_counter() - acknowledged < 5:
        try:
            counts = _request(port, token, "/api/v1/search/", body, "application/json")["counts"]
        except Exception as error:  # any failure ends the run and is printed under the table
            run.errors.append(f"search after append: {error}")
            return False
        if counts["frames"] >= frames:
            with run.lock:
                run.found.append(time.perf_counter() - acknowledged)
            return True
    run.errors.append(f"video {name}: {frames} frames acknowledged, not found 5 s later")
    return False


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


def _get(port: int, token: str, path: str) -> dict | list:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def watch_queries(count: int) -> list[str]:
    """``count`` searches to watch: a vehicle of one colour and one type, in turn."""
    pairs = [(color, kind) for kind in TYPES for color in COLORS]
    return [f"vehicle(color={color}, type={kind})" for color, kind in (pairs[n % len(pairs)] for n in range(count))]


def _watches(port: int, token: str, count: int) -> list[tuple[int, str]]:
    """Save and watch ``count`` searches; their (watch id, query)."""
    made = []
    for number, query in enumerate(watch_queries(count)):
        saved = _request(port, token, "/api/v1/searches/", json.dumps(
            {"name": f"watch {number}", "q": query, "schema": "road"}).encode(), "application/json")
        watch = _request(port, token, f"/api/v1/searches/{saved['id']}/watch/", b"{}", "application/json")
        made.append((watch["id"], query))
    return made


def _alerts_checked(run: _Run, port: int, token: str, watches: list[tuple[int, str]], chunk_frames: int) -> None:
    """Each watch's alerts against the clips its search finds now (waiting up to WATCHES_SETTLE_S
    for the evaluation of the last writes); each alert's latency from the 200 of the chunk that
    holds its first frame."""
    deadline = time.monotonic() + WATCHES_SETTLE_S
    for watch_id, query in watches:
        clips = _request(port, token, "/api/v1/search/", json.dumps(
            {"q": query, "schema": "road", "facets": [], "page_size": 1}).encode(), "application/json")["total_clips"]
        while True:
            alerts = _get(port, token, f"/api/v1/alerts/?watch={watch_id}&limit=1000")["alerts"]
            if len(alerts) == clips or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if len(alerts) != clips:
            run.errors.append(f"watch {watch_id} ({query}): {len(alerts)} alerts for {clips} clips")
        for alert in alerts:
            acked = run.acked.get((alert["video"], alert["first_frame"] // chunk_frames * chunk_frames + 1))
            if acked is not None:
                run.alert_s.append(datetime.fromisoformat(alert["created_at"]).timestamp() - acked)
        run.alerts += len(alerts)


def _tokens(data_dir: Path, analysts: int) -> dict[str, str]:
    """Tokens of the admin, the worker, the watcher (an analyst who searches for the streams'
    chunks) and one user per analyst (API rates are per user)."""
    tokens = {role: issue_token(data_dir, f"bench-{role}", role) for role in ("admin", "worker")}
    tokens["watcher"] = issue_token(data_dir, "bench-watcher", "analyst")
    return tokens | {f"analyst-{number}": issue_token(data_dir, f"bench-analyst-{number}", "analyst")
                     for number in range(analysts)}


def bench(*, duration: float, chunk_frames: int, objects: int, analysts: int, keep: bool,
          streams: int | None = None, watches: int = 0, data_dir: Path | None = None) -> dict:
    """One run on a fresh data dir; the numbers of the table's row. ``streams``: paced streams
    (None: one stream, back to back); ``watches``: saved searches watched meanwhile."""
    data_dir = data_dir or REPO / "bench-data" / f"live-{datetime.now(UTC):%Y%m%d%H%M%S}"
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
            videos = [_request(port, tokens["worker"], "/api/v1/videos/", json.dumps(
                {"name": f"bench-live-{number}", "live": True, "fps": FPS, "width": 1280, "height": 720}).encode(),
                "application/json") for number in range(streams or 1)]
            watched = _watches(port, tokens["watcher"], watches)
            run = _Run(duration)
            started = time.monotonic()
            if streams is None:
                threads = [threading.Thread(target=_stream, args=(run, port, tokens["worker"], videos[0]["id"],
                                                                  chunk_frames, objects))]
            else:
                threads = [threading.Thread(target=_paced_stream, args=(run, port, tokens, video, chunk_frames,
                                                                        objects, started))
                           for video in videos]
            threads += [threading.Thread(target=_search, args=(run, port, tokens[f"analyst-{offset}"], offset))
                        for offset in range(analysts)]
            for thread in threads:
                thread.start()
            cpu_before = _tree_cpu_s(server.pid)
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            run.server_cpu_s = _tree_cpu_s(server.pid) - cpu_before
            if watched:
                _alerts_checked(run, port, tokens["watcher"], watched, chunk_frames)
        finally:
            server.terminate()
            server.wait(timeout=30)
        return _row(run, elapsed, chunk_frames, objects, analysts, data_dir) | {"streams": streams, "watches": watches}
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds used so far by process ``pid`` and its descendants alive now (Linux's /proc;
    NaN elsewhere): the server's own cost, whatever else shares the machine."""
    try:
        stats = {int(path.name): path.joinpath("stat").read_text().rsplit(")", 1)[1].split()
                 for path in Path("/proc").iterdir() if path.name.isdigit() and path.joinpath("stat").exists()}
    except OSError:
        return float("nan")
    # Fields after the name: state ppid ... utime (12th) stime (13th).
    children: dict[int, list[int]] = {}
    for child, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(child)
    ticks, todo = 0, [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            ticks += int(stats[current][11]) + int(stats[current][12])
        todo += children.get(current, [])
    return ticks / os.sysconf("SC_CLK_TCK")


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
        "server_cpu_ms_per_chunk": run.server_cpu_s * 1000 / max(len(run.appends), 1),
        "behind_max_s": max(run.behind, default=0.0), "behind_mean_s": statistics.fmean(run.behind or [0.0]),
        "found": len(run.found), "found_p50": statistics.median(found_ms := [s * 1000 for s in run.found] or
                                                                [float("nan")]),
        "found_p95": percentile(found_ms, 0.95),
        "alerts": run.alerts,
        "alert_p50": statistics.median(alert_ms := [s * 1000 for s in run.alert_s] or [float("nan")]),
        "alert_p95": percentile(alert_ms, 0.95),
        "errors": run.errors,
    }


def markdown(row: dict) -> str:
    if row["streams"] is not None:
        return _paced_markdown(row)
    header = ("| run s | frames/chunk | det/frame | analysts | chunks | frames/s | detections/s | append p50 / p95 ms "
              "| searches | search p50 / p95 ms | index MB | server CPU ms / chunk |")
    lines = [header, "|" + "---:|" * 12]
    lines.append(
        f"| {row['seconds']:.0f} | {row['chunk_frames']} | {row['objects']} | {row['analysts']} | {row['chunks']} "
        f"| {row['frames_s']:,.0f} | {row['detections_s']:,.0f} | {row['append_p50']:.0f} / {row['append_p95']:.0f} "
        f"| {row['searches']} | {row['search_p50']:.0f} / {row['search_p95']:.0f} | {row['index_mb']:.1f} "
        f"| {row['server_cpu_ms_per_chunk']:.0f} |")
    lines += [f"\nerror: {error}" for error in row["errors"]]
    return "\n".join(lines)


def _paced_markdown(row: dict) -> str:
    header = ("| streams | run s | analysts | chunks | detections/s | append p50 / p95 ms | behind at the end, "
              "max / mean s | found after the 200, p50 / p95 ms (n) | search p50 / p95 ms | index MB "
              "| server CPU ms / chunk |")
    lines = [header, "|" + "---:|" * 11]
    lines.append(
        f"| {row['streams']} | {row['seconds']:.0f} | {row['analysts']} | {row['chunks']} "
        f"| {row['detections_s']:,.0f} | {row['append_p50']:.0f} / {row['append_p95']:.0f} "
        f"| {row['behind_max_s']:.1f} / {row['behind_mean_s']:.1f} "
        f"| {row['found_p50']:.0f} / {row['found_p95']:.0f} ({row['found']}) "
        f"| {row['search_p50']:.0f} / {row['search_p95']:.0f} | {row['index_mb']:.1f} "
        f"| {row['server_cpu_ms_per_chunk']:.0f} |")
    if row["watches"]:
        lines.append(f"\nwatches: {row['watches']}; alerts: {row['alerts']}; alert after the chunk's 200, p50 / p95: "
                     f"{row['alert_p50']:.0f} / {row['alert_p95']:.0f} ms")
    lines += [f"\nerror: {error}" for error in row["errors"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of streaming (default 60)")
    parser.add_argument("--chunk-frames", type=int, default=30, help="frames per chunk (default 30: 1 s at 30 fps)")
    parser.add_argument("--objects", type=int, default=10, help="detections per frame (default 10)")
    parser.add_argument("--analysts", type=int, default=5, help="threads searching meanwhile (default 5)")
    parser.add_argument("--streams", type=int, default=None,
                        help="N live videos fed at once, each a chunk per chunk of video time (default: one "
                             "stream, back to back)")
    parser.add_argument("--watches", type=int, default=0,
                        help="saved searches an analyst watches meanwhile (with --streams); alert latency reported")
    parser.add_argument("--data-dir", type=Path, default=None, help="a new folder for the run's data dir")
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    options = parser.parse_args(argv)
    if options.streams is not None and options.streams < 1:
        parser.error("--streams must be at least 1")
    if options.watches and options.streams is None:
        parser.error("--watches needs --streams")
    row = bench(duration=options.duration, chunk_frames=options.chunk_frames, objects=options.objects,
                analysts=options.analysts, keep=options.keep, streams=options.streams, watches=options.watches,
                data_dir=options.data_dir)
    print(markdown(row))
    if row["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
