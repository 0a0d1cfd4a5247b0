"""The review API (docs/api/review.md): admins make campaigns, set gold answers, decide and
read statistics and exports; reviewers (and analysts, and admins) lease batches and vote.
Each view validates its input, calls one service or selector and serializes the answer."""

import json

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import ADMIN, ANALYST, IsAdmin, IsReviewer, user_has_role
from analytics.review import export, selectors, services
from analytics.review.models import Campaign, Item
from analytics.review.serializers import (
    BatchInput,
    BatchOutput,
    CampaignCreatedOutput,
    CampaignInput,
    CampaignOutput,
    DecisionInput,
    EtaExportOutput,
    ExportInput,
    GoldInput,
    ItemBoxesOutput,
    ItemOutput,
    StatsOutput,
    VotesInput,
    VotesOutput,
)
from indexer.api_fields import ErrorOutput, validated
from indexer.media_apis import AnyAccept
from indexer.selectors import schema_resolve


class CampaignListApi(APIView):
    """Admins make a campaign from a search: its items are what the search matches now."""

    permission_classes = [IsAdmin]

    @extend_schema(request=CampaignInput, responses={201: CampaignCreatedOutput})
    def post(self, request):
        values = validated(CampaignInput, request.data)
        campaign = services.campaign_create(
            name=values["name"], schema=schema_resolve(ref=values.get("schema")), unit=values["unit"],
            question=values["question"], query=values.get("query"), q=values.get("q"), filters=values.get("filters"),
            author=request.user)
        answer = {"id": campaign.pk, "name": campaign.name, "items": campaign.items.count()}
        return Response(CampaignCreatedOutput(answer).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(APIView):
    """A campaign, its search and how many of its items are in each state."""

    permission_classes = [IsAdmin]

    @extend_schema(responses=CampaignOutput)
    def get(self, request, campaign_id: int):
        campaign = get_object_or_404(Campaign.objects.select_related("created_by"), pk=campaign_id)
        states = selectors.campaign_state_counts(campaign=campaign)
        answer = {**{field: getattr(campaign, field) for field in ("id", "name", "schema_id", "unit", "question",
                                                                      "search", "created_at")},
                  "created_by": campaign.created_by.get_username() if campaign.created_by else None,
                  "items": sum(states.values()), "states": states}
        return Response(CampaignOutput(answer).data)


class BatchApi(APIView):
    """Lease a batch of items to review, gold items mixed in (not marked)."""

    permission_classes = [IsReviewer]

    @extend_schema(parameters=[BatchInput], responses=BatchOutput)
    def get(self, request, campaign_id: int):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        size = validated(BatchInput, request.query_params)["size"]
        batch = services.batch_lease(campaign=campaign, reviewer=request.user, size=size)
        answer = {"batch": batch.pk, "items": selectors.batch_items(batch=batch)} if batch else {"batch": None,
                                                                                                   "items": []}
        return Response(BatchOutput(answer).data)


class VotesApi(APIView):
    """Vote on every item of one's open batch, once."""

    permission_classes = [IsReviewer]

    @extend_schema(request=VotesInput, responses={
        201: VotesOutput, 409: OpenApiResponse(ErrorOutput, description="the batch was already voted on"),
        410: OpenApiResponse(ErrorOutput, description="the batch's lease has ended")})
    def post(self, request, campaign_id: int):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        values = validated(VotesInput, request.data)
        batch = services.votes_submit(campaign=campaign, reviewer=request.user, batch_id=values["batch"],
                                      votes=values["votes"])
        return Response(VotesOutput({"batch": batch.pk, "votes": len(values["votes"])}).data,
                        status=status.HTTP_201_CREATED)


class ItemBoxesApi(APIView):
    """The item's own boxes over its span, for the review page: reviewers may not read a
    video's labels, so this gives them what they review and nothing more (only items of
    their batches); analysts and admins may read any item's."""

    permission_classes = [IsReviewer]

    @extend_schema(responses=ItemBoxesOutput)
    def get(self, request, item_id: int):
        item = get_object_or_404(Item, pk=item_id)
        if not user_has_role(request.user, ANALYST, ADMIN) and not selectors.item_leased_to(item=item,
                                                                                             reviewer=request.user):
            raise PermissionDenied(f"item {item.pk} is not in one of your review batches")
        return Response(ItemBoxesOutput(selectors.item_boxes(item=item)).data)


class ItemGoldApi(APIView):
    """Admins give an item its known answer: it becomes a gold item, decided."""

    permission_classes = [IsAdmin]

    @extend_schema(request=GoldInput, responses=ItemOutput)
    def put(self, request, item_id: int):
        item = get_object_or_404(Item.objects.select_related("campaign__schema"), pk=item_id)
        values = validated(GoldInput, request.data)
        item = services.item_gold_set(item=item, answer=values["answer"], correction=values.get("correction"),
                                      admin=request.user)
        return Response(ItemOutput(item).data)


class ItemDecisionApi(APIView):
    """Admins decide an item's state (a dispute, or any item): final."""

    permission_classes = [IsAdmin]

    @extend_schema(request=DecisionInput, responses=ItemOutput)
    def put(self, request, item_id: int):
        item = get_object_or_404(Item.objects.select_related("campaign__schema"), pk=item_id)
        values = validated(DecisionInput, request.data)
        item = services.item_decide(item=item, state=values["state"], correction=values.get("correction"),
                                    admin=request.user)
        return Response(ItemOutput(item).data)


class CampaignStatsApi(APIView):
    """Items per state, label and attribute value; votes; agreement; reviewers; missing items."""

    permission_classes = [IsAdmin]

    @extend_schema(responses=StatsOutput)
    def get(self, request, campaign_id: int):
        campaign = get_object_or_404(Campaign.objects.select_related("schema"), pk=campaign_id)
        return Response(StatsOutput(selectors.campaign_stats(campaign=campaign)).data)


class CampaignExportApi(APIView):
    """Every item with its state and correction, as CSV or ETA-style JSON, downloaded."""

    permission_classes = [IsAdmin]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAccept

    @extend_schema(parameters=[ExportInput], responses={(200, "text/csv"): OpenApiTypes.STR,
                                                        (200, "application/json"): EtaExportOutput})
    def get(self, request, campaign_id: int):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        if validated(ExportInput, request.query_params)["format"] == "csv":
            response = StreamingHttpResponse(export.review_csv(campaign=campaign),
                                             content_type="text/csv; charset=utf-8")
            extension = "csv"
        else:
            response = HttpResponse(json.dumps(export.review_eta(campaign=campaign)), content_type="application/json")
            extension = "json"
        response["Content-Disposition"] = f'attachment; filename="scoop-review-{campaign.pk}.{extension}"'
        return response
