"""The reference worker's CLI end to end: analyse the synthetic street video,
upload it and its labels to a live Scoop, and find what it drew by searching."""

from __future__ import annotations

import json

import pytest
import torch

from scoop_client import ScoopClient
from scoop_worker.__main__ import main
from scoop_worker.publish import schema_document
from tests.live_scoop import demo_ontology
from tests.scoop_worker import worker_video

pytestmark = pytest.mark.django_db(transaction=True)
FPS = worker_video.FPS


def _span(frames: range) -> str:
    """The text query for the video time of ``frames``."""
    return f"time={frames.start / FPS:g}..{(frames.stop - 1) / FPS:g}"


@pytest.fixture
def scoop(live_scoop):
    ScoopClient(live_scoop.url, live_scoop.admin).schema_upload(name="road", document=demo_ontology())
    return live_scoop


def test_the_worker_finds_what_the_video_shows_and_search_finds_it(scoop, tmp_path, capsys):
    video = worker_video.write_video(tmp_path / "street.avi")
    output = tmp_path / "labels.json"
    status = main([str(video), "--url", scoop.url, "--token", scoop.worker, "--video-name", "street",
                   "--schema", "road", "--upload-media", "--batch", "8", "--device", "cpu", "--output", str(output)])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert f"analysed {worker_video.FRAMES} frames in" in printed.out and "frames/s on cpu" in printed.out
    assert "ingested as video" in printed.out and "0 label(s) dropped" in printed.out

    analyst = ScoopClient(scoop.url, scoop.analyst)
    frames = lambda q: analyst.search(q=q)["counts"]["frames"]  # noqa: E731

    # The people: the standing one in (nearly) every frame, the walker in (nearly) every frame it is drawn in.
    labels = json.loads(output.read_text())
    people = [o for f in labels["frames"].values() for o in f["objects"]["objects"] if o["label"] == "person"]
    drawn = len(worker_video.STANDING_FRAMES) + len(worker_video.WALKER_FRAMES)
    assert drawn - 3 <= len(people) <= drawn
    assert sum(o["name"] == "hog" for o in people) >= 0.9 * len(people)  # HOG found them, not the motion rule
    assert frames("person") >= len(worker_video.STANDING_FRAMES) - 2
    people_in = lambda q, unit: analyst.occurrence(q=q, unit=unit, facets=["label"])["counts"]["label"]["person"]  # noqa: E731
    walking = people_in(f"person AND {_span(worker_video.WALKER_FRAMES)}", "objects")
    assert 2 * len(worker_video.WALKER_FRAMES) - 2 <= walking <= 2 * len(worker_video.WALKER_FRAMES)
    assert people_in("person", "tracks") == 2
    # Before anything moves only the standing person is there, whom only HOG can see.
    before = f"time=0..{(worker_video.WALKER_FRAMES.start - 1) / FPS:g}"
    assert frames(f"person AND {before}") == worker_video.WALKER_FRAMES.start
    assert frames(f"vehicle AND {before}") == 0
    # The red car, one track; the blue one.
    red = analyst.search(q="vehicle(color=red)")["counts"]
    assert red["frames"] >= len(worker_video.RED_FRAMES) - 2
    tracks = analyst.occurrence(q="vehicle", unit="tracks", facets=["object:vehicle.color"])["counts"]
    assert {color: n for color, n in tracks["object:vehicle.color"].items() if n} == {"red": 1, "blue": 1}
    assert frames(f"vehicle(color=red) AND {_span(worker_video.RED_FRAMES)}") == red["frames"]
    assert frames("vehicle(color=blue)") >= len(worker_video.BLUE_FRAMES) - 2
    assert frames(f"vehicle(color=blue) AND {_span(worker_video.BLUE_FRAMES)}") == frames("vehicle(color=blue)")
    assert frames("vehicle(color=green|yellow|black|white)") == 0
    assert frames("person AND vehicle(color=red)") > 0  # they overlap in time

    info = ScoopClient(scoop.url, scoop.analyst).video(analyst.search(q="person")["clips"][0]["video"])
    assert (info["name"], info["media_status"], info["counts"]["frames"]) == ("street", "ready", frames("*"))
    first = next(iter(labels["frames"].values()))["objects"]["objects"][0]
    assert len(first["embedding"]) == 192


def test_a_user_torchscript_detector_from_the_command_line(tmp_path, capsys):
    class Fixed(torch.nn.Module):
        def forward(self, images: torch.Tensor) -> torch.Tensor:
            box = torch.tensor([[[10.0, 20.0, 110.0, 80.0, 0.9, 1.0]]])
            return box.repeat(images.shape[0], 1, 1)

    model = tmp_path / "fixed.pt"
    torch.jit.save(torch.jit.script(Fixed()), str(model))
    output = tmp_path / "labels.json"
    video = worker_video.write_video(tmp_path / "street.avi")
    status = main([str(video), "--detector", str(model), "--detector-labels", "person,vehicle", "--no-motion",
                   "--no-hog", "--batch", "5", "--no-embed", "--output", str(output)])
    assert status == 0, capsys.readouterr().err
    labels = json.loads(output.read_text())
    assert len(labels["frames"]) == worker_video.FRAMES
    objects = [o for frame in labels["frames"].values() for o in frame["objects"]["objects"]]
    assert {(o["label"], o["index"], o["name"]) for o in objects} == {("vehicle", 1, "fixed")}
    assert objects[0]["bounding_box"] == {"top_left": {"x": 10 / 320, "y": round(20 / 240, 5)},
                                          "bottom_right": {"x": 110 / 320, "y": round(80 / 240, 5)}}


def test_hog_alone_from_the_command_line_finds_only_the_people(tmp_path, capsys):
    output = tmp_path / "labels.json"
    video = worker_video.write_video(tmp_path / "street.avi")
    status = main([str(video), "--no-motion", "--no-embed", "--hog-width", "0", "--output", str(output)])
    assert status == 0, capsys.readouterr().err
    objects = [o for f in json.loads(output.read_text())["frames"].values() for o in f["objects"]["objects"]]
    assert {(o["label"], o["name"]) for o in objects} == {("person", "hog")}
    assert len(objects) >= 0.9 * (len(worker_video.STANDING_FRAMES) + len(worker_video.WALKER_FRAMES))
    with pytest.raises(SystemExit) as stop:
        main([str(video), "--no-motion", "--no-hog"])
    assert stop.value.code == 2 and "nothing to run" in capsys.readouterr().err


def test_an_unknown_schema_is_reported_before_any_work(scoop, tmp_path, capsys):
    video = worker_video.write_video(tmp_path / "street.avi")
    status = main([str(video), "--url", scoop.url, "--token", scoop.worker, "--schema", "nope"])
    assert status == 1
    assert "schema 'nope' is not on the server (known: road)" in capsys.readouterr().err


def test_without_a_schema_the_worker_labels_against_the_servers_default(scoop):
    admin, worker = ScoopClient(scoop.url, scoop.admin), ScoopClient(scoop.url, scoop.worker)
    admin.schema_upload(name="retail", document={"objects": {"schema": {"shelf": {"label": "shelf"}}}})

    first, _ = schema_document(worker, None)
    admin.schema_default_set(name="retail")
    chosen, document = schema_document(worker, None)

    assert first == "road:1"
    assert (chosen, list(document["objects"]["schema"])) == ("retail:1", ["shelf"])


def test_a_wrong_token_is_reported(scoop, tmp_path, capsys):
    video = worker_video.write_video(tmp_path / "street.avi")
    assert main([str(video), "--url", scoop.url, "--token", "wrong"]) == 1
    assert "401: Invalid token." in capsys.readouterr().err


def test_a_missing_video_exits_with_status_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing.avi"), "--output", str(tmp_path / "labels.json")]) == 2
    assert f"error: no video file at {tmp_path / 'missing.avi'}" in capsys.readouterr().err
