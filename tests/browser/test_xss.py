"""Names and values that are HTML or script render as text, everywhere the pages
show them: sidebar facets, query completion, clip grid, player, charts (tick and
hover labels), heatmap, map tooltips, the admin pages (jobs board, schema report) and the
review pages (campaign list, review page, correction form, campaign page).

The ingested data carries three payloads; if any page turned one into markup, its
script would set ``window.__xss`` or leave an ``<img>``/``<svg>`` in the page. The
browser runs with the Content-Security-Policy bypassed, so what is proved is the
pages' own escaping; the CSP (tests/browser/test_csp.py) is a second wall.
"""

import json

import pytest

from tests.browser.pages import Watch, log_in, wait_for_search
from tests.browser.test_csp import hover_first_bar

IMG = "<img src=x onerror=window.__xss=1>"
SCRIPT = "<script>window.__xss=1</script>"
SVG = '"><svg onload=window.__xss=1>'

# What a successful injection would leave behind: the flag, or an element from a payload.
INJECTED = """() => ({
    flag: typeof window.__xss,
    elements: document.querySelectorAll('img[src="x"], [onerror], [onload], svg[onload]').length,
    scripts: [...document.scripts].filter((s) => !s.src && s.type !== 'application/json').length,
})"""
CLEAN = {"flag": "undefined", "elements": 0, "scripts": 0}


@pytest.fixture
def hostile(demo):
    """The demo, plus a schema whose group name, display name and colour value are
    payloads, and a video named with one, ingested (strict) with those values, with media."""
    from fixtures.demo import demo_videos
    from indexer import services
    from indexer.models import Video
    from scoop.management.commands.load_demo import ONTOLOGY

    document = json.loads(ONTOLOGY.read_text())
    colors = document["objects"]["schema"]["vehicle"]["frames"]["schema"]["color"]["categories"]
    colors[colors.index("red")] = IMG
    document["display"]["names"]["Toyota"] = SCRIPT
    # Shown as typed (without a display name, underscores would show as spaces).
    document["display"]["names"][IMG] = IMG
    document["display"]["groups"][0]["name"] = SVG
    schema = services.schema_create(name="hostile", document=document, author=None)
    source = demo_videos()[1]  # it has red vehicles
    red = '"name": "color", "value": "red"'
    labels = json.dumps(source.eta_labels())
    assert red in labels
    labels = labels.replace(red, f'"name": "color", "value": {json.dumps(IMG)}')
    job = services.ingest_job_create(chunks=[labels.encode()], video_name=SVG, schema=schema, format="eta",
                                     mode="strict", options={}, user=None, enqueue=False)
    assert services.ingest_run(job_id=str(job.id)).status == "succeeded"
    video = Video.objects.get(name=SVG)
    services.video_media_register(actor=None, video=video, path=Video.objects.get(name=source.name).media_path,
                                  enqueue=False)
    services.video_media_probe(video_id=video.pk)
    return demo


@pytest.fixture
def open_page(hostile, browser):
    """A new tab without the CSP, and a check that nothing was injected into it."""
    contexts = []

    def tab():
        context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=hostile, bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.watch = Watch(page, hostile)
        return page

    yield tab
    for context in contexts:
        context.close()


def _texts(page, selector: str) -> list[str]:
    return page.locator(selector).all_text_contents()


def _check_value(page, key: str, value: str) -> None:
    page.evaluate("""([key, value]) => [...document.querySelectorAll('#sidebar li.value')]
        .find((li) => li.dataset.key === key && li.dataset.value === value)
        .querySelector('input[type=checkbox]').click()""", [key, value])


def test_payloads_render_as_text_on_the_dashboard(open_page):
    page = open_page()
    log_in(page, path="/?schema=hostile")
    wait_for_search(page)

    assert SVG in _texts(page, "#sidebar details.group > summary")
    labels = [text.strip() for text in _texts(page, "#sidebar li.value label")]
    assert SCRIPT in labels and IMG in labels

    page.wait_for_selector("#stats-body[data-state=ready] .plot .main-svg")
    ticks = _texts(page, "#stats-body .xtick text")
    assert SCRIPT in ticks and IMG in ticks
    hover_first_bar(page)  # the first make is Toyota, shown as SCRIPT
    assert SCRIPT in page.text_content("#stats-body .hoverlayer .hovertext")
    page.click('#stats [role="tab"][data-tab="cooccurrence"]')
    page.wait_for_selector("#stats-body[data-state=ready] .heatmap .main-svg")
    assert SCRIPT in _texts(page, "#stats-body .ytick text")

    page.fill("#query-input", "vehicle(color=")
    page.wait_for_selector("#query-suggest:not([hidden]) li")
    assert any(IMG in text for text in _texts(page, "#query-suggest li"))
    page.fill("#query-input", "")
    page.press("#query-input", "Escape")

    _check_value(page, "object:vehicle.color", IMG)
    wait_for_search(page)
    names = _texts(page, "#clip-grid .clip-card .clip-name")
    assert names and set(names) == {SVG}
    chips = _texts(page, "#chips code")
    assert len(chips) == 1 and IMG in chips[0]

    # Point at every route and cell: each opens its tooltip; one route is the hostile video's.
    page.evaluate("""() => document.querySelectorAll('#map path.leaflet-interactive').forEach((path) =>
        path.dispatchEvent(new MouseEvent('mouseover', {bubbles: true, clientX: 600, clientY: 400})))""")
    page.wait_for_selector("#map .leaflet-tooltip")
    assert f"Recorded route of {SVG}" in [text.strip() for text in _texts(page, "#map .leaflet-tooltip")]

    page.click("#clip-grid .clip-card >> nth=0")
    page.wait_for_function("() => Number(document.getElementById('player-canvas').dataset.boxes) > 0")
    assert page.text_content("#player-title") == SVG

    assert page.evaluate(INJECTED) == CLEAN
    page.watch.assert_clean()
    # The control: parsed as HTML, the payload does run in this tab.
    page.evaluate("(html) => document.body.insertAdjacentHTML('beforeend', html)", IMG)
    page.wait_for_function("() => window.__xss === 1")


def test_payloads_render_as_text_on_the_admin_pages(open_page):
    page = open_page()
    log_in(page, "admin", "scoop-admin", path="/manage/ingest/")
    page.wait_for_selector("#jobs tbody tr[data-status]")
    assert SVG in _texts(page, "#jobs tbody tr[data-status] td:first-child")
    assert page.evaluate(INJECTED) == CLEAN

    page.goto("/manage/schemas/")
    page.fill("#schema-name", "bad")
    page.fill("#schema-text", json.dumps({IMG: {}, "objects": {SCRIPT: 1}}))
    page.click("#schema-form button[type=submit]")
    page.wait_for_selector("#schema-report table.problems")
    report = page.text_content("#schema-report")
    assert IMG in report and SCRIPT in report
    assert "hostile" in _texts(page, "#schema-list td")
    assert page.evaluate(INJECTED) == CLEAN
    page.watch.assert_clean(rejected=("/api/v1/schemas/",))


@pytest.fixture
def hostile_campaign(hostile) -> int:
    """A campaign named and asked with payloads, over the hostile video's vehicles, one of
    them disputed with a correction to the payload colour."""
    from accounts.services import user_issue_token
    from analytics.review.services import campaign_create
    from indexer.models import LabelSchema
    from tests.analytics.review.conftest import disputed

    query = {"and": [{"object": {"label": "vehicle"}}, {"video": {"name": [SVG]}}]}
    campaign = campaign_create(name=SVG, schema=LabelSchema.objects.get(name="hostile"), unit="tracks",
                               question=SCRIPT, query=query, author=None)
    disputed(campaign.items.last(), user_issue_token(username="rob", role="reviewer").user,
             {"attrs": {"color": IMG}})
    return campaign.pk


def test_payloads_render_as_text_on_the_review_pages(hostile_campaign, open_page):
    page = open_page()
    log_in(page, "admin", "scoop-admin", path="/review/")
    assert SVG in _texts(page, "#campaigns td")
    assert page.evaluate(INJECTED) == CLEAN

    page.goto(f"/review/{hostile_campaign}/?size=1")
    page.wait_for_selector("body[data-review=ready]")
    assert SCRIPT in page.text_content(".question") and SVG in page.text_content("#review-info")
    page.keyboard.press("c")
    page.select_option("#correction-attrs select[name=color]", IMG)
    assert page.evaluate(INJECTED) == CLEAN

    page.goto(f"/review/{hostile_campaign}/campaign/")
    page.wait_for_selector("body[data-stats=ready]")
    assert any(IMG in text for text in _texts(page, "#disputed-items button"))
    assert SVG in _texts(page, "#disputed-items td")
    assert f"color = {IMG}" in _texts(page, "#stats-attributes td")
    assert page.evaluate(INJECTED) == CLEAN
    page.watch.assert_clean()
