"""Clip export: the asked span as a VP9 MP4, labels burned in on request."""

import cv2
import numpy as np
import pytest

from fixtures.demo import HEIGHT, WIDTH, demo_videos
from tests.indexer.media_samples import ingest_demo, media_video, shown_frame

pytestmark = pytest.mark.django_db

VEHICLE_BGR = (0xB4, 0x77, 0x1F)  # the demo ontology's vehicle colour, #1f77b4


def decode_all(path) -> tuple[list[np.ndarray], float, str]:
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    frames = []
    while True:
        ok, picture = capture.read()
        if not ok:
            break
        frames.append(picture)
    capture.release()
    return frames, fps, code.to_bytes(4, "little").decode()


def fetch(client, video_id, query, tmp_path, name="clip.mp4"):
    response = client.get(f"/api/v1/videos/{video_id}/clip.mp4{query}")
    assert response.status_code == 200, response.content if not response.streaming else ""
    path = tmp_path / name
    path.write_bytes(b"".join(response.streaming_content))
    return response, path


def test_a_clip_holds_exactly_the_frames_of_its_span(analyst_client, tmp_path):
    video = media_video(frames=25)

    response, path = fetch(analyst_client, video.pk, "?start_s=1&end_s=3", tmp_path)

    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Disposition"] == 'attachment; filename="sample_1-3s.mp4"'
    assert response["Accept-Ranges"] == "bytes"
    assert path.read_bytes()[4:8] == b"ftyp"
    frames, fps, codec = decode_all(path)
    assert (len(frames), fps, codec) == (10, 5.0, "VP90")
    assert [shown_frame(picture) for picture in frames] == list(range(5, 15))
    assert frames[0].shape == (120, 160, 3)


def test_a_clip_running_past_the_end_stops_at_the_last_frame(analyst_client, tmp_path):
    video = media_video(frames=25)

    _response, path = fetch(analyst_client, video.pk, "?start_s=4.5&end_s=30", tmp_path)

    frames, _fps, _codec = decode_all(path)
    assert [shown_frame(picture) for picture in frames] == [22, 23, 24]


def test_clips_are_served_in_ranges_too(analyst_client):
    video = media_video(frames=25)

    response = analyst_client.get(f"/api/v1/videos/{video.pk}/clip.mp4?start_s=0&end_s=1", HTTP_RANGE="bytes=0-7")

    assert response.status_code == 206
    assert b"".join(response.streaming_content)[4:8] == b"ftyp"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?start_s=2&end_s=1", "end_s: must be greater than start_s"),
        ("?start_s=1", "end_s: This field is required."),
        ("?start_s=0&end_s=301", "a clip may last at most 300 s; this one lasts 301 s"),
        ("?start_s=5&end_s=6", "no frame of video {id} (5 s) lies between start_s and end_s"),
        ("?start_s=0&end_s=1&overlay=maybe", "overlay: Must be a valid boolean."),
    ],
)
def test_a_bad_span_is_400(analyst_client, query, message):
    video = media_video(frames=25)

    response = analyst_client.get(f"/api/v1/videos/{video.pk}/clip.mp4{query}")

    assert response.status_code == 400
    assert response.json()["detail"] == message.format(id=video.pk)


def test_overlays_are_burned_in_on_the_labeled_boxes(
    admin_client, worker_client, analyst_client, django_capture_on_commit_callbacks, tmp_path
):
    from fixtures.render_demo import render_demo_video
    from indexer import services
    from indexer.media import media_dir
    from indexer.models import Video

    demo = demo_videos()[0]
    video_id = ingest_demo(worker_client, admin_client, django_capture_on_commit_callbacks, demo)
    render_demo_video(demo, media_dir() / "demo.webm")
    services.video_media_register(actor=None, video=Video.objects.get(pk=video_id), path="demo.webm", enqueue=False)
    services.video_media_probe(video_id=video_id)

    _response, plain_path = fetch(analyst_client, video_id, "?start_s=3&end_s=3.5", tmp_path, "plain.mp4")
    response, labeled_path = fetch(analyst_client, video_id, "?start_s=3&end_s=3.5&overlay=1", tmp_path)

    assert response["Content-Disposition"] == f'attachment; filename="{demo.name}_3-3.5s_labels.mp4"'
    plain, _fps, _codec = decode_all(plain_path)
    labeled, _fps, _codec = decode_all(labeled_path)
    assert len(plain) == len(labeled) == 5
    for offset, picture in enumerate(labeled):
        for actor, (x1, y1, _x2, y2) in demo.visible(30 + offset):
            if actor.label != "vehicle":
                continue
            left, middle = round(x1 * WIDTH), round((y1 + y2) / 2 * HEIGHT)
            # The box's left edge is drawn in the vehicle colour; the plain clip has the car there.
            assert np.abs(picture[middle, left].astype(int) - VEHICLE_BGR).max() <= 25, (offset, actor.index)
            assert np.abs(plain[offset][middle, left].astype(int) - VEHICLE_BGR).max() > 25, (offset, actor.index)


def test_undecodable_media_has_no_clip(analyst_client):
    from indexer.models import Video

    video = media_video(frames=25)
    Video.objects.filter(pk=video.pk).update(media_status="probing")

    response = analyst_client.get(f"/api/v1/videos/{video.pk}/clip.mp4?start_s=0&end_s=1")

    assert response.status_code == 409
    assert response.json()["detail"] == f"the media of video {video.pk} cannot be decoded yet (media status probing)"
