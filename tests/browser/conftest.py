"""Browser tests: the real pages in headless Debian Chromium, driven by
Playwright, against a live server holding the demo data.

Chromium is Debian's (/usr/bin/chromium, `apt-get install chromium`), never a
browser that Playwright downloads. Without it (or without the playwright
package) these tests skip, and fail with SCOOP_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.browser.pages import Watch
from tests.conftest import REQUIRE_SERVICES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def require_chromium() -> None:
    """Skip (or fail, with SCOOP_REQUIRE_SERVICES=1) without Debian's Chromium and Playwright."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} is absent (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package is not installed (pip install -r requirements-dev.txt)")
    if not missing:
        return
    message = "; ".join(missing)
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and SCOOP_REQUIRE_SERVICES=1")
    pytest.skip(message)


# Function-scoped: Playwright's sync API keeps an asyncio loop running in this
# thread, in which Django refuses database calls; the browser therefore starts
# after the demo data is loaded and stops before the database is flushed.
@pytest.fixture
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def demo(transactional_db, live_server):
    """The demo ontology, users, analytics and rendered videos, served live."""
    require_chromium()
    call_command("load_demo", stdout=io.StringIO(), stderr=io.StringIO())
    return live_server.url


@pytest.fixture
def page(demo, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=demo)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.watch = Watch(tab, demo)
    yield tab
    context.close()
