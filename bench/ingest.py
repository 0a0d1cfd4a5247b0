"""Ingest through the HTTP API: a fleet of worker clients posts ETA files to ``manage.py serve``.

    python -m bench.ingest [--files 200] [--detections 5000] [--fleet 8] [--preload 1m] [--report FILE]

This is the path a GPU worker takes, so the rate it measures is the one a user meets. A
fresh data dir under ``bench-data/`` gets the demo ontology as the schema ``road``; with
``--preload SIZE`` the index is first filled with SIZE detections the fast way
(``manage.py ingest_file --jobs 2``, as :mod:`bench.search` ingests). Then the server
starts as ``make run`` starts it (``manage.py serve``, default settings) on a free
127.0.0.1 port, and ``--fleet`` worker clients, each its own user with a worker token
(API rates are per user), share ``--files`` ETA files of ``--detections`` detections
(generated once into ``bench-data/corpus/`` and reused, :mod:`bench.corpus`). Before the
clock starts, one video of a frame without detections is posted and followed to its end, so
that the server's task worker has started and the first timed jobs do not wait for it. Each client
posts a file as a video of its own (a multipart upload with :mod:`scoop_client`, as a
worker does), follows its job to the end, then takes the next file. A 429 is waited out
and counted.

It reports, from the jobs' own times (``created_at``: accepted; ``finished_at``):

- detections/s end to end, from the first accepted post to the last job's end;
- job latency p50/p95, accepted to succeeded, and the p50s of its two parts, queued
  (accepted to started) and running (started to succeeded); with ``--fleet 1`` jobs never
  queue behind each other, so the p50 is the cost of one write at the preloaded size;
- the rate of the first and of the last ``--window`` detections (100K) by job end time,
  to show whether writes slow down as the index grows;
- the CPU time per file of the server's web processes (and its master), of its task worker
  (and its pool) and of the fleet's clients (this program), from the fleet's start to its end: less noisy than the rate
  on a machine shared with other work;
- the detections a search for everything counts afterwards (``POST /api/v1/search/``),
  which must equal the preloaded plus the posted detections.

Printed as a Markdown table row and as JSON (also written to ``--report``). Exits 1 when a
job failed or the count differs.
"""

from __future__ import annotations

import argparse
import json
import queue
import shutil
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.common import REPO, free_port, issue_token, manage, percentile, serve, tree_cpu_s, wait_for_port
from bench.corpus import DETECTIONS_PER_FRAME, UPLOAD_ONTOLOGY, demo_ontology, parse_size, write_corpus
from bench.search import timed_ingest
from fixtures.generate_eta import write_eta_video
from scoop_client import JobFailed, ScoopClient, ScoopError

PRELOAD_JOBS = 2
POLL_S = 0.2  # 5 polls a second per client: under the default rate of 600 API calls a minute
THROTTLED_WAIT_S = 1.0
JOB_TIMEOUT_S = 900
FAILURES_LISTED = 10


@dataclass
class Posting:
    """One file to post as its own video."""

    video: str
    path: Path
    detections: int


@dataclass
class FleetRun:
    """What the fleet's clients recorded, shared between their threads."""

    postings: queue.Queue
    jobs: list[dict] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    throttled: int = 0
    server_cpu_s: dict[str, float] = field(default_factory=dict)  # web, tasks: from the fleet's start to its end
    client_cpu_s: float = 0.0  # of this program (the fleet's clients), over the same time
    lock: threading.Lock = field(default_factory=threading.Lock)

    def waited_out_429(self) -> None:
        with self.lock:
            self.throttled += 1


def _unthrottled(run: FleetRun, call, **arguments):
    """``call(**arguments)``, again after a pause whenever the server answers 429."""
    while True:
        try:
            return call(**arguments)
        except ScoopError as error:
            if error.status != 429:
                raise
            run.waited_out_429()
            time.sleep(THROTTLED_WAIT_S)


def fleet_client(client: ScoopClient, run: FleetRun) -> None:
    """Post files until none are left, each followed to the end of its job."""
    while True:
        try:
            posting = run.postings.get_nowait()
        except queue.Empty:
            return
        try:
            queued = _unthrottled(run, client.ingest, video=posting.video, analytics=posting.path, schema="road")
            job = _unthrottled(run, client.job_wait, job_id=queued["id"], timeout=JOB_TIMEOUT_S, interval=POLL_S)
        except JobFailed as failed:
            job = failed.job
        except Exception as error:  # any failure is a failure of the run, listed in the report
            with run.lock:
                run.failures.append(f"{posting.video}: {type(error).__name__}: {error}")
            continue
        objects = (job.get("counts") or {}).get("objects")
        with run.lock:
            if job["status"] == "succeeded" and objects == posting.detections:
                run.jobs.append(job)
            else:
                run.failures.append(f"{posting.video}: {job['status']} {job.get('error') or ''} "
                                    f"objects {objects} of {posting.detections}")


def postings(corpus_dir: Path, files: int, detections: int) -> list[Posting]:
    """``files`` files of ``detections`` detections each, named ``ingest-0000``..."""
    paths = write_corpus(corpus_dir, files * detections, frames_per_video=detections // DETECTIONS_PER_FRAME)
    return [Posting(f"ingest-{number:04d}", path, detections) for number, path in enumerate(paths)]


def warm_up(client: ScoopClient, run: FleetRun, corpus_dir: Path) -> None:
    """Post a video of one frame without detections and wait for its job: the task worker
    starts after the web processes listen, and the timed run should not wait for it."""
    path = corpus_dir / "warm-up-1x0.json"
    if not path.exists():
        write_eta_video(path, frames=1, objects_per_frame=0, seed=0, ontology=demo_ontology())
    _unthrottled(run, client.ingest_wait, video="bench-warm-up", analytics=path, schema="road", timeout=JOB_TIMEOUT_S)


def preload(data_dir: Path, corpus_dir: Path, detections: int) -> float:
    """Fill the index with ``detections`` the fast way; the seconds it took."""
    seconds, _peak_mb = timed_ingest(data_dir, write_corpus(corpus_dir, detections), PRELOAD_JOBS)
    return seconds


def search_count(client: ScoopClient) -> int:
    """The detections that a search for everything counts."""
    return client.search(page_size=1, facets=[])["counts"]["objects"]


def serve_and_post(data_dir: Path, corpus_dir: Path, files: list[Posting], fleet: int) -> tuple[FleetRun, int]:
    """Serve ``data_dir``, let the fleet post ``files``; what it recorded and the search count after."""
    tokens = [issue_token(data_dir, f"bench-worker-{number}", "worker") for number in range(fleet)]
    analyst = issue_token(data_dir, "bench-analyst", "analyst")
    port = free_port()
    run = FleetRun(postings=queue.Queue())
    for posting in files:
        run.postings.put(posting)
    with open(data_dir / "server.log", "w") as log:
        server = serve(data_dir, port, log=log)
        try:
            wait_for_port(port)
            url = f"http://127.0.0.1:{port}"
            warm_up(ScoopClient(url, tokens[0]), run, corpus_dir)
            threads = [threading.Thread(target=fleet_client, args=(ScoopClient(url, token), run)) for token in tokens]
            server_began, client_began = tree_cpu_s(server.pid), time.process_time()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            run.server_cpu_s = {kind: seconds - server_began[kind] for kind, seconds in tree_cpu_s(server.pid).items()}
            run.client_cpu_s = time.process_time() - client_began
            return run, search_count(ScoopClient(url, analyst))
        finally:
            server.terminate()
            server.wait(timeout=30)


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _ms(job: dict, since: str, until: str) -> float:
    return (_seconds(job[until]) - _seconds(job[since])) * 1000


def window_rates(jobs: list[dict], window: int) -> tuple[int, float, float]:
    """The detections of the window actually used (``window``, or all when there are
    fewer) and the rates of the first and of the last ones, by job end time: the first
    from the first accepted post to the end of the job that completes the window, the
    last from the end of the job before the window to the last end."""
    start = min(_seconds(job["created_at"]) for job in jobs)
    ends = sorted((_seconds(job["finished_at"]), job["counts"]["objects"]) for job in jobs)
    window = min(window, sum(objects for _, objects in ends))
    done, first_rate = 0, 0.0
    for end, objects in ends:
        done += objects
        if done >= window:
            first_rate = done / (end - start)
            break
    done, last_end = 0, ends[-1][0]
    for index in range(len(ends) - 1, -1, -1):
        done += ends[index][1]
        if done >= window:
            before = ends[index - 1][0] if index else start
            return window, first_rate, done / (last_end - before)
    raise AssertionError("unreachable: the window is at most every detection")


def index_mb(data_dir: Path) -> float:
    """What the index holds on disk, whatever its layout."""
    index = data_dir / "index"
    return sum(path.stat().st_size for path in index.rglob("*") if path.is_file()) / 1e6 if index.exists() else 0.0


def report(*, run: FleetRun, counted: int, files: int, detections: int, fleet: int, preloaded: int,
           preload_s: float | None, window: int, data_dir: Path) -> dict:
    posted = sum(job["counts"]["objects"] for job in run.jobs)
    result = {
        "measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "files": files, "detections_per_file": detections, "fleet": fleet,
        "preloaded": preloaded, "preload_s": round(preload_s, 1) if preload_s is not None else None,
        "jobs_succeeded": len(run.jobs), "jobs_failed": len(run.failures),
        "failures": run.failures[:FAILURES_LISTED], "throttled": run.throttled,
        "detections_posted": posted,
        "search_count": counted, "expected_count": preloaded + files * detections,
        "index_mb": round(index_mb(data_dir), 1),
    }
    result["count_ok"] = counted == result["expected_count"]
    if not run.jobs:
        return result
    latencies_ms = [_ms(job, "created_at", "finished_at") for job in run.jobs]
    seconds = max(_seconds(job["finished_at"]) for job in run.jobs) - min(_seconds(job["created_at"])
                                                                          for job in run.jobs)
    used, first_rate, last_rate = window_rates(run.jobs, window)
    return result | {
        "seconds": round(seconds, 1),
        "detections_s": round(posted / seconds),
        "job_p50_ms": round(statistics.median(latencies_ms)),
        "job_p95_ms": round(percentile(latencies_ms, 0.95)),
        "queued_p50_ms": round(statistics.median(_ms(job, "created_at", "started_at") for job in run.jobs)),
        "running_p50_ms": round(statistics.median(_ms(job, "started_at", "finished_at") for job in run.jobs)),
        "window": used, "first_window_det_s": round(first_rate), "last_window_det_s": round(last_rate),
        "web_cpu_ms_per_file": round(run.server_cpu_s.get("web", 0.0) * 1000 / len(run.jobs)),
        "tasks_cpu_ms_per_file": round(run.server_cpu_s.get("tasks", 0.0) * 1000 / len(run.jobs)),
        "client_cpu_ms_per_file": round(run.client_cpu_s * 1000 / len(run.jobs)),
    }


def markdown(result: dict) -> str:
    window = f"{result.get('window', 0):,}"
    lines = [
        f"| files x detections | preloaded | fleet | detections/s | job p50 / p95 ms | first / last {window} det/s "
        "| search count | index MB |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    if "detections_s" in result:
        timing = (f"{result['detections_s']:,} | {result['job_p50_ms']:,} / {result['job_p95_ms']:,} "
                  f"| {result['first_window_det_s']:,} / {result['last_window_det_s']:,}")
    else:
        timing = "- | - | -"
    check = "ok" if result["count_ok"] else f"WRONG: expected {result['expected_count']:,}"
    lines.append(f"| {result['files']} x {result['detections_per_file']:,} | {result['preloaded']:,} "
                 f"| {result['fleet']} | {timing} | {result['search_count']:,} ({check}) | {result['index_mb']:,.1f} |")
    if "detections_s" in result:
        lines.append(f"\nOf a job, p50: {result['queued_p50_ms']:,} ms queued (accepted to started), "
                     f"{result['running_p50_ms']:,} ms running (started to succeeded).")
        lines.append(f"\nCPU per file: {result['web_cpu_ms_per_file']:,} ms in the web processes, "
                     f"{result['tasks_cpu_ms_per_file']:,} ms in the task worker, "
                     f"{result['client_cpu_ms_per_file']:,} ms in the fleet's clients.")
    if result["preloaded"]:
        lines.append(f"\nPreloaded {result['preloaded']:,} detections with `manage.py ingest_file --jobs "
                     f"{PRELOAD_JOBS}` in {result['preload_s']} s, before the timed run.")
    if result["throttled"]:
        lines.append(f"\n{result['throttled']} request(s) answered 429 and were sent again.")
    lines += [f"\nfailed: {failure}" for failure in result["failures"]]
    return "\n".join(lines)


def bench(*, files: int, detections: int, fleet: int, preload_size: int, window: int, data_dir: Path,
          corpus_dir: Path, keep: bool) -> dict:
    """One run on a fresh ``data_dir``; its report."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    try:
        to_post = postings(corpus_dir, files, detections)
        manage(data_dir, "migrate", "--noinput")
        manage(data_dir, "shell", "-c", UPLOAD_ONTOLOGY)
        preload_s = preload(data_dir, corpus_dir, preload_size) if preload_size else None
        run, counted = serve_and_post(data_dir, corpus_dir, to_post, fleet)
        return report(run=run, counted=counted, files=files, detections=detections, fleet=fleet,
                      preloaded=preload_size, preload_s=preload_s, window=window, data_dir=data_dir)
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _detections_per_file(text: str) -> int:
    value = _positive(text)
    if value % DETECTIONS_PER_FRAME:
        raise argparse.ArgumentTypeError(
            f"must be a multiple of {DETECTIONS_PER_FRAME} (the corpus's detections a frame), not {value}")
    return value


def _size(text: str) -> int:
    try:
        value = parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size like 1m, 500k or 0: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text!r}")
    if value % DETECTIONS_PER_FRAME:
        raise argparse.ArgumentTypeError(
            f"must be a multiple of {DETECTIONS_PER_FRAME} (the corpus's detections a frame), not {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=_positive, default=200, help="files posted, each as its own video (200)")
    parser.add_argument("--detections", type=_detections_per_file, default=5_000,
                        help=f"detections per file, a multiple of {DETECTIONS_PER_FRAME} (5000)")
    parser.add_argument("--fleet", type=_positive, default=8, help="worker clients posting at once (8)")
    parser.add_argument("--preload", type=_size, default=0,
                        help="detections indexed before the timed run, e.g. 1m, 10m (default 0)")
    parser.add_argument("--window", type=_positive, default=100_000,
                        help="detections of the first and last windows whose rates are compared (100000)")
    parser.add_argument("--data-dir", type=Path, help="the server's data dir (default: bench-data/ingest-TIME)")
    parser.add_argument("--corpus-dir", type=Path, default=REPO / "bench-data" / "corpus",
                        help="where the generated files are kept and reused (bench-data/corpus)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir for inspection")
    parser.add_argument("--report", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or REPO / "bench-data" / f"ingest-{datetime.now(UTC):%Y%m%d%H%M%S}"
    result = bench(files=args.files, detections=args.detections, fleet=args.fleet, preload_size=args.preload,
                   window=args.window, data_dir=data_dir, corpus_dir=args.corpus_dir, keep=args.keep)
    print(markdown(result))
    print(json.dumps(result), flush=True)
    if args.report:
        args.report.write_text(json.dumps(result, indent=2))
    return 0 if result["count_ok"] and not result["jobs_failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
