"""Every statistic of the DuckDB engine equals the reference engine's (see the statistics
guide, docs/guide/statistics.md).

The corpora, ontologies and requests are those of the search conformance tests
(gaps, duplicate frames, tracks with conflicting constants, partial GPS, events,
values that look like SQL); on top of them each example draws a unit, a facet
pair and scope, a tile level and view bbox, a bin count, batch sizes and label
windows. Numbers must be equal, not close: ``seconds`` is exactly rounded and
tiles and bins use the same float expressions in both engines.

``SCOOP_HYPOTHESIS_EXAMPLES`` sets the number of examples (default 200).
"""

from __future__ import annotations

import tempfile
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer.facets import OBJECT_KINDS, facets_for
from indexer.ontology import Ontology
from indexer.records import Analytics, FrameRecord, ObjectRecord, VideoMeta, Waypoint
from indexer.search import duckdb as duckdb_backend
from indexer.search import reference
from indexer.search.contract import SCOPES, STAT_UNITS, SearchRequest
from tests.indexer.search.test_conformance import (
    CONFORMANCE,
    LATITUDES,
    LONGITUDES,
    corpora,
    load,
    ontologies,
    requests,
)


@st.composite
def bboxes(draw) -> list[float] | None:
    corner_lon = st.sampled_from((*LONGITUDES, -180.0, 180.0, 5.0))
    corner_lat = st.sampled_from((*LATITUDES, -90.0, 90.0, 2.5))
    return draw(st.none() | st.tuples(corner_lon, corner_lat, corner_lon, corner_lat).map(list))


@st.composite
def stat_asks(draw, ontology: Ontology) -> dict[str, Any]:
    keys = list(facets_for(ontology))
    start = draw(st.sampled_from((0.0, 0.0, 0.1, 0.5, 1 / 30, 1.0)))
    return {
        "request": draw(requests(ontology)),
        "unit": draw(st.sampled_from(STAT_UNITS)),
        "a": draw(st.sampled_from(keys)),
        "b": draw(st.sampled_from(keys)),
        "scope": draw(st.sampled_from(SCOPES)),
        "z": draw(st.sampled_from((0, 1, 3, 7, 12, 17, 22))),
        "bbox": draw(bboxes()),
        "target": draw(st.sampled_from(("frames", "objects"))),
        "max_bins": draw(st.integers(1, 60)),
        "batch_size": draw(st.integers(1, 7)),
        "window": (start, draw(st.none() | st.sampled_from((start + 0.05, start + 0.5, start + 2.0)))),
        "labels_request": draw(st.booleans()),
    }


@st.composite
def stats_cases(draw):
    ontology = draw(ontologies())
    return ontology, draw(corpora(ontology)), draw(st.lists(stat_asks(ontology), min_size=1, max_size=2))


def pair_facets(ontology: Ontology, scope: str) -> list[str]:
    """The facets top pairs are counted over in a scope (object scope: those describing detections)."""
    return [key for key, facet in facets_for(ontology).items() if scope != "object" or facet.kind in OBJECT_KINDS]


def same_or_same_error(expected_call, actual_call):
    try:
        expected = expected_call()
    except ValueError as error:
        with pytest.raises(ValueError) as raised:
            actual_call()
        assert str(raised.value) == str(error)
        return
    assert actual_call() == expected


def assert_stats_agree(truth, engine, ask: dict[str, Any], video_ids: list[int]) -> None:
    request = ask["request"]
    assert engine.occurrence(request=request, unit=ask["unit"]) == truth.occurrence(request=request, unit=ask["unit"])
    same_or_same_error(
        lambda: truth.cooccurrence(request=request, a=ask["a"], b=ask["b"], scope=ask["scope"]),
        lambda: engine.cooccurrence(request=request, a=ask["a"], b=ask["b"], scope=ask["scope"]),
    )
    facets = pair_facets(request.ontology, ask["scope"])
    assert engine.cooccurrence_pairs(request=request, scope=ask["scope"], facets=facets) == \
        truth.cooccurrence_pairs(request=request, scope=ask["scope"], facets=facets)
    geo = {"z": ask["z"], "bbox": ask["bbox"], "target": ask["target"]}
    assert engine.geo_cells(request=request, **geo) == truth.geo_cells(request=request, **geo)
    located = {"bbox": ask["bbox"], "batch_size": ask["batch_size"]}
    assert list(engine.located_frames(request=request, **located)) == \
        list(truth.located_frames(request=request, **located))
    assert engine.timeline(request=request, max_bins=ask["max_bins"]) == \
        truth.timeline(request=request, max_bins=ask["max_bins"])
    assert list(engine.detections(request=request, batch_size=ask["batch_size"])) == \
        list(truth.detections(request=request, batch_size=ask["batch_size"]))
    assert engine.matched_tracks(request=request) == truth.matched_tracks(request=request)
    start_s, end_s = ask["window"]
    labels_request = request if ask["labels_request"] else None
    for video_id in video_ids:
        window = {"video_id": video_id, "start_s": start_s, "end_s": end_s, "request": labels_request}
        assert engine.frame_labels(**window) == truth.frame_labels(**window)


@CONFORMANCE
@given(stats_cases())
def test_duckdb_statistics_equal_the_reference(case):
    ontology, corpus, asks = case
    truth = reference.SearchBackend()
    load(truth, corpus)
    video_ids = list(range(1, len(corpus["videos"]) + 2))  # and one that is not indexed
    with tempfile.TemporaryDirectory() as data_dir:
        engine = duckdb_backend.SearchBackend(data_dir)
        try:
            load(engine, corpus)
            for ask in asks:
                assert_stats_agree(truth, engine, ask, video_ids)
        finally:
            engine.close()


def test_an_empty_index_answers_empty_statistics(tmp_path):
    ontology = Ontology()
    request = SearchRequest(ontology=ontology, query={"and": []})
    truth = reference.SearchBackend()
    engine = duckdb_backend.SearchBackend(tmp_path)
    ask = {"request": request, "unit": "seconds", "a": "label", "b": "label", "scope": "clip", "z": 3,
           "bbox": None, "target": "objects", "max_bins": 5, "batch_size": 2, "window": (0.0, None),
           "labels_request": True}
    assert_stats_agree(truth, engine, ask, [1])
    engine.close()


# Tiles at every level, at the edges of the projection and on tile borders.
EDGE_LATITUDES = (-90.0, -85.0511287798066, -85.05, -45.0, -1e-9, 0.0, 1e-9, 37.7749, 66.5, 85.0511287798066, 89.9,
                  90.0)
EDGE_LONGITUDES = (-180.0, -179.999999, -90.0, -0.000001, 0.0, 45.0, 90.0, 122.4194, 179.999999, 180.0)


@CONFORMANCE
@given(st.lists(st.tuples(st.sampled_from(EDGE_LATITUDES) | st.floats(-90, 90),
                          st.sampled_from(EDGE_LONGITUDES) | st.floats(-180, 180)), min_size=1, max_size=10),
       st.integers(0, 22))
def test_tiles_agree_at_the_edges_of_the_projection(points, z):
    gps = [Waypoint(float(i), lat, lon) for i, (lat, lon) in enumerate(points)]
    records = [FrameRecord(i * 30, float(i)) for i in range(len(points))]
    records += [ObjectRecord(i * 30, float(i), "car") for i in range(len(points))]
    analytics = Analytics.from_list(format="test", meta=VideoMeta(fps=30.0, gps=gps), records=records)
    truth = reference.SearchBackend()
    truth.index_video(video_id=1, name="v", analytics=analytics)
    request = SearchRequest(ontology=Ontology(), query={"and": []})
    with tempfile.TemporaryDirectory() as data_dir:
        engine = duckdb_backend.SearchBackend(data_dir)
        try:
            engine.index_video(video_id=1, name="v", analytics=analytics)
            for target in ("frames", "objects"):
                expected = truth.geo_cells(request=request, z=z, bbox=None, target=target)
                assert engine.geo_cells(request=request, z=z, bbox=None, target=target) == expected
                assert sum(expected.values()) == len(points)
        finally:
            engine.close()
