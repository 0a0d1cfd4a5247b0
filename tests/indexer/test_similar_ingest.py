"""Embeddings in ETA payloads: read from DetectedObjects and VideoObjects, validated (finite,
non-empty, one dimension per payload, with JSON paths), and kept through ingest, re-ingest,
delete and rebuild_index."""

from __future__ import annotations

import copy
import json

import pytest

from indexer.formats import eta
from indexer.formats.json_walk import FormatError
from indexer.models import Video
from indexer.ontology import LabelSpec, Ontology
from indexer.records import Analytics, ObjectRecord, TrackRecord, VideoMeta
from indexer.validation import validate
from tests.indexer import test_api_ingest
from tests.indexer.test_api_ingest import post_json, sample

eta_schema = test_api_ingest.eta_schema  # the fixture: the ETA sample schema, uploaded


def framewise(first=(1.0, 0.0), second=(0.0, 1.0)) -> dict:
    """The framewise sample with embeddings on its track 7 and a second car, track 8."""
    payload = sample("eta_VideoLabels_framewise.json")
    objects = payload["frames"]["1"]["objects"]["objects"]
    objects[0]["embedding"] = list(first)
    other = copy.deepcopy(objects[0])
    other.update(index=8, embedding=list(second))
    objects.append(other)
    return payload


def records_of(tmp_path, payload: dict) -> list:
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload))
    return list(eta.read(path).records())


def test_framewise_detections_carry_their_embedding(tmp_path):
    objects = [r for r in records_of(tmp_path, framewise(first=(1, 2.5))) if isinstance(r, ObjectRecord)]

    assert [(o.track, o.embedding) for o in objects] == [("7", (1.0, 2.5)), ("8", (0.0, 1.0)), ("7", None)]


def test_spatiotemporal_objects_and_their_frames_carry_embeddings(tmp_path):
    payload = sample("eta_VideoLabels_spatiotemporal.json")
    video_object = payload["objects"]["objects"][0]
    video_object["embedding"] = [0.5, 0.5]
    video_object["frames"]["2"]["embedding"] = [3, 4]
    records = records_of(tmp_path, payload)

    tracks = [r for r in records if isinstance(r, TrackRecord)]
    assert [(t.track, t.embedding, t.path) for t in tracks] == [("7", (0.5, 0.5), "objects.objects[0]")]
    assert [o.embedding for o in records if isinstance(o, ObjectRecord)] == [None, (3.0, 4.0)]


@pytest.mark.parametrize(("embedding", "path", "message"), [
    ("fast", "frames.1.objects.objects[0].embedding", "embedding must be a list of numbers"),
    ([1, "2"], "frames.1.objects.objects[0].embedding[1]", "an embedding value must be a number"),
    ([1, True], "frames.1.objects.objects[0].embedding[1]", "an embedding value must be a number"),
])
def test_an_embedding_that_is_not_numbers_is_a_format_error(tmp_path, embedding, path, message):
    payload = framewise()
    payload["frames"]["1"]["objects"]["objects"][0]["embedding"] = embedding
    with pytest.raises(FormatError) as error:
        records_of(tmp_path, payload)

    assert error.value.path == path
    assert message in str(error.value)


ONTOLOGY = Ontology(video_attrs={}, frame_attrs={}, objects={"car": LabelSpec("car", {})}, events={})


def checked(*embeddings, mode: str = "strict"):
    records = [ObjectRecord(index=i, t=i / 10, label="car", track="1", embedding=e,
                            path=f"frames.{i + 1}.objects.objects[0]") for i, e in enumerate(embeddings)]
    records.append(TrackRecord(track="1", label="car", embedding=(1.0,), path="objects.objects[0]"))
    analytics = Analytics.from_list(format="test", meta=VideoMeta(fps=10.0), records=records)
    return validate(analytics, ONTOLOGY, mode=mode)


def test_validation_reports_each_bad_embedding_at_its_path():
    report = checked((1.0, 2.0), (), (1.0, float("inf")), (1.0, 2.0, 3.0), (0.0, 0.0))

    assert not report.ok
    assert report.violations == [
        {"path": "frames.2.objects.objects[0].embedding", "message": "embedding is empty"},
        {"path": "frames.3.objects.objects[0].embedding[1]", "message": "embedding value inf is not finite"},
        {"path": "frames.4.objects.objects[0].embedding",
         "message": "embedding has 3 values but the payload's embeddings have 2 "
                    "(the first at frames.1.objects.objects[0].embedding)"},
        {"path": "objects.objects[0].embedding",
         "message": "embedding has 1 values but the payload's embeddings have 2 "
                    "(the first at frames.1.objects.objects[0].embedding)"},
    ]


def test_filter_mode_drops_only_the_bad_embeddings():
    report = checked((1.0, 2.0), (), (3.0, 4.0, 5.0), (5.0, 6.0), mode="filter")
    kept = list(report.analytics.records())

    assert [r.embedding for r in kept] == [(1.0, 2.0), None, None, (5.0, 6.0), None]
    assert report.violation_count == 3


def similar(client, video: Video, track: str, status: int = 200) -> dict:
    response = client.post("/api/v1/similar/", {"video": video.pk, "track": track}, format="json")
    assert response.status_code == status, response.content
    return response.json()


@pytest.mark.django_db
def test_embeddings_survive_reingest_delete_and_rebuild(
        worker_client, analyst_client, admin_client, eta_schema, django_capture_on_commit_callbacks):
    from indexer.services import index_rebuild

    capture = django_capture_on_commit_callbacks
    job = post_json(worker_client, capture, video="cam", analytics=framewise()).json()
    assert worker_client.get(job["url"]).json()["status"] == "succeeded"
    post_json(worker_client, capture, video="other", analytics=framewise(first=(1, 1), second=(1, 0)))
    cam, other = Video.objects.get(name="cam"), Video.objects.get(name="other")

    hits = similar(analyst_client, cam, "7")["results"]
    assert [(hit["video_name"], hit["track"], hit["score"]) for hit in hits] == [
        ("other", "8", 1.0), ("other", "7", pytest.approx(0.707107)), ("cam", "8", 0.0)]

    post_json(worker_client, capture, video="cam", analytics=framewise(first=(0, 1)))  # re-ingest: new vectors
    hits = similar(analyst_client, cam, "7")["results"]
    assert [(hit["video_name"], hit["track"]) for hit in hits] == [("cam", "8"), ("other", "7"), ("other", "8")]

    assert admin_client.delete(f"/api/v1/videos/{other.pk}/").status_code == 200
    assert [hit["track"] for hit in similar(analyst_client, cam, "7")["results"]] == ["8"]

    assert index_rebuild() == 1
    hits = similar(analyst_client, cam, "8")["results"]
    assert [(hit["video_name"], hit["track"], hit["score"]) for hit in hits] == [("cam", "7", 1.0)]


@pytest.mark.django_db
def test_strict_ingest_refuses_mixed_dimensions(worker_client, eta_schema, django_capture_on_commit_callbacks):
    job = post_json(worker_client, django_capture_on_commit_callbacks, video="cam",
                    analytics=framewise(first=(1, 0), second=(1, 0, 0)), mode="strict").json()
    job = worker_client.get(job["url"]).json()

    assert job["status"] == "failed"
    assert job["violations"] == [{
        "path": "frames.1.objects.objects[1].embedding",
        "message": "embedding has 3 values but the payload's embeddings have 2 "
                   "(the first at frames.1.objects.objects[0].embedding)"}]
    assert not Video.objects.filter(name="cam").exists()
