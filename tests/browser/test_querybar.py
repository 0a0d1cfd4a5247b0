"""The query bar's completion in headless Chromium: it offers what fits where the
cursor is (a label's attributes and values inside `vehicle(...)`), and it closes on
Escape, on blur and once a term is finished, so a sent query leaves the totals and
the sidebar in view."""

from tests.browser.pages import api, log_in, totals, wait_for_search


def _offered(page) -> list[tuple[str, str]]:
    if page.locator("#query-suggest").is_hidden():
        return []
    offered = page.locator("#query-suggest li").evaluate_all(
        "items => items.map(li => [li.querySelector('.text').textContent, li.querySelector('.kind').textContent])")
    return [tuple(item) for item in offered]


def _closed(page) -> bool:
    return page.locator("#query-suggest").is_hidden() and page.get_attribute("#query-input", "aria-expanded") == "false"


def test_completion_follows_the_cursor_and_closes_when_the_term_is_done(page):
    page.set_default_timeout(60_000)
    log_in(page)
    wait_for_search(page)
    page.evaluate("document.getElementById('query-input').focus()")

    page.keyboard.type("vehicle(")
    offered = _offered(page)
    assert {kind for _, kind in offered} == {"attribute"}
    assert {"color", "confidence"} <= {text for text, _ in offered}
    assert "person" not in {text for text, _ in offered}

    page.keyboard.type("color=")
    offered = _offered(page)
    assert {kind for _, kind in offered} == {"value"} and "red" in {text for text, _ in offered}
    page.keyboard.type("red")
    assert _closed(page)  # a whole value: nothing more to offer
    page.keyboard.type(")")
    assert _closed(page)  # `vehicle(color=red)` is finished: no top-level labels over the page
    page.keyboard.type(" ")
    assert _offered(page) == [("AND", "operator"), ("OR", "operator"), ("NOT", "operator"),
                              ("THEN ... WITHIN", "sequence"), ("FOR >= (dwell)", "dwell"), ("IN ZONE", "zone")]
    page.keyboard.press("Escape")
    assert _closed(page)

    page.keyboard.type("AND pe")
    assert ("person", "label") in _offered(page)
    # Back into vehicle(...): the list follows the cursor to that label's attributes.
    page.keyboard.press("Home")
    for _ in range(len("vehicle(")):
        page.keyboard.press("ArrowRight")
    assert {kind for _, kind in _offered(page)} == {"attribute"}
    page.keyboard.press("Escape")
    page.keyboard.press("End")
    page.keyboard.type("rson")
    assert _closed(page)

    page.keyboard.press("Enter")
    wait_for_search(page)
    assert page.input_value("#query-input") == "vehicle(color=red) AND person"
    assert _closed(page)
    assert totals(page)["clips"] > 0
    # Nothing covers the totals or the sidebar: the point at each one's middle is its own.
    covered = page.evaluate("""() => ['#totals .tile', '#sidebar'].filter(selector => {
        const box = document.querySelector(selector).getBoundingClientRect();
        const hit = document.elementFromPoint(box.left + box.width / 2, box.top + Math.min(box.height / 2, 40));
        return !document.querySelector(selector).contains(hit);
    })""")
    assert covered == []

    # Blur closes it too.
    page.keyboard.type(" OR ")
    assert _offered(page)
    page.keyboard.press("Shift+Tab")
    page.wait_for_function("() => document.getElementById('query-suggest').hidden")
    assert _closed(page)
    page.watch.assert_clean()


def test_completion_offers_the_time_operators_where_they_fit(page):
    """Sequences, dwell, zones and the clock (docs/guide/query-language.md): a THEN waiting for its
    WITHIN gets it first, durations follow WITHIN and FOR >=, zone names follow IN ZONE, and hour
    and weekday offer their cycles."""
    page.set_default_timeout(60_000)
    log_in(page, "admin", "scoop-admin")
    status, _ = api(page, "/api/v1/zones/", {"camera": "north", "name": "crosswalk",
                                             "polygon": [[0, 0], [1, 0], [1, 1]]})
    assert status == 201
    page.reload()
    wait_for_search(page)
    page.evaluate("document.getElementById('query-input').focus()")

    page.keyboard.type("person THEN vehicle ")
    assert _offered(page)[0] == ("WITHIN", "sequence")
    page.keyboard.type("WITHIN ")
    assert _offered(page) == [(d, "duration") for d in ("5s", "10s", "30s", "1m", "5m")]
    page.keyboard.press("Escape")
    page.fill("#query-input", "")
    page.keyboard.type("person IN ZONE ")
    assert _offered(page) == [("crosswalk", "zone")]
    page.fill("#query-input", "")
    page.keyboard.type("weekday=")
    assert [text for text, _ in _offered(page)] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    page.fill("#query-input", "")
    page.keyboard.type("hour=1")
    assert [text for text, _ in _offered(page)][:3] == ["1", "10", "11"]
    page.fill("#query-input", "")
    page.keyboard.type("COU")
    assert ("COUNT(...) >= n", "count") in _offered(page)
