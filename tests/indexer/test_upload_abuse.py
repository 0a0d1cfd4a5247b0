"""Abusive uploads: too large, the wrong type, compressed, names that try to leave their
folder, links out of the media roots, media that is not a video. Each is refused with a
4xx naming the limit, the accepted types or the field, and leaves nothing behind."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from indexer import services
from indexer.media import media_dir
from indexer.models import IngestJob, Video
from tests.indexer.media_samples import write_video
from tests.samples import sample

pytestmark = pytest.mark.django_db

ANALYTICS = sample("eta_VideoLabels_framewise.json").read_bytes()
OUTSIDE = "is outside the folders media may be registered from (SCOOP_DATA_DIR/media and SCOOP_MEDIA_ROOTS)"


@pytest.fixture
def eta_schema(admin_client):
    document = json.loads(sample("eta_VideoLabelsSchema.json").read_text())
    assert admin_client.post("/api/v1/schemas/", {"name": "eta", "schema": document}, format="json").status_code == 201


@pytest.fixture
def video(worker_client):
    """A video the worker named: its to give media."""
    return services.video_get_or_create(user=worker_client.user, name="cam-1")[0]


def payload_files(settings) -> list[str]:
    folder = settings.SCOOP_DATA_DIR / "payloads"
    return sorted(path.name for path in folder.glob("*")) if folder.exists() else []


def ingest_file(client, capture, content: bytes, filename: str = "analytics.json", **fields):
    upload = SimpleUploadedFile(filename, content, content_type="application/json")
    with capture(execute=True):
        return client.post("/api/v1/ingest/", {"file": upload, "video": "v", **fields}, format="multipart")


def post_media(client, capture, video, **body):
    with capture(execute=True):
        return client.post(f"/api/v1/videos/{video.pk}/media/", body, format="multipart" if "file" in body else "json")


# Size ---------------------------------------------------------------------------------------


def test_analytics_over_the_ingest_limit_get_413_naming_it(worker_client, eta_schema, settings,
                                                           django_capture_on_commit_callbacks):
    settings.SCOOP_INGEST_MAX_BYTES = len(ANALYTICS) - 1

    response = ingest_file(worker_client, django_capture_on_commit_callbacks, ANALYTICS)

    assert response.status_code == 413
    assert response.json()["detail"] == (f"the payload is larger than the limit of {len(ANALYTICS) - 1} bytes "
                                         "(SCOOP_INGEST_MAX_BYTES)")
    assert IngestJob.objects.count() == 0
    assert payload_files(settings) == []


def test_analytics_exactly_at_the_limit_are_accepted(worker_client, eta_schema, settings,
                                                     django_capture_on_commit_callbacks):
    settings.SCOOP_INGEST_MAX_BYTES = len(ANALYTICS)

    response = ingest_file(worker_client, django_capture_on_commit_callbacks, ANALYTICS)

    assert response.status_code == 202
    assert IngestJob.objects.get().status == "succeeded"


def test_a_json_body_over_its_limit_gets_413_naming_it(worker_client, eta_schema, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # what SCOOP_JSON_BODY_MAX_BYTES sets
    body = json.dumps({"video": "v", "analytics": json.loads(ANALYTICS)})

    response = worker_client.post("/api/v1/ingest/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["detail"] == ("the request body is larger than the limit of 1000 bytes "
                                         "(SCOOP_JSON_BODY_MAX_BYTES); send large analytics as a multipart file")
    assert IngestJob.objects.count() == 0


def test_media_over_its_limit_gets_413_naming_it_and_leaves_nothing(worker_client, video, tmp_path, settings,
                                                                    django_capture_on_commit_callbacks):
    content = write_video(tmp_path / "clip.webm").read_bytes()
    settings.SCOOP_MEDIA_MAX_BYTES = len(content) // 2
    upload = SimpleUploadedFile("clip.webm", content, content_type="video/webm")

    response = post_media(worker_client, django_capture_on_commit_callbacks, video, file=upload)

    assert response.status_code == 413
    assert response.json() == {"path": "file", "detail": (
        f"the media file is larger than the limit of {len(content) // 2} bytes (SCOOP_MEDIA_MAX_BYTES)")}
    assert list(media_dir().iterdir()) == []


# Type and encoding --------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded",
                                          "application/gzip"])
def test_ingest_in_another_content_type_gets_415_naming_the_accepted_ones(worker_client, eta_schema, content_type):
    response = worker_client.post("/api/v1/ingest/", ANALYTICS, content_type=content_type)

    assert response.status_code == 415
    assert f'Unsupported media type "{content_type}" in request.' in response.json()["detail"]
    assert response.json()["accepted"] == ["multipart/form-data", "application/json"]
    assert IngestJob.objects.count() == 0


def test_media_in_another_content_type_gets_415_naming_the_accepted_ones(worker_client, video):
    response = worker_client.post(f"/api/v1/videos/{video.pk}/media/", b"\x1a\x45\xdf\xa3", content_type="video/webm")

    assert response.status_code == 415
    assert response.json()["accepted"] == ["multipart/form-data", "application/json"]


@pytest.mark.parametrize(("url", "client_name"), [("/api/v1/ingest/", "worker_client"),
                                                  ("/api/v1/search/", "analyst_client")])
def test_a_compressed_body_gets_415(request, eta_schema, url, client_name):
    client = request.getfixturevalue(client_name)
    body = gzip.compress(json.dumps({"video": "v", "analytics": json.loads(ANALYTICS)}).encode())

    response = client.post(url, body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 415
    assert response.json()["detail"].startswith("Content-Encoding 'gzip' is not accepted: send the body uncompressed.")
    assert IngestJob.objects.count() == 0


def test_a_gz_file_upload_gets_415(worker_client, eta_schema, settings, django_capture_on_commit_callbacks):
    response = ingest_file(worker_client, django_capture_on_commit_callbacks, gzip.compress(ANALYTICS),
                           filename="analytics.json.gz")

    assert response.status_code == 415
    assert response.json() == {"path": "file", "detail": (
        "the payload is gzip-compressed; compressed uploads are not accepted: send it uncompressed "
        "(JSON, NDJSON, CSV or XML)")}
    assert payload_files(settings) == []


# Names that try to leave their folder -----------------------------------------------------


def test_an_upload_filename_never_names_the_stored_payload(worker_client, eta_schema, settings, tmp_path,
                                                           django_capture_on_commit_callbacks):
    response = ingest_file(worker_client, django_capture_on_commit_callbacks, ANALYTICS,
                           filename="../../../escaped.json")

    assert response.status_code == 202
    stored = Path(IngestJob.objects.get().payload_path)
    assert stored.parent == settings.SCOOP_DATA_DIR / "payloads"
    assert len(stored.stem) == 32 and "escaped" not in stored.name
    assert not any(tmp_path.rglob("escaped.json"))


@pytest.mark.parametrize("name", ["../../x", "/etc/passwd", "..\\..\\x", "a/../../b"])
def test_a_video_name_is_only_a_name(worker_client, eta_schema, settings, tmp_path, name,
                                     django_capture_on_commit_callbacks):
    """Video names are never used as paths: any text is a name, stored as given."""
    response = ingest_file(worker_client, django_capture_on_commit_callbacks, ANALYTICS, video=name)

    assert response.status_code == 202
    video = Video.objects.get(name=name)
    assert video.counts["objects"] == 2
    assert Path(video.payload_path).parent == settings.SCOOP_DATA_DIR / "payloads"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data"]


@pytest.mark.parametrize("raw", ["../../x.webm", "/etc/passwd", "sub/../../x.webm", "./../x.webm", "~/x.webm"])
def test_a_registered_path_outside_the_roots_is_refused(worker_client, video, raw,
                                                        django_capture_on_commit_callbacks):
    response = post_media(worker_client, django_capture_on_commit_callbacks, video, path=raw)

    assert response.status_code == 400
    assert response.json()["path"] == "path"
    assert response.json()["detail"] in (f"'{raw}' {OUTSIDE}", f"there is no media file at '{raw}'")
    video.refresh_from_db()
    assert video.media_path == ""


@pytest.mark.parametrize("raw", ["a\x00b.webm", ""])
def test_a_registered_path_with_nul_or_nothing_is_refused(worker_client, video, raw,
                                                          django_capture_on_commit_callbacks):
    response = post_media(worker_client, django_capture_on_commit_callbacks, video, path=raw)

    assert response.status_code == 400
    assert response.json()["problems"][0]["path"] == "path"


def test_links_out_of_the_media_root_are_refused(worker_client, video, tmp_path, django_capture_on_commit_callbacks):
    outside = tmp_path / "outside"
    outside.mkdir()
    write_video(outside / "secret.webm")
    os.symlink(outside, media_dir() / "linked-folder")
    os.symlink(media_dir() / "linked-folder" / "secret.webm", media_dir() / "chain.webm")

    for raw in ("linked-folder/secret.webm", "chain.webm", str(media_dir() / "chain.webm")):
        response = post_media(worker_client, django_capture_on_commit_callbacks, video, path=raw)

        assert response.status_code == 400, raw
        assert response.json()["detail"] == f"'{raw}' {OUTSIDE}"
    video.refresh_from_db()
    assert video.media_path == ""


def test_a_link_that_stays_inside_the_media_root_is_allowed(worker_client, video,
                                                            django_capture_on_commit_callbacks):
    real = write_video(media_dir() / "real.webm")
    os.symlink(real, media_dir() / "alias.webm")

    response = post_media(worker_client, django_capture_on_commit_callbacks, video, path="alias.webm")

    assert response.status_code == 202
    video.refresh_from_db()
    assert video.media_path == str(real)


def test_a_folder_is_not_a_media_file(worker_client, video, django_capture_on_commit_callbacks):
    (media_dir() / "folder.webm").mkdir()

    response = post_media(worker_client, django_capture_on_commit_callbacks, video, path="folder.webm")

    assert response.status_code == 400
    assert response.json()["detail"] == "there is no media file at 'folder.webm'"


# Media that is not a video ----------------------------------------------------------------


@pytest.mark.parametrize("content", [ANALYTICS, b"\x1a\x45\xdf\xa3webm but then garbage" * 10, b"\x00" * 4096])
def test_an_upload_that_is_not_a_video_is_kept_and_marked_failed_with_the_reason(
    worker_client, video, content, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("clip.webm", content, content_type="video/webm")

    response = post_media(worker_client, django_capture_on_commit_callbacks, video, file=upload)

    assert response.status_code == 202
    answer = worker_client.get(f"/api/v1/videos/{video.pk}/media/").json()
    assert answer["media_status"] == "failed"
    assert answer["media_error"].startswith(("OpenCV cannot open the file as a video", "OpenCV opened the file"))
    assert answer["fps"] is None and answer["frame_count"] is None


def test_a_registered_file_that_is_not_a_video_is_marked_failed(worker_client, video,
                                                                django_capture_on_commit_callbacks):
    (media_dir() / "notes.webm").write_text("not a video")

    response = post_media(worker_client, django_capture_on_commit_callbacks, video, path="notes.webm")

    assert response.status_code == 202
    video.refresh_from_db()
    assert video.media_status == "failed"
    assert video.media_error.startswith("OpenCV cannot open the file as a video")
