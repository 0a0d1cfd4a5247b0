"""Region layers: admin-uploaded polygons (districts, zones) that statistics are
counted in. The rest of what analytics computes is read from the search index."""

import uuid

from django.conf import settings
from django.db import models


class RegionLayer(models.Model):
    """One uploaded layer. ``geojson`` is a FeatureCollection in WGS84 (EPSG:4326) of
    its valid polygons, each Feature's ``id`` its row in the uploaded file; ``invalid``
    lists the rows left out, ``[{"index", "reason"}]``."""

    name = models.CharField(max_length=200)
    source_format = models.CharField(max_length=20)  # geojson | shapefile | geopackage
    source_crs = models.CharField(max_length=200, blank=True)  # the file's CRS before conversion to WGS84
    regions = models.PositiveIntegerField()
    geojson = models.JSONField()
    invalid = models.JSONField(default=list)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class SavedSearch(models.Model):
    """A search an analyst keeps under a name: the query (``query``, a JSON tree, or ``q``, the text
    form, as given), sidebar ``filters``, ``gap_s``, its time zone ``tz`` (empty: the deployment's
    ``SCOOP_TIME_ZONE`` when it runs) and the schema version it was made on, plus
    ``view``, the rest of the dashboard's state (its address's other parameters: count unit, map,
    tab, charts). Private to its owner unless ``shared``; only the owner changes or deletes it."""

    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches")
    shared = models.BooleanField(default=False)
    schema = models.ForeignKey("indexer.LabelSchema", on_delete=models.PROTECT, related_name="saved_searches")
    query = models.JSONField(null=True, blank=True)
    q = models.TextField(null=True, blank=True)
    filters = models.JSONField(default=dict)
    gap_s = models.FloatField(default=1.0)
    tz = models.CharField(max_length=64, blank=True, default="",
                          help_text="IANA time zone of its hour and weekday filters; empty: the deployment's")
    view = models.CharField(max_length=2000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_saved_search_name")]

    def __str__(self) -> str:
        return self.name


class Watch(models.Model):
    """A saved search that alerts its owner when data indexed after the watch was made matches it
    (:mod:`analytics.watches`). Channels: in the app (the alerts list), a webhook (a signed JSON
    POST, ``secret`` its HMAC key) and email."""

    saved_search = models.OneToOneField(SavedSearch, on_delete=models.CASCADE, related_name="watch")
    min_duration_s = models.FloatField(default=0.0)
    cooldown_s = models.FloatField(default=0.0)
    in_app = models.BooleanField(default=True)
    webhook_url = models.URLField(max_length=2000, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    secret = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"watch on {self.saved_search}"


class Alert(models.Model):
    """A clip that a watch's search matched in new data. A clip that grows while a stream goes on
    stays one alert: its ``end_s`` moves."""

    watch = models.ForeignKey(Watch, on_delete=models.CASCADE, related_name="alerts")
    video = models.ForeignKey("indexer.Video", on_delete=models.CASCADE, related_name="alerts")
    start_s = models.FloatField()
    end_s = models.FloatField()
    first_frame = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class WatchClip(models.Model):
    """A clip of one video that a watch has seen so far (alerted or not), so that the frames a later
    write adds join it instead of making a new clip. ``last_t``: the time of its last matching frame;
    ``suppressed``: it came within the cooldown and never alerts."""

    watch = models.ForeignKey(Watch, on_delete=models.CASCADE, related_name="clips")
    video = models.ForeignKey("indexer.Video", on_delete=models.CASCADE, related_name="+")
    start_s = models.FloatField()
    last_t = models.FloatField()
    end_s = models.FloatField()
    first_frame = models.BigIntegerField()
    alert = models.OneToOneField(Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="clip")
    suppressed = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["watch", "video"])]


class AlertDelivery(models.Model):
    """One try to deliver an alert by webhook or email: when, and what came of it."""

    WEBHOOK, EMAIL = "webhook", "email"
    PENDING, SENT, FAILED = "pending", "sent", "failed"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=[(WEBHOOK, WEBHOOK), (EMAIL, EMAIL)])
    target = models.CharField(max_length=2000)
    attempt = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, default=PENDING,
                              choices=[(PENDING, PENDING), (SENT, SENT), (FAILED, FAILED)])
    response_status = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]


class PendingWrite(models.Model):
    """A write that watches have yet to look at: the video, and the times of the frames it added
    (both None: the whole video). The next evaluation takes every pending write at once."""

    video = models.ForeignKey("indexer.Video", on_delete=models.CASCADE, related_name="+")
    start_t = models.FloatField(null=True, blank=True)
    end_t = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class ExportJob(models.Model):
    """A label export run by a worker (docs/api/exports.md): the export's fields as the
    request gave them (``params``), how far it is (``progress``, videos done of ``videos``),
    and the file it wrote."""

    QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, SUCCEEDED, FAILED)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    format = models.CharField(max_length=10)
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED)
    progress = models.FloatField(default=0.0)
    videos = models.PositiveIntegerField(default=0)
    videos_done = models.PositiveIntegerField(default=0)
    detections = models.BigIntegerField(default=0, help_text="detections of the matching frames when queued")
    filename = models.CharField(max_length=300, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    file_path = models.CharField(max_length=2000, blank=True)
    file_bytes = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.id} ({self.format}, {self.status})"
