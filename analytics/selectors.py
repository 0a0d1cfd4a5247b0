"""Reads: region layers."""

from __future__ import annotations

from analytics.models import RegionLayer


def region_layers() -> list[RegionLayer]:
    """Every region layer, with its author."""
    return list(RegionLayer.objects.select_related("author"))


def region_layer_find(*, layer_id: int) -> RegionLayer | None:
    """The region layer with this id, or None."""
    return RegionLayer.objects.filter(pk=layer_id).first()
