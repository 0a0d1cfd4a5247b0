"""Search: a query and sidebar filters in, exact counts, disjunctive facets and
a page of clips out (see the search guide, docs/guide/search.md, and the facets guide,
docs/guide/facets.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from indexer.models import LabelSchema, Video
from indexer.search import get_search_backend
from indexer.search.contract import SearchResult
from indexer.search.semantics import uses_clock
from indexer.selectors import (
    search_request,
    video_stream_url,
    video_thumbnail_url,
    videos_by_id,
    videos_without_clock_count,
)


@dataclass
class SearchAnswer:
    """A search's result and the page asked for (:class:`analytics.serializers.SearchOutput`)."""

    schema: LabelSchema
    result: SearchResult
    page: int
    page_size: int
    videos_without_clock: int = 0  # left out by a clock, hour or weekday filter: no recorded_at

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.result.total_clips / self.page_size))

    def clips(self) -> list[dict[str, Any]]:
        """The page's clips as a player needs them, each saying whether its video is still live."""
        videos = videos_by_id(ids=(clip.video_id for clip in self.result.clips))
        clips = []
        for clip in self.result.clips:
            video = videos.get(clip.video_id)
            clips.append({**clip_json(clip, video), "live": bool(video and video.live)})
        return clips


def search_run(*, schema: LabelSchema, **fields: Any) -> SearchAnswer:
    """Validate a search against ``schema``'s ontology (:func:`search_request`) and run it
    on the index."""
    request = search_request(schema=schema, **fields)
    result = get_search_backend().search(request=request)
    unclocked = videos_without_clock_count() if uses_clock(request.query) else 0
    return SearchAnswer(schema=schema, result=result, page=request.page, page_size=request.page_size,
                        videos_without_clock=unclocked)


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
