"""Giving a video its media: uploads, server-side paths, URLs, and either
order with the analytics."""

import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fixtures.demo import demo_videos
from indexer import services
from indexer.media import MediaError, media_dir, media_store
from indexer.models import Video
from tests.indexer.media_samples import ingest_demo, write_video

pytestmark = pytest.mark.django_db

OUTSIDE = "is outside the folders media may be registered from (SCOOP_DATA_DIR/media and SCOOP_MEDIA_ROOTS)"


@pytest.fixture
def video(worker_client):
    """A video the worker named: its to give media."""
    return services.video_get_or_create(user=worker_client.user, name="cam-1")[0]


def post_media(client, capture, video, **body):
    with capture(execute=True):
        fmt = "multipart" if "file" in body else "json"
        return client.post(f"/api/v1/videos/{video.pk}/media/", body, format=fmt)


def test_a_worker_names_a_video_before_its_analytics(worker_client):
    created = worker_client.post("/api/v1/videos/", {"name": "early-bird"}, format="json")
    again = worker_client.post("/api/v1/videos/", {"name": "early-bird"}, format="json")

    assert created.status_code == 201
    assert created.json()["name"] == "early-bird"
    assert created.json()["media_status"] == "none"
    assert created["Location"] == f"/api/v1/videos/{created.json()['id']}/"
    assert again.status_code == 200
    assert again.json()["id"] == created.json()["id"]
    assert Video.objects.filter(name="early-bird").count() == 1


def test_a_video_needs_a_name(worker_client):
    response = worker_client.post("/api/v1/videos/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "name: This field is required."


def test_an_upload_is_stored_under_a_generated_name_and_probed(
    worker_client, video, tmp_path, django_capture_on_commit_callbacks
):
    content = write_video(tmp_path / "clip.webm", frames=15).read_bytes()
    upload = SimpleUploadedFile("../../evil name.mp4", content, content_type="video/mp4")

    response = post_media(worker_client, django_capture_on_commit_callbacks, video, file=upload)

    assert response.status_code == 202
    video.refresh_from_db()
    stored = Path(video.media_path)
    assert stored.parent == media_dir()
    assert stored.name.startswith("upload-") and stored.suffix == ".webm"
    assert "evil" not in stored.name
    assert stored.read_bytes() == content
    assert [p.name for p in media_dir().iterdir()] == [stored.name]
    assert (video.media_status, video.frame_count, video.fps, video.codec) == ("ready", 15, 5.0, "VP80")
    assert (video.size_bytes, video.mime_type) == (len(content), "video/webm")


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(
    settings, worker_client, video, tmp_path, django_capture_on_commit_callbacks
):
    settings.SCOOP_MEDIA_MAX_BYTES = 1000
    content = write_video(tmp_path / "big.webm").read_bytes()
    assert len(content) > 1000
    upload = SimpleUploadedFile("big.webm", content, content_type="video/webm")

    response = post_media(worker_client, django_capture_on_commit_callbacks, video, file=upload)

    assert response.status_code == 413
    assert response.json()["detail"] == "the media file is larger than the limit of 1000 bytes (SCOOP_MEDIA_MAX_BYTES)"
    assert list(media_dir().iterdir()) == []
    video.refresh_from_db()
    assert (video.media_path, video.media_status) == ("", "none")


def test_an_upload_without_a_declared_length_is_cut_off_at_the_limit():
    with pytest.raises(MediaError) as refused:
        media_store(chunks=(b"x" * 400 for _ in range(10)), max_bytes=1000)

    assert refused.value.status == 413
    assert refused.value.message == "the media file is larger than the limit of 1000 bytes (SCOOP_MEDIA_MAX_BYTES)"
    assert list(media_dir().iterdir()) == []


def test_an_empty_upload_is_refused(worker_client, video, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("empty.webm", b"", content_type="video/webm")

    response = post_media(worker_client, django_capture_on_commit_callbacks, video, file=upload)

    assert response.status_code == 400
    assert list(media_dir().iterdir()) == []


def test_a_server_side_path_under_the_media_folder_is_registered_in_place(
    worker_client, video, django_capture_on_commit_callbacks
):
    path = write_video(media_dir() / "cam-1.webm", frames=20)

    response = post_media(worker_client, django_capture_on_commit_callbacks, video, path="cam-1.webm")

    assert response.status_code == 202
    video.refresh_from_db()
    assert video.media_path == str(path)
    assert (video.media_status, video.frame_count, video.duration_s) == ("ready", 20, 4.0)


@pytest.mark.parametrize("raw", ["../../etc/passwd", "/etc/passwd", "sub/../../../etc/passwd"])
def test_path_traversal_is_refused(worker_client, video, raw, django_capture_on_commit_callbacks):
    response = post_media(worker_client, django_capture_on_commit_callbacks, video, path=raw)

    assert response.status_code == 400
    assert response.json() == {"detail": f"'{raw}' {OUTSIDE}", "path": "path"}
    video.refresh_from_db()
    assert video.media_path == ""


def test_a_symlink_out_of_the_media_folder_is_refused(
    worker_client, video, tmp_path, django_capture_on_commit_callbacks
):
    secret = write_video(tmp_path / "elsewhere.webm")
    os.symlink(secret, media_dir() / "innocent.webm")

    response = post_media(worker_client, django_capture_on_commit_callbacks, video, path="innocent.webm")

    assert response.status_code == 400
    assert response.json()["detail"] == f"'innocent.webm' {OUTSIDE}"


def test_a_missing_file_inside_the_media_folder_is_named(worker_client, video, django_capture_on_commit_callbacks):
    response = post_media(worker_client, django_capture_on_commit_callbacks, video, path="nope.webm")

    assert response.status_code == 400
    assert response.json()["detail"] == "there is no media file at 'nope.webm'"


def test_folders_in_scoop_media_roots_are_allowed(
    settings, worker_client, video, tmp_path, django_capture_on_commit_callbacks
):
    library = tmp_path / "library"
    library.mkdir()
    path = write_video(library / "archive.webm")
    settings.SCOOP_MEDIA_ROOTS = [str(library)]

    response = post_media(worker_client, django_capture_on_commit_callbacks, video, path=str(path))

    assert response.status_code == 202
    video.refresh_from_db()
    assert (video.media_path, video.media_status) == (str(path), "ready")


def test_an_http_url_is_kept_for_the_browser(worker_client, analyst_client, video, django_capture_on_commit_callbacks):
    response = post_media(worker_client, django_capture_on_commit_callbacks, video, url="https://cdn.example.com/a.mp4")

    assert response.status_code == 200
    assert response.json()["media_status"] == "none"
    detail = analyst_client.get(f"/api/v1/videos/{video.pk}/").json()
    assert detail["stream_url"] == "https://cdn.example.com/a.mp4"
    assert detail["thumbnail_url"] is None and detail["sprite"] is None


def test_only_http_urls_are_accepted(worker_client, video, django_capture_on_commit_callbacks):
    response = post_media(worker_client, django_capture_on_commit_callbacks, video, url="ftp://files.example.com/a.mp4")

    assert response.status_code == 400
    assert response.json()["detail"] == "'ftp://files.example.com/a.mp4' is not an http(s) URL"


def test_exactly_one_kind_of_media_is_given(worker_client, video, django_capture_on_commit_callbacks):
    both = post_media(worker_client, django_capture_on_commit_callbacks, video, path="a.webm",
                      url="https://example.com/a.webm")
    neither = post_media(worker_client, django_capture_on_commit_callbacks, video)

    assert both.status_code == 400
    assert both.json()["detail"] == (
        "non_field_errors: send exactly one of a multipart 'file', a server-side 'path' or a 'url' (got path, url)"
    )
    assert neither.status_code == 400


def test_replacing_an_upload_deletes_the_old_file_but_never_a_registered_one(
    worker_client, video, tmp_path, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("a.webm", write_video(tmp_path / "a.webm").read_bytes())
    post_media(worker_client, django_capture_on_commit_callbacks, video, file=upload)
    uploaded = Path(Video.objects.get(pk=video.pk).media_path)
    registered = write_video(media_dir() / "kept.webm")

    post_media(worker_client, django_capture_on_commit_callbacks, video, path="kept.webm")
    post_media(worker_client, django_capture_on_commit_callbacks, video, url="https://example.com/v.webm")

    assert not uploaded.exists()
    assert registered.exists()


@pytest.mark.parametrize("media_first", [True, False], ids=["media-then-analytics", "analytics-then-media"])
def test_media_and_analytics_arrive_in_either_order(
    media_first, admin_client, worker_client, analyst_client, django_capture_on_commit_callbacks
):
    from fixtures.render_demo import render_demo_video

    demo = demo_videos()[0]
    path = render_demo_video(demo, media_dir() / "demo.webm")

    def give_media():
        video_id = worker_client.post("/api/v1/videos/", {"name": demo.name}, format="json").json()["id"]
        response = post_media(worker_client, django_capture_on_commit_callbacks, Video(pk=video_id), path="demo.webm")
        assert response.status_code == 202
        return video_id

    if media_first:
        media_id = give_media()
        analytics_id = ingest_demo(worker_client, admin_client, django_capture_on_commit_callbacks, demo)
    else:
        analytics_id = ingest_demo(worker_client, admin_client, django_capture_on_commit_callbacks, demo)
        media_id = give_media()

    assert media_id == analytics_id
    detail = analyst_client.get(f"/api/v1/videos/{media_id}/").json()
    assert detail["media_status"] == "ready"
    assert (detail["fps"], detail["frame_count"], detail["width"], detail["height"]) == (10.0, 200, 640, 360)
    assert (detail["mime_type"], detail["size_bytes"]) == ("video/webm", path.stat().st_size)
    assert detail["counts"]["frames"] == 200
    assert detail["stream_url"] == f"/media/videos/{media_id}/stream"


def test_probed_numbers_outrank_the_analytics_ones(
    admin_client, worker_client, analyst_client, django_capture_on_commit_callbacks
):
    import json

    from tests.samples import sample

    video = services.video_get_or_create(user=worker_client.user, name="dashcam_0001")[0]
    write_video(media_dir() / "dashcam.webm", frames=25)
    post_media(worker_client, django_capture_on_commit_callbacks, video, path="dashcam.webm")
    schema = json.loads(sample("eta_VideoLabelsSchema.json").read_text())
    admin_client.post("/api/v1/schemas/", {"name": "eta", "schema": schema}, format="json")
    analytics = json.loads(sample("eta_VideoLabels_framewise.json").read_text())  # says 30 fps, 1280x720, 900 frames
    with django_capture_on_commit_callbacks(execute=True):
        worker_client.post("/api/v1/ingest/", {"video": "dashcam_0001", "analytics": analytics}, format="json")

    detail = analyst_client.get(f"/api/v1/videos/{video.pk}/").json()
    assert detail["counts"]["objects"] == 2
    assert (detail["fps"], detail["frame_count"], detail["width"], detail["height"]) == (5.0, 25, 160, 120)
    assert (detail["mime_type"], detail["recorded_at"] is not None) == ("video/webm", True)


def test_deleting_a_video_removes_its_uploaded_media_and_cached_pictures(
    settings, admin_client, analyst_client, worker_client, video, tmp_path, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("a.webm", write_video(tmp_path / "a.webm").read_bytes())
    post_media(worker_client, django_capture_on_commit_callbacks, video, file=upload)
    uploaded = Path(Video.objects.get(pk=video.pk).media_path)
    assert analyst_client.get(f"/media/videos/{video.pk}/thumbnail.jpg?t=1").status_code == 200
    thumbs = Path(settings.SCOOP_DATA_DIR) / "cache" / "thumbs" / str(video.pk)
    assert len(list(thumbs.iterdir())) == 1

    deleted = admin_client.delete(f"/api/v1/videos/{video.pk}/")

    assert deleted.json() == {"id": video.pk, "name": "cam-1", "cancelled_jobs": []}
    assert not uploaded.exists()
    assert not thumbs.exists()
