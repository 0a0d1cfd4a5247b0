"""Search: a query and sidebar filters in, exact counts, disjunctive facets and
a page of clips out (SPEC 3, 4)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from indexer.backends import get_search_backend
from indexer.backends.base import SearchRequest, SearchResult
from indexer.facets import UNITS, FacetError, facets_for, parse_filters
from indexer.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from indexer.models import LabelSchema, Video
from indexer.query import compile_query
from indexer.selectors import video_stream_url, video_thumbnail_url
from indexer.services import schema_ontology


@dataclass
class SearchAnswer:
    """A search's result and the page asked for (:class:`analytics.serializers.SearchOutput`)."""

    schema: LabelSchema
    result: SearchResult
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.result.total_clips / self.page_size))

    def clips(self) -> list[dict[str, Any]]:
        """The page's clips as a player needs them, each saying whether its video is still live."""
        videos = Video.objects.in_bulk({clip.video_id for clip in self.result.clips})
        clips = []
        for clip in self.result.clips:
            video = videos.get(clip.video_id)
            clips.append({**clip_json(clip, video), "live": bool(video and video.live)})
        return clips


def search_request(
    *,
    schema: LabelSchema,
    query: Any = None,
    q: str | None = None,
    filters: Any = None,
    gap_s: float = 1.0,
    page: int = 1,
    page_size: int = PAGE_SIZE_DEFAULT,
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
    if page < 1 or not 1 <= page_size <= PAGE_SIZE_MAX:
        raise FacetError("page_size" if page >= 1 else "page",
                         f"page must be >= 1 and page_size between 1 and {PAGE_SIZE_MAX}")
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
