"""Serving a video's file with byte ranges (the player's seeks), and who may."""

from pathlib import Path

import pytest

from indexer.byte_ranges import RangeNotSatisfiable, byte_range
from tests.indexer.media_samples import media_video

pytestmark = pytest.mark.django_db


@pytest.fixture
def video():
    return media_video()


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def stream(client, video, range_header=None):
    headers = {"HTTP_RANGE": range_header} if range_header else {}
    return client.get(f"/media/videos/{video.pk}/stream", **headers)


def test_plain_get_sends_the_whole_file_and_offers_ranges(analyst_client, video):
    data = Path(video.media_path).read_bytes()

    response = stream(analyst_client, video)

    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/webm"
    assert int(response["Content-Length"]) == len(data) == video.size_bytes
    assert response.streaming
    assert body(response) == data


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),  # the first bytes
        ("bytes=600-1199", 600, 1199),  # the middle
        ("bytes=500-", 500, None),  # from a position to the end
        ("bytes=-100", -100, None),  # the last 100 bytes
    ],
)
def test_ranges_answer_206_with_exactly_those_bytes(analyst_client, video, header, first, last):
    data = Path(video.media_path).read_bytes()
    size = len(data)
    start = first if first >= 0 else size + first
    end = last if last is not None else size - 1

    response = stream(analyst_client, video, header)

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert int(response["Content-Length"]) == end - start + 1
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/webm"
    assert body(response) == data[start : end + 1]


def test_a_range_past_the_end_is_cut_to_the_file(analyst_client, video):
    size = video.size_bytes

    response = stream(analyst_client, video, f"bytes={size - 10}-{size + 5000}")
    suffix = stream(analyst_client, video, f"bytes=-{size * 2}")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {size - 10}-{size - 1}/{size}"
    assert len(body(response)) == 10
    assert suffix["Content-Range"] == f"bytes 0-{size - 1}/{size}"


@pytest.mark.parametrize("header", ["bytes={size}-", "bytes=200-100", "bytes=-0", "bytes=abc", "items=0-10", "bytes="])
def test_an_unsatisfiable_or_invalid_range_is_416(analyst_client, video, header):
    size = video.size_bytes

    response = stream(analyst_client, video, header.format(size=size))

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"


def test_several_ranges_at_once_get_the_whole_file(analyst_client, video):
    response = stream(analyst_client, video, "bytes=0-9,20-29")

    assert response.status_code == 200
    assert int(response["Content-Length"]) == video.size_bytes


def test_byte_range_parsing():
    assert byte_range(None, 1000) is None
    assert byte_range("bytes=0-0", 1000) == (0, 0)
    assert byte_range("bytes=999-", 1000) == (999, 999)
    assert byte_range("bytes=-1", 1000) == (999, 999)
    assert byte_range("BYTES = 10 - 20", 1000) == (10, 20)
    for header in ("bytes=1000-", "bytes=5-4", "bytes=-0", "bytes=1-2-3", "bytes=x-1"):
        with pytest.raises(RangeNotSatisfiable):
            byte_range(header, 1000)
    with pytest.raises(RangeNotSatisfiable):
        byte_range("bytes=-5", 0)


def test_x_accel_redirect_hands_the_bytes_to_nginx_after_the_access_check(
    settings, analyst_client, worker_client, anon_client, video
):
    settings.SCOOP_MEDIA_ACCEL_REDIRECT = "/_media/"

    response = stream(analyst_client, video, "bytes=0-99")

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/_media{video.media_path}"
    assert response["Content-Type"] == "video/webm"
    assert response.content == b""
    assert stream(worker_client, video).status_code == 403
    assert "X-Accel-Redirect" not in stream(anon_client, video)


def test_x_accel_redirect_quotes_the_path(settings, analyst_client):
    from indexer.media import media_dir

    settings.SCOOP_MEDIA_ACCEL_REDIRECT = "/_media"
    video = media_video("cam 7 #2")

    response = stream(analyst_client, video)

    assert response["X-Accel-Redirect"] == f"/_media{media_dir()}/cam%207%20%232.webm"


def test_a_video_played_from_its_url_has_no_stream_here(analyst_client, worker_client):
    from indexer import services

    video, _ = services.video_get_or_create(user=None, name="remote")
    services.video_media_register(actor=None, video=video, url="https://cdn.example.com/remote.mp4")

    response = stream(analyst_client, video)

    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"video {video.pk} has no media file on this server (it plays from https://cdn.example.com/remote.mp4)"
    )


def test_a_missing_file_is_404(analyst_client, video):
    Path(video.media_path).unlink()

    response = stream(analyst_client, video)

    assert response.status_code == 404
    assert response.json()["detail"] == f"the media file of video {video.pk} is missing from the server"


def test_a_browser_accept_header_is_served(analyst_client, video):
    response = analyst_client.get(
        f"/media/videos/{video.pk}/stream", HTTP_ACCEPT="video/webm,video/ogg,video/*;q=0.9", HTTP_RANGE="bytes=0-1"
    )

    assert response.status_code == 206


def test_head_tells_the_size_without_the_bytes(analyst_client, video):
    response = analyst_client.head(f"/media/videos/{video.pk}/stream")

    assert response.status_code == 200
    assert int(response["Content-Length"]) == video.size_bytes
    assert response["Accept-Ranges"] == "bytes"
