"""bench.review_load on a tiny corpus: reviewers vote through a real server while an analyst
searches, and the report counts what happened."""

import argparse

import pytest

from bench.review_load import run

pytestmark = pytest.mark.slow


def test_reviewers_confirm_items_while_an_analyst_searches_and_nothing_fails(tmp_path):
    args = argparse.Namespace(reviewers=2, analysts=1, seconds=6.0, videos=1, frames=200, think=0.2)

    work = tmp_path / "run"
    work.mkdir()
    report = run(args, work)

    assert (report["videos"], report["detections"], report["reviewers"], report["think_s"]) == (1, 2000, 2, 0.2)
    assert report["campaign_items"] > 0
    states = report["states_at_end"]
    assert sum(states.values()) == report["campaign_items"]
    # Two reviewers answering "yes" to the same items agree: each item both voted on is confirmed.
    assert states["confirmed"] > 0 and states["rejected"] == states["disputed"] == 0
    for kind in ("batch", "votes", "search"):
        assert report[kind]["requests"] > 0 and report[kind]["failed"] == 0, report[kind]
        assert 0 < report[kind]["p50_s"] <= report[kind]["p95_s"] <= report[kind]["max_s"]
