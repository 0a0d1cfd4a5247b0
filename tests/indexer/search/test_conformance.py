"""Every search engine answers like the reference engine.

Hypothesis generates a small ontology, a corpus of videos as record streams
(gaps, duplicate frame indices, implied frames, tracks with conflicting
constants, partial GPS, events) and several requests (query trees of depth <= 3
over every node kind, sidebar filters with exclusions, gap sizes equal to
frame gaps, every unit, pages). The corpus is indexed once per example in both
engines (the IndexCounts of every write must agree) and every request must get the
same counts, facets and clip page. A second property runs every kind of write one at a
time (ingest or rebuild, live appends, re-ingest, delete) and compares every answer after
each, then the similar tracks; the Elasticsearch engine takes part whenever
``ELASTICSEARCH_URL`` is set (``make test-elasticsearch``).

``SCOOP_HYPOTHESIS_EXAMPLES`` sets the number of examples (default 200).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.facets import UNITS, facets_for, parse_filters
from indexer.ontology import BOOLEAN, CATEGORICAL, NUMERIC, AttrSpec, LabelSpec, Ontology, with_review
from indexer.records import (
    Analytics,
    EventRecord,
    FrameRecord,
    ObjectRecord,
    TrackRecord,
    VideoMeta,
    Waypoint,
    frame_location,
)
from indexer.search import duckdb as duckdb_backend
from indexer.search import reference
from indexer.search.contract import SearchRequest, SearchResult
from indexer.search.semantics import frame_locations
from tests.indexer.search.elasticsearch import live as live_elasticsearch

EXAMPLES = int(os.environ.get("SCOOP_HYPOTHESIS_EXAMPLES", "200"))
CONFORMANCE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values that look like other types or like SQL must stay plain values.
CATEGORIES = ("black", "red", "true", "nan", "o'neil", "x'; DROP TABLE frames; --")
LONGITUDES = (-179.5, -20.0, 0.0, 10.0, 20.5, 179.5)
LATITUDES = (-10.0, 0.0, 5.0, 10.0, 20.0)
FPS_CHOICES = (None, 10.0, 25.0, 30.0)
TRACKS = ("1", "2", "3")
# Embeddings of one video share a dimension; videos differ (one dense_vector field per dimension).
EMBEDDINGS = {2: ((1.0, 0.0), (0.6, 0.8), (0.0, 1.0)), 3: ((1.0, 0.0, 0.0), (0.0, 0.6, 0.8))}


# Ontologies ------------------------------------------------------------------------------------


@st.composite
def categorical(draw, name: str) -> AttrSpec:
    return AttrSpec(name, CATEGORICAL, draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True)))


@st.composite
def ontologies(draw) -> Ontology:
    objects = {}
    for label in draw(st.lists(st.sampled_from(("car", "person", "sign")), min_size=1, max_size=3, unique=True)):
        # Labels share attribute names on purpose: object facets must keep them apart.
        attrs = [draw(categorical(name)) for name in ("color", "kind")[: draw(st.integers(1, 2))]]
        attrs.append(AttrSpec("parked", BOOLEAN, draw(st.sampled_from([None, [True], [True, False]]))))
        attrs.append(AttrSpec("speed", NUMERIC))
        objects[label] = LabelSpec(label, {attr.name: attr for attr in attrs}, constant={"color"})
    frame_attrs = {"scene": draw(categorical("scene"))}
    if draw(st.booleans()):
        frame_attrs["night"] = AttrSpec("night", BOOLEAN)
    video_attrs = {"weather": draw(categorical("weather"))}
    if draw(st.booleans()):
        video_attrs["camera"] = draw(categorical("camera"))  # shadowed by the built-in
    events = {}
    for label in draw(st.lists(st.sampled_from(("brake", "fight")), max_size=2, unique=True)):
        events[label] = LabelSpec(label, {"severity": draw(categorical("severity"))})
    ontology = Ontology(video_attrs=video_attrs, frame_attrs=frame_attrs, objects=objects, events=events)
    # The built-in review attribute on every label: the one facet counted over all labels (``review``).
    return with_review(ontology) if draw(st.booleans()) else ontology


def attr_values(spec: AttrSpec) -> st.SearchStrategy:
    """Mostly conforming values, sometimes an unknown or mistyped one."""
    if spec.kind == CATEGORICAL:
        typical = st.sampled_from(spec.values)
    elif spec.kind == BOOLEAN:
        typical = st.booleans()
    else:
        typical = st.sampled_from((0.0, 1.5, 3.0, 10.0))
    return st.one_of(typical, typical, typical, st.sampled_from(("zzz", True, 1.0, "true")))


# Corpora ---------------------------------------------------------------------------------------


@st.composite
def attrs_for(draw, specs: dict[str, AttrSpec]) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(sorted(specs)), unique=True)) if specs else []
    return {name: draw(attr_values(specs[name])) for name in names}


def object_attr_specs(ontology: Ontology) -> dict[str, AttrSpec]:
    return {name: spec for label in ontology.objects.values() for name, spec in label.attrs.items()}


@st.composite
def frame_records(draw, ontology: Ontology, index: int, fps: float, dim: int = 2) -> list:
    # A duplicate index may come with another t (the first record's t counts), and t need not
    # grow with the index (clips are ordered by t).
    t = index / fps + draw(st.sampled_from((0.0, 0.0, 0.0, 0.0, 0.013, -0.2)))
    records = []
    if draw(st.booleans()):
        records.append(FrameRecord(index, t, draw(attrs_for(ontology.frame_attrs))))
    for _ in range(draw(st.integers(0, 3))):
        label = draw(st.sampled_from([*ontology.objects, "ghost"]))
        # An unknown label carries the known attribute names: conditions must stay with their label.
        specs = ontology.objects[label].attrs if label in ontology.objects else object_attr_specs(ontology)
        records.append(ObjectRecord(
            index=index,
            t=t,
            label=label,
            track=draw(st.sampled_from((None, *TRACKS))),
            confidence=draw(st.sampled_from((None, 0.25, 0.5, 0.9))),
            box=draw(st.sampled_from((None, (0.1, 0.2, 0.3, 0.4), *ZONE_BOXES))),
            attrs=draw(attrs_for(specs)),
            embedding=draw(st.sampled_from((None, *EMBEDDINGS[dim]))),
        ))
    return records


@st.composite
def gps_tracks(draw, fps: float) -> list[Waypoint]:
    if draw(st.integers(0, 2)) == 0:
        return []
    # Waypoints at frame times and between them, usually not covering every frame.
    times = st.one_of(st.sampled_from((0.0, 0.5, 1.0, 1.5, 3.0)), st.integers(0, 45).map(lambda i: i / fps))
    return draw(st.lists(
        st.builds(Waypoint, t=times, lat=st.sampled_from(LATITUDES), lon=st.sampled_from(LONGITUDES)),
        min_size=1,
        max_size=4,
    ))


@st.composite
def videos(draw, ontology: Ontology) -> Analytics:
    fps = draw(st.sampled_from(FPS_CHOICES))
    rate = fps or 30.0
    dim = draw(st.sampled_from(sorted(EMBEDDINGS)))
    records = []
    for index in draw(st.lists(st.integers(0, 45), max_size=12)):
        records.extend(draw(frame_records(ontology, index, rate, dim)))
    for _ in range(draw(st.integers(0, 3))):
        records.append(TrackRecord(draw(st.sampled_from((*TRACKS, "9"))), None,
                                   draw(attrs_for(object_attr_specs(ontology)))))
    for _ in range(draw(st.integers(0, 3)) if ontology.events else 0):
        label = draw(st.sampled_from(sorted(ontology.events)))
        start = draw(st.integers(0, 45))
        end = start + draw(st.integers(-2, 15))  # overlapping, and sometimes empty
        records.append(EventRecord(label, start, end, draw(attrs_for(ontology.events[label].attrs))))
    video_attrs = draw(attrs_for(ontology.video_attrs))
    meta = VideoMeta(
        fps=fps,
        camera=draw(st.sampled_from((None, "cam1", "cam'2"))),
        recorded_at=draw(st.sampled_from((None, datetime(2024, 5, 1, 12), datetime(2024, 5, 2, tzinfo=UTC),
                                           *CLOCK_EDGES))),
        attrs=video_attrs,
        gps=draw(gps_tracks(rate)),
    )
    return Analytics.from_list(format="test", meta=meta, records=draw(st.permutations(records)))


NAMES = ("v1", "o'brien", "x'; DROP TABLE frames; --")


@st.composite
def corpora(draw, ontology: Ontology) -> dict[str, Any]:
    count = draw(st.integers(1, 3))
    return {
        "videos": [(video_id, draw(st.sampled_from(NAMES)), draw(videos(ontology)))
                   for video_id in range(1, count + 1)],
        "rebuild": draw(st.booleans()),
        "replacement": draw(st.none() | videos(ontology)),
        "delete": draw(st.none() | st.integers(1, count + 1)),
    }


# Requests --------------------------------------------------------------------------------------


def conditions(spec: AttrSpec) -> st.SearchStrategy:
    if spec.kind == NUMERIC:
        bound = st.none() | st.sampled_from((0.0, 1.5, 3.0, 10.0))
        return st.one_of(
            st.fixed_dictionaries({"gte": bound, "lte": bound}),
            st.fixed_dictionaries({"in": st.lists(st.sampled_from((1.5, 3.0, True)), min_size=1, max_size=2)}),
        )
    values = (True, False, "true") if spec.kind == BOOLEAN else (*spec.values, "zzz", True)
    return st.fixed_dictionaries({"in": st.lists(st.sampled_from(values), min_size=1, max_size=2)})


@st.composite
def cond_map(draw, specs: dict[str, AttrSpec], min_size: int = 0) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(sorted(specs)), min_size=min_size, max_size=2, unique=True))
    return {name: draw(conditions(specs[name])) for name in names}


def ranges(values: tuple[float, ...]) -> st.SearchStrategy:
    bound = st.none() | st.sampled_from(values)
    return st.fixed_dictionaries({"gte": bound, "lte": bound})


@st.composite
def object_nodes(draw, ontology: Ontology) -> dict[str, Any]:
    label = draw(st.none() | st.sampled_from(sorted(ontology.objects)))
    specs = ontology.objects[label].attrs if label else object_attr_specs(ontology)
    return {"object": {
        "label": label,
        "attrs": draw(cond_map(specs)),
        "confidence": draw(st.none() | ranges((0.25, 0.5, 0.9))),
        "track": draw(st.sampled_from((None, None, None, "1", "2", "9"))),
    }}


@st.composite
def video_nodes(draw, ontology: Ontology) -> dict[str, Any]:
    specs = dict(ontology.video_attrs)
    specs["name"] = AttrSpec("name", CATEGORICAL, list(NAMES))
    specs["camera"] = AttrSpec("camera", CATEGORICAL, ["cam1", "cam'2"])
    specs["recorded_at"] = AttrSpec("recorded_at", NUMERIC)
    body = draw(cond_map(specs, min_size=1))
    if "recorded_at" in body:
        epoch = datetime(2024, 5, 1, 12, tzinfo=UTC).timestamp()
        body["recorded_at"] = draw(ranges((epoch - 1.0, epoch, epoch + 86400.0)))
    return {"video": body}


@st.composite
def event_nodes(draw, ontology: Ontology) -> dict[str, Any]:
    label = draw(st.none() | st.sampled_from(sorted(ontology.events) or ["brake"]))
    specs = ontology.events[label].attrs if label in ontology.events else {}
    return {"event": {"label": label, "attrs": draw(cond_map(specs)) if specs else {}}}


def rectangle(west: float, south: float, east: float, north: float, closed: bool) -> list[list[float]]:
    ring = [[west, south], [east, south], [east, north], [west, north]]
    return ring + ring[:1] if closed else ring


def geo_nodes() -> st.SearchStrategy:
    lons, lats = st.sampled_from(LONGITUDES), st.sampled_from(LATITUDES)
    bbox = st.one_of(
        st.tuples(lons, lats, lons, lats),
        st.tuples(lons, st.just(min(LATITUDES)), lons, st.just(max(LATITUDES))),  # only longitudes decide
    ).map(lambda box: {"geo": {"bbox": list(box)}})
    vertex = st.tuples(st.sampled_from((*LONGITUDES, 5.25)), st.sampled_from((*LATITUDES, 7.5))).map(list)
    # Rectangles on the waypoints' coordinates put points on edges and vertices.
    polygon = st.one_of(
        st.lists(vertex, min_size=3, max_size=5),
        st.builds(rectangle, lons, lats, lons, lats, st.booleans()),
    ).map(lambda ring: {"geo": {"polygon": ring}})
    return st.one_of(bbox, polygon)


# Wall-clock time and counts (issue 21) ----------------------------------------------------------

# Recording starts just before an hour, a day (Sunday to Monday in UTC) and a daylight-saving
# change (Berlin, 2024-03-31 01:00 UTC), so frames of one video fall on both sides, and the
# clock is floored to the second (23:59:59.9 is still Sunday).
CLOCK_EDGES = (datetime(2024, 5, 5, 23, 59, 59, 900000, tzinfo=UTC), datetime(2024, 3, 31, 0, 59, 59, 500000))
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")
CLOCK_BOUNDS = tuple(moment.replace(tzinfo=UTC).timestamp() + offset
                     for moment in (datetime(2024, 5, 1, 12), *CLOCK_EDGES) for offset in (0.0, 0.1, 0.5, 1.0))


def clock_nodes() -> st.SearchStrategy:
    return ranges(CLOCK_BOUNDS).map(lambda body: {"clock": body})


def hour_nodes() -> st.SearchStrategy:
    hours = st.lists(st.sampled_from((0, 1, 2, 5, 12, 13, 17, 22, 23)), max_size=4, unique=True).map(sorted)
    return st.builds(lambda chosen, tz: {"hour": {"in": chosen, "tz": tz}}, hours, st.sampled_from(ZONES))


def weekday_nodes() -> st.SearchStrategy:
    days = st.lists(st.sampled_from(("mon", "tue", "wed", "thu", "fri", "sat", "sun")), max_size=3, unique=True)
    order = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return st.builds(lambda chosen, tz: {"weekday": {"in": sorted(chosen, key=order.index), "tz": tz}},
                     days, st.sampled_from(ZONES))


@st.composite
def count_nodes(draw, ontology: Ontology) -> dict[str, Any]:
    bound = st.none() | st.integers(0, 3)
    return {"count": {"object": draw(object_nodes(ontology))["object"], "gte": draw(bound), "lte": draw(bound)}}


# Boxes whose anchors (bottom centre (0.6, 0.9) and (0.2, 0.4), centres (0.6, 0.7) and (0.2, 0.3))
# sit on the zones' vertices and edges.
ZONE_BOXES = ((0.5, 0.5, 0.7, 0.9),)
ZONE_COORDS = (0.0, 0.2, 0.3, 0.4, 0.6, 0.7, 0.9, 1.0)


@st.composite
def zone_nodes(draw, ontology: Ontology) -> dict[str, Any]:
    corner = st.sampled_from(ZONE_COORDS)
    ring = st.one_of(st.builds(rectangle, corner, corner, corner, corner, st.booleans()),
                     st.lists(st.tuples(corner, corner).map(list), min_size=3, max_size=5))
    zone = st.fixed_dictionaries({"polygon": ring, "anchor": st.sampled_from(("bottom_center", "center"))})
    cameras = draw(st.dictionaries(st.sampled_from(("cam1", "cam'2", "cam3")), zone, min_size=1, max_size=2))
    return {"zone": {"object": draw(object_nodes(ontology))["object"], "name": "z", "cameras": cameras}}


def leaves(ontology: Ontology) -> st.SearchStrategy:
    return st.one_of(
        zone_nodes(ontology),
        clock_nodes(),
        hour_nodes(),
        weekday_nodes(),
        count_nodes(ontology),
        object_nodes(ontology),
        object_nodes(ontology),
        cond_map(ontology.frame_attrs).map(lambda body: {"frame": body}),
        video_nodes(ontology),
        event_nodes(ontology),
        geo_nodes(),
        ranges((0.0, 0.5, 1.0, 1 / 30, 1.2)).map(lambda body: {"time": body}),
    )


# Windows, minimum durations and gaps equal to frame gaps (1/30, 2/30, 1/25, 1/10 s) and between them.
WINDOWS = (1 / 30, 2 / 30, 0.1, 0.2, 0.5, 1.0, 3.0)
DWELL_MINIMA = (0.0, 1 / 30, 0.1, 0.2, 0.5, 1.0)
DWELL_GAPS = (1 / 30, 2 / 30, 1 / 25, 0.1, 0.2, 1.0, 3.0)


def trees(ontology: Ontology, depth: int = 3) -> st.SearchStrategy:
    if depth == 1:
        return leaves(ontology)
    child = trees(ontology, depth - 1)
    return st.one_of(
        leaves(ontology),
        st.lists(child, max_size=3).map(lambda nodes: {"and": nodes}),
        st.lists(child, max_size=3).map(lambda nodes: {"or": nodes}),
        child.map(lambda node: {"not": node}),
        sequences(child),
        dwells(ontology, child),
    )


def sequences(child: st.SearchStrategy) -> st.SearchStrategy:
    return st.builds(lambda first, then, within: {"sequence": {"first": first, "then": then, "within_s": within}},
                     child, child, st.sampled_from(WINDOWS))


def dwells(ontology: Ontology, child: st.SearchStrategy) -> st.SearchStrategy:
    # Half of them on an object node: the per-track rule.
    return st.builds(lambda query, minimum, gap: {"dwell": {"query": query, "min_s": minimum, "gap_s": gap}},
                     st.one_of(object_nodes(ontology), child), st.sampled_from(DWELL_MINIMA),
                     st.sampled_from(DWELL_GAPS))


@st.composite
def raw_filters(draw, ontology: Ontology) -> dict[str, list[Any]]:
    facets = facets_for(ontology)
    if draw(st.booleans()):
        return {}
    chosen = draw(st.lists(st.sampled_from(sorted(facets)), min_size=1, max_size=2, unique=True))
    filters = {}
    for key in chosen:
        values = draw(st.lists(st.sampled_from(facets[key].values), min_size=1, max_size=2, unique=True))
        shown = [str(value).lower() if isinstance(value, bool) else value for value in values]
        filters[key] = [("!" + value) if draw(st.booleans()) else value for value in shown]
    return filters


GAPS = (0.0, 0.1, 0.2, 0.5, 1.0, 3.0, 1 / 30, 2 / 30, 1 / 25, 3 / 25, 1 / 10)


@st.composite
def requests(draw, ontology: Ontology) -> SearchRequest:
    keys = sorted(facets_for(ontology))
    return SearchRequest(
        ontology=ontology,
        query=draw(trees(ontology)),
        filters=parse_filters(draw(raw_filters(ontology)), ontology),
        gap_s=draw(st.sampled_from(GAPS)),
        page=draw(st.integers(1, 3)),
        page_size=draw(st.integers(1, 4)),
        facet_unit=draw(st.sampled_from((None, *UNITS))),
        facets=draw(st.none() | st.lists(st.sampled_from(keys), unique=True)),
    )


@st.composite
def cases(draw) -> tuple[Ontology, dict[str, Any], list[SearchRequest]]:
    ontology = draw(ontologies())
    return ontology, draw(corpora(ontology)), draw(st.lists(requests(ontology), min_size=3, max_size=6))


# The properties --------------------------------------------------------------------------------


@st.composite
def chunks(draw, ontology: Ontology, corpus: dict[str, Any]) -> list[tuple[int, Analytics]]:
    """Live appends to the corpus's videos or a new one: records without track records, sent with
    the meta of the video they extend (as a stream's caller does), sometimes repeating frames."""
    metas = {video_id: analytics.meta for video_id, _, analytics in corpus["videos"]}
    appended = []
    for _ in range(draw(st.integers(1, 3))):
        video_id = draw(st.integers(1, len(corpus["videos"]) + 1))
        chunk = draw(videos(ontology))
        meta = metas.setdefault(video_id, chunk.meta)
        records = [record for record in chunk.records() if not isinstance(record, TrackRecord)]
        appended.append((video_id, Analytics.from_list(format="test", meta=meta, records=records)))
    return appended


@st.composite
def write_cases(draw) -> tuple[Ontology, dict[str, Any], list[SearchRequest]]:
    ontology, corpus, search_requests = draw(cases())
    corpus["appends"] = draw(chunks(ontology, corpus))
    return ontology, corpus, search_requests[:3]


def writes(corpus: dict[str, Any]) -> list:
    """:func:`load`'s writes, one call each: build (or rebuild), the live appends if any, a
    re-ingest, a delete."""
    if corpus["rebuild"]:
        steps = [lambda backend: backend.rebuild(videos=corpus["videos"])]
    else:
        steps = [lambda backend, video=video: backend.index_video(video_id=video[0], name=video[1], analytics=video[2])
                 for video in corpus["videos"]]
    for video_id, chunk in corpus.get("appends", []):
        steps.append(lambda backend, video_id=video_id, chunk=chunk: backend.append_frames(
            video_id=video_id, name=f"live-{video_id}", analytics=chunk))
    if corpus["replacement"] is not None:
        steps.append(lambda backend: backend.index_video(video_id=1, name="replaced", analytics=corpus["replacement"]))
    if corpus["delete"] is not None:
        steps.append(lambda backend: backend.delete_video(video_id=corpus["delete"]))
    return steps


def load(backend, corpus: dict[str, Any]) -> list:
    """The same sequence of writes for every backend (build, replace, delete); the IndexCounts returned
    (by each index_video; a rebuild and a delete return nothing)."""
    return [counts for counts in (write(backend) for write in writes(corpus)) if counts is not None]


def assert_same(expected: SearchResult, actual: SearchResult) -> None:
    assert math.isclose(expected.counts["duration_s"], actual.counts["duration_s"], rel_tol=1e-9, abs_tol=1e-9)
    assert {k: v for k, v in actual.counts.items() if k != "duration_s"} == {
        k: v for k, v in expected.counts.items() if k != "duration_s"
    }
    assert actual.facets == expected.facets
    assert actual.clips == expected.clips
    assert actual.total_clips == expected.total_clips


@contextmanager
def duckdb_engine() -> Iterator[duckdb_backend.SearchBackend]:
    with tempfile.TemporaryDirectory() as data_dir:
        engine = duckdb_backend.SearchBackend(data_dir)
        try:
            yield engine
        finally:
            engine.close()


@pytest.fixture(scope="module", params=["duckdb", "elasticsearch"])
def engines(request):
    """Opens a fresh engine of one kind (for every hypothesis example)."""
    if request.param == "elasticsearch":
        live_elasticsearch.require_cluster()
        return live_elasticsearch.engine
    return duckdb_engine


@CONFORMANCE
@given(cases())
def test_engines_answer_like_the_reference(engines, case):
    ontology, corpus, search_requests = case
    truth = reference.SearchBackend()
    expected_counts = load(truth, corpus)
    with engines() as engine:
        assert load(engine, corpus) == expected_counts
        assert engine.video_ids() == truth.video_ids()
        for request in search_requests:
            assert_same(truth.search(request=request), engine.search(request=request))


@settings(CONFORMANCE, max_examples=max(EXAMPLES // 2, 1))
@given(cases())
def test_kept_answers_after_each_write_answer_like_the_reference(case):
    """The DuckDB engine keeps answers (result cache) and, after a write that only adds
    videos, adds their share to a kept answer instead of computing it again: after every
    write, every request must still get the reference's answer."""
    _, corpus, search_requests = case
    truth = reference.SearchBackend()
    with duckdb_engine() as engine:
        for write in writes(corpus):
            write(truth)
            write(engine)
            for request in search_requests:
                assert_same(truth.search(request=request), engine.search(request=request))


@st.composite
def interleaved_cases(draw) -> tuple[list[tuple[str, int, Analytics | None]], list[SearchRequest]]:
    """Ingests, re-ingests, live appends, deletes and merges of up to three videos, in any order."""
    ontology = draw(ontologies())
    steps = []
    for _ in range(draw(st.integers(2, 8))):
        kind = draw(st.sampled_from(("index", "index", "append", "append", "delete", "merge")))
        analytics = draw(videos(ontology)) if kind in ("index", "append") else None
        if kind == "append":  # an append takes no track records
            analytics = Analytics.from_list(format="test", meta=analytics.meta, records=[
                record for record in analytics.records() if not isinstance(record, TrackRecord)])
        steps.append((kind, draw(st.integers(1, 3)), analytics))
    return steps, draw(st.lists(requests(ontology), min_size=2, max_size=4))


def apply_step(backend, kind: str, video_id: int, analytics: Analytics | None) -> Any:
    if kind == "index":
        return backend.index_video(video_id=video_id, name=f"v{video_id}", analytics=analytics)
    if kind == "append":
        return backend.append_frames(video_id=video_id, name=f"v{video_id}", analytics=analytics)
    if kind == "delete":
        return backend.delete_video(video_id=video_id)
    while backend.merge():  # the reference has nothing to merge
        pass
    return None


@settings(CONFORMANCE, max_examples=max(EXAMPLES // 2, 1))
@given(interleaved_cases())
def test_interleaved_writes_and_merges_answer_like_the_reference(case):
    """Segments of the DuckDB engine: every write adds one, deletes and re-ingests hide rows with
    tombstones, and merges (every two segments here) copy the live rows into one. After every
    step, every request gets the reference's answer (the result cache on, as served)."""
    steps, search_requests = case
    truth = reference.SearchBackend()
    with tempfile.TemporaryDirectory() as data_dir:
        engine = duckdb_backend.SearchBackend(data_dir, merge_factor=2)
        try:
            for step in steps:
                assert apply_step(engine, *step) == apply_step(truth, *step), step[:2]
                assert engine.video_ids() == truth.video_ids()
                for request in search_requests:
                    assert_same(truth.search(request=request), engine.search(request=request))
        finally:
            engine.close()


def similar_or_error(backend, request: SearchRequest | None) -> Any:
    try:
        return backend.similar_tracks(request=request, vector=[0.8, 0.6], k=4, exclude={(1, "1")})
    except ValueError as error:
        return str(error)


@settings(CONFORMANCE, max_examples=max(EXAMPLES // 4, 1))
@given(write_cases())
def test_every_write_then_similarity_answer_like_the_reference(engines, case):
    """After each write (ingest or rebuild, appends, re-ingest, delete) every engine answers the
    requests as the reference does, its write returns the same counts, and the similar tracks
    (over every track, and over a request's candidates) are the same."""
    _, corpus, search_requests = case
    truth = reference.SearchBackend()
    with engines() as engine:
        for write in writes(corpus):
            assert write(engine) == write(truth)
            assert engine.video_ids() == truth.video_ids()
            for request in search_requests:
                assert_same(truth.search(request=request), engine.search(request=request))
        for request in (None, search_requests[0]):
            assert similar_or_error(engine, request) == similar_or_error(truth, request)


GRID = (-1.0, 0.0, 0.5, 1.0, 2.0)


@st.composite
def geo_cases(draw) -> tuple[Analytics, list[dict[str, Any]]]:
    """One frame per point, each at a waypoint, so points sit exactly on polygon vertices and edges."""
    points = draw(st.lists(st.tuples(st.sampled_from(GRID), st.sampled_from(GRID)), min_size=1, max_size=12))
    gps = [Waypoint(float(i), lat, lon) for i, (lon, lat) in enumerate(points)]
    records = [FrameRecord(i * 30, float(i)) for i in range(len(points))]
    analytics = Analytics.from_list(format="test", meta=VideoMeta(fps=30.0, gps=gps), records=records)
    corner = st.sampled_from(GRID)
    rectangles = st.builds(rectangle, corner, corner, corner, corner, st.booleans())
    rings = st.lists(st.tuples(corner, corner).map(list), min_size=3, max_size=6)
    polygons = st.one_of(rectangles, rings).map(lambda ring: {"geo": {"polygon": ring}})
    boxes = st.tuples(corner, corner, corner, corner).map(lambda box: {"geo": {"bbox": list(box)}})
    return analytics, draw(st.lists(st.one_of(polygons, boxes), min_size=1, max_size=8))


@CONFORMANCE
@given(geo_cases())
def test_points_on_polygon_edges_and_vertices_agree(engines, case):
    analytics, nodes = case
    truth = reference.SearchBackend()
    truth.index_video(video_id=1, name="v", analytics=analytics)
    with engines() as engine:
        engine.index_video(video_id=1, name="v", analytics=analytics)
        for node in nodes:
            request = SearchRequest(ontology=Ontology(), query=node, gap_s=0.0, page_size=50, facets=[])
            assert_same(truth.search(request=request), engine.search(request=request))


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    st.lists(st.builds(Waypoint, t=st.floats(-5, 5), lat=st.floats(-90, 90), lon=st.floats(-180, 180)), max_size=6),
    st.lists(st.one_of(st.floats(-6, 6), st.sampled_from((0.0, 1.0, -5.0, 5.0))), max_size=20),
)
def test_vectorized_locations_are_bit_identical(gps, times):
    ordered = sorted(gps, key=lambda waypoint: waypoint.t)
    ordered += [Waypoint(t, 1.0, 2.0) for t in times[:2]]  # waypoints at frame times and duplicate t
    ordered.sort(key=lambda waypoint: waypoint.t)
    lat, lon = frame_locations(ordered, np.array(times, dtype=float))
    for i, t in enumerate(times):
        expected = frame_location(ordered, t)
        if expected is None:
            assert math.isnan(lat[i]) and math.isnan(lon[i])
        else:
            assert (lat[i], lon[i]) == expected
