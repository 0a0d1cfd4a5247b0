"""Writes: campaigns from a search, leased batches, votes and their aggregation, gold
answers and admins' decisions. The rules themselves are :mod:`analytics.review.aggregation`."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from analytics.review.aggregation import CountedVote, aggregate, gold_correct, outcome
from analytics.review.models import (
    CONFIRMED,
    CORRECTED,
    NO,
    REJECTED,
    UNREVIEWED,
    YES,
    Batch,
    BatchItem,
    Campaign,
    Item,
    Vote,
)
from analytics.review.selectors import campaign_reviewers, search_items
from indexer.models import LabelSchema
from indexer.ontology import NUMERIC, Ontology, suggestion
from indexer.selectors import schema_ontology, search_request
from indexer.tasks import video_reindex_task

# Decisions an admin may take (``unreviewed`` and ``disputed`` are what votes leave).
DECISIONS = (CONFIRMED, REJECTED, CORRECTED)


class ReviewError(Exception):
    """A review request that cannot be done: ``path`` names the field, ``status`` the HTTP answer."""

    def __init__(self, message: str, *, path: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.path = path
        self.status = status


def campaign_create(*, name: str, schema: LabelSchema, unit: str, question: str, query: Any = None,
                    q: str | None = None, filters: Any = None, author: AbstractBaseUser | None) -> Campaign:
    """A campaign over what the search (``query`` or ``q``, ``filters``, under ``schema``)
    matches now, in ``unit``; the search is validated as the search API does."""
    request = search_request(schema=schema, query=query, q=q, filters=filters)
    found = search_items(request=request, unit=unit)
    with transaction.atomic():
        campaign = Campaign.objects.create(name=name, schema=schema, unit=unit, question=question,
                                           search=_given(query=query, q=q, filters=filters), created_by=author)
        _items_insert(campaign, found)
    return campaign


# What a new item has besides the fields search_items finds.
_NEW_ITEM = {"gold_answer": "", "gold_correction": None, "state": UNREVIEWED, "correction": None,
             "decided_by_id": None}


def _items_insert(campaign: Campaign, found: list[dict[str, Any]]) -> None:
    """Insert a new campaign's items with one prepared statement run for every row. Django's
    ``bulk_create`` writes a statement per 55 rows on SQLite (its 999 parameters) and prepares
    each value through its field: a campaign of many tracks spent most of its time there."""
    if not found:
        return
    same = {Item._meta.get_field(name): value
            for name, value in {"campaign_id": campaign.pk, "updated_at": timezone.now(), **_NEW_ITEM}.items()}
    fixed = [field.get_db_prep_save(value, connection) for field, value in same.items()]
    given = {name: Item._meta.get_field(name) for name in found[0]}
    # Of what varies, only JSON needs its field's preparation; the rest goes as it is.
    json = {name: field for name, field in given.items() if field.get_internal_type() == "JSONField"}
    rows = [[*fixed, *(json[name].get_db_prep_save(item[name], connection) if name in json else item[name]
                       for name in given)] for item in found]
    fields = [*same, *given.values()]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {connection.ops.quote_name(Item._meta.db_table)} ({columns}) "
                           f"VALUES ({', '.join(['%s'] * len(fields))})", rows)


def _given(**fields: Any) -> dict[str, Any]:
    """The search fields a request gave (None: not given)."""
    return {name: value for name, value in fields.items() if value is not None}


@transaction.atomic
def batch_lease(*, campaign: Campaign, reviewer: AbstractBaseUser, size: int) -> Batch | None:
    """Lease up to ``size`` items that still need a vote and that ``reviewer`` has not voted on
    and nobody else holds, for ``SCOOP_REVIEW_LEASE_S`` seconds, with
    ``SCOOP_REVIEW_GOLD_PER_BATCH`` gold items mixed in at random. Items with the most votes
    come first, to finish them. None when no item needs this reviewer.

    A reviewer whose batch of the campaign is still open (leased, not voted on) gets that batch
    again, whatever ``size``: a reloaded review page goes on where it was, and holds no second
    lease."""
    Campaign.objects.select_for_update().filter(pk=campaign.pk).first()  # one lease at a time per campaign
    now = timezone.now()
    held = Batch.objects.filter(campaign=campaign, reviewer=reviewer, submitted_at__isnull=True,
                                expires_at__gt=now).order_by("-id").first()
    if held is not None:
        return held
    active = BatchItem.objects.filter(batch__campaign=campaign, batch__submitted_at__isnull=True,
                                      batch__expires_at__gt=now)
    voted = Vote.objects.filter(reviewer=reviewer, item__campaign=campaign).values("item")
    regular = list(campaign.items.filter(state=UNREVIEWED, decided_by__isnull=True, gold_answer="")
                   .exclude(pk__in=active.values("item")).exclude(pk__in=voted)
                   .annotate(cast=Count("votes")).order_by("-cast", "id").values_list("pk", flat=True)[:size])
    if not regular:
        return None
    golds = list(campaign.items.exclude(gold_answer="").exclude(pk__in=voted)
                 .exclude(pk__in=active.filter(batch__reviewer=reviewer).values("item")).values_list("pk", flat=True))
    gold = random.sample(golds, min(len(golds), settings.SCOOP_REVIEW_GOLD_PER_BATCH))
    served = [(pk, False) for pk in regular] + [(pk, True) for pk in gold]
    random.shuffle(served)
    batch = Batch.objects.create(campaign=campaign, reviewer=reviewer,
                                 expires_at=now + timedelta(seconds=settings.SCOOP_REVIEW_LEASE_S))
    BatchItem.objects.bulk_create([BatchItem(batch=batch, item_id=pk, gold=is_gold, position=position)
                                   for position, (pk, is_gold) in enumerate(served)])
    return batch


def _held_batch(*, campaign: Campaign, reviewer: AbstractBaseUser, batch_id: int) -> Batch:
    """The reviewer's batch ``batch_id``, locked, still open; :class:`ReviewError` saying why not."""
    batch = Batch.objects.select_for_update().filter(pk=batch_id, campaign=campaign, reviewer=reviewer).first()
    if batch is None:
        raise ReviewError(f"campaign {campaign.pk} has no batch {batch_id} leased to you", path="batch", status=404)
    if batch.submitted_at is not None:
        raise ReviewError(f"batch {batch_id} was already voted on", path="batch", status=409)
    if batch.expires_at <= timezone.now():
        raise ReviewError(f"the lease of batch {batch_id} ended at {batch.expires_at.isoformat()}; "
                          "ask for a new batch", path="batch", status=410)
    return batch


@transaction.atomic
def votes_submit(*, campaign: Campaign, reviewer: AbstractBaseUser, batch_id: int,
                 votes: list[dict[str, Any]]) -> Batch:
    """Record a reviewer's votes on every item of their open batch, at once. A wrong answer
    to a gold item flags the batch: its votes are kept but not counted. Then the batch's items
    are aggregated again, and with gold in the batch every item the reviewer voted on."""
    batch = _held_batch(campaign=campaign, reviewer=reviewer, batch_id=batch_id)
    entries = {entry.item_id: entry for entry in batch.entries.select_related("item")}
    ontology = schema_ontology(campaign.schema)
    seen: set[int] = set()
    cast = []
    for i, vote in enumerate(votes):
        entry = entries.get(vote["item"])
        if entry is None:
            raise ReviewError(f"item {vote['item']} is not in batch {batch.pk}", path=f"votes[{i}].item")
        if entry.item_id in seen:
            raise ReviewError(f"item {vote['item']} has two votes", path=f"votes[{i}].item")
        seen.add(entry.item_id)
        correction = correction_check(vote.get("correction"), answer=vote["answer"], item=entry.item,
                                      ontology=ontology, path=f"votes[{i}].correction")
        cast.append((entry, vote["answer"], correction))
    missing = [pk for pk in entries if pk not in seen]
    if missing:
        raise ReviewError(f"a vote for every item of the batch is needed; none for item(s) "
                          f"{', '.join(map(str, missing))}", path="votes")
    recorded = [
        Vote(batch=batch, item=entry.item, reviewer=reviewer, answer=answer, correction=correction, gold=entry.gold,
             correct=gold_correct(answer=answer, correction=correction, gold_answer=entry.item.gold_answer,
                                  gold_correction=entry.item.gold_correction) if entry.gold else None)
        for entry, answer, correction in cast]
    Vote.objects.bulk_create(recorded)
    batch.flagged = any(vote.gold and not vote.correct for vote in recorded)
    batch.submitted_at = timezone.now()
    batch.save(update_fields=["flagged", "submitted_at"])
    # Gold answers may change the reviewer's standing, and so every item they voted on.
    if any(entry.gold for entry in entries.values()):
        items_aggregate(campaign=campaign, items=campaign.items.filter(votes__reviewer=reviewer))
    else:
        items_aggregate(campaign=campaign, items=campaign.items.filter(pk__in=entries))
    return batch


def items_aggregate(*, campaign: Campaign, items) -> int:
    """Set the state of ``items`` (a queryset of the campaign's items) from their counted votes;
    items an admin decided, and gold items, keep theirs. How many changed."""
    open_items = {item.pk: item for item in items.filter(decided_by__isnull=True, gold_answer="")}
    votes = list(Vote.objects.filter(item_id__in=open_items, gold=False, batch__flagged=False).order_by("id")
                 .values_list("item_id", "reviewer_id", "answer", "correction"))
    # The standing of these votes' reviewers alone: a submission costs its items' votes, not the campaign's.
    standing = {pk: reviewer.good_standing for pk, reviewer in
                campaign_reviewers(campaign=campaign, ids={vote[1] for vote in votes}).items()}
    counted: dict[int, list[CountedVote]] = defaultdict(list)
    for item_id, reviewer_id, answer, correction in votes:
        counted[item_id].append(CountedVote(answer, correction, standing.get(reviewer_id, True)))
    changed = []
    for pk, item in open_items.items():
        state, correction = aggregate(counted[pk], max_votes=settings.SCOOP_REVIEW_MAX_VOTES)
        if (state, correction) != (item.state, item.correction):
            item.state, item.correction = state, correction
            changed.append(item)
    for item in changed:
        item.save(update_fields=["state", "correction", "updated_at"])
    reindex_queue(video_ids=[item.video_id for item in changed])
    return len(changed)


def reindex_queue(*, video_ids: Iterable[int]) -> None:
    """Once the current transaction commits, queue a re-index of each video whose review states
    changed, so that searches count them (:mod:`indexer.overlays`): one video's write each, on
    the ``index`` queue, coalesced per video (:func:`indexer.tasks.video_reindex_task`)."""
    for video_id in sorted(set(video_ids)):
        transaction.on_commit(lambda video_id=video_id: video_reindex_task.delay(video_id, time.time()))


def correction_check(correction: Any, *, answer: str, item: Item, ontology: Ontology, path: str
                     ) -> dict[str, Any] | None:
    """A vote's correction, checked against the campaign's ontology: ``{"label"?, "attrs"?}``,
    a label of the ontology and values its attributes allow (numbers as floats). Only a
    ``no`` carries one. :class:`ReviewError` at ``path`` naming what is wrong."""
    if correction is None:
        return None
    if answer != NO:
        raise ReviewError(f"only the answer 'no' may carry a correction, not '{answer}'", path=path)
    if not isinstance(correction, dict) or not correction or set(correction) - {"label", "attrs"}:
        raise ReviewError('a correction is an object with "label" and/or "attrs"', path=path)
    label = correction.get("label", item.label)
    if not isinstance(label, str) or ontology.resolve_label(label) not in ontology.objects:
        raise ReviewError(f"unknown label '{label}'{suggestion(str(label), ontology.objects)}", path=f"{path}.label")
    label = ontology.resolve_label(label)
    attrs = correction.get("attrs", {})
    if not isinstance(attrs, dict):
        raise ReviewError("attrs is an object of attribute values", path=f"{path}.attrs")
    specs = ontology.objects[label].attrs
    checked = {}
    for name, value in attrs.items():
        spec = specs.get(name)
        if spec is None:
            raise ReviewError(f"label '{label}' has no attribute '{name}'{suggestion(name, specs)}",
                              path=f"{path}.attrs.{name}")
        problem = spec.check(value)
        if problem:
            raise ReviewError(problem, path=f"{path}.attrs.{name}")
        checked[name] = float(value) if spec.kind == NUMERIC else value
    normalized: dict[str, Any] = {"label": label} if "label" in correction else {}
    if checked:
        normalized["attrs"] = checked
    if not normalized:
        raise ReviewError("a correction names a label or attribute values", path=path)
    return normalized


@transaction.atomic
def item_gold_set(*, item: Item, answer: str, correction: Any, admin: AbstractBaseUser) -> Item:
    """Make ``item`` a gold item with this known answer (``yes`` or ``no``, with a correction
    or not). The answer is also the item's state, decided by the admin: a gold item is never
    put to the vote."""
    if answer not in (YES, NO):
        raise ReviewError(f"a gold answer is yes or no, not '{answer}'", path="answer")
    correction = correction_check(correction, answer=answer, item=item, ontology=schema_ontology(item.campaign.schema),
                                  path="correction")
    item.gold_answer, item.gold_correction = answer, correction
    item.state, item.correction = outcome(answer, correction)[0], correction
    item.decided_by = admin
    item.save()
    reindex_queue(video_ids=[item.video_id])
    return item


@transaction.atomic
def item_decide(*, item: Item, state: str, correction: Any, admin: AbstractBaseUser) -> Item:
    """An admin's decision of ``item``'s state, final: votes no longer change it. ``corrected``
    needs a correction; the other states take none."""
    if state not in DECISIONS:
        raise ReviewError(f"an admin decides {', '.join(DECISIONS)}, not '{state}'", path="state")
    if (state == CORRECTED) != (correction is not None):
        raise ReviewError("the state 'corrected' needs a correction, and only it takes one", path="correction")
    if state == CORRECTED:
        correction = correction_check(correction, answer=NO, item=item,
                                      ontology=schema_ontology(item.campaign.schema), path="correction")
    item.state, item.correction, item.decided_by = state, correction, admin
    item.save(update_fields=["state", "correction", "decided_by", "updated_at"])
    reindex_queue(video_ids=[item.video_id])
    return item

