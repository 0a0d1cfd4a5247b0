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
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
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
    return _joined(videos, list(zip(watches, found, strict=True)))


# Saved searches' requests as this process compiled them, by (id, updated_at): parsing and checking
# every watch's query against its schema again at each evaluation cost as much as evaluating them.
_REQUESTS: dict[tuple[int, datetime], SearchRequest] = {}
REQUESTS_KEPT = 2000


def _request(saved: SavedSearch) -> SearchRequest:
    """The saved search, counting no facets (compiled once per version of the saved search)."""
    key = (saved.pk, saved.updated_at)
    request = _REQUESTS.get(key)
    if request is None:
        if len(_REQUESTS) >= REQUESTS_KEPT:
            _REQUESTS.clear()
        request = _REQUESTS[key] = search_request(schema=saved.schema, query=saved.query, q=saved.q,
                                                  filters=saved.filters, gap_s=saved.gap_s, facets=[],
                                                  tz=saved.tz or None)
    return request


def _joined(videos: dict[int, Video], found: list[tuple[Watch, list[Clip]]]) -> list[Alert]:
    """Join each watch's new clips with the clips it saw before in the same videos, and alert on
    those that now last long enough. One transaction, which first locks the written videos' rows
    (evaluations of the same videos take turns, so that no clip gets two alerts), and a few
    queries in all, whatever the number of watches and clips."""
    pending = [(watch, clip) for watch, clips in found for clip in clips]
    if not pending:
        return []
    with transaction.atomic():
        list(Video.objects.select_for_update().filter(pk__in=sorted(videos)).order_by("pk").values_list("pk"))
        joins = _Joins(videos, pending)
        for watch, clip in pending:
            joins.add(watch, videos[clip.video_id], clip)
        return joins.save()


class _Joins:
    """The clips that new clips may join, read at once, joined in memory and written back at once.

    A new clip of a watch joins the known clips of its video that it touches (within the watch's
    ``gap_s``); the one that alerted first is kept and the others go, with their alerts (parts of
    the same clip). The kept clip gets an alert once it lasts ``min_duration_s``, unless it came
    within ``cooldown_s`` of another alert of the same watch and video (then it never alerts)."""

    def __init__(self, videos: dict[int, Video], pending: list[tuple[Watch, Clip]]):
        self.now = timezone.now()
        reach = max(watch.saved_search.gap_s for watch, _ in pending) + GAP_TOLERANCE_S
        earliest: dict[int, float] = {}
        for _, clip in pending:
            earliest[clip.video_id] = min(earliest.get(clip.video_id, clip.start_s), clip.start_s)
        watch_ids = sorted({watch.pk for watch, _ in pending})
        near = Q()
        for video_id, start_s in earliest.items():
            near |= Q(video_id=video_id, last_t__gte=start_s - reach)
        self.known: dict[tuple[int, int], list[WatchClip]] = {}
        for known in WatchClip.objects.filter(near, watch_id__in=watch_ids).select_related("alert"):
            self.known.setdefault((known.watch_id, known.video_id), []).append(known)
        cooling = [watch for watch, _ in pending if watch.cooldown_s > 0]
        self.recent: dict[tuple[int, int], list[tuple[int, datetime]]] = {}
        if cooling:
            since = self.now - timedelta(seconds=max(watch.cooldown_s for watch in cooling))
            for pk, watch_id, video_id, created_at in Alert.objects.filter(
                    watch_id__in={watch.pk for watch in cooling}, video_id__in=list(earliest),
                    created_at__gte=since).values_list("pk", "watch_id", "video_id", "created_at"):
                self.recent.setdefault((watch_id, video_id), []).append((pk, created_at))
        self.changed: dict[int, WatchClip] = {}  # by id(): the clips to create or update
        self.gone_clips: list[int] = []
        self.gone_alerts: set[int] = set()
        self.new_alerts: list[Alert] = []
        self.moved_alerts: dict[int, Alert] = {}

    def add(self, watch: Watch, video: Video, clip: Clip) -> None:
        frame_s = 1.0 / (video.fps or DEFAULT_FPS)
        reach = watch.saved_search.gap_s + GAP_TOLERANCE_S
        last_t = clip.end_s - frame_s
        clips = self.known.setdefault((watch.pk, video.pk), [])
        touching = sorted((known for known in clips if known.start_s <= last_t + reach
                           and known.last_t >= clip.start_s - reach), key=lambda known: known.start_s)
        alerted = sorted((known for known in touching if known.alert is not None),
                         key=lambda known: self._alert_order(known.alert))
        kept = alerted[0] if alerted else touching[0] if touching else WatchClip(watch=watch, video=video)
        starts = [(known.start_s, known.first_frame) for known in touching] + [(clip.start_s, clip.start_frame)]
        kept.start_s, kept.first_frame = min(starts)
        kept.last_t = max([last_t] + [known.last_t for known in touching])
        kept.end_s = max([clip.end_s] + [known.end_s for known in touching])
        kept.suppressed = any(known.suppressed for known in touching) and not alerted
        for known in touching:
            if known is not kept:
                self._drop(clips, known)
        if kept not in touching:
            clips.append(kept)
        self.changed[id(kept)] = kept
        self._alert_for(watch, kept)

    def _alert_order(self, alert: Alert) -> tuple[int, int]:
        """Alerts made first sort first: stored ones by id, then this evaluation's in turn."""
        return (0, alert.pk) if alert.pk is not None else (1, self.new_alerts.index(alert))

    def _drop(self, clips: list[WatchClip], known: WatchClip) -> None:
        clips.remove(known)
        self.changed.pop(id(known), None)
        if known.pk is not None:
            self.gone_clips.append(known.pk)
        if known.alert is None:
            return
        if known.alert.pk is None:
            self.new_alerts.remove(known.alert)
        else:
            self.gone_alerts.add(known.alert.pk)
            self.moved_alerts.pop(known.alert.pk, None)

    def _alert_for(self, watch: Watch, clip: WatchClip) -> None:
        """Move the clip's alert to the clip's bounds, or make one when the clip now lasts long
        enough and is not within the cooldown."""
        alert = clip.alert
        if alert is not None:
            alert.start_s, alert.end_s, alert.first_frame = clip.start_s, clip.end_s, clip.first_frame
            if alert.pk is not None:
                self.moved_alerts[alert.pk] = alert
            return
        if clip.suppressed or clip.end_s - clip.start_s < watch.min_duration_s - GAP_TOLERANCE_S:
            return
        if watch.cooldown_s > 0 and self._cooling(watch, clip.video_id):
            clip.suppressed = True
            return
        clip.alert = Alert(watch=watch, video_id=clip.video_id, start_s=clip.start_s, end_s=clip.end_s,
                           first_frame=clip.first_frame)
        self.new_alerts.append(clip.alert)

    def _cooling(self, watch: Watch, video_id: int) -> bool:
        """Whether the watch alerted on the video within its cooldown (this evaluation included)."""
        since = self.now - timedelta(seconds=watch.cooldown_s)
        if any(pk not in self.gone_alerts and created_at >= since
               for pk, created_at in self.recent.get((watch.pk, video_id), [])):
            return True
        return any(alert.watch_id == watch.pk and alert.video_id == video_id for alert in self.new_alerts)

    def save(self) -> list[Alert]:
        """Write the joins back; the new alerts."""
        WatchClip.objects.filter(pk__in=self.gone_clips).delete()
        Alert.objects.filter(pk__in=self.gone_alerts).delete()
        Alert.objects.bulk_create(self.new_alerts)
        for alert in self.moved_alerts.values():
            alert.updated_at = self.now
        Alert.objects.bulk_update(list(self.moved_alerts.values()), ["start_s", "end_s", "first_frame", "updated_at"])
        for clip in self.changed.values():
            clip.alert_id = clip.alert.pk if clip.alert is not None else None
        WatchClip.objects.bulk_create([clip for clip in self.changed.values() if clip.pk is None])
        WatchClip.objects.bulk_update([clip for clip in self.changed.values() if clip.pk is not None],
                                      ["start_s", "last_t", "end_s", "first_frame", "alert", "suppressed"])
        return self.new_alerts
