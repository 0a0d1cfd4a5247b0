"""Reads: region layers and saved searches."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from analytics.models import Alert, RegionLayer, SavedSearch


def region_layers() -> list[RegionLayer]:
    """Every region layer, with its author."""
    return list(RegionLayer.objects.select_related("author"))


def region_layer_find(*, layer_id: int) -> RegionLayer | None:
    """The region layer with this id, or None."""
    return RegionLayer.objects.filter(pk=layer_id).first()


def saved_searches_visible(*, user: AbstractBaseUser) -> QuerySet[SavedSearch]:
    """The user's own saved searches and those others share; nobody sees another's private ones."""
    return SavedSearch.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner", "schema", "watch")


def saved_search_find(*, user: AbstractBaseUser, saved_id: int) -> SavedSearch | None:
    """The saved search with this id if the user may see it, or None (private ones of others
    look absent)."""
    return saved_searches_visible(user=user).filter(pk=saved_id).first()


def alerts_of(*, user: AbstractBaseUser) -> QuerySet[Alert]:
    """The alerts of the user's watches (nobody sees another's), newest first."""
    return Alert.objects.filter(watch__saved_search__owner=user).select_related(
        "watch__saved_search", "video", "acknowledged_by")
