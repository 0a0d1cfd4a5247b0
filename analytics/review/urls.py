from django.urls import path

from analytics.review import apis

urlpatterns = [
    path("campaigns/", apis.CampaignListApi.as_view(), name="review-campaign-list"),
    path("campaigns/<int:campaign_id>/", apis.CampaignDetailApi.as_view(), name="review-campaign-detail"),
    path("campaigns/<int:campaign_id>/batch/", apis.BatchApi.as_view(), name="review-batch"),
    path("campaigns/<int:campaign_id>/votes/", apis.VotesApi.as_view(), name="review-votes"),
    path("campaigns/<int:campaign_id>/stats/", apis.CampaignStatsApi.as_view(), name="review-stats"),
    path("campaigns/<int:campaign_id>/export/", apis.CampaignExportApi.as_view(), name="review-export"),
    path("items/<int:item_id>/boxes/", apis.ItemBoxesApi.as_view(), name="review-item-boxes"),
    path("items/<int:item_id>/gold/", apis.ItemGoldApi.as_view(), name="review-item-gold"),
    path("items/<int:item_id>/decision/", apis.ItemDecisionApi.as_view(), name="review-item-decision"),
]
