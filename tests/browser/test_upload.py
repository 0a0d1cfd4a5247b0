"""The upload page: an analyst drops a small video on the zone and chooses another with the file
input; both are sent in small chunks by the resumable API, one of them through a connection that
fails once (it resumes from the server's offset), and each becomes a video with its SHA-256."""

import base64
import hashlib

import pytest

from tests.browser.pages import log_in
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
