"""``written_clips``, what watches evaluate (analytics.watches): the DuckDB engine's one pass over
the written rows alone must give, for every request, the clips that a search of the whole index
narrowed to the written spans gives (the contract's default, one search per request), and the
reference engine's, after any sequence of ingests, re-ingests, live appends, deletes and merges."""

from __future__ import annotations

import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.ontology import LabelSpec, Ontology
from indexer.records import Analytics, EventRecord, FrameRecord, ObjectRecord, VideoMeta
from indexer.search import duckdb as duckdb_backend
from indexer.search import reference
from indexer.search.contract import BaseSearchBackend, Clip, SearchRequest, Written
from tests.indexer.search.test_conformance import CONFORMANCE, apply_step, interleaved_cases

# Span edges: frame times of the generated videos lie in [0, 2) (fps 10 to 30, up to 40 frames).
EDGES = (0.0, 0.1, 0.2, 1 / 3, 0.5, 1.0, 1.5)


@st.composite
def spans(draw) -> list[Written]:
    """Written spans of some of the videos 1-3 (named as apply_step names them): whole videos or
    times between two edges."""
    chosen = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True))
    written = []
    for video_id in chosen:
        if draw(st.booleans()):
            written.append(Written(video_id=video_id, name=f"v{video_id}"))
            continue
        start, end = sorted(draw(st.lists(st.sampled_from(EDGES), min_size=2, max_size=2)))
        written.append(Written(video_id=video_id, name=f"v{video_id}", start_t=start, end_t=end))
    return written


def per_search(backend, requests: list[SearchRequest], written: list[Written]) -> list[list[Clip]]:
    """The contract's default: one search per request, narrowed to the spans."""
    return BaseSearchBackend.written_clips(backend, requests=requests, written=written)


@settings(CONFORMANCE, max_examples=max(CONFORMANCE.max_examples // 2, 1))
@given(case=interleaved_cases(), drawn=st.data())
def test_one_pass_over_the_written_rows_finds_the_clips_a_search_per_request_finds(case, drawn):
    steps, requests = case
    truth = reference.SearchBackend()
    with tempfile.TemporaryDirectory() as data_dir:
        engine = duckdb_backend.SearchBackend(data_dir, merge_factor=2)
        try:
            for step in steps:
                apply_step(engine, *step)
                apply_step(truth, *step)
                written = drawn.draw(spans())
                one_pass = engine.written_clips(requests=requests, written=written)
                assert one_pass == per_search(engine, requests, written), (step[:2], written)
                assert one_pass == truth.written_clips(requests=requests, written=written), (step[:2], written)
        finally:
            engine.close()


def _frame(index: int, fps: float, *labels: str) -> list:
    records = [FrameRecord(index=index, t=index / fps, attrs={})]
    return records + [ObjectRecord(index=index, t=index / fps, label=label, track=str(n), confidence=0.9,
                                   box=(0.1, 0.1, 0.2, 0.2), attrs={}) for n, label in enumerate(labels)]


def test_a_span_sees_only_its_frames_and_a_clip_is_cut_at_its_edges(tmp_path):
    """Frames 0-9 of a 10 fps video hold a car; a span of 0.3-0.6 s finds one clip of frames 3-6,
    ending a frame after 0.6 s, and a span of another video's name finds nothing of this one."""
    ontology = Ontology(objects={"car": LabelSpec("car")}, events={"crossing": LabelSpec("crossing")})
    records = [record for index in range(10) for record in _frame(index, 10.0, "car")]
    records.append(EventRecord(label="crossing", start_index=2, end_index=4, attrs={}, confidence=None))
    engine = duckdb_backend.SearchBackend(tmp_path)
    try:
        engine.index_video(video_id=1, name="cam", analytics=Analytics.from_list(
            format="test", meta=VideoMeta(fps=10.0), records=records))
        request = SearchRequest(ontology=ontology, query={"object": {"label": "car"}}, gap_s=0.1)
        events = SearchRequest(ontology=ontology, query={"event": {"label": "crossing"}}, gap_s=0.1)
        found = engine.written_clips(requests=[request, events],
                                     written=[Written(video_id=1, name="cam", start_t=0.3, end_t=0.6)])
        nothing = engine.written_clips(requests=[request], written=[Written(video_id=2, name="other")])
    finally:
        engine.close()

    assert [(clip.start_frame, clip.end_frame, clip.frames) for clip in found[0]] == [(3, 6, 4)]
    assert found[0][0].start_s == 0.3 and abs(found[0][0].end_s - 0.7) < 1e-9
    assert [(clip.start_frame, clip.end_frame) for clip in found[1]] == [(3, 4)]
    assert nothing == [[]]


def test_a_dwell_or_a_sequence_sees_the_frames_around_a_span(tmp_path):
    """A dwell or a sequence at a frame reads other frames, which may lie outside the span: the
    car stays from frame 0 to 9, so at frames 6 and 7 (a span of 0.6-0.7 s) it has been there for
    0.5 s and more, and the person of frame 0 came before them within 1 s, as a search of the
    whole video says (the frames of the span alone hold neither the dwell nor the person). The
    sequence's clip reaches back to its lead, the person's frame."""
    ontology = Ontology(objects={"car": LabelSpec("car"), "person": LabelSpec("person")})
    records = [record for index in range(10) for record in _frame(index, 10.0, "car", *(["person"] * (index == 0)))]
    car = {"object": {"label": "car"}}
    requests = [
        SearchRequest(ontology=ontology, query={"dwell": {"query": car, "min_s": 0.5, "gap_s": 0.2}}, gap_s=0.1),
        SearchRequest(ontology=ontology, query={"sequence": {"first": {"object": {"label": "person"}}, "then": car,
                                                             "within_s": 1.0}}, gap_s=0.1),
        SearchRequest(ontology=ontology, query=car, gap_s=0.1),
    ]
    span = [Written(video_id=1, name="cam", start_t=0.6, end_t=0.7)]
    engine = duckdb_backend.SearchBackend(tmp_path)
    try:
        engine.index_video(video_id=1, name="cam", analytics=Analytics.from_list(
            format="test", meta=VideoMeta(fps=10.0), records=records))
        found = engine.written_clips(requests=requests, written=span)
        expected = per_search(engine, requests, span)
    finally:
        engine.close()

    assert found == expected
    assert [[(clip.start_frame, clip.end_frame) for clip in clips] for clips in found] == [[(6, 7)], [(0, 7)], [(6, 7)]]
