""""Find similar" in the player: a track of the frame on screen asks for the tracks most like
it, the results are the API's, and one of them plays like a clip."""

from tests.browser.pages import api, log_in, screenshot, wait_for_search

FIRST = "#clip-grid .clip-card >> nth=0"


def test_find_similar_lists_the_apis_tracks_and_plays_one(page):
    log_in(page, path="/?q=vehicle")
    wait_for_search(page)
    page.locator(FIRST).click()
    page.wait_for_function("() => Number(document.getElementById('player-canvas').dataset.boxes) > 0")
    button = page.locator("#player-similar-tracks .find-similar >> nth=0")
    button.wait_for()
    track = button.get_attribute("data-track")
    video_id = int(page.locator(FIRST).get_attribute("data-video"))

    button.click()
    page.wait_for_selector("#player-similar-results .similar-item")

    status, answer = api(page, "/api/v1/similar/", {"video": video_id, "track": track, "k": 12, "q": "vehicle"})
    assert status == 200, answer
    items = page.locator("#player-similar-results .similar-item")
    assert items.count() == len(answer["results"]) > 0
    shown = [(int(items.nth(i).get_attribute("data-video")), items.nth(i).get_attribute("data-track"))
             for i in range(items.count())]
    assert shown == [(hit["video"], hit["track"]) for hit in answer["results"]]
    assert (video_id, track) not in shown  # the picked track itself is left out
    first = answer["results"][0]
    assert f"similarity {first['score']:.3f}" in items.nth(0).text_content()
    screenshot(page, "similar")

    items.nth(0).click()  # plays the most similar track from its first frame
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('player-video').currentTime - {first['start_s']}) < 0.11")
    assert page.text_content("#player-title") == first["video_name"]
    page.watch.assert_clean()
