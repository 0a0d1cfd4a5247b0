"""Frame rates through the API: a rate outside 0.1-1000 fps, from a payload, a reader
option or a live video, is refused with its path, and a video already stored keeps its
analytics; a payload without a rate gets 30 fps with a warning that says why."""

from __future__ import annotations

import json

import pytest

from tests.indexer.test_api_ingest import post_json
from tests.samples import sample

pytestmark = pytest.mark.django_db

RANGE = "a frame rate must lie between 0.1 and 1000 fps"


def eta_with(**metadata):
    analytics = sample_analytics()
    analytics["metadata"] = {**{k: v for k, v in analytics["metadata"].items() if k != "frame_rate"}, **metadata}
    return analytics


def sample_analytics():
    return json.loads(sample("eta_VideoLabels_framewise.json").read_text())


@pytest.fixture
def eta_schema(admin_client):
    document = json.loads(sample("eta_VideoLabelsSchema.json").read_text())
    response = admin_client.post("/api/v1/schemas/", {"name": "eta", "schema": document}, format="json")
    assert response.status_code == 201, response.json()


def counts(client, name: str) -> dict:
    answer = client.post("/api/v1/search/", {"query": {"video": {"name": name}}}, format="json").json()
    return {key: answer["counts"][key] for key in ("videos", "frames", "objects", "duration_s")}


@pytest.fixture
def stored(worker_client, analyst_client, eta_schema, django_capture_on_commit_callbacks):
    response = post_json(worker_client, django_capture_on_commit_callbacks, video="dashcam",
                         analytics=sample_analytics())
    assert worker_client.get(response.json()["url"]).json()["status"] == "succeeded"
    before = counts(analyst_client, "dashcam")
    assert before["frames"] == 2
    return before


@pytest.mark.parametrize(("metadata", "path", "shown"), [
    ({"frame_rate": 1e-300}, "metadata.frame_rate", "1e-300"),
    ({"frame_rate": 0}, "metadata.frame_rate", "0"),
    ({"frame_rate": -1}, "metadata.frame_rate", "-1"),
    ({"frame_rate": 1e300}, "metadata.frame_rate", "1e+300"),
])
def test_a_payload_rate_out_of_range_fails_the_job_at_its_path_and_keeps_the_video(
    worker_client, analyst_client, stored, django_capture_on_commit_callbacks, metadata, path, shown
):
    response = post_json(worker_client, django_capture_on_commit_callbacks, video="dashcam",
                         analytics=eta_with(**metadata))

    assert response.status_code == 202, response.json()
    job = worker_client.get(response.json()["url"]).json()
    assert job["status"] == "failed"
    assert f"{path}: {RANGE}, got {shown}" in job["error"]
    assert counts(analyst_client, "dashcam") == stored


@pytest.mark.parametrize("fps", [1e-300, 0, -1, 1e300, "fast"])
def test_an_fps_option_out_of_range_is_a_400_at_once(worker_client, eta_schema, django_capture_on_commit_callbacks,
                                                     fps):
    response = post_json(worker_client, django_capture_on_commit_callbacks, video="dashcam",
                         analytics=eta_with(), options={"fps": fps})

    assert response.status_code == 400, response.json()
    assert response.json()["detail"].startswith("options.fps: a frame rate must")
    assert response.json()["path"] == "options.fps"


def test_a_payload_without_a_rate_gets_30_fps_and_a_true_warning(worker_client, eta_schema,
                                                                 django_capture_on_commit_callbacks):
    analytics = eta_with()
    analytics["metadata"].pop("duration", None)

    response = post_json(worker_client, django_capture_on_commit_callbacks, video="norate", analytics=analytics)

    job = worker_client.get(response.json()["url"]).json()
    assert job["status"] == "succeeded", job
    assert job["warnings"] == ["the payload gives no frame rate (metadata.frame_rate, or total_frame_count and "
                               "duration) and there is no fps option: assumed 30 fps"]


@pytest.mark.parametrize("fps", [1e-300, 0, 1e300, 1000.5])
def test_a_live_video_rate_out_of_range_is_a_400(worker_client, eta_schema, fps):
    response = worker_client.post("/api/v1/videos/", {"name": "live", "live": True, "fps": fps, "schema": "eta"},
                                  format="json")

    assert response.status_code == 400, response.json()
    assert "fps" in response.json()["detail"]
