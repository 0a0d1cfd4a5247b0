"""The Django admin: campaigns and their items, read-only. Votes and decisions go through
the review API, so that every change is aggregated (docs/api/review.md)."""

from django.contrib import admin

from analytics.review.models import Campaign, Item


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(_ReadOnly):
    list_display = ["id", "name", "unit", "question", "schema", "created_by", "created_at"]


@admin.register(Item)
class ItemAdmin(_ReadOnly):
    list_display = ["id", "campaign", "video_name", "unit", "key", "label", "state", "gold_answer", "updated_at"]
    list_filter = ["state", "unit", "campaign"]
    search_fields = ["video_name", "key", "label"]
