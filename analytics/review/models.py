"""Review campaigns, their items, the batches reviewers lease and the votes they cast.

An item is keyed, across campaigns and re-ingests, by ``(video_id, unit, key)``:

- ``unit`` ``tracks``: ``key`` is the track id (``"7"``);
- ``unit`` ``detections`` (an untracked detection): ``key`` is ``"<frame>:<n>"``, the frame
  index and the detection's 0-based position among that frame's detections in record
  order (the order every engine keeps, :meth:`BaseSearchBackend.detections`).

A re-ingest that keeps a video's track ids (or its frames' detections) keeps their reviews;
an item whose key the index no longer has is reported by the campaign's statistics. The
video is named by id, not by a foreign key, so that items outlive a deleted video and are
reported too."""

from django.conf import settings
from django.db import models

TRACKS = "tracks"
DETECTIONS = "detections"
UNITS = (TRACKS, DETECTIONS)

YES = "yes"
NO = "no"
UNSURE = "unsure"
ANSWERS = (YES, NO, UNSURE)

UNREVIEWED = "unreviewed"
CONFIRMED = "confirmed"
REJECTED = "rejected"
CORRECTED = "corrected"
DISPUTED = "disputed"
STATES = (UNREVIEWED, CONFIRMED, REJECTED, CORRECTED, DISPUTED)


class Campaign(models.Model):
    """A question asked about every item a search matched when the campaign was made.
    ``search`` keeps that search's fields (``query``, ``q``, ``filters``)."""

    name = models.CharField(max_length=200)
    schema = models.ForeignKey("indexer.LabelSchema", on_delete=models.PROTECT, related_name="review_campaigns")
    search = models.JSONField(default=dict)
    unit = models.CharField(max_length=20, choices=[(u, u) for u in UNITS])
    question = models.CharField(max_length=500)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="review_campaigns")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    """One track or untracked detection of one video (the module docstring gives its key),
    as the index held it when the campaign was made (``label``, ``attrs``: effective
    attribute values of its first matched detection), with its aggregated ``state`` and,
    when ``corrected``, the ``correction`` (``{"label"?, "attrs"?}``) that search lays over it.

    ``gold_answer`` (an admin's known answer) makes it a gold item: mixed into batches to
    check reviewers, never leased as a regular item. ``decided_by`` set: an admin's decision
    (or gold answer), final."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    video_id = models.PositiveIntegerField(db_index=True)
    video_name = models.CharField(max_length=500)
    unit = models.CharField(max_length=20, choices=[(u, u) for u in UNITS])
    key = models.CharField(max_length=200)
    track = models.CharField(max_length=200, null=True, blank=True)
    label = models.CharField(max_length=200)
    attrs = models.JSONField(default=dict)
    start_frame = models.PositiveIntegerField()
    end_frame = models.PositiveIntegerField()
    start_s = models.FloatField()
    end_s = models.FloatField()
    gold_answer = models.CharField(max_length=10, blank=True, choices=[(a, a) for a in ANSWERS])
    gold_correction = models.JSONField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=[(s, s) for s in STATES], default=UNREVIEWED, db_index=True)
    correction = models.JSONField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="review_decisions")
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["campaign", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "video_id", "unit", "key"],
                                               name="unique_review_item")]

    def __str__(self) -> str:
        return f"{self.video_name} {self.unit} {self.key}"


class Batch(models.Model):
    """Items leased to one reviewer until ``expires_at``; ``submitted_at`` once voted.
    ``flagged``: a gold item was answered wrongly, so none of its votes count."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="batches")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_batches")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    flagged = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"batch {self.pk} of {self.reviewer}"


class BatchItem(models.Model):
    """One item of a batch, in the order served; ``gold`` is never shown to the reviewer."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="leases")
    gold = models.BooleanField(default=False)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["batch", "position"]
        constraints = [models.UniqueConstraint(fields=["batch", "item"], name="unique_batch_item")]


class Vote(models.Model):
    """One reviewer's answer about one item (at most one each); ``gold`` when the item was
    a gold item of the batch, ``correct`` whether it matched the gold answer."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="votes")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="votes")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_votes")
    answer = models.CharField(max_length=10, choices=[(a, a) for a in ANSWERS])
    correction = models.JSONField(null=True, blank=True)
    gold = models.BooleanField(default=False)
    correct = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["item", "reviewer"], name="unique_review_vote")]
