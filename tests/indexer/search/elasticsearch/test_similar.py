"""The Elasticsearch engine's similarity search without a cluster: the ``dense_vector`` mapping,
the track documents and the request bodies, checked against the shapes the Elasticsearch
reference documents, and the answers against the reference engine on the same data (the
scripted cluster of test_requests.py answers each request in turn)."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.records import Analytics, ObjectRecord, VideoMeta
from indexer.search import reference
from indexer.search.contract import SearchRequest
from indexer.search.elasticsearch import backend as es_backend
from indexer.search.elasticsearch import documents as es_documents
from indexer.search.elasticsearch import similar
from indexer.search.elasticsearch.similar import COSINE_SCRIPT, SHORTLIST_EXTRA
from tests.indexer.search.elasticsearch import test_requests as requests_tests
from tests.indexer.search.elasticsearch.test_requests import (
    INDEX,
    ONTOLOGY,
    SHARDS,
    expect_close,
    expect_read,
    frame_hit,
    hits,
    pointer_hit,
)

# The scripted cluster and the engine on it, from the request tests.
cluster = requests_tests.cluster
backend = requests_tests.backend


def video() -> Analytics:
    records = [ObjectRecord(0, 0.0, "vehicle", track="7", attrs={"color": "black"}, embedding=(3.0, 4.0)),
               ObjectRecord(2, 0.2, "vehicle", track="7", embedding=(3.0, 4.0)),
               ObjectRecord(1, 0.1, "person", track="8", embedding=(1.0, 0.0)),
               ObjectRecord(1, 0.1, "person", track=None, embedding=(1.0, 0.0))]
    return Analytics.from_list(format="test", meta=VideoMeta(fps=10.0), records=records)


def test_the_template_maps_no_vector_field_the_dimensions_add_theirs(backend):
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.19/dense-vector.html
    # (dims is required before 8.11; one field holds vectors of one dimension only)
    properties = backend.index_template()["template"]["mappings"]["properties"]

    assert not [name for name in properties if name.startswith("vector")]
    assert es_documents.vector_field(64) == {"vector_64": {"type": "dense_vector", "dims": 64, "index": True,
                                                         "similarity": "cosine"}}
    assert properties["span"] == {"type": "object", "enabled": False}
    assert {name: properties[name]["type"] for name in ("track", "tvgen", "vtrack", "label", "dim")} == {
        "track": "keyword", "tvgen": "keyword", "vtrack": "keyword", "label": "keyword", "dim": "integer"}


def test_each_track_with_a_vector_is_one_routed_document():
    documents = es_backend.VideoDocuments(video_id=3, name="cam", analytics=video(), gen="g1")
    try:
        actions = list(documents.actions(INDEX))
    finally:
        documents.close()

    tracks = [action for action in actions if action["_source"]["doc_type"] == "track"]
    assert [(a["_id"], a["_routing"], a["_index"]) for a in tracks] == [
        ("3-g1-track-7", "3", INDEX), ("3-g1-track-8", "3", INDEX)]
    assert tracks[0]["_source"] == {
        "doc_type": "track", "video_id": 3, "gen": "g1", "tvgen": "3:g1", "track": "7", "vtrack": "3:7",
        "label": "vehicle", "dim": 2, "vector_2": pytest.approx([0.6, 0.8]),
        "span": {"first_frame": 0, "last_frame": 2, "first_t": 0.0, "last_t": 0.2, "frames": 2}}
    frames = [action for action in actions if action["_source"]["doc_type"] == "frame"]
    assert all("tvgen" not in action["_source"] for action in frames)  # frame queries never meet tracks


def dims_response(*dims: int) -> dict:
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.19/search-aggregations-bucket-terms-aggregation.html
    response = hits([])
    response["aggregations"] = {"dims": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
                                         "buckets": [{"key": dim, "doc_count": 1} for dim in dims]}}
    return response


def track_hit(video_id: int, track: str, vector: list[float], score: float, label: str = "vehicle",
              span: tuple = (0, 2, 0.0, 0.2, 2)) -> dict:
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.19/sort-search-results.html
    # (sort values come back in "sort"; with _score first, the score leads)
    first_frame, last_frame, first_t, last_t, frames = span
    source = {"video_id": video_id, "track": track, "label": label, f"vector_{len(vector)}": vector,
              "span": {"first_frame": first_frame, "last_frame": last_frame, "first_t": first_t, "last_t": last_t,
                       "frames": frames}}
    return {"_index": INDEX, "_id": f"{video_id}-g1-track-{track}", "_score": score, "_source": source,
            "sort": [score, video_id, track]}


LIVE_TRACKS = [{"term": {"doc_type": "track"}}]  # every generation the pointers list is live


def test_a_similarity_search_scores_the_live_tracks_exactly(backend, cluster):
    expect_read(cluster, [pointer_hit(3, "g1", 10.0, "cam")])
    cluster.expect("POST", "/_search", dims_response(2))
    # Elasticsearch's float32 scores put the two tracks level; the exact rescoring decides.
    cluster.expect("POST", "/_search", hits([track_hit(3, "8", [1.0, 0.0], 1.6),
                                             track_hit(3, "7", [0.6, 0.8], 1.6, span=(0, 2, 0.0, 0.2, 2))]))
    expect_close(cluster)

    found = backend.similar_tracks(request=None, vector=[0.8, 0.6], k=5)

    assert [(hit.video_id, hit.track, hit.label) for hit in found] == [(3, "7", "vehicle"), (3, "8", "vehicle")]
    truth = reference.SearchBackend()
    truth.index_video(video_id=3, name="cam", analytics=video())
    expected = truth.similar_tracks(request=None, vector=[0.8, 0.6], k=5)
    assert [(hit.track, hit.score) for hit in found] == [(hit.track, hit.score) for hit in expected]
    assert (found[0].start_s, found[0].end_s, found[0].frames) == (0.0, pytest.approx(0.3), 2)
    dims_body, scored = cluster.sent[-3].body, cluster.sent[-2].body
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.19/search-aggregations-bucket-terms-aggregation.html
    assert dims_body["query"] == LIVE_TRACKS[0]
    assert dims_body["aggs"] == {"dims": {"terms": {"field": "dim", "size": 100}}}
    assert dims_body["size"] == 0
    # https://www.elastic.co/guide/en/elasticsearch/reference/8.19/query-dsl-script-score-query.html
    # (exact kNN: script_score with cosineSimilarity over the filtered documents, + 1.0 keeps scores >= 0)
    assert scored["query"] == {"script_score": {
        "query": {"bool": {"filter": [*LIVE_TRACKS, {"term": {"dim": 2}}]}},
        "script": {"source": "cosineSimilarity(params.query_vector, params.field) + 1.0",
                   "params": {"query_vector": [pytest.approx(0.8), pytest.approx(0.6)], "field": "vector_2"}}}}
    assert COSINE_SCRIPT == "cosineSimilarity(params.query_vector, params.field) + 1.0"
    assert scored["sort"] == [{"_score": "desc"}, {"video_id": "asc"}, {"track": "asc"}]
    assert scored["size"] == 5 + SHORTLIST_EXTRA
    assert scored["_source"] == ["video_id", "track", "label", "span", "vector_2"]
    assert scored["pit"]["id"] == "pit-1"


def test_the_query_restricts_the_candidates_to_tracks_in_matching_frames(backend, cluster):
    expect_read(cluster, [pointer_hit(3, "g1", 10.0, "cam")])
    cluster.expect("POST", "/_search", dims_response(2))
    # The matching frames, streamed with their track ids (a page of 2 is full: one more, empty, follows).
    cluster.expect("POST", "/_search", hits([
        frame_hit(3, 0.1, 1, fields={"video_id": [3], "tracks": ["8"]}, by_index=True),
        frame_hit(3, 0.2, 2, fields={"video_id": [3]}, by_index=True)]))
    cluster.expect("POST", "/_search", hits([]))
    cluster.expect("POST", "/_search", hits([track_hit(3, "8", [1.0, 0.0], 1.8, label="person")]))
    expect_close(cluster)
    request = SearchRequest(ontology=ONTOLOGY, query={"object": {"label": "person", "attrs": {}}})

    found = backend.similar_tracks(request=request, vector=[0.8, 0.6], k=3, exclude={(3, "7")})

    assert [(hit.track, hit.label, hit.score) for hit in found] == [("8", "person", pytest.approx(0.8))]
    frames, scored = cluster.sent[-4].body, cluster.sent[-2].body
    assert frames["docvalue_fields"] == ["video_id", "tracks"]
    assert scored["query"]["script_score"]["query"] == {"bool": {"filter": [
        *LIVE_TRACKS, {"term": {"dim": 2}}, {"terms": {"vtrack": ["3:8"]}}]}}
    assert scored["size"] == 3 + 1 + SHORTLIST_EXTRA  # k + the excluded track + the extra


def test_near_ties_at_the_kth_place_are_fetched_with_min_score(backend, cluster):
    level = [track_hit(3, str(n), [1.0, 0.0], 2.0) for n in range(1 + SHORTLIST_EXTRA)]
    expect_read(cluster, [pointer_hit(3, "g1", 10.0, "cam")])
    cluster.expect("POST", "/_search", dims_response(2))
    cluster.expect("POST", "/_search", hits(level))  # a full window, all level with the first
    cluster.expect("POST", "/_search", hits(level + [track_hit(3, "99", [1.0, 0.0], 2.0)]))
    expect_close(cluster)

    found = backend.similar_tracks(request=None, vector=[1.0, 0.0], k=1)

    assert [hit.track for hit in found] == ["0"]  # "0" < "1" < "10" < ... < "99": ties by track id
    second = cluster.sent[-2].body
    assert second["min_score"] == pytest.approx(2.0 - 2 * 2.0**-22)
    assert second["size"] == 10_000


def test_a_vector_of_another_dimension_is_refused(backend, cluster):
    expect_read(cluster, [pointer_hit(3, "g1", 10.0, "cam")])
    cluster.expect("POST", "/_search", dims_response(64))
    expect_close(cluster)

    with pytest.raises(ValueError, match=r"no indexed track has a 2-dimensional embedding \(indexed: 64\)"):
        backend.similar_tracks(request=None, vector=[1.0, 0.0], k=3)


def test_a_track_vector_is_read_from_its_live_document(backend, cluster):
    expect_read(cluster, [pointer_hit(3, "g1", 10.0, "cam")])
    cluster.expect("POST", "/_search", hits([{"_index": INDEX, "_id": "3-g1-track-7", "_score": 0.0,
                                              "_source": {"dim": 2, "vector_2": [0.6, 0.8]}}]))
    expect_close(cluster)

    assert backend.track_vector(video_id=3, track="7") == pytest.approx(np.array([0.6, 0.8], dtype=np.float32))
    assert cluster.sent[-2].body["query"] == {"bool": {"filter": [*LIVE_TRACKS, {"term": {"vtrack": "3:7"}}]}}
    assert cluster.sent[-2].body["_source"] == ["dim", "vector_*"]
    assert SHARDS["failed"] == 0


def test_candidates_past_the_terms_limit_are_scored_in_batches_and_merged(backend, cluster, monkeypatch):
    monkeypatch.setattr(similar, "TERMS_LIMIT", 1)  # two candidate tracks: two batches of one
    expect_read(cluster, [pointer_hit(3, "g1", 10.0, "cam")])
    cluster.expect("POST", "/_search", dims_response(2))
    cluster.expect("POST", "/_search", hits([
        frame_hit(3, 0.0, 0, fields={"video_id": [3], "tracks": ["7"]}, by_index=True),
        frame_hit(3, 0.1, 1, fields={"video_id": [3], "tracks": ["8"]}, by_index=True)]))
    cluster.expect("POST", "/_search", hits([]))
    cluster.expect("POST", "/_search", hits([track_hit(3, "7", [0.6, 0.8], 1.96)]))
    cluster.expect("POST", "/_search", hits([track_hit(3, "8", [1.0, 0.0], 1.8, label="person")]))
    expect_close(cluster)
    request = SearchRequest(ontology=ONTOLOGY, query={"and": []})

    found = backend.similar_tracks(request=request, vector=[0.8, 0.6], k=2)

    # The best of each batch, ranked together: 7 (cosine 0.96), then 8 (0.8).
    assert [(hit.track, hit.score) for hit in found] == [("7", pytest.approx(0.96)), ("8", pytest.approx(0.8))]
    batches = [sent.body["query"]["script_score"]["query"]["bool"]["filter"][-1] for sent in cluster.sent[-3:-1]]
    assert batches == [{"terms": {"vtrack": ["3:7"]}}, {"terms": {"vtrack": ["3:8"]}}]


def test_generations_listed_but_not_live_are_excluded_from_tracks(backend, cluster):
    # Video 3 is being rewritten (g2 listed, not live yet); video 4 is being created (nothing live).
    expect_read(cluster, [pointer_hit(3, "g1", 10.0, "cam", gens=["g1", "g2"]),
                          pointer_hit(4, None, 10.0, "new", gens=["g5"])])
    cluster.expect("POST", "/_search", hits([]))
    expect_close(cluster)

    assert backend.track_vector(video_id=4, track="7") is None

    assert cluster.sent[-2].body["query"] == {"bool": {"filter": [
        {"bool": {"filter": [{"term": {"doc_type": "track"}}], "must_not": [{"terms": {"tvgen": ["3:g2", "4:g5"]}}]}},
        {"term": {"vtrack": "4:7"}}]}}
