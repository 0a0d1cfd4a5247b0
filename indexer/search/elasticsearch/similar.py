"""Similar tracks in Elasticsearch: exact cosine top-k over the live track documents.

Candidates are scored by ``script_score`` with ``cosineSimilarity`` on the ``vector_<dim>`` field
of the query's dimension (float32, as the DuckDB engine shortlists), and every hit whose float32
score may reach the top k is rescored with the shared exact scores of
:mod:`indexer.search.vectors`, then ranked the same way. When a query restricts the candidates to
the tracks of its matching frames, they are listed in batches of at most
``index.max_terms_count`` (:data:`~indexer.search.elasticsearch.query.TERMS_LIMIT`) track ids, each
batch shortlisted on its own: a track in the top k is in the top k of its batch, so the union of
the shortlists holds the answer.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
from elasticsearch.dsl import Q, Search
from elasticsearch.dsl.query import Query

from indexer.search.contract import SearchRequest, SimilarTrack
from indexer.search.elasticsearch.documents import vector_name
from indexer.search.elasticsearch.query import TERMS_LIMIT, all_of, batched, track_key
from indexer.search.elasticsearch.reader import BY_INDEX, MAX_WINDOW, Read, Reader
from indexer.search.vectors import (
    TrackVector,
    check_k,
    exact_scores,
    query_vector,
    ranked,
    shortlist_slack,
    similar_track,
)

# Scored hits asked for beyond the k (+ excluded) wanted, before near-ties force a second request.
SHORTLIST_EXTRA = 32
# Exact brute force over the filtered candidates (Elasticsearch's "exact kNN"); + 1 keeps scores >= 0.
COSINE_SCRIPT = "cosineSimilarity(params.query_vector, params.field) + 1.0"


def _track_dims(reader: Reader, tracks: Query) -> list[int]:
    """The dimensions of the vectors of ``tracks``."""
    search = Search().query(tracks).extra(size=0, track_total_hits=False)
    search.aggs.bucket("dims", "terms", field="dim", size=100)
    return sorted(bucket["key"] for bucket in reader.pit.search(search)["aggregations"]["dims"]["buckets"])


def _candidate_keys(reader: Reader) -> list[str]:
    """``vtrack`` terms of the tracks with a detection in a matching frame."""
    keys = set()
    for hit in reader.frames(reader.matching(), sort=BY_INDEX, fields=["video_id", "tracks"]):
        video_id = hit["fields"]["video_id"][0]
        keys.update(track_key(video_id, track) for track in hit["fields"].get("tracks", []))
    return sorted(keys)


def scored_search(candidates: Query, query: np.ndarray, size: int, min_score: float | None = None) -> Search:
    """The ``script_score`` request: candidates by float32 cosine, best first, ties by video and track."""
    field = vector_name(query.size)
    script = {"source": COSINE_SCRIPT, "params": {"query_vector": query.tolist(), "field": field}}
    search = Search().query(Q("script_score", query=candidates, script=script)).sort(
        {"_score": "desc"}, {"video_id": "asc"}, {"track": "asc"}).source(
        ["video_id", "track", "label", "span", field]).extra(size=size, track_total_hits=False)
    return search if min_score is None else search.extra(min_score=min_score)


def _shortlist(reader: Reader, candidates: Query, query: np.ndarray, want: int) -> list[dict[str, Any]]:
    """Every hit whose float32 score may put it in the top ``want`` (as the DuckDB engine shortlists)."""
    size = min(want + SHORTLIST_EXTRA, MAX_WINDOW)
    found = reader.pit.search(scored_search(candidates, query, size))["hits"]["hits"]
    if len(found) < size:
        return found
    floor = found[want - 1]["sort"][0] - shortlist_slack(query.size)
    if found[-1]["sort"][0] < floor:
        return found
    return reader.pit.search(scored_search(candidates, query, MAX_WINDOW, min_score=floor))["hits"]["hits"]


def similar_tracks(read: Read, request: SearchRequest | None, vector: Any, k: int,
                   exclude: Collection[tuple[int, str]]) -> list[SimilarTrack]:
    """Top ``k`` of the live tracks (candidates of ``request``), rescored exactly and ranked."""
    check_k(k)
    query = query_vector(vector)
    with read(request) as reader:
        if not reader.videos:
            return []
        tracks = reader.live_tracks
        dims = _track_dims(reader, tracks)
        if not dims:
            return []
        if query.size not in dims:
            raise ValueError(f"no indexed track has a {query.size}-dimensional embedding "
                             f"(indexed: {', '.join(map(str, dims))})")
        candidates = all_of([tracks, Q("term", dim=query.size)])
        batches = [candidates]
        if request is not None:
            batches = [all_of([candidates, Q("terms", vtrack=list(keys))])
                       for keys in batched(_candidate_keys(reader), TERMS_LIMIT)]
        hits = [hit["_source"] for batch in batches for hit in _shortlist(reader, batch, query, k + len(exclude))]
        fps = reader.fps
    if not hits:
        return []
    field = vector_name(query.size)
    found = {(hit["video_id"], hit["track"]): hit for hit in hits}
    keys = list(found)
    scores = exact_scores(np.array([found[key][field] for key in keys], dtype=np.float32), query)
    return [similar_track(video_id, _span(found[(video_id, track)]), score, fps[video_id])
            for video_id, track, score in ranked(keys, scores, k, exclude)]


def _span(source: dict[str, Any]) -> TrackVector:
    """A track document's span (its vector left out)."""
    span = source["span"]
    return TrackVector(source["track"], source["label"], np.empty(0, dtype=np.float32), span["first_frame"],
                       span["last_frame"], span["first_t"], span["last_t"], span["frames"])


def track_vector(read: Read, video_id: int, track: str) -> np.ndarray | None:
    """The live document of one track, its vector."""
    with read(None) as reader:
        if not reader.videos:
            return None
        search = Search().query(all_of([reader.live_tracks, Q("term", vtrack=track_key(video_id, track))])).source(
            ["dim", "vector_*"]).extra(size=1, track_total_hits=False)
        found = reader.pit.search(search)["hits"]["hits"]
    if not found:
        return None
    source = found[0]["_source"]
    return np.array(source[vector_name(source["dim"])], dtype=np.float32)
