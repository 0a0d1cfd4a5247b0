"""Resumable uploads (tus 1.0.0): make one, append chunks, resume after an interruption, refuse a
wrong offset, a file over the limit and another user's upload; a finished upload is a probed video."""

import base64
import hashlib
import os
import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from indexer.media import media_dir
from indexer.models import Upload, Video
from indexer.tasks import jobs_expire_task
from tests.indexer.media_samples import write_video

pytestmark = pytest.mark.django_db

CHUNK_TYPE = "application/offset+octet-stream"


def metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def create(client, length: int, **values: str):
    return client.post("/api/v1/uploads/", HTTP_UPLOAD_LENGTH=str(length), HTTP_TUS_RESUMABLE="1.0.0",
                       HTTP_UPLOAD_METADATA=metadata(**values))


def patch(client, url: str, offset: int, chunk: bytes, **headers: str):
    return client.generic("PATCH", url, chunk, content_type=CHUNK_TYPE, HTTP_UPLOAD_OFFSET=str(offset),
                          HTTP_TUS_RESUMABLE="1.0.0", **headers)


@pytest.fixture
def sample(tmp_path) -> bytes:
    return write_video(tmp_path / "clip.webm", frames=15).read_bytes()


def test_an_upload_sent_in_chunks_becomes_a_probed_video(analyst_client, sample, django_capture_on_commit_callbacks):
    created = create(analyst_client, len(sample), filename="gate 3.webm", camera="gate-3",
                     recorded_at="2026-12-07T08:30:00Z")
    assert created.status_code == 201, created.content
    url = created["Location"]
    assert created.json()["offset"] == 0 and created.json()["name"] == "gate 3"
    assert created["Tus-Resumable"] == "1.0.0"

    third = len(sample) // 3
    first = patch(analyst_client, url, 0, sample[:third])
    assert first.status_code == 204 and first["Upload-Offset"] == str(third)
    assert analyst_client.head(url)["Upload-Offset"] == str(third)
    with django_capture_on_commit_callbacks(execute=True):
        last = patch(analyst_client, url, third, sample[third:])

    assert last.status_code == 200, last.content
    body = last.json()
    assert (body["status"], body["offset"], body["length"]) == ("done", len(sample), len(sample))
    assert body["sha256"] == hashlib.sha256(sample).hexdigest()
    video = Video.objects.get(pk=body["video"])
    assert (video.name, video.camera) == ("gate 3", "gate-3")
    assert video.recorded_at.isoformat() == "2026-12-07T08:30:00+00:00"
    assert (video.media_status, video.frame_count, video.fps, video.codec) == ("ready", 15, 5.0, "VP80")
    assert video.owner == analyst_client.user
    stored = Path(video.media_path)
    assert stored.parent == media_dir() and stored.name.startswith("upload-") and stored.suffix == ".webm"
    assert stored.read_bytes() == sample
    assert not list((Path(video.media_path).parents[1] / "uploads").iterdir())
    assert analyst_client.get(url).json()["media_status"] == "ready"


def test_a_wrong_offset_is_refused_with_the_servers_offset(analyst_client, sample):
    url = create(analyst_client, len(sample), filename="a.webm")["Location"]
    patch(analyst_client, url, 0, sample[:100])

    again = patch(analyst_client, url, 0, sample[:100])
    ahead = patch(analyst_client, url, 500, sample[500:600])

    assert again.status_code == 409
    upload_id = url.split("/")[-2]
    assert again.json()["detail"] == f"upload {upload_id} is at offset 100, not 0: send its bytes from offset 100"
    assert again.json()["path"] == "Upload-Offset" and again["Upload-Offset"] == "100"
    assert ahead.status_code == 409 and "at offset 100, not 500" in ahead.json()["detail"]
    assert analyst_client.head(url)["Upload-Offset"] == "100"


def test_a_file_over_the_limit_is_refused_before_any_byte(settings, analyst_client):
    settings.SCOOP_UPLOAD_MAX_BYTES = 1000

    response = create(analyst_client, 1001, filename="big.webm")

    assert response.status_code == 413
    assert response.json()["detail"] == ("the file of 1001 bytes is larger than the limit of 1000 bytes "
                                         "(SCOOP_UPLOAD_MAX_BYTES)")
    assert not Upload.objects.exists()


def test_a_chunk_past_the_length_is_refused(analyst_client, sample):
    url = create(analyst_client, 50, filename="short.webm")["Location"]

    response = patch(analyst_client, url, 0, sample[:80])

    assert response.status_code == 413
    assert response.json()["detail"] == ("the chunk of 80 bytes goes past the end of the upload: at offset 0 of 50, "
                                         "50 bytes are left")
    assert analyst_client.head(url)["Upload-Offset"] == "0"


@pytest.mark.parametrize(("headers", "status", "message"), [
    ({}, 400, "the Upload-Length header is required"),
    ({"HTTP_UPLOAD_LENGTH": "ten"}, 400, "Upload-Length must be a whole number of bytes, got 'ten'"),
    ({"HTTP_UPLOAD_LENGTH": "0"}, 400, "the file is empty: Upload-Length must be at least 1"),
    ({"HTTP_UPLOAD_LENGTH": "10", "HTTP_UPLOAD_METADATA": "filename !!"}, 400,
     "Upload-Metadata 'filename' is not UTF-8 text in base64"),
    ({"HTTP_UPLOAD_LENGTH": "10", "HTTP_UPLOAD_METADATA": metadata(filename="a.mp4", recorded_at="yesterday")}, 400,
     "recorded_at 'yesterday' is not an ISO 8601 date and time (2026-12-07T17:05:00Z)"),
    ({"HTTP_UPLOAD_LENGTH": "10", "HTTP_UPLOAD_METADATA": metadata(video="99")}, 404, "no video has id 99"),
    ({"HTTP_UPLOAD_LENGTH": "10", "HTTP_UPLOAD_METADATA": metadata(filename="a.mp4", camera="c" * 201)}, 400,
     "Upload-Metadata 'camera' is longer than 200 characters"),
    ({"HTTP_UPLOAD_LENGTH": "10", "HTTP_TUS_RESUMABLE": "0.2.2"}, 412,
     "Tus-Resumable 0.2.2 is not supported: this server speaks tus 1.0.0"),
])
def test_a_bad_creation_says_what_is_wrong(analyst_client, headers, status, message):
    response = analyst_client.post("/api/v1/uploads/", **headers)

    assert response.status_code == status, response.content
    assert response.json()["detail"] == message


def test_a_taken_name_is_refused_at_creation(analyst_client):
    Video.objects.create(name="gate")

    response = create(analyst_client, 10, filename="gate.mp4")

    assert response.status_code == 409
    assert response.json()["detail"].startswith("a video called 'gate' exists (id ")


def test_a_chunk_with_a_wrong_checksum_is_not_kept(analyst_client, sample):
    url = create(analyst_client, len(sample), filename="sum.webm")["Location"]
    good = base64.b64encode(hashlib.sha256(sample[:64]).digest()).decode()
    bad = base64.b64encode(hashlib.sha256(b"other").digest()).decode()

    refused = patch(analyst_client, url, 0, sample[:64], HTTP_UPLOAD_CHECKSUM=f"sha256 {bad}")
    kept = patch(analyst_client, url, 0, sample[:64], HTTP_UPLOAD_CHECKSUM=f"sha256 {good}")
    unknown = patch(analyst_client, url, 64, sample[64:80], HTTP_UPLOAD_CHECKSUM="crc32 AAAA")

    assert refused.status_code == 460
    assert refused.json()["detail"] == "the chunk's sha256 is not the one in Upload-Checksum: it was not kept; " \
                                       "send it again from offset 0"
    assert kept.status_code == 204 and kept["Upload-Offset"] == "64"
    assert unknown.status_code == 400 and "'crc32' is not supported" in unknown.json()["detail"]


def test_a_chunk_must_be_sent_as_offset_octet_stream(analyst_client):
    url = create(analyst_client, 10, filename="x.webm")["Location"]

    response = analyst_client.generic("PATCH", url, b"0123456789", content_type="application/octet-stream",
                                      HTTP_UPLOAD_OFFSET="0")

    assert response.status_code == 415
    assert "application/offset+octet-stream" in response.json()["detail"]


def test_only_its_creator_and_admins_use_an_upload(analyst_client, worker_client, admin_client, sample):
    url = create(analyst_client, len(sample), filename="mine.webm")["Location"]

    other = patch(worker_client, url, 0, sample[:10])
    admin = patch(admin_client, url, 0, sample[:10])

    assert other.status_code == 403
    assert other.json()["detail"] == f"upload {url.split('/')[-2]} belongs to ann: only they and admins may use it"
    assert worker_client.head(url).status_code == 403
    assert admin.status_code == 204
    assert [u["filename"] for u in worker_client.get("/api/v1/uploads/").json()] == []
    assert [u["filename"] for u in analyst_client.get("/api/v1/uploads/").json()] == ["mine.webm"]


def test_reviewers_and_strangers_cannot_upload(client, django_user_model):
    from accounts.services import user_issue_token

    token = user_issue_token(username="rita", role="reviewer")

    reviewer = client.post("/api/v1/uploads/", HTTP_UPLOAD_LENGTH="10", HTTP_AUTHORIZATION=f"Token {token.key}")
    anonymous = client.post("/api/v1/uploads/", HTTP_UPLOAD_LENGTH="10")

    assert reviewer.status_code == 403
    assert anonymous.status_code in (401, 403)
    assert not Upload.objects.exists()


def test_an_upload_to_another_users_video_is_refused(analyst_client, worker_client):
    video = Video.objects.create(name="theirs", owner=worker_client.user)

    response = create(analyst_client, 10, video=str(video.pk))

    assert response.status_code == 403
    assert response.json()["detail"] == ("video 'theirs' belongs to wes: only wes and admins may write to it "
                                         "(an admin may reassign it)")


def test_an_upload_replaces_the_media_of_a_named_video(worker_client, sample, django_capture_on_commit_callbacks):
    video = Video.objects.create(name="own", owner=worker_client.user)
    url = create(worker_client, len(sample), video=str(video.pk), filename="new.webm")["Location"]

    with django_capture_on_commit_callbacks(execute=True):
        done = patch(worker_client, url, 0, sample)

    assert done.status_code == 200 and done.json()["video"] == video.pk
    video.refresh_from_db()
    assert (video.media_status, video.frame_count) == ("ready", 15)


def test_a_deleted_upload_drops_its_bytes(analyst_client, sample, settings):
    url = create(analyst_client, len(sample), filename="gone.webm")["Location"]
    patch(analyst_client, url, 0, sample[:100])

    deleted = analyst_client.delete(url)

    assert deleted.status_code == 204
    assert analyst_client.head(url).status_code == 404
    assert list((Path(settings.SCOOP_DATA_DIR) / "uploads").iterdir()) == []


def test_options_tell_the_tus_version_extensions_and_limit(analyst_client, settings):
    settings.SCOOP_UPLOAD_MAX_BYTES = 12345

    response = analyst_client.options("/api/v1/uploads/")

    assert response.status_code == 204
    assert (response["Tus-Version"], response["Tus-Max-Size"]) == ("1.0.0", "12345")
    assert response["Tus-Extension"] == "creation,termination,checksum"


@pytest.mark.django_db(transaction=True)
def test_an_upload_cut_at_half_resumes_there_with_the_same_checksum(
    live_server, analyst_client, sample, django_capture_on_commit_callbacks
):
    """Over real HTTP, a client dies half-way through a body that claims the whole file: the server
    keeps the half that arrived, and the client resumes from it."""
    token = analyst_client._credentials["HTTP_AUTHORIZATION"]
    url = create(analyst_client, len(sample), filename="wire.webm")["Location"]
    half = len(sample) // 2
    host, port = live_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as wire:
        wire.sendall(f"PATCH {url} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {token}\r\n"
                     f"Content-Type: {CHUNK_TYPE}\r\nUpload-Offset: 0\r\nContent-Length: {len(sample)}\r\n\r\n"
                     .encode() + sample[:half])
        wire.shutdown(socket.SHUT_WR)
        wire.recv(4096)

    offset = int(analyst_client.head(url)["Upload-Offset"])
    with django_capture_on_commit_callbacks(execute=True):
        rest = patch(analyst_client, url, offset, sample[offset:])

    assert offset == half
    assert rest.status_code == 200 and rest.json()["sha256"] == hashlib.sha256(sample).hexdigest()
    video = Video.objects.get(name="wire")
    assert Path(video.media_path).read_bytes() == sample
    assert hashlib.sha256(Path(video.media_path).read_bytes()).hexdigest() == rest.json()["sha256"]


def test_the_periodic_task_fails_uploads_abandoned_for_days_and_deletes_their_bytes(analyst_client, sample, settings):
    settings.SCOOP_UPLOAD_ABANDON_DAYS = 7
    old, recent, silent = (create(analyst_client, len(sample), filename=f"{name}.webm")["Location"]
                           for name in ("old", "recent", "silent"))
    for url in (old, recent):
        patch(analyst_client, url, 0, sample[:100])
    uploads = Path(settings.SCOOP_DATA_DIR) / "uploads"
    eight_days_ago = time.time() - 8 * 86400
    os.utime(uploads / f"{old.split('/')[-2]}.part", (eight_days_ago, eight_days_ago))
    # All three were made eight days ago; "recent" received its bytes just now, "silent" none ever.
    Upload.objects.update(created_at=timezone.now() - timedelta(days=8))

    assert jobs_expire_task() == 2

    states = {upload.filename: (upload.status, upload.error) for upload in Upload.objects.all()}
    assert states == {
        "old.webm": ("failed", "abandoned: no byte arrived for 7 days; the 100 bytes received were deleted"),
        "silent.webm": ("failed", "abandoned: no byte arrived for 7 days; the 0 bytes received were deleted"),
        "recent.webm": ("receiving", ""),
    }
    assert sorted(path.name for path in uploads.iterdir()) == [f"{recent.split('/')[-2]}.part"]
    refused = patch(analyst_client, old, 100, sample[100:200])
    assert refused.status_code == 409 and refused.json()["detail"].endswith("has failed: it takes no more bytes")
    assert patch(analyst_client, recent, 100, sample[100:200]).status_code == 204
