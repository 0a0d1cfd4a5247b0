"""Posting analytics: jobs, validation modes, refusals, re-ingest."""

import json

import pytest

from indexer.models import IngestJob, Video
from tests.samples import FORMATS_DIR


def sample(name: str) -> dict | list:
    return json.loads((FORMATS_DIR / name).read_text())


@pytest.fixture
def eta_schema(admin_client):
    response = admin_client.post(
        "/api/v1/schemas/", {"name": "eta", "schema": sample("eta_VideoLabelsSchema.json")}, format="json"
    )
    assert response.status_code == 201
    return response.json()


def post_json(client, capture, **body):
    with capture(execute=True):
        return client.post("/api/v1/ingest/", body, format="json")


def post_file(client, capture, content: bytes, **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("analytics.json", content, content_type="application/json")
    with capture(execute=True):
        return client.post("/api/v1/ingest/", {"file": upload, **fields}, format="multipart")


@pytest.mark.django_db
def test_worker_posts_eta_and_job_succeeds(worker_client, eta_schema, django_capture_on_commit_callbacks):
    response = post_json(
        worker_client, django_capture_on_commit_callbacks, video="dashcam_0001",
        analytics=sample("eta_VideoLabels_framewise.json"),
    )

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    job = worker_client.get(response.json()["url"]).json()
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0
    assert job["counts"] == {"frames": 2, "objects": 2, "tracks": 1, "events": 1}
    assert job["violations"] == []
    video = Video.objects.get(name="dashcam_0001")
    assert job["video"] == video.id
    assert video.fps == 30.0
    assert video.frame_count == 900
    assert (video.width, video.height) == (1280, 720)
    assert video.gps == [[0.0, 37.7749, -122.4194], [1.0, 37.7751, -122.4189]]


@pytest.mark.django_db
def test_multipart_upload_is_accepted(worker_client, eta_schema, django_capture_on_commit_callbacks):
    content = (FORMATS_DIR / "eta_VideoLabels_spatiotemporal.json").read_bytes()

    response = post_file(worker_client, django_capture_on_commit_callbacks, content, video="st", mode="strict")

    assert response.status_code == 202
    job = IngestJob.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.error
    assert job.format == "eta"
    assert job.counts["objects"] == 2
    assert job.counts["tracks"] == 1


@pytest.mark.django_db
def test_strict_mode_rejects_and_reports_every_violation(worker_client, eta_schema, django_capture_on_commit_callbacks):
    analytics = sample("eta_VideoLabels_framewise.json")
    frame1 = analytics["frames"]["1"]
    frame1["objects"]["objects"][0]["label"] = "truck"
    frame1["attrs"]["attrs"][0]["value"] = "desert"
    analytics["frames"]["2"]["objects"]["objects"][0]["attrs"]["attrs"][0]["value"] = "blue"

    response = post_json(worker_client, django_capture_on_commit_callbacks, video="bad", analytics=analytics)

    job = worker_client.get(response.json()["url"]).json()
    assert job["status"] == "failed"
    assert job["violation_count"] == 3
    paths = [v["path"] for v in job["violations"]]
    assert "frames.1.objects.objects[0]" in paths[0] or any("frames.1.objects.objects[0]" in p for p in paths)
    assert any("truck" in v["message"] for v in job["violations"])
    assert any("desert" in v["message"] for v in job["violations"])
    assert any("blue" in v["message"] for v in job["violations"])
    assert "nothing was indexed" in job["error"]
    assert not Video.objects.filter(name="bad").exists()


@pytest.mark.django_db
def test_filter_mode_drops_offending_labels_and_indexes_the_rest(
    worker_client, eta_schema, django_capture_on_commit_callbacks
):
    analytics = sample("eta_VideoLabels_framewise.json")
    analytics["frames"]["1"]["objects"]["objects"][0]["label"] = "truck"

    response = post_json(
        worker_client, django_capture_on_commit_callbacks, video="filtered", analytics=analytics, mode="filter"
    )

    job = worker_client.get(response.json()["url"]).json()
    assert job["status"] == "succeeded"
    assert job["violation_count"] == 1
    assert "truck" in job["violations"][0]["message"]
    assert job["counts"]["objects"] == 1


@pytest.mark.django_db
def test_reingest_replaces_the_video(worker_client, eta_schema, django_capture_on_commit_callbacks):
    full = sample("eta_VideoLabels_framewise.json")
    post_json(worker_client, django_capture_on_commit_callbacks, video="cam", analytics=full)
    smaller = sample("eta_VideoLabels_framewise.json")
    del smaller["frames"]["2"]

    post_json(worker_client, django_capture_on_commit_callbacks, video="cam", analytics=smaller)

    video = Video.objects.get(name="cam")
    assert video.counts == {"frames": 1, "objects": 1, "tracks": 1, "events": 0}
    assert Video.objects.count() == 1


@pytest.mark.django_db
def test_failed_reingest_keeps_the_previous_analytics(
    worker_client, eta_schema, django_capture_on_commit_callbacks
):
    post_json(worker_client, django_capture_on_commit_callbacks, video="cam",
              analytics=sample("eta_VideoLabels_framewise.json"))
    broken = sample("eta_VideoLabels_framewise.json")
    broken["frames"]["1"]["objects"]["objects"][0]["label"] = "truck"

    response = post_json(worker_client, django_capture_on_commit_callbacks, video="cam", analytics=broken)

    assert worker_client.get(response.json()["url"]).json()["status"] == "failed"
    assert Video.objects.get(name="cam").counts["objects"] == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"frames": {"1": {,}}}', "malformed JSON: Expecting property name enclosed in double quotes at line 1"),
        (b'{"frames": {"1": {}}', "malformed JSON"),
        (b"", "the payload is empty"),
        (b'{"hello": "world"}', "format"),
    ],
)
def test_bad_payloads_are_refused_and_nothing_is_stored(
    worker_client, eta_schema, django_capture_on_commit_callbacks, settings, content, message
):
    response = post_file(worker_client, django_capture_on_commit_callbacks, content, video="x")

    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert IngestJob.objects.count() == 0
    assert list((settings.SCOOP_DATA_DIR / "payloads").glob("*")) == []


@pytest.mark.django_db
def test_oversized_payload_gets_413(worker_client, eta_schema, django_capture_on_commit_callbacks, settings):
    settings.SCOOP_INGEST_MAX_BYTES = 100

    response = post_file(
        worker_client, django_capture_on_commit_callbacks,
        (FORMATS_DIR / "eta_VideoLabels_framewise.json").read_bytes(), video="big",
    )

    assert response.status_code == 413
    assert "SCOOP_INGEST_MAX_BYTES" in response.json()["detail"]
    assert IngestJob.objects.count() == 0


@pytest.mark.django_db
def test_wrong_content_type_gets_415(worker_client, eta_schema):
    response = worker_client.post("/api/v1/ingest/", "frames", content_type="text/plain")

    assert response.status_code == 415
    assert "text/plain" in response.json()["detail"]


@pytest.mark.django_db
def test_missing_video_name_and_unknown_mode(worker_client, eta_schema):
    response = worker_client.post("/api/v1/ingest/", {"analytics": {}, "mode": "lenient"}, format="json")

    assert response.status_code == 400
    paths = {p["path"] for p in response.json()["problems"]}
    assert paths == {"video", "mode"}


@pytest.mark.django_db
def test_without_a_schema_ingest_uses_the_default_one_even_when_several_exist(
    worker_client, admin_client, eta_schema, demo_ontology_document
):
    admin_client.post("/api/v1/schemas/", {"name": "road", "schema": demo_ontology_document}, format="json")

    response = worker_client.post(
        "/api/v1/ingest/", {"video": "v", "analytics": sample("eta_VideoLabels_framewise.json")}, format="json"
    )
    unknown = worker_client.post(
        "/api/v1/ingest/",
        {"video": "v", "schema": "raod", "analytics": sample("eta_VideoLabels_framewise.json")},
        format="json",
    )

    assert response.status_code == 202
    assert worker_client.get(response.json()["url"]).json()["schema"] == {
        "id": eta_schema["id"], "name": "eta", "version": 1}
    assert unknown.status_code == 400
    assert unknown.json() == {"detail": "no schema named 'raod' (did you mean 'road'?)", "path": "schema",
                              "suggestions": ["road"]}


@pytest.mark.django_db
def test_workers_see_only_their_own_jobs(
    worker_client, admin_client, eta_schema, django_capture_on_commit_callbacks
):
    from tests.conftest import _client_for

    other = _client_for(None, "otto", "worker")
    mine = post_json(worker_client, django_capture_on_commit_callbacks, video="a",
                     analytics=sample("eta_VideoLabels_framewise.json")).json()
    theirs = post_json(other, django_capture_on_commit_callbacks, video="b",
                       analytics=sample("eta_VideoLabels_framewise.json")).json()

    listed = [job["id"] for job in worker_client.get("/api/v1/ingest/").json()["results"]]
    assert listed == [mine["id"]]
    assert worker_client.get(theirs["url"]).status_code == 404
    assert len(admin_client.get("/api/v1/ingest/").json()["results"]) == 2


# ---- the formats of issue 10: DeepStream, supervision, MOTChallenge, CVAT, Camio ----------------

CAT = "eta.core.data.CategoricalAttribute"


def _categorical(name, *values):
    return {name: {"name": name, "type": CAT, "categories": list(values)}}


STREET_ONTOLOGY = {
    "objects": {"schema": {
        "vehicle": {
            "label": "vehicle",
            "attrs": {"schema": {**_categorical("make", "Bugatti", "Honda"), **_categorical("model", "M"),
                                 **_categorical("license", "XX1234"), **_categorical("licenseState", "CA")}},
            "frames": {"schema": {**_categorical("type", "sedan"), **_categorical("color", "red", "blue"),
                                  "parked": {"name": "parked", "type": "eta.core.data.BooleanAttribute"}}},
        },
        "person": {
            "label": "person",
            "attrs": {"schema": {"age": {"name": "age", "type": "eta.core.data.NumericAttribute",
                                         "range": [0, 120]}}},
            "frames": {"schema": {**_categorical("gender", "male", "female"), **_categorical("hair", "black"),
                                  **_categorical("cap", "none"), **_categorical("apparel", "formal")}},
        },
    }},
    "events": {"schema": {name: {"label": name, "attrs": {"schema": {}}} for name in ("moving", "stopped", "entry")}},
    "display": {"synonyms": {"car": "vehicle", "pedestrian": "person", "static_person": "person"}},
}


@pytest.fixture
def street_schema(admin_client):
    response = admin_client.post("/api/v1/schemas/", {"name": "street", "schema": STREET_ONTOLOGY}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def post_sample(client, capture, name: str, *, content: bytes | None = None, seqinfo: bytes | None = None,
                **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"file": SimpleUploadedFile(name, content if content is not None else (FORMATS_DIR / name).read_bytes())}
    if seqinfo is not None:
        data["seqinfo"] = SimpleUploadedFile("seqinfo.ini", seqinfo)
    if "options" in fields:
        fields["options"] = json.dumps(fields["options"])
    with capture(execute=True):
        return client.post("/api/v1/ingest/", {**data, **fields}, format="multipart")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "options", "expected_format", "counts"),
    [
        ("deepstream_full.json", {"width": 1920, "height": 1080, "fps": 30}, "deepstream",
         {"frames": 4, "objects": 5, "tracks": 1, "events": 3}),
        ("deepstream_minimal.ndjson", {"width": 1920, "height": 1080, "fps": 30}, "deepstream",
         {"frames": 3, "objects": 3, "tracks": 1, "events": 0}),
        ("supervision_jsonsink.json", {"width": 1280, "height": 720, "fps": 10}, "supervision",
         {"frames": 3, "objects": 4, "tracks": 1, "events": 0}),
        ("supervision_csvsink.csv", {"width": 1280, "height": 720, "fps": 10}, "supervision",
         {"frames": 3, "objects": 4, "tracks": 1, "events": 0}),
        ("cvat_video_1_1.xml", {"fps": 30}, "cvat", {"frames": 3, "objects": 4, "tracks": 2, "events": 0}),
        ("camio_labels.json", {"fps": 1}, "camio", {"frames": 3, "objects": 4, "tracks": 0, "events": 0}),
    ],
)
def test_new_formats_are_detected_and_ingested_strictly(
    worker_client, street_schema, django_capture_on_commit_callbacks, name, options, expected_format, counts
):
    response = post_sample(worker_client, django_capture_on_commit_callbacks, name, video="cam",
                           mode="strict", options=options)

    assert response.status_code == 202, response.json()
    job = worker_client.get(response.json()["url"]).json()
    assert job["status"] == "succeeded", job
    assert job["format"] == expected_format
    assert job["counts"] == counts
    assert job["violation_count"] == 0


@pytest.mark.django_db
def test_camio_repairs_are_job_warnings(worker_client, street_schema, django_capture_on_commit_callbacks):
    response = post_sample(worker_client, django_capture_on_commit_callbacks, "camio_labels.json", video="lobby",
                           options={"fps": 1})

    job = worker_client.get(response.json()["url"]).json()
    assert job["status"] == "succeeded", job
    assert len(job["warnings"]) == 10
    assert "repaired a trailing comma (removed) at line 4, column 53" in job["warnings"]
    assert Video.objects.get(name="lobby").camera == "front"


@pytest.mark.django_db
def test_motchallenge_takes_its_seqinfo_as_a_second_part(
    worker_client, street_schema, django_capture_on_commit_callbacks
):
    seqinfo = (FORMATS_DIR / "motchallenge_seqinfo.ini").read_bytes()
    response = post_sample(worker_client, django_capture_on_commit_callbacks, "motchallenge_gt.txt",
                           seqinfo=seqinfo, video="MOT17-02")

    assert response.status_code == 202, response.json()
    job = IngestJob.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.error
    assert job.format == "motchallenge"
    assert job.counts == {"frames": 3, "objects": 4, "tracks": 3, "events": 0}
    assert job.options["seqinfo"].startswith("[Sequence]")
    video = Video.objects.get(name="MOT17-02")
    assert (video.fps, video.frame_count, video.width, video.height) == (30.0, 600, 1920, 1080)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "options", "message"),
    [
        ("broken.ndjson", b'{"@timestamp": "2026-03-02T08:00:00Z", "objects": []}\n{"@timestamp": ,}\n', {},
         "malformed NDJSON: line 2, column 16: Expecting value"),
        ("broken.csv", b"x_min,y_min,x_max,y_max,class_name,frame_index\n1,2,3,4,car,0\n1,2\n",
         {"width": 10, "height": 10}, "malformed CSV: line 3 has 2 fields, the first row has 6"),
        ("broken.xml", b"<annotations>\n  <track id='1' label='car'>\n</annotations>", {},
         "malformed XML at line 3, column 3: mismatched tag"),
        ("broken.json", b'{front: {"2016-01-21T20:38:31Z": ["person" "car"]}}', {},
         "malformed Camio JSON at line 1, column 44: expected ',' or ']'"),
        ("bomb.xml", b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "bb"><!ENTITY c "&b;&b;">]><annotations>&c;'
         b"</annotations>", {}, "refused XML"),
        ("deepstream_full.json", None, {"fps": 30},
         "DeepStream boxes are in pixels: give the frame size as the options width and height"),
        ("supervision_csvsink.csv", None, {"width": 1280, "height": 720, "frame_column": "t"},
         "the rows have no column 't' (options.frame_column)"),
        ("motchallenge_gt.txt", None, {"fps": 30},
         "MOTChallenge needs the sequence's frame rate and frame size: send its seqinfo.ini"),
    ],
)
def test_broken_new_format_payloads_are_refused_at_once(
    worker_client, street_schema, django_capture_on_commit_callbacks, settings, name, content, options, message
):
    response = post_sample(worker_client, django_capture_on_commit_callbacks, name, content=content, video="x",
                           options=options)

    assert response.status_code == 400, response.json()
    assert message in response.json()["detail"]
    assert IngestJob.objects.count() == 0
    assert list((settings.SCOOP_DATA_DIR / "payloads").glob("*")) == []


@pytest.mark.django_db
def test_text_formats_may_come_as_a_string_in_a_json_body(
    worker_client, street_schema, django_capture_on_commit_callbacks
):
    rows = (FORMATS_DIR / "supervision_csvsink.csv").read_text()

    response = post_json(worker_client, django_capture_on_commit_callbacks, video="yard", analytics=rows,
                         options={"width": 1280, "height": 720, "fps": 10})

    assert response.status_code == 202, response.json()
    job = worker_client.get(response.json()["url"]).json()
    assert (job["status"], job["format"], job["counts"]["objects"]) == ("succeeded", "supervision", 4)


@pytest.mark.django_db
def test_xml_is_parsed_in_the_job_and_a_late_fault_fails_it_keeping_the_video(
    worker_client, analyst_client, street_schema, django_capture_on_commit_callbacks, settings
):
    kept = post_sample(worker_client, django_capture_on_commit_callbacks, "cvat_video_1_1.xml", video="gate",
                       options={"fps": 30})
    assert IngestJob.objects.get(pk=kept.json()["id"]).status == "succeeded"
    # past the first 64 KB: the web request reads only the head, the job finds the fault
    broken = (b"<annotations><version>1.1</version><meta><task><original_size><width>100</width><height>100"
              b"</height></original_size></task></meta>" + b"<!-- padding -->" * 8192 + b"\n<track>\n</annotations>")

    response = post_sample(worker_client, django_capture_on_commit_callbacks, "late.xml", content=broken,
                           video="gate", options={"fps": 30})

    assert response.status_code == 202, response.json()
    job = worker_client.get(response.json()["url"]).json()
    assert job["status"] == "failed"
    assert "malformed XML at line 3, column 3: mismatched tag" in job["error"]
    answer = analyst_client.post("/api/v1/search/", {"query": {"video": {"name": "gate"}}}, format="json").json()
    assert {key: answer["counts"][key] for key in ("videos", "frames", "objects")} == {
        "videos": 1, "frames": 3, "objects": 4}
