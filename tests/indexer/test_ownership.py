"""Who may write to a video (docs/operations/security.md#videos-belong-to-their-workers): its
owner and admins; a video without an owner, admins alone. Each refusal is a 403 that says
whose the video is, and stores nothing."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from indexer import services
from indexer.media import media_dir
from indexer.models import IngestJob, Video
from tests.indexer.media_samples import write_video
from tests.indexer.writes import (
    SUPERVISION_FIRST_FRAME,
    ingest,
    job,
    payload_files,
    search_counts,
    street_schema,
    worker,
)

pytestmark = pytest.mark.django_db

OTTOS_REFUSAL = "video 'gate' belongs to wes: only wes and admins may write to it (an admin may reassign it)"


@pytest.fixture
def gate(admin_client, worker_client, django_capture_on_commit_callbacks) -> Video:
    """wes's video 'gate': 3 frames and 4 detections, and media wes uploaded."""
    street_schema(admin_client)
    posted = job(worker_client, ingest(worker_client, django_capture_on_commit_callbacks, "gate"))
    assert posted["status"] == "succeeded", posted
    video = Video.objects.get(name="gate")
    upload = SimpleUploadedFile("gate.webm", write_video(media_dir() / "source.webm").read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        media = worker_client.post(f"/api/v1/videos/{video.pk}/media/", {"file": upload}, format="multipart")
    assert media.status_code == 202, media.content
    return Video.objects.get(pk=video.pk)


def test_a_worker_owns_the_videos_it_creates(gate, analyst_client, worker_client):
    named = worker_client.post("/api/v1/videos/", {"name": "early"}, format="json")

    assert analyst_client.get(f"/api/v1/videos/{gate.pk}/").json()["owner"] == "wes"
    assert analyst_client.get(f"/api/v1/videos/{gate.pk}/").json()["created_by"] == "wes"
    assert analyst_client.get(f"/api/v1/videos/{named.json()['id']}/").json()["owner"] == "wes"


def test_a_second_worker_cannot_empty_anothers_video(gate, analyst_client, settings):
    otto = worker("otto")
    before = search_counts(analyst_client, "gate")
    files = payload_files(settings)

    response = otto.post("/api/v1/ingest/", {"video": "gate", "analytics": {"frames": {}}}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": OTTOS_REFUSAL}
    assert before == search_counts(analyst_client, "gate") == {"frames": 3, "objects": 4}
    assert Video.objects.get(pk=gate.pk).counts == {"frames": 3, "objects": 4, "tracks": 1, "events": 0}
    assert payload_files(settings) == files
    assert not IngestJob.objects.filter(created_by=otto.user).exists()


def test_a_second_workers_upload_is_refused_before_anything_is_stored(gate, settings,
                                                                      django_capture_on_commit_callbacks):
    files = payload_files(settings)

    response = ingest(worker("otto"), django_capture_on_commit_callbacks, "gate", SUPERVISION_FIRST_FRAME)

    assert response.status_code == 403
    assert response.json()["detail"] == OTTOS_REFUSAL
    assert payload_files(settings) == files


def test_a_second_workers_media_request_is_refused_and_the_file_stays(gate, analyst_client):
    otto = worker("otto")
    uploaded = Path(gate.media_path)
    stream_url = analyst_client.get(f"/api/v1/videos/{gate.pk}/").json()["stream_url"]
    media_files = sorted(media_dir().iterdir())

    by_url = otto.post(f"/api/v1/videos/{gate.pk}/media/", {"url": "https://evil.example/v.mp4"}, format="json")
    by_upload = otto.post(f"/api/v1/videos/{gate.pk}/media/",
                          {"file": SimpleUploadedFile("x.webm", uploaded.read_bytes())}, format="multipart")

    assert (by_url.status_code, by_upload.status_code) == (403, 403)
    assert by_url.json() == by_upload.json() == {"detail": OTTOS_REFUSAL}
    assert uploaded.is_file()
    assert sorted(media_dir().iterdir()) == media_files
    assert analyst_client.get(f"/api/v1/videos/{gate.pk}/").json()["stream_url"] == stream_url == \
        f"/media/videos/{gate.pk}/stream"


def test_a_second_worker_cannot_end_or_append_to_anothers_stream(admin_client, worker_client):
    street_schema(admin_client)
    live = worker_client.post("/api/v1/videos/", {"name": "cam", "live": True, "fps": 10, "schema": "street"},
                              format="json").json()
    otto = worker("otto")

    ended = otto.patch(f"/api/v1/videos/{live['id']}/", {"live": False}, format="json")
    chunk = otto.post(f"/api/v1/videos/{live['id']}/stream/", b'{"frame_number": 1}\n',
                      content_type="application/x-ndjson")
    restarted = otto.post("/api/v1/videos/", {"name": "cam", "live": True, "fps": 10, "schema": "street"},
                          format="json")

    refusal = "video 'cam' belongs to wes: only wes and admins may write to it (an admin may reassign it)"
    assert [r.status_code for r in (ended, chunk, restarted)] == [403, 403, 403]
    assert {r.json()["detail"] for r in (ended, chunk, restarted)} == {refusal}
    assert Video.objects.get(pk=live["id"]).live is True


def test_a_demo_video_is_the_admins_alone(admin_client, analyst_client, worker_client,
                                          django_capture_on_commit_callbacks):
    """Demo videos are made by the server (load_demo): no owner."""
    street_schema(admin_client)
    demo = ingest(worker_client, django_capture_on_commit_callbacks, "north-gate-01")
    Video.objects.filter(name="north-gate-01").update(owner=None, created_by=None)
    video = Video.objects.get(name="north-gate-01")
    services.video_media_register(actor=None, video=video, path=str(write_video(media_dir() / "demo.webm")),
                                  enqueue=False)
    stream_url = analyst_client.get(f"/api/v1/videos/{video.pk}/").json()["stream_url"]

    media = worker_client.post(f"/api/v1/videos/{video.pk}/media/", {"url": "https://evil.example/x.mp4"},
                               format="json")
    reingest = ingest(worker_client, django_capture_on_commit_callbacks, "north-gate-01", SUPERVISION_FIRST_FRAME)
    by_admin = job(admin_client, ingest(admin_client, django_capture_on_commit_callbacks, "north-gate-01",
                                        SUPERVISION_FIRST_FRAME))

    refusal = ("video 'north-gate-01' has no owner (a demo video, or one from before owners were recorded): "
               "only admins may write to it")
    assert demo.status_code == 202
    assert (media.status_code, media.json()) == (403, {"detail": refusal})
    assert (reingest.status_code, reingest.json()) == (403, {"detail": refusal})
    assert analyst_client.get(f"/api/v1/videos/{video.pk}/").json()["stream_url"] == stream_url == \
        f"/media/videos/{video.pk}/stream"
    assert by_admin["status"] == "succeeded"
    assert search_counts(analyst_client, "north-gate-01") == {"frames": 1, "objects": 2}


def test_the_owner_and_admins_may_write(gate, admin_client, worker_client, analyst_client,
                                        django_capture_on_commit_callbacks):
    by_owner = job(worker_client, ingest(worker_client, django_capture_on_commit_callbacks, "gate",
                                         SUPERVISION_FIRST_FRAME))
    by_admin = admin_client.post(f"/api/v1/videos/{gate.pk}/media/", {"url": "https://cdn.example/gate.mp4"},
                                 format="json")

    assert by_owner["status"] == "succeeded"
    assert search_counts(analyst_client, "gate") == {"frames": 1, "objects": 2}
    assert by_admin.status_code == 200
    assert by_admin.json()["stream_url"] == "https://cdn.example/gate.mp4"


def test_an_admin_reassigns_a_video(gate, admin_client, worker_client, analyst_client,
                                    django_capture_on_commit_callbacks):
    otto = worker("otto")

    given = admin_client.patch(f"/api/v1/videos/{gate.pk}/", {"owner": "otto"}, format="json")
    by_otto = job(otto, ingest(otto, django_capture_on_commit_callbacks, "gate", SUPERVISION_FIRST_FRAME))
    by_wes = ingest(worker_client, django_capture_on_commit_callbacks, "gate")
    taken_back = worker_client.patch(f"/api/v1/videos/{gate.pk}/", {"owner": "wes"}, format="json")
    to_nobody = admin_client.patch(f"/api/v1/videos/{gate.pk}/", {"owner": None}, format="json")
    by_otto_after = ingest(otto, django_capture_on_commit_callbacks, "gate")

    assert (given.status_code, given.json()["owner"], given.json()["created_by"]) == (200, "otto", "wes")
    assert by_otto["status"] == "succeeded"
    assert (by_wes.status_code, by_wes.json()["detail"]) == (
        403, "video 'gate' belongs to otto: only otto and admins may write to it (an admin may reassign it)")
    assert (taken_back.status_code, taken_back.json()) == (403, {"detail": "only admins may reassign a video"})
    assert (to_nobody.status_code, to_nobody.json()["owner"]) == (200, None)
    assert by_otto_after.status_code == 403
    assert search_counts(analyst_client, "gate") == {"frames": 1, "objects": 2}


@pytest.mark.parametrize(("owner", "message"), [
    ("nobody", "no user is called 'nobody'"),
    ("ann", "user 'ann' is neither a worker nor an admin: only they write to videos"),
])
def test_a_video_goes_only_to_a_worker_or_an_admin(gate, admin_client, analyst_client, owner, message):
    response = admin_client.patch(f"/api/v1/videos/{gate.pk}/", {"owner": owner}, format="json")

    assert (response.status_code, response.json()) == (400, {"detail": message, "path": "owner"})
    assert Video.objects.get(pk=gate.pk).owner.username == "wes"


def test_a_job_queued_before_a_reassignment_does_not_write(gate, admin_client, worker_client, analyst_client,
                                                           django_capture_on_commit_callbacks, settings):
    worker("otto")
    # The job's task is queued on commit: it runs below, after the reassignment.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        posted = ingest(worker_client, django_capture_on_commit_callbacks, "gate", SUPERVISION_FIRST_FRAME,
                        run=False)
    assert posted.status_code == 202
    assert admin_client.patch(f"/api/v1/videos/{gate.pk}/", {"owner": "otto"}, format="json").status_code == 200

    for callback in queued:
        callback()

    failed = worker_client.get(posted.json()["url"]).json()
    assert failed["status"] == "failed"
    assert failed["error"] == ("video 'gate' belongs to otto: only otto and admins may write to it "
                               "(an admin may reassign it); nothing was indexed")
    assert search_counts(analyst_client, "gate") == {"frames": 3, "objects": 4}
    # The refused payload is kept by its failed job alone, to be retried (docs/api/jobs.md); the video
    # still reads the payload it had.
    refused = IngestJob.objects.get(pk=posted.json()["id"]).payload_path
    assert Path(refused).name in payload_files(settings)
    assert Video.objects.get(pk=gate.pk).payload_path != refused


def test_videos_from_before_owners_get_their_creator_and_a_first_version(gate, worker_client,
                                                                         django_capture_on_commit_callbacks):
    from django.apps import apps

    migration = importlib.import_module("indexer.migrations.0007_existing_videos_creators_and_versions")
    admin_made = Video.objects.create(name="by-a-command")
    Video.objects.update(created_by=None, owner=None)
    gate.versions.all().delete()

    migration.creators_and_versions(apps, None)

    gate = Video.objects.get(pk=gate.pk)
    assert (gate.created_by.username, gate.owner.username) == ("wes", "wes")
    assert [(v.number, v.payload_path, v.created_by.username, v.counts["frames"], v.media_path)
            for v in gate.versions.all()] == [(1, gate.payload_path, "wes", 3, gate.media_path)]
    assert (Video.objects.get(pk=admin_made.pk).created_by, Video.objects.get(pk=admin_made.pk).owner) == (None, None)
    assert not Video.objects.get(pk=admin_made.pk).versions.exists()
