"""Insights: occurrence, co-occurrence with lift and the time histograms of the current
query and sidebar filters, in their REST form (see the statistics guide,
docs/guide/statistics.md).

Every statistic reads the **matching frames**: the frames matching the query AND
every sidebar filter (not disjunctive, unlike the sidebar's facet counts).

- **Occurrence** counts each facet value in one unit: ``objects`` (detections
  having it for object facets; every detection of the frames having it for frame,
  video and event facets), ``tracks``, ``frames``, ``clips``, ``videos``, or
  ``seconds``: the duration of the frames counted in unit ``frames``, each frame
  lasting 1/fps of its video.
- **Co-occurrence** of facets A and B in a scope: the units are the detections in
  the matching frames (``object``; only for two attributes of one label, or
  ``label`` and an attribute), the matching frames (``frame``) or their clips
  (``clip``, cut with ``gap_s``). ``matrix[i][j]`` counts the units having value
  ``rows[i]`` of A and ``cols[j]`` of B, ``row_totals``/``col_totals`` the units
  having each value, ``total`` every unit of the scope, and ``lift[i][j] =
  matrix[i][j] * total / (row_totals[i] * col_totals[j])`` (observed over expected
  under independence), null when a denominator is 0.
- **Top pairs** (``top: N``): every pair of values of two different facets,
  ordered by lift (descending), then count (descending), then the facets' and
  values' ontology order; pairs seen in fewer than ``min_count`` units are left
  out, and so are pairs where one value implies the other by the ontology
  (label ``vehicle`` with ``object:vehicle.color=red``), whose lift only restates
  the label's rarity.
- **Timeline**: matching frames over video time (``t``) and over wall-clock time
  (``recorded_at + t``; frames of videos without ``recorded_at`` are counted in
  ``unplaced``). Each axis takes the narrowest width of a fixed ladder (video time:
  0.01, 0.02, 0.05, 0.1 ... s; wall clock: 1 s ... 30 min, 1, 2, 3, 6, 12 h, 1, 2,
  7, 14, 28, 91, 182, 364 days, then doubling) that covers the data's range in at
  most ``bins`` bins; bins start at a multiple of the width (for wall-clock time,
  counted from 1970-01-01T00:00Z) and are listed from the first holding a frame to
  the last, empty ones included.
- **Wall-clock focus**: when a few frames lie far from the rest in time (a video with
  a wrong or distant date), the wall-clock histogram squashes the rest into one bar.
  So the matching frames' wall-clock times are also binned in the finest bins the ladder
  allows (at most 1,000); each run of non-empty bins is a group. From either end, a
  group is left out while the empty stretch between it and its neighbour is more than 10
  times the span of the groups that remain, and it holds fewer frames than they do. When a
  group was left out, ``wall_clock.focus`` bins the frames of the videos recorded from
  (the first kept group's start minus the latest matching frame's video time) to the
  last kept group's end, in at most ``bins`` bins, and ``outside`` counts the other
  placed frames exactly (total placed minus those in the focus), with the span of the
  groups left out. Otherwise ``focus`` is null.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from analytics.search import json_key
from indexer.facets import OBJECT_KINDS, Facet, FacetError, facets_for
from indexer.limits import TIMELINE_BINS_DEFAULT, TIMELINE_BINS_MAX, TOP_PAIRS_MAX
from indexer.ontology import suggestion
from indexer.query import compile_query
from indexer.query.tree import HOURS, WEEKDAYS
from indexer.search import get_search_backend
from indexer.search.contract import SCOPES, STAT_UNITS, Feature, Histogram, SearchRequest
from indexer.search.semantics import implied_pair, scope_problem

# A group of wall-clock times is an outlier when farther than this many times the span of the rest.
FOCUS_FAR = 10



def lift(count: int, total: int, row_total: int, col_total: int) -> float | None:
    """Observed over expected under independence; None when a denominator is 0."""
    if not (total and row_total and col_total):
        return None
    return count * total / (row_total * col_total)


def _facet(ontology_facets: dict[str, Facet], key: Any, path: str) -> Facet:
    if not isinstance(key, str) or key not in ontology_facets:
        raise FacetError(path, f"unknown facet '{key}'{suggestion(str(key), ontology_facets)}")
    return ontology_facets[key]


def occurrence_run(*, request: SearchRequest, unit: str) -> dict[str, Any]:
    """Counts per facet value (``request.facets``, or all) in ``unit``."""
    if unit not in STAT_UNITS:
        raise FacetError("unit", f"unknown unit '{unit}'; expected one of {', '.join(STAT_UNITS)}")
    counts = get_search_backend().occurrence(request=request, unit=unit)
    return {
        "unit": unit,
        "counts": {key: {json_key(value): n for value, n in values.items()} for key, values in counts.items()},
    }


def cooccurrence_run(*, request: SearchRequest, a: Any, b: Any, scope: str) -> dict[str, Any]:
    """The matrix of facets ``a`` x ``b`` in ``scope``, with marginals and lift."""
    known = facets_for(request.ontology)
    facet_a, facet_b = _facet(known, a, "a"), _facet(known, b, "b")
    problem = scope_problem(facet_a, facet_b, scope)
    if problem:
        raise FacetError("scope", problem)
    matrix = get_search_backend().cooccurrence(request=request, a=a, b=b, scope=scope)
    return {
        "a": a,
        "b": b,
        "scope": scope,
        "rows": [json_key(value) for value in matrix.rows],
        "cols": [json_key(value) for value in matrix.cols],
        "matrix": matrix.matrix,
        "row_totals": matrix.row_totals,
        "col_totals": matrix.col_totals,
        "total": matrix.total,
        "lift": [
            [lift(count, matrix.total, matrix.row_totals[i], matrix.col_totals[j]) for j, count in enumerate(row)]
            for i, row in enumerate(matrix.matrix)
        ],
    }


def top_pairs_run(*, request: SearchRequest, scope: str, top: int, min_count: int = 1) -> dict[str, Any]:
    """The ``top`` most over-represented pairs of values of two different facets."""
    if scope not in SCOPES:
        raise FacetError("scope", f"unknown scope '{scope}'; expected one of {', '.join(SCOPES)}")
    if not 1 <= top <= TOP_PAIRS_MAX:
        raise FacetError("top", f"top must be between 1 and {TOP_PAIRS_MAX}")
    if min_count < 1:
        raise FacetError("min_count", "min_count must be >= 1")
    known = facets_for(request.ontology)
    keys = [key for key, facet in known.items() if scope != "object" or facet.kind in OBJECT_KINDS]
    counted = get_search_backend().cooccurrence_pairs(request=request, scope=scope, facets=keys)
    rank = _feature_rank(known, keys)
    pairs = []
    for (first, second), count in counted.pairs.items():
        if count < min_count or implied_pair(first, second, known):
            continue
        value = lift(count, counted.total, counted.marginals[first], counted.marginals[second])
        pairs.append((first, second, count, value))
    pairs.sort(key=lambda pair: (-pair[3], -pair[2], rank[pair[0]], rank[pair[1]]))
    return {
        "scope": scope,
        "total": counted.total,
        "pairs": [
            {"a": first[0], "a_value": json_key(first[1]), "b": second[0], "b_value": json_key(second[1]),
             "count": count, "lift": value}
            for first, second, count, value in pairs[:top]
        ],
    }


def _feature_rank(known: dict[str, Facet], keys: list[str]) -> dict[Feature, tuple[int, int]]:
    """(facet position, value position) of every value: the tie-break of top pairs."""
    return {(key, value): (i, j) for i, key in enumerate(keys) for j, value in enumerate(known[key].values)}


def timeline_run(*, request: SearchRequest, bins: int = TIMELINE_BINS_DEFAULT) -> dict[str, Any]:
    """Histograms of the matching frames over video time and wall-clock time."""
    if not 1 <= bins <= TIMELINE_BINS_MAX:
        raise FacetError("bins", f"bins must be between 1 and {TIMELINE_BINS_MAX}")
    timeline = get_search_backend().timeline(request=request, max_bins=bins)
    video, wall = timeline.video_time, timeline.wall_clock
    return {
        "video_time": {
            "bin_s": video.width,
            "bins": [{"start_s": round(start, 9), "count": count} for start, count in _bins(video)],
        },
        "wall_clock": {
            "bin": _width_text(wall.width),
            "bin_s": wall.width,
            "bins": [{"start": _iso(start), "count": count} for start, count in _bins(wall)],
            "unplaced": timeline.unplaced,
            "focus": _wall_focus(request=request, bins=bins, placed=sum(wall.counts), video_time=video),
        },
    }


def _without_outliers(groups: list[list[int]]) -> list[list[int]]:
    """The groups left when, from either end, a group is dropped while the empty stretch
    between it and its neighbour is more than FOCUS_FAR times the span of the groups that
    remain and it holds fewer frames than they do."""
    kept = list(groups)
    while len(kept) > 1:
        frames = sum(group[2] for group in kept)
        head, tail = kept[0], kept[-1]
        if kept[1][0] - head[1] - 1 > FOCUS_FAR * (tail[1] + 1 - kept[1][0]) and 2 * head[2] < frames:
            kept = kept[1:]
        elif tail[0] - kept[-2][1] - 1 > FOCUS_FAR * (kept[-2][1] + 1 - head[0]) and 2 * tail[2] < frames:
            kept = kept[:-1]
        else:
            break
    return kept


def _wall_focus(*, request: SearchRequest, bins: int, placed: int, video_time: Histogram) -> dict[str, Any] | None:
    """The busiest group of wall-clock times when outliers stand apart (see the module docs)."""
    backend = get_search_backend()
    fine = backend.timeline(request=request, max_bins=TIMELINE_BINS_MAX).wall_clock
    if fine.start is None:
        return None
    groups: list[list[int]] = []  # runs of non-empty bins: [first bin, last bin, frames]
    for index, count in enumerate(fine.counts):
        if not count:
            continue
        if groups and groups[-1][1] == index - 1:
            groups[-1][1:] = [index, groups[-1][2] + count]
        else:
            groups.append([index, index, count])
    kept = _without_outliers(groups)
    if len(kept) == len(groups):
        return None
    first, last = kept[0][0], kept[-1][1]
    low, high = fine.start + first * fine.width, fine.start + (last + 1) * fine.width
    # A frame at clock c of a video recorded at r lies at t = c - r from its start, and no
    # matching frame lies later than the video-time histogram's end.
    latest_t = video_time.start + len(video_time.counts) * video_time.width
    recorded = {"gte": low - latest_t, "lte": high}
    focused = dataclasses.replace(request, query=compile_query(
        query={"and": [request.query, {"video": {"recorded_at": recorded}}]}, ontology=request.ontology))
    wall = backend.timeline(request=focused, max_bins=bins).wall_clock
    others = [group for group in groups if group not in kept]
    return {
        "recorded_from": _iso(recorded["gte"]),
        "recorded_to": _iso(recorded["lte"]),
        "bin": _width_text(wall.width),
        "bin_s": wall.width,
        "bins": [{"start": _iso(start), "count": count} for start, count in _bins(wall)],
        "outside": {
            "frames": placed - sum(wall.counts),
            "earliest": _iso(fine.start + min(group[0] for group in others) * fine.width),
            "latest": _iso(fine.start + (max(group[1] for group in others) + 1) * fine.width),
        },
    }


def _bins(histogram: Histogram) -> list[tuple[float, int]]:
    if histogram.start is None:
        return []
    return [(histogram.start + i * histogram.width, count) for i, count in enumerate(histogram.counts)]


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _width_text(width_s: float | None) -> str | None:
    """A wall-clock bin width as people write it: 15min, 6h, 7d."""
    if width_s is None:
        return None
    for unit, seconds in (("d", 86400), ("h", 3600), ("min", 60)):
        if width_s >= seconds and width_s % seconds == 0:
            return f"{int(width_s // seconds)}{unit}"
    return f"{width_s:g}s"


# Grouped by hour of day and weekday (issue 21) ------------------------------------------------------

GROUPS = {"hour": HOURS, "weekday": WEEKDAYS}


def _grouped(request: SearchRequest, group_by: str, tz: str) -> list[tuple[str, SearchRequest]]:
    """One request per hour (0..23) or weekday (mon..sun): the query AND that ``hour``/``weekday``
    node in ``tz``. Each group is counted by the engine's own clock rules, so a frame of a video
    without recorded_at is in no group."""
    if group_by not in GROUPS:
        raise FacetError("group_by", f"unknown grouping '{group_by}'; expected one of {', '.join(GROUPS)}")
    return [(str(value), dataclasses.replace(request, query={"and": [request.query, {group_by: {
        "in": [value], "tz": tz}}]})) for value in GROUPS[group_by]]


def occurrence_grouped_run(*, request: SearchRequest, unit: str, group_by: str, tz: str) -> dict[str, Any]:
    """:func:`occurrence_run` over every matching frame, plus the same counts per hour of day or
    weekday of the frames' clock time in ``tz`` (``groups``, in cycle order; one engine pass each)."""
    answer = occurrence_run(request=request, unit=unit)
    groups = [{"group": value, "counts": occurrence_run(request=grouped, unit=unit)["counts"]}
              for value, grouped in _grouped(request, group_by, tz)]
    return {**answer, "group_by": group_by, "tz": tz, "groups": groups}


def timeline_grouped_run(*, request: SearchRequest, bins: int, group_by: str, tz: str) -> dict[str, Any]:
    """:func:`timeline_run` plus the matching frames per hour of day or weekday in ``tz``
    (``grouped``); frames of videos without recorded_at are the wall clock's ``unplaced``."""
    answer = timeline_run(request=request, bins=bins)
    backend = get_search_backend()
    counts = [{"group": value, "count": int(backend.search(request=dataclasses.replace(
        grouped, facets=[], page_size=1)).counts["frames"])} for value, grouped in _grouped(request, group_by, tz)]
    return {**answer, "grouped": {"group_by": group_by, "tz": tz, "bins": counts}}
