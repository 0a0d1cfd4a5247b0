"""A road video with four vehicle tracks and two untracked detections, a campaign over it,
and token clients for an admin and three reviewers."""

from __future__ import annotations

import pytest

from tests.analytics.corpus import FPS, analytics, create_schema, index_video, person, vehicle
from tests.conftest import _client_for


def road():
    """Tracks 1 (sedan black, frames 0-2), 2 (suv white, 1-3), 3 (truck black, 10), 4 (sedan white,
    20-21); an untracked sedan at frame 30 (after a person there) and a person at frame 31."""
    return analytics(
        vehicle(0, "sedan", "black", track="1"), vehicle(1, "sedan", "black", track="1"),
        vehicle(1, "suv", "white", track="2"), vehicle(2, "sedan", "black", track="1"),
        vehicle(3, "suv", "white", track="2"), vehicle(10, "truck", "black", track="3"),
        vehicle(20, "sedan", "white", track="4"), vehicle(21, "sedan", "white", track="4"),
        person(30), vehicle(30, "sedan", "white"), person(31),
    )


@pytest.fixture
def road_video(db):
    from indexer.models import Video

    schema = create_schema()
    video = Video.objects.create(name="road", schema=schema, fps=FPS, media_url="https://cdn.example.com/road.webm")
    index_video(video.pk, "road", road())
    return video


@pytest.fixture
def admin(db):
    return _client_for(None, "ada", "admin")


@pytest.fixture
def reviewers(db):
    return [_client_for(None, name, "reviewer") for name in ("rita", "rob", "ruth")]


@pytest.fixture
def campaign(admin, road_video):
    response = admin.post("/api/v1/review/campaigns/", {
        "name": "vehicles", "schema": "road", "q": "vehicle", "unit": "tracks",
        "question": "Is this a vehicle?"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def disputed(item, reviewer, correction: dict) -> None:
    """Make ``item`` disputed by one submitted ``no`` vote of ``reviewer`` with ``correction``
    (a shortcut past aggregation, for the pages that list disputes)."""
    from datetime import timedelta

    from django.utils import timezone

    from analytics.review.models import DISPUTED, Batch, Vote

    now = timezone.now()
    batch = Batch.objects.create(campaign=item.campaign, reviewer=reviewer, expires_at=now + timedelta(minutes=5),
                                 submitted_at=now)
    Vote.objects.create(batch=batch, item=item, reviewer=reviewer, answer="no", correction=correction)
    item.state = DISPUTED
    item.save(update_fields=["state", "updated_at"])
