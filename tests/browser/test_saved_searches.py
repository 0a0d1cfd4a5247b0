"""Saved searches in the dashboard: save the screen, open it again after clearing it, rename,
share and delete, all through the "Saved searches" menu."""

from tests.browser.pages import api, log_in, wait_for_search


def _row(key: str, value: str) -> str:
    return f'#sidebar li.value[data-key="{key}"][data-value="{value}"] input[type=checkbox]'


def _screen(page) -> dict:
    return page.evaluate("""() => ({
        q: document.getElementById('query-input').value,
        chips: [...document.querySelectorAll('#chips code')].map(c => c.textContent),
        totals: [...document.querySelectorAll('#totals .tile .num')].map(t => t.textContent),
        unit: document.getElementById('unit').value,
        tab: new URLSearchParams(location.search).get('tab'),
    })""")


def _saved_names(page) -> list[str]:
    return page.locator("#saved-list a.saved-open").all_text_contents()


def test_a_saved_search_opens_the_screen_it_was_saved_from(page):
    log_in(page)
    wait_for_search(page)
    page.fill("#query-input", "vehicle(type=sedan|suv) AND NOT person")
    page.press("#query-input", "Enter")
    wait_for_search(page)
    page.check(_row("frame:road_type", "urban"))
    wait_for_search(page)
    page.select_option("#unit", "tracks")
    wait_for_search(page)
    page.click('#stats [data-tab="timeline"]')
    page.wait_for_function("() => new URLSearchParams(location.search).get('tab') === 'timeline'")
    before = _screen(page)

    page.click("#saved > summary")
    page.fill("#saved-name", "cars, no people")
    page.click("#saved-form button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#saved-list a.saved-open').length === 1")
    status, listed = api(page, "/api/v1/searches/")
    page.click("#query-clear")
    wait_for_search(page)
    assert _screen(page)["q"] == ""

    page.click("#saved-list a.saved-open")
    page.wait_for_load_state()
    wait_for_search(page)

    assert status == 200
    assert [(saved["name"], saved["q"], saved["filters"], saved["shared"]) for saved in listed] == [
        ("cars, no people", "vehicle(type=sedan|suv) AND NOT person", {"frame:road_type": ["urban"]}, False)]
    assert "unit=tracks" in listed[0]["view"] and "tab=timeline" in listed[0]["view"]
    assert _screen(page) == before
    assert before["chips"] == ["frame.road_type=urban"]
    page.watch.assert_clean()


def test_the_owner_renames_shares_and_deletes_from_the_menu(page):
    log_in(page)
    wait_for_search(page)
    page.click("#saved > summary")
    page.wait_for_selector("#saved-list li.muted")
    page.fill("#saved-name", "everything")
    page.click("#saved-form button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#saved-list a.saved-open').length === 1")
    page.fill("#saved-name", "everything")
    page.click("#saved-form button[type=submit]")
    page.wait_for_selector("#saved-error:not([hidden])")
    error = page.text_content("#saved-error")

    page.click("#saved-list button:has-text('Rename')")
    page.fill("#saved-list .saved-rename input", "all of it")
    page.click("#saved-list .saved-rename button[type=submit]")
    page.wait_for_function("() => document.querySelector('#saved-list a.saved-open')?.textContent === 'all of it'")
    page.click("#saved-list button:has-text('Share')")
    page.wait_for_selector("#saved-list button:has-text('Stop sharing')")
    shared = api(page, "/api/v1/searches/")[1]
    page.click("#saved-list button:has-text('Delete')")
    page.wait_for_selector("#saved-list li.muted")

    assert error == "you already have a saved search named 'everything' (name)"
    assert [(saved["name"], saved["shared"]) for saved in shared] == [("all of it", True)]
    assert api(page, "/api/v1/searches/") == (200, [])
    page.watch.assert_clean(rejected=("/api/v1/searches/",))


def test_the_time_zone_in_the_address_counts_hours_there_and_a_saved_search_keeps_it(page):
    log_in(page)
    wait_for_search(page)
    status, videos = api(page, "/api/v1/videos/")
    hour = int(videos["results"][0]["recorded_at"][11:13])  # the UTC hour one demo video was recorded in
    q = f"hour={hour}"
    _, in_utc = api(page, "/api/v1/search/", {"q": q})
    _, in_new_york = api(page, "/api/v1/search/", {"q": q, "tz": "America/New_York"})
    assert in_utc["counts"]["frames"] > 0 and in_new_york["counts"] != in_utc["counts"]

    page.goto(f"/?q=hour%3D{hour}&tz=America%2FNew_York")
    wait_for_search(page)

    shown = page.evaluate("() => [...document.querySelectorAll('#totals .tile')].map(t => Number(t.dataset.value))")
    assert shown[:5] == [in_new_york["counts"][key] for key in ("videos", "clips", "frames", "objects", "tracks")]
    assert page.text_content("#time-zone") == "hours and weekdays in America/New_York"
    page.click("#saved > summary")
    page.fill("#saved-name", "that hour in New York")
    page.click("#saved-form button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#saved-list a.saved-open').length === 1")
    _, listed = api(page, "/api/v1/searches/")
    assert [(saved["q"], saved["tz"]) for saved in listed] == [(q, "America/New_York")]
    assert "tz" not in listed[0]["view"]  # a field of its own, not part of the view
    assert "tz=America%2FNew_York" in listed[0]["dashboard_url"]
    page.watch.assert_clean()
