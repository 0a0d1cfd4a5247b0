"""The pages work under Scoop's Content-Security-Policy (scoop/security.py):
every view of the dashboard (charts, heatmap, timeline, map, player), the admin
pages, the review pages, the API docs and the Django admin draw without one CSP violation."""

from tests.browser.pages import log_in, wait_for_search

# Every violation the page sees, as the browser reports it to scripts.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (event) => window.__csp.push(
    `${event.violatedDirective} blocked ${event.blockedURI || 'inline'} at ${event.sourceFile}:${event.lineNumber}`));
"""


def _violations(page) -> list[str]:
    return page.evaluate("window.__csp")


def _policy(page, path: str) -> str:
    return page.context.request.get(path).headers["content-security-policy"]


def hover_first_bar(page) -> None:
    """Point at the first bar with a non-zero count; plotly draws its hover label (the
    bar lies under plotly's drag layer, which finds it from the mouse position)."""
    bar = page.locator("#stats-body .plot .bars path").first.bounding_box()
    page.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    page.wait_for_selector("#stats-body .hoverlayer .hovertext")


def test_the_dashboard_runs_under_the_policy_without_violations(page):
    page.context.add_init_script(RECORD_VIOLATIONS)
    log_in(page, path="/?q=person(activity%3Drunning)")
    wait_for_search(page)
    assert "script-src 'self';" in _policy(page, "/")

    page.wait_for_selector("#stats-body[data-state=ready] .plot .main-svg")
    hover_first_bar(page)
    page.click('#stats [role="tab"][data-tab="cooccurrence"]')
    page.wait_for_selector("#stats-body[data-state=ready] .heatmap .main-svg")
    page.click('#stats [role="tab"][data-tab="timeline"]')
    page.wait_for_selector("#stats-body[data-state=ready] .plot .main-svg")
    page.wait_for_selector("#map .leaflet-interactive")
    page.click("#clip-grid .clip-card >> nth=0")
    page.wait_for_function("() => Number(document.getElementById('player-canvas').dataset.boxes) > 0")
    page.click("#player-close")

    assert page.evaluate("typeof window.Plotly") == "object"
    assert _violations(page) == []
    page.watch.assert_clean()


def test_admin_pages_docs_and_django_admin_run_under_the_policy(page):
    page.context.add_init_script(RECORD_VIOLATIONS)
    log_in(page, "admin", "scoop-admin", path="/manage/schemas/")
    page.wait_for_selector("#schema-list tbody tr")
    assert _violations(page) == []

    page.goto("/manage/ingest/")
    page.wait_for_selector("#jobs tbody tr[data-status]")
    assert _violations(page) == []

    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock")
    assert _violations(page) == []

    page.goto("/admin/indexer/video/")
    page.wait_for_selector("#result_list")
    page.goto("/admin/indexer/video/add/")
    page.wait_for_selector("#video_form")
    assert _violations(page) == []
    # Swagger UI and the Django admin link no icon: Chromium asks for /favicon.ico, which is there.
    page.watch.assert_clean()


def test_the_review_pages_run_under_the_policy(page):
    page.context.add_init_script(RECORD_VIOLATIONS)
    log_in(page, "admin", "scoop-admin", path="/?q=vehicle")
    wait_for_search(page)
    page.click("#review-new > summary")
    page.fill("#review-new-name", "csp")
    page.fill("#review-new-question", "A vehicle?")
    page.click("#review-new-form button[type=submit]")
    page.wait_for_selector("#review-new-result[data-campaign]")
    campaign = page.get_attribute("#review-new-result", "data-campaign")
    assert _violations(page) == []

    page.goto("/review/")
    page.wait_for_selector(f"#campaigns tr[data-campaign='{campaign}']")
    assert _violations(page) == []
    page.goto(f"/review/{campaign}/?size=2")
    page.wait_for_function("() => Number(document.getElementById('review-canvas').dataset.boxes) === 1")
    page.keyboard.press("c")
    page.wait_for_selector("#review-correction", state="visible")
    assert _violations(page) == []
    page.goto(f"/review/{campaign}/campaign/")
    page.wait_for_selector("body[data-stats=ready]")

    assert _violations(page) == []
    page.watch.assert_clean()
