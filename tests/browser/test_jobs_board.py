"""The jobs board in headless Chromium: search by column:keyword, archive a job (it moves to the
Archived tab), give it an expiry date, and delete it, each through the board's buttons."""

from tests.browser.pages import api, log_in, screenshot

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
