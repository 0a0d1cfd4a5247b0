"""bench.live at a tiny size, both ways: one stream back to back, and paced streams that each
find their chunks by searching after the 200."""

import pytest

from bench.live import bench, markdown

pytestmark = pytest.mark.slow


def test_paced_streams_append_every_chunk_once_and_find_it(tmp_path):
    row = bench(duration=4, chunk_frames=15, objects=2, analysts=0, keep=False, streams=2,
                data_dir=tmp_path / "live-run")

    assert row["errors"] == []
    # Each stream sends a chunk of 0.5 s of video every 0.5 s: about 8 in 4 s.
    assert row["streams"] == 2 and row["chunks"] >= 4
    assert row["detections_s"] * row["seconds"] == pytest.approx(row["chunks"] * 15 * 2)
    assert row["found"] >= 2  # the first chunk of each stream, searched for after its 200
    assert 0 <= row["behind_mean_s"] <= row["behind_max_s"]
    assert row["server_cpu_ms_per_chunk"] > 0
    assert markdown(row).splitlines()[0].startswith("| streams |")
    assert not (tmp_path / "live-run").exists()  # cleaned up without keep


def test_one_stream_back_to_back(tmp_path):
    row = bench(duration=2, chunk_frames=10, objects=3, analysts=1, keep=False, data_dir=tmp_path / "live-run")

    assert row["errors"] == []
    assert row["streams"] is None and row["chunks"] >= 1 and row["searches"] >= 1
    assert row["frames_s"] * row["seconds"] == pytest.approx(row["chunks"] * 10)
    assert markdown(row).splitlines()[0].startswith("| run s |")


def test_watches_alert_once_per_clip_and_their_latency_is_measured(tmp_path):
    row = bench(duration=3, chunk_frames=15, objects=3, analysts=0, keep=False, streams=2, watches=4,
                data_dir=tmp_path / "live-run")

    # errors holds any watch whose alerts are not exactly the clips its search finds.
    assert row["errors"] == []
    assert row["watches"] == 4 and row["alerts"] > 0
    assert row["alert_p50"] > 0 and row["alert_p95"] >= row["alert_p50"]
    assert "watches: 4; alerts:" in markdown(row)
