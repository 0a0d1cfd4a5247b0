"""Similar tracks, "find more like this" (target reacquisition): an analyst picks a track
in the player, or uploads a crop, and gets the most similar tracks of the corpus, each
with a clip to play.

The query vector is the picked track's stored vector (:mod:`indexer.search.vectors`)
or the crop's embedding by the reference worker's model
(:func:`scoop_worker.embedding.embed_images`). Candidates are the tracks with a
detection in a frame matching the request's query and filters (every track with a vector
when neither is given); the picked track itself is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from analytics.search import clip_json
from indexer.limits import MAX_K
from indexer.models import Video
from indexer.search import get_search_backend
from indexer.search.contract import SearchRequest, SimilarTrack
from indexer.selectors import schema_ontology, schema_resolve, search_request, videos_by_id


class SimilarError(ValueError):
    """A bad similarity request: ``path`` names the field, ``message`` what is wrong."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass
class SimilarQuery:
    vector: np.ndarray
    exclude: set[tuple[int, str]]
    source: dict[str, Any]  # what the vector came from, echoed in the answer


def similar_query_from_track(*, video_id: int, track: str) -> SimilarQuery:
    """The stored vector of a track; SimilarError when the video, the track or its vector is missing."""
    video = videos_by_id(ids=[video_id]).get(video_id)
    if video is None:
        raise SimilarError("video", f"no video has id {video_id}")
    backend = get_search_backend()
    vector = backend.track_vector(video_id=video_id, track=track)
    if vector is None:
        if not _track_exists(video, track):
            raise SimilarError("track", f"video '{video.name}' has no track '{track}'")
        raise SimilarError("track", f"track '{track}' of video '{video.name}' has no embedding")
    return SimilarQuery(vector=vector, exclude={(video_id, track)},
                        source={"video": video_id, "video_name": video.name, "track": track})


def _track_exists(video: Video, track: str) -> bool:
    if video.schema is None:
        return False
    request = SearchRequest(
        ontology=schema_ontology(video.schema),
        query={"and": [{"video": {"name": {"in": [video.name]}}},
                       {"object": {"label": None, "attrs": {}, "track": track}}]},
        facets=[], page_size=0)
    return get_search_backend().search(request=request).counts["frames"] > 0


def similar_query_from_image(*, data: bytes) -> SimilarQuery:
    """The embedding of an uploaded crop (any format OpenCV decodes); SimilarError when it is not an image."""
    from scoop_worker.embedding import embed_images  # torch and the model load only when a crop comes

    picture = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR) if data else None
    if picture is None or picture.size == 0:
        raise SimilarError("image", "the upload is not an image OpenCV can decode (PNG, JPEG, WebP, ...)")
    return SimilarQuery(vector=embed_images([picture])[0], exclude=set(), source={"image": True})


def similar_request(*, schema: str | None, query: Any, q: str | None, filters: Any) -> SearchRequest | None:
    """The search restricting the candidates; None when no query or filter is given."""
    if query is None and not q and not filters:
        return None
    return search_request(schema=schema_resolve(ref=schema), query=query, q=q, filters=filters)


def similar_run(*, query: SimilarQuery, request: SearchRequest | None, k: int) -> list[SimilarTrack]:
    """The top ``k`` tracks; SimilarError for a k out of range or a vector of another dimension."""
    if not 1 <= k <= MAX_K:
        raise SimilarError("k", f"k must be between 1 and {MAX_K}, got {k}")
    try:
        return get_search_backend().similar_tracks(request=request, vector=query.vector, k=k,
                                                   exclude=query.exclude)
    except ValueError as error:
        raise SimilarError("image" if query.source.get("image") else "track", str(error)) from error


def similar_find(*, video_id: int | None, track: str | None, image: bytes | None, k: int, schema: str | None,
                 query: Any, q: str | None, filters: Any) -> dict[str, Any]:
    """The answer of the similarity API: the top ``k`` tracks like a picked track (``video_id`` and
    ``track``) or an uploaded crop (``image``), among the candidates of the query and filters."""
    if image is not None:
        source = similar_query_from_image(data=image)
    else:
        source = similar_query_from_track(video_id=video_id, track=track)
    request = similar_request(schema=schema, query=query, q=q, filters=filters)
    return similar_answer_json(query=source, hits=similar_run(query=source, request=request, k=k), k=k)


def similar_answer_json(*, query: SimilarQuery, hits: list[SimilarTrack], k: int) -> dict[str, Any]:
    """The REST form: the query's source and each hit with the clip of its track."""
    videos = videos_by_id(ids=(hit.video_id for hit in hits))
    results = []
    for hit in hits:
        results.append({**clip_json(hit, videos.get(hit.video_id)), "track": hit.track, "label": hit.label,
                        "score": round(hit.score, 6)})
    return {"query": query.source, "k": k, "results": results}
