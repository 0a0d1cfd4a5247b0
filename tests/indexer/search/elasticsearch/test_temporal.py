"""Sequences and dwell in the Elasticsearch engine, offline: the frames of each operand are
requested with the query the engine compiles for it (and, for a dwell of an object, nested
``inner_hits`` in the format of the Elasticsearch reference, "Retrieve inner hits"), and the
answers combine into the frames and clip leads of the hand-worked examples of the query-language
guide (the same corpus as tests/indexer/search/test_temporal.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from indexer.search.contract import Clip
from indexer.search.elasticsearch.query import compile_node
from indexer.search.elasticsearch.reader import ClipWalker, by_leads
from indexer.search.elasticsearch.temporal import INNER, MAX_INNER_HITS, resolve

PERSON = {"object": {"label": "person", "attrs": {}, "confidence": None, "track": None}}
TRUCK = {"object": {"label": "truck", "attrs": {}, "confidence": None, "track": None}}


def frame(index: int, tracks: list[str | None] | None = None) -> dict[str, Any]:
    """A streamed frame of video 1 at 1 fps, with the inner hits of the detections given."""
    hit: dict[str, Any] = {"sort": [1, float(index), index]}
    if tracks is not None:
        inner = [{"fields": {"objects.track": [track]}} if track is not None else {} for track in tracks]
        hit["inner_hits"] = {INNER: {"hits": {"total": {"value": len(inner), "relation": "eq"}, "hits": inner}}}
    return hit


class Stream:
    """Answers each query with the frames scripted for its body; remembers what was asked."""

    def __init__(self, answers: list[tuple[dict[str, Any], list[dict[str, Any]]]]):
        self.answers = {json.dumps(body, sort_keys=True): hits for body, hits in answers}
        self.asked: list[dict[str, Any]] = []

    def __call__(self, query) -> list[dict[str, Any]]:
        body = query.to_dict()
        self.asked.append(body)
        return self.answers[json.dumps(body, sort_keys=True)]


def with_tracks(node: dict[str, Any]) -> dict[str, Any]:
    nested = compile_node(node).to_dict()["nested"]
    return {"nested": {**nested, "inner_hits": {"name": INNER, "_source": False,
                                                "docvalue_fields": ["objects.track"], "size": MAX_INNER_HITS}}}


def test_a_sequence_asks_for_both_operands_and_keeps_the_frames_after_a_within_the_window():
    person = compile_node(PERSON).to_dict()
    truck = compile_node(TRUCK).to_dict()
    stream = Stream([(person, [frame(0), frame(10)]), (truck, [frame(3), frame(4), frame(10), frame(20)])])
    resolved, leads = resolve({"sequence": {"first": PERSON, "then": TRUCK, "within_s": 5.0}}, stream)
    assert stream.asked == [person, truck]
    assert resolved == {"frames": {1: [3, 4]}}
    assert leads == {(1, 3): (0.0, 0), (1, 4): (0.0, 0)}
    assert compile_node(resolved).to_dict() == {"bool": {"filter": [
        {"term": {"video_id": 1}}, {"terms": {"frame": [3, 4]}}]}}


def test_nested_sequences_reach_back_to_the_first_a_and_form_one_clip():
    person, truck = compile_node(PERSON).to_dict(), compile_node(TRUCK).to_dict()
    inner = {"sequence": {"first": PERSON, "then": TRUCK, "within_s": 5.0}}
    stream = Stream([
        (person, [frame(0), frame(10)]),
        (truck, [frame(3), frame(4), frame(10), frame(20)]),
        (compile_node({"frames": {1: [3, 4]}}).to_dict(), [frame(3), frame(4)]),
    ])
    resolved, leads = resolve({"sequence": {"first": inner, "then": TRUCK, "within_s": 16.0}}, stream)
    assert resolved == {"frames": {1: [4, 10, 20]}}
    assert leads == {(1, 4): (0.0, 0), (1, 10): (0.0, 0), (1, 20): (0.0, 0)}
    walker = ClipWalker({1: 1.0}, 1.0, (0, 10))
    for hit, lead in by_leads([frame(4), frame(10), frame(20)], leads):
        walker.add(*hit["sort"][:3], lead)
    walker.finish()
    assert walker.page == [Clip(video_id=1, start_s=0.0, end_s=21.0, start_frame=0, end_frame=20, frames=3)]
    assert walker.duration == 21.0


def test_a_dwell_of_an_object_follows_tracks_through_inner_hits():
    track_7 = [frame(i, ["7"]) for i in (*range(30, 36), *range(37, 41))]
    untracked = [frame(i, [None]) for i in range(50, 61)]
    stream = Stream([(with_tracks(TRUCK), track_7 + untracked)])
    resolved, leads = resolve({"dwell": {"query": TRUCK, "min_s": 5.0, "gap_s": 3.0}}, stream)
    assert resolved == {"frames": {1: [35, 37, 38, 39, 40]}}
    assert leads == {}
    resolved, _ = resolve({"dwell": {"query": TRUCK, "min_s": 5.0, "gap_s": 2.0}}, Stream([(with_tracks(TRUCK),
                                                                                         track_7 + untracked)]))
    assert resolved == {"frames": {1: [35]}}


def test_a_frame_dwell_is_a_run_of_matching_frames():
    scene = {"frame": {"scene": {"in": ["gate"]}}}
    stream = Stream([(compile_node(scene).to_dict(), [frame(i) for i in (70, 71, 72, 74)])])
    resolved, _ = resolve({"not": {"dwell": {"query": scene, "min_s": 2.0, "gap_s": 3.0}}}, stream)
    assert resolved == {"not": {"frames": {1: [72, 74]}}}


def test_a_frame_with_more_detections_than_inner_hits_return_is_refused():
    crowded = frame(5, ["1"] * 3)
    crowded["inner_hits"][INNER]["hits"]["total"]["value"] = MAX_INNER_HITS + 1
    with pytest.raises(ValueError, match="frame 5 of video 1 has more than 100 detections"):
        resolve({"dwell": {"query": TRUCK, "min_s": 1.0, "gap_s": 1.0}}, Stream([(with_tracks(TRUCK), [crowded])]))
