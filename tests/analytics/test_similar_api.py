"""POST /api/v1/similar/: the tracks most like a picked track or an uploaded crop, restricted
by the query and filters, with clips to play; who may call it and every bad input's 400."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from indexer.models import Video
from indexer.records import ObjectRecord
from scoop_worker.embedding import EMBEDDING_DIM
from tests.analytics.corpus import FPS, analytics, create_schema, index_video

pytestmark = pytest.mark.django_db


def seen(index: int, track: str | None, embedding, type: str = "sedan", label: str = "vehicle") -> ObjectRecord:
    attrs = {"type": type, "color": "black"} if label == "vehicle" else {}
    return ObjectRecord(index, index / FPS, label, track=track, attrs=attrs,
                        embedding=None if embedding is None else tuple(map(float, embedding)))


def unit(*values: float) -> list[float]:
    vector = np.zeros(EMBEDDING_DIM)
    vector[: len(values)] = values
    return list(vector)


@pytest.fixture
def corpus(db):
    schema = create_schema()
    north = Video.objects.create(name="north", schema=schema)
    south = Video.objects.create(name="south", schema=schema)
    index_video(north.pk, "north", analytics(
        seen(0, "1", unit(1, 0)), seen(1, "1", unit(1, 0.2)), seen(5, "1", unit(1, -0.2)),  # mean: (1, 0)
        seen(2, "2", unit(0, 1), type="suv"),
        seen(3, "3", None),  # a track without an embedding
        seen(3, None, unit(1, 0)),  # untracked: never a result
    ))
    index_video(south.pk, "south", analytics(
        seen(10, "7", unit(0.9, 0.1)), seen(12, "7", unit(0.9, 0.1)),
        seen(11, "8", unit(0.6, 0.8), label="person"),
    ))
    return {"north": north.pk, "south": south.pk}


def post(client, body: dict, status: int = 200, **kwargs) -> dict:
    response = client.post("/api/v1/similar/", body, **({"format": "json"} | kwargs))
    assert response.status_code == status, response.content
    return response.json()


def test_the_most_similar_tracks_come_with_clips(analyst_client, corpus):
    answer = post(analyst_client, {"video": corpus["north"], "track": "1", "k": 20})

    assert answer["query"] == {"video": corpus["north"], "video_name": "north", "track": "1"}
    assert [(hit["video_name"], hit["track"]) for hit in answer["results"]] == [
        ("south", "7"), ("south", "8"), ("north", "2")]  # the picked track itself is left out
    first = answer["results"][0]
    assert first["score"] == pytest.approx(0.9 / np.hypot(0.9, 0.1), abs=1e-6)
    assert first["label"] == "vehicle"
    assert (first["start_frame"], first["end_frame"], first["frames"]) == (10, 12, 2)
    assert (first["start_s"], first["end_s"]) == (1.0, 1.3)  # end: the last frame + 1/fps, as clips end
    assert first["stream_url"] is None and first["thumbnail_url"] is None  # no media registered
    assert answer["results"][2]["score"] == pytest.approx(0.0, abs=1e-6)


def test_k_and_the_query_restrict_the_answer(analyst_client, corpus):
    top = post(analyst_client, {"video": corpus["north"], "track": "1", "k": 1})
    assert [hit["track"] for hit in top["results"]] == ["7"]

    people = post(analyst_client, {"video": corpus["north"], "track": "1", "q": "person"})
    assert [hit["track"] for hit in people["results"]] == ["8"]

    suvs = post(analyst_client, {"video": corpus["north"], "track": "1",
                                 "filters": {"object:vehicle.type": ["suv"]}})
    assert [hit["track"] for hit in suvs["results"]] == ["2"]


def test_an_uploaded_crop_is_embedded_and_searched(analyst_client, corpus):
    crop = np.zeros((40, 30, 3), dtype=np.uint8)
    crop[:, :, 2] = 200
    ok, png = cv2.imencode(".png", crop)
    upload = SimpleUploadedFile("crop.png", png.tobytes(), content_type="image/png")

    answer = post(analyst_client, {"image": upload, "k": "2", "q": "vehicle"}, format="multipart")

    assert answer["query"] == {"image": True}
    assert len(answer["results"]) == 2
    assert all(-1.0 <= hit["score"] <= 1.0 for hit in answer["results"])
    assert answer["results"][0]["score"] >= answer["results"][1]["score"]


@pytest.mark.parametrize(("body", "path", "message"), [
    ({"video": 999, "track": "1"}, "video", "no video has id 999"),
    ({"video": "north", "track": "42"}, "track", "video 'north' has no track '42'"),
    ({"video": "north", "track": "3"}, "track", "track '3' of video 'north' has no embedding"),
    ({"video": "north", "track": "1", "k": 0}, "k", "greater than or equal to 1"),
    ({"video": "north", "track": "1", "k": 1001}, "k", "less than or equal to 1000"),
    ({"video": "north"}, "track", "give the video and track"),
    ({}, "video", "give the video and track"),
    ({"video": "north", "track": "1", "q": "vehicle("}, None, "line 1"),
    ({"video": "north", "track": "1", "q": "bicycle"}, None, "unknown"),
])
def test_bad_requests_answer_400_naming_the_field(analyst_client, corpus, body, path, message):
    body = {key: corpus.get(value, value) if key == "video" else value for key, value in body.items()}
    answer = post(analyst_client, body, status=400)

    assert message in answer["detail"]
    if path is not None:
        assert answer["problems"][0]["path"] == path


def test_a_crop_against_vectors_of_another_dimension_is_refused(analyst_client, db):
    schema = create_schema()
    video = Video.objects.create(name="small", schema=schema)
    index_video(video.pk, "small", analytics(seen(0, "1", [1.0, 0.0, 0.0])))
    ok, png = cv2.imencode(".png", np.full((8, 8, 3), 90, dtype=np.uint8))

    answer = post(analyst_client, {"image": SimpleUploadedFile("c.png", png.tobytes())}, status=400,
                  format="multipart")

    assert answer["problems"][0]["path"] == "image"
    assert f"no indexed track has a {EMBEDDING_DIM}-dimensional embedding (indexed: 3)" in answer["detail"]


def test_an_upload_that_is_not_an_image_is_refused(analyst_client, corpus):
    upload = SimpleUploadedFile("notes.png", b"this is text, not pixels")
    answer = post(analyst_client, {"image": upload}, status=400, format="multipart")

    assert answer["problems"][0]["path"] == "image"
    assert "not an image" in answer["detail"]


def test_an_image_and_a_track_together_are_refused(analyst_client, corpus):
    ok, png = cv2.imencode(".png", np.zeros((4, 4, 3), dtype=np.uint8))
    body = {"image": SimpleUploadedFile("c.png", png.tobytes()), "video": str(corpus["north"]), "track": "1"}
    answer = post(analyst_client, body, status=400, format="multipart")

    assert "not both" in answer["detail"]


@pytest.mark.parametrize(("client_name", "status"), [
    ("anon_client", 401), ("worker_client", 403), ("analyst_client", 200), ("admin_client", 200)])
def test_roles(request, corpus, client_name, status):
    client = request.getfixturevalue(client_name)
    post(client, {"video": corpus["north"], "track": "1"}, status=status)
