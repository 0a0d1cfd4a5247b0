"""The admin pages in headless Chromium: uploading a label schema with its
validation report, choosing the default schema, and the ingest jobs board."""

import json

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
