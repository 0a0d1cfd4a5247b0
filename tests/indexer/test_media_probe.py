"""Probing media with OpenCV: exact numbers for a good file, a clear status for a bad one."""

from pathlib import Path

import pytest

from indexer import services
from indexer.media import media_dir, media_probe
from indexer.models import Video
from tests.indexer.media_samples import media_video, write_video

pytestmark = pytest.mark.django_db


def register(name: str, path: Path) -> Video:
    video, _ = services.video_get_or_create(user=None, name=name)
    services.video_media_register(actor=None, video=video, path=str(path), enqueue=False)
    return services.video_media_probe(video_id=video.pk)


def test_probing_a_generated_video_gives_its_exact_numbers():
    video = media_video("probed", frames=25)

    assert video.media_status == "ready"
    assert video.media_error == ""
    assert video.codec == "VP80"
    assert video.fps == 5.0
    assert video.frame_count == 25
    assert video.duration_s == 5.0
    assert (video.width, video.height) == (160, 120)
    assert video.mime_type == "video/webm"
    assert video.size_bytes == Path(video.media_path).stat().st_size
    assert video.media_probed_at is not None


def test_probe_reads_other_sizes_and_rates(tmp_path):
    probe = media_probe(write_video(tmp_path / "wide.webm", frames=12, fps=12.0, size=(320, 96)))

    assert (probe.fps, probe.frame_count, probe.duration_s) == (12.0, 12, 1.0)
    assert (probe.width, probe.height, probe.codec) == (320, 96, "VP80")


def test_a_file_opencv_cannot_open_fails_with_a_clear_message():
    junk = media_dir() / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40)

    video = register("junk", junk)

    assert video.media_status == "failed"
    assert video.media_error == (
        "OpenCV cannot open the file as a video: its container or codec is not supported, or the file is damaged"
    )
    assert video.codec == ""
    assert video.fps is None and video.frame_count is None


def test_a_file_cut_before_its_first_frame_fails_and_says_so():
    whole = write_video(media_dir() / "whole.webm").read_bytes()
    first_cluster = whole.find(b"\x1f\x43\xb6\x75")  # the WebM element that holds the first frames
    cut = media_dir() / "cut.webm"
    cut.write_bytes(whole[: first_cluster + 10])

    video = register("cut", cut)

    assert video.media_status == "failed"
    assert video.media_error == "OpenCV opened the file (codec VP80) but could not decode its first frame"


def test_a_file_removed_before_probing_fails_and_says_so():
    path = write_video(media_dir() / "gone.webm")
    video, _ = services.video_get_or_create(user=None, name="gone")
    services.video_media_register(actor=None, video=video, path=str(path), enqueue=False)
    path.unlink()

    video = services.video_media_probe(video_id=video.pk)

    assert video.media_status == "failed"
    assert video.media_error == f"the media file {path} does not exist"


def test_a_failed_probe_keeps_the_analytics_numbers():
    junk = media_dir() / "junk.webm"
    junk.write_bytes(b"not a video at all" * 100)
    video, _ = services.video_get_or_create(user=None, name="described")
    Video.objects.filter(pk=video.pk).update(fps=30.0, frame_count=900, width=1280, height=720)

    video = register("described", junk)

    assert video.media_status == "failed"
    assert (video.fps, video.frame_count, video.width, video.height) == (30.0, 900, 1280, 720)


def test_the_probe_task_is_queued_after_commit_and_records_its_result(
    worker_client, django_capture_on_commit_callbacks
):
    write_video(media_dir() / "queued.webm", frames=10)
    video, _ = services.video_get_or_create(user=worker_client.user, name="queued")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = worker_client.post(f"/api/v1/videos/{video.pk}/media/", {"path": "queued.webm"}, format="json")
    assert response.status_code == 202
    assert response.json()["media_status"] == "probing"
    assert len(callbacks) == 1
    callbacks[0]()

    after = worker_client.get(f"/api/v1/videos/{video.pk}/media/").json()
    assert after["media_status"] == "ready"
    assert (after["frame_count"], after["fps"], after["duration_s"], after["codec"]) == (10, 5.0, 2.0, "VP80")


def test_a_file_that_does_not_say_its_length_is_counted(tmp_path):
    data = bytearray(write_video(tmp_path / "recorded.webm", frames=25).read_bytes())
    duration = data.find(b"\x44\x89\x88")  # the WebM Duration element and its 8-byte value
    data[duration : duration + 11] = b"\xec\x89" + bytes(9)  # ... made a Void element of the same length
    path = tmp_path / "no-duration.webm"
    path.write_bytes(bytes(data))

    probe = media_probe(path)

    assert (probe.frame_count, probe.fps, probe.duration_s) == (25, 5.0, 5.0)
