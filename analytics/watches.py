"""Watches: a saved search that alerts when new data matches it (docs/api/alerts.md).

A write notes what it added (:func:`writes_record`): a whole video (an ingest), or the time span
of the frames a live chunk added. An evaluation (:func:`watches_evaluate`) takes every write
noted since the last one and asks the engine for every active watch's clips among the frames
they added alone, all watches at once (:meth:`~indexer.search.contract.BaseSearchBackend.written_clips`):
the DuckDB engine copies the written rows into a small index of their own and evaluates every
watch's query there in one SELECT; the other engines run each watch's search narrowed to the
written spans. Either way the answer is the same as a search's, and the index is never rescanned.
One evaluation for many writes keeps the cost per evaluation, not per write and watch, when many
cameras stream at once (``SCOOP_WATCH_BATCH_S``: how long writes gather before an evaluation).

Clips that cross writes: a matching frame belongs to the clip of the matching frame before it
when it comes at most ``gap_s`` later (the search guide's rule). So the clips found in a write's
span are joined with the clips the watch saw before in that video (:class:`WatchClip`) when they
come within ``gap_s`` of each other. A clip that grows while a stream goes on therefore stays one
clip and one alert, whose end moves; the first frames of a clip indexed before the watch was made
are not part of it. Two evaluations of one video join their clips one at a time (the video's row
is locked), so that no clip gets two alerts.

A joined clip alerts once it lasts ``min_duration_s``. ``cooldown_s``: after an alert, further
clips of the same video starting within that many seconds of wall-clock time do not alert, ever.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from analytics.alert_delivery import webhook_check
from analytics.models import Alert, PendingWrite, SavedSearch, Watch, WatchClip
from indexer.models import Video
from indexer.search import get_search_backend
from indexer.search.contract import DEFAULT_FPS, GAP_TOLERANCE_S, Clip, SearchRequest, Written
from indexer.selectors import search_request

WATCH_FIELDS = ("min_duration_s", "cooldown_s", "in_app", "webhook_url", "email", "active")


@dataclass(frozen=True)
class Span:
    """The frames a write added to a video: frame times from ``start_t`` to ``end_t`` (None: the
    whole video)."""

    start_t: float | None = None
    end_t: float | None = None


def watch_set(*, saved: SavedSearch, **fields) -> tuple[Watch, bool]:
    """Watch ``saved`` with ``fields`` (:data:`WATCH_FIELDS`; those left out keep their values, or
    their defaults for a new watch). True when the watch is new. A new watch gets its webhook secret."""
    if fields.get("webhook_url"):
        webhook_check(fields["webhook_url"])
    watch = Watch.objects.filter(saved_search=saved).first()
    created = watch is None
    if created:
        watch = Watch(saved_search=saved, secret=secrets.token_hex(32))
    for name in WATCH_FIELDS:
        if name in fields:
            setattr(watch, name, fields[name])
    watch.save()
    return watch, created


def watch_delete(*, saved: SavedSearch) -> bool:
    """Stop watching ``saved`` (its alerts go with the watch); False when it was not watched."""
    deleted, _ = Watch.objects.filter(saved_search=saved).delete()
    return bool(deleted)


def alert_acknowledge(*, alert: Alert, user) -> Alert:
    """Mark an alert seen by ``user`` (again: the first acknowledgement stays)."""
    if alert.acknowledged_by_id is None:
        alert.acknowledged_by, alert.acknowledged_at = user, timezone.now()
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
    return alert


def writes_record(*, video_id: int, span: Span) -> None:
    """Note a write for the next evaluation (:func:`watches_evaluate`)."""
    PendingWrite.objects.create(video_id=video_id, start_t=span.start_t, end_t=span.end_t)


def writes_pending() -> bool:
    return PendingWrite.objects.exists()


def writes_take() -> dict[int, Span]:
    """Take every pending write, one span per video: from the first to the last frame the writes
    added (the whole video when one of them was a whole video)."""
    with transaction.atomic():
        writes = list(PendingWrite.objects.select_for_update().order_by("id"))
        PendingWrite.objects.filter(pk__in=[write.pk for write in writes]).delete()
    spans: dict[int, Span] = {}
    for write in writes:
        known = spans.get(write.video_id)
        if write.start_t is None or (known is not None and known.start_t is None):
            spans[write.video_id] = Span()
        elif known is None:
            spans[write.video_id] = Span(write.start_t, write.end_t)
        else:
            spans[write.video_id] = Span(min(known.start_t, write.start_t), max(known.end_t, write.end_t))
    return spans


def watches_evaluate(*, writes: dict[int, Span]) -> list[Alert]:
    """Run every active watch over what the writes added, all in one evaluation of the engine
    (:meth:`~indexer.search.contract.BaseSearchBackend.written_clips`: in DuckDB, one pass over
    the written rows alone, whatever the number of watches and writes); returns the alerts made
    (new ones only: alerts whose clip grew are updated in place)."""
    videos = Video.objects.in_bulk(list(writes))
    if not videos:
        return []
    watches = list(Watch.objects.filter(active=True).select_related("saved_search__schema").order_by("pk"))
    written = [Written(video_id=video.pk, name=video.name, start_t=writes[video.pk].start_t,
                       end_t=writes[video.pk].end_t) for video in videos.values()]
    found = get_search_backend().written_clips(requests=[_request(watch.saved_search) for watch in watches],
                                               written=written)
    made = []
    for watch, clips in zip(watches, found, strict=True):
        by_video: dict[int, list[Clip]] = {}
        for clip in clips:
            by_video.setdefault(clip.video_id, []).append(clip)
        for video_id, video_clips in by_video.items():
            made += _joined(watch, videos[video_id], video_clips)
    return made


def _request(saved: SavedSearch) -> SearchRequest:
    """The saved search, counting no facets."""
    return search_request(schema=saved.schema, query=saved.query, q=saved.q, filters=saved.filters,
                          gap_s=saved.gap_s, facets=[])


def _joined(watch: Watch, video: Video, clips: list[Clip]) -> list[Alert]:
    """Join ``clips`` with the clips the watch saw before in the video, and alert on those that now
    last long enough; under a lock on the video's row, one evaluation at a time."""
    frame_s = 1.0 / (video.fps or DEFAULT_FPS)
    reach = watch.saved_search.gap_s + GAP_TOLERANCE_S
    made = []
    with transaction.atomic():
        Video.objects.select_for_update().filter(pk=video.pk).first()
        for clip in clips:
            last_t = clip.end_s - frame_s
            touching = list(WatchClip.objects.filter(watch=watch, video=video, start_s__lte=last_t + reach,
                                                     last_t__gte=clip.start_s - reach)
                            .select_related("alert").order_by("start_s"))
            kept = _merged(watch, video, clip, last_t, touching)
            alert = _alert_for(watch, kept)
            if alert is not None:
                made.append(alert)
    return made


def _merged(watch: Watch, video: Video, clip: Clip, last_t: float, touching: list[WatchClip]) -> WatchClip:
    """One clip from ``clip`` and the earlier clips it touches: the one that alerted first is kept
    (the others' alerts, of parts of the same clip, are removed)."""
    alerted = sorted((known for known in touching if known.alert_id), key=lambda known: known.alert_id)
    kept = alerted[0] if alerted else touching[0] if touching else WatchClip(watch=watch, video=video)
    starts = [(known.start_s, known.first_frame) for known in touching] + [(clip.start_s, clip.start_frame)]
    kept.start_s, kept.first_frame = min(starts)
    kept.last_t = max([last_t] + [known.last_t for known in touching])
    kept.end_s = max([clip.end_s] + [known.end_s for known in touching])
    kept.suppressed = any(known.suppressed for known in touching) and not alerted
    for known in touching:
        if known.pk != kept.pk:
            if known.alert_id:
                known.alert.delete()
            known.delete()
    kept.save()
    return kept


def _alert_for(watch: Watch, clip: WatchClip) -> Alert | None:
    """Move the clip's alert to the clip's bounds, or make one when the clip now lasts long enough
    and is not within the cooldown; the new alert, or None."""
    if clip.alert_id:
        Alert.objects.filter(pk=clip.alert_id).update(start_s=clip.start_s, end_s=clip.end_s,
                                                      first_frame=clip.first_frame, updated_at=timezone.now())
        return None
    if clip.suppressed or clip.end_s - clip.start_s < watch.min_duration_s - GAP_TOLERANCE_S:
        return None
    if watch.cooldown_s > 0 and Alert.objects.filter(
            watch=watch, video=clip.video, created_at__gte=timezone.now() - timedelta(seconds=watch.cooldown_s)
    ).exists():
        clip.suppressed = True
        clip.save(update_fields=["suppressed"])
        return None
    clip.alert = Alert.objects.create(watch=watch, video=clip.video, start_s=clip.start_s, end_s=clip.end_s,
                                      first_frame=clip.first_frame)
    clip.save(update_fields=["alert"])
    return clip.alert
