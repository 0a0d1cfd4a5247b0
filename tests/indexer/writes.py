"""What the tests of writes to videos share: the street schema, a worker posting a payload
through the API, and what searches, the disk and the jobs then show."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import _client_for
from tests.indexer.test_api_ingest import STREET_ONTOLOGY
from tests.samples import sample

# supervision's CSV sample: 3 frames, 4 detections of cars and people.
SUPERVISION = sample("supervision_csvsink.csv").read_bytes()
SUPERVISION_OPTIONS = {"width": 1280, "height": 720, "fps": 10}
# The same video with only its first frame (2 detections).
SUPERVISION_FIRST_FRAME = b"".join(SUPERVISION.splitlines(keepends=True)[:3])


def street_schema(admin_client) -> dict:
    response = admin_client.post("/api/v1/schemas/", {"name": "street", "schema": STREET_ONTOLOGY}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def worker(username: str):
    """A token client of the worker ``username`` (``client.user`` is the user)."""
    return _client_for(None, username, "worker")


def ingest(client, capture, video: str, content: bytes = SUPERVISION, *, run: bool = True, name: str = "sv.csv",
           options: dict | None = None, **fields):
    """Post ``content`` as a multipart file for ``video`` under the street schema
    (supervision options by default); with ``run``, the job runs before the answer returns."""
    body = {"video": video, "schema": "street", "mode": "filter", "file": SimpleUploadedFile(name, content),
            "options": json.dumps(SUPERVISION_OPTIONS if options is None else options), **fields}
    with capture(execute=run):
        return client.post("/api/v1/ingest/", body, format="multipart")


def job(client, response) -> dict:
    assert response.status_code == 202, response.content
    return client.get(response.json()["url"]).json()


def search_counts(analyst_client, video: str) -> dict:
    """What a search of the street schema finds in ``video``: frames and objects."""
    response = analyst_client.post("/api/v1/search/", {"schema": "street", "query": {"video": {"name": [video]}}},
                                   format="json")
    assert response.status_code == 200, response.content
    counts = response.json()["counts"]
    return {"frames": counts["frames"], "objects": counts["objects"]}


def payload_files(settings) -> list[str]:
    folder = Path(settings.SCOOP_DATA_DIR) / "payloads"
    return sorted(path.name for path in folder.glob("*")) if folder.exists() else []
