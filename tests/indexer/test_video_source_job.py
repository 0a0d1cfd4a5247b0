"""A video's detail names the ingest job its analytics came from, and who uploaded
them (docs/api/videos-and-media.md#where-its-analytics-came-from): the newest job that
succeeded, never a later one that failed."""

from __future__ import annotations

import pytest

from tests.indexer.writes import SUPERVISION_FIRST_FRAME, ingest, job, street_schema, worker

pytestmark = pytest.mark.django_db


def test_the_detail_names_the_newest_successful_job_and_its_uploader(admin_client, worker_client, analyst_client,
                                                                     django_capture_on_commit_callbacks):
    street_schema(admin_client)
    first = job(worker_client, ingest(worker_client, django_capture_on_commit_callbacks, "gate"))
    assert first["status"] == "succeeded", first
    video = first["video"]

    detail = analyst_client.get(f"/api/v1/videos/{video}/").json()
    assert detail["source_job"] == {"id": first["id"], "url": f"/api/v1/ingest/{first['id']}/",
                                    "uploaded_by": "wes", "format": "supervision",
                                    "finished_at": first["finished_at"]}

    # An admin replaces the analytics: the video now holds the admin's upload.
    second = job(admin_client, ingest(admin_client, django_capture_on_commit_callbacks, "gate",
                                      SUPERVISION_FIRST_FRAME))
    assert second["status"] == "succeeded", second
    source = analyst_client.get(f"/api/v1/videos/{video}/").json()["source_job"]
    assert (source["id"], source["uploaded_by"]) == (second["id"], "ada")

    # A later upload that fails (it would empty the video) leaves the video and its source as they were.
    header = SUPERVISION_FIRST_FRAME.splitlines(keepends=True)[0]
    failed = job(admin_client, ingest(admin_client, django_capture_on_commit_callbacks, "gate", header))
    assert failed["status"] == "failed", failed
    assert analyst_client.get(f"/api/v1/videos/{video}/").json()["source_job"]["id"] == second["id"]


def test_a_video_without_analytics_has_no_source_job(analyst_client):
    named = worker("wes").post("/api/v1/videos/", {"name": "early"}, format="json")
    assert named.status_code == 201, named.content

    detail = analyst_client.get(f"/api/v1/videos/{named.json()['id']}/").json()
    assert detail["source_job"] is None
    assert detail["created_by"] == "wes"
