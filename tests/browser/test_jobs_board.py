"""The jobs board in headless Chromium: search by column:keyword, archive a job (it moves to the
Archived tab), give it an expiry date, and delete it, each through the board's buttons."""

import contextlib
import re

import pytest

from tests.browser.pages import api, log_in, screenshot
from tests.indexer.test_pipelines import GOOD_ROWS, FixedBoxes, scripted

ROWS = "#jobs tbody tr[data-status]"


def test_an_admin_searches_archives_expires_and_deletes_a_job(page):
    from playwright.sync_api import expect  # here: the page fixture skips first when Playwright is absent

    log_in(page, "admin", "scoop-admin", path="/manage/ingest/")
    expect(page.locator(ROWS)).to_have_count(6)

    page.fill("#jobs-q", "status:succeeded video:north")
    page.click("#jobs-search button[type=submit]")
    row = page.locator(ROWS)
    expect(row).to_have_count(1)
    assert row.locator("td").first.text_content() == "north-gate-01"
    job_id = row.get_attribute("data-id")

    row.locator("button[data-action=archive]").click()
    page.wait_for_selector("#jobs-report.ok")
    assert page.text_content("#jobs-report") == "Archived the ingest job of north-gate-01."
    page.wait_for_selector("#jobs tbody .notice.empty")
    page.click("#jobs-tab-archived")
    page.wait_for_selector(f"#jobs tbody tr[data-id='{job_id}'] button[data-action=unarchive]")
    screenshot(page, "jobs-archived")

    page.once("dialog", lambda dialog: dialog.accept("3"))
    page.locator(f"#jobs tbody tr[data-id='{job_id}'] button[data-action=ttl]").click()
    expect(page.locator("#jobs-report")).to_contain_text("The ingest job of north-gate-01 expires")
    status, job = api(page, f"/api/v1/jobs/ingest/{job_id}/")
    assert status == 200 and job["archived_at"] and job["expires_at"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#jobs tbody tr[data-id='{job_id}'] button[data-action=delete]").click()
    expect(page.locator("#jobs-report")).to_have_text("Deleted the ingest job of north-gate-01 and its outputs.")
    assert api(page, f"/api/v1/jobs/ingest/{job_id}/")[0] == 404
    page.click("#jobs-tab-current")
    page.fill("#jobs-q", "")
    page.click("#jobs-search button[type=submit]")
    expect(page.locator(ROWS)).to_have_count(5)
    page.watch.assert_clean()


@pytest.fixture
def fixed_pipeline(demo, tmp_path):
    """A registered detector that finds one person per frame: an analysis with it takes seconds where
    the reference pipeline takes minutes on a busy 2-core machine. Registered before the browser
    starts (Django refuses database calls in Playwright's thread)."""
    from indexer.pipelines import pipeline_register

    config = {"classes": ["pedestrian", "car"], "label_map": {"pedestrian": "person", "car": "vehicle"},
              "input_size": [160, 120], "description": "one person per frame"}
    return pipeline_register(name="fixed", model_chunks=[scripted(FixedBoxes(GOOD_ROWS), tmp_path)], config=config,
                             actor=None)


def test_an_analyst_starts_an_analysis_and_watches_it_to_the_end(fixed_pipeline, page):
    from playwright.sync_api import expect

    log_in(page, "analyst", "scoop-analyst", path="/manage/ingest/")
    expect(page.locator("#analyse-video option")).to_have_count(6)
    expect(page.locator("#analyse-pipeline option")).to_have_text(
        [re.compile("^reference: the reference worker"), "fixed: one person per frame"])
    page.select_option("#analyse-video", label="north-gate-01")
    page.select_option("#analyse-pipeline", "fixed")

    page.click("#analyse-form button[type=submit]")
    # Tasks run eagerly in the test server, inside the POST: the page sees the analysis once it ended.
    expect(page.locator("#analyse-form")).to_have_attribute("data-status", "succeeded", timeout=120_000)

    assert page.text_content("#analyse-report").startswith("Analysis of north-gate-01 succeeded: 200 frames at ")
    status, analysis = api(page, f"/api/v1/analyses/{page.get_attribute('#analyse-form', 'data-analysis')}/")
    assert (status, analysis["status"], analysis["video_name"]) == (200, "succeeded", "north-gate-01")
    assert analysis["result"]["by_label"] == {"person": 200}
    page.fill("#jobs-q", "kind:analysis")
    page.click("#jobs-search button[type=submit]")
    row = page.locator("#jobs tbody tr[data-kind=analysis]")
    expect(row).to_have_count(1)
    assert row.locator("td").nth(5).text_content().startswith("analysis: fixed on cpu, ")
    assert row.locator("button").count() == 0  # analysts see their jobs; only admins act on them
    # What the analysis ingested is what a search of the video finds.
    status, found = api(page, "/api/v1/search/", {"q": "video.name=north-gate-01"})
    assert (status, found["counts"]["objects"]) == (200, analysis["counts"]["objects"])
    screenshot(page, "jobs-analysis")
    page.watch.assert_clean()


def test_an_older_answer_never_replaces_a_newer_one(page):
    from playwright.sync_api import Error, expect

    log_in(page, "admin", "scoop-admin", path="/manage/ingest/")
    expect(page.locator(ROWS)).to_have_count(6)
    held = []
    page.route(lambda url: "video%3Anorth" in url, lambda route: held.append(route))
    page.fill("#jobs-q", "video:north")
    page.click("#jobs-search button[type=submit]")
    while not held:  # the router holds the search for north's job
        page.wait_for_timeout(50)
    page.fill("#jobs-q", "")
    page.click("#jobs-search button[type=submit]")
    expect(page.locator("#jobs-updated")).to_contain_text("6 jobs")
    for route in held:
        with contextlib.suppress(Error):  # Error: the board already dropped that request
            route.continue_()  # its answer (one job) comes last
    page.wait_for_timeout(500)
    expect(page.locator(ROWS)).to_have_count(6)
