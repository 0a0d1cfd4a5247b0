"""Overlays: what Scoop knows about a video's detections beside its payload, laid over its
records when they are indexed, so that the payload on disk is never rewritten and the
engines need no storage of their own for it.

The one overlay is human review (docs/api/review.md): every detection gets the built-in
attribute :data:`~indexer.ontology.REVIEW`, the state of its track (or, untracked, of
itself), ``unreviewed`` when it has none; a corrected one also gets its correction's label
and attribute values. The states live in a higher layer (:mod:`analytics.review`), which
registers their source here (:func:`review_source_register`, from its app's ``ready``), as
watches listen to :data:`indexer.signals.video_indexed`: the indexer does not know who tells it.

Every write that indexes records passes them through :func:`reviewed` once they are
validated: ingest and restore, ``rebuild_index``, live appends and re-indexing after a
review (:func:`indexer.services.video_reindex`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from indexer.ontology import REVIEW, REVIEW_STATES
from indexer.records import Analytics, AttrValue, ObjectRecord, Record, TrackRecord

UNREVIEWED = REVIEW_STATES[0]


@dataclass(frozen=True)
class Review:
    """The reviewed state of one track or detection, and, when corrected, its correction:
    ``{"label"?: str, "attrs"?: {name: value}}`` (the values are the corrected label's)."""

    state: str
    correction: dict[str, Any] | None = None


@dataclass
class VideoReviews:
    """One video's reviews: by track id, and by untracked detection (frame index, 0-based
    position among that frame's detections in record order, as the engines keep them)."""

    tracks: dict[str, Review] = field(default_factory=dict)
    detections: dict[tuple[int, int], Review] = field(default_factory=dict)


ReviewSource = Callable[[int], VideoReviews]
_sources: list[ReviewSource] = []


def review_source_register(source: ReviewSource) -> None:
    """Make ``source(video_id)`` the source of review states (the last one registered wins)."""
    _sources[:] = [source]


def reviewed(video_id: int, analytics: Analytics) -> Analytics:
    """``analytics`` with the review overlay: states are read when the records are, so a write
    sees the reviews made up to the moment it reads the video."""

    def records() -> Iterator[Record]:
        reviews = _sources[0](video_id) if _sources else VideoReviews()
        positions: Counter[int] = Counter()
        for record in analytics.records():
            if isinstance(record, ObjectRecord):
                position = positions[record.index]
                positions[record.index] += 1
                key = reviews.tracks.get(record.track) if record.track is not None else (
                    reviews.detections.get((record.index, position)))
                yield _reviewed_object(record, key)
            elif isinstance(record, TrackRecord) and record.track in reviews.tracks:
                yield _corrected_track(record, reviews.tracks[record.track])
            else:
                yield record

    return Analytics(format=analytics.format, meta=analytics.meta, records=records, warnings=analytics.warnings)


def _reviewed_object(record: ObjectRecord, review: Review | None) -> ObjectRecord:
    if review is None:
        return _changed(record, attrs={**record.attrs, REVIEW: UNREVIEWED})
    label, attrs = _corrected(record.label, record.attrs, review.correction)
    return _changed(record, label=label, attrs={**attrs, REVIEW: review.state})


def _changed(record: ObjectRecord, **changes: Any) -> ObjectRecord:
    """A copy of ``record`` with ``changes``: every detection is copied, and this shallow copy
    costs a sixth of ``dataclasses.replace`` (0.07 s instead of 0.45 s per 100,000 detections)."""
    copied = object.__new__(ObjectRecord)
    copied.__dict__.update(record.__dict__, **changes)
    return copied


def _corrected_track(record: TrackRecord, review: Review) -> TrackRecord:
    """A track's constant attributes under its correction: they override its detections' values,
    so they must say what the correction says."""
    if not review.correction:
        return record
    label, attrs = _corrected(record.label, record.attrs, review.correction)
    return replace(record, label=label, attrs=attrs)


def _corrected(label: str | None, attrs: dict[str, AttrValue], correction: dict[str, Any] | None
               ) -> tuple[str | None, dict[str, AttrValue]]:
    """A label and values under a correction: another label keeps none of the old label's values."""
    if not correction:
        return label, attrs
    corrected = correction.get("label", label)
    kept = attrs if corrected == label else {}
    return corrected, {**kept, **correction.get("attrs", {})}
