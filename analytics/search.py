"""Search: a query and sidebar filters in, exact counts, disjunctive facets and
a page of clips out (see the search guide, docs/guide/search.md, and the facets guide,
docs/guide/facets.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from indexer.facets import UNITS, FacetError, facets_for, parse_filters
from indexer.models import LabelSchema, Video
from indexer.query import compile_query
from indexer.search import get_search_backend
from indexer.search.contract import SearchRequest, SearchResult
from indexer.selectors import video_stream_url, video_thumbnail_url
from indexer.services import schema_ontology

MAX_PAGE_SIZE = 500


@dataclass
class SearchAnswer:
    schema: LabelSchema
    result: SearchResult
    page: int
    page_size: int


def search_request(
    *,
    schema: LabelSchema,
    query: Any = None,
    q: str | None = None,
    filters: Any = None,
    gap_s: float = 1.0,
    page: int = 1,
    page_size: int = 20,
    facet_unit: str | None = None,
    facets: list[str] | None = None,
) -> SearchRequest:
    """The backend request for a query and sidebar filters, validated against
    ``schema``'s ontology (statistics take the same fields).

    Raises QueryError / FacetError naming what is wrong.
    """
    ontology = schema_ontology(schema)
    tree = compile_query(query=query, q=q, ontology=ontology)
    parsed_filters = parse_filters(filters, ontology)
    if facet_unit not in (None, "", *UNITS):
        raise FacetError("facet_unit", f"unknown unit '{facet_unit}'; expected one of {', '.join(UNITS)}")
    known = facets_for(ontology)
    for i, key in enumerate(facets or []):
        if key not in known:
            raise FacetError(f"facets[{i}]", f"unknown facet '{key}'")
    if not (isinstance(gap_s, int | float) and math.isfinite(gap_s) and gap_s >= 0):
        raise FacetError("gap_s", "gap_s must be a number of seconds >= 0")
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise FacetError("page_size" if page >= 1 else "page",
                         f"page must be >= 1 and page_size between 1 and {MAX_PAGE_SIZE}")
    return SearchRequest(
        ontology=ontology,
        query=tree,
        filters=parsed_filters,
        gap_s=float(gap_s),
        page=page,
        page_size=page_size,
        facet_unit=facet_unit or None,
        facets=facets or None,
    )


def search_run(*, schema: LabelSchema, **fields: Any) -> SearchAnswer:
    """Validate a search against ``schema``'s ontology (:func:`search_request`) and run it
    on the index."""
    request = search_request(schema=schema, **fields)
    result = get_search_backend().search(request=request)
    return SearchAnswer(schema=schema, result=result, page=request.page, page_size=request.page_size)


def json_key(value: Any) -> str:
    """A facet value as JSON text: booleans as ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def seconds(value: float) -> float:
    """Times to the microsecond: float sums in a varying order differ in the last
    bits (21.6 vs 21.599999999999998), which no analyst should see."""
    return round(value, 6)


def clip_json(clip: Any, video: Video | None) -> dict[str, Any]:
    """What a player needs of a span of ``video`` (a search clip or a similar track's span: any
    object with ``video_id``, ``start_s``, ``end_s``, ``start_frame``, ``end_frame``, ``frames``)."""
    return {
        "video": clip.video_id,
        "video_name": video.name if video else None,
        "start_s": seconds(clip.start_s),
        "end_s": seconds(clip.end_s),
        "duration_s": seconds(clip.end_s - clip.start_s),
        "start_frame": clip.start_frame,
        "end_frame": clip.end_frame,
        "frames": clip.frames,
        "thumbnail_url": video_thumbnail_url(video, clip.start_s) if video else None,
        "stream_url": video_stream_url(video) if video else None,
    }


def search_answer_json(answer: SearchAnswer) -> dict[str, Any]:
    """The REST form of a search answer."""
    result = answer.result
    videos = Video.objects.in_bulk({clip.video_id for clip in result.clips})
    clips = []
    for clip in result.clips:
        video = videos.get(clip.video_id)
        clips.append({**clip_json(clip, video), "live": bool(video and video.live)})
    counts = dict(result.counts)
    for key in ("videos", "clips", "frames", "objects", "tracks"):
        counts[key] = int(counts[key])
    counts["duration_s"] = seconds(counts["duration_s"])
    return {
        "schema": {"id": answer.schema.id, "name": answer.schema.name, "version": answer.schema.version},
        "counts": counts,
        "facets": {key: {json_key(v): n for v, n in values.items()} for key, values in result.facets.items()},
        "clips": clips,
        "page": answer.page,
        "page_size": answer.page_size,
        "pages": max(1, math.ceil(result.total_clips / answer.page_size)),
        "total_clips": result.total_clips,
    }
