"""The jobs board's API: every kind of job in one list, the Current and Archived tabs, search by
``column:keyword``, and the actions: retry, cancel (a queued job at once, a running one at its next
checkpoint, leaving nothing half-done), delete, archive and expiry. (docs/api/jobs.md)"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from indexer import jobs, services
from indexer.models import IngestJob, TaskRun, Video
from tests.indexer.writes import SUPERVISION_FIRST_FRAME, ingest, payload_files, search_counts, street_schema, worker

pytestmark = pytest.mark.django_db
URL = "/api/v1/jobs/"


@pytest.fixture
def street(admin_client):
    street_schema(admin_client)


def queued(client, capture, video: str, content: bytes = SUPERVISION_FIRST_FRAME) -> dict:
    """An ingest job posted and left queued (its task never runs here)."""
    response = ingest(client, capture, video, content, run=False)
    assert response.status_code == 202, response.content
    return response.json()


def board(client, **params) -> dict:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_board_lists_every_kind_newest_first_and_workers_see_their_own(
        street, admin_client, worker_client, django_capture_on_commit_callbacks):
    done = ingest(worker_client, django_capture_on_commit_callbacks, "gate").json()
    other = worker("otto")
    theirs = queued(other, django_capture_on_commit_callbacks, "yard")
    rebuild = services.index_rebuild_queue(actor=admin_client.user)  # on-commit: stays queued
    probe = TaskRun.objects.create(kind=TaskRun.PROBE, video_name="gate", status=TaskRun.FAILED,
                                   error="the media file /x.mp4 does not exist")

    everything = board(admin_client)
    mine = board(worker_client)

    assert everything["count"] == 4
    assert [(row["kind"], row["id"]) for row in everything["results"]] == [
        ("probe", str(probe.pk)), ("rebuild", str(rebuild.pk)), ("ingest", theirs["id"]), ("ingest", done["id"])]
    gate = everything["results"][3]
    assert (gate["status"], gate["video_name"], gate["created_by"], gate["output"]["counts"]) == (
        "succeeded", "gate", "wes", {"frames": 3, "objects": 4, "tracks": 1, "events": 0})
    assert gate["actions"] == ["delete", "archive", "ttl"]
    assert gate["detail_url"] == done["url"]
    assert everything["results"][1]["actions"] == ["cancel"]
    assert everything["results"][0]["error"] == "the media file /x.mp4 does not exist"
    assert [(row["id"], row["actions"]) for row in mine["results"]] == [(done["id"], [])]
    assert worker_client.post(f"{gate['url']}archive/").status_code == 403


@pytest.mark.parametrize(("query", "expected"), [
    ("status:cancelled", ["yard"]),
    ("status:succeeded video:GATE", ["gate"]),
    ("status:succeeded status:cancelled", ["yard", "gate"]),
    ("yar", ["yard"]),
    ("kind:analysis", []),
    ("pipeline:reference", []),
    ("user:otto", ["yard"]),
])
def test_search_by_column_and_keyword(street, query, expected, admin_client, worker_client,
                                      django_capture_on_commit_callbacks):
    ingest(worker_client, django_capture_on_commit_callbacks, "gate")
    yard = queued(worker("otto"), django_capture_on_commit_callbacks, "yard")
    admin_client.post(f"{URL}ingest/{yard['id']}/cancel/")

    found = board(admin_client, q=query)

    assert [row["video_name"] for row in found["results"]] == expected
    assert found["count"] == len(expected)


@pytest.mark.parametrize(("params", "message"), [
    ({"q": "colour:red"}, "unknown column 'colour' in 'colour:red'; search by status, kind, video, pipeline, user, "
                          "device"),
    ({"q": "status:lost"}, "unknown status 'lost'; expected one of queued, running, succeeded, failed, cancelled"),
    ({"q": "video:"}, "'video:' has no keyword after the colon"),
    ({"tab": "old"}, "unknown tab 'old'; expected current or archived"),
])
def test_a_bad_search_is_a_400_that_says_what_is_wrong(params, message, admin_client):
    refused = admin_client.get(URL, params)

    assert refused.status_code == 400
    assert refused.json()["detail"] == message


def test_cancel_a_queued_job_then_retry_it(street, admin_client, worker_client, analyst_client, settings,
                                           django_capture_on_commit_callbacks):
    posted = queued(worker_client, django_capture_on_commit_callbacks, "gate")
    url = f"{URL}ingest/{posted['id']}/"

    cancelled = admin_client.post(f"{url}cancel/")
    again = admin_client.post(f"{url}cancel/")
    services.ingest_run(job_id=posted["id"])  # the worker gets to the task afterwards: it does nothing
    with django_capture_on_commit_callbacks(execute=True):
        retried = admin_client.post(f"{url}retry/")

    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["error"]) == ("cancelled", "cancelled before it ran")
    assert again.status_code == 409
    assert again.json()["detail"] == (f"ingest job {posted['id']} is cancelled: it cannot be cancelled (only a queued "
                                      "job, or a running ingest job or analysis, can; once)")
    assert IngestJob.objects.get(pk=posted["id"]).status == "cancelled"
    assert retried.status_code == 202
    new = admin_client.get(retried.json()["url"]).json()
    assert (new["kind"], new["status"], new["created_by"]) == ("ingest", "succeeded", "ada")
    assert search_counts(analyst_client, "gate") == {"frames": 1, "objects": 2}


def test_a_running_ingest_job_stops_at_its_checkpoint_and_indexes_nothing(
        street, admin_client, worker_client, analyst_client, django_capture_on_commit_callbacks):
    ingest(worker_client, django_capture_on_commit_callbacks, "gate")  # 3 frames, 4 objects
    posted = queued(worker_client, django_capture_on_commit_callbacks, "gate")  # would replace them with 1 frame
    IngestJob.objects.filter(pk=posted["id"]).update(status=IngestJob.RUNNING)  # a worker has taken it

    asked = admin_client.post(f"{URL}ingest/{posted['id']}/cancel/")
    ran = services.ingest_run(job_id=posted["id"])  # the worker indexes it, and meets the checkpoint

    assert asked.status_code == 202
    assert (asked.json()["status"], asked.json()["cancel_requested"], asked.json()["actions"]) == (
        "running", True, [])
    assert (ran.status, ran.error) == (
        "cancelled", "cancelled while it ran: it stopped before its index write, and nothing was indexed")
    assert search_counts(analyst_client, "gate") == {"frames": 3, "objects": 4}
    assert Video.objects.get(name="gate").counts["frames"] == 3
    assert Path(ran.payload_path).is_file()  # kept for a retry


def test_delete_archive_and_expiry(street, admin_client, worker_client, settings, django_capture_on_commit_callbacks):
    posted = queued(worker_client, django_capture_on_commit_callbacks, "gate")
    url = f"{URL}ingest/{posted['id']}/"
    refused = admin_client.delete(url)
    admin_client.post(f"{url}cancel/")

    archived = admin_client.post(f"{url}archive/")
    current, old = board(admin_client), board(admin_client, tab="archived")
    week = admin_client.put(f"{url}expiry/", {"ttl_days": 7}, format="json")
    past = admin_client.put(f"{url}expiry/", {"expires_at": "2020-01-01T00:00:00Z"}, format="json")
    neither = admin_client.put(f"{url}expiry/", {}, format="json")
    kept = jobs.jobs_expire(now=timezone.now() + timedelta(days=6))
    expired = jobs.jobs_expire(now=timezone.now() + timedelta(days=8))

    assert refused.status_code == 409
    assert refused.json()["detail"].endswith("it cannot be deleted (cancel it first, or wait until it ends)")
    assert archived.status_code == 200 and archived.json()["archived_at"]
    assert (current["count"], [row["id"] for row in old["results"]]) == (0, [posted["id"]])
    assert old["results"][0]["actions"] == ["retry", "delete", "unarchive", "ttl"]
    assert week.status_code == 200
    expires = timezone.datetime.fromisoformat(week.json()["expires_at"])
    assert timedelta(days=6.99) < expires - timezone.now() < timedelta(days=7.01)
    assert (past.status_code, past.json()["detail"]) == (
        400, "expires_at must be in the future, got 2020-01-01T00:00:00+00:00")
    assert neither.status_code == 400
    assert (kept, expired) == (0, 1)
    assert not IngestJob.objects.filter(pk=posted["id"]).exists()
    assert payload_files(settings) == []  # the cancelled job's payload went with it
    assert admin_client.get(url).status_code == 404


def test_a_failed_job_keeps_its_payload_for_a_retry_until_it_expires(street, admin_client, worker_client, settings,
                                                                     django_capture_on_commit_callbacks):
    failed = ingest(worker_client, django_capture_on_commit_callbacks, "gate", b"frame,nonsense\n1,2\n").json()
    job = IngestJob.objects.get(pk=failed["id"])

    deleted = admin_client.delete(f"{URL}ingest/{job.pk}/")

    assert job.status == "failed"
    assert timedelta(days=6.99) < job.expires_at - timezone.now() < timedelta(days=7.01)
    assert deleted.status_code == 204
    assert not Path(job.payload_path).exists()


def test_an_unknown_job_is_a_404(admin_client):
    assert admin_client.get(f"{URL}ingest/8d1c6a3e-0f7b-4f55-9c55-0a3b4f1e2d3c/").json() == {
        "detail": "no ingest job 8d1c6a3e-0f7b-4f55-9c55-0a3b4f1e2d3c that you may see"}
    assert admin_client.get(f"{URL}upload/8d1c6a3e-0f7b-4f55-9c55-0a3b4f1e2d3c/").json() == {
        "detail": "unknown kind 'upload'; expected one of ingest, analysis, probe, rebuild, import", "path": "kind"}
