"""The upload page: an analyst drops a small video on the zone and chooses another with the file
input; both are sent in small chunks by the resumable API, one of them through a connection that
fails once (it resumes from the server's offset), and each becomes a video with its SHA-256."""

import base64
import hashlib

import pytest

from tests.browser.pages import api, log_in, totals, wait_for_search
from tests.browser.test_csp import RECORD_VIOLATIONS
from tests.indexer.media_samples import write_video

CHUNK = 256


@pytest.fixture
def videos(tmp_path) -> dict[str, bytes]:
    return {name: write_video(tmp_path / name, frames=frames).read_bytes()
            for name, frames in (("dropped.webm", 20), ("chosen.webm", 12))}


def test_an_analyst_uploads_videos_by_drop_and_by_file_input_and_a_failed_chunk_resumes(page, videos, tmp_path):
    patches = []

    def fail_the_second_chunk(route):
        patches.append((route.request.url, route.request.headers.get("upload-offset")))
        if len(patches) == 2:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/uploads/*/", lambda route: fail_the_second_chunk(route)
               if route.request.method == "PATCH" else route.continue_())
    page.context.add_init_script(RECORD_VIOLATIONS)
    log_in(page, path=f"/upload/?chunk={CHUNK}")
    page.wait_for_selector("body[data-upload-ready=true]", state="attached")

    page.set_input_files("#upload-files", str(tmp_path / "chosen.webm"))
    encoded = base64.b64encode(videos["dropped.webm"]).decode()
    transfer = page.evaluate_handle("""(encoded) => {
        const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "dropped.webm", { type: "video/webm" }));
        return transfer;
    }""", encoded)
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    page.wait_for_selector("body[data-uploaded='2']", state="attached", timeout=60_000)

    statuses = {name: page.text_content(f"#uploads tr[data-file='{name}'] td.status") for name in videos}
    listed = {upload["filename"]: upload for upload in page.request.get("/api/v1/uploads/").json()}
    for name, content in videos.items():
        digest = hashlib.sha256(content).hexdigest()
        assert (listed[name]["status"], listed[name]["length"]) == ("done", len(content))
        assert listed[name]["sha256"] == digest
        assert statuses[name].startswith(f"done: video {listed[name]['video']} \"{name.removesuffix('.webm')}\"")
        assert statuses[name].endswith(digest)
        video = page.request.get(listed[name]["video_url"]).json()
        assert (video["name"], video["size_bytes"]) == (name.removesuffix(".webm"), len(content))
    # Several chunks a file, and the refused chunk went again from the offset it had.
    assert len(patches) > sum(len(content) // CHUNK for content in videos.values())
    assert patches.count(patches[1]) == 2
    assert page.locator("nav a[href='/upload/']").count() == 1
    assert page.evaluate("window.__csp") == []


def test_an_analyst_uploads_a_video_analyses_it_with_the_reference_pipeline_and_finds_its_people(page, tmp_path):
    """From video to answers in the browser: upload a video (a copy of the demo's north-gate-01
    under a new name), start the reference pipeline on it from the Jobs page, follow its
    progress, then find the people it detected in the dashboard's search."""
    from playwright.sync_api import expect

    log_in(page, path="/upload/")
    page.wait_for_selector("body[data-upload-ready=true]", state="attached")
    status, videos = api(page, "/api/v1/videos/")
    (demo,) = [video for video in videos["results"] if video["name"] == "north-gate-01"]
    copy = tmp_path / "gate-upload.webm"
    copy.write_bytes(page.request.get(demo["stream_url"]).body())
    page.set_input_files("#upload-files", str(copy))
    page.wait_for_selector("body[data-uploaded='1']", state="attached", timeout=60_000)

    # Tasks run eagerly in the test server: the analysis has ended when its POST answers. The
    # page's first look at it is answered as the API answers while one runs (202, running, 40%),
    # so that the progress it shows is seen; its next look gets the real answer.
    looks = []

    def while_running(route):
        looks.append(route.request.url)
        if len(looks) > 1:
            return route.continue_()
        answer = route.fetch()
        running = {**answer.json(), "status": "running", "progress": 0.4}
        return route.fulfill(status=202, json=running)

    page.route("**/api/v1/analyses/*/", while_running)
    page.goto("/manage/ingest/")
    page.evaluate("""() => {
        window.__reports = [];
        new MutationObserver(() => window.__reports.push(document.getElementById('analyse-report').textContent))
            .observe(document.getElementById('analyse-report'), {childList: true, characterData: true, subtree: true});
    }""")
    expect(page.locator("#analyse-video option", has_text="gate-upload")).to_have_count(1)
    page.select_option("#analyse-video", label="gate-upload")
    page.select_option("#analyse-pipeline", "reference")
    page.click("#analyse-form button[type=submit]")
    expect(page.locator("#analyse-form")).to_have_attribute("data-status", "succeeded", timeout=300_000)

    assert "Analysis of gate-upload running: 40%" in page.evaluate("window.__reports")
    assert len(looks) >= 2
    report = page.text_content("#analyse-report")
    assert report.startswith("Analysis of gate-upload succeeded: 200 frames at ") and report.endswith(
        "ingested into gate-upload.")
    status, analysis = api(page, f"/api/v1/analyses/{page.get_attribute('#analyse-form', 'data-analysis')}/")
    assert (status, analysis["status"], analysis["pipeline"]) == (200, "succeeded", "reference")
    people = analysis["result"]["by_label"]["person"]
    assert people > 0

    # The people it found, in the dashboard: the same numbers as the search API's.
    page.goto("/?q=video.name%3Dgate-upload%20AND%20person")
    wait_for_search(page)
    status, found = api(page, "/api/v1/search/", {"q": "video.name=gate-upload AND person", "page_size": 24})
    assert status == 200 and found["counts"]["videos"] == 1
    # The frames where it saw a person (and every object in them).
    assert 0 < found["counts"]["frames"] <= analysis["result"]["frames"]
    shown = totals(page)
    assert (shown["videos"], shown["frames"], shown["objects"]) == (
        1, found["counts"]["frames"], found["counts"]["objects"])
    expect(page.locator("#clip-grid .clip-card").first).to_have_attribute("data-video", str(analysis["video"]))
