"""The zone editor in headless Chromium: an admin picks a video, clicks a polygon's corners on
its still frame, names and saves the zone (the API holds it, in image coordinates), then
deletes it; the page runs under the Content-Security-Policy without a violation."""

from tests.browser.pages import api, log_in, screenshot
from tests.browser.test_csp import RECORD_VIOLATIONS

# Where the corners are clicked, as fractions of the frame's width and height.
CORNERS = [(0.25, 0.5), (0.75, 0.5), (0.5, 0.9)]


def test_an_admin_draws_saves_and_deletes_a_zone(page):
    page.context.add_init_script(RECORD_VIOLATIONS)
    log_in(page, "admin", "scoop-admin", path="/zones/")
    page.wait_for_selector("#zone-list tbody tr.empty")

    page.select_option("#zone-video", index=1)
    page.wait_for_selector("#zone-stage[data-ready=true]")
    frame = page.locator("#zone-frame")
    box = frame.bounding_box()
    for x, y in CORNERS:
        frame.click(position={"x": x * box["width"], "y": y * box["height"]})
    assert page.text_content("#zone-vertices").startswith("3 points:")
    page.fill("#zone-camera", "north-gate")
    page.fill("#zone-name", "crosswalk")
    page.click("#zone-form button[type=submit]")
    page.wait_for_selector("#zone-report.ok")
    assert "Saved: north-gate / crosswalk." in page.text_content("#zone-report")
    screenshot(page, "zone-editor")

    status, zones = api(page, "/api/v1/zones/")
    assert status == 200 and len(zones) == 1
    (zone,) = zones
    assert (zone["camera"], zone["name"], zone["anchor"]) == ("north-gate", "crosswalk", "bottom_center")
    for (x, y), (saved_x, saved_y) in zip(CORNERS, zone["polygon"], strict=True):
        assert abs(saved_x - x) < 0.01 and abs(saved_y - y) < 0.01  # one pixel of a 640-pixel frame
    assert page.locator("#zone-list tbody tr").first.locator("td").all_text_contents()[:4] == [
        "north-gate", "crosswalk", "bottom centre", "3"]

    page.click(f"#zone-list button[data-zone='{zone['id']}']")
    page.wait_for_selector("#zone-list tbody tr.empty")
    assert api(page, "/api/v1/zones/") == (200, [])
    assert page.evaluate("window.__csp") == []
    page.watch.assert_clean()
