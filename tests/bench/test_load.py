"""`make load` in its smallest configuration: it runs end to end, analysts get
answers, the ingest under load succeeds, and the report adds up."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.load import MIX
from tests.conftest import REPO


@pytest.mark.slow
@pytest.mark.parametrize("mix", ["fixed", "varied"])
def test_tiny_load_run_reports_sane_numbers(tmp_path, mix):
    report_path = tmp_path / "report.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench.load", "--analysts", "3", "--duration", "10", "--detections", "10k",
         "--ingest-videos", "1", "--ingest-frames", "100", "--data-dir", str(tmp_path / "data"),
         "--report", str(report_path), "--mix", mix],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    report = json.loads(report_path.read_text())
    assert report["errors"] == 0, report["error_samples"]
    assert report["mix"] == mix
    assert report["requests"] > 0
    assert report["throughput_rps"] > 0
    assert 0 < report["p50_ms"] <= report["p95_ms"] <= report["p99_ms"]
    assert set(report["per_request_p50_ms"]) <= {name for name, _body in MIX}
    assert report["ingest"] == {"planned": 1, "submitted": 1, "succeeded": 1, "failed": 0,
                                "detections_indexed": 1000}
    assert f"{report['requests']} requests" in finished.stdout
    assert "errors: 0" in finished.stdout
    assert not (tmp_path / "data").exists()  # cleaned up without --keep
