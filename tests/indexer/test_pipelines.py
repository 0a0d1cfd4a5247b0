"""Pipelines: an admin registers a TorchScript detector (checked: it loads, its output meets the
contract on a random input, its classes map into the schema), and an analysis that names it
ingests what it found. The models are tiny scripted modules that give fixed boxes.
(docs/api/pipelines.md)"""

from __future__ import annotations

import json

import pytest
import torch
from django.core.files.uploadedfile import SimpleUploadedFile
from torch import nn

from indexer import services
from indexer.media import media_dir
from indexer.models import Analysis, Pipeline
from indexer.pipelines import PipelineDetector
from tests.scoop_worker import worker_video

URL = "/api/v1/pipelines/"
CONFIG = {"classes": ["pedestrian", "car"], "label_map": {"pedestrian": "person", "car": "vehicle"},
          "input_size": [160, 120], "thresholds": {"score": 0.5, "nms_iou": 0.5}}


class FixedBoxes(nn.Module):
    """Every image: a pedestrian at (10, 10)-(40, 100) of the 160 x 120 input, scoring 0.9, the
    same box again scoring 0.8 (suppressed), and a car scoring 0.2 (under the threshold)."""

    def __init__(self, rows: list[list[float]]):
        super().__init__()
        self.register_buffer("rows", torch.tensor(rows))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.rows.unsqueeze(0).expand(images.shape[0], -1, -1).clone()


GOOD_ROWS = [[10.0, 10.0, 40.0, 100.0, 0.9, 0.0], [11.0, 10.0, 41.0, 100.0, 0.8, 0.0],
             [50.0, 50.0, 90.0, 70.0, 0.2, 1.0]]


def scripted(module: nn.Module, tmp_path, name: str = "model.pt") -> bytes:
    path = tmp_path / name
    torch.jit.script(module).save(str(path))
    return path.read_bytes()


def register(client, name: str, model: bytes, config: dict | str = CONFIG):
    return client.post(URL, {"name": name, "model": SimpleUploadedFile("model.pt", model),
                             "config": config if isinstance(config, str) else json.dumps(config)},
                       format="multipart")


@pytest.fixture
def road(db, demo_ontology_document):
    return services.schema_create(name="road", document=demo_ontology_document, author=None)


@pytest.fixture
def street(road):
    video, _ = services.video_get_or_create(user=None, name="street")
    path = worker_video.write_video(media_dir() / "street.avi")
    return services.video_media_register(actor=None, video=video, path=str(path), enqueue=False)


def test_a_registered_detector_runs_in_an_analysis_and_its_labels_are_searchable(
        admin_client, analyst_client, street, tmp_path, django_capture_on_commit_callbacks):
    registered = register(admin_client, "fixed", scripted(FixedBoxes(GOOD_ROWS), tmp_path))
    listed = analyst_client.get(URL).json()
    with django_capture_on_commit_callbacks(execute=True):
        started = analyst_client.post("/api/v1/analyses/", {"video": street.pk, "pipeline": "fixed",
                                                            "params": {"device": "cpu", "batch": 8}}, format="json")
    analysis = analyst_client.get(started.json()["url"]).json()

    assert registered.status_code == 201, registered.content
    body = registered.json()
    assert (body["name"], body["kind"], body["input_size"], body["thresholds"], body["schema"]) == (
        "fixed", "torchscript", [160, 120], {"score": 0.5, "nms_iou": 0.5}, None)
    assert [p["name"] for p in listed] == ["reference", "fixed"]
    assert started.status_code == 202
    assert analysis["status"] == "succeeded", analysis["error"]
    # One pedestrian per frame (its duplicate suppressed, the car under the threshold), one track.
    assert analysis["result"]["by_label"] == {"person": worker_video.FRAMES}
    assert (analysis["result"]["tracks"], analysis["result"]["device"]) == (1, "cpu")
    found = analyst_client.post("/api/v1/search/", {"q": "person"}, format="json").json()
    assert found["counts"]["frames"] == worker_video.FRAMES


def test_the_boxes_are_scaled_back_from_the_input_size(admin_client, street, tmp_path):
    register(admin_client, "fixed", scripted(FixedBoxes(GOOD_ROWS), tmp_path))
    detector = PipelineDetector(Pipeline.objects.get(name="fixed"), device="cpu")
    frame = torch.zeros(worker_video.HEIGHT, worker_video.WIDTH, 3, dtype=torch.uint8).numpy()

    found = detector.detect([frame])

    assert [(d.label, d.box, round(d.score, 2)) for d in found[0]] == [("person", (20.0, 20.0, 80.0, 200.0), 0.9)]


class FiveColumns(nn.Module):
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.zeros(images.shape[0], 3, 5)


class ClassSeven(nn.Module):
    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return [torch.tensor([[1.0, 1.0, 5.0, 5.0, 0.9, 7.0]]) for _ in range(images.shape[0])]


@pytest.mark.parametrize(("model", "config", "path", "message"), [
    (FiveColumns(), CONFIG, "model", "the model's output must be a tensor [1, N, 6] or a list of 1 tensor(s) [N, 6] "
                                     "(x1, y1, x2, y2, score, class); it gave a tensor [1, 3, 5]"),
    (b"not a model at all", CONFIG, "model", "the file is not a TorchScript model torch.jit.load can read"),
    (ClassSeven(), CONFIG, "config.classes", "the model gave class indices [7.0], but classes has 2 names (0 to 1)"),
    (FixedBoxes(GOOD_ROWS), {**CONFIG, "label_map": {"pedestrian": "person"}}, "config.label_map.car",
     "class 'car' (index 1) maps to no ontology label: add it to label_map"),
    (FixedBoxes(GOOD_ROWS), {**CONFIG, "label_map": {"pedestrian": "person", "car": "truck"}}, "config.label_map.car",
     "class 'car' maps to 'truck', which is not an object label of schema road v1 (it has crosswalk, person, sign, "
     "traffic_light, vehicle)"),
    (FixedBoxes(GOOD_ROWS), {**CONFIG, "input_size": [160]}, "config.input_size",
     "input_size must be [width, height], whole numbers from 16 to 4096; got [160]"),
    (FixedBoxes(GOOD_ROWS), {**CONFIG, "thresholds": {"score": 2}}, "config.thresholds.score",
     "thresholds.score must be a number from 0 to 1, got 2"),
    (FixedBoxes(GOOD_ROWS), "{classes", "config", "config is not JSON"),
])
def test_a_bad_detector_is_a_400_that_names_what_is_wrong(admin_client, road, tmp_path, model, config, path,
                                                           message, settings):
    content = model if isinstance(model, bytes) else scripted(model, tmp_path)

    refused = register(admin_client, "bad", content, config)

    assert refused.status_code == 400, refused.content
    assert refused.json()["detail"].startswith(message)
    assert refused.json()["path"] == path
    assert not Pipeline.objects.exists()
    assert list(settings.SCOOP_DATA_DIR.glob("pipelines/*")) == []


def test_names_are_unique_and_only_admins_register_or_delete(admin_client, analyst_client, road, tmp_path):
    model = scripted(FixedBoxes(GOOD_ROWS), tmp_path)
    assert register(admin_client, "fixed", model).status_code == 201

    taken = register(admin_client, "fixed", model)
    reserved = register(admin_client, "reference", model)
    by_analyst = register(analyst_client, "other", model)
    analyst_delete = analyst_client.delete(f"{URL}fixed/")
    deleted = admin_client.delete(f"{URL}fixed/")

    assert (taken.status_code, taken.json()["detail"]) == (409, "a pipeline called 'fixed' exists: delete it first")
    assert reserved.status_code == 400 and reserved.json()["path"] == "name"
    assert (by_analyst.status_code, analyst_delete.status_code, deleted.status_code) == (403, 403, 204)
    assert admin_client.get(f"{URL}fixed/").status_code == 404


@pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA device on this machine: the GPU "
                                                          "path runs where one is present")
def test_a_registered_detector_runs_on_cuda(admin_client, analyst_client, street, tmp_path,
                                           django_capture_on_commit_callbacks):
    register(admin_client, "fixed", scripted(FixedBoxes(GOOD_ROWS), tmp_path))
    with django_capture_on_commit_callbacks(execute=True):
        started = analyst_client.post("/api/v1/analyses/", {"video": street.pk, "pipeline": "fixed"}, format="json")
    analysis = Analysis.objects.get(pk=started.json()["id"])

    assert analysis.status == "succeeded", analysis.error
    assert analysis.result["device"].startswith("cuda")
    assert analysis.result["by_label"] == {"person": worker_video.FRAMES}


def test_the_admin_page_registers_with_the_same_checks(client, django_user_model, road, tmp_path):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "x"))
    model = scripted(FixedBoxes(GOOD_ROWS), tmp_path)
    unmapped = json.dumps({**CONFIG, "label_map": {"pedestrian": "person"}})

    refused = client.post("/admin/indexer/pipeline/add/", {
        "name": "fixed", "model_file": SimpleUploadedFile("m.pt", model), "config": unmapped})
    added = client.post("/admin/indexer/pipeline/add/", {
        "name": "fixed", "model_file": SimpleUploadedFile("m.pt", model), "config": json.dumps(CONFIG)})

    assert refused.status_code == 200
    assert "class &#x27;car&#x27; (index 1) maps to no ontology label" in refused.content.decode()
    assert added.status_code == 302
    pipeline = Pipeline.objects.get(name="fixed")
    assert (pipeline.classes, pipeline.created_by.username) == (["pedestrian", "car"], "root")
