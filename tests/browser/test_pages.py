"""Every page, as an admin sees it (and the login page, as anyone does): an axe-core
audit with no serious or critical violation, every visible control reachable with Tab,
and screenshots at 1440x900 and 1024x768
that match the approved images in tests/browser/approved/ (tests/browser/audit.py says
how; `make approve-screenshots` approves a change)."""

import pytest

from tests.browser.audit import axe_violations, compare_screenshot, keyboard_unreachable
from tests.browser.pages import VIEWPORTS, wait_for_search

# What changes from run to run, painted over in the screenshots: times, job ids, the
# map and the charts (drawn by libraries whose output the audit checks, not the pixels),
# and the frames of playing videos.
TIMES = ("#jobs-updated", "#jobs td:nth-child(7)", "#jobs td:nth-child(8)", "#schema-list td:last-child",
         ".field-job", ".field-queued", "#recent-actions-module",
         "#result_list tbody")  # jobs queued in the same instant come in any order
MOVING = ("#map", "#stats-body", ".clip-card img", "#review-item .stage")


@pytest.fixture
def campaign(demo) -> int:
    """A review campaign over the demo's buses, so the review pages have something to show."""
    from analytics.review.services import campaign_create
    from indexer.models import LabelSchema

    made = campaign_create(name="buses", schema=LabelSchema.objects.get(name="road"), unit="tracks",
                           question="A bus?", q="vehicle(type=bus)", author=None)
    return made.pk


def _pages(campaign: int):
    """(name, path, what shows that the page is ready)."""
    return [
        ("dashboard", "/", wait_for_search),
        ("review-list", "/review/", "#campaigns tbody tr"),
        ("review", f"/review/{campaign}/", "#review-item:not([hidden]), #review-message .notice"),
        ("review-campaign", f"/review/{campaign}/campaign/", "#disputed"),
        ("alerts", "/alerts/", "#alerts tbody tr td:not([colspan]), #alerts tbody .muted"),
        ("schemas", "/manage/schemas/", "#schema-list tbody tr"),
        ("jobs", "/manage/ingest/", "#jobs tbody tr[data-status]"),
        ("django-admin", "/admin/", "#content-main"),
        ("django-admin-jobs", "/admin/indexer/ingestjob/", "#result_list"),
    ]


def _ready(page, ready) -> None:
    if callable(ready):
        ready(page)
    else:
        page.wait_for_selector(ready, state="attached")
    page.wait_for_timeout(300)  # the last fetches land


def _look(page, scratch, name: str, problems: list[str], *, screenshots: bool = True) -> None:
    found = axe_violations(page)
    problems += [f"{name}: axe {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}" for v in found]
    problems += [f"{name}: Tab never reaches {html}" for html in keyboard_unreachable(page)]
    if not screenshots:
        return
    original = page.viewport_size
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(400)  # the layout follows the new size
        page.evaluate("window.scrollTo(0, 0)")
        wrong = compare_screenshot(page, scratch, f"{name}-{width}x{height}", mask=TIMES + MOVING)
        if wrong:
            problems.append(wrong)
    page.set_viewport_size(original)


def test_every_page_passes_axe_and_matches_its_approved_screenshots(campaign, demo, browser):
    # The policy forbids inline scripts, and axe is injected as one: this context lets it in.
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=demo, bypass_csp=True,
                                  reduced_motion="reduce")
    page = context.new_page()
    page.set_default_timeout(60_000)
    scratch = context.new_page()
    problems: list[str] = []

    page.goto("/login/")
    page.wait_for_selector("#id_username")
    _look(page, scratch, "login", problems)
    page.fill("#id_username", "admin")
    page.fill("#id_password", "scoop-admin")
    page.click("button[type=submit]")
    page.wait_for_load_state()

    for name, path, ready in _pages(campaign):
        page.goto(path)
        _ready(page, ready)
        _look(page, scratch, name, problems)
        if name == "dashboard":
            # The menus and the player: audited open (their pixels move with the data).
            page.click("#saved summary")
            page.wait_for_selector("#saved-list")
            _look(page, scratch, "dashboard-saved-searches", problems, screenshots=False)
            page.click("#saved summary")
            page.click("#stats [data-tab=cooccurrence]")
            page.wait_for_timeout(500)
            _look(page, scratch, "dashboard-cooccurrence", problems, screenshots=False)
            page.click("#clip-grid .clip-card >> nth=0")
            page.wait_for_function("() => document.getElementById('player').open", polling=100)
            page.wait_for_function("() => document.getElementById('player-title').textContent !== ''",
                                   polling=100)
            _look(page, scratch, "dashboard-player", problems, screenshots=False)
    context.close()
    assert problems == [], "\n".join(problems)
