"""How fast a search's labels export, and how much memory it takes (issue 23's targets:
1M detections as ETA or CVAT at >= 100,000 detections/s, < 300 MB above idle).

    python -m bench.label_export [--detections 1000000] [--formats eta,cvat]

A fresh data dir on the embedded settings gets one generated ETA video of ``--detections``
detections (10 per frame, tracks and frame attributes as :mod:`fixtures.generate_eta`
writes them), ingested with ``manage.py ingest_file`` into the DuckDB engine. Then, for each
format, a new process sets Django up, notes its resident memory (idle: the apps, the engine
and the export code imported), and exports "everything" (no query, no filters) through
:func:`analytics.label_export.export_chunks`, the code the download and the job run,
counting the bytes instead of sending them; a thread samples its resident memory every
20 ms. Reported per format: wall seconds, detections per second, bytes, idle and peak
resident MB and the peak above idle. Not counted: HTTP (the download streams the same
chunks) and the client.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import REPO, manage

OBJECTS_PER_FRAME = 10


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(format: str) -> dict:
    """In a process of its own: export everything as ``format`` and report time and memory."""
    import django  # noqa: PLC0415 -- set up here, after the data dir is in the environment

    django.setup()
    from analytics.label_export import export_chunks, export_plan, export_scope  # noqa: PLC0415
    from indexer.selectors import schema_resolve, search_request  # noqa: PLC0415

    request = search_request(schema=schema_resolve(ref="bench"))
    scope = export_scope(request=request)
    plan = export_plan(scope=scope, format=format)
    idle = _rss_mb()
    peak = [idle]
    running = [True]

    def sample() -> None:
        while running[0]:
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    size = 0
    started, cpu = time.perf_counter(), time.process_time()
    for chunk in export_chunks(plan=plan):
        size += len(chunk)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    running[0] = False
    sampler.join()
    detections = sum(video.counts.get("objects", 0) for video in plan.videos)
    return {"format": format, "detections": detections, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "detections_per_s": round(detections / wall), "bytes": size, "idle_mb": round(idle),
            "peak_mb": round(peak[0]), "above_idle_mb": round(peak[0] - idle)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detections", type=int, default=1_000_000)
    parser.add_argument("--formats", default="eta,cvat")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="scoop-bench-export-") as work:
        data_dir = Path(work) / "data"
        data_dir.mkdir()
        manage(data_dir, "migrate")
        document = json.dumps(DEFAULT_ONTOLOGY.to_document())
        manage(data_dir, "shell", "-c", "import json; from indexer.services import schema_create; "
               f"schema_create(name='bench', document=json.loads({document!r}), author=None)")
        path = write_eta_video(Path(work) / "video.json", frames=max(1, args.detections // OBJECTS_PER_FRAME),
                               objects_per_frame=OBJECTS_PER_FRAME, seed=7).path
        started = time.perf_counter()
        manage(data_dir, "ingest_file", str(path), "--video", "bench-video", "--schema", "bench", "--format", "eta",
               "--mode", "filter")
        print(json.dumps({"ingested_s": round(time.perf_counter() - started, 1), "payload_mb":
                          round(path.stat().st_size / 2**20)}), flush=True)
        env = {**os.environ, "SCOOP_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "scoop.settings.embedded",
               "LOG_LEVEL": "WARNING"}
        for format in args.formats.split(","):
            answer = subprocess.run([sys.executable, "-m", "bench.label_export", "--measure", format], cwd=REPO,
                                    env=env, check=True, capture_output=True, text=True)
            print(answer.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
