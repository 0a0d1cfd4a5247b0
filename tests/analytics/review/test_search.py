"""Review in search: votes and decisions change what searches count, through the index's review
overlay (indexer.overlays), which re-indexes the video; the payload is never rewritten, and a
re-ingest that keeps the track ids keeps the reviews."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.review.models import Item
from indexer.models import Video
from indexer.overlays import Review, VideoReviews, reviewed
from indexer.records import Analytics, ObjectRecord, TrackRecord, VideoMeta
from tests.analytics.review.test_api import review
from tests.conftest import _client_for
from tests.indexer.writes import ingest, job, street_schema, worker

NO_STATES = {"unreviewed": 0, "confirmed": 0, "rejected": 0, "corrected": 0, "disputed": 0}


def search(client, **body) -> dict:
    response = client.post("/api/v1/search/", {"schema": "street", **body}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def review_facet(client, **body) -> dict:
    return search(client, facets=["review"], **body)["facets"]["review"]


def campaign(admin, q: str, unit: str) -> int:
    response = admin.post("/api/v1/review/campaigns/", {"name": q, "schema": "street", "q": q, "unit": unit,
                                                        "question": "Right?"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def key_of(campaign_id: int, key: str) -> int:
    return Item.objects.get(campaign_id=campaign_id, key=key).pk


@pytest.fixture
def street(admin_client, django_capture_on_commit_callbacks):
    """supervision's sample ingested as video sv: track 1 (three cars, frames 0, 1, 5) and an
    untracked person at frame 0, the second detection of that frame."""
    street_schema(admin_client)
    assert job(worker("wes"), ingest(worker("wes"), django_capture_on_commit_callbacks, "sv"))["status"] == "succeeded"
    return Video.objects.get(name="sv")


def test_votes_and_decisions_change_the_review_facet_and_what_queries_match(
        street, admin_client, analyst_client, django_capture_on_commit_callbacks):
    assert review_facet(analyst_client) == {**NO_STATES, "unreviewed": 4}
    tracks = campaign(admin_client, "vehicle", "tracks")
    reviewers = [_client_for(None, name, "reviewer") for name in ("rita", "rob")]
    with django_capture_on_commit_callbacks(execute=True):
        review(reviewers[0], tracks, {"1": "yes"})
    assert review_facet(analyst_client)["confirmed"] == 0  # one vote decides nothing
    with django_capture_on_commit_callbacks(execute=True) as queued:
        review(reviewers[1], tracks, {"1": "yes"})
    assert len(queued) == 1  # one re-index of the one video whose states changed

    assert review_facet(analyst_client) == {**NO_STATES, "unreviewed": 1, "confirmed": 3}
    assert search(analyst_client, q="vehicle(review=confirmed)")["counts"]["frames"] == 3
    assert search(analyst_client, query={"object": {"label": "vehicle", "review": ["rejected"]}})["counts"][
        "frames"] == 0
    # The sidebar's switch: the frames where people confirmed (or corrected) what was seen; like
    # every filter it selects frames, so the unreviewed person beside the car in frame 0 counts too.
    confirmed = search(analyst_client, filters={"review": ["confirmed", "corrected"]}, facets=["label", "review"])
    assert confirmed["counts"]["frames"] == 3
    assert confirmed["facets"]["label"] == {"vehicle": 3, "person": 1}
    assert confirmed["facets"]["review"] == {**NO_STATES, "unreviewed": 1, "confirmed": 3}  # disjunctive
    assert search(analyst_client, filters={"review": ["confirmed"], "label": ["person"]})["counts"]["frames"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.put(f"/api/v1/review/items/{key_of(tracks, '1')}/decision/",
                                    {"state": "rejected"}, format="json")
    assert response.status_code == 200, response.content
    rejected = search(analyst_client, facets=["label", "review"])
    assert rejected["facets"]["review"] == {**NO_STATES, "unreviewed": 1, "rejected": 3}
    assert rejected["facets"]["label"] == {"vehicle": 3, "person": 1}  # rejected, still indexed


def test_a_corrected_detection_counts_under_its_corrected_label_and_values(
        street, admin_client, analyst_client, django_capture_on_commit_callbacks):
    payload = Path(street.payload_path).read_bytes()
    people = campaign(admin_client, "person", "detections")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.put(f"/api/v1/review/items/{key_of(people, '0:1')}/decision/", {
            "state": "corrected", "correction": {"label": "car", "attrs": {"color": "red"}}}, format="json")
    assert response.status_code == 200, response.content

    answer = search(analyst_client, facets=["label", "review", "object:vehicle.color"])
    assert answer["facets"]["label"] == {"vehicle": 4, "person": 0}
    assert answer["facets"]["review"] == {**NO_STATES, "unreviewed": 3, "corrected": 1}
    assert answer["facets"]["object:vehicle.color"] == {"red": 1, "blue": 0}
    assert search(analyst_client, q="vehicle(color=red, review=corrected)")["counts"]["frames"] == 1
    assert Path(street.payload_path).read_bytes() == payload  # the payload is never rewritten


def test_reviews_survive_a_reingest_that_keeps_the_track_ids(
        street, admin_client, analyst_client, django_capture_on_commit_callbacks):
    tracks = campaign(admin_client, "vehicle", "tracks")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.put(f"/api/v1/review/items/{key_of(tracks, '1')}/decision/", {"state": "confirmed"},
                         format="json")
    assert review_facet(analyst_client)["confirmed"] == 3

    assert job(worker("wes"), ingest(worker("wes"), django_capture_on_commit_callbacks, "sv"))["status"] == (
        "succeeded")
    assert review_facet(analyst_client) == {**NO_STATES, "unreviewed": 1, "confirmed": 3}
    # rebuild_index lays the reviews over the payloads too.
    from indexer.services import index_rebuild

    assert index_rebuild() == 1
    assert review_facet(analyst_client) == {**NO_STATES, "unreviewed": 1, "confirmed": 3}


def test_a_schema_naming_an_object_attribute_review_is_refused(admin_client):
    schema = {"objects": {"schema": {"car": {"label": "car", "attrs": {"schema": {"review": {
        "name": "review", "type": "eta.core.data.BooleanAttribute"}}}}}}}
    response = admin_client.post("/api/v1/schemas/", {"name": "mine", "schema": schema}, format="json")
    assert response.status_code == 400
    assert "'review' is a built-in attribute of every object label" in response.content.decode()
    assert "objects.schema.car.attrs.schema.review" in response.content.decode()


# The overlay alone, over records -------------------------------------------------------------------


def overlaid(reviews: VideoReviews, records: list) -> list:
    from indexer.overlays import _sources

    kept = list(_sources)
    _sources[:] = [lambda video_id: reviews]
    try:
        return list(reviewed(7, Analytics.from_list(format="test", meta=VideoMeta(), records=records)).records())
    finally:
        _sources[:] = kept


def car(index: int, track: str | None = None, **attrs) -> ObjectRecord:
    return ObjectRecord(index, index / 10, "car", track=track, attrs=dict(attrs))


def test_the_overlay_marks_every_detection_and_applies_corrections_keyed_like_review_items():
    reviews = VideoReviews(
        tracks={"1": Review("corrected", {"label": "truck", "attrs": {"axles": "3"}}), "2": Review("rejected")},
        detections={(4, 1): Review("corrected", {"attrs": {"color": "red"}})})
    records = [TrackRecord("1", "car", {"color": "black"}), car(0, "1", color="black"), car(0, "2", color="white"),
               car(4, color="blue"), car(4, color="blue"), car(5, color="blue")]

    assert [(getattr(r, "label", None), r.attrs) for r in overlaid(reviews, records)] == [
        ("truck", {"axles": "3"}),  # the track's constants follow its correction
        ("truck", {"axles": "3", "review": "corrected"}),
        ("car", {"color": "white", "review": "rejected"}),
        ("car", {"color": "blue", "review": "unreviewed"}),  # frame 4, detection 0
        ("car", {"color": "red", "review": "corrected"}),  # frame 4, detection 1
        ("car", {"color": "blue", "review": "unreviewed"}),
    ]
    assert records[1].attrs == {"color": "black"} and records[1].label == "car"  # the records are left as read


# Live videos, and when a re-index waits or does nothing ----------------------------------------------


def test_a_live_video_is_reindexed_from_its_spool_and_later_chunks_carry_the_state(
        admin_client, worker_client, analyst_client, django_capture_on_commit_callbacks, demo_ontology_document):
    from tests.indexer.test_live_stream import detection, frame, send, start_live

    assert admin_client.post("/api/v1/schemas/", {"name": "demo", "schema": demo_ontology_document},
                             format="json").status_code == 201
    live = start_live(worker_client).json()
    assert send(worker_client, live["id"], [frame(n, detection("vehicle", 1, color="red")) for n in (1, 2)]
                ).status_code == 200
    tracks = admin_client.post("/api/v1/review/campaigns/", {
        "name": "live", "schema": "demo", "q": "vehicle", "unit": "tracks", "question": "?"}, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.put(f"/api/v1/review/items/{key_of(tracks['id'], '1')}/decision/", {"state": "confirmed"},
                         format="json")
    facet = {"schema": "demo", "facets": ["review"], "facet_unit": "objects"}
    assert analyst_client.post("/api/v1/search/", facet, format="json").json()["facets"]["review"]["confirmed"] == 2

    assert send(worker_client, live["id"], [frame(3, detection("vehicle", 1, color="red"),
                                                  detection("person", None))]).status_code == 200
    assert analyst_client.post("/api/v1/search/", facet, format="json").json()["facets"]["review"] == {
        **NO_STATES, "confirmed": 3, "unreviewed": 1}


def test_a_reindex_waits_for_an_ingest_job_of_its_video_and_skips_a_video_without_payload(street, settings):
    from indexer import services
    from indexer.models import IngestJob

    job = IngestJob.objects.create(video_name="sv", schema=street.schema, format="supervision", mode="filter",
                                   payload_path=street.payload_path)
    with pytest.raises(services.ReindexLater, match="video 'sv' is being ingested"):
        services.video_reindex(video_id=street.pk)
    IngestJob.objects.filter(pk=job.pk).update(status=IngestJob.SUCCEEDED)
    assert services.video_reindex(video_id=street.pk) is True
    assert services.video_reindex(video_id=street.pk + 100) is False
    bare = Video.objects.create(name="bare", schema=street.schema)
    assert services.video_reindex(video_id=bare.pk) is False


def test_a_request_made_before_a_reindex_started_is_answered_by_it(street):
    import time

    from django.core.cache import cache

    from indexer.tasks import video_reindex_task

    cache.delete(f"indexer:reindex-started:{street.pk}")
    asked = time.time()
    assert video_reindex_task.apply(args=(street.pk, asked)).get() == "indexed"
    assert video_reindex_task.apply(args=(street.pk, asked)).get() == "covered"
    assert video_reindex_task.apply(args=(street.pk, time.time())).get() == "indexed"


def test_per_object_cooccurrence_pairs_the_review_state_with_one_labels_values(
        street, admin_client, analyst_client, django_capture_on_commit_callbacks):
    people = campaign(admin_client, "person", "detections")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.put(f"/api/v1/review/items/{key_of(people, '0:1')}/decision/", {
            "state": "corrected", "correction": {"label": "car", "attrs": {"color": "red"}}}, format="json")
    response = analyst_client.post("/api/v1/stats/cooccurrence/", {
        "schema": "street", "a": "review", "b": "object:vehicle.color", "scope": "object"}, format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["rows"], answer["cols"]) == (
        ["unreviewed", "confirmed", "rejected", "corrected", "disputed"], ["red", "blue"])
    assert answer["matrix"] == [[0, 0], [0, 0], [0, 0], [1, 0], [0, 0]]
    assert answer["total"] == 4
