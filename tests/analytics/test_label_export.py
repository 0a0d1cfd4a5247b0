"""Label exports (docs/api/exports.md): round trips through the lossless formats (ETA, CVAT,
MOTChallenge) on generated corpora give the same counts, facets and clips; the other
formats hold what the search matched."""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from analytics.models import ExportJob
from analytics.tasks import exports_expire_task
from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from indexer.formats import detect_format, read_analytics
from indexer.models import Video
from indexer.records import ObjectRecord
from indexer.search import get_search_backend
from tests.conftest import _client_for

pytestmark = pytest.mark.django_db

QUERIES = [None, "vehicle", "person", "vehicle AND person"]


@pytest.fixture
def schema(admin_client):
    answer = admin_client.post("/api/v1/schemas/", {"name": "gen", "schema": DEFAULT_ONTOLOGY.to_document()},
                               format="json")
    assert answer.status_code == 201, answer.content


def ingest(client, capture, name: str, content: bytes, filename: str, *, format: str, options: dict | None = None,
           seqinfo: bytes | None = None) -> None:
    body = {"file": SimpleUploadedFile(filename, content), "video": name, "schema": "gen", "format": format,
            "options": json.dumps(options or {})}
    if seqinfo is not None:
        body["seqinfo"] = SimpleUploadedFile("seqinfo.ini", seqinfo)
    with capture(execute=True):
        answer = client.post("/api/v1/ingest/", body, format="multipart")
    assert answer.status_code == 202, answer.content
    job = client.get(answer.json()["url"]).json()
    assert job["status"] == "succeeded", job


def searched(client, q: str | None) -> dict:
    params = {"schema": "gen", "page_size": 500, "gap_s": 0.5}
    if q:
        params["q"] = q
    answer = client.post("/api/v1/search/", params, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    names = dict(Video.objects.values_list("pk", "name"))
    clips = [(names[clip["video"]] if isinstance(clip["video"], int) else clip["video"]["name"],
              round(clip["start_s"], 6), round(clip["end_s"], 6), clip["start_frame"], clip["end_frame"],
              clip["frames"]) for clip in body["clips"]]
    return {"counts": body["counts"], "facets": body["facets"], "clips": sorted(clips)}


def everything(client) -> dict:
    return {q: searched(client, q) for q in QUERIES}


def export(client, **params) -> tuple[str, bytes]:
    answer = client.get("/api/v1/export/labels", {"schema": "gen", **params})
    assert answer.status_code == 200, answer.content
    assert answer.streaming
    return answer["Content-Disposition"], b"".join(answer.streaming_content)


def delete_all(admin_client) -> None:
    for pk in list(Video.objects.values_list("pk", flat=True)):
        assert admin_client.delete(f"/api/v1/videos/{pk}/").status_code == 200


def test_eta_round_trip_gives_the_same_counts_facets_and_clips(
        schema, admin_client, worker_client, analyst_client, tmp_path, django_capture_on_commit_callbacks):
    for seed in range(3):
        path = write_eta_video(tmp_path / f"cam-{seed}.json", frames=40, objects_per_frame=3, seed=seed).path
        ingest(worker_client, django_capture_on_commit_callbacks, f"cam-{seed}", path.read_bytes(), "a.json",
               format="eta")
    before = everything(analyst_client)
    assert before[None]["counts"]["objects"] == 3 * 40 * 3 and before[None]["counts"]["videos"] == 3

    disposition, body = export(analyst_client, format="eta")

    assert "scoop-labels.eta.zip" in disposition
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert sorted(archive.namelist()) == ["cam-0.json", "cam-1.json", "cam-2.json"]
    delete_all(admin_client)
    assert searched(analyst_client, None)["counts"]["objects"] == 0
    for name in archive.namelist():
        ingest(worker_client, django_capture_on_commit_callbacks, name[:-5], archive.read(name), name, format="eta")
    assert everything(analyst_client) == before


def _cvat_video(seed: int) -> bytes:
    rng = random.Random(seed)
    tracks = []
    for ident in range(4):
        label = rng.choice(["vehicle", "person"])
        start = rng.randrange(0, 20)
        boxes = []
        for frame in range(start, start + rng.randrange(3, 15)):
            x, y = rng.uniform(0, 500), rng.uniform(0, 300)
            attrs = (f'<attribute name="color">{rng.choice(["red", "blue", "white"])}</attribute>'
                     if label == "vehicle" else "")
            boxes.append(f'<box frame="{frame}" outside="0" occluded="0" keyframe="1" xtl="{x:.2f}" ytl="{y:.2f}" '
                         f'xbr="{x + 40:.2f}" ybr="{y + 30:.2f}">{attrs}</box>')
        tracks.append(f'<track id="{ident}" label="{label}">{"".join(boxes)}</track>')
    return ('<?xml version="1.0"?><annotations><version>1.1</version><meta><task><name>t</name>'
            '<labels><label><name>vehicle</name><attributes><attribute><name>color</name><mutable>True</mutable>'
            '<input_type>select</input_type></attribute></attributes></label><label><name>person</name>'
            '</label></labels><original_size><width>640</width><height>480</height></original_size></task>'
            f'</meta>{"".join(tracks)}</annotations>').encode()


def test_cvat_round_trip_gives_the_same_counts_facets_and_clips(
        schema, admin_client, worker_client, analyst_client, django_capture_on_commit_callbacks):
    for seed in range(3):
        ingest(worker_client, django_capture_on_commit_callbacks, f"cvat-{seed}", _cvat_video(seed), "a.xml",
               format="cvat", options={"fps": 10})
    before = everything(analyst_client)
    assert before[None]["counts"]["videos"] == 3 and before["person"]["counts"]["objects"] > 0

    _disposition, body = export(analyst_client, format="cvat")

    archive = zipfile.ZipFile(io.BytesIO(body))
    assert sorted(archive.namelist()) == ["cvat-0.xml", "cvat-1.xml", "cvat-2.xml"]
    delete_all(admin_client)
    for name in archive.namelist():
        ingest(worker_client, django_capture_on_commit_callbacks, name[:-4], archive.read(name), name,
               format="cvat", options={"fps": 10})
    assert everything(analyst_client) == before


def _mot_video(seed: int) -> bytes:
    rng = random.Random(seed)
    rows = []
    for frame in range(1, 31):
        for ident in range(1, 4):
            if rng.random() < 0.7:
                rows.append((frame, ident, rng.uniform(0, 600), rng.uniform(0, 400), 50.0, 80.0, 1,
                             1 if ident < 3 else 3, 1.0))
        if rng.random() < 0.2:
            rows.append((frame, -1, 10.0, 10.0, 5.0, 5.0, 1, 1, 1.0))
    return "".join(",".join(str(value) for value in row) + "\n" for row in rows).encode()


MOT_SEQINFO = b"[Sequence]\nname=seq\nframeRate=25\nseqLength=30\nimWidth=960\nimHeight=540\n"
MOT_CLASSES = {"1": "person", "3": "vehicle"}


def test_mot_round_trip_gives_the_same_counts_facets_and_clips(
        schema, admin_client, worker_client, analyst_client, django_capture_on_commit_callbacks):
    for seed in range(3):
        ingest(worker_client, django_capture_on_commit_callbacks, f"mot-{seed}", _mot_video(seed), "gt.txt",
               format="motchallenge", options={"classes": MOT_CLASSES}, seqinfo=MOT_SEQINFO)
    before = everything(analyst_client)
    assert before[None]["counts"]["videos"] == 3 and before["vehicle"]["counts"]["objects"] > 0

    _disposition, body = export(analyst_client, format="mot")

    archive = zipfile.ZipFile(io.BytesIO(body))
    assert "mot-0/gt/gt.txt" in archive.namelist() and "mot-0/seqinfo.ini" in archive.namelist()
    classes = json.loads(archive.read("mot-0/classes.json"))
    assert sorted(classes.values()) == ["person", "vehicle"]
    assert "frameRate=25.0" in archive.read("mot-0/seqinfo.ini").decode()
    delete_all(admin_client)
    for seed in range(3):
        folder = f"mot-{seed}"
        ingest(worker_client, django_capture_on_commit_callbacks, folder, archive.read(f"{folder}/gt/gt.txt"),
               "gt.txt", format="motchallenge", options={"classes": json.loads(archive.read(f"{folder}/classes.json"))},
               seqinfo=archive.read(f"{folder}/seqinfo.ini"))
    assert everything(analyst_client) == before


@pytest.fixture
def eta_corpus(schema, worker_client, tmp_path, django_capture_on_commit_callbacks):
    """cam-0: 20 frames of 3 vehicles, the first 7 on a highway, the others at an intersection;
    cam-1: 20 frames of 2 vehicles and a person, all at an intersection."""
    for name, seed in (("cam-0", 1), ("cam-1", 3)):
        path = write_eta_video(tmp_path / f"{name}.json", frames=20, objects_per_frame=3, seed=seed).path
        ingest(worker_client, django_capture_on_commit_callbacks, name, path.read_bytes(), "a.json", format="eta")


def test_a_query_exports_only_its_matching_frames(eta_corpus, analyst_client):
    filters = json.dumps({"frame:scene": ["highway"]})
    found = searched(analyst_client, None)
    assert found["counts"]["frames"] == 40

    _disposition, body = export(analyst_client, format="coco", filters=filters)

    coco = json.loads(body)
    assert [(image["video_id"], image["frame_index"]) for image in coco["images"]] == [(1, index) for index in range(7)]
    assert [video["name"] for video in coco["videos"]] == ["cam-0"]
    assert len(coco["annotations"]) == 7 * 3
    assert [category["name"] for category in coco["categories"]] == ["vehicle", "person"]
    assert {item["category_id"] for item in coco["annotations"]} == {1}
    assert all(item["attributes"]["review"] == "unreviewed" and item["track_id"] is not None
               and item["bbox"][2] > 0 for item in coco["annotations"])
    assert {image["id"] for image in coco["images"]} == {item["image_id"] for item in coco["annotations"]}


def test_one_video_in_eta_is_a_plain_file(eta_corpus, analyst_client):
    disposition, body = export(analyst_client, format="eta", query=json.dumps({"video": {"name": ["cam-1"]}}))

    assert 'filename="cam-1.json"' in disposition
    assert json.loads(body)["metadata"]["frame_rate"] > 0


def test_selected_clips_export_only_their_frames(eta_corpus, analyst_client):
    video = Video.objects.get(name="cam-0").pk
    clips = json.dumps([{"video": video, "start_s": 0.0, "end_s": 0.3}])
    _disposition, body = export(analyst_client, format="csv", scope="clips", clips=clips)

    archive = zipfile.ZipFile(io.BytesIO(body))
    detections = list(csv.DictReader(io.StringIO(archive.read("detections.csv").decode())))
    fps = 1 / float(detections[1]["t"]) if float(detections[1]["t"]) else None
    frames = sorted({int(row["frame"]) for row in detections})
    assert {row["video_name"] for row in detections} == {"cam-0"}
    assert frames and all(int(row["frame"]) / (fps or 1) < 0.3 + 1e-9 for row in detections if fps)
    clips_rows = list(csv.DictReader(io.StringIO(archive.read("clips.csv").decode())))
    assert clips_rows and {row["video_name"] for row in clips_rows} == {"cam-0"}
    assert archive.read("events.csv").decode().startswith("video,video_name,label,start_frame")


def test_bad_export_fields_are_400s_naming_the_field(eta_corpus, analyst_client):
    answer = analyst_client.get("/api/v1/export/labels", {"format": "shapefile"})
    assert answer.status_code == 400 and "format" in answer.json()["detail"] or "format" in answer.content.decode()
    answer = analyst_client.get("/api/v1/export/labels", {"format": "eta", "scope": "clips"})
    assert answer.status_code == 400 and "clips" in answer.content.decode()


def test_a_large_export_is_refused_as_a_download(eta_corpus, analyst_client, settings):
    settings.SCOOP_EXPORT_STREAM_MAX = 10

    answer = analyst_client.get("/api/v1/export/labels", {"format": "eta"})

    assert answer.status_code == 413
    assert "/api/v1/exports/" in answer.json()["detail"] and "120 detections" in answer.json()["detail"]


def test_a_large_export_runs_as_a_job_with_progress(eta_corpus, analyst_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer = analyst_client.post("/api/v1/exports/", {"schema": "gen", "format": "cvat"}, format="json")

    assert answer.status_code == 202, answer.content
    job = analyst_client.get(answer["Location"]).json()
    assert (job["status"], job["progress"], job["videos"], job["videos_done"], job["detections"]) == (
        "succeeded", 1.0, 2, 2, 120)
    assert job["filename"] == "scoop-labels.cvat.zip"
    download = analyst_client.get(job["file"])
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert sorted(archive.namelist()) == ["cam-0.xml", "cam-1.xml"]
    assert archive.read("cam-0.xml").count(b"<box ") == 60


def test_an_export_job_and_its_file_are_deleted_once_kept_their_days(eta_corpus, analyst_client, settings,
                                                                     django_capture_on_commit_callbacks):
    settings.SCOOP_EXPORT_KEEP_DAYS = 7
    with django_capture_on_commit_callbacks(execute=True):
        old, new = (analyst_client.post("/api/v1/exports/", {"schema": "gen", "format": "eta"}, format="json")
                    for _ in range(2))
    ExportJob.objects.filter(pk=old["Location"].split("/")[-2]).update(
        finished_at=timezone.now() - timedelta(days=7, minutes=1))
    folders = Path(settings.SCOOP_DATA_DIR) / "exports"
    assert len(list(folders.iterdir())) == 2

    assert exports_expire_task() == 1

    assert analyst_client.get(old["Location"]).status_code == 404
    kept = analyst_client.get(new["Location"]).json()
    assert kept["status"] == "succeeded" and analyst_client.get(kept["file"]).status_code == 200
    assert [folder.name for folder in folders.iterdir()] == [new["Location"].split("/")[-2]]


def test_an_export_job_is_its_creators(eta_corpus, analyst_client, django_user_model,
                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        answer = analyst_client.post("/api/v1/exports/", {"schema": "gen", "format": "eta"}, format="json")
    other = _client_for(django_user_model, "someone", "analyst")

    assert other.get(answer["Location"]).status_code == 404
    queued = analyst_client.get(answer["Location"]).json()
    assert queued["status"] == "queued" and queued["file"] is None
    refused = analyst_client.get(f"{answer['Location']}file")
    assert refused.status_code == 409 and "queued" in refused.json()["detail"]


def test_a_bad_query_is_refused_before_any_job(eta_corpus, analyst_client):
    answer = analyst_client.post("/api/v1/exports/", {"schema": "gen", "format": "eta", "q": "vehicle(colour=red)"},
                                 format="json")

    assert answer.status_code == 400 and "colour" in answer.json()["detail"]


@pytest.mark.parametrize("layout", ["json", "csv", "xml"])
def test_camio_download_reads_back_frame_by_frame(eta_corpus, analyst_client, tmp_path, layout):
    disposition, body = export(analyst_client, format="camio", layout=layout, q="person")

    assert f"scoop-labels.camio.{layout}" in disposition
    path = tmp_path / f"download.{layout}"
    path.write_bytes(body)
    assert detect_format(path) == "camio"
    video = Video.objects.get(name="cam-1")
    analytics = read_analytics(path, options={"camera": "cam-1", "fps": video.fps,
                                              "origin": video.recorded_at.isoformat()})
    read_back = [(record.index, record.label) for record in analytics.records() if isinstance(record, ObjectRecord)]
    frames = get_search_backend().frame_labels(video_id=video.pk, start_s=0, end_s=None,
                                               request=None)
    person_frames = {frame["index"] for frame in frames if any(obj["label"] == "person" for obj in frame["objects"])}
    expected = [(frame["index"], obj["label"]) for frame in frames if frame["index"] in person_frames
                for obj in frame["objects"]]
    assert expected and sorted(read_back) == sorted(expected)


def test_csv_export_neutralises_formulas(schema, worker_client, analyst_client, tmp_path,
                                         django_capture_on_commit_callbacks):
    name = '=HYPERLINK("http://evil.example/","x")'
    path = write_eta_video(tmp_path / "v.json", frames=3, objects_per_frame=1, seed=1).path
    ingest(worker_client, django_capture_on_commit_callbacks, name, path.read_bytes(), "a.json", format="eta")

    _disposition, body = export(analyst_client, format="csv")

    archive = zipfile.ZipFile(io.BytesIO(body))
    detections = list(csv.DictReader(io.StringIO(archive.read("detections.csv").decode())))
    clips = list(csv.DictReader(io.StringIO(archive.read("clips.csv").decode())))
    assert [row["video_name"] for row in detections] == ["'" + name] * 3
    assert [(row["video_name"], row["frames"]) for row in clips] == [("'" + name, "3")]
    assert detections[0]["attr.review"] == "unreviewed" and detections[0]["x1"].startswith("0.")
