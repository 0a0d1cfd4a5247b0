"""Writes that land while ``rebuild_index`` reads the payloads: they went to the index the
rebuild replaces, and must still be there after it (every engine)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from indexer.models import Video
from indexer.search import get_search_backend
from indexer.services import index_rebuild

pytestmark = pytest.mark.django_db


def ingest(client, capture, tmp_path, name: str, seed: int) -> None:
    payload = write_eta_video(tmp_path / f"{name}.json", frames=20, objects_per_frame=3, seed=seed).path
    upload = SimpleUploadedFile("analytics.json", payload.read_bytes(), content_type="application/json")
    with capture(execute=True):
        answer = client.post("/api/v1/ingest/", {"file": upload, "video": name}, format="multipart")
    assert answer.status_code == 202, answer.content


def test_an_ingest_and_a_delete_during_a_rebuild_survive_its_swap(
        admin_client, worker_client, analyst_client, tmp_path, django_capture_on_commit_callbacks, monkeypatch):
    admin_client.post("/api/v1/schemas/", {"name": "gen", "schema": DEFAULT_ONTOLOGY.to_document()}, format="json")
    for seed, name in enumerate(("cam-0", "cam-1")):
        ingest(worker_client, django_capture_on_commit_callbacks, tmp_path, name, seed)
    backend = get_search_backend()
    real_rebuild = backend.rebuild

    def rebuild_after_writes(*, videos):
        # The payloads are read: now a worker ingests cam-2 and an admin deletes cam-0.
        ingest(worker_client, django_capture_on_commit_callbacks, tmp_path, "cam-2", 2)
        deleted = admin_client.delete(f"/api/v1/videos/{Video.objects.get(name='cam-0').pk}/")
        assert deleted.status_code == 200, deleted.content
        real_rebuild(videos=videos)

    monkeypatch.setattr(backend, "rebuild", rebuild_after_writes)

    assert index_rebuild() == 2  # the videos it read: cam-0 and cam-1

    counts = analyst_client.post("/api/v1/search/", {"q": "*"}, format="json").json()["counts"]
    assert (counts["videos"], counts["objects"]) == (2, 2 * 20 * 3)
    names = analyst_client.post("/api/v1/search/", {"q": "*", "facets": ["video"]}, format="json").json()
    assert sorted(backend.video_ids()) == sorted(Video.objects.filter(name__in=["cam-1", "cam-2"])
                                                 .values_list("pk", flat=True)), names
