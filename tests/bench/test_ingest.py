"""`python -m bench.ingest` at its smallest: a fleet posts files through the HTTP API of a real
`manage.py serve`, every job succeeds, the search count matches, and the report adds up, the
CPU of each side per file included; and `python -m bench.ingest_cpu`'s split of one file's CPU."""

from __future__ import annotations

import json
import queue
import subprocess
import sys

import pytest

from bench.common import tree_cpu_s
from bench.ingest import FleetRun, main, markdown, report, window_rates
from tests.conftest import REPO


def _job(created: str, finished: str, objects: int) -> dict:
    created_at, finished_at = f"2026-12-07T10:00:{created}Z", f"2026-12-07T10:00:{finished}Z"
    return {"created_at": created_at, "started_at": created_at, "finished_at": finished_at,
            "counts": {"objects": objects}}


def test_window_rates_compare_the_first_and_last_detections_by_job_end():
    jobs = [_job("00", "02", 100), _job("00", "04", 100), _job("01", "10", 100), _job("02", "20", 100)]

    window, first, last = window_rates(jobs, 200)

    assert window == 200
    assert first == 200 / 4  # from the first accepted post to the end of the second job
    assert last == 200 / (20 - 4)  # from the end of the job before the window to the last end


def test_a_window_larger_than_the_run_takes_every_detection():
    jobs = [_job("00", "02", 100), _job("00", "05", 150)]

    assert window_rates(jobs, 100_000) == (250, 50.0, 50.0)


@pytest.mark.parametrize(("argument", "message"), [
    (["--detections", "205"], "argument --detections: must be a multiple of 10 (the corpus's detections a frame), "
                              "not 205"),
    (["--fleet", "0"], "argument --fleet: must be 1 or more, not 0"),
    (["--preload", "lots"], "argument --preload: not a size like 1m, 500k or 0: 'lots'"),
])
def test_bad_arguments_are_refused_naming_the_option(argument, message, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argument)

    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_tiny_fleet_run_counts_every_posted_detection(tmp_path):
    report_path = tmp_path / "report.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "--files", "3", "--detections", "200", "--fleet", "2",
         "--preload", "1k", "--data-dir", str(tmp_path / "data"), "--corpus-dir", str(tmp_path / "corpus"),
         "--report", str(report_path)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    report = json.loads(report_path.read_text())
    assert report["jobs_succeeded"] == 3
    assert report["jobs_failed"] == 0
    assert report["failures"] == []
    assert report["detections_posted"] == 600
    assert report["preloaded"] == 1000
    assert report["search_count"] == report["expected_count"] == 1600
    assert report["count_ok"] is True
    assert report["window"] == 600  # fewer detections than the 100K window: all of them
    assert report["detections_s"] > 0
    assert 0 < report["job_p50_ms"] <= report["job_p95_ms"]
    assert 0 <= report["queued_p50_ms"] < report["job_p50_ms"]
    assert 0 < report["running_p50_ms"] <= report["job_p50_ms"]
    assert report["first_window_det_s"] > 0 and report["last_window_det_s"] > 0
    assert "| 3 x 200 | 1,000 | 2 |" in finished.stdout
    assert "1,600 (ok)" in finished.stdout
    assert "Preloaded 1,000 detections with `manage.py ingest_file --jobs 2`" in finished.stdout
    assert json.loads(finished.stdout.splitlines()[-1]) == report
    assert sorted(path.name for path in (tmp_path / "corpus").glob("bench-*")) == [
        "bench-0000-100x10.json", "bench-0000-20x10.json", "bench-0001-20x10.json", "bench-0002-20x10.json"]
    assert not (tmp_path / "data").exists()  # cleaned up without --keep


def test_a_wrong_count_and_a_failed_job_are_reported(tmp_path):
    run = FleetRun(postings=queue.Queue(), jobs=[_job("00", "01", 200)],
                   failures=["ingest-0001: failed the index is locked objects None of 200"])

    result = report(run=run, counted=150, files=2, detections=200, fleet=1, preloaded=0, preload_s=None,
                    window=100_000, data_dir=tmp_path)

    assert result["count_ok"] is False
    assert (result["search_count"], result["expected_count"]) == (150, 400)
    assert (result["jobs_succeeded"], result["jobs_failed"]) == (1, 1)
    table = markdown(result)
    assert "| 150 (WRONG: expected 400) |" in table
    assert "failed: ingest-0001: failed the index is locked objects None of 200" in table


def test_the_report_gives_the_cpu_of_each_side_per_file(tmp_path):
    jobs = [_job("00", "01", 200), _job("00", "02", 200)]
    run = FleetRun(postings=queue.Queue(), jobs=jobs, server_cpu_s={"web": 0.25, "tasks": 0.75}, client_cpu_s=0.05)

    result = report(run=run, counted=400, files=2, detections=200, fleet=1, preloaded=0, preload_s=None,
                    window=100_000, data_dir=tmp_path)

    assert (result["web_cpu_ms_per_file"], result["tasks_cpu_ms_per_file"], result["client_cpu_ms_per_file"]) == (
        125, 375, 25)
    assert ("CPU per file: 125 ms in the web processes, 375 ms in the task worker, 25 ms in the fleet's clients."
            in markdown(result))


def test_a_process_tree_s_cpu_counts_its_children():
    spin = "import time\nwhile time.process_time() < 0.5: pass\nprint('spun', flush=True)\ntime.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", spin], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "spun\n"
        spent = tree_cpu_s(child.pid)
    finally:
        child.kill()
        child.wait()

    assert spent["web"] >= 0.4  # the 0.5 s it spun, less a tick or two; no Celery worker: the web side
    assert spent["tasks"] == 0.0


@pytest.mark.slow
def test_the_cpu_split_of_one_file_s_path_adds_up(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "bench.ingest_cpu", "--files", "3", "--detections", "200",
         "--data-dir", str(tmp_path / "data"), "--corpus-dir", str(tmp_path / "corpus")],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    result = json.loads(finished.stdout.splitlines()[-1])
    steps = [result[f"{step}_ms"] for step in ("upload", "poll", "job", "merge")]
    assert all(spent >= 0 for spent in steps) and result["job_ms"] > 0
    assert result["total_ms"] == pytest.approx(sum(steps), abs=0.2)
    assert result["bound_det_s"] == round(200 * result["cores"] / (result["total_ms"] / 1000))
    assert f"total {result['total_ms']:,} ms CPU per file of 200 detections" in finished.stdout
    assert not (tmp_path / "data").exists()  # the data dir is removed after the run
