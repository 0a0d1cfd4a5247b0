"""The query bar's completion in headless Chromium: it offers what fits where the
cursor is (a label's attributes and values inside `vehicle(...)`), and it closes on
Escape, on blur and once a term is finished, so a sent query leaves the totals and
the sidebar in view."""

from tests.browser.pages import log_in, totals, wait_for_search


def _offered(page) -> list[tuple[str, str]]:
    if page.locator("#query-suggest").is_hidden():
        return []
    return page.locator("#query-suggest li").evaluate_all(
        "items => items.map(li => [li.querySelector('.text').textContent, li.querySelector('.kind').textContent])")


def _closed(page) -> bool:
    return page.locator("#query-suggest").is_hidden() and page.get_attribute("#query-input", "aria-expanded") == "false"


def test_completion_follows_the_cursor_and_closes_when_the_term_is_done(page):
    log_in(page)
    wait_for_search(page)
    page.click("#query-input")

    page.type("#query-input", "vehicle(")
    offered = _offered(page)
    assert {kind for _, kind in offered} == {"attribute"}
    assert {"color", "confidence"} <= {text for text, _ in offered}
    assert "person" not in {text for text, _ in offered}

    page.type("#query-input", "color=")
    offered = _offered(page)
    assert {kind for _, kind in offered} == {"value"} and "red" in {text for text, _ in offered}
    page.type("#query-input", "red")
    assert _closed(page)  # a whole value: nothing more to offer
    page.type("#query-input", ")")
    assert _closed(page)  # `vehicle(color=red)` is finished: no top-level labels over the page
    page.type("#query-input", " ")
    assert _offered(page) == [("AND", "operator"), ("OR", "operator"), ("NOT", "operator")]
    page.press("#query-input", "Escape")
    assert _closed(page)

    page.type("#query-input", "AND pe")
    assert ("person", "label") in _offered(page)
    # Back into vehicle(...): the open list follows the cursor to that label's attributes.
    page.press("#query-input", "Home")
    for _ in range(len("vehicle(")):
        page.press("#query-input", "ArrowRight")
    assert {kind for _, kind in _offered(page)} == {"attribute"}
    page.press("#query-input", "Escape")
    page.press("#query-input", "End")
    page.type("#query-input", "rson")
    assert _closed(page)

    page.press("#query-input", "Enter")
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
    page.type("#query-input", " OR ")
    assert _offered(page)
    page.keyboard.press("Shift+Tab")
    page.wait_for_function("() => document.getElementById('query-suggest').hidden")
    assert _closed(page)
    page.watch.assert_clean()
