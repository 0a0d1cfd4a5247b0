"""The statistics panel and the map's data layer, in headless Chromium.

The /api/v1/stats/* endpoints may not be on this server yet: the first test
checks the panel against whatever the server answers (an honest "unavailable"
for a 404, charts otherwise). The second serves answers of the endpoints'
documented contract from the browser's router, so the drawing, the click-to-
filter and the map cells are exercised either way."""

import json

from tests.browser.pages import api, log_in, screenshot, wait_for_search

# The shared 2-core machine can take more than the fixture's 15 s to draw the charts.
SLOW_MS = 60_000
COLORS = ["black", "white", "silver", "gray", "red", "blue", "green", "yellow"]


def test_the_panels_follow_what_the_server_offers(page):
    page.set_default_timeout(SLOW_MS)
    log_in(page)
    wait_for_search(page)
    page.wait_for_selector("#stats-body:not([aria-busy])")
    status, _answer = api(page, "/api/v1/stats/occurrence/", {"facets": ["object:vehicle.color"]})
    geo_status, _geo = api(page, "/api/v1/stats/geo/", {"bbox": [-123, 37, -122, 38], "zoom": 10,
                                                        "target": "frames", "format": "cells"})

    if status == 404:
        assert page.get_attribute("#stats-body", "data-state") == "unavailable"
        assert "Statistics unavailable." in page.text_content("#stats-body")
    else:
        assert status == 200
        page.wait_for_selector("#stats-body[data-state=ready] .plot .main-svg")
    if geo_status == 404:
        page.wait_for_selector("#map-note:not([hidden])")
        assert "Location statistics unavailable" in page.text_content("#map-note")
    # The rest of the page works either way.
    assert page.locator("#clip-grid .clip-card").count() == 6
    page.watch.assert_clean()


def _cells():
    def square(west, south, size, count):
        ring = [[west, south], [west + size, south], [west + size, south + size], [west, south + size],
                [west, south]]
        return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"count": count}}

    return {"type": "FeatureCollection", "features": [square(-122.42, 37.775, 0.01, 40), square(-122.41, 37.785,
                                                                                               0.01, 3)]}


def test_charts_heatmap_and_map_cells_from_the_stats_contract(page, settings, live_server):
    page.set_default_timeout(SLOW_MS)
    settings.SCOOP_MAP_TILES = f"{live_server.url}/tiles-for-test/{{z}}/{{x}}/{{y}}.png"
    asked = {}

    def answer(route):
        body = json.loads(route.request.post_data or "{}")
        name = route.request.url.rstrip("/").rsplit("/", 1)[-1]
        asked.setdefault(name, []).append(body)
        if name == "occurrence":
            counts = {key: {} for key in body["facets"]}
            counts["object:vehicle.color"] = {color: 10 * (i + 1) for i, color in enumerate(COLORS)}
            payload = {"unit": body.get("unit", "objects"), "counts": counts}
        elif name == "cooccurrence":
            rows, cols = ["Toyota", "Honda"], ["sedan", "suv"]
            payload = {"a": body["a"], "b": body["b"], "scope": body["scope"], "rows": rows, "cols": cols,
                       "matrix": [[5, 1], [2, 7]], "row_totals": [6, 9], "col_totals": [7, 8], "total": 15,
                       "lift": [[1.8, None], [0.5, 1.6]],
                       "figure": {"data": [{"type": "heatmap", "x": cols, "y": rows, "z": [[5, 1], [2, 7]]}],
                                  "layout": {"title": {"text": "make x color"}}}}
        elif name == "geo":
            payload = _cells()
        else:
            payload = {"video_time": {"bin_s": 1.0, "bins": [{"start_s": t, "count": t + 1} for t in range(20)]},
                       "wall_clock": {"bin": "91d", "bins": [{"start": "2019-02-18T00:00:00Z", "count": 37},
                                                             {"start": "2026-02-16T00:00:00Z", "count": 350}],
                                      "unplaced": 4,
                                      "focus": {"bin": "3h", "bins": [{"start": "2026-03-02T06:00:00Z", "count": 200},
                                                                      {"start": "2026-03-02T09:00:00Z", "count": 150}],
                                                "outside": {"frames": 37, "earliest": "2019-05-01T00:00:00Z",
                                                            "latest": "2019-05-02T00:00:00Z"}}}}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(payload))

    page.route("**/api/v1/stats/*/", answer)
    page.route("**/tiles-for-test/**", lambda route: route.abort())
    log_in(page, path="/?f=%7B%22label%22%3A%5B%22vehicle%22%5D%7D")
    wait_for_search(page)

    page.wait_for_selector("#stats-body[data-state=ready]")
    page.wait_for_selector('.plot[data-facet="object:vehicle.color"] .main-svg')
    assert page.locator("#stats-body .chart").count() == 3
    first = asked["occurrence"][0]
    assert first["facets"] == ["object:vehicle.make", "object:vehicle.type", "object:vehicle.color"]
    assert first["figure"] is True and first["filters"] == {"label": ["vehicle"]} and first["schema"]
    # The map asked for its view and drew the cells, though no tile loaded.
    page.wait_for_selector("#map[data-cells='2']")
    geo = asked["geo"][-1]
    assert len(geo["bbox"]) == 4 and geo["zoom"] >= 1 and geo["target"] == "frames" and geo["format"] == "cells"
    assert page.locator("#map .leaflet-overlay-pane path").count() >= 2
    page.wait_for_selector("#map-note:not([hidden])")
    assert "tiles could not load" in page.text_content("#map-note")
    screenshot(page, "statistics")

    # A user's click lands on plotly's drag layer above the bar, which finds the bar under it.
    bar = page.locator('.plot[data-facet="object:vehicle.color"] .bars .point path').nth(4).bounding_box()
    page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    wait_for_search(page)
    assert page.locator("#chips code").all_text_contents() == ["vehicle", "vehicle(color=red)"]
    assert page.is_checked('#sidebar li.value[data-key="object:vehicle.color"][data-value="red"] input')
    assert asked["occurrence"][-1]["filters"] == {"label": ["vehicle"], "object:vehicle.color": ["red"]}

    page.click('#stats [role="tab"][data-tab="cooccurrence"]')
    page.wait_for_selector("#stats-body[data-state=ready] .heatmap .main-svg")
    co = asked["cooccurrence"][-1]
    assert (co["a"], co["b"], co["scope"], co["figure"]) == ("object:vehicle.make", "object:vehicle.type", "object",
                                                             True)
    assert "tab=cooccurrence" in page.url
    screenshot(page, "cooccurrence")
    drag = page.locator("#stats-body .heatmap .nsewdrag").first.bounding_box()
    # Rows run bottom-up: the lower left cell is (Toyota, sedan).
    page.mouse.click(drag["x"] + drag["width"] * 0.25, drag["y"] + drag["height"] * 0.75)
    wait_for_search(page)
    assert page.locator("#chips code").all_text_contents() == [
        "vehicle", "vehicle(color=red)", "vehicle(make=Toyota)", "vehicle(type=sedan)"]

    page.click('#stats [role="tab"][data-tab="timeline"]')
    page.wait_for_selector("#stats-body[data-state=ready] .plot .main-svg")
    assert page.locator("#stats-body .plot").count() == 2
    # A distant video: the recorded-time chart draws the focus, and counts the frames outside.
    page.wait_for_selector('.plot[data-axis="wall_clock"] .main-svg')
    assert page.evaluate("() => document.querySelector('.plot[data-axis=\"wall_clock\"]').data[0].x") == [
        "2026-03-02T06:00:00Z", "2026-03-02T09:00:00Z"]
    assert page.text_content("#stats-body .outside") == (
        "37 frames outside this range (recorded between 2019-05-01 and 2019-05-02), "
        "left out so that the rest stays readable.")
    assert "frames per 3h (UTC)" in page.locator("#stats-body figcaption").nth(1).text_content()
    assert "4 matching frames of videos with no recorded time" in page.text_content("#stats-body")
    page.watch.assert_clean(aborted="/tiles-for-test/")
