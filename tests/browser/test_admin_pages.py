"""The admin pages in headless Chromium: uploading a label schema with its
validation report, choosing the default schema, and the ingest jobs board."""

import json
import re

import pytest

from fixtures.demo import demo_videos
from indexer import services
from indexer.models import LabelSchema
from tests.browser.pages import api, log_in, screenshot
from tests.conftest import REPO

BROKEN = {
    "objects": {"schema": {"car": {"label": "car", "attrs": {"schema": {
        "color": {"name": "color", "type": "eta.core.data.ColourAttribute"},
        "make": {"name": "make", "type": "eta.core.data.CategoricalAttribute", "categories": "Ford"},
    }}}}},
}


def test_a_schema_upload_reports_every_problem_with_its_path(page):
    log_in(page, "admin", "scoop-admin", path="/manage/schemas/")
    assert page.locator("#schema-list tbody tr").first.locator("td").all_text_contents()[:2] == ["road", "v1"]

    page.fill("#schema-name", "broken")
    page.fill("#schema-text", json.dumps(BROKEN))
    page.click("#schema-form button[type=submit]")
    page.wait_for_selector("#schema-report table.problems")

    paths = page.locator("#schema-report table.problems tbody td:first-child").all_text_contents()
    assert paths == ["$.objects.schema.car.attrs.schema.color.type",
                     "$.objects.schema.car.attrs.schema.make.categories"]
    assert "Not stored: the schema document has 2 problem(s)" in page.text_content("#schema-report")
    screenshot(page, "schema-report")

    page.fill("#schema-text", "{not json")
    page.click("#schema-form button[type=submit]")
    page.wait_for_selector("#schema-report:has-text('is not valid JSON')")

    page.fill("#schema-name", "road")
    page.fill("#schema-text", (REPO / "fixtures" / "demo_ontology.json").read_text())
    page.click("#schema-form button[type=submit]")
    page.wait_for_selector("#schema-report.ok")
    assert "Stored as road v2" in page.text_content("#schema-report")
    assert page.locator("#schema-list tbody tr").first.locator("td").all_text_contents()[:2] == ["road", "v2"]
    page.watch.assert_clean(rejected=("/api/v1/schemas/",))


def test_an_admin_makes_another_schema_the_default(page):
    log_in(page, "admin", "scoop-admin", path="/manage/schemas/")
    assert page.text_content("#default-report").strip() == "The default is road v1."

    page.fill("#schema-name", "retail")
    page.fill("#schema-text", json.dumps({"objects": {"schema": {"shelf": {"label": "shelf"}}}}))
    page.click("#schema-form button[type=submit]")
    page.wait_for_selector("#schema-report.ok")
    assert 'Requests name it with "schema": "retail"; the default stays road.' in page.text_content("#schema-report")

    page.select_option("#default-name", "retail")
    page.click("#default-form button[type=submit]")
    page.wait_for_selector("#default-report.ok")

    assert page.text_content("#default-report") == "The default is retail v1: requests that name no schema use it."
    status, default = api(page, "/api/v1/schemas/default/")
    assert (status, default["name"], default["version"]) == (200, "retail", 1)
    screenshot(page, "schema-default")
    page.goto("/")
    assert page.text_content("#schema-shown") == "Showing retail v1, the default schema"
    page.watch.assert_clean()


def test_the_ingest_board_lists_the_jobs_like_a_console(page):
    log_in(page, "admin", "scoop-admin", path="/manage/ingest/")
    page.wait_for_selector("#jobs tbody tr[data-status]")

    rows = page.locator("#jobs tbody tr[data-status]")
    assert rows.count() == 6
    assert set(page.locator("#jobs .status").all_text_contents()) == {"succeeded"}
    first = rows.first.locator("td").all_text_contents()
    assert first[0] in {"north-gate-01", "harbor-road-02", "market-st-03", "elm-street-04", "ridge-way-05",
                        "depot-cam-06"}
    assert first[2] == "100%"
    assert first[3].startswith("200 frames, ") and "tracks" in first[3]
    assert first[4] == "none"
    assert "6 jobs, updated" in page.text_content("#jobs-updated")
    screenshot(page, "ingest-jobs")

    page.click("#jobs-pause")
    assert page.get_attribute("#jobs-pause", "aria-pressed") == "true"
    page.watch.assert_clean()


@pytest.fixture
def failed_job(demo):
    """A job whose payload breaks the schema in strict mode: it read the payload (10%)
    before it failed, and indexed nothing."""
    source = demo_videos()[0]
    labels = json.dumps(source.eta_labels())
    black = '"name": "color", "value": "black"'
    assert black in labels
    labels = labels.replace(black, '"name": "color", "value": "plaid"')
    job = services.ingest_job_create(chunks=[labels.encode()], video_name="plaid-cam", schema=LabelSchema.objects.get(
        name="road"), format="eta", mode="strict", options={}, user=None, enqueue=False)
    job = services.ingest_run(job_id=str(job.id))
    assert (job.status, job.progress) == ("failed", pytest.approx(0.1))
    return job


def test_a_failed_job_shows_no_progress_and_counts_are_in_the_right_number(failed_job, page):
    log_in(page, "admin", "scoop-admin", path="/manage/ingest/")
    page.wait_for_selector("#jobs tbody tr[data-status=failed]")

    failed = page.locator("#jobs tbody tr[data-status=failed]")
    assert failed.locator("td").nth(0).text_content() == "plaid-cam"
    assert failed.locator("td").nth(2).text_content() == "stopped: nothing indexed"
    assert failed.locator(".bar").count() == 0
    assert "violation(s) of schema road" in page.locator("#jobs tr.error-row").first.text_content()

    # harbor-road-02 holds one event: "1 event", never "1 events".
    counts = page.locator("#jobs tbody tr[data-status=succeeded]", has_text="harbor-road-02").locator("td").nth(3)
    assert re.search(r"(^|, )1 event$", counts.text_content()), counts.text_content()
    assert "1 events" not in page.text_content("#jobs")
    bars = page.locator("#jobs tbody tr[data-status=succeeded] [role=progressbar]")
    assert bars.count() == 6
    assert set(bars.evaluate_all("bars => bars.map(b => b.getAttribute('aria-valuenow'))")) == {"100"}
    assert page.text_content("#jobs-updated").startswith("7 jobs, updated")
    page.watch.assert_clean()


def test_the_django_admin_jobs_table_fits_1440_px(failed_job, page):
    log_in(page, "admin", "scoop-admin", path="/manage/ingest/")
    page.goto("/admin/indexer/ingestjob/")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 7
    # Django's admin wraps the table in a box that scrolls sideways: nothing may overflow it.
    widths = page.evaluate("""() => {
        const box = document.querySelector('#changelist .results');
        return {page: document.documentElement.scrollWidth, view: innerWidth, box: box.clientWidth,
                table: box.scrollWidth};
    }""")
    assert widths["page"] <= widths["view"] == 1440, widths
    assert widths["table"] <= widths["box"], widths
    first = page.locator("#result_list tbody tr").first.locator("th, td")
    assert first.nth(1).text_content() == str(failed_job.id)[:8]
    assert first.nth(2).text_content() == "plaid-cam"
    page.watch.assert_clean()


def test_favicon_ico_is_the_svg_icon(page):
    response = page.request.get("/favicon.ico", max_redirects=0)
    assert response.status == 301
    assert response.headers["location"].endswith("favicon.svg")
    icon = page.request.get("/favicon.ico")
    assert (icon.status, icon.headers["content-type"]) == (200, "image/svg+xml")
    assert icon.text().lstrip().startswith("<svg")
    log_in(page)
    assert page.get_attribute("link[rel=icon]", "href").endswith("favicon.svg")
    page.watch.assert_clean()
