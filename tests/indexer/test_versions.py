"""A video's history: each replacement keeps the previous payload as a version, an admin
lists and restores versions, pruning beyond SCOOP_KEEP_VERSIONS deletes only what no kept
version holds, and media files stay while a kept version refers to them."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from indexer.media import media_dir
from indexer.models import Video
from tests.indexer.media_samples import write_video
from tests.indexer.writes import SUPERVISION, SUPERVISION_FIRST_FRAME, ingest, job, search_counts, street_schema

pytestmark = pytest.mark.django_db

# The supervision sample's first two frames (3 detections).
SUPERVISION_TWO_FRAMES = b"".join(SUPERVISION.splitlines(keepends=True)[:4])


@pytest.fixture
def schema(admin_client):
    return street_schema(admin_client)


def post(client, capture, content: bytes, video: str = "gate") -> dict:
    posted = job(client, ingest(client, capture, video, content))
    assert posted["status"] == "succeeded", posted
    return posted


def versions(admin_client, video_id: int) -> list[dict]:
    response = admin_client.get(f"/api/v1/videos/{video_id}/versions/")
    assert response.status_code == 200, response.content
    return response.json()


def upload_media(client, capture, video_id: int, name: str) -> Path:
    upload = SimpleUploadedFile(name, write_video(media_dir() / f"source-{name}").read_bytes())
    with capture(execute=True):
        response = client.post(f"/api/v1/videos/{video_id}/media/", {"file": upload}, format="multipart")
    assert response.status_code == 202, response.content
    return Path(Video.objects.get(pk=video_id).media_path)


def test_a_replacement_keeps_the_previous_payload_as_a_version(schema, admin_client, worker_client,
                                                                django_capture_on_commit_callbacks):
    first = post(worker_client, django_capture_on_commit_callbacks, SUPERVISION)
    first_payload = Video.objects.get(name="gate").payload_path
    post(worker_client, django_capture_on_commit_callbacks, SUPERVISION_FIRST_FRAME)

    listed = versions(admin_client, first["video"])

    assert [(v["number"], v["current"], v["change"], v["counts"]["frames"], v["counts"]["objects"], v["created_by"])
            for v in listed] == [(2, True, "ingest", 1, 2, "wes"), (1, False, "ingest", 3, 4, "wes")]
    assert listed[1]["schema"] == {"id": schema["id"], "name": "street", "version": 1}
    assert (listed[1]["format"], listed[1]["mode"], listed[1]["payload_bytes"]) == ("supervision", "filter",
                                                                                   len(SUPERVISION))
    assert listed[1]["restore"] == f"/api/v1/videos/{first['video']}/versions/1/restore/"
    assert Path(first_payload).is_file()


def test_an_admin_restores_a_version_and_the_restore_is_a_version(schema, admin_client, worker_client,
                                                                   analyst_client,
                                                                   django_capture_on_commit_callbacks):
    video_id = post(worker_client, django_capture_on_commit_callbacks, SUPERVISION)["video"]
    post(worker_client, django_capture_on_commit_callbacks, SUPERVISION_FIRST_FRAME)
    assert search_counts(analyst_client, "gate") == {"frames": 1, "objects": 2}

    with django_capture_on_commit_callbacks(execute=True):
        restore = admin_client.post(f"/api/v1/videos/{video_id}/versions/1/restore/")

    assert restore.status_code == 202
    assert restore["Location"] == restore.json()["url"]
    restored = admin_client.get(restore.json()["url"]).json()
    assert (restored["status"], restored["restore_of"], restored["allow_empty"]) == ("succeeded", 1, True)
    assert search_counts(analyst_client, "gate") == {"frames": 3, "objects": 4}
    assert [(v["number"], v["change"], v["restored_from"], v["created_by"]) for v in versions(admin_client, video_id)] \
        == [(3, "restore", 1, "ada"), (2, "ingest", None, "wes"), (1, "ingest", None, "wes")]


def test_restores_are_for_admins_and_name_what_is_missing(schema, admin_client, worker_client,
                                                          django_capture_on_commit_callbacks):
    video_id = post(worker_client, django_capture_on_commit_callbacks, SUPERVISION)["video"]

    by_owner = worker_client.post(f"/api/v1/videos/{video_id}/versions/1/restore/")
    listed_by_owner = worker_client.get(f"/api/v1/videos/{video_id}/versions/")
    unknown = admin_client.post(f"/api/v1/videos/{video_id}/versions/7/restore/")

    assert (by_owner.status_code, by_owner.json()) == (403, {"detail": "This needs the role admin."})
    assert listed_by_owner.status_code == 403
    assert (unknown.status_code, unknown.json()) == (404, {
        "detail": f"video 'gate' keeps no version 7 (GET /api/v1/videos/{video_id}/versions/ lists those it keeps)"})


def test_versions_beyond_the_limit_are_pruned_with_their_payloads(schema, admin_client, worker_client, settings,
                                                                  django_capture_on_commit_callbacks):
    settings.SCOOP_KEEP_VERSIONS = 2
    payloads = []
    for content in (SUPERVISION, SUPERVISION_TWO_FRAMES, SUPERVISION_FIRST_FRAME):
        video_id = post(worker_client, django_capture_on_commit_callbacks, content)["video"]
        payloads.append(Path(Video.objects.get(pk=video_id).payload_path))

    listed = versions(admin_client, video_id)
    pruned = admin_client.post(f"/api/v1/videos/{video_id}/versions/1/restore/")

    assert [(v["number"], v["counts"]["frames"]) for v in listed] == [(3, 1), (2, 2)]
    assert [path.is_file() for path in payloads] == [False, True, True]
    assert pruned.status_code == 404


def test_rebuild_index_reads_each_videos_current_version(schema, admin_client, worker_client, analyst_client,
                                                         django_capture_on_commit_callbacks):
    video_id = post(worker_client, django_capture_on_commit_callbacks, SUPERVISION)["video"]
    post(worker_client, django_capture_on_commit_callbacks, SUPERVISION_FIRST_FRAME)
    call_command("rebuild_index")
    after_replace = search_counts(analyst_client, "gate")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/api/v1/videos/{video_id}/versions/1/restore/")
    call_command("rebuild_index")

    assert after_replace == {"frames": 1, "objects": 2}
    assert search_counts(analyst_client, "gate") == {"frames": 3, "objects": 4}


def test_a_replaced_media_file_stays_while_a_kept_version_refers_to_it(schema, admin_client, worker_client,
                                                                       settings, django_capture_on_commit_callbacks):
    settings.SCOOP_KEEP_VERSIONS = 2
    video_id = post(worker_client, django_capture_on_commit_callbacks, SUPERVISION)["video"]
    first = upload_media(worker_client, django_capture_on_commit_callbacks, video_id, "a.webm")  # version 2
    second = upload_media(worker_client, django_capture_on_commit_callbacks, video_id, "b.webm")  # version 3
    kept_while_referenced = first.is_file()
    post(worker_client, django_capture_on_commit_callbacks, SUPERVISION_FIRST_FRAME)  # version 4: 2 is pruned

    assert kept_while_referenced
    assert not first.is_file()
    assert second.is_file()
    assert [(v["number"], v["change"], v["media_file"]) for v in versions(admin_client, video_id)] == [
        (4, "ingest", second.name), (3, "media", second.name)]


def test_a_restore_brings_back_the_versions_media(schema, admin_client, worker_client, analyst_client,
                                                  django_capture_on_commit_callbacks):
    video_id = post(worker_client, django_capture_on_commit_callbacks, SUPERVISION)["video"]
    first = upload_media(worker_client, django_capture_on_commit_callbacks, video_id, "a.webm")  # version 2
    with django_capture_on_commit_callbacks(execute=True):
        worker_client.post(f"/api/v1/videos/{video_id}/media/", {"url": "https://evil.example/x.mp4"},
                           format="json")  # version 3: the file stays, version 2 refers to it

    with django_capture_on_commit_callbacks(execute=True):
        restore = admin_client.post(f"/api/v1/videos/{video_id}/versions/2/restore/")

    detail = analyst_client.get(f"/api/v1/videos/{video_id}/").json()
    assert admin_client.get(restore.json()["url"]).json()["status"] == "succeeded"
    assert (detail["stream_url"], detail["media_url"], detail["media_status"]) == (
        f"/media/videos/{video_id}/stream", "", "ready")
    assert Video.objects.get(pk=video_id).media_path == str(first)
    assert analyst_client.get(detail["stream_url"]).status_code == 200


def test_deleting_a_video_deletes_every_versions_files(schema, admin_client, worker_client,
                                                       django_capture_on_commit_callbacks):
    video_id = post(worker_client, django_capture_on_commit_callbacks, SUPERVISION)["video"]
    media = upload_media(worker_client, django_capture_on_commit_callbacks, video_id, "a.webm")
    post(worker_client, django_capture_on_commit_callbacks, SUPERVISION_FIRST_FRAME)
    payloads = [Path(p) for p in Video.objects.get(pk=video_id).versions.values_list("payload_path", flat=True)]

    deleted = admin_client.delete(f"/api/v1/videos/{video_id}/")

    assert deleted.status_code == 200
    assert len(set(payloads)) == 2
    assert [path.exists() for path in payloads] == [False] * 3
    assert not media.exists()
