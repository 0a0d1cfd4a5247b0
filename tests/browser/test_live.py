"""A live video on the dashboard: marked in the clip grid, its clips growing as chunks arrive."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import quote

import pytest

from accounts.services import user_issue_token
from indexer import live
from indexer.models import LabelSchema
from tests.browser.pages import log_in, wait_for_search

FPS = 10.0
QUERY = "video.name=live-cam AND vehicle(color=red)"


def red_car_frames(numbers) -> bytes:
    lines = []
    for n in numbers:
        car = {"label": "vehicle", "index": 1, "attrs": {"attrs": [
            {"type": "eta.core.data.CategoricalAttribute", "name": "color", "value": "red"}]}}
        lines.append(json.dumps({"frame_number": n, "objects": {"objects": [car]}}))
    return "\n".join(lines).encode()


@pytest.fixture
def live_stream(demo):
    """A live video of the worker wes with one stretch of red cars, and his token for the rest of its stream.
    Made before the browser starts: the database is not reachable from Playwright's thread."""
    schema = LabelSchema.objects.filter(name="road").order_by("-version").first()
    token = user_issue_token(username="wes", role="worker")
    video, _created = live.live_video_start(user=token.user, name="live-cam", schema=schema, fps=FPS)
    live.live_append(actor=token.user, video=video, body=red_car_frames(range(1, 11)))
    return {"url": f"{demo}/api/v1/videos/{video.pk}/stream/", "token": token.key}


def send_chunk(stream: dict, body: bytes) -> dict:
    request = urllib.request.Request(stream["url"], data=body, method="POST", headers={
        "Authorization": f"Token {stream['token']}", "Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def live_cards(page) -> int:
    return page.locator(".clip-card.live").count()


def test_the_clip_grid_marks_a_live_video_and_shows_its_new_clips(live_stream, page):
    log_in(page, path=f"/?q={quote(QUERY)}")
    wait_for_search(page)

    assert live_cards(page) == 1
    assert page.locator(".clip-card.live .live-badge").first.inner_text().strip() == "LIVE"
    assert page.locator('#totals .tile[data-count="clips"]').get_attribute("data-value") == "1"

    # Frames 31..40 come three seconds after the first stretch: a second clip.
    answer = send_chunk(live_stream, red_car_frames(range(31, 41)))
    assert answer["appended"]["frames"] == 10

    # The dashboard re-runs the search every few seconds while a live video is shown.
    page.locator(".clip-card.live").nth(1).wait_for(timeout=10_000)
    assert live_cards(page) == 2
    assert page.locator('#totals .tile[data-count="clips"]').get_attribute("data-value") == "2"
    captions = page.locator(".clip-card.live .clip-time").all_inner_texts()
    assert captions == ["Starts at 00:00:00.0 - Duration 1.0s", "Starts at 00:00:03.0 - Duration 1.0s"]
    page.watch.assert_clean()
