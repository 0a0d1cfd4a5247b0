"""Helpers for the browser tests: logging in, waiting for the dashboard,
screenshots, calls to the API with the page's session, and a watch on what
the page logs and fetches."""

from __future__ import annotations

import json
import re
from urllib.parse import urlparse

from tests.conftest import REPO

SCREENSHOTS = REPO / "test-output" / "screenshots"
VIEWPORTS = ((1440, 900), (1024, 768))


class Watch:
    """Everything a page logged and fetched: console errors, and requests to other hosts."""

    def __init__(self, page, origin: str):
        self.origin = origin
        self.errors: list[tuple[str, str]] = []
        self.foreign: list[str] = []
        self.failed: dict[str, tuple[int, bool]] = {}
        page.on("console", lambda message: message.type == "error" and self.errors.append(
            (message.text, message.location.get("url", ""))))
        page.on("pageerror", lambda error: self.errors.append((f"uncaught: {error}", "")))
        page.on("request", self._request)
        page.on("response", self._response)

    def _request(self, request):
        parsed = urlparse(request.url)
        if parsed.scheme in ("data", "blob"):
            return
        if f"{parsed.scheme}://{parsed.netloc}" != self.origin:
            self.foreign.append(request.url)

    def _response(self, response):
        if response.status >= 400:
            is_json = "json" in (response.headers.get("content-type") or "")
            self.failed[response.url] = (response.status, is_json)

    def _expected(self, text: str, url: str, rejected: tuple[str, ...], aborted: str | None) -> bool:
        """Chromium logs every 4xx answer as a console error. Expected ones: the
        statistics and export endpoints that this server does not have yet (a
        404 that is Django's page, not the API's JSON), the search API refusing
        input the test sent wrong on purpose (400 from the ``rejected`` paths),
        and tile requests the test aborts."""
        if aborted and aborted in url and "net::ERR_FAILED" in text:
            return True
        match = re.match(r"Failed to load resource: the server responded with a status of (\d+)", text)
        if not match or url not in self.failed:
            return False
        status, is_json = self.failed[url]
        path = urlparse(url).path
        if status == 404 and not is_json and path.startswith(("/api/v1/stats/", "/api/v1/export/")):
            return True
        return status == 400 and path in rejected

    def assert_clean(self, *, rejected: tuple[str, ...] = (), aborted: str | None = None) -> None:
        unexpected = [(text, url) for text, url in self.errors if not self._expected(text, url, rejected, aborted)]
        assert unexpected == [], "console errors"
        assert self.foreign == [], "requests to hosts other than the live server"


# What the dashboard asks at once for a query: the search, the statistics (on their default
# tab, occurrence) and the map. A query the server refuses gets 400 from each.
QUERY_REQUESTS = ("/api/v1/search/", "/api/v1/stats/occurrence/", "/api/v1/stats/geo/")


def log_in(page, username: str = "analyst", password: str = "scoop-analyst", path: str = "/") -> None:
    page.goto(path)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def wait_for_search(page) -> None:
    page.wait_for_selector("body[data-search=ready], body[data-search=error]", state="attached")


def screenshot(page, name: str) -> None:
    """test-output/screenshots/<name>-1440x900.png and -1024x768.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    page.evaluate("window.scrollTo(0, 0)")
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(400)  # let the map and charts follow the new size
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}x{height}.png"))
    page.set_viewport_size(original)


def api(page, path: str, body: dict | None = None) -> tuple[int, dict]:
    """The REST API with the page's session, as the dashboard's scripts call it."""
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    url = page.url.split("/", 3)[:3]
    base = "/".join(url)
    if body is None:
        response = page.context.request.get(f"{base}{path}")
    else:
        response = page.context.request.post(f"{base}{path}", data=json.dumps(body), headers={
            "Content-Type": "application/json", "X-CSRFToken": cookies.get("csrftoken", "")})
    try:
        payload = response.json()
    except Exception:  # Django's HTML 404 page for a URL this server does not have
        payload = {}
    return response.status, payload


def totals(page) -> dict[str, float]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#totals .tile')]
        .map(tile => [tile.dataset.count, Number(tile.dataset.value)]))""")
