"""The gpu-queue task: analyse a video's registered media and ingest the labels."""

import pytest

from indexer import services
from indexer.media import media_dir
from indexer.models import IngestJob
from indexer.tasks import video_analyse_task
from scoop.celery import app
from tests.scoop_worker import worker_video


@pytest.fixture
def road(db, demo_ontology_document):
    return services.schema_create(name="road", document=demo_ontology_document, author=None)


def test_the_task_is_routed_to_the_gpu_queue():
    route = app.amqp.router.route({}, video_analyse_task.name, args=(1,), kwargs={})
    assert route["queue"].name == "gpu"


def test_the_task_analyses_registered_media_and_ingests_what_it_found(road, analyst_client):
    path = worker_video.write_video(media_dir() / "street.avi")
    video, _ = services.video_get_or_create(user=None, name="street")
    services.video_media_register(actor=None, video=video, path=str(path), enqueue=False)

    outcome = video_analyse_task.delay(video.pk)  # eager in the test settings

    job = IngestJob.objects.get(pk=outcome.get())
    assert (job.status, job.video_id, job.video_name, job.format, job.mode) == (
        IngestJob.SUCCEEDED, video.pk, "street", "eta", "filter")
    assert job.counts["objects"] > 0 and job.counts["tracks"] >= 4 and job.violation_count == 0

    def frames(q: str) -> int:
        return analyst_client.post("/api/v1/search/", {"q": q}, format="json").json()["counts"]["frames"]

    assert frames("vehicle(color=red)") >= len(worker_video.RED_FRAMES) - 2
    # Before anything moves only the standing person is there, whom only the HOG detector can see.
    before = f"time=0..{(worker_video.WALKER_FRAMES.start - 1) / worker_video.FPS:g}"
    assert frames(f"vehicle AND {before}") == 0
    assert frames(f"person AND {before}") == worker_video.WALKER_FRAMES.start


def test_a_video_without_media_fails_the_task_with_the_reason(road):
    video, _ = services.video_get_or_create(user=None, name="no-media")
    outcome = video_analyse_task.delay(video.pk)
    assert outcome.failed()
    assert str(outcome.result) == f"video {video.pk} has no media file on this server to analyse"
    assert not IngestJob.objects.exists()
