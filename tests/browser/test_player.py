"""The clip player in headless Chromium: where the video came from (camera, recorded
time, uploader, source job), play and pause, frame stepping, speed and fullscreen from
the keyboard, and a one-frame clip that lasts one frame's time."""

import json
from datetime import datetime

import pytest

from fixtures.demo import demo_videos
from indexer import services
from indexer.models import LabelSchema, Video
from tests.browser.pages import api, log_in, wait_for_search

FIRST = "#clip-grid .clip-card >> nth=0"
FAST_FPS = 30


def _media(page, expression: str):
    return page.evaluate(f"(() => {{ const media = document.getElementById('player-video'); return {expression}; }})()")


def _wait(page, condition: str) -> None:
    # Polled on a timer: Playwright's default (animation frames) stalls while the video decodes.
    page.wait_for_function(f"() => {condition}", polling=100)


def _frame(page) -> int:
    return int(page.evaluate("document.getElementById('player-canvas').dataset.frame"))


def test_the_player_says_where_the_video_came_from_and_answers_the_keyboard(page):
    page.set_default_timeout(60_000)  # the video decodes in software on a shared machine
    log_in(page, path="/?q=person(activity%3Drunning)")
    wait_for_search(page)
    card = page.locator(FIRST)
    video_id = int(card.get_attribute("data-video"))
    status, video = api(page, f"/api/v1/videos/{video_id}/")
    assert status == 200 and video["source_job"] is not None
    fps = video["fps"]

    card.focus()
    page.keyboard.press("Enter")
    _wait(page, "Number(document.getElementById('player-canvas').dataset.frame) >= 0")
    shown = page.evaluate("""() => Object.fromEntries(['camera', 'recorded', 'uploader', 'job', 'play']
        .map(id => [id, document.getElementById(`player-${id}`).textContent]))""")
    recorded = datetime.fromisoformat(video["recorded_at"].replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")
    job = video["source_job"]
    # The demo's ETA files name no camera, and a command (no user) ingested them.
    assert video["camera"] == ""
    assert {key: shown[key] for key in ("camera", "recorded", "uploader", "play")} == {
        "camera": "not given", "recorded": recorded, "uploader": "the server (demo or command)", "play": "Play"}
    assert shown["job"].startswith(f"{job['id'][:8]} (eta, ")
    assert page.evaluate("document.getElementById('player-job').title") == job["id"]

    # The Play button has the focus: Space plays, Space pauses.
    assert page.evaluate("document.activeElement.id") == "player-play"
    # The button's label follows the media's play and pause events, which fire just after
    # `paused` changes: wait for both.
    page.keyboard.press("Space")
    _wait(page, "!document.getElementById('player-video').paused"
                " && document.getElementById('player-play').textContent === 'Pause'")
    page.keyboard.press("Space")
    _wait(page, "document.getElementById('player-video').paused"
                " && document.getElementById('player-play').textContent === 'Play'")
    # Anywhere else in the player but a control, Space plays and pauses too.
    page.evaluate("document.getElementById('player-time').click()")
    page.evaluate("document.getElementById('player-play').blur()")
    page.keyboard.press("Space")
    _wait(page, "!document.getElementById('player-video').paused")
    page.keyboard.press("Space")
    _wait(page, "document.getElementById('player-video').paused")

    # "." and "," step one frame on or back, and the labels follow the frame.
    here = round(_media(page, "media.currentTime") * fps)
    page.keyboard.press(".")
    _wait(page, f"document.getElementById('player-canvas').dataset.frame === '{here + 1}'")
    assert _media(page, "media.currentTime") == pytest.approx((here + 1) / fps, abs=1e-6)
    assert page.evaluate("document.getElementById('player-frame').textContent") == f"frame {here + 1}"
    page.keyboard.press(",")
    page.keyboard.press(",")
    _wait(page, f"document.getElementById('player-canvas').dataset.frame === '{here - 1}'")
    assert _media(page, "media.currentTime") == pytest.approx((here - 1) / fps, abs=1e-6)
    page.evaluate("document.getElementById('player-next-frame').focus()")
    page.keyboard.press("Enter")
    _wait(page, f"document.getElementById('player-canvas').dataset.frame === '{here}'")
    assert _frame(page) == here

    page.select_option("#player-speed", "2")
    assert _media(page, "media.playbackRate") == 2
    page.select_option("#player-speed", "0.5")
    assert _media(page, "media.playbackRate") == 0.5

    # "f": the picture with its boxes fills the screen; again, it comes back.
    page.evaluate("document.getElementById('player-play').focus()")
    # The button's state follows the fullscreenchange event, which fires just after
    # fullscreenElement changes: wait for both.
    page.keyboard.press("f")
    _wait(page, "document.fullscreenElement?.id === 'player-stage'"
                " && document.getElementById('player-fullscreen').getAttribute('aria-pressed') === 'true'")
    page.keyboard.press("f")
    _wait(page, "document.fullscreenElement === null"
                " && document.getElementById('player-fullscreen').getAttribute('aria-pressed') === 'false'")

    page.keyboard.press("Escape")
    _wait(page, "!document.getElementById('player').open")
    page.watch.assert_clean()


@pytest.fixture
def fast_cam(demo):
    """A 30 fps video (no media) with one frame at a roundabout: a one-frame clip."""
    labels = demo_videos()[0].eta_labels()
    labels["metadata"]["frame_rate"] = FAST_FPS
    labels["metadata"]["duration"] = len(labels["frames"]) / FAST_FPS
    labels["filename"] = "fast-cam.webm"
    for attr in labels["frames"]["5"]["attrs"]["attrs"]:
        if attr["name"] == "intersection":
            attr["value"] = "roundabout"
    job = services.ingest_job_create(chunks=[json.dumps(labels).encode()], video_name="fast-cam",
                                     schema=LabelSchema.objects.get(name="road"), format="eta", mode="strict",
                                     options={}, user=None, enqueue=False)
    assert services.ingest_run(job_id=str(job.id)).status == "succeeded"
    # ETA files name no camera; Camio exports and live streams do.
    Video.objects.filter(name="fast-cam").update(camera="cam-30fps")


def test_a_one_frame_clip_lasts_one_frame(fast_cam, page):
    page.set_default_timeout(60_000)
    log_in(page, path="/?q=intersection%3Droundabout")
    wait_for_search(page)
    status, answer = api(page, "/api/v1/search/", {"q": "intersection=roundabout"})
    assert status == 200
    clips = answer["clips"]
    assert len(clips) == 1
    clip = clips[0]
    assert (clip["video_name"], clip["frames"], clip["end_frame"]) == ("fast-cam", 1, clip["start_frame"])
    assert clip["duration_s"] == pytest.approx(1 / FAST_FPS, abs=1e-6)

    # One frame at 30 fps: 33 ms, where the card said "Duration 0.0s".
    caption = f"Starts at 00:00:{round(clip['start_s'], 1):04.1f} - Duration 33 ms (1 frame)"
    assert page.locator(FIRST).locator(".clip-time").text_content() == caption
    assert page.text_content("#clips-summary") == "1 clip, ordered by video and start time"
    page.click(FIRST)
    page.wait_for_selector("#player-title:text('fast-cam')")
    assert page.text_content("#player-info") == caption
    assert page.text_content("#player-loading") == (
        "This video has no media to play (its analytics are indexed, its file is not).")
    assert page.text_content("#player-camera") == "cam-30fps"
    assert page.text_content("#player-uploader") == "the server (demo or command)"
    page.watch.assert_clean()
