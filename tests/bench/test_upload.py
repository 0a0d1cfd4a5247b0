"""bench.upload at a tiny size: the upload cut at half resumes there and ends with the client's SHA-256."""

import pytest

from bench.upload import parse_size, run

pytestmark = pytest.mark.slow


def test_an_upload_cut_at_half_resumes_there_with_the_same_checksum(tmp_path):
    data_dir = tmp_path / "bench-data"
    data_dir.mkdir()

    [row] = run([parse_size("3M")], parse_size("256K"), data_dir, tmp_path)

    assert (row["bytes"], row["chunk"]) == (3 * 1024**2, 256 * 1024)
    assert row["resumed_at"] == row["cut_at"] == 3 * 1024**2 // 2
    assert row["checksum_matches"] is True
    assert row["mb_per_s"] > 0 and row["web_rss_peak_mb"] > 0 and row["web_rss_idle_mb"] > 0
