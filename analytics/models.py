"""Region layers: admin-uploaded polygons (districts, zones) that statistics are
counted in. The rest of what analytics computes is read from the search index."""

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
    form, as given), sidebar ``filters``, ``gap_s`` and the schema version it was made on, plus
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
    view = models.CharField(max_length=2000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_saved_search_name")]

    def __str__(self) -> str:
        return self.name
