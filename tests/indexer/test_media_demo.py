"""The demo videos: rendered with OpenCV, playable WebM, showing each actor
exactly where its analytics say, and loaded by ``load_demo``."""

import time

import cv2
import numpy as np
import pytest
from django.core.management import call_command

from fixtures.demo import FPS, HEIGHT, WIDTH, demo_videos
from fixtures.render_demo import VEHICLE_COLORS, render_demo_video, render_frame
from indexer.media import media_probe

DEMO = demo_videos()[0]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    started = time.perf_counter()
    path = render_demo_video(DEMO, tmp_path_factory.mktemp("demo") / f"{DEMO.name}.webm")
    return path, time.perf_counter() - started


def decoded_frame(path, index: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, picture = capture.read()
    capture.release()
    assert ok
    return picture


def test_a_demo_video_is_vp8_webm_with_the_analytics_numbers(rendered):
    path, seconds = rendered

    probe = media_probe(path)

    assert path.read_bytes()[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in path.read_bytes()[:64]
    assert (probe.codec, probe.fps, probe.frame_count) == ("VP80", FPS, DEMO.frames)
    assert (probe.width, probe.height, probe.duration_s) == (WIDTH, HEIGHT, DEMO.frames / FPS)
    assert seconds < 10, f"rendering one demo video took {seconds:.1f} s"


@pytest.mark.parametrize("frame", [10, 60, 150])
def test_each_vehicle_is_drawn_in_its_colour_inside_its_box(rendered, frame):
    path, _seconds = rendered
    picture = decoded_frame(path, frame)
    visible = DEMO.visible(frame)
    checked = 0
    for actor, (x1, y1, x2, y2) in visible:
        if actor.label != "vehicle":
            continue
        # The middle of the car's body: 70% down the box, half-way across.
        x, y = (x1 + x2) / 2, y1 + 0.7 * (y2 - y1) - 0.1 * (y2 - y1)
        if any(o is not actor and ox1 <= x <= ox2 and oy1 <= y <= oy2 for o, (ox1, oy1, ox2, oy2) in visible):
            continue  # another actor may be drawn over this point
        expected = VEHICLE_COLORS[actor.attrs_at(frame)["color"]]
        shown = picture[round(y * HEIGHT), round(x * WIDTH)].astype(int)
        assert np.abs(shown - expected).max() <= 20, (actor.index, shown, expected)
        checked += 1
    assert checked >= 1


def test_a_car_fills_its_box_to_the_pixel():
    """Just inside the left edge of a car's box is the car's outline, then its
    colour; just outside is the scene."""
    frame, actor, (x1, y1, x2, y2) = next(
        (frame, a, box)
        for frame in range(DEMO.frames)
        for a, box in DEMO.visible(frame)
        if a.label == "vehicle" and box[0] > 0.05 and box[2] < 0.95
        and not any(o is not a and _overlap(box, other) for o, other in DEMO.visible(frame))
    )
    picture = render_frame(DEMO, frame)
    color = VEHICLE_COLORS[actor.attrs_at(frame)["color"]]
    left, row = round(x1 * WIDTH), round((y1 + 0.75 * (y2 - y1)) * HEIGHT)

    assert tuple(picture[row, left]) == tuple(max(0, c - 60) for c in color)
    assert tuple(picture[row, left + 2]) == color
    assert tuple(picture[row, left - 1]) not in (color, tuple(max(0, c - 60) for c in color))


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_rendering_is_deterministic():
    assert np.array_equal(render_frame(DEMO, 42), render_frame(DEMO, 42))
    assert not np.array_equal(render_frame(DEMO, 42), render_frame(DEMO, 43))


@pytest.mark.django_db
def test_load_demo_renders_and_registers_the_demo_media(settings, analyst_client):
    call_command("load_demo")

    videos = analyst_client.get("/api/v1/videos/").json()["results"]
    assert len(videos) == 6
    for video in videos:
        assert video["media_status"] == "ready", video["media_error"]
        assert (video["codec"], video["fps"], video["frame_count"]) == ("VP80", 10.0, 200)
        assert video["stream_url"] == f"/media/videos/{video['id']}/stream"
        assert video["sprite"]["interval_s"] == 1.0
    first = videos[0]
    response = analyst_client.get(first["stream_url"], HTTP_RANGE="bytes=0-3")
    assert b"".join(response.streaming_content) == b"\x1a\x45\xdf\xa3"
    media = sorted(p.name for p in (settings.SCOOP_DATA_DIR / "media").iterdir())
    assert media == sorted(f"{demo.name}.webm" for demo in demo_videos())

    call_command("load_demo")  # a second run keeps what is there
    assert sorted(p.name for p in (settings.SCOOP_DATA_DIR / "media").iterdir()) == media
