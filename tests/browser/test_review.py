"""Human review in the browser: an admin creates a campaign from the dashboard's search
("Review these"), a reviewer logs in, lands on the review pages, reviews a batch with the
keyboard (Y, N, the arrows, U, and C with a correction), the votes are submitted when the
last item is answered, and the campaign's statistics (the API's, and the admin's campaign
page) count them. An admin decides a disputed item on the campaign page."""

import pytest

from tests.browser.pages import api, log_in, screenshot, wait_for_search

SIZE = 4
CAMPAIGN = {"name": "vehicles to check", "question": "Is the boxed object a vehicle?"}


@pytest.fixture
def rita(demo) -> dict:
    """A reviewer with a password (made before the browser starts: its thread may not reach
    the database)."""
    from accounts.services import user_issue_token

    user = user_issue_token(username="rita", role="reviewer").user
    user.set_password("rita-reviews")
    user.save()
    return {"username": "rita", "password": "rita-reviews"}


def _wait_item(page, position: int) -> None:
    page.wait_for_selector(f"#review-item[data-position='{position}']", state="attached")


def test_a_reviewer_reviews_a_batch_with_the_keyboard(rita, page, browser, demo):
    log_in(page, "admin", "scoop-admin", path="/?q=vehicle")
    wait_for_search(page)
    page.click("#review-new > summary")
    page.fill("#review-new-name", CAMPAIGN["name"])
    page.select_option("#review-new-unit", "tracks")
    page.fill("#review-new-question", CAMPAIGN["question"])
    page.click("#review-new-form button[type=submit]")
    page.wait_for_selector("#review-new-result[data-campaign]")
    campaign = int(page.get_attribute("#review-new-result", "data-campaign"))
    status, created = api(page, f"/api/v1/review/campaigns/{campaign}/")
    assert status == 200
    assert (created["name"], created["unit"], created["search"]) == (CAMPAIGN["name"], "tracks",
                                                                      {"q": "vehicle", "filters": {}})
    assert created["items"] > SIZE
    assert "review it" in page.inner_text("#review-new-result")

    reviewer = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=demo).new_page()
    reviewer.set_default_timeout(15_000)
    log_in(reviewer, rita["username"], rita["password"])
    assert reviewer.url.endswith("/review/")  # the dashboard is not for reviewers
    nav = reviewer.locator("nav.nav a").all_inner_texts()
    assert [text.strip() for text in nav] == ["Review", "API"]
    reviewer.wait_for_selector(f"#campaigns tr[data-campaign='{campaign}']")
    screenshot(reviewer, "review-list")

    reviewer.goto(f"/review/{campaign}/?size={SIZE}")
    reviewer.wait_for_selector("body[data-review=ready]")
    _wait_item(reviewer, 0)
    reviewer.wait_for_function("() => Number(document.getElementById('review-canvas').dataset.boxes) === 1")
    assert reviewer.inner_text("#review-count") == f"0 of {SIZE} answered"
    first = reviewer.get_attribute("#review-item", "data-item")
    screenshot(reviewer, "review-item")

    reviewer.keyboard.press("y")
    _wait_item(reviewer, 1)
    reviewer.keyboard.press("n")
    _wait_item(reviewer, 2)
    reviewer.keyboard.press("ArrowLeft")
    _wait_item(reviewer, 1)
    assert reviewer.inner_text("#review-answer") == "Your answer: No"
    reviewer.keyboard.press("ArrowRight")
    _wait_item(reviewer, 2)
    reviewer.keyboard.press("u")
    _wait_item(reviewer, 3)
    assert reviewer.inner_text("#review-count") == f"3 of {SIZE} answered"
    assert reviewer.get_attribute("#review-progress", "aria-valuenow") == "3"
    reviewer.keyboard.press("c")
    reviewer.wait_for_selector("#review-correction", state="visible")
    reviewer.select_option("#correction-attrs select[name=color]", "red")
    screenshot(reviewer, "review-correction")
    reviewer.click("#review-correction button[type=submit]")

    reviewer.wait_for_selector("body[data-review=submitted]")
    assert reviewer.inner_text("#review-message strong") == f"Thank you: {SIZE} answers recorded."
    screenshot(reviewer, "review-submitted")
    reviewer.click("#review-next-batch")
    reviewer.wait_for_selector("body[data-review=ready]")
    assert reviewer.get_attribute("#review-item", "data-item") != first

    status, stats = api(page, f"/api/v1/review/campaigns/{campaign}/stats/")
    assert status == 200
    assert stats["votes"] == {"total": SIZE, "gold": 0, "counted": SIZE, "flagged_batches": 0,
                              "answers": {"yes": 1, "no": 2, "unsure": 1}}
    assert [(r["reviewer"], r["votes"]) for r in stats["reviewers"]] == [("rita", SIZE)]
    refused, _ = api(reviewer, f"/api/v1/review/campaigns/{campaign}/stats/")
    assert refused == 403

    page.goto(f"/review/{campaign}/campaign/")
    page.wait_for_selector("body[data-stats=ready]")
    tiles = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#stats-votes .tile')]
        .map(tile => [tile.dataset.count, Number(tile.dataset.value)]))""")
    assert tiles == {"total": SIZE, "gold": 0, "counted": SIZE, "flagged_batches": 0,
                     "answer-yes": 1, "answer-no": 2, "answer-unsure": 1}
    assert page.locator("#stats-reviewers tbody td").first.inner_text() == "rita"
    screenshot(page, "review-campaign")

    # The admin reviews too, and says yes to each of rita's items: the item she said yes to has two
    # agreeing votes and is confirmed, and the dashboard's sidebar counts it in its review facet.
    page.goto("/")
    wait_for_search(page)
    confirmed = '#sidebar li.value[data-key="review"][data-value="confirmed"] .count'
    assert page.text_content(confirmed) == "0"
    page.goto(f"/review/{campaign}/?size={SIZE}")
    page.wait_for_selector("body[data-review=ready]")
    for position in range(SIZE):
        _wait_item(page, position)
        page.keyboard.press("y")
    page.wait_for_selector("body[data-review=submitted]")
    page.goto("/")
    wait_for_search(page)
    status, answer = api(page, "/api/v1/search/", {"facets": ["review"]})
    assert status == 200 and answer["facets"]["review"]["confirmed"] > 0
    assert page.text_content(confirmed) == f"{answer['facets']['review']['confirmed']:,}"
    page.watch.assert_clean()


@pytest.fixture
def dispute(demo) -> dict:
    """A campaign over the demo's buses, one of them disputed with a reviewer's correction."""
    from accounts.services import user_issue_token
    from analytics.review.services import campaign_create
    from indexer.models import LabelSchema
    from tests.analytics.review.conftest import disputed

    schema = LabelSchema.objects.get(name="road")
    campaign = campaign_create(name="buses", schema=schema, unit="tracks", question="A bus?",
                               q="vehicle(type=bus)", author=None)
    item = campaign.items.first()
    disputed(item, user_issue_token(username="rob", role="reviewer").user, {"attrs": {"type": "truck"}})
    return {"campaign": campaign.pk, "item": item.pk, "items": campaign.items.count()}


def test_an_admin_decides_a_disputed_item_on_the_campaign_page(dispute, page):
    log_in(page, "admin", "scoop-admin", path=f"/review/{dispute['campaign']}/campaign/")
    page.wait_for_selector("body[data-stats=ready]")
    row = page.locator(f"#disputed-items tr[data-item='{dispute['item']}']")
    assert row.locator("td").nth(3).inner_text() == "yes 0, no 1, unsure 0"
    assert page.get_attribute("#stats-states .tile[data-count=disputed]", "data-value") == "1"
    screenshot(page, "review-campaign-disputed")

    row.locator("button:has-text('Correct: type=truck')").click()
    page.wait_for_selector(f"#disputed-items tr[data-item='{dispute['item']}'][data-decided=corrected]")
    page.wait_for_selector("#stats-states .tile[data-count=corrected][data-value='1']")

    status, item = api(page, f"/api/v1/review/campaigns/{dispute['campaign']}/")
    assert item["states"] == {"unreviewed": dispute["items"] - 1, "confirmed": 0, "rejected": 0, "corrected": 1,
                              "disputed": 0}
    assert page.locator(f"#disputed-items tr[data-item='{dispute['item']}'] button:enabled").count() == 0
    page.watch.assert_clean()


@pytest.fixture
def short_lease(rita, settings) -> int:
    """Leases of one second, and a campaign over the demo's buses."""
    from analytics.review.services import campaign_create
    from indexer.models import LabelSchema

    settings.SCOOP_REVIEW_LEASE_S = 1
    return campaign_create(name="buses", schema=LabelSchema.objects.get(name="road"), unit="tracks",
                           question="A bus?", q="vehicle(type=bus)", author=None).pk


def test_an_ended_lease_is_said_on_the_page_and_a_new_batch_offered(short_lease, rita, page):
    log_in(page, rita["username"], rita["password"], path=f"/review/{short_lease}/?size=1")
    page.wait_for_selector("body[data-review=ready]")
    page.wait_for_timeout(1500)  # past the lease
    page.keyboard.press("y")

    page.wait_for_selector("body[data-review=error]")
    assert page.inner_text("#review-message strong") == (
        "This batch's lease has ended: your answers were not recorded.")
    assert "A batch is yours for 1.0s" in page.inner_text("#review-message")
    assert page.locator("#review-item").is_hidden()
    page.click("#review-next-batch")
    page.wait_for_selector("body[data-review=ready]")
    assert page.inner_text("#review-count") == "0 of 1 answered"
    unexpected = [text for text, _ in page.watch.errors if "status of 410" not in text]
    assert unexpected == []
