"""Watch and alert in the browser: an analyst saves a search, watches it from the Saved searches
menu, a live camera streams a matching chunk through the API, the badge shows the alert, the
Alerts page lists it, and Play opens its clip with its labels drawn."""

import json
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.pages import log_in, wait_for_search

Q = "vehicle(color=red) AND video.name=dock-cam"
FPS = 10


@pytest.fixture
def dock(demo) -> dict:
    """A live video "dock-cam" that plays a demo video's media, and a worker's token to feed it
    (made before the browser starts: the database is not reachable from its thread)."""
    from accounts.services import user_issue_token
    from indexer import services
    from indexer.live import live_video_start
    from indexer.models import LabelSchema, Video

    token = user_issue_token(username="wes", role="worker")
    demo_media = Video.objects.exclude(media_path="").order_by("name").first().media_path
    video, _ = services.video_get_or_create(user=token.user, name="dock-cam")
    services.video_media_register(video=video, path=demo_media, actor=None, enqueue=False)
    services.video_media_probe(video_id=video.pk)
    live_video_start(name="dock-cam", schema=LabelSchema.objects.order_by("-version").first(), fps=FPS,
                     width=640, height=360, user=token.user)
    return {"video": video.pk, "token": token.key}


def _red_frames(first: int, last: int) -> bytes:
    attrs = {"attrs": [{"type": "eta.core.data.CategoricalAttribute", "name": "color", "value": "red"}]}
    box = {"top_left": {"x": 0.2, "y": 0.3}, "bottom_right": {"x": 0.5, "y": 0.7}}
    return b"".join(json.dumps({"frame_number": n, "objects": {"objects": [
        {"label": "vehicle", "index": 9, "bounding_box": box, "attrs": attrs}]}}).encode() + b"\n"
        for n in range(first, last + 1))


def test_a_watched_search_alerts_and_the_alert_plays(dock, page):
    log_in(page, path=f"/?q={Q}")
    wait_for_search(page)
    page.click("#saved > summary")
    page.fill("#saved-name", "red at the dock")
    page.click("#saved-form button[type=submit]")
    page.click("#saved-list button:has-text('Watch')")
    page.wait_for_selector("#saved-list button:has-text('Stop watching')")
    assert page.locator("#alerts-badge").is_hidden()

    chunk = page.context.request.post(f"/api/v1/videos/{dock['video']}/stream/", data=_red_frames(11, 30), headers={
        "Authorization": f"Token {dock['token']}", "Content-Type": "application/x-ndjson"})
    assert chunk.status == 200, chunk.text()
    page.wait_for_function("() => document.getElementById('alerts-badge').textContent === '1'", timeout=5000)

    page.click("nav a:has-text('Alerts')")
    page.wait_for_selector("#alerts tbody tr[data-alert]")
    row = page.locator("#alerts tbody tr[data-alert]")
    assert row.count() == 1
    assert row.locator("td").nth(1).text_content() == "red at the dock"
    assert row.locator("td").nth(2).text_content() == "dock-cam"
    assert row.locator("td").nth(3).text_content() == "1.0s to 3.0s"

    row.locator("a.play").click()
    page.wait_for_function("() => Number(document.getElementById('player-canvas').dataset.boxes) > 0")
    assert parse_qs(urlparse(page.url).query)["clip"] == [f"{dock['video']}:1:3"]
    assert page.input_value("#query-input") == Q
    assert abs(page.evaluate("document.getElementById('player-video').currentTime") - 1.0) <= 1 / FPS

    page.goto("/alerts/")
    page.click("#alerts tbody tr[data-alert] button:has-text('Acknowledge')")
    page.wait_for_selector("#alerts tbody tr.acknowledged")
    page.wait_for_function("() => document.getElementById('alerts-badge').hidden")
    page.watch.assert_clean()
