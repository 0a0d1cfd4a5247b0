"""Merges of the embedded index's segments, as the product runs them: queued after each write
(here run at once: tasks are eager in tests), or by ``manage.py merge_index``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from indexer.formats import read_analytics
from indexer.models import Video
from indexer.search import get_search_backend

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _duckdb_only():
    if settings.SCOOP_SEARCH_BACKEND["ENGINE"] != "indexer.search.duckdb":
        pytest.skip("segments and merges belong to the DuckDB engine")


def live_segments() -> list[dict]:
    index = Path(settings.SCOOP_DATA_DIR) / "index"
    return json.loads((index / (index / "CURRENT").read_text()).read_text())["segments"]


def test_ingests_through_the_api_queue_the_merges_that_keep_segments_few(
        admin_client, worker_client, analyst_client, tmp_path, django_capture_on_commit_callbacks):
    admin_client.post("/api/v1/schemas/", {"name": "gen", "schema": DEFAULT_ONTOLOGY.to_document()}, format="json")
    segments_after = []
    for n in range(5):
        payload = write_eta_video(tmp_path / f"{n}.json", frames=20, objects_per_frame=3, seed=n).path
        upload = SimpleUploadedFile("analytics.json", payload.read_bytes(), content_type="application/json")
        with django_capture_on_commit_callbacks(execute=True):
            answer = worker_client.post("/api/v1/ingest/", {"file": upload, "video": f"cam-{n}"}, format="multipart")
        assert answer.status_code == 202, answer.content
        segments_after.append(len(live_segments()))

    # The fourth segment of the smallest tier made a merge due; the task merged the four into one.
    assert segments_after == [1, 2, 3, 1, 2]
    ids = sorted(Video.objects.values_list("pk", flat=True))
    assert [segment["videos"] for segment in live_segments()] == [ids[:4], ids[4:]]
    counts = analyst_client.post("/api/v1/search/", {"q": "*"}, format="json").json()["counts"]
    assert (counts["videos"], counts["objects"]) == (5, 5 * 20 * 3)


def test_merge_index_merges_what_writes_without_a_worker_left(tmp_path):
    backend = get_search_backend()
    for video_id in range(1, 5):
        payload = write_eta_video(tmp_path / f"{video_id}.json", frames=10, objects_per_frame=2, seed=video_id).path
        backend.index_video(video_id=video_id, name=f"v{video_id}", analytics=read_analytics(payload, format="eta"))
    assert len(live_segments()) == 4
    out = io.StringIO()

    call_command("merge_index", stdout=out)

    assert out.getvalue() == "merged the index 1 time(s)\n"
    assert [segment["videos"] for segment in live_segments()] == [[1, 2, 3, 4]]
    call_command("merge_index", stdout=out)
    assert out.getvalue().endswith("merged the index 0 time(s)\n")
