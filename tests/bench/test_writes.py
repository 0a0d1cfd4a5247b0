"""bench.writes at a tiny size: the index it fills and writes to holds exactly what was written."""

import pytest

from bench.writes import run_size

pytestmark = pytest.mark.slow


def test_one_fill_video_and_two_small_writes_are_counted_and_kept_in_three_segments(tmp_path):
    row = run_size(100_000, writes=2, write_size=100, work=tmp_path)

    assert (row["indexed"], row["writes"], row["write_size"]) == (100_000, 2, 100)
    assert row["objects_found"] == 100_000 + 2 * 100
    assert (row["segments"], row["fill_merges"], row["merges_after_writes"]) == (3, 0, 0)  # none of a tier of 4
    assert 0 < row["write_p50_ms"] <= row["write_p95_ms"]
