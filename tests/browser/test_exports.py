"""The clips panel's Export menu (issue 23): a format and a scope, a job whose progress shows,
then the file downloads and holds what the search matched."""

import io
import json
import zipfile

from tests.browser.pages import api, log_in, wait_for_search

FIRST_BOX = "#clip-grid .clip-item >> nth=0 >> input.clip-select"


def _export(page, format: str, scope: str) -> bytes:
    page.click("#export-menu summary")
    page.select_option("#export-menu select[name=format]", format)
    page.check(f'#export-menu input[name=scope][value="{scope}"]')
    # The test server runs the job inside the POST (eager tasks): allow for a slow shared machine.
    with page.expect_download(timeout=90_000) as download:
        page.click("#export-menu button[type=submit]")
    status = page.evaluate("() => document.querySelector('#export-menu output').textContent")
    assert "detections" in status, status
    assert page.locator("#export-menu progress").evaluate("bar => bar.value") == 1
    with open(download.value.path(), "rb") as file:
        body = file.read()
    page.click("#export-menu summary")  # close the menu again
    return body


def test_the_export_menu_downloads_all_matches_and_selected_clips(page):
    log_in(page)
    wait_for_search(page)
    status, answer = api(page, "/api/v1/search/", {"page_size": 24})
    assert status == 200

    archive = zipfile.ZipFile(io.BytesIO(_export(page, "csv", "all")))
    assert sorted(archive.namelist()) == ["clips.csv", "detections.csv", "events.csv"]
    detections = archive.read("detections.csv").decode().splitlines()
    assert len(detections) - 1 == answer["counts"]["objects"]
    assert len(archive.read("clips.csv").decode().splitlines()) - 1 == answer["total_clips"]

    assert page.locator('#export-menu input[name=scope][value="clips"]').is_disabled()
    page.check(FIRST_BOX)
    assert page.locator("#export-menu [data-selected]").text_content() == "1"
    first = answer["clips"][0]
    coco = json.loads(_export(page, "coco", "clips"))
    assert [video["name"] for video in coco["videos"]] == [first["video_name"]]
    assert len(coco["images"]) == first["frames"]
    assert all(first["start_s"] - 1e-6 <= image["t"] < first["end_s"] for image in coco["images"])
    page.watch.assert_clean()
