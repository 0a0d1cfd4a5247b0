"""Labels for overlays: per-frame boxes that land exactly on what the demo
video shows, with track ids and attributes (constant ones on every detection)."""

import json

import pytest

from fixtures.demo import HEIGHT, WIDTH, demo_videos
from tests.conftest import REPO
from tests.indexer.media_samples import ingest_demo

pytestmark = pytest.mark.django_db

DEMO = demo_videos()[0]


def upload_demo_ontology(admin_client) -> None:
    ontology = json.loads((REPO / "fixtures" / "demo_ontology.json").read_text())
    assert admin_client.post("/api/v1/schemas/", {"name": "road", "schema": ontology}, format="json").status_code == 201


@pytest.fixture
def video_id(admin_client, worker_client, django_capture_on_commit_callbacks):
    return ingest_demo(worker_client, admin_client, django_capture_on_commit_callbacks, DEMO)


def labels(client, video_id, query=""):
    response = client.get(f"/api/v1/videos/{video_id}/labels/{query}")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("frame", [0, 30, 117, 199])
def test_overlay_boxes_equal_the_ingested_boxes_in_pixels(analyst_client, video_id, frame):
    answer = labels(analyst_client, video_id, f"?start_s={frame / 10}&end_s={(frame + 1) / 10}")

    [labeled] = answer["frames"]
    assert (labeled["index"], labeled["t"]) == (frame, pytest.approx(frame / 10))
    shown = {obj["track"]: obj for obj in labeled["objects"]}
    expected = DEMO.visible(frame)
    assert len(labeled["objects"]) == len(expected)
    for actor, (x1, y1, x2, y2) in expected:
        obj = shown[str(actor.index)]
        assert obj["label"] == actor.label
        assert obj["box"] == pytest.approx([x1, y1, x2, y2])
        assert obj["box_px"] == pytest.approx([x1 * WIDTH, y1 * HEIGHT, x2 * WIDTH, y2 * HEIGHT], abs=0.005)
    assert (answer["width"], answer["height"]) == (WIDTH, HEIGHT)


def test_constant_track_attributes_are_on_every_detection(analyst_client, video_id):
    vehicle = next(actor for actor in DEMO.actors if actor.label == "vehicle")
    later = vehicle.first + 5

    answer = labels(analyst_client, video_id, f"?start_s={later / 10}&end_s={(later + 1) / 10}")

    [obj] = [o for o in answer["frames"][0]["objects"] if o["track"] == str(vehicle.index)]
    # With the review state every detection is indexed with (unreviewed: nobody voted on it).
    assert obj["attrs"] == {**vehicle.per_frame, **vehicle.constant, "review": "unreviewed"}
    assert obj["confidence"] == pytest.approx(0.6 + 0.4 * ((vehicle.index * 37 + later) % 100) / 100, abs=0.001)


def test_the_window_is_start_inclusive_end_exclusive(analyst_client, video_id):
    first_second = labels(analyst_client, video_id, "?start_s=0&end_s=1")
    everything = labels(analyst_client, video_id)

    assert [f["index"] for f in first_second["frames"]] == list(range(10))
    assert (first_second["start_s"], first_second["end_s"]) == (0.0, 1.0)
    assert len(everything["frames"]) == 200
    assert everything["end_s"] == 20.0
    objects = sum(len(f["objects"]) for f in everything["frames"])
    assert objects == sum(len(DEMO.visible(frame)) for frame in range(200))


def test_a_window_must_not_be_empty(analyst_client, video_id):
    response = analyst_client.get(f"/api/v1/videos/{video_id}/labels/?start_s=2&end_s=2")

    assert response.status_code == 400
    assert response.json()["detail"] == "end_s: must be greater than start_s"


def test_the_first_stated_constant_wins(
    admin_client, worker_client, analyst_client, django_capture_on_commit_callbacks
):
    vehicle = next(actor for actor in DEMO.actors if actor.label == "vehicle")
    analytics = DEMO.eta_labels()
    later = analytics["frames"][str(vehicle.last + 1)]["objects"]["objects"]
    [detection] = [o for o in later if o["index"] == vehicle.index]
    other_make = "Tesla" if vehicle.constant["make"] != "Tesla" else "BMW"
    detection["attrs"]["attrs"].append(
        {"type": "eta.core.data.CategoricalAttribute", "name": "make", "value": other_make, "constant": True}
    )
    upload_demo_ontology(admin_client)
    with django_capture_on_commit_callbacks(execute=True):
        job = worker_client.post(
            "/api/v1/ingest/", {"video": "twice-said", "analytics": analytics}, format="json"
        ).json()
    video_id = worker_client.get(job["url"]).json()["video"]

    answer = labels(analyst_client, video_id, f"?start_s={vehicle.last / 10}&end_s={(vehicle.last + 1) / 10}")

    [obj] = [o for o in answer["frames"][0]["objects"] if o["track"] == str(vehicle.index)]
    assert obj["attrs"]["make"] == vehicle.constant["make"]


def test_labels_that_do_not_conform_to_the_schema_are_left_out(
    admin_client, worker_client, analyst_client, django_capture_on_commit_callbacks
):
    analytics = DEMO.eta_labels()
    analytics["frames"]["31"]["objects"]["objects"][0]["label"] = "spaceship"
    upload_demo_ontology(admin_client)
    with django_capture_on_commit_callbacks(execute=True):
        job = worker_client.post(
            "/api/v1/ingest/", {"video": "odd", "analytics": analytics, "mode": "filter"}, format="json"
        ).json()
    video_id = worker_client.get(job["url"]).json()["video"]

    answer = labels(analyst_client, video_id, "?start_s=3&end_s=3.1")

    assert len(answer["frames"][0]["objects"]) == len(DEMO.visible(30)) - 1
    assert "spaceship" not in {o["label"] for o in answer["frames"][0]["objects"]}


def test_a_video_without_analytics_has_no_labels(analyst_client, db):
    from indexer import services

    video, _ = services.video_get_or_create(user=None, name="media-only")

    assert labels(analyst_client, video.pk)["frames"] == []
