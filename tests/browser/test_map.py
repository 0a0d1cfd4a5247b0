"""The dashboard map (issue 25): tests keep tiles off (scoop/settings/test.py), so the
map draws Scoop's own Natural Earth land, borders and graticule, fetches nothing from
another host, has a scale bar and a legend line for every layer, merges cells into
counted bubbles at low zoom, and a click on a cell lists that cell's clips."""

import json
from urllib.parse import parse_qs, urlparse

from tests.browser.pages import api, log_in, screenshot, totals, wait_for_search

# The shared 2-core machine can take more than the fixture's 15 s for a search with its charts.
SLOW_MS = 60_000

FRAMES = "#map[data-state=ready]"


def _geo_requests(page) -> list[dict]:
    """The bodies of the map's /api/v1/stats/geo/ requests, as the page sends them."""
    bodies = []
    page.on("request", lambda request: "/api/v1/stats/geo/" in request.url and bodies.append(
        json.loads(request.post_data)))
    return bodies


def test_with_tiles_off_the_map_shows_natural_earth_land_and_fetches_nothing_foreign(page):
    page.set_default_timeout(SLOW_MS)
    log_in(page)
    wait_for_search(page)
    page.wait_for_selector("#map[data-fallback=ready]")
    assert page.get_attribute("#map", "data-base") == "fallback"
    assert page.locator("#map .leaflet-tile").count() == 0
    # The land (one MultiPolygon), the borders and the graticule, in the fallback pane.
    assert page.locator("#map .leaflet-fallback-pane path.land").count() == 1
    assert page.locator("#map .leaflet-fallback-pane path.border").count() == 1
    assert page.locator("#map .leaflet-fallback-pane path.graticule").count() == 1
    # A scale bar, metric and imperial.
    scale = page.locator("#map .leaflet-control-scale-line").all_text_contents()
    assert len(scale) == 2 and scale[0].endswith(("m", "km")) and scale[1].endswith(("ft", "mi"))
    # The legend names every layer.
    page.wait_for_selector(f"{FRAMES}")
    legend = {li.get_attribute("data-layer"): li.text_content()
              for li in page.locator("#map-legend li").all()}
    assert set(legend) == {"cells", "routes", "base"}
    assert legend["routes"] == "Recorded routes (6; dot: where one starts)"
    assert legend["base"].startswith("Land and borders: Natural Earth 1:50m; graticule every ")
    step = page.get_attribute("#map", "data-graticule")
    assert legend["base"].endswith(f"{step}\u00b0")
    # The land is drawn: the world view's land path spans most of the map's width.
    page.goto("/?map=20,0,2", wait_until="domcontentloaded")
    page.wait_for_selector("#map[data-fallback=ready][data-graticule='30']")
    land = page.locator("#map path.land").bounding_box()
    assert land["width"] > 0.8 * page.locator("#map").bounding_box()["width"]
    screenshot(page, "map-fallback")
    page.watch.assert_clean()


def test_cells_merge_into_counted_bubbles_at_low_zoom_and_a_click_lists_a_cells_clips(page):
    page.set_default_timeout(SLOW_MS)
    geo_asked = _geo_requests(page)
    log_in(page, path="/?map=37.78,-122.42,4")
    wait_for_search(page)
    everything = totals(page)
    page.wait_for_selector(f"{FRAMES}[data-cell-style=bubbles]")
    # At zoom 4 the demo's routes all fall in one merged cell, which holds every located frame.
    status, geo = api(page, "/api/v1/stats/geo/", geo_asked[-1])
    assert status == 200 and len(geo["features"]) == 1
    bubble = page.locator("#map .cell-bubble span")
    assert bubble.count() == 1
    assert int(bubble.get_attribute("data-count")) == geo["features"][0]["properties"]["count"]
    assert bubble.text_content() == f"{geo['features'][0]['properties']['count']:,}"
    legend = page.text_content('#map-legend li[data-layer="cells"]')
    assert legend.startswith("matching frames per merged cell: 1") and legend.endswith(
        f"{geo['features'][0]['properties']['count']:,}")

    # Zoomed in, cells are squares; clicking the busiest lists the clips of that cell only.
    page.goto("/?map=37.78,-122.42,14", wait_until="domcontentloaded")
    page.wait_for_selector(f"{FRAMES}[data-cell-style=squares]")
    assert geo_asked[-1]["zoom"] == 14
    status, geo = api(page, "/api/v1/stats/geo/", geo_asked[-1])
    assert status == 200 and int(page.get_attribute("#map", "data-cells")) == len(geo["features"]) > 1
    busiest = max(geo["features"], key=lambda feature: feature["properties"]["count"])
    index = geo["features"].index(busiest)
    page.locator("#map path.cell").nth(index).click(force=True)
    wait_for_search(page)
    q = parse_qs(urlparse(page.url).query)["q"][0]
    assert q.startswith("bbox(")
    assert totals(page)["frames"] == busiest["properties"]["count"] < everything["frames"]
    status, answer = api(page, "/api/v1/search/", {"schema": _schema(page), "q": q, "page_size": 24})
    assert status == 200
    cards = page.locator("#clip-grid .clip-card")
    assert cards.count() == len(answer["clips"]) > 0
    assert page.locator("#map-legend li[data-layer=area]").text_content() == "The query's area, bbox(...)"
    page.watch.assert_clean()


def _schema(page) -> str:
    return str(json.loads(page.text_content("#page-data"))["schema"]["id"])

