"""The analyst dashboard in headless Chromium: facets and totals against the
API, query errors, the map rectangle, the clip player, the URL as state, and the
schema picker."""

import json
import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.pages import QUERY_REQUESTS, api, log_in, screenshot, totals, wait_for_search

FIRST = "#clip-grid .clip-card >> nth=0"


def _row(page, key: str, value: str) -> str:
    return f'#sidebar li.value[data-key="{key}"][data-value="{value}"]'


def _expected_totals(answer: dict):
    # The duration is a sum of floats: equal up to the order the engine adds them in.
    return pytest.approx({key: float(value) for key, value in answer["counts"].items()}, rel=1e-9)


def _sidebar_counts(page) -> dict[str, dict[str, str]]:
    return page.evaluate("""() => {
        const counts = {};
        for (const row of document.querySelectorAll('#sidebar li.value')) {
            (counts[row.dataset.key] ||= {})[row.dataset.value] = row.querySelector('.count').textContent;
        }
        return counts;
    }""")


def _search(page, **body) -> dict:
    status, answer = api(page, "/api/v1/search/", {"page_size": 24, **body})
    assert status == 200, answer
    return answer


def _assert_screen_matches_api(page, answer: dict) -> None:
    assert totals(page) == _expected_totals(answer)
    shown = _sidebar_counts(page)
    for key, values in shown.items():
        for value, text in values.items():
            assert text == f"{answer['facets'][key][value]:,}", (key, value)


def test_login_then_facets_give_the_api_totals_and_disjunctive_counts(page):
    page.goto("/")
    assert urlparse(page.url).path == "/login/"
    assert page.locator("#sidebar").count() == 0
    log_in(page, path=page.url)
    wait_for_search(page)

    _assert_screen_matches_api(page, _search(page))
    assert page.locator("#clip-grid .clip-card").count() == 6
    screenshot(page, "dashboard")

    page.check(f"{_row(page, 'label', 'vehicle')} input[type=checkbox]")
    wait_for_search(page)
    page.check(f"{_row(page, 'object:vehicle.color', 'black')} input[type=checkbox]")
    wait_for_search(page)
    page.click(f"{_row(page, 'label', 'person')} button.not")
    wait_for_search(page)

    filters = {"label": ["vehicle", "!person"], "object:vehicle.color": ["black"]}
    answer = _search(page, filters=filters)
    _assert_screen_matches_api(page, answer)
    assert 0 < answer["counts"]["frames"] < 1200
    assert json.loads(parse_qs(urlparse(page.url).query)["f"][0]) == filters
    chips = page.locator("#chips code").all_text_contents()
    assert chips == ["vehicle", "NOT person", "vehicle(color=black)"]
    assert page.locator(_row(page, "label", "person")).get_attribute("class").split() == ["value", "label-row",
                                                                                        "excluded"]
    # Zero counts stay listed, muted.
    zeros = [v for v, n in answer["facets"]["frame:intersection"].items() if n == 0]
    assert zeros and "zero" in page.locator(_row(page, "frame:intersection", zeros[0])).get_attribute("class")
    assert page.locator(_row(page, "frame:intersection", zeros[0])).is_visible()
    screenshot(page, "facets-selected")

    page.click('#chips li:has(code:text-is("NOT person")) button.remove')
    wait_for_search(page)
    _assert_screen_matches_api(page, _search(page, filters={"label": ["vehicle"], "object:vehicle.color": ["black"]}))

    page.fill(".facet[data-facet='object:vehicle.make'] .value-search", "yo")
    visible = page.locator(".facet[data-facet='object:vehicle.make'] li.value:visible label").all_text_contents()
    assert visible == ["Toyota"]
    page.watch.assert_clean()


def test_a_typo_is_shown_at_its_position_and_completion_fixes_it(page):
    log_in(page)
    wait_for_search(page)
    text = "vehicle(colr=black) AND road_type=urban"

    page.fill("#query-input", text)
    page.press("#query-input", "Enter")
    page.wait_for_selector("#query-error:not([hidden])")

    status, error = api(page, "/api/v1/search/", {"q": text})
    assert status == 400 and error["position"] == 8
    assert page.get_attribute("#query-error", "data-position") == "8"
    assert page.text_content("#query-error mark.bad") == "colr"
    assert "did you mean 'color'" in page.text_content("#query-error .message")
    assert page.get_attribute("#query-input", "aria-invalid") == "true"
    assert page.locator("#totals .tile .num").all_text_contents() == ["-"] * 6  # no totals for a refused query
    screenshot(page, "query-error")

    page.click("#query-error .did-you-mean button")
    wait_for_search(page)
    assert page.input_value("#query-input") == "vehicle(color=black) AND road_type=urban"
    assert page.locator("#query-error").is_hidden()
    assert totals(page) == _expected_totals(_search(page, q="vehicle(color=black) AND road_type=urban"))

    page.fill("#query-input", "")
    page.type("#query-input", "vehicle(co")
    assert "color" in page.locator("#query-suggest li .text").all_text_contents()
    page.press("#query-input", "ArrowDown")
    page.press("#query-input", "Enter")
    assert page.input_value("#query-input") == "vehicle(color="
    page.type("#query-input", "re")
    assert page.locator("#query-suggest li .text").all_text_contents() == ["red", "green"]
    page.press("#query-input", "ArrowDown")
    page.press("#query-input", "Enter")
    page.type("#query-input", ") AND NOT per")
    page.press("#query-input", "Tab")
    assert page.input_value("#query-input") == "vehicle(color=red) AND NOT person"
    page.press("#query-input", "Escape")
    page.press("#query-input", "Enter")
    wait_for_search(page)
    assert totals(page) == _expected_totals(_search(page, q="vehicle(color=red) AND NOT person"))
    page.watch.assert_clean(rejected=QUERY_REQUESTS)


def test_a_rectangle_drawn_on_the_map_filters_by_area(page):
    log_in(page)
    wait_for_search(page)
    box = page.locator("#map").bounding_box()

    page.click("#map-draw")
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 10, box["y"] + box["height"] / 2, steps=6)
    page.mouse.move(box["x"] + box["width"] - 10, box["y"] + box["height"] - 40, steps=6)
    page.mouse.up()
    wait_for_search(page)

    text = page.input_value("#query-input")
    assert re.fullmatch(r"bbox\(-?[\d.]+, -?[\d.]+, -?[\d.]+, -?[\d.]+\)", text), text
    answer = _search(page, q=text)
    assert totals(page) == _expected_totals(answer)
    assert 0 < answer["counts"]["videos"] < 6
    assert parse_qs(urlparse(page.url).query)["q"] == [text]
    assert page.locator("#map-clear").is_visible()
    assert page.locator("#map .leaflet-overlay-pane path").count() >= 1
    screenshot(page, "map-area")

    # Shift-drag replaces the area; the rest of the query stays.
    page.fill("#query-input", f"person AND {text}")
    page.press("#query-input", "Enter")
    wait_for_search(page)
    page.keyboard.down("Shift")
    page.mouse.move(box["x"] + 10, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 10, box["y"] + box["height"] - 40, steps=8)
    page.mouse.up()
    page.keyboard.up("Shift")
    wait_for_search(page)
    replaced = page.input_value("#query-input")
    assert replaced.startswith("person AND bbox(") and replaced != f"person AND {text}"
    assert totals(page) == _expected_totals(_search(page, q=replaced))

    page.click("#map-clear")
    wait_for_search(page)
    assert page.input_value("#query-input") == "person"
    page.watch.assert_clean()


def test_a_clip_plays_from_its_start_with_its_labels_drawn(page):
    log_in(page, path="/?q=person(activity%3Drunning)")
    wait_for_search(page)
    card = page.locator(FIRST)
    start = float(card.get_attribute("data-start"))
    video_id = int(card.get_attribute("data-video"))
    status, video = api(page, f"/api/v1/videos/{video_id}/")
    assert status == 200

    card.click()
    page.wait_for_function("() => Number(document.getElementById('player-canvas').dataset.boxes) > 0")

    current = page.evaluate("document.getElementById('player-video').currentTime")
    assert abs(current - start) <= 1 / video["fps"] + 1e-6
    assert page.get_attribute("#player-canvas", "data-frame") == str(round(start * video["fps"]))
    window = f"/api/v1/videos/{video_id}/labels/?start_s={start}&end_s={start + 0.05}"
    # By default the player draws only the labels that match the query.
    status, labels = api(page, f"{window}&q=person(activity%3Drunning)")
    assert labels["matching"] is True
    drawn = int(page.get_attribute("#player-canvas", "data-boxes"))
    assert drawn == len([o for o in labels["frames"][0]["objects"] if o["box"]])
    status, everything = api(page, window)
    page.uncheck("#player-matching")
    boxes = len([o for o in everything["frames"][0]["objects"] if o["box"]])
    assert boxes > drawn
    page.wait_for_function(f"() => document.getElementById('player-canvas').dataset.boxes === '{boxes}'")
    painted = page.evaluate("""() => {
        const canvas = document.getElementById('player-canvas');
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let opaque = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) opaque += 1;
        return opaque;
    }""")
    assert painted > 500
    assert page.text_content("#player-info") == card.locator(".clip-time").text_content()
    assert re.fullmatch(r"Starts at \d\d:\d\d:\d\d\.\d - Duration \d+\.\d+s", page.text_content("#player-info"))
    spans = _search(page, q=f'person(activity=running) AND video.name="{video["name"]}"')["clips"]
    page.wait_for_selector(f"#player-timeline[data-spans='{len(spans)}']")
    assert page.locator("#player-timeline .span.current").count() == 1
    clip = parse_qs(urlparse(page.url).query)["clip"][0]
    assert clip.split(":")[:2] == [str(video_id), f"{start:g}"]
    screenshot(page, "player")

    page.evaluate(f"document.getElementById('player-video').currentTime = {start + 1.5}")
    page.wait_for_function(f"() => document.getElementById('player-video').currentTime > {start + 1}")
    page.click("#player-reset")
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('player-video').currentTime - {start}) < 1e-3 "
        f"&& document.getElementById('player-canvas').dataset.frame === '{round(start * video['fps'])}'")

    page.click("#player-close")
    page.wait_for_function("() => !new URLSearchParams(location.search).has('clip')")
    assert page.locator("#player").is_hidden()
    page.watch.assert_clean()


def _screen(page) -> dict:
    return page.evaluate("""() => ({
        q: document.getElementById('query-input').value,
        chips: [...document.querySelectorAll('#chips code')].map(c => c.textContent),
        totals: [...document.querySelectorAll('#totals .tile .num')].map(t => t.textContent),
        checked: [...document.querySelectorAll('#sidebar li.value.included, #sidebar li.value.excluded')]
            .map(li => `${li.dataset.key}=${li.className}`),
        counts: [...document.querySelectorAll('#sidebar .count')].map(c => c.textContent),
        clips: [...document.querySelectorAll('#clip-grid .clip-card')].map(c => c.textContent),
        unit: document.getElementById('unit').value,
        player: document.getElementById('player').open ? document.getElementById('player-title').textContent : null,
    })""")


def test_a_copied_url_opens_the_same_screen(page):
    log_in(page)
    wait_for_search(page)
    page.fill("#query-input", "vehicle(type=sedan|suv) OR person")
    page.press("#query-input", "Enter")
    wait_for_search(page)
    page.check(f"{_row(page, 'frame:road_type', 'urban')} input[type=checkbox]")
    wait_for_search(page)
    page.select_option("#unit", "tracks")
    wait_for_search(page)
    page.wait_for_function("() => new URLSearchParams(location.search).has('map')")
    start_view = parse_qs(urlparse(page.url).query)["map"][0]
    page.locator("#map").hover()
    page.mouse.wheel(0, -300)
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('map') !== '{start_view}'")
    page.click(FIRST)
    page.wait_for_function("() => Number(document.getElementById('player-canvas').dataset.boxes) > 0")
    before = _screen(page)
    current = page.evaluate("document.getElementById('player-video').currentTime")
    center = page.evaluate("JSON.stringify(new URLSearchParams(location.search).get('map'))")
    copied = page.url

    other = page.context.new_page()
    other.watch = page.watch.__class__(other, page.watch.origin)
    other.goto(copied)
    wait_for_search(other)
    other.wait_for_function("() => Number(document.getElementById('player-canvas').dataset.boxes) > 0")

    assert _screen(other) == before
    assert before["q"] == "vehicle(type=sedan|suv) OR person" and before["unit"] == "tracks"
    assert before["chips"] == ["frame.road_type=urban"]
    assert other.evaluate("document.getElementById('player-video').currentTime") == current
    assert other.evaluate("JSON.stringify(new URLSearchParams(location.search).get('map'))") == center
    assert other.url == copied
    screenshot(other, "reloaded-url")
    page.watch.assert_clean()
    other.watch.assert_clean()


# A second schema: the demo's people, and shelves that no demo video holds.
RETAIL = {"objects": {"schema": {"person": {"label": "person"}, "shelf": {"label": "shelf"}}},
          "display": {"groups": [{"name": "Shop floor", "items": ["person", "shelf"]}]}}


@pytest.fixture
def retail(demo) -> int:
    """The demo (its road schema uploaded first: the default) and a second schema, retail."""
    from indexer import services

    return services.schema_create(name="retail", document=RETAIL, author=None).pk


# Calls about the user rather than a schema: the top bar's alert badge.
SCHEMALESS = ("/api/v1/alerts/",)


def _schema_requests(page, shown: str) -> list[tuple[str, str | None]]:
    """(path, schema) of every API call made from now on by a page whose address names
    the schema ``shown`` (calls still running for the page before, and :data:`SCHEMALESS`
    ones, are left out)."""
    seen = []

    def record(request):
        url = urlparse(request.url)
        page_address = urlparse(request.headers.get("referer", ""))
        if not url.path.startswith("/api/v1/") or parse_qs(page_address.query).get("schema") != [shown]:
            return
        if url.path in SCHEMALESS:
            return
        if request.method == "POST":
            schema = json.loads(request.post_data or "{}").get("schema")
        else:
            schema = parse_qs(url.query).get("schema", [None])[0]
        seen.append((url.path, schema))

    page.on("request", record)
    return seen


def test_the_schema_picker_switches_schema_and_the_address_keeps_it(retail, page):
    log_in(page)
    wait_for_search(page)
    assert page.text_content("#schema-shown") == "Showing road v1, the default schema"
    assert page.input_value("#schema-picker") == "road"
    assert page.locator("#schema-picker option").all_text_contents() == ["retail v1", "road v1 (default)"]
    assert "Vehicles" in page.locator("#sidebar details.group > summary").all_text_contents()
    requests = _schema_requests(page, "retail")

    page.select_option("#schema-picker", "retail")
    page.wait_for_url(re.compile(r"\?schema=retail"))
    wait_for_search(page)
    page.wait_for_selector("#stats-body[data-state=ready]")

    assert page.text_content("#schema-shown") == "Showing retail v1"
    assert page.locator("#sidebar details.group > summary").all_text_contents() == ["Shop floor", "Review"]
    answer = _search(page, schema="retail")
    _assert_screen_matches_api(page, answer)
    assert answer["facets"]["label"]["shelf"] == 0 and answer["facets"]["label"]["person"] > 0
    # The search, the statistics, the map and the export link all name the schema the page shows.
    paths = {path for path, _ in requests}
    assert {"/api/v1/search/", "/api/v1/stats/occurrence/", "/api/v1/stats/geo/"} <= paths
    assert {schema for _, schema in requests} == {str(retail)}
    page.fill("#query-input", "")
    page.type("#query-input", "sh")
    assert page.locator("#query-suggest li .text").all_text_contents() == ["shelf"]
    page.press("#query-input", "Escape")

    page.check(f"{_row(page, 'label', 'person')} input[type=checkbox]")
    wait_for_search(page)
    assert parse_qs(urlparse(page.url).query)["schema"] == ["retail"]
    screenshot(page, "schema-picker")

    page.reload()
    wait_for_search(page)
    assert page.text_content("#schema-shown") == "Showing retail v1"
    assert page.input_value("#schema-picker") == "retail"
    assert json.loads(parse_qs(urlparse(page.url).query)["f"][0]) == {"label": ["person"]}
    _assert_screen_matches_api(page, _search(page, schema="retail", filters={"label": ["person"]}))
    page.watch.assert_clean()


@pytest.fixture
def reviewed_bus(demo) -> None:
    """A campaign over the demo's buses, one of them confirmed by an admin (re-indexed at once)."""
    from django.contrib.auth import get_user_model

    from analytics.review.services import campaign_create, item_decide
    from indexer.models import LabelSchema

    schema = LabelSchema.objects.get(name="road")
    campaign = campaign_create(name="buses", schema=schema, unit="tracks", question="A bus?", q="vehicle(type=bus)",
                               author=None)
    admin, _ = get_user_model().objects.get_or_create(username="ada-review")
    item_decide(item=campaign.items.order_by("id").first(), state="confirmed", correction=None, admin=admin)


def test_the_review_section_counts_states_and_its_switch_keeps_what_people_confirmed(reviewed_bus, page):
    log_in(page)
    wait_for_search(page)
    assert page.locator("#sidebar details.group > summary").all_text_contents()[-1] == "Review"
    answer = _search(page)
    assert answer["facets"]["review"]["confirmed"] > 0 and answer["facets"]["review"]["unreviewed"] > 0
    _assert_screen_matches_api(page, answer)

    page.check("#review-switch")
    wait_for_search(page)
    filters = {"review": ["confirmed", "corrected"]}
    confirmed = _search(page, filters=filters)
    _assert_screen_matches_api(page, confirmed)
    assert 0 < confirmed["counts"]["frames"] < answer["counts"]["frames"]
    assert json.loads(parse_qs(urlparse(page.url).query)["f"][0]) == filters
    assert page.locator("#chips code").all_text_contents() == ["*(review=confirmed|corrected)"]
    assert page.is_checked(f"{_row(page, 'review', 'confirmed')} input[type=checkbox]")

    page.uncheck("#review-switch")
    wait_for_search(page)
    assert "f" not in parse_qs(urlparse(page.url).query)  # the switch's filter is gone, and with it every filter
    _assert_screen_matches_api(page, _search(page))
    page.watch.assert_clean()
