"""Where the CPU of ingest through the HTTP API goes, per file, in one process.

    python -m bench.ingest_cpu [--files 20] [--detections 5000] [--profile FILE]

:mod:`bench.ingest` measures the rate a worker fleet meets; on a machine shared with
other work its figures are noisy. This program measures the same path's CPU time
(``time.process_time``: every thread of the process, DuckDB's included) step by step, on a
fresh data dir under ``bench-data/``, with no server, no fleet and no queue between them:

- ``upload``: the multipart ``POST /api/v1/ingest/`` through Django's WSGI handler, as a
  web process answers it (DRF parsing, the payload saved, checked and its format told, the job
  row, the task queued); the body is encoded before the clock starts;
- ``poll``: one ``GET /api/v1/ingest/<id>/``, which a worker client sends every 0.2 to 0.5 s
  while its job runs;
- ``job``: :func:`indexer.services.ingest_run`, what the task worker runs for the job
  (read, validate, stage, write and publish a segment, record the video);
- ``merge``: :func:`indexer.services.index_merge` whenever the index asks for a merge after a
  job, as the task worker does, its CPU spread over the files.

It prints the median CPU ms per file of each step and their sum, and with ``--profile``
writes a cProfile of the jobs (``python -m pstats FILE``). The first file is left out of
the medians (it loads modules and warms caches).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import REPO
from bench.corpus import DETECTIONS_PER_FRAME, UPLOAD_ONTOLOGY
from bench.ingest import postings

STEPS = ("upload", "poll", "job", "merge")


def _django(data_dir: Path) -> None:
    """Set Django up on the embedded settings with ``data_dir``, its database migrated and the schema uploaded."""
    os.environ.update(SCOOP_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="scoop.settings.embedded",
                      LOG_LEVEL="WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--noinput", verbosity=0)
    exec(UPLOAD_ONTOLOGY)  # noqa: S102 - the benchmark's own constant, as bench.ingest runs it


def measure(files: list, profile: cProfile.Profile | None) -> dict[str, list[float]]:
    """CPU ms of each step for each of ``files`` (:class:`bench.ingest.Posting`)."""
    # Imported here: these modules need Django set up on the benchmark's data dir first.
    from django.test import Client
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    from accounts.services import user_issue_token
    from indexer.search import get_search_backend
    from indexer.services import index_merge, ingest_run

    token = user_issue_token(username="bench-cpu-worker", role="worker").key
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    spent: dict[str, list[float]] = {step: [] for step in STEPS}
    for posting in files:
        with open(posting.path, "rb") as payload:
            body = encode_multipart(BOUNDARY, {"video": posting.video, "mode": "strict", "schema": "road",
                                                 "file": payload})
        began = time.process_time()
        answer = client.generic("POST", "/api/v1/ingest/", body, content_type=MULTIPART_CONTENT)
        spent["upload"].append(time.process_time() - began)
        if answer.status_code != 202:
            raise RuntimeError(f"upload of {posting.video}: {answer.status_code} {answer.content[:300]!r}")
        job_id = answer.json()["id"]
        began = time.process_time()
        client.get(f"/api/v1/ingest/{job_id}/")
        spent["poll"].append(time.process_time() - began)
        began = time.process_time()
        if profile is not None:
            profile.enable()
        job = ingest_run(job_id=job_id)
        if profile is not None:
            profile.disable()
        spent["job"].append(time.process_time() - began)
        if job.status != "succeeded":
            raise RuntimeError(f"job of {posting.video}: {job.status} {job.error}")
        began = time.process_time()
        if get_search_backend().merge_due():
            index_merge()
        spent["merge"].append(time.process_time() - began)
    return {step: [seconds * 1000 for seconds in values] for step, values in spent.items()}


def report(spent: dict[str, list[float]], *, files: int, detections: int) -> dict:
    """Median CPU ms per file of each step (the first file left out); merges as a mean, as they come in bursts."""
    steady = {step: values[1:] or values for step, values in spent.items()}
    result = {"measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "files": files,
              "detections_per_file": detections}
    for step, values in steady.items():
        result[f"{step}_ms"] = round(statistics.mean(values) if step == "merge" else statistics.median(values), 1)
    result["total_ms"] = round(sum(result[f"{step}_ms"] for step in STEPS), 1)
    # On a machine of N cores, the rate that this much CPU per file allows at best.
    result["cores"] = os.cpu_count() or 1
    result["bound_det_s"] = round(detections * result["cores"] / (result["total_ms"] / 1000))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20, help="files posted and run, one after the other (20)")
    parser.add_argument("--detections", type=int, default=5_000, help="detections per file (5000)")
    parser.add_argument("--data-dir", type=Path, help="the data dir (default: bench-data/ingest-cpu-TIME)")
    parser.add_argument("--corpus-dir", type=Path, default=REPO / "bench-data" / "corpus",
                        help="where the generated files are kept and reused (bench-data/corpus)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the jobs here")
    args = parser.parse_args(argv)
    if args.files < 2 or args.detections % DETECTIONS_PER_FRAME:
        parser.error(f"--files must be 2 or more, --detections a multiple of {DETECTIONS_PER_FRAME}")
    data_dir = args.data_dir or REPO / "bench-data" / f"ingest-cpu-{datetime.now(UTC):%Y%m%d%H%M%S}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    try:
        files = postings(args.corpus_dir, args.files, args.detections)
        _django(data_dir)
        profile = cProfile.Profile() if args.profile else None
        result = report(measure(files, profile), files=args.files, detections=args.detections)
        if profile is not None:
            profile.dump_stats(args.profile)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(" | ".join(f"{step} {result[f'{step}_ms']:,} ms" for step in STEPS)
          + f" | total {result['total_ms']:,} ms CPU per file of {args.detections:,} detections"
          f" (at best {result['bound_det_s']:,} det/s on {result['cores']} cores)")
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
