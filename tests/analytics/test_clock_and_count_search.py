"""Wall-clock filters (clock, hour, weekday) in a request's time zone, and COUNT, through the
search API: the numbers, the videos left out for having no recorded_at, and the 400s.

The street video starts at 2024-05-01 12:00 UTC, a Wednesday (14:00 in Berlin, summer time);
its frames lie at 0, 0.1, 0.2, 5.0 and 5.1 s. The garage video has no recorded_at: frames 0
(a truck) and 1 (a person)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from indexer.models import Video
from tests.analytics.corpus import RECORDED, analytics, create_schema, index_video, person, street, vehicle

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(db):
    create_schema()
    index_video(1, "street", street())
    index_video(2, "garage", analytics(vehicle(0, "truck", "black"), person(1), recorded_at=None))
    Video.objects.create(pk=1, name="street", recorded_at=RECORDED, indexed_at=timezone.now())
    Video.objects.create(pk=2, name="garage", recorded_at=None, indexed_at=timezone.now())


def search(client, status: int = 200, **body) -> dict:
    response = client.post("/api/v1/search/", body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def frames_and_videos(answer: dict) -> tuple[int, int, int]:
    return answer["counts"]["frames"], answer["counts"]["videos"], answer["videos_without_clock"]


@pytest.mark.parametrize(("q", "tz", "expected"), [
    ("hour=12", None, (5, 1, 1)),  # UTC by default
    ("hour=12", "Europe/Berlin", (0, 0, 1)),
    ("hour=14", "Europe/Berlin", (5, 1, 1)),
    ("hour=13..15", "Europe/Berlin", (5, 1, 1)),
    ("hour=22..12", None, (5, 1, 1)),  # wraps round midnight
    ("weekday=wed", None, (5, 1, 1)),
    ("weekday=thu..tue", None, (0, 0, 1)),  # every day but Wednesday
    # Not a clock filter: the garage's two frames (no clock) match it.
    ("NOT weekday=wed", None, (2, 1, 1)),
    ("clock=2024-05-01T12:00:05..2024-05-01T12:00:06", None, (2, 1, 1)),
    ("clock=2024-05-01T14:00:05..2024-05-01T14:00:06", "Europe/Berlin", (2, 1, 1)),  # no offset: in tz
    ("clock>=2024-05-01T12:00:05Z", "Asia/Kolkata", (2, 1, 1)),  # an offset wins over tz
    ("vehicle", None, (5, 2, 0)),  # no clock filter, nothing left out
])
def test_clock_filters_in_the_requests_zone(analyst_client, corpus, q, tz, expected):
    body = {"q": q} if tz is None else {"q": q, "tz": tz}
    assert frames_and_videos(search(analyst_client, **body)) == expected


@pytest.mark.parametrize(("query", "frames", "videos"), [
    ("COUNT(vehicle) >= 2", 1, 1),  # frame 1: a sedan and an SUV
    ("COUNT(vehicle(color=white)) = 1", 3, 1),  # frames 1, 2, 50
    ("COUNT(vehicle) = 0", 2, 2),  # street frame 51 and garage frame 1 hold persons only
    ("COUNT(vehicle) > 1", 1, 1),
    ("COUNT(vehicle) < 1", 2, 2),
    ("COUNT(*) = 2..3", 1, 1),
    ("COUNT(vehicle(type=sedan)) = 1 AND hour=12", 3, 1),
])
def test_counts(analyst_client, corpus, query, frames, videos):
    answer = search(analyst_client, q=query)
    assert (answer["counts"]["frames"], answer["counts"]["videos"]) == (frames, videos)


def test_the_tree_form_gives_the_same_answers(analyst_client, corpus):
    tree = {"and": [{"count": {"object": {"label": "vehicle"}, "gte": 2}}, {"weekday": {"in": ["wed"]}},
                    {"hour": {"gte": 14, "lte": 14, "tz": "Europe/Berlin"}}]}
    assert frames_and_videos(search(analyst_client, query=tree)) == (1, 1, 1)


def test_an_unknown_time_zone_is_a_400_with_suggestions(analyst_client, corpus):
    answer = search(analyst_client, status=400, q="hour=7", tz="Europe/Berln")
    assert answer["path"] == "tz"
    assert answer["detail"].startswith("unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'")
    assert "Europe/Berlin" in answer["suggestions"]
    response = analyst_client.get("/api/v1/search/", {"q": "hour=7", "tz": "Mars/Olympus"})
    assert response.status_code == 400 and response.json()["path"] == "tz"


@pytest.mark.parametrize(("q", "column", "words"), [
    ("hour=24", 1, "an hour is a whole number 0..23, got 24"),
    ("weekday=mun", 1, "unknown weekday 'mun' (did you mean 'sun' or 'mon'?)"),
    ("vehicle AND clock=2024-13-01T00:00..2024-12-01T00:00", 19, "clock expects an ISO 8601 date-time"),
    ("COUNT(vehicle) < 0", 18, "a count is never below 0"),
    ("COUNT(vehicle(colour=red)) >= 1", 15, "unknown attribute 'colour' of object label 'vehicle'"),
    ("vehicle > 2", 9, "'>' is not an operator, use '>='"),
])
def test_errors_point_into_the_text(analyst_client, corpus, q, column, words):
    answer = search(analyst_client, status=400, q=q)
    assert words in answer["detail"]
    assert (answer["line"], answer["column"]) == (1, column)


# Statistics grouped by hour of day and weekday -------------------------------------------------


def stats(client, endpoint: str, **body) -> dict:
    response = client.post(f"/api/v1/stats/{endpoint}/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_occurrence_grouped_by_hour_counts_each_hour_apart(analyst_client, corpus):
    answer = stats(analyst_client, "occurrence", facets=["label"], unit="frames", group_by="hour", tz="Europe/Berlin")
    # Every frame: street's 5 (4 with vehicles, 1 with a person) and the garage's 2.
    assert answer["counts"] == {"label": {"vehicle": 5, "person": 2}}
    assert (answer["group_by"], answer["tz"]) == ("hour", "Europe/Berlin")
    groups = {group["group"]: group["counts"]["label"] for group in answer["groups"]}
    assert list(groups) == [str(hour) for hour in range(24)]
    # The street video lies in 14:00 Berlin time; the garage has no clock and is in no hour.
    assert groups["14"] == {"vehicle": 4, "person": 1}
    assert all(counts == {"vehicle": 0, "person": 0} for hour, counts in groups.items() if hour != "14")


def test_the_timeline_grouped_by_weekday(analyst_client, corpus):
    answer = stats(analyst_client, "timeline", q="vehicle", group_by="weekday")
    assert answer["grouped"] == {"group_by": "weekday", "tz": "UTC", "bins": [
        {"group": day, "count": 4 if day == "wed" else 0} for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]}
    assert answer["wall_clock"]["unplaced"] == 1  # the garage's truck frame


def test_an_unknown_grouping_is_a_400(analyst_client, corpus):
    response = analyst_client.post("/api/v1/stats/occurrence/", {"group_by": "month"}, format="json")
    assert response.status_code == 400
    assert response.json()["path"] == "group_by"
