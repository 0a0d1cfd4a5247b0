"""The analyses API: start the reference pipeline on a video's media, follow it (202, then 200),
find what it detected in a search, download its labels and log; bad requests refused."""

import json

import pytest

from indexer import services
from indexer.media import media_dir
from indexer.models import Analysis, IngestJob
from tests.scoop_worker import worker_video

URL = "/api/v1/analyses/"


@pytest.fixture
def road(db, demo_ontology_document):
    return services.schema_create(name="road", document=demo_ontology_document, author=None)


@pytest.fixture
def street(road):
    """A video with the worker's synthetic street as its media, and no analytics."""
    video, _ = services.video_get_or_create(user=None, name="street")
    path = worker_video.write_video(media_dir() / "street.avi")
    return services.video_media_register(actor=None, video=video, path=str(path), enqueue=False)


def test_an_analysis_runs_the_reference_pipeline_and_its_labels_are_searchable(analyst_client, street,
                                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the gpu task runs eagerly here
        started = analyst_client.post(URL, {"video": street.pk, "params": {"batch": 8, "device": "cpu"}},
                                      format="json")
    followed = analyst_client.get(started.json()["url"])
    analysis = followed.json()

    assert started.status_code == 202
    assert set(started.json()) == {"id", "status", "url"}
    assert followed.status_code == 200
    assert analysis["error"] == ""
    assert (analysis["status"], analysis["progress"], analysis["pipeline"], analysis["video_name"]) == (
        "succeeded", 1.0, "reference", "street")
    assert analysis["params"] == {"schema": None, "mode": "filter", "batch": 8, "device": "cpu"}
    assert analysis["result"]["frames"] == worker_video.FRAMES
    assert analysis["result"]["device"] == "cpu"
    assert analysis["result"]["frames_per_second"] > 0
    job = IngestJob.objects.get(pk=analysis["ingest_job"])
    assert (job.status, job.video_id, job.format) == (IngestJob.SUCCEEDED, street.pk, "eta")
    assert analysis["counts"] == job.counts and job.counts["tracks"] >= 4
    red = analyst_client.post("/api/v1/search/", {"q": "vehicle(color=red)"}, format="json").json()
    assert red["counts"]["frames"] >= len(worker_video.RED_FRAMES) - 2
    labels = analyst_client.get(analysis["payload_url"])
    assert labels.status_code == 200 and labels["Content-Type"] == "application/json"
    assert len(json.loads(b"".join(labels.streaming_content))["frames"]) > 0
    log = analyst_client.get(analysis["log_url"]).content.decode()
    assert f"{worker_video.FRAMES} frames in" in log and f"ingest job {job.pk}: succeeded" in log


def test_a_queued_analysis_answers_202_with_its_progress(analyst_client, street):
    started = analyst_client.post(URL, {"video": street.pk}, format="json")  # on-commit: never queued here

    followed = analyst_client.get(started.json()["url"])

    assert followed.status_code == 202
    assert (followed.json()["status"], followed.json()["progress"], followed.json()["result"]) == ("queued", 0.0, None)
    assert analyst_client.get(followed.json()["payload_url"] or f"{URL}{started.json()['id']}/payload.json").json() \
        == {"detail": f"analysis {started.json()['id']} has no labels yet (it is queued)"}
    assert [a["id"] for a in analyst_client.get(URL, {"video": street.pk}).json()] == [started.json()["id"]]


@pytest.mark.parametrize(("body", "status", "where", "message"), [
    ({"video": "{street}", "pipeline": "yolo"}, 400, "pipeline", "unknown pipeline 'yolo'; expected one of reference"),
    ({"video": "{street}", "params": {"batch": 0}}, 400, "params.batch", "batch must be a whole number from 1 to 256"),
    ({"video": "{street}", "params": {"speed": 2}}, 400, "params.speed", "unknown parameter 'speed'"),
    ({"video": "{street}", "params": {"device": "tpu"}}, 400, "params.device", "device must be cpu, cuda or cuda:N"),
    ({"video": "{street}", "params": {"mode": "lax"}}, 400, "params.mode", "mode must be strict or filter"),
    ({"video": "{street}", "params": {"schema": "rail"}}, 400, "schema", "rail"),
    ({"video": 999999}, 400, "video", "no video has id 999999"),
    ({"video": "{bare}"}, 409, "video", "video 'bare' has no media file on this server to analyse"),
])
def test_bad_requests_are_refused_and_nothing_is_queued(analyst_client, street, body, status, where, message):
    bare, _ = services.video_get_or_create(user=None, name="bare")
    ids = {"{street}": street.pk, "{bare}": bare.pk}
    answer = analyst_client.post(URL, {key: ids.get(value, value) if isinstance(value, str) else value
                                       for key, value in body.items()}, format="json")

    assert answer.status_code == status
    assert message in str(answer.json()) and where in str(answer.json())
    assert not Analysis.objects.exists()


def test_workers_may_not_start_analyses(worker_client, street):
    assert worker_client.post(URL, {"video": street.pk}, format="json").status_code == 403
