"""Reads: the items a search matches, campaigns' counts and statistics, reviewers' standing,
and the review states the search layer lays over the index (:func:`review_states`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Q

from analytics.review.aggregation import fleiss_agreement, good_standing
from analytics.review.models import (
    ANSWERS,
    CORRECTED,
    DETECTIONS,
    DISPUTED,
    STATES,
    TRACKS,
    UNREVIEWED,
    Batch,
    Campaign,
    Item,
    Vote,
)
from analytics.search import json_key, seconds
from indexer.models import Video
from indexer.ontology import REVIEW
from indexer.overlays import Review, VideoReviews
from indexer.query.tree import normalize
from indexer.search import get_search_backend
from indexer.search.contract import DEFAULT_FPS, Detection, SearchRequest
from indexer.search.semantics import matched_detections, numbered_detections
from indexer.selectors import schema_ontology, video_labels, video_stream_url, videos_by_id


def search_items(*, request: SearchRequest, unit: str) -> list[dict[str, Any]]:
    """The review items a search matches now, as :class:`Item` fields: one per track (``unit``
    tracks, the engine's :meth:`matched_tracks`: its first matched detection gives label and
    attributes, its span runs from its first to its last matched detection) or per untracked
    detection (``detections``)."""
    backend = get_search_backend()
    if unit == TRACKS:
        spans = [{"video_id": found.video_id, "video_name": found.video_name, "key": found.track,
                  "track": found.track, "label": found.label, "attrs": found.attrs, "start_frame": found.start_index,
                  "end_frame": found.end_index, "start_s": found.start_t, "end_s": found.end_t}
                 for found in backend.matched_tracks(request=request)]
    else:
        detections = backend.detections(request=request)
        try:
            spans = [{"video_id": found.video_id, "video_name": found.video_name, "key": f"{found.index}:{position}",
                      "track": None, "label": found.label, "attrs": _own_attrs(found), "start_frame": found.index,
                      "end_frame": found.index, "start_s": found.t, "end_s": found.t}
                     for found, position in matched_detections(detections, request) if found.track is None]
        finally:
            detections.close()
    fps = {video.pk: video.fps or DEFAULT_FPS for video in videos_by_id(ids={span["video_id"] for span in spans}
                                                                          ).values()}
    for span in spans:
        span["unit"] = unit
        span["end_s"] = seconds(span["end_s"] + 1 / fps.get(span["video_id"], DEFAULT_FPS))
        span["start_s"] = seconds(span["start_s"])
    return spans


def _own_attrs(detection: Detection) -> dict[str, Any]:
    """A detection's attribute values, less the built-in review state the index lays over them."""
    return {name: value for name, value in detection.attrs.items() if name != REVIEW}


def campaign_state_counts(*, campaign: Campaign) -> dict[str, int]:
    """How many of the campaign's items are in each state (every state, 0 where none)."""
    counts = dict(campaign.items.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    return {state: counts.get(state, 0) for state in STATES}


@dataclass(frozen=True)
class ReviewerGold:
    reviewer_id: int
    username: str
    votes: int
    gold_votes: int
    gold_correct: int
    flagged_batches: int

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_votes if self.gold_votes else None

    @property
    def good_standing(self) -> bool:
        return good_standing(gold_votes=self.gold_votes, gold_correct_votes=self.gold_correct,
                             min_accuracy=settings.SCOOP_REVIEW_MIN_GOLD_ACCURACY)


def campaign_reviewers(*, campaign: Campaign, ids: Collection[int] | None = None) -> dict[int, ReviewerGold]:
    """Each reviewer who voted in the campaign (or those of them in ``ids``): votes, gold votes
    and how many were right."""
    votes, batches = Vote.objects.filter(item__campaign=campaign), Batch.objects.filter(campaign=campaign, flagged=True)
    if ids is not None:
        votes, batches = votes.filter(reviewer_id__in=ids), batches.filter(reviewer_id__in=ids)
    rows = (votes.values("reviewer_id", "reviewer__username")
            .annotate(votes=Count("id"), gold_votes=Count("id", filter=Q(gold=True)),
                      gold_correct=Count("id", filter=Q(gold=True, correct=True))))
    flagged = dict(batches.values_list("reviewer_id").annotate(n=Count("id")).values_list("reviewer_id", "n"))
    return {row["reviewer_id"]: ReviewerGold(
        reviewer_id=row["reviewer_id"], username=row["reviewer__username"], votes=row["votes"],
        gold_votes=row["gold_votes"], gold_correct=row["gold_correct"],
        flagged_batches=flagged.get(row["reviewer_id"], 0)) for row in rows}


def item_effective(item: Item) -> tuple[str, dict[str, Any]]:
    """The label and attribute values an item counts under: its correction over what the index
    held. A corrected label keeps none of the old label's values, which are not its attributes."""
    correction = item.correction if item.state == CORRECTED and item.correction else {}
    label = correction.get("label", item.label)
    kept = item.attrs if label == item.label else {}
    return label, {**kept, **correction.get("attrs", {})}


def campaign_stats(*, campaign: Campaign) -> dict[str, Any]:
    """Items per state, per label and per attribute value (as corrected), votes, agreement
    between reviewers, each reviewer's votes and gold accuracy, and the items the index no
    longer has (:func:`items_missing`)."""
    items = list(campaign.items.all())
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    attributes: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for item in items:
        label, attrs = item_effective(item)
        labels[label][item.state] += 1
        for name, value in attrs.items():
            attributes[name][json_key(value)][item.state] += 1
    reviewers = campaign_reviewers(campaign=campaign)
    return {
        "campaign": campaign.pk,
        "items": len(items),
        "states": campaign_state_counts(campaign=campaign),
        "labels": {label: _per_state(counts) for label, counts in sorted(labels.items())},
        "attributes": {name: {value: _per_state(counts) for value, counts in sorted(values.items())}
                       for name, values in sorted(attributes.items())},
        "votes": _vote_counts(campaign),
        "agreement": _agreement(campaign),
        "reviewers": [{"reviewer": r.username, "votes": r.votes, "gold_votes": r.gold_votes,
                       "gold_correct": r.gold_correct, "gold_accuracy": r.gold_accuracy,
                       "good_standing": r.good_standing, "flagged_batches": r.flagged_batches}
                      for r in sorted(reviewers.values(), key=lambda r: r.username)],
        "missing": items_missing(campaign=campaign, items=items),
    }


def _per_state(counts: Counter[str]) -> dict[str, int]:
    return {state: counts.get(state, 0) for state in STATES}


def _vote_counts(campaign: Campaign) -> dict[str, Any]:
    votes = Vote.objects.filter(item__campaign=campaign)
    answers = dict(votes.filter(gold=False).values_list("answer").annotate(n=Count("id")).values_list("answer", "n"))
    return {
        "total": votes.count(),
        "gold": votes.filter(gold=True).count(),
        "counted": votes.filter(gold=False, batch__flagged=False).count(),
        "flagged_batches": Batch.objects.filter(campaign=campaign, flagged=True).count(),
        "answers": {answer: answers.get(answer, 0) for answer in ANSWERS},
    }


def _agreement(campaign: Campaign) -> dict[str, Any]:
    """Agreement on the answers (yes, no, unsure) of the counted votes of regular items."""
    per_item: dict[int, list[int]] = defaultdict(lambda: [0] * len(ANSWERS))
    counted = Vote.objects.filter(item__campaign=campaign, gold=False, batch__flagged=False)
    for item_id, answer in counted.values_list("item_id", "answer"):
        per_item[item_id][ANSWERS.index(answer)] += 1
    agreement = fleiss_agreement(list(per_item.values()))
    return {"items": agreement.items, "categories": list(ANSWERS),
            "percent": None if agreement.percent is None else round(agreement.percent, 3),
            "fleiss_kappa": None if agreement.kappa is None else round(agreement.kappa, 3)}


def items_missing(*, campaign: Campaign, items: list[Item]) -> list[dict[str, Any]]:
    """The items whose track or detection the index no longer holds (a re-ingest changed
    the video's track ids, or the video was deleted): reported, never dropped."""
    names = dict(Video.objects.filter(pk__in={item.video_id for item in items}).values_list("pk", "name"))
    present: set[tuple[int, str, str]] = set()
    if names:
        ontology = schema_ontology(campaign.schema)
        every_frame = SearchRequest(ontology=ontology, query=normalize({"video": {"name": list(names.values())}},
                                                                          ontology))
        for detection, position in numbered_detections(get_search_backend().detections(request=every_frame)):
            if detection.track is not None:
                present.add((detection.video_id, TRACKS, detection.track))
            else:
                present.add((detection.video_id, DETECTIONS, f"{detection.index}:{position}"))
    return [{"item": item.pk, "video": item.video_id, "video_name": item.video_name, "unit": item.unit,
             "key": item.key, "state": item.state, "reason": "video deleted" if item.video_id not in names
             else "track gone" if item.unit == TRACKS else "detection gone"}
            for item in items if (item.video_id, item.unit, item.key) not in present]


@dataclass(frozen=True)
class ReviewState:
    """One reviewed item as search counts it: keyed by ``(video_id, unit, key)`` (see
    :mod:`analytics.review.models`), its ``state``, and the ``label`` and ``attrs`` it counts
    under (its correction applied when corrected)."""

    video_id: int
    unit: str
    key: str
    state: str
    label: str
    attrs: dict[str, Any]
    updated_at: datetime
    correction: dict[str, Any] | None = None  # every campaign's correction of the key, in order


def review_states(*, videos: Iterable[int] | None = None) -> list[ReviewState]:
    """The review state of every reviewed item of ``videos`` (None: of all videos), one per
    key: where campaigns reviewed the same track, the latest update wins. Unreviewed items
    are left out (what no state names is unreviewed). ``correction`` composes the corrections
    of the key's items in the order they were made, so that a later campaign over what an
    earlier one corrected (its items hold the corrected label) keeps that correction."""
    items = Item.objects.exclude(state=UNREVIEWED).order_by("updated_at", "id")
    if videos is not None:
        items = items.filter(video_id__in=list(videos))
    states: dict[tuple[int, str, str], ReviewState] = {}
    for item in items:
        label, attrs = item_effective(item)
        key = (item.video_id, item.unit, item.key)
        earlier = states[key].correction if key in states else None
        correction = _composed(earlier, item.correction if item.state == CORRECTED else None)
        states[key] = ReviewState(
            video_id=item.video_id, unit=item.unit, key=item.key, state=item.state, label=label, attrs=attrs,
            updated_at=item.updated_at, correction=correction)
    return sorted(states.values(), key=lambda s: (s.video_id, s.unit, s.key))


def _composed(first: dict[str, Any] | None, then: dict[str, Any] | None) -> dict[str, Any] | None:
    """One correction that does what ``first`` then ``then`` do (another label drops the values)."""
    if not first or not then:
        return first or then
    label = then.get("label", first.get("label"))
    kept = first.get("attrs", {}) if "label" not in then or then["label"] == first.get("label") else {}
    composed: dict[str, Any] = {"label": label} if label is not None else {}
    attrs = {**kept, **then.get("attrs", {})}
    return {**composed, "attrs": attrs} if attrs else composed


def video_reviews(video_id: int) -> VideoReviews:
    """What the index lays over ``video_id``'s detections (:mod:`indexer.overlays`): the state
    and correction of each reviewed track and untracked detection."""
    reviews = VideoReviews()
    for state in review_states(videos=[video_id]):
        review = Review(state=state.state, correction=state.correction)
        if state.unit == TRACKS:
            reviews.tracks[state.key] = review
        else:
            frame, _, position = state.key.partition(":")
            reviews.detections[(int(frame), int(position))] = review
    return reviews


def batch_items(*, batch: Batch) -> list[dict[str, Any]]:
    """A batch's items as a reviewer sees them, in the order served (gold not marked)."""
    entries = list(batch.entries.select_related("item"))
    videos = videos_by_id(ids={entry.item.video_id for entry in entries})
    return [_batch_item(entry.item, videos.get(entry.item.video_id), batch.campaign.question) for entry in entries]


def _batch_item(item: Item, video: Video | None, question: str) -> dict[str, Any]:
    return {"id": item.pk, "video": item.video_id, "video_name": item.video_name, "track": item.track,
            "label": item.label, "start_s": item.start_s, "end_s": item.end_s, "question": question,
            "stream_url": video_stream_url(video) if video else None}


def export_rows(*, campaign: Campaign) -> Iterator[dict[str, Any]]:
    """Every item of the campaign with its state, votes and correction, by video and key."""
    votes = dict(Vote.objects.filter(item__campaign=campaign, gold=False, batch__flagged=False)
                 .values_list("item_id").annotate(n=Count("id")).values_list("item_id", "n"))
    for item in campaign.items.order_by("video_id", "unit", "id"):
        label, attrs = item_effective(item)
        yield {"item": item.pk, "video": item.video_id, "video_name": item.video_name, "unit": item.unit,
               "key": item.key, "track": item.track, "start_frame": item.start_frame, "end_frame": item.end_frame,
               "start_s": item.start_s, "end_s": item.end_s, "label": item.label, "attrs": item.attrs,
               "state": item.state, "votes": votes.get(item.pk, 0), "decided_by_admin": item.decided_by_id is not None,
               "corrected_label": label if item.state == CORRECTED else None,
               "corrected_attrs": attrs if item.state == CORRECTED else None}


def item_leased_to(*, item: Item, reviewer) -> bool:
    """Whether one of ``reviewer``'s batches (open or not) held the item."""
    return item.leases.filter(batch__reviewer=reviewer).exists()


def item_boxes(*, item: Item) -> dict[str, Any]:
    """What the review page draws over an item's clip: the frames of its span with only the
    item's own box in each (its track's detections, or its one untracked detection), and the
    video's frame rate and size to place them. Frames come from the index, as the player's."""
    video = videos_by_id(ids=[item.video_id]).get(item.video_id)
    frames = []
    if video is not None:
        for frame in video_labels(video=video, start_s=item.start_s, end_s=item.end_s):
            objects = [obj for position, obj in enumerate(frame["objects"]) if _is_item(item, frame, obj, position)]
            if objects:
                frames.append({"index": frame["index"], "t": frame["t"], "objects": objects})
    return {"item": item.pk, "video": item.video_id, "fps": video.fps if video else None,
            "width": video.width if video else None, "height": video.height if video else None,
            "start_s": item.start_s, "end_s": item.end_s, "frames": frames}


def _is_item(item: Item, frame: dict[str, Any], obj: dict[str, Any], position: int) -> bool:
    if item.unit == TRACKS:
        return obj["track"] == item.track
    return obj["track"] is None and f"{frame['index']}:{position}" == item.key


def campaigns_listed() -> list[dict[str, Any]]:
    """Every campaign, newest first, with its items, how many still wait for votes
    (unreviewed) and how many wait for an admin (disputed): the review pages' list."""
    campaigns = Campaign.objects.annotate(
        item_count=Count("items"), unreviewed=Count("items", filter=Q(items__state=UNREVIEWED)),
        disputed=Count("items", filter=Q(items__state=DISPUTED))).select_related("schema")
    return [{"id": c.pk, "name": c.name, "question": c.question, "unit": c.unit, "schema": c.schema.name,
             "items": c.item_count, "unreviewed": c.unreviewed, "disputed": c.disputed, "created_at": c.created_at}
            for c in campaigns]


def campaign_disputed(*, campaign: Campaign) -> list[dict[str, Any]]:
    """The campaign's disputed items, each with its counted votes' answers and the distinct
    corrections voters proposed, for an admin to decide."""
    items = list(campaign.items.filter(state=DISPUTED).order_by("video_name", "id"))
    votes: dict[int, list[Vote]] = defaultdict(list)
    for vote in Vote.objects.filter(item__in=items, gold=False, batch__flagged=False).order_by("id"):
        votes[vote.item_id].append(vote)
    disputed = []
    for item in items:
        answers = Counter(vote.answer for vote in votes[item.pk])
        corrections = []
        for vote in votes[item.pk]:
            if vote.correction and vote.correction not in corrections:
                corrections.append(vote.correction)
        disputed.append({"id": item.pk, "video": item.video_id, "video_name": item.video_name, "track": item.track,
                         "label": item.label, "attrs": item.attrs, "start_s": item.start_s, "end_s": item.end_s,
                         "answers": {answer: answers.get(answer, 0) for answer in ANSWERS},
                         "corrections": corrections})
    return disputed
