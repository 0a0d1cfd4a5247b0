"""The Elasticsearch engine without a cluster: the template, the documents, the request bodies
for every query node, aggregation and statistic, and the calls the engine makes, checked against
the shapes the Elasticsearch reference documents (the page is cited above each test).

The engine runs against a scripted cluster: a subclass of ``elastic_transport.Transport`` that
answers each request with the next canned response (shaped like the reference's examples) and
records what was sent, so every call goes through the real ``Elasticsearch`` client and
``elasticsearch.dsl``. The scripted cluster also refuses, in every test, what a real one would:
a ``_reindex`` whose destination is its source, a search asking for more than
``index.max_result_window`` hits, a ``terms`` query listing more than ``index.max_terms_count``
values; and it fails a test that starts a long operation (``_reindex``, ``_update_by_query``,
``_delete_by_query``) other than as a task sent without retry on a client timeout. The numbers
expected from the canned responses are worked out by hand in the comments. Whether a real
cluster answers these requests the same way is checked by the shared conformance tests, which
run against the engine whenever ``ELASTICSEARCH_URL`` is set (``make test-elasticsearch``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig, Transport, TransportApiResponse
from elasticsearch import Elasticsearch
from elasticsearch.helpers import BulkIndexError

from indexer.facets import facets_for, parse_filters
from indexer.ontology import BOOLEAN, CATEGORICAL, NUMERIC, AttrSpec, LabelSpec, Ontology, with_review
from indexer.records import Analytics, EventRecord, FrameRecord, ObjectRecord, TrackRecord, VideoMeta, Waypoint
from indexer.search.contract import Clip, SearchRequest
from indexer.search.elasticsearch import backend as es_backend
from indexer.search.elasticsearch import lock as es_lock
from indexer.search.elasticsearch.query import (
    CLOCK_LOCAL,
    CLOCK_RANGE,
    PNPOLY,
    ZONE_PNPOLY,
    compile_node,
    facet_term,
)
from indexer.search.elasticsearch.query import term as es_term

REPO = Path(__file__).resolve().parents[4]
ALIAS = "scoop-frames"
INDEX = "scoop-frames-initial"

ONTOLOGY = Ontology(
    frame_attrs={"scene": AttrSpec("scene", CATEGORICAL, ["city", "highway"])},
    objects={
        "vehicle": LabelSpec("vehicle", {
            "color": AttrSpec("color", CATEGORICAL, ["black", "white"]),
            "parked": AttrSpec("parked", BOOLEAN),
            "speed": AttrSpec("speed", NUMERIC),
        }),
        "person": LabelSpec("person", {}),
    },
    events={"brake": LabelSpec("brake", {"severity": AttrSpec("severity", CATEGORICAL, ["hard", "soft"])})},
)


# The scripted cluster ----------------------------------------------------------------------------


@dataclass
class Sent:
    method: str
    path: str
    params: dict[str, str]
    body: Any
    options: dict[str, Any] = field(default_factory=dict)


# Limits of the Elasticsearch 8 reference, as a cluster with default index settings applies them:
# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/index-modules.html (index.max_result_window
# 10000, index.max_terms_count 65536); .../8.17/docs-reindex.html ("The destination must differ from the
# source"); .../8.17/docs-delete-by-query.html, .../8.17/docs-update-by-query.html, .../8.17/tasks.html
# (wait_for_completion=false returns a task to poll).
MAX_RESULT_WINDOW = 10_000
MAX_TERMS_COUNT = 65_536
LONG_OPERATIONS = ("/_reindex", "/_update_by_query", "/_delete_by_query")


def terms_lists(body: Any) -> Iterator[list]:
    """Every value list of a ``terms`` query in ``body`` (not the ``terms`` aggregations)."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "terms" and isinstance(value, dict) and "field" not in value:
                yield from (values for values in value.values() if isinstance(values, list))
            else:
                yield from terms_lists(value)
    elif isinstance(body, list):
        for item in body:
            yield from terms_lists(item)


def refuse_what_a_cluster_refuses(method: str, path: str, params: dict[str, str], body: Any,
                                  options: dict[str, Any]) -> None:
    if path == "/_reindex":
        assert body["source"]["index"] != body["dest"]["index"], "reindex cannot write into an index its reading from"
    if path.endswith(LONG_OPERATIONS):
        assert params.get("wait_for_completion") == "false", f"{path} waited for completion in the request"
        assert options.get("retry_on_timeout") is False, f"{path} may be resent on a client timeout"
    if path.endswith("/_search") and isinstance(body, dict):
        assert body.get("size", 10) <= MAX_RESULT_WINDOW, f"size {body['size']} is over index.max_result_window"
    for values in terms_lists(body):
        assert len(values) <= MAX_TERMS_COUNT, f"a terms query lists {len(values)} values"


@dataclass
class Cluster:
    """Answers requests in order from a script of (method, path, status, body)."""

    script: list[tuple[str, str, int, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)

    def expect(self, method: str, path: str, body: Any = None, status: int = 200) -> None:
        self.script.append((method, path, status, {} if body is None else body))

    def client(self) -> Elasticsearch:
        cluster = self

        class Scripted(Transport):
            def perform_request(self, method, target, *, body=None, headers=None, **options):
                return cluster.answer(method, target, body, options)

        return Elasticsearch("http://es.test:9200", transport_class=Scripted)

    def answer(self, method: str, target: str, body: Any, options: dict[str, Any]) -> TransportApiResponse:
        url = urlsplit(target)
        assert self.script, f"unexpected request {method} {target}"
        expected_method, expected_path, status, response = self.script.pop(0)
        assert (method, url.path) == (expected_method, expected_path)
        if isinstance(body, list):  # _bulk: one JSON document per line
            body = [json.loads(line) for line in body]
        params = dict(parse_qsl(url.query))
        refuse_what_a_cluster_refuses(method, url.path, params, body, options)
        self.sent.append(Sent(method, url.path, params, body, options))
        meta = ApiResponseMeta(status=status, http_version="1.1", duration=0.0,
                               headers=HttpHeaders({"x-elastic-product": "Elasticsearch"}),
                               node=NodeConfig("http", "es.test", 9200))
        return TransportApiResponse(meta, response)

    def done(self) -> None:
        assert not self.script, f"requests never sent: {self.script}"


@pytest.fixture
def cluster():
    scripted = Cluster()
    yield scripted
    scripted.done()


@pytest.fixture
def backend(cluster, monkeypatch):
    generations = iter(["g1", "g2", "g3", "g4"])
    monkeypatch.setattr(es_backend, "new_generation", lambda: next(generations))
    return es_backend.SearchBackend(client=cluster.client(), page_size=2)


# Canned responses, in the shapes of the reference's examples.
ACK = {"acknowledged": True}
SHARDS = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}


def bulk_ok(ids: list[str], index: str = INDEX) -> dict:
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.17/docs-bulk.html (response body)
    items = [{"index": {"_index": index, "_id": doc_id, "_version": 1, "result": "created", "_seq_no": seq,
                        "_primary_term": 1, "status": 201, "_shards": {"total": 2, "successful": 1, "failed": 0}}}
             for seq, doc_id in enumerate(ids)]
    return {"took": 30, "errors": False, "items": items}


def written(doc_id: str, seq_no: int, result: str = "created") -> dict:
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.17/docs-index_.html (response body)
    return {"_index": INDEX, "_id": doc_id, "_version": 1, "result": result,
            "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": seq_no, "_primary_term": 1}


def deleted_by_query(deleted: int) -> dict:
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.17/docs-delete-by-query.html (response body)
    return {"took": 147, "timed_out": False, "total": deleted, "deleted": deleted, "batches": 1,
            "version_conflicts": 0, "noops": 0, "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0,
            "requests_per_second": -1.0, "throttled_until_millis": 0, "failures": []}


def hits(found: list[dict], aggregations: dict | None = None, pit_id: str = "pit-1") -> dict:
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.17/paginate-search-results.html
    # (search_after with a point in time: pit_id and sort values, the last one the _shard_doc tiebreaker)
    response = {"pit_id": pit_id, "took": 2, "timed_out": False, "_shards": SHARDS,
                "hits": {"max_score": None, "hits": found}}
    if aggregations is not None:
        response["aggregations"] = aggregations
    return response


def pointer_hit(video_id: int, gen: str | None, fps: float, name: str, recorded_at: float | None = None,
                gens: list[str] | None = None) -> dict:
    source = {"video_id": video_id, "gen": gen, "chunks": [], "gens": gens or [gen], "fps": fps, "name": name,
              "recorded_at": recorded_at}
    return {"_index": INDEX, "_id": f"video-{video_id}", "_score": None, "_source": source,
            "sort": [video_id, 100 + video_id]}


def frame_hit(video_id: int, t: float, index: int, fields: dict | None = None, source: dict | None = None,
              by_index: bool = False) -> dict:
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.17/search-fields.html#docvalue-fields
    # (doc values come back under "fields", every value in an array)
    hit = {"_index": INDEX, "_id": f"{video_id}-g{video_id}-{index}", "_score": None,
           "sort": [video_id, index, 7] if by_index else [video_id, t, index, 7]}
    if fields:
        hit["fields"] = fields
    if source is not None:
        hit["_source"] = source
    return hit


def terms_buckets(counts: dict[str, int], **metrics: dict[str, float]) -> dict:
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.17/search-aggregations-bucket-terms-aggregation.html
    buckets = []
    for key, count in counts.items():
        bucket = {"key": key, "doc_count": count}
        for name, values in metrics.items():
            bucket[name] = {"value": values[key]}
        buckets.append(bucket)
    return {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": buckets}


def expect_read(cluster: Cluster, pointers: list[dict]) -> None:
    """Open a point in time, read the pointer documents through it."""
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.17/point-in-time-api.html
    cluster.expect("POST", f"/{ALIAS}/_pit", {"id": "pit-0"})
    cluster.expect("POST", "/_search", hits(pointers))
    if len(pointers) == 2:  # a full page (page_size 2): the next one, empty, ends the listing
        cluster.expect("POST", "/_search", hits([]))


def expect_close(cluster: Cluster) -> None:
    cluster.expect("DELETE", "/_pit", {"succeeded": True, "num_freed": 1})


POINTER_QUERY = {"term": {"doc_type": "video"}}


def searches(cluster: Cluster) -> list[dict]:
    """The bodies of the searches for frames (not those listing the pointer documents)."""
    return [sent.body for sent in cluster.sent if sent.path == "/_search" and sent.body["query"] != POINTER_QUERY]


def video(*records, fps: float = 10.0, **meta: Any) -> Analytics:
    return Analytics.from_list(format="test", meta=VideoMeta(fps=fps, **meta), records=records)


def vehicle(index: int, track: str | None = None, **attrs: Any) -> ObjectRecord:
    return ObjectRecord(index, index / 10.0, "vehicle", track=track, confidence=0.9, attrs=attrs)


def person(index: int) -> ObjectRecord:
    return ObjectRecord(index, index / 10.0, "person", confidence=0.5, box=(0.1, 0.2, 0.3, 0.4))


def request(query: dict | None = None, filters: dict | None = None, **options: Any) -> SearchRequest:
    return SearchRequest(ontology=ONTOLOGY, query=query or {"and": []},
                         filters=parse_filters(filters, ONTOLOGY), **options)


def obj(label: str | None = None, **conds: Any) -> dict:
    return {"object": {"label": label, "attrs": conds, "confidence": None, "track": None}}


def term(*parts: Any) -> str:
    return json.dumps(list(parts), separators=(",", ":"))


LIVE = {"term": {"doc_type": "frame"}}  # every generation a pointer lists is live
VEHICLE = {"nested": {"path": "objects", "query": {"term": {"objects.label": "vehicle"}}, "score_mode": "none"}}
BLACK_VEHICLE = {"nested": {"path": "objects", "score_mode": "none", "query": {"bool": {"filter": [
    {"term": {"objects.label": "vehicle"}}, {"terms": {"objects.attrs": [term("color", "black")]}}]}}}}


# The template and the documents --------------------------------------------------------------------


# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/indices-put-template.html (index_patterns,
# template.settings/mappings, priority); .../8.17/nested.html; .../8.17/mapping-routing-field.html
# (_routing.required); .../8.17/dynamic.html (dynamic: strict); .../8.17/geo-point.html (ignore_malformed)
def test_the_template_maps_frames_with_nested_objects_and_exact_coordinates(backend):
    template = backend.index_template()
    assert template["index_patterns"] == ["scoop-frames-*"]
    assert template["priority"] == 200
    # index.max_terms_count keeps its default: no request lists a term per live video any more.
    assert template["template"]["settings"] == {"number_of_shards": 1, "number_of_replicas": 1,
                                                "mapping.nested_objects.limit": 100_000}
    mappings = template["template"]["mappings"]
    assert mappings["dynamic"] == "strict"
    assert mappings["_routing"] == {"required": True}
    fields = mappings["properties"]
    number = {"type": "nested", "properties": {"name": {"type": "keyword"}, "n": {"type": "double"}}}
    assert fields["objects"] == {"type": "nested", "properties": {
        "label": {"type": "keyword"}, "track": {"type": "keyword"}, "confidence": {"type": "double"},
        "box": {"type": "double", "index": False, "doc_values": False}, "attrs": {"type": "keyword"},
        "facets": {"type": "keyword"}, "nums": number,
        "box_cx": {"type": "double"}, "box_cy": {"type": "double"}, "box_y2": {"type": "double"}}}
    assert fields["events"] == {"type": "nested", "properties": {
        "label": {"type": "keyword"}, "attrs": {"type": "keyword"}, "nums": number}}
    assert fields["nums"] == number
    assert fields["location"] == {"type": "geo_point", "ignore_malformed": True}
    for name in ("t", "lat", "lon", "fps", "recorded_at"):
        assert fields[name] == {"type": "double"}
    for name in ("doc_type", "gen", "vgen", "name", "keys", "tracks", "track_keys"):
        assert fields[name] == {"type": "keyword"}
    assert (fields["video_id"], fields["frame"], fields["n_objects"]) == (
        {"type": "long"}, {"type": "long"}, {"type": "integer"})


def test_a_frame_document_keeps_one_object_per_detection_with_typed_terms():
    analytics = video(
        FrameRecord(0, 0.0, {"scene": "city", "night": True}),
        vehicle(0, track="a", color="black", speed=3, parked="true"),
        person(0),
        TrackRecord("a", "vehicle", {"color": "white"}),  # a track constant overrides the detection's color
        EventRecord("brake", 0, 4, {"severity": "hard", "g": 0.5}),
        camera="front", attrs={"weather": "rain"}, gps=[Waypoint(0.0, 10.0, 20.0), Waypoint(1.0, 11.0, 21.0)],
    )
    documents = es_backend.VideoDocuments(video_id=1, name="cam", analytics=analytics, gen="g1")
    try:
        (action,) = list(documents.actions(ALIAS))
        assert documents.counts == es_backend.IndexCounts(frames=1, objects=2, tracks=1, events=1)
        assert documents.pointer() == {"doc_type": "video", "video_id": 1, "gen": "g1", "chunks": [], "gens": ["g1"],
                                       "name": "cam", "fps": 10.0, "recorded_at": None}
    finally:
        documents.close()
    assert {key: action[key] for key in ("_op_type", "_index", "_routing", "_id")} == {
        "_op_type": "index", "_index": ALIAS, "_routing": "1", "_id": "1-g1-0"}
    white_vehicle = [term("label", "vehicle"), term("object", "vehicle", "color", "white"),
                     term("object", "vehicle", "parked", "true")]
    assert action["_source"] == {
        "doc_type": "frame", "video_id": 1, "gen": "g1", "vgen": "1:g1", "frame": 0, "t": 0.0, "n_objects": 2,
        "lat": 10.0, "lon": 20.0, "location": {"lat": 10.0, "lon": 20.0},
        "keys": sorted([
            term("frame", "scene", "city"), term("frame", "night", True), term("video", "camera", "front"),
            term("video", "name", "cam"), term("video", "weather", "rain"), term("label", "person"), *white_vehicle,
            term("event", "brake"), term("event", "brake", "severity", "hard"),
        ]),
        "nums": [],
        "tracks": ["a"],
        "track_keys": sorted(json.dumps([key, "a"]) for key in white_vehicle),
        "objects": [
            {"label": "vehicle", "track": "a", "confidence": 0.9, "facets": white_vehicle,
             # "true" (text) and 3 (a number, stored as 3.0) stay apart from true and "3".
             "attrs": sorted([term("color", "white"), term("parked", "true"), term("speed", 3.0)]),
             "nums": [{"name": "speed", "n": 3.0}]},
            {"label": "person", "confidence": 0.5, "box": [0.1, 0.2, 0.3, 0.4], "facets": [term("label", "person")],
             "attrs": [], "nums": [], "box_cx": (0.1 + 0.3) / 2, "box_cy": (0.2 + 0.4) / 2, "box_y2": 0.4},
        ],
        "events": [{"label": "brake", "attrs": [term("g", 0.5), term("severity", "hard")],
                    "nums": [{"name": "g", "n": 0.5}]}],
    }


def test_the_review_state_is_also_a_term_of_no_label_which_the_review_facet_counts():
    reviewed_person = ObjectRecord(0, 0.0, "person", confidence=0.5, attrs={"review": "confirmed"})
    analytics = video(vehicle(0, track="a", review="confirmed"), reviewed_person)
    documents = es_backend.VideoDocuments(video_id=1, name="cam", analytics=analytics, gen="g1")
    try:
        (action,) = list(documents.actions(ALIAS))
    finally:
        documents.close()
    any_label = term("object", None, "review", "confirmed")
    assert facet_term(facets_for(with_review(ONTOLOGY))["review"], "confirmed") == any_label == (
        '["object",null,"review","confirmed"]')
    assert [obj["facets"] for obj in action["_source"]["objects"]] == [
        [term("label", "vehicle"), term("object", "vehicle", "review", "confirmed"), any_label],
        [term("label", "person"), term("object", "person", "review", "confirmed"), any_label]]
    # One term per frame, however many labels hold it: a frame counts once in unit frames.
    assert action["_source"]["keys"].count(any_label) == 1


@pytest.mark.parametrize(("records", "message"), [
    ((FrameRecord(2**32, 0.0),), "frame index"),
    ((FrameRecord(0, float("nan")),), "time of frame 0"),
    ((ObjectRecord(0, 0.0, "vehicle", confidence=float("inf")),), "confidence in frame 0"),
])
def test_invalid_records_are_rejected_before_anything_is_sent(backend, records, message):
    with pytest.raises(ValueError, match=message):
        backend.index_video(video_id=1, name="v", analytics=video(*records))


# Query nodes -------------------------------------------------------------------------------------


# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/query-dsl-bool-query.html (filter, should
# with minimum_should_match, must_not); .../8.17/query-dsl-match-all-query.html (match_all, match_none)
@pytest.mark.parametrize(("node", "expected"), [
    ({"and": []}, {"match_all": {}}),
    ({"or": []}, {"match_none": {}}),
    ({"and": [obj("vehicle"), obj("person")]}, {"bool": {"filter": [
        VEHICLE, {"nested": {"path": "objects", "query": {"term": {"objects.label": "person"}}, "score_mode": "none"}},
    ]}}),
    ({"or": [obj("vehicle"), {"time": {"gte": 1.0, "lte": None}}]}, {"bool": {"should": [
        VEHICLE, {"range": {"t": {"gte": 1.0}}}], "minimum_should_match": 1}}),
    ({"not": obj("vehicle")}, {"bool": {"must_not": [VEHICLE]}}),
])
def test_boolean_nodes(node, expected):
    assert compile_node(node).to_dict() == expected


# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/query-dsl-nested-query.html (one nested query
# holds every constraint of one object; multi-level nesting for objects.nums); .../query-dsl-terms-query.html;
# .../query-dsl-range-query.html; .../query-dsl-exists-query.html
def test_an_object_node_is_one_nested_query_with_typed_conditions():
    node = {"object": {"label": "vehicle", "track": "7", "confidence": {"gte": 0.5, "lte": None}, "attrs": {
        "color": {"in": ["black", True, 1]}, "parked": {"in": [True]}, "speed": {"gte": 2.0, "lte": 9.0}}}}
    assert compile_node(node).to_dict() == {"nested": {"path": "objects", "score_mode": "none", "query": {"bool": {
        "filter": [
            {"term": {"objects.label": "vehicle"}},
            {"term": {"objects.track": "7"}},
            {"range": {"objects.confidence": {"gte": 0.5}}},
            # One terms query: "black", true and 1.0 are three different terms.
            {"terms": {"objects.attrs": [term("color", "black"), term("color", 1.0), term("color", True)]}},
            {"terms": {"objects.attrs": [term("parked", True)]}},
            {"nested": {"path": "objects.nums", "score_mode": "none", "query": {"bool": {"filter": [
                {"term": {"objects.nums.name": "speed"}}, {"range": {"objects.nums.n": {"gte": 2.0, "lte": 9.0}}}]}}}},
        ]}}}}


def test_an_open_range_holds_for_any_number_and_infinity_lives_in_the_terms():
    node = {"frame": {"depth": {"gte": 0.0, "lte": None}}}
    assert compile_node(node).to_dict() == {"bool": {"minimum_should_match": 1, "should": [
        {"nested": {"path": "nums", "score_mode": "none", "query": {"bool": {"filter": [
            {"term": {"nums.name": term("frame", "depth")}}, {"range": {"nums.n": {"gte": 0.0}}}]}}}},
        {"terms": {"keys": [term("frame", "depth", float("inf"))]}},
    ]}}
    assert compile_node({"object": {"label": None, "attrs": {}, "confidence": {"gte": None, "lte": None},
                                    "track": None}}).to_dict() == {"nested": {
        "path": "objects", "score_mode": "none", "query": {"exists": {"field": "objects.confidence"}}}}


def test_frame_video_and_event_nodes():
    assert compile_node({"frame": {"scene": {"in": ["city"]}}}).to_dict() == {
        "terms": {"keys": [term("frame", "scene", "city")]}}
    assert compile_node({"video": {"recorded_at": {"gte": 1714564800.0, "lte": None}}}).to_dict() == {
        "bool": {"should": [
            {"nested": {"path": "nums", "score_mode": "none", "query": {"bool": {"filter": [
                {"term": {"nums.name": term("video", "recorded_at")}},
                {"range": {"nums.n": {"gte": 1714564800.0}}}]}}}},
            {"terms": {"keys": [term("video", "recorded_at", float("inf"))]}}], "minimum_should_match": 1}}
    assert compile_node({"event": {"label": "brake", "attrs": {"severity": {"in": ["hard"]}}}}).to_dict() == {
        "nested": {"path": "events", "score_mode": "none", "query": {"bool": {"filter": [
            {"term": {"events.label": "brake"}}, {"terms": {"events.attrs": [term("severity", "hard")]}}]}}}}


# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/query-dsl-range-query.html: boxes compare the
# exact lat/lon doubles (a geo_point is stored rounded, see .../8.17/geo-point.html), west > east crosses the
# antimeridian; .../8.17/query-dsl-script-query.html: params passed to a Painless filter script.
def test_geo_nodes_compare_exact_coordinates():
    assert compile_node({"geo": {"bbox": [19.0, 9.0, 22.0, 12.0]}}).to_dict() == {"bool": {"filter": [
        {"range": {"lat": {"gte": 9.0, "lte": 12.0}}}, {"range": {"lon": {"gte": 19.0, "lte": 22.0}}}]}}
    assert compile_node({"geo": {"bbox": [179.0, 0.0, -179.0, 10.0]}}).to_dict() == {"bool": {"filter": [
        {"range": {"lat": {"gte": 0.0, "lte": 10.0}}},
        {"bool": {"should": [{"range": {"lon": {"gte": 179.0}}}, {"range": {"lon": {"lte": -179.0}}}],
                  "minimum_should_match": 1}}]}}
    polygon = [[19, 9], [22, 9], [22, 12.5]]
    assert compile_node({"geo": {"polygon": polygon}}).to_dict() == {"bool": {"filter": [
        {"range": {"lat": {"gte": 9.0, "lte": 12.5}}},
        {"script": {"script": {"source": PNPOLY, "lang": "painless",
                               "params": {"xs": [19.0, 22.0, 22.0], "ys": [9.0, 9.0, 12.5]}}}}]}}


def test_the_polygon_script_is_the_reference_pnpoly_expression():
    # The crossing test in the same float order as indexer.search.semantics.in_polygon.
    assert "(yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi" in PNPOLY
    assert "int j = i == 0 ? n - 1 : i - 1;" in PNPOLY
    assert "if (doc['lat'].size() == 0) { return false; }" in PNPOLY


def test_time_nodes():
    assert compile_node({"time": {"gte": 0.5, "lte": 1.0}}).to_dict() == {"range": {"t": {"gte": 0.5, "lte": 1.0}}}
    assert compile_node({"time": {"gte": None, "lte": None}}).to_dict() == {"exists": {"field": "t"}}


# Wall-clock time and counts (issue 21). https://www.elastic.co/guide/en/elasticsearch/reference/8.17/
# query-dsl-script-query.html (a Painless filter script with params; doc['field'].size() == 0 for a missing
# value), .../8.17/modules-scripting-painless.html and the Painless API reference's java.time classes
# (Instant.ofEpochSecond, ZoneId.of, ZonedDateTime.getHour, getDayOfWeek().getValue(): ISO, Monday 1);
# .../8.17/query-dsl-exists-query.html.
def test_clock_nodes_add_the_videos_recorded_at_to_t_in_a_script():
    clock = compile_node({"clock": {"gte": 1714564800.0, "lte": None}}).to_dict()
    assert clock == {"bool": {"filter": [
        {"exists": {"field": "recorded_at"}},
        {"script": {"script": {"source": CLOCK_RANGE, "lang": "painless", "params": {"gte": 1714564800.0}}}}]}}
    assert "double clock = doc['recorded_at'].value + doc['t'].value;" in CLOCK_RANGE
    hours = compile_node({"hour": {"in": [7, 8], "tz": "Europe/Berlin"}}).to_dict()
    assert hours["bool"]["filter"][1] == {"script": {"script": {
        "source": CLOCK_LOCAL, "lang": "painless",
        "params": {"tz": "Europe/Berlin", "part": "hour", "values": [7, 8]}}}}
    days = compile_node({"weekday": {"in": ["mon", "sun"], "tz": "UTC"}}).to_dict()
    assert days["bool"]["filter"][1]["script"]["script"]["params"] == {"tz": "UTC", "part": "weekday", "values": [1, 7]}
    # Floored to the second, as semantics.local_hour_weekday.
    assert "Instant.ofEpochSecond((long) Math.floor(clock)).atZone(ZoneId.of(params.tz))" in CLOCK_LOCAL
    assert compile_node({"hour": {"in": [], "tz": "UTC"}}).to_dict() == {"match_none": {}}


# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/query-dsl-nested-query.html (score_mode sum:
# the scores of the matching nested objects added up), .../8.17/query-dsl-constant-score-query.html (each
# scores its boost, 1.0), .../8.17/query-dsl-function-score-query.html (min_score drops documents below it).
def test_a_count_sums_one_per_matching_object_and_keeps_frames_by_min_score():
    def at_least(threshold: float) -> dict:
        return {"function_score": {"min_score": threshold, "query": {"nested": {
            "path": "objects", "score_mode": "sum",
            "query": {"constant_score": {"filter": {"bool": {"filter": [
                {"term": {"objects.label": "vehicle"}}, {"terms": {"objects.attrs": [term("color", "black")]}}]}},
                "boost": 1.0}}}}}}

    vehicle = {"label": "vehicle", "attrs": {"color": {"in": ["black"]}}, "confidence": None, "track": None}
    # 2..4 black vehicles: at least 2 (score >= 1.5) and not at least 5 (score >= 4.5).
    assert compile_node({"count": {"object": vehicle, "gte": 2, "lte": 4}}).to_dict() == {"bool": {"filter": [
        at_least(1.5), {"bool": {"must_not": [at_least(4.5)]}}]}}
    # None: frames without a match (no nested hit at all) count 0.
    assert compile_node({"count": {"object": vehicle, "gte": None, "lte": 0}}).to_dict() == {
        "bool": {"must_not": [at_least(0.5)]}}
    assert compile_node({"count": {"object": vehicle, "gte": 3, "lte": None}}).to_dict() == at_least(2.5)


# .../8.17/query-dsl-nested-query.html (a script inside a nested query reads the nested object's fields)
def test_a_zone_is_pnpoly_on_the_anchor_point_per_camera():
    person = {"label": "person", "attrs": {}, "confidence": None, "track": None}
    zone = {"polygon": [[0, 0.5], [1, 0.5], [1, 1]], "anchor": "bottom_center"}
    body = compile_node({"zone": {"object": person, "name": "crosswalk",
                                  "cameras": {"north": zone, "south": {**zone, "anchor": "center"}}}}).to_dict()
    north, south = body["bool"]["should"]
    assert body["bool"]["minimum_should_match"] == 1
    assert north == {"bool": {"filter": [
        {"term": {"keys": term("video", "camera", "north")}},
        {"nested": {"path": "objects", "score_mode": "none", "query": {"bool": {"filter": [
            {"term": {"objects.label": "person"}},
            {"script": {"script": {"source": ZONE_PNPOLY, "lang": "painless",
                                   "params": {"xs": [0.0, 1.0, 1.0], "ys": [0.5, 0.5, 1.0], "bottom": True}}}}]}}}}]}}
    assert south["bool"]["filter"][1]["nested"]["query"]["bool"]["filter"][1]["script"]["script"]["params"][
        "bottom"] is False
    assert "(yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi" in ZONE_PNPOLY


def test_frame_documents_carry_their_videos_recorded_at():
    analytics = video(FrameRecord(0, 0.5), recorded_at=datetime(2024, 5, 1, 12, tzinfo=UTC))
    documents = es_backend.VideoDocuments(video_id=1, name="cam", analytics=analytics, gen="g1")
    try:
        (action,) = list(documents.actions(ALIAS))
    finally:
        documents.close()
    assert action["_source"]["recorded_at"] == 1714564800.0
    assert action["_source"]["t"] == 0.5


# Writes ------------------------------------------------------------------------------------------

LOCKS = "scoop-locks"


def expect_lock(cluster: Cluster) -> None:
    """Take the writers' lock (a _create of its lease document)."""
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.17/docs-index_.html (op_type create: 409 when
    # the document exists)
    cluster.expect("PUT", f"/{LOCKS}/_create/writers", {**written("writers", 0), "_index": LOCKS})


def expect_unlock(cluster: Cluster) -> None:
    cluster.expect("DELETE", f"/{LOCKS}/_doc/writers", {**written("writers", 1, "deleted"), "_index": LOCKS})


def pointer(gen: str | None, gens: list[str], chunks: list[str] | None = None, fps: float = 10.0) -> dict:
    return {"doc_type": "video", "video_id": 1, "gen": gen, "chunks": chunks or [], "gens": gens, "name": "cam",
            "fps": fps, "recorded_at": None}


def expect_pointer(cluster: Cluster, source: dict | None, seq_no: int = 0) -> None:
    """Read video 1's pointer (None: there is none)."""
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.17/docs-get.html (found, _seq_no, _primary_term)
    if source is None:
        cluster.expect("GET", f"/{ALIAS}/_doc/video-1", {"_index": INDEX, "_id": "video-1", "found": False},
                       status=404)
    else:
        cluster.expect("GET", f"/{ALIAS}/_doc/video-1", {"_index": INDEX, "_id": "video-1", "_version": seq_no + 1,
                                                         "_seq_no": seq_no, "_primary_term": 1, "found": True,
                                                         "_source": source})


def expect_pointer_write(cluster: Cluster, seq_no: int, status: int = 200) -> None:
    if status == 409:
        cluster.expect("PUT", f"/{ALIAS}/_doc/video-1", {"error": {
            "type": "version_conflict_engine_exception", "reason": "[video-1]: version conflict"}, "status": 409},
            status=409)
    else:
        cluster.expect("PUT", f"/{ALIAS}/_doc/video-1", written("video-1", seq_no, "updated"))


def expect_task(cluster: Cluster, path: str, response: dict, running: int = 0) -> None:
    """Start a long operation as a task, then poll the tasks API until it completes."""
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.17/docs-delete-by-query.html#docs-delete-by-query-task-api
    # (wait_for_completion=false answers {"task": ...}); .../8.17/tasks.html (GET _tasks/<id>: completed, response)
    cluster.expect("POST", path, {"task": "oTUltX4IQMOUUVeiohTt8A:12345"})
    status = {"node": "oTUltX4IQMOUUVeiohTt8A", "id": 12345, "type": "transport", "action": "indices:data/write"}
    for _ in range(running):
        cluster.expect("GET", "/_tasks/oTUltX4IQMOUUVeiohTt8A%3A12345", {"completed": False, "task": status})
    cluster.expect("GET", "/_tasks/oTUltX4IQMOUUVeiohTt8A%3A12345", {"completed": True, "task": status,
                                                                   "response": response})


def sent_to(cluster: Cluster, method: str, path: str) -> list[Sent]:
    return [sent for sent in cluster.sent if (sent.method, sent.path) == (method, path)]


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    """Polls and lock waits return at once; the seconds asked for are recorded."""
    slept: list[float] = []
    monkeypatch.setattr(es_backend.time, "sleep", slept.append)
    return slept


# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/indices-aliases.html (HEAD _alias);
# .../8.17/indices-create-index.html (aliases in the body); .../8.17/docs-bulk.html (routing per action);
# .../8.17/docs-get.html (found: false); .../8.17/docs-index_.html (_create, refresh=true, routing)
def test_the_first_write_creates_the_template_and_the_alias_then_bulk_loads_and_publishes(cluster, backend):
    expect_lock(cluster)
    cluster.expect("HEAD", f"/_alias/{ALIAS}", status=404)
    cluster.expect("PUT", f"/_index_template/{ALIAS}", ACK)
    cluster.expect("PUT", f"/{INDEX}", {"acknowledged": True, "shards_acknowledged": True, "index": INDEX})
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    expect_pointer(cluster, None)
    cluster.expect("PUT", f"/{ALIAS}/_create/video-1", written("video-1", 2))
    cluster.expect("PUT", "/_bulk", bulk_ok(["1-g1-0", "1-g1-1"]))
    expect_pointer(cluster, pointer(None, ["g1"]), 2)
    expect_pointer_write(cluster, 3)
    expect_pointer(cluster, pointer("g1", ["g1"]), 3)  # tidying: nothing to fold or delete
    expect_unlock(cluster)
    counts = backend.index_video(video_id=1, name="cam", analytics=video(vehicle(0, track="a"), FrameRecord(1, 0.1)))
    assert counts == es_backend.IndexCounts(frames=2, objects=1, tracks=1, events=0)
    template, create, register, bulk, flip = (sent for sent in cluster.sent[1:-1]
                                              if sent.method not in ("HEAD", "GET"))
    assert template.body == backend.index_template()
    assert create.body == {"aliases": {ALIAS: {}}}
    # The new video's pointer lists the generation before its documents exist, live only after the bulk.
    assert register.path == f"/{ALIAS}/_create/video-1"
    assert register.body == pointer(None, ["g1"])
    assert [line for line in bulk.body if "index" in line] == [
        {"index": {"_index": ALIAS, "_id": "1-g1-0", "routing": "1"}},
        {"index": {"_index": ALIAS, "_id": "1-g1-1", "routing": "1"}}]
    assert flip.params == {"if_seq_no": "2", "if_primary_term": "1", "refresh": "true", "routing": "1"}
    assert flip.body == pointer("g1", ["g1"])
    assert cluster.sent[0].path == f"/{LOCKS}/_create/writers" and cluster.sent[-1].method == "DELETE"


# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/optimistic-concurrency-control.html
# (if_seq_no/if_primary_term, 409 on a conflict); .../8.17/docs-delete-by-query.html (routing, conflicts,
# refresh, wait_for_completion=false)
def test_writing_a_video_again_flips_its_pointer_then_deletes_the_old_generations_as_a_task(cluster, backend):
    expect_lock(cluster)
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    expect_pointer(cluster, pointer("g0", ["g0"]), 4)
    expect_pointer_write(cluster, 5)  # g1 listed, not live
    cluster.expect("PUT", "/_bulk", bulk_ok(["1-g1-5"]))
    expect_pointer(cluster, pointer("g0", ["g0", "g1"]), 5)
    expect_pointer_write(cluster, 6, status=409)  # another writer moved the pointer meanwhile
    expect_pointer(cluster, pointer("g9", ["g0", "g1", "g9"]), 6)
    expect_pointer_write(cluster, 7)
    expect_pointer(cluster, pointer("g1", ["g0", "g1", "g9"]), 7)
    expect_task(cluster, f"/{ALIAS}/_delete_by_query", deleted_by_query(3), running=2)
    expect_pointer(cluster, pointer("g1", ["g0", "g1", "g9"]), 7)
    expect_pointer_write(cluster, 8)
    expect_unlock(cluster)
    backend.index_video(video_id=1, name="cam", analytics=video(FrameRecord(5, 0.5)))
    flips = sent_to(cluster, "PUT", f"/{ALIAS}/_doc/video-1")
    assert [flip.params["if_seq_no"] for flip in flips] == ["4", "5", "6", "7"]
    assert flips[0].body == pointer("g0", ["g0", "g1"])
    assert flips[2].body == pointer("g1", ["g0", "g1", "g9"])  # every listed generation stays listed...
    assert flips[3].body == pointer("g1", ["g1"])  # ...until its documents are deleted
    (delete,) = sent_to(cluster, "POST", f"/{ALIAS}/_delete_by_query")
    assert delete.params == {"conflicts": "proceed", "refresh": "true", "routing": "1", "wait_for_completion": "false"}
    # Every generation no longer live, frames and track documents, never the one just written.
    generations = {"bool": {"should": [{"terms": {"vgen": ["1:g0", "1:g9"]}}, {"terms": {"tvgen": ["1:g0", "1:g9"]}}]}}
    assert delete.body == {"query": {"bool": {"filter": [{"terms": {"doc_type": ["frame", "track"]}}, generations]}}}
    assert len(sent_to(cluster, "GET", "/_tasks/oTUltX4IQMOUUVeiohTt8A%3A12345")) == 3


def test_a_cleanup_that_fails_after_the_flip_warns_and_the_write_succeeds(cluster, backend, caplog):
    expect_lock(cluster)
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    expect_pointer(cluster, pointer("g0", ["g0"]), 4)
    expect_pointer_write(cluster, 5)
    cluster.expect("PUT", "/_bulk", bulk_ok(["1-g1-5"]))
    expect_pointer(cluster, pointer("g0", ["g0", "g1"]), 5)
    expect_pointer_write(cluster, 6)
    expect_pointer(cluster, pointer("g1", ["g0", "g1"]), 6)
    failed = {**deleted_by_query(0), "failures": [{"index": INDEX, "id": "1-g0-5", "status": 500,
                                                   "cause": {"type": "es_rejected_execution_exception"}}]}
    expect_task(cluster, f"/{ALIAS}/_delete_by_query", failed)
    expect_unlock(cluster)
    counts = backend.index_video(video_id=1, name="cam", analytics=video(FrameRecord(5, 0.5)))
    assert counts.frames == 1
    assert "tidying video 1 in Elasticsearch failed after its write succeeded" in caplog.text
    assert "es_rejected_execution_exception" in caplog.text
    # The pointer still lists g0 (not live): searches exclude it until the next write deletes it.
    assert sent_to(cluster, "PUT", f"/{ALIAS}/_doc/video-1")[-1].body == pointer("g1", ["g0", "g1"])


def test_a_failed_bulk_deletes_its_own_generation_and_never_makes_it_live(cluster, backend):
    expect_lock(cluster)
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    expect_pointer(cluster, None)
    cluster.expect("PUT", f"/{ALIAS}/_create/video-1", written("video-1", 0))
    rejected = {"took": 3, "errors": True, "items": [{"index": {
        "_index": INDEX, "_id": "1-g1-0", "status": 400,
        "error": {"type": "document_parsing_exception", "reason": "failed to parse"}}}]}
    cluster.expect("PUT", "/_bulk", rejected)
    cluster.expect("POST", f"/{ALIAS}/_refresh", {"_shards": SHARDS})  # what the bulk wrote, visible to the delete
    expect_task(cluster, f"/{ALIAS}/_delete_by_query", deleted_by_query(0))
    expect_pointer(cluster, pointer(None, ["g1"]), 0)
    cluster.expect("DELETE", f"/{ALIAS}/_doc/video-1", written("video-1", 1, "deleted"))  # nothing left to list
    expect_unlock(cluster)
    with pytest.raises(BulkIndexError):
        backend.index_video(video_id=1, name="cam", analytics=video(FrameRecord(0, 0.0)))
    (delete,) = sent_to(cluster, "POST", f"/{ALIAS}/_delete_by_query")
    assert delete.body["query"]["bool"]["filter"][1] == {"bool": {"should": [
        {"terms": {"vgen": ["1:g1"]}}, {"terms": {"tvgen": ["1:g1"]}}]}}
    assert not sent_to(cluster, "PUT", f"/{ALIAS}/_doc/video-1")


# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/docs-delete.html (routing, refresh)
def test_delete_video_takes_it_out_of_the_pointer_then_deletes_its_documents_and_the_pointer(cluster, backend):
    expect_lock(cluster)
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    expect_pointer(cluster, pointer("g1", ["g1"], chunks=["c1"]), 4)
    expect_pointer_write(cluster, 5)
    expect_task(cluster, f"/{ALIAS}/_delete_by_query", deleted_by_query(2))
    expect_pointer(cluster, pointer(None, ["g1"]), 5)
    cluster.expect("DELETE", f"/{ALIAS}/_doc/video-1", written("video-1", 6, "deleted"))
    expect_unlock(cluster)
    backend.delete_video(video_id=1)
    (hide,) = sent_to(cluster, "PUT", f"/{ALIAS}/_doc/video-1")
    assert hide.body == pointer(None, ["g1"])  # nothing live: searches stop seeing the video at once
    (frames,) = sent_to(cluster, "POST", f"/{ALIAS}/_delete_by_query")
    assert frames.body == {"query": {"bool": {"filter": [{"terms": {"doc_type": ["frame", "track"]}},
                                                        {"term": {"video_id": 1}}]}}}
    remove = sent_to(cluster, "DELETE", f"/{ALIAS}/_doc/video-1")[0]
    assert remove.params == {"if_seq_no": "5", "if_primary_term": "1", "refresh": "true", "routing": "1"}


# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/indices-aliases.html (remove and add in one
# atomic request); .../8.17/indices-get-alias.html; .../8.17/indices-refresh.html; elasticsearch-dsl-py's
# examples/alias_migration.py
def test_rebuild_holds_the_writers_lock_loads_a_fresh_index_then_swaps_the_alias(cluster, backend, monkeypatch):
    class Clock:
        @staticmethod
        def now(tz):
            from datetime import datetime
            return datetime(2026, 5, 1, 12, 0, 0, 1, tzinfo=tz)

    monkeypatch.setattr(es_backend, "datetime", Clock)
    fresh = "scoop-frames-20260501120000000001"
    expect_lock(cluster)
    cluster.expect("PUT", f"/_index_template/{ALIAS}", ACK)
    cluster.expect("PUT", f"/{fresh}", {"acknowledged": True, "shards_acknowledged": True, "index": fresh})
    cluster.expect("PUT", "/_bulk", bulk_ok(["2-g1-0", "video-2"], fresh))
    cluster.expect("PUT", "/_bulk", bulk_ok(["3-g2-0", "video-3"], fresh))
    cluster.expect("POST", f"/{fresh}/_refresh", {"_shards": SHARDS})
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    cluster.expect("GET", f"/_alias/{ALIAS}", {INDEX: {"aliases": {ALIAS: {}}}})
    cluster.expect("POST", "/_aliases", ACK)
    cluster.expect("GET", "/scoop-frames-*/_alias", {
        INDEX: {"aliases": {}}, fresh: {"aliases": {ALIAS: {}}}, "scoop-frames-20250101000000000000": {"aliases": {}}})
    cluster.expect("DELETE", "/scoop-frames-20250101000000000000", ACK)
    expect_unlock(cluster)
    backend.rebuild(videos=[(3, "c", video(FrameRecord(0, 0.0))), (2, "b", video(FrameRecord(0, 0.0)))])
    first_bulk = next(sent for sent in cluster.sent if sent.path == "/_bulk")
    assert first_bulk.body[-2:] == [{"index": {"_index": fresh, "_id": "video-2", "routing": "2"}},
                                    {"doc_type": "video", "video_id": 2, "gen": "g1", "chunks": [], "gens": ["g1"],
                                     "name": "b", "fps": 10.0, "recorded_at": None}]
    swap = next(sent for sent in cluster.sent if sent.path == "/_aliases")
    assert swap.body == {"actions": [{"remove": {"index": INDEX, "alias": ALIAS}},
                                     {"add": {"index": fresh, "alias": ALIAS}}]}
    # The lock is held from before the fresh index exists until after the alias moved.
    assert (cluster.sent[0].path, cluster.sent[-1].path) == (f"/{LOCKS}/_create/writers", f"/{LOCKS}/_doc/writers")


def lease(owner: str, expires: float, seq_no: int = 3) -> dict:
    return {"_index": LOCKS, "_id": "writers", "_version": seq_no + 1, "_seq_no": seq_no, "_primary_term": 1,
            "found": True, "_source": {"owner": owner, "expires": expires}}


def test_a_write_during_a_rebuild_waits_for_the_writers_lock(cluster, backend, no_waiting, monkeypatch):
    monkeypatch.setattr(es_lock.time, "time", lambda: 1_000.0)
    held = {"error": {"type": "version_conflict_engine_exception", "reason": "[writers]: document already exists"},
            "status": 409}
    for _ in range(2):  # the rebuild holds its lease (expiring at 1,500 s) twice in a row...
        cluster.expect("PUT", f"/{LOCKS}/_create/writers", held, status=409)
        cluster.expect("GET", f"/{LOCKS}/_doc/writers", lease("rebuild", 1_500.0))
    expect_lock(cluster)  # ...then releases it
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    expect_pointer(cluster, None)
    expect_unlock(cluster)
    backend.delete_video(video_id=1)
    assert no_waiting == [es_lock.POLL_S, es_lock.POLL_S]


def test_an_expired_lease_is_taken_over_conditionally(cluster, backend, monkeypatch):
    monkeypatch.setattr(es_lock.time, "time", lambda: 2_000.0)
    held = {"error": {"type": "version_conflict_engine_exception", "reason": "[writers]: document already exists"},
            "status": 409}
    cluster.expect("PUT", f"/{LOCKS}/_create/writers", held, status=409)
    cluster.expect("GET", f"/{LOCKS}/_doc/writers", lease("dead writer", 1_500.0, seq_no=7))
    cluster.expect("PUT", f"/{LOCKS}/_doc/writers", {**written("writers", 8, "updated"), "_index": LOCKS})
    cluster.expect("HEAD", f"/_alias/{ALIAS}", status=404)
    cluster.expect("DELETE", f"/{LOCKS}/_doc/writers", {**written("writers", 9, "deleted"), "_index": LOCKS})
    backend.delete_video(video_id=1)
    takeover = cluster.sent[2]
    assert takeover.params == {"if_seq_no": "7", "if_primary_term": "1"}
    assert takeover.body["expires"] == 2_000.0 + es_lock.LEASE_S
    assert cluster.sent[-1].params == {"if_seq_no": "8", "if_primary_term": "1"}  # released as taken


# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/dense-vector.html (dims, index, similarity);
# .../8.17/indices-put-mapping.html (a new field added to an existing index)
def test_each_embedding_dimension_gets_its_own_dense_vector_field_with_dims(cluster, backend):
    records = [ObjectRecord(0, 0.0, "vehicle", track="a", embedding=(3.0, 4.0)),
               ObjectRecord(1, 0.1, "vehicle", track="b", embedding=(1.0, 0.0, 0.0))]
    expect_lock(cluster)
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    cluster.expect("PUT", f"/{ALIAS}/_mapping", ACK)
    expect_pointer(cluster, None)
    cluster.expect("PUT", f"/{ALIAS}/_create/video-1", written("video-1", 0))
    cluster.expect("PUT", "/_bulk", bulk_ok(["1-g1-0", "1-g1-1", "1-g1-track-a", "1-g1-track-b"]))
    expect_pointer(cluster, pointer(None, ["g1"]), 0)
    expect_pointer_write(cluster, 1)
    expect_pointer(cluster, pointer("g1", ["g1"]), 1)
    expect_unlock(cluster)
    backend.index_video(video_id=1, name="cam", analytics=video(*records))
    (mapping,) = sent_to(cluster, "PUT", f"/{ALIAS}/_mapping")
    assert mapping.body == {"properties": {
        "vector_2": {"type": "dense_vector", "dims": 2, "index": True, "similarity": "cosine"},
        "vector_3": {"type": "dense_vector", "dims": 3, "index": True, "similarity": "cosine"}}}
    tracks = [line for line in sent_to(cluster, "PUT", "/_bulk")[0].body if line.get("doc_type") == "track"]
    assert [(doc["track"], doc["dim"], sorted(doc)) for doc in tracks] == [
        ("a", 2, sorted(["doc_type", "video_id", "gen", "tvgen", "track", "vtrack", "label", "dim", "vector_2",
                         "span"])),
        ("b", 3, sorted(["doc_type", "video_id", "gen", "tvgen", "track", "vtrack", "label", "dim", "vector_3",
                         "span"]))]


def test_an_embedding_over_the_dense_vector_limit_is_refused_naming_its_dimension(backend):
    big = ObjectRecord(0, 0.0, "vehicle", track="a", embedding=tuple([1.0] * 4_097))
    with pytest.raises(ValueError, match="track a of video 1 has a 4097-dimensional embedding; Elasticsearch "
                                         "takes at most 4096 dimensions"):
        backend.index_video(video_id=1, name="cam", analytics=video(big))


# Search ------------------------------------------------------------------------------------------

# The corpus behind the canned responses (fps 10):
#   video 1 "cam": frame 0 (t 0.0, scene city): vehicle track a black, person; frame 1 (t 0.1): vehicle
#                  track a black; frame 30 (t 3.0, scene highway): vehicle track b white
#   video 2 "dash": frame 0 (t 0.0, scene city): vehicle (no track) black
POINTERS = [pointer_hit(1, "g1", 10.0, "cam", 1714564800.0), pointer_hit(2, "g2", 10.0, "dash")]
V1F0 = frame_hit(1, 0.0, 0, {"n_objects": [2], "tracks": ["a"]})
V1F1 = frame_hit(1, 0.1, 1, {"n_objects": [1], "tracks": ["a"]})
V2F0 = frame_hit(2, 0.0, 0, {"n_objects": [1]})
LABELS = [term("label", "person"), term("label", "vehicle")]
SCENES = [term("frame", "scene", "city"), term("frame", "scene", "highway")]
COLORS = [term("object", "vehicle", "color", "black"), term("object", "vehicle", "color", "white")]


# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/filter-search-results.html#post-filter
# (aggregations see the query, hits also the post_filter); .../search-aggregations-bucket-filter-aggregation.html;
# .../search-aggregations-bucket-nested-aggregation.html; .../search-aggregations-bucket-terms-aggregation.html
# (include as an array of exact values, size, shard_size); .../paginate-search-results.html#search-after
def test_a_search_reads_counts_clips_and_disjunctive_facets_under_one_point_in_time(cluster, backend):
    expect_read(cluster, POINTERS)
    # Query "a vehicle" AND filter color=black: v1 frames 0 and 1, v2 frame 0.
    # set0 (label, scene: all filters): vehicles 3, persons 1; city frames 2.
    # set1 (color: its own filter left out): every vehicle frame: black 3 objects, white 1.
    aggregations = {
        "set0": {"doc_count": 3,
                 "objects": {"doc_count": 4, "keys": terms_buckets({LABELS[1]: 3, LABELS[0]: 1})},
                 "frames": terms_buckets({SCENES[0]: 2})},
        "set1": {"doc_count": 4, "objects": {"doc_count": 5, "keys": terms_buckets({COLORS[0]: 3, COLORS[1]: 1})}},
    }
    cluster.expect("POST", "/_search", hits([V1F0, V1F1], aggregations))  # a full page (page_size 2)...
    cluster.expect("POST", "/_search", hits([V2F0]))  # ...then a short one: the end
    expect_close(cluster)
    result = backend.search(request=request(obj("vehicle"), {"object:vehicle.color": ["black"]}, gap_s=1.0,
                                            page_size=5, facets=["label", "object:vehicle.color", "frame:scene"]))
    # Clips: v1 [0.0, 0.1 + 0.1] (frames 0-1, 0.1 s apart), v2 [0.0, 0.1].
    assert result.clips == [Clip(1, 0.0, 0.2, 0, 1, 2), Clip(2, 0.0, 0.1, 0, 0, 1)]
    assert result.total_clips == 2
    assert result.counts == {"videos": 2, "clips": 2, "frames": 3, "objects": 4, "tracks": 1,
                             "duration_s": 0.2 + 0.1}
    assert result.facets == {"label": {"vehicle": 3, "person": 1}, "object:vehicle.color": {"black": 3, "white": 1},
                             "frame:scene": {"city": 2, "highway": 0}}

    pointers = cluster.sent[1].body
    assert pointers["query"] == POINTER_QUERY
    assert pointers["pit"] == {"id": "pit-0", "keep_alive": "30m"}
    assert pointers["sort"] == [{"video_id": "asc"}]
    first, second = searches(cluster)
    assert first["pit"] == second["pit"] == {"id": "pit-1", "keep_alive": "30m"}  # the newest id returned
    assert first["query"] == {"bool": {"filter": [LIVE, VEHICLE]}}
    assert first["post_filter"] == second["post_filter"] == BLACK_VEHICLE
    assert first["sort"] == [{"video_id": "asc"}, {"t": "asc"}, {"frame": "asc"}]
    assert (first["size"], first["_source"], first["track_total_hits"]) == (2, False, False)
    assert first["docvalue_fields"] == ["n_objects", "tracks"]
    assert first["aggs"] == {
        "set0": {"filter": BLACK_VEHICLE, "aggs": {
            "objects": {"nested": {"path": "objects"}, "aggs": {
                "keys": {"terms": {"field": "objects.facets", "include": LABELS, "size": 2, "shard_size": 2}}}},
            "frames": {"terms": {"field": "keys", "include": SCENES, "size": 2, "shard_size": 2}}}},
        "set1": {"filter": {"match_all": {}}, "aggs": {
            "objects": {"nested": {"path": "objects"}, "aggs": {
                "keys": {"terms": {"field": "objects.facets", "include": COLORS, "size": 2, "shard_size": 2}}}}}},
    }
    assert "aggs" not in second
    assert second["search_after"] == [1, 0.1, 1, 7]
    assert cluster.sent[-1].body == {"id": "pit-1"}


def test_facets_in_clips_stream_the_frames_and_a_filtered_facet_streams_its_own_set(cluster, backend):
    expect_read(cluster, POINTERS)
    keys = {
        "v1f0": [term("frame", "scene", "city"), term("label", "person"), term("label", "vehicle"), COLORS[0]],
        "v1f1": [term("label", "vehicle"), COLORS[0]],
        "v1f30": [term("frame", "scene", "highway"), term("label", "vehicle"), COLORS[1]],
        "v2f0": [term("frame", "scene", "city"), term("label", "vehicle"), COLORS[0]],
    }
    main = [frame_hit(1, 0.0, 0, {"n_objects": [2], "tracks": ["a"], "keys": keys["v1f0"]}),
            frame_hit(1, 0.1, 1, {"n_objects": [1], "tracks": ["a"], "keys": keys["v1f1"]}),
            frame_hit(2, 0.0, 0, {"n_objects": [1], "keys": keys["v2f0"]})]
    cluster.expect("POST", "/_search", hits(main[:2], {}))
    cluster.expect("POST", "/_search", hits(main[2:]))
    # The color facet's own set (no filter): v1 frames 0, 1 and 30 (3.0 s: a clip of its own), v2 frame 0.
    own = [frame_hit(1, 0.0, 0, {"n_objects": [2], "keys": keys["v1f0"]}),
           frame_hit(1, 0.1, 1, {"n_objects": [1], "keys": keys["v1f1"]}),
           frame_hit(1, 3.0, 30, {"n_objects": [1], "keys": keys["v1f30"]}),
           frame_hit(2, 0.0, 0, {"n_objects": [1], "keys": keys["v2f0"]})]
    cluster.expect("POST", "/_search", hits(own[:2]))
    cluster.expect("POST", "/_search", hits(own[2:]))
    cluster.expect("POST", "/_search", hits([]))
    expect_close(cluster)
    result = backend.search(request=request(obj("vehicle"), {"object:vehicle.color": ["black"]}, facet_unit="clips",
                                            facets=["label", "object:vehicle.color", "frame:scene"]))
    assert result.facets == {"label": {"vehicle": 2, "person": 1}, "object:vehicle.color": {"black": 2, "white": 1},
                             "frame:scene": {"city": 2, "highway": 0}}
    main_first, _, own_first, _, own_last = searches(cluster)
    assert main_first["docvalue_fields"] == ["n_objects", "tracks", "keys", "track_keys", "tracks"]
    assert "aggs" not in main_first  # nothing counted by aggregation
    assert own_first["query"] == {"bool": {"filter": [LIVE, VEHICLE]}}  # the query, no filter
    assert "post_filter" not in own_first
    assert own_last["search_after"] == [2, 0.0, 0, 7]


def test_a_search_before_anything_was_indexed_answers_zeros(cluster, backend):
    missing = {"error": {"type": "index_not_found_exception", "reason": "no such index [scoop-frames]"}, "status": 404}
    cluster.expect("POST", f"/{ALIAS}/_pit", missing, status=404)
    result = backend.search(request=request(facets=["object:vehicle.parked"]))
    assert result.counts["frames"] == 0 and result.clips == []
    assert result.facets == {"object:vehicle.parked": {True: 0, False: 0}}
    with pytest.raises(ValueError, match="unknown facet"):
        backend.search(request=request(facets=["nope"]))


# Statistics --------------------------------------------------------------------------------------


# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/search-aggregations-metrics-sum-aggregation.html
def test_occurrence_counts_every_facet_over_the_matching_frames_in_one_unit(cluster, backend):
    expect_read(cluster, POINTERS)
    aggregations = {"set0": {"doc_count": 3, "frames": terms_buckets(
        {term("label", "vehicle"): 3, term("frame", "scene", "city"): 2, term("label", "person"): 1},
        objects={term("label", "vehicle"): 4.0, term("frame", "scene", "city"): 3.0, term("label", "person"): 2.0})}}
    cluster.expect("POST", "/_search", hits([V1F0, V1F1], aggregations))
    cluster.expect("POST", "/_search", hits([V2F0]))
    expect_close(cluster)
    counts = backend.occurrence(request=request(obj("vehicle"), facets=["label", "frame:scene"]), unit="frames")
    assert counts == {"label": {"vehicle": 3, "person": 1}, "frame:scene": {"city": 2, "highway": 0}}
    aggs = searches(cluster)[0]["aggs"]
    # Not disjunctive: one frame set, every filter (none here) applied.
    assert aggs == {"set0": {"filter": {"match_all": {}}, "aggs": {"frames": {"terms": {
        "field": "keys", "include": sorted([*LABELS, *SCENES]), "size": 4, "shard_size": 4}}}}}


def test_occurrence_in_seconds_sums_frames_over_fps(cluster, backend):
    expect_read(cluster, [pointer_hit(1, "g1", 10.0, "cam"), pointer_hit(2, "g2", 4.0, "dash")])
    city = term("frame", "scene", "city")
    cluster.expect("POST", "/_search", hits([frame_hit(1, 0.0, 0, {"n_objects": [0], "keys": [city]}),
                                             frame_hit(1, 0.1, 1, {"n_objects": [0], "keys": [city]})], {}))
    cluster.expect("POST", "/_search", hits([frame_hit(2, 0.0, 0, {"n_objects": [0], "keys": [city]})]))
    expect_close(cluster)
    counts = backend.occurrence(request=request(facets=["frame:scene"]), unit="seconds")
    assert counts == {"frame:scene": {"city": 2 / 10.0 + 1 / 4.0, "highway": 0.0}}  # 2 frames at 10 fps, 1 at 4


def test_cooccurrence_counts_units_holding_both_values(cluster, backend):
    expect_read(cluster, POINTERS)
    cluster.expect("POST", "/_search", hits([
        frame_hit(1, 0.0, 0, {"keys": [term("frame", "scene", "city"), *LABELS]}),
        frame_hit(1, 0.1, 1, {"keys": [LABELS[1]]})]))
    cluster.expect("POST", "/_search", hits([frame_hit(1, 3.0, 30, {"keys": [LABELS[1], SCENES[1]]})]))
    expect_close(cluster)
    matrix = backend.cooccurrence(request=request(), a="label", b="frame:scene", scope="frame")
    assert (matrix.rows, matrix.cols, matrix.matrix) == (["vehicle", "person"], ["city", "highway"], [[1, 1], [1, 0]])
    assert (matrix.row_totals, matrix.col_totals, matrix.total) == ([3, 1], [1, 1], 3)
    assert searches(cluster)[0]["docvalue_fields"] == ["keys"]
    with pytest.raises(ValueError, match="not an object facet"):
        backend.cooccurrence(request=request(), a="label", b="frame:scene", scope="object")


def test_object_scope_pairs_read_each_objects_facet_terms(cluster, backend):
    expect_read(cluster, POINTERS)
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.17/search-fields.html#source-filtering
    cluster.expect("POST", "/_search", hits([frame_hit(1, 0.0, 0, source={"objects": [
        {"facets": [LABELS[1], COLORS[0]]}, {"facets": [LABELS[0]]}]})]))
    expect_close(cluster)
    pairs = backend.cooccurrence_pairs(request=request(), scope="object", facets=["label", "object:vehicle.color"])
    assert pairs.total == 2
    assert pairs.pairs == {(("label", "vehicle"), ("object:vehicle.color", "black")): 1}
    assert pairs.marginals[("label", "person")] == 1 and pairs.marginals[("object:vehicle.color", "white")] == 0
    assert searches(cluster)[0]["_source"] == ["objects.facets"]


def test_geo_cells_and_located_frames_use_the_exact_coordinates(cluster, backend):
    located = [frame_hit(1, 0, 0, {"t": [0.0], "lat": [10.0], "lon": [20.0], "n_objects": [2]}, by_index=True),
               frame_hit(1, 0, 1, {"t": [0.1], "lat": [10.1], "lon": [20.1], "n_objects": [0]}, by_index=True)]
    expect_read(cluster, POINTERS)
    cluster.expect("POST", "/_search", hits(located))
    cluster.expect("POST", "/_search", hits([]))
    expect_close(cluster)
    # At level 1 both points lie in tile (1, 0); frames count 1 each, objects 2 + 0.
    assert backend.geo_cells(request=request(), z=1, bbox=[19.0, 9.0, 22.0, 12.0], target="objects") == {(1, 0): 2}
    body = searches(cluster)[0]
    assert body["sort"] == [{"video_id": "asc"}, {"frame": "asc"}]
    assert body["query"] == {"bool": {"filter": [LIVE, {"exists": {"field": "lat"}},
                                                 {"range": {"lat": {"gte": 9.0, "lte": 12.0}}},
                                                 {"range": {"lon": {"gte": 19.0, "lte": 22.0}}}]}}
    expect_read(cluster, POINTERS)
    cluster.expect("POST", "/_search", hits(located[:1]))
    expect_close(cluster)
    batches = list(backend.located_frames(request=request(), bbox=None, batch_size=5))
    assert batches == [[es_backend.LocatedFrame(1, 0, 0.0, 10.0, 20.0, 2)]]
    with pytest.raises(ValueError, match="tile level"):
        backend.geo_cells(request=request(), z=23, bbox=None, target="frames")


def test_the_timeline_reads_the_matching_frames_twice_range_then_bins(cluster, backend):
    expect_read(cluster, POINTERS)
    frames = [V1F0, V1F1, frame_hit(1, 3.0, 30), V2F0]
    for _ in range(2):
        cluster.expect("POST", "/_search", hits(frames[:2]))
        cluster.expect("POST", "/_search", hits(frames[2:]))
        cluster.expect("POST", "/_search", hits([]))
    expect_close(cluster)
    timeline = backend.timeline(request=request(), max_bins=4)
    # t in [0.0, 3.0]: the smallest 1-2-5 width giving <= 4 bins is 1.0 -> bins [0,1) [1,2) [2,3) [3,4).
    assert (timeline.video_time.start, timeline.video_time.width, timeline.video_time.counts) == (0.0, 1.0,
                                                                                                  [3, 0, 0, 1])
    # Wall clock: video 1 only (recorded_at 1714564800.0 + t for t 0.0, 0.1, 3.0): 1 s bins; video 2 unplaced.
    assert (timeline.wall_clock.start, timeline.wall_clock.width, timeline.wall_clock.counts) == (1714564800.0, 1.0,
                                                                                                  [2, 0, 0, 1])
    assert timeline.unplaced == 1


def test_detections_and_frame_labels_decode_the_stored_objects(cluster, backend):
    stored = {"t": 0.0, "lat": 10.0, "lon": 20.0, "objects": [
        {"label": "vehicle", "track": "a", "confidence": 0.9, "attrs": [term("color", "black"), term("speed", 3.0)]},
        {"label": "person", "confidence": 0.5, "box": [0.1, 0.2, 0.3, 0.4], "attrs": []}]}
    expect_read(cluster, POINTERS)
    cluster.expect("POST", "/_search", hits([frame_hit(1, 0.0, 0, source=stored, by_index=True)]))
    expect_close(cluster)
    (batch,) = list(backend.detections(request=request(), batch_size=10))
    assert [(d.video_name, d.index, d.label, d.track, d.box, d.attrs, d.lat) for d in batch] == [
        ("cam", 0, "vehicle", "a", None, {"color": "black", "speed": 3.0}, 10.0),
        ("cam", 0, "person", None, (0.1, 0.2, 0.3, 0.4), {}, 10.0)]

    expect_read(cluster, POINTERS)
    cluster.expect("POST", "/_search", hits([frame_hit(1, 0.0, 0, by_index=True)]))  # matching frames in the window
    cluster.expect("POST", "/_search", hits([frame_hit(1, 0.0, 0, source=stored, by_index=True)]))
    expect_close(cluster)
    labels = backend.frame_labels(video_id=1, start_s=0.0, end_s=0.5,
                                  request=request(obj("vehicle", color={"in": ["black"]})))
    assert [frame["matched"] for frame in labels] == [True]
    assert [(o["label"], o["matched"]) for o in labels[0]["objects"]] == [("vehicle", True), ("person", False)]
    matched, window = searches(cluster)[-2:]
    assert window["query"] == {"bool": {"filter": [{"terms": {"vgen": ["1:g1"]}},
                                                   {"range": {"t": {"gte": -1e-9, "lt": 0.5 - 1e-9}}}]}}
    assert matched["query"]["bool"]["filter"][:2] == window["query"]["bool"]["filter"]


# Connection settings -----------------------------------------------------------------------------


def test_connect_passes_credentials_certificates_timeout_and_retries(monkeypatch):
    made = {}
    monkeypatch.setattr(es_backend, "Elasticsearch", lambda **options: made.update(options) or "client")
    assert es_backend.connect(url="https://es:9200", username="scoop", password="s3cret", ca_certs="/ca.pem",
                              timeout=12.5, max_retries=4) == "client"
    assert made == {"hosts": ["https://es:9200"], "basic_auth": ("scoop", "s3cret"), "api_key": None,
                    "ca_certs": "/ca.pem", "request_timeout": 12.5, "max_retries": 4, "retry_on_timeout": True}
    es_backend.connect(url="https://es:9200", api_key="a2V5")
    assert (made["basic_auth"], made["api_key"]) == (None, "a2V5")
    with pytest.raises(ValueError, match="ELASTICSEARCH_URL"):
        es_backend.connect(url="")


def production_settings(**env: str) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ["PATH"], "SECRET_KEY": "x", "ALLOWED_HOSTS": "scoop.example",
            "DATABASE_URL": "postgres://u:p@db/scoop", "CELERY_BROKER_URL": "redis://redis:6379/0",
            "DJANGO_SETTINGS_MODULE": "scoop.settings.production", "PYTHONPATH": str(REPO)}
    code = "from django.conf import settings; print(settings.SCOOP_SEARCH_BACKEND)"
    return subprocess.run([sys.executable, "-c", code], env={**base, **env}, cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_production_settings_pick_elasticsearch_when_a_cluster_is_configured_and_demand_its_secrets():
    chosen = production_settings(ELASTICSEARCH_URL="https://es:9200", ELASTICSEARCH_API_KEY="a2V5",
                                  ELASTICSEARCH_TIMEOUT="12.5", SCOOP_ES_INDEX_PREFIX="prod")
    assert chosen.returncode == 0, chosen.stderr
    assert "'ENGINE': 'indexer.search.elasticsearch'" in chosen.stdout
    assert "'timeout': 12.5" in chosen.stdout and "'index_prefix': 'prod'" in chosen.stdout
    missing = production_settings(ELASTICSEARCH_URL="https://es:9200", ELASTICSEARCH_USERNAME="scoop")
    assert "Set the ELASTICSEARCH_PASSWORD environment variable" in missing.stderr
    no_url = production_settings(SCOOP_SEARCH_ENGINE="elasticsearch")
    assert "Set the ELASTICSEARCH_URL environment variable" in no_url.stderr


# Appends (live streams) ------------------------------------------------------------------------------
# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/docs-update-by-query.html (script, routing,
# refresh, wait_for_completion=false: a task); .../painless/8.17/painless-update-by-query-context.html
# (ctx._source may be changed); .../filter-search-results.html#post-filter; .../search-fields.html#docvalue-fields


def updated_by_query(updated: int) -> dict:
    return {"took": 20, "timed_out": False, "total": updated, "updated": updated, "deleted": 0, "batches": 1,
            "version_conflicts": 0, "noops": 0, "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0,
            "requests_per_second": -1.0, "throttled_until_millis": 0, "failures": []}


def test_an_append_bulk_indexes_only_the_new_frames_then_flips_the_chunk_live(cluster, backend):
    # The video has frames 0 and 1 (generation g0) and track "a"; the chunk sends frames 1 and 2.
    expect_lock(cluster)
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    expect_pointer(cluster, pointer("g0", ["g0"]), 4)
    indexed = hits([frame_hit(1, 0.1, 1, fields={"frame": [1]})],
                   aggregations={"tracks": terms_buckets({"a": 1})})
    cluster.expect("POST", f"/{ALIAS}/_search", indexed)
    expect_pointer(cluster, pointer("g0", ["g0"]), 4)
    expect_pointer_write(cluster, 5)  # the chunk's generation g1 listed, not live
    cluster.expect("PUT", "/_bulk", bulk_ok(["1-g1-2"]))
    expect_pointer(cluster, pointer("g0", ["g0", "g1"]), 5)
    expect_pointer_write(cluster, 6)  # g1 live beside g0: the whole chunk at once
    expect_pointer(cluster, pointer("g0", ["g0", "g1"], chunks=["g1"]), 6)
    expect_task(cluster, f"/{ALIAS}/_update_by_query", updated_by_query(1))
    expect_pointer(cluster, pointer("g0", ["g0", "g1"], chunks=["g1"]), 6)
    expect_pointer_write(cluster, 7)
    expect_unlock(cluster)

    result = backend.append_frames(video_id=1, name="cam", analytics=video(
        vehicle(1, track="a"), FrameRecord(1, 0.1), vehicle(2, track="a"),
        ObjectRecord(2, 0.2, "vehicle", track="b", embedding=(1.0, 0.0)),  # no vector added, as in every engine
        EventRecord("brake", 2, 2), EventRecord("brake", 1, 1)))

    assert result.appended == es_backend.IndexCounts(frames=1, objects=2, tracks=1, events=1)
    assert (result.duplicate_frames, result.duplicate_objects, result.indices) == (1, 1, [2])
    assert not [sent for sent in cluster.sent if sent.path.endswith(("/_reindex", "/_delete_by_query"))]
    (search,) = sent_to(cluster, "POST", f"/{ALIAS}/_search")
    assert search.params == {"routing": "1"}
    assert search.body == {
        "query": {"bool": {"filter": [{"term": {"doc_type": "frame"}}, {"terms": {"vgen": ["1:g0"]}}]}},
        "post_filter": {"terms": {"frame": [1, 2]}}, "size": 2, "_source": False, "docvalue_fields": ["frame"],
        "track_total_hits": False,
        "aggs": {"tracks": {"terms": {"field": "tracks", "include": ["a", "b"], "size": 2}}}}
    (bulk,) = sent_to(cluster, "PUT", "/_bulk")
    documents = bulk.body[1::2]
    assert [(doc["doc_type"], doc["frame"], doc["vgen"], doc["n_objects"]) for doc in documents] == [
        ("frame", 2, "1:g1", 2)]  # only the new frame: nothing of the video is copied
    assert [event["label"] for event in documents[0]["events"]] == ["brake"]
    register, flip, folded = sent_to(cluster, "PUT", f"/{ALIAS}/_doc/video-1")
    assert register.body == pointer("g0", ["g0", "g1"])
    assert flip.params == {"if_seq_no": "5", "if_primary_term": "1", "refresh": "true", "routing": "1"}
    assert flip.body == pointer("g0", ["g0", "g1"], chunks=["g1"])
    assert folded.body == pointer("g0", ["g0"])
    (fold,) = sent_to(cluster, "POST", f"/{ALIAS}/_update_by_query")
    assert fold.params == {"refresh": "true", "routing": "1", "wait_for_completion": "false"}
    assert fold.body == {
        "query": {"bool": {"should": [{"terms": {"vgen": ["1:g1"]}}, {"terms": {"tvgen": ["1:g1"]}}]}},
        "script": {"lang": "painless", "source": es_backend.RETAG_GENERATION,
                   "params": {"gen": "g0", "vgen": "1:g0"}}}


def test_a_resent_chunk_writes_nothing(cluster, backend):
    expect_lock(cluster)
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    expect_pointer(cluster, pointer("g0", ["g0"], chunks=["c1"]), 4)
    cluster.expect("POST", f"/{ALIAS}/_search", hits([frame_hit(1, 0.2, 2, fields={"frame": [2]})]))
    expect_unlock(cluster)

    result = backend.append_frames(video_id=1, name="cam", analytics=video(vehicle(2), FrameRecord(2, 0.2)))

    assert result.appended == es_backend.IndexCounts(0, 0, 0, 0)
    assert (result.duplicate_frames, result.duplicate_objects, result.indices) == (1, 1, [])
    search = cluster.sent[-2].body
    assert "aggs" not in search  # no track ids in the chunk, nothing to ask
    assert search["query"]["bool"]["filter"][1] == {"terms": {"vgen": ["1:g0", "1:c1"]}}  # every live generation


def test_an_append_of_more_frames_than_the_result_window_asks_in_batches(cluster, backend):
    # 10,001 frames, all indexed already: two searches of at most index.max_result_window hits, merged.
    expect_lock(cluster)
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    expect_pointer(cluster, pointer("g0", ["g0"]), 4)
    first = [{"_id": f"1-g0-{index}", "fields": {"frame": [index]}} for index in range(10_000)]
    cluster.expect("POST", f"/{ALIAS}/_search", hits(first))
    cluster.expect("POST", f"/{ALIAS}/_search", hits([{"_id": "1-g0-10000", "fields": {"frame": [10_000]}}]))
    expect_unlock(cluster)

    result = backend.append_frames(video_id=1, name="cam",
                                   analytics=video(*(FrameRecord(index, index / 10.0) for index in range(10_001))))

    assert (result.duplicate_frames, result.indices) == (10_001, [])
    sizes = [(sent.body["size"], len(sent.body["post_filter"]["terms"]["frame"]))
             for sent in sent_to(cluster, "POST", f"/{ALIAS}/_search")]
    assert sizes == [(10_000, 10_000), (1, 1)]


def test_a_failed_chunk_removes_its_generation_and_keeps_the_video_as_it_was(cluster, backend):
    expect_lock(cluster)
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    expect_pointer(cluster, pointer("g0", ["g0"]), 4)
    cluster.expect("POST", f"/{ALIAS}/_search", hits([]))
    expect_pointer(cluster, pointer("g0", ["g0"]), 4)
    expect_pointer_write(cluster, 5)
    rejected = {"took": 3, "errors": True, "items": [{"index": {
        "_index": INDEX, "_id": "1-g1-3", "status": 400, "error": {"type": "document_parsing_exception"}}}]}
    cluster.expect("PUT", "/_bulk", rejected)
    cluster.expect("POST", f"/{ALIAS}/_refresh", {"_shards": SHARDS})  # what the bulk wrote, visible to the delete
    expect_task(cluster, f"/{ALIAS}/_delete_by_query", deleted_by_query(0))
    expect_pointer(cluster, pointer("g0", ["g0", "g1"]), 5)
    expect_pointer_write(cluster, 6)
    expect_unlock(cluster)

    with pytest.raises(BulkIndexError):
        backend.append_frames(video_id=1, name="cam", analytics=video(FrameRecord(3, 0.3)))

    removed = json.dumps(sent_to(cluster, "POST", f"/{ALIAS}/_delete_by_query")[0].body)
    assert '"1:g1"' in removed and '"1:g0"' not in removed  # its own generation, never the live one
    assert sent_to(cluster, "PUT", f"/{ALIAS}/_doc/video-1")[-1].body == pointer("g0", ["g0"])


def test_an_append_to_a_video_not_indexed_writes_it_whole(cluster, backend):
    expect_lock(cluster)
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    expect_pointer(cluster, None)
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    expect_pointer(cluster, None)
    cluster.expect("PUT", f"/{ALIAS}/_create/video-1", written("video-1", 0))
    cluster.expect("PUT", "/_bulk", bulk_ok(["1-g1-0"]))
    expect_pointer(cluster, pointer(None, ["g1"]), 0)
    expect_pointer_write(cluster, 1)
    expect_pointer(cluster, pointer("g1", ["g1"]), 1)
    expect_unlock(cluster)

    result = backend.append_frames(video_id=1, name="cam", analytics=video(vehicle(0, track="a")))

    assert result.appended == es_backend.IndexCounts(frames=1, objects=1, tracks=1, events=0)
    assert result.indices == [0]


def test_an_append_refuses_track_records_before_sending_anything(cluster, backend):
    with pytest.raises(ValueError, match="an append takes no track records"):
        backend.append_frames(video_id=1, name="cam", analytics=video(vehicle(0, track="a"),
                                                                      TrackRecord("a", "vehicle", {"color": "black"})))


# https://www.elastic.co/guide/en/elasticsearch/reference/8.17/docs-reindex.html ("The destination must differ
# from the source"): what the engine sent before, and what the scripted cluster now refuses.
def test_the_scripted_cluster_refuses_a_reindex_into_its_source_and_a_waited_long_operation(cluster):
    client = cluster.client()
    cluster.expect("POST", "/_reindex", {})
    with pytest.raises(AssertionError, match="reindex cannot write into an index its reading from"):
        client.options(retry_on_timeout=False).reindex(source={"index": ALIAS}, dest={"index": ALIAS},
                                                       wait_for_completion=False)
    cluster.expect("POST", f"/{ALIAS}/_delete_by_query", {})
    with pytest.raises(AssertionError, match="waited for completion"):
        client.delete_by_query(index=ALIAS, query={"match_all": {}}, wait_for_completion=True)
    cluster.expect("POST", f"/{ALIAS}/_search", {})
    with pytest.raises(AssertionError, match="over index.max_result_window"):
        client.search(index=ALIAS, size=10_001)
    cluster.expect("POST", f"/{ALIAS}/_search", {})
    with pytest.raises(AssertionError, match="a terms query lists 65537 values"):
        client.search(index=ALIAS, query={"terms": {"vgen": list(range(65_537))}})


def test_a_term_longer_than_lucene_indexes_is_refused_naming_its_frame(cluster, backend):
    # The value fits validation's limit (32,766 bytes); its typed term, with scope, label and name, does not.
    expect_lock(cluster)
    cluster.expect("HEAD", f"/_alias/{ALIAS}")
    expect_pointer(cluster, None)
    cluster.expect("PUT", f"/{ALIAS}/_create/video-1", written("video-1", 0))
    cluster.expect("POST", f"/{ALIAS}/_refresh", {"_shards": SHARDS})
    expect_task(cluster, f"/{ALIAS}/_delete_by_query", deleted_by_query(0))
    expect_pointer(cluster, pointer(None, ["g1"]), 0)
    cluster.expect("DELETE", f"/{ALIAS}/_doc/video-1", written("video-1", 1, "deleted"))
    expect_unlock(cluster)
    with pytest.raises(ValueError, match=r"frame 3 of video 1: the term .* is 32797 bytes long in UTF-8; "
                                         r"Elasticsearch indexes terms of at most 32766 bytes"):
        backend.index_video(video_id=1, name="cam", analytics=video(vehicle(3, color="é" * 16_383)))
    assert not sent_to(cluster, "PUT", "/_bulk")  # refused before the bulk request was sent


def test_terms_keep_their_text_as_utf8_not_escapes():
    assert es_term("object", "vehicle", "color", "é") == '["object","vehicle","color","é"]'
    assert compile_node({"frame": {"scene": {"in": ["東京"]}}}).to_dict() == {
        "terms": {"keys": ['["frame","scene","東京"]']}}


def test_searches_exclude_only_the_generations_listed_but_not_live(cluster, backend):
    # Video 1 is being written again (g7 listed, not live) and has a live chunk c1; video 2 is being
    # created; video 3 is live. No request lists the live generations, however many videos there are.
    one = pointer_hit(1, "g1", 10.0, "cam", gens=["g1", "c1", "g7"])
    one["_source"]["chunks"] = ["c1"]
    expect_read(cluster, [one, pointer_hit(2, None, 10.0, "new", gens=["g5"])])
    cluster.expect("POST", "/_search", hits([V1F0]))
    expect_close(cluster)
    result = backend.search(request=request(obj("vehicle")))
    assert result.counts["frames"] == 1
    (body,) = searches(cluster)
    assert body["query"] == {"bool": {"filter": [
        {"bool": {"filter": [LIVE], "must_not": [{"terms": {"vgen": ["1:g7", "2:g5"]}}]}}, VEHICLE]}}
    assert '"1:g1"' not in json.dumps(body) and '"1:c1"' not in json.dumps(body)  # live: never listed


def test_the_writers_lease_is_renewed_while_held_and_losing_it_stops_the_write(cluster, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(es_lock.time, "monotonic", lambda: clock[0])
    lock = es_lock.WritersLock(cluster.client(), LOCKS)
    expect_lock(cluster)
    lock.acquire()
    lock.renew_if_due()  # nothing due yet: nothing sent
    clock[0] += es_lock.RENEW_AFTER_S
    cluster.expect("PUT", f"/{LOCKS}/_doc/writers", {**written("writers", 5, "updated"), "_index": LOCKS})
    lock.renew_if_due()
    assert cluster.sent[-1].params == {"if_seq_no": "0", "if_primary_term": "1"}
    clock[0] += es_lock.RENEW_AFTER_S
    cluster.expect("PUT", f"/{LOCKS}/_doc/writers", {"error": {"type": "version_conflict_engine_exception"},
                                                     "status": 409}, status=409)
    with pytest.raises(RuntimeError, match="writers' lock was taken over while this write held it"):
        lock.renew_if_due()
    assert cluster.sent[-1].params == {"if_seq_no": "5", "if_primary_term": "1"}
