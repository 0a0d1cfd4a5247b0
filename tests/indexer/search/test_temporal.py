"""Sequences and dwell on a hand-worked corpus (the query-language guide, "Sequences and dwell"):
each engine must find exactly the frames and clips worked out below, not only agree with the
reference engine."""

from __future__ import annotations

import pytest

from indexer.ontology import CATEGORICAL, AttrSpec, LabelSpec, Ontology
from indexer.query import compile_query
from indexer.records import Analytics, FrameRecord, ObjectRecord, VideoMeta
from indexer.search import reference
from indexer.search.contract import Clip, SearchRequest
from tests.indexer.search.test_conformance import duckdb_engine

ONTOLOGY = Ontology(
    video_attrs={},
    frame_attrs={"scene": AttrSpec("scene", CATEGORICAL, ["gate", "road"])},
    objects={"person": LabelSpec("person", {}), "truck": LabelSpec("truck", {})},
    events={},
)


def corpus() -> Analytics:
    """One video at 1 fps (t = index):

    - person at 0; truck at 3 and 4; person and truck together at 10; truck at 20;
    - track 7 (truck) at 30..35, missing at 36, again at 37..40;
    - untracked trucks at 50..60; scene=gate at 70, 71, 72, 74 (73 is road).
    """
    records = [ObjectRecord(index=0, t=0.0, label="person")]
    records += [ObjectRecord(index=i, t=float(i), label="truck") for i in (3, 4, 20)]
    records += [ObjectRecord(index=10, t=10.0, label="person"), ObjectRecord(index=10, t=10.0, label="truck")]
    records += [ObjectRecord(index=i, t=float(i), label="truck", track="7") for i in (*range(30, 36), *range(37, 41))]
    records += [ObjectRecord(index=i, t=float(i), label="truck") for i in range(50, 61)]
    records += [FrameRecord(i, float(i), {"scene": "gate" if i != 73 else "road"}) for i in range(70, 75)]
    return Analytics.from_list(format="test", meta=VideoMeta(fps=1.0), records=records)


@pytest.fixture(params=["reference", "duckdb"])
def engine(request):
    if request.param == "reference":
        backend = reference.SearchBackend()
        backend.index_video(video_id=1, name="gate", analytics=corpus())
        yield backend
        return
    with duckdb_engine() as backend:
        backend.index_video(video_id=1, name="gate", analytics=corpus())
        yield backend


def search(engine, q: str, gap_s: float = 1.0):
    request = SearchRequest(ontology=ONTOLOGY, query=compile_query(q=q, ontology=ONTOLOGY), filters={},
                            gap_s=gap_s, page=1, page_size=50, facets=[])
    return engine.search(request=request)


def test_a_sequence_holds_where_b_follows_a_strictly_later_within_the_window(engine):
    result = search(engine, "person THEN truck WITHIN 5s")
    # Trucks at 3 and 4 follow the person at 0; the truck at 10 has a person on its own frame only
    # (not earlier) and the person at 0 is 10 s before; the truck at 20 is too late.
    assert result.counts["frames"] == 2
    # The clip reaches back to the person at 0: from 0 to 4 + one frame.
    assert result.clips == [Clip(video_id=1, start_s=0.0, end_s=5.0, start_frame=0, end_frame=4, frames=2)]
    assert result.counts["duration_s"] == 5.0


def test_the_window_bound_is_inclusive(engine):
    assert search(engine, "person THEN truck WITHIN 3s").counts["frames"] == 1  # 3 - 0 = 3
    assert search(engine, "person THEN truck WITHIN 2.5s").counts["frames"] == 0
    # 3, 4 and 10 (after the person at 0), 20 (after the person at 10).
    assert search(engine, "person THEN truck WITHIN 10s").counts["frames"] == 4


def test_nested_sequences_reach_back_to_the_first_a(engine):
    # (person THEN truck WITHIN 5s) holds at 3 and 4; trucks up to 16 s after those: 4 (after 3),
    # 10 and 20 (16 s after 4). Each one's clip reaches back to the person at 0, so the three
    # make one clip, 0..20, although 10 and 20 are far apart.
    result = search(engine, "(person THEN truck WITHIN 5s) THEN truck WITHIN 16s")
    assert result.counts["frames"] == 3
    assert [(c.start_frame, c.end_frame, c.frames) for c in result.clips] == [(0, 20, 3)]
    assert result.counts["duration_s"] == 21.0


def test_a_track_dwell_holds_from_where_its_run_reaches_the_minimum(engine):
    # Track 7: run 30..40 across the 2 s gap at 36 (shorter than 3 s): holds from 35 on.
    assert search(engine, "truck FOR >= 5s GAP 3s").counts["frames"] == 5  # 35, 37, 38, 39, 40
    # A gap of 2 s is not shorter than 2 s: the run restarts at 37 and never reaches 5 s.
    assert search(engine, "truck FOR >= 5s GAP 2s").counts["frames"] == 1  # 35
    # Untracked trucks (50..60) never count, however long they last.
    assert search(engine, "truck FOR >= 5s GAP 3s AND time>=50").counts["frames"] == 0


def test_a_frame_dwell_is_a_run_of_matching_frames(engine):
    # scene=gate at 70, 71, 72, 74: 72 is 2 s into the run; 73 (road) breaks it at GAP 2s.
    assert search(engine, "scene=gate FOR >= 2s GAP 2s").counts["frames"] == 1
    assert search(engine, "scene=gate FOR >= 2s GAP 3s").counts["frames"] == 2  # 72 and 74
