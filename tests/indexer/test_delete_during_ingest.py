"""A DELETE is never undone by an ingest: queued jobs of the video are cancelled and named
in the answer, a running job makes the DELETE a 409 until it ends, and a job that finds its
video deleted does not make it again. (docs/guide/ingest.md#deleting-a-video)"""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.models import IngestJob, Video
from tests.indexer.writes import SUPERVISION_FIRST_FRAME, ingest, job, payload_files, search_counts, street_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def gate(admin_client, worker_client, django_capture_on_commit_callbacks) -> int:
    street_schema(admin_client)
    return job(worker_client, ingest(worker_client, django_capture_on_commit_callbacks, "gate"))["video"]


def queue(client, capture, video: str = "gate"):
    """Post a re-ingest whose task has not run: (the answer, the queued task callbacks)."""
    with capture(execute=False) as queued:
        response = ingest(client, capture, video, SUPERVISION_FIRST_FRAME, run=False)
    assert response.status_code == 202, response.content
    return response.json(), queued


def test_a_delete_cancels_the_queued_jobs_and_names_them(gate, admin_client, worker_client, analyst_client, settings,
                                                         django_capture_on_commit_callbacks):
    posted, tasks = queue(worker_client, django_capture_on_commit_callbacks)
    payload = Path(IngestJob.objects.get(pk=posted["id"]).payload_path)

    deleted = admin_client.delete(f"/api/v1/videos/{gate}/")
    for task in tasks:  # the worker gets to the job after the delete
        task()

    cancelled = "cancelled: video 'gate' was deleted by ada before this job ran"
    assert deleted.status_code == 200
    assert deleted.json() == {"id": gate, "name": "gate", "cancelled_jobs": [
        {"id": posted["id"], "url": posted["url"], "status": "cancelled", "video_name": "gate", "error": cancelled}]}
    after = worker_client.get(posted["url"]).json()
    assert (after["status"], after["error"], after["video"]) == ("cancelled", cancelled, None)
    assert not Video.objects.filter(name="gate").exists()
    assert search_counts(analyst_client, "gate") == {"frames": 0, "objects": 0}
    assert not payload.exists()
    assert payload_files(settings) == []


def test_a_running_job_makes_the_delete_a_409_until_it_ends(gate, admin_client, worker_client, analyst_client,
                                                           django_capture_on_commit_callbacks):
    posted, _tasks = queue(worker_client, django_capture_on_commit_callbacks)
    IngestJob.objects.filter(pk=posted["id"]).update(status=IngestJob.RUNNING)  # a worker is indexing it

    refused = admin_client.delete(f"/api/v1/videos/{gate}/")
    kept = search_counts(analyst_client, "gate")
    IngestJob.objects.filter(pk=posted["id"]).update(status=IngestJob.SUCCEEDED)
    deleted = admin_client.delete(f"/api/v1/videos/{gate}/")

    assert refused.status_code == 409
    assert refused.json() == {
        "detail": f"video 'gate' is being ingested by job {posted['id']} (running): wait until it ends "
                  f"(GET {posted['url']}), then delete the video",
        "job": posted["id"], "job_url": posted["url"]}
    assert kept == {"frames": 3, "objects": 4}
    assert deleted.json()["cancelled_jobs"] == []


def test_a_job_that_finds_its_video_deleted_does_not_make_it_again(gate, worker_client, analyst_client,
                                                                   django_capture_on_commit_callbacks):
    posted, tasks = queue(worker_client, django_capture_on_commit_callbacks)
    Video.objects.filter(pk=gate).delete()  # deleted past the API (the Django admin, a shell)

    for task in tasks:
        task()

    failed = worker_client.get(posted["url"]).json()
    assert (failed["status"], failed["error"]) == (
        "failed", "video 'gate' was deleted after this job was queued; it is not made again and nothing was indexed")
    assert not Video.objects.filter(name="gate").exists()


def test_after_a_delete_the_name_may_be_ingested_anew(gate, admin_client, worker_client, analyst_client,
                                                      django_capture_on_commit_callbacks):
    admin_client.delete(f"/api/v1/videos/{gate}/")

    posted = job(worker_client, ingest(worker_client, django_capture_on_commit_callbacks, "gate"))

    assert posted["status"] == "succeeded"
    assert posted["video"] != gate
    assert search_counts(analyst_client, "gate") == {"frames": 3, "objects": 4}
