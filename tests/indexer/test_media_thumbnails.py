"""Posters and sprite strips: real JPEGs of the asked frame and size, cached;
and search clips that point at them."""

import os
from pathlib import Path

import pytest

from indexer.models import Video
from tests.indexer.media_samples import (
    FPS,
    decode_jpeg,
    ingest_demo,
    media_video,
    shown_frame,
    write_video,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def video():
    return media_video(frames=25)


def thumbnail(client, video, query=""):
    response = client.get(f"/media/videos/{video.pk}/thumbnail.jpg{query}")
    return response, (b"".join(response.streaming_content) if response.streaming else response.content)


def test_a_thumbnail_is_a_jpeg_of_the_asked_frame_and_width(analyst_client, video):
    response, content = thumbnail(analyst_client, video, "?t=2.0&w=80")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    picture = decode_jpeg(content)
    assert picture.shape == (60, 80, 3)
    assert shown_frame(picture) == 10  # t=2.0 s at 5 fps


def test_the_default_thumbnail_is_the_first_frame_320_wide(analyst_client, video):
    _response, content = thumbnail(analyst_client, video)

    picture = decode_jpeg(content)
    assert picture.shape == (240, 320, 3)
    assert shown_frame(picture) == 0


def test_a_time_between_frames_shows_the_frame_on_screen_then(analyst_client, video):
    _response, content = thumbnail(analyst_client, video, "?t=4.99&w=32")

    assert decode_jpeg(content).shape == (24, 32, 3)
    assert shown_frame(decode_jpeg(content)) == 24


def test_thumbnails_are_cached_on_disk_by_media_version_frame_and_width(settings, analyst_client, video):
    cache = Path(settings.SCOOP_DATA_DIR) / "cache" / "thumbs" / str(video.pk)
    _response, first = thumbnail(analyst_client, video, "?t=1&w=64")
    _response, again = thumbnail(analyst_client, video, "?t=1.1&w=64")  # the same frame (5)
    mtime = Path(video.media_path).stat().st_mtime_ns

    assert first == again
    assert sorted(p.name for p in cache.iterdir()) == [f"{mtime}-f5-w64.jpg"]

    write_video(Path(video.media_path), frames=25, size=(160, 120))
    os.utime(video.media_path, ns=(mtime + 10**9, mtime + 10**9))
    thumbnail(analyst_client, video, "?t=1&w=64")
    assert f"{mtime + 10**9}-f5-w64.jpg" in {p.name for p in cache.iterdir()}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("?t=5.0", "t", "t=5.0 is past the end of the video (5 s)"),
        ("?t=-1", "t", "Ensure this value is greater than or equal to 0.0."),
        ("?t=nan", "t", "A valid number is required."),
        ("?w=8", "w", "Ensure this value is greater than or equal to 16."),
        ("?w=4000", "w", "Ensure this value is less than or equal to 1920."),
    ],
)
def test_a_bad_time_or_width_is_400(analyst_client, video, query, field, message):
    response, _content = thumbnail(analyst_client, video, query)

    assert response.status_code == 400
    assert response.json()["detail"] in (message, f"{field}: {message}")


def test_undecodable_media_has_no_thumbnail(analyst_client, video):
    Video.objects.filter(pk=video.pk).update(media_status="failed", media_error="OpenCV cannot open the file")

    response, _content = thumbnail(analyst_client, video)

    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"the media of video {video.pk} cannot be decoded yet (media status failed: OpenCV cannot open the file)"
    )


def test_the_video_detail_gives_the_sprite_layout(analyst_client, video):
    detail = analyst_client.get(f"/api/v1/videos/{video.pk}/").json()

    assert detail["sprite"] == {
        "url": f"/media/videos/{video.pk}/sprite.jpg",
        "frames": 20,
        "frame_width": 160,
        "frame_height": 120,
        "interval_s": 0.25,
    }
    assert detail["thumbnail_url"] == f"/media/videos/{video.pk}/thumbnail.jpg?t=0.0"
    assert detail["stream_url"] == f"/media/videos/{video.pk}/stream"
    assert (detail["media_status"], detail["codec"]) == ("ready", "VP80")


def test_the_sprite_holds_its_frames_side_by_side_as_laid_out(analyst_client, video):
    layout = analyst_client.get(f"/api/v1/videos/{video.pk}/").json()["sprite"]

    response = analyst_client.get(layout["url"])

    sprite = decode_jpeg(b"".join(response.streaming_content))
    assert response["Content-Type"] == "image/jpeg"
    assert sprite.shape == (layout["frame_height"], layout["frames"] * layout["frame_width"], 3)
    for tile in range(layout["frames"]):
        shown = int(tile * layout["interval_s"] * FPS + 1e-6)
        picture = sprite[:, tile * layout["frame_width"] : (tile + 1) * layout["frame_width"]]
        assert shown_frame(picture) == shown, tile


def test_a_video_without_local_media_has_no_sprite(analyst_client):
    from indexer import services

    video, _ = services.video_get_or_create(user=None, name="bare")

    response = analyst_client.get(f"/media/videos/{video.pk}/sprite.jpg")

    assert response.status_code == 404
    assert response.json()["detail"] == f"video {video.pk} has no media file on this server"
    assert analyst_client.get(f"/api/v1/videos/{video.pk}/").json()["sprite"] is None


def test_search_clips_carry_their_thumbnail_and_stream_urls(
    admin_client, worker_client, analyst_client, django_capture_on_commit_callbacks
):
    from fixtures.demo import demo_videos
    from fixtures.render_demo import render_demo_video
    from indexer import services
    from indexer.media import media_dir

    local, remote = demo_videos()[:2]
    local_id = ingest_demo(worker_client, admin_client, django_capture_on_commit_callbacks, local)
    with django_capture_on_commit_callbacks(execute=True):
        remote_job = worker_client.post(
            "/api/v1/ingest/", {"video": remote.name, "analytics": remote.eta_labels(), "schema": "road"}, format="json"
        )
    remote_id = worker_client.get(remote_job.json()["url"]).json()["video"]
    render_demo_video(local, media_dir() / "local.webm")
    services.video_media_register(actor=None, video=Video.objects.get(pk=local_id), path="local.webm", enqueue=False)
    services.video_media_probe(video_id=local_id)
    services.video_media_register(actor=None, video=Video.objects.get(pk=remote_id), url="https://cdn.example.com/remote.webm")

    answer = analyst_client.post("/api/v1/search/", {"q": "traffic_light", "page_size": 100}, format="json").json()

    clips = {clip["video"]: clip for clip in answer["clips"]}
    assert clips[local_id]["stream_url"] == f"/media/videos/{local_id}/stream"
    start = clips[local_id]["start_s"]
    assert clips[local_id]["thumbnail_url"] == f"/media/videos/{local_id}/thumbnail.jpg?t={start}"
    assert clips[remote_id]["stream_url"] == "https://cdn.example.com/remote.webm"
    assert clips[remote_id]["thumbnail_url"] is None
    poster = analyst_client.get(clips[local_id]["thumbnail_url"] + "&w=640")
    assert decode_jpeg(b"".join(poster.streaming_content)).shape == (360, 640, 3)
