"""The review pages' start-up data, embedded as JSON (``json_script``): the campaign, and the
labels, attributes and values of its schema, which the correction form offers (reviewers
may not read label schemas through the API, so the page carries the one they need)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from analytics.review.models import Campaign
from analytics.review.selectors import campaign_disputed
from indexer.display import query_vocabulary
from indexer.selectors import schema_ontology

# The review page asks for batches of this many items (gold items come on top).
BATCH_SIZE = 10


def _campaign_data(campaign: Campaign) -> dict[str, Any]:
    vocabulary = query_vocabulary(ontology=schema_ontology(campaign.schema))
    return {
        "campaign": {"id": campaign.pk, "name": campaign.name, "question": campaign.question, "unit": campaign.unit,
                     "schema": campaign.schema.name},
        "labels": vocabulary["objects"],
        "names": vocabulary["names"],
        "colors": vocabulary["colors"],
    }


def review_page_data(*, campaign: Campaign) -> dict[str, Any]:
    """What the review page's script reads: the campaign, its schema's vocabulary, its API routes."""
    return {
        **_campaign_data(campaign),
        "batch_size": BATCH_SIZE,
        "lease_s": settings.SCOOP_REVIEW_LEASE_S,
        "urls": {
            "batch": reverse("review-batch", args=[campaign.pk]),
            "votes": reverse("review-votes", args=[campaign.pk]),
            "items": "/api/v1/review/items/",
        },
    }


def campaign_page_data(*, campaign: Campaign) -> dict[str, Any]:
    """What the campaign page's script reads: the campaign, its vocabulary and its disputed items."""
    return {
        **_campaign_data(campaign),
        "disputed": campaign_disputed(campaign=campaign),
        "urls": {
            "stats": reverse("review-stats", args=[campaign.pk]),
            "detail": reverse("review-campaign-detail", args=[campaign.pk]),
            "items": "/api/v1/review/items/",
            "export": reverse("review-export", args=[campaign.pk]),
        },
    }
