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
