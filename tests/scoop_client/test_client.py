"""scoop_client against a live Scoop: uploads, ingest, jobs, search, statistics, errors."""

from __future__ import annotations

import json
import socket

import pytest

from scoop_client import (
    JobFailed,
    JobTimeout,
    ScoopAuthError,
    ScoopBadRequest,
    ScoopClient,
    ScoopConnectionError,
)
from tests.live_scoop import demo_ontology
from tests.scoop_worker import worker_video

pytestmark = pytest.mark.django_db(transaction=True)


def _object(label, track, color=None, x=0.1):
    attrs = [{"type": "eta.core.data.CategoricalAttribute", "name": "color", "value": color}] if color else []
    return {"type": "eta.core.objects.DetectedObject", "label": label, "index": track, "confidence": 0.9,
            "bounding_box": {"top_left": {"x": x, "y": 0.2}, "bottom_right": {"x": x + 0.2, "y": 0.5}},
            "attrs": {"attrs": attrs}}


def _analytics() -> dict:
    """Four frames at 2 fps: a red car in frames 1-2, a person in 1, a blue car in 4, GPS at 1 and 4."""
    frames = {
        "1": [_object("vehicle", 1, "red"), _object("person", 3, x=0.6)],
        "2": [_object("vehicle", 1, "red")],
        "4": [_object("vehicle", 2, "blue")],
    }
    return {
        "metadata": {"frame_rate": 2.0, "total_frame_count": 4, "frame_size": [640, 480], "gps_waypoints": {
            "points": [{"latitude": 37.7749, "longitude": -122.4194, "frame_number": 1},
                       {"latitude": 37.7751, "longitude": -122.4189, "frame_number": 4}]}},
        "frames": {n: {"frame_number": int(n), "objects": {"objects": objs}} for n, objs in frames.items()},
    }


@pytest.fixture
def scoop(live_scoop):
    admin = ScoopClient(live_scoop.url, live_scoop.admin)
    admin.schema_upload(name="road", document=demo_ontology())
    return live_scoop


def test_upload_media_ingest_json_and_file_then_search_and_statistics(scoop, tmp_path):
    worker = ScoopClient(scoop.url, scoop.worker)
    analyst = ScoopClient(scoop.url, scoop.analyst)

    video = worker.video_create(name="cam-1")
    uploaded = worker.media_upload(video["id"], worker_video.write_video(tmp_path / "cam-1.avi"))
    assert uploaded["media_status"] == "probing"
    media = worker.media(video["id"])
    assert (media["media_status"], media["width"], media["height"], media["frame_count"]) == ("ready", 320, 240, 30)

    first = worker.ingest_wait(video="cam-1", analytics=_analytics(), schema="road", timeout=30)
    assert (first["status"], first["video"], first["counts"]) == (
        "succeeded", video["id"], {"frames": 3, "objects": 4, "tracks": 3, "events": 0})
    path = tmp_path / "cam-2.json"
    path.write_text(json.dumps(_analytics()))
    queued = worker.ingest(video="cam-2", analytics=path, schema="road:1", format="eta", mode="strict",
                           options={"fps": 2})
    assert queued["status"] in ("queued", "running", "succeeded") and queued["url"] == f"/api/v1/ingest/{queued['id']}/"
    second = worker.job_wait(queued["id"], timeout=30)
    assert second["counts"]["objects"] == 4 and second["video_name"] == "cam-2"

    red = analyst.search(q="vehicle(color=red)")
    assert red["counts"] == {"videos": 2, "clips": 2, "frames": 4, "objects": 6, "tracks": 4, "duration_s": 2.0}
    tree = {"object": {"label": "vehicle", "attrs": {"color": "red"}}}
    assert analyst.search(query=tree)["counts"] == red["counts"]
    blue = analyst.search(q="vehicle", filters={"object:vehicle.color": ["blue"]}, facets=["object:vehicle.color"])
    assert blue["counts"]["frames"] == 2
    assert blue["facets"]["object:vehicle.color"]["red"] == 4  # disjunctive: its own filter is left out
    page = analyst.search(q="vehicle(color=red)", page=2, page_size=1)
    assert (page["pages"], page["clips"][0]["video_name"]) == (2, "cam-2")
    assert [clip["video_name"] for clip in analyst.search_clips(q="vehicle", page_size=1)] == ["cam-1", "cam-2"]

    occurrence = analyst.occurrence(q="vehicle OR person", unit="frames", facets=["label", "object:vehicle.color"])
    assert occurrence["counts"]["label"]["person"] == 2
    assert occurrence["counts"]["object:vehicle.color"] == {
        "black": 0, "white": 0, "silver": 0, "gray": 0, "red": 4, "blue": 2, "green": 0, "yellow": 0}
    pairs = analyst.cooccurrence(a="label", b="label", scope="frame")
    assert pairs["matrix"][pairs["rows"].index("vehicle")][pairs["cols"].index("person")] == 2
    cells = analyst.geo(bbox=[-122.43, 37.77, -122.41, 37.78], zoom=14, target="frames", q="vehicle")
    assert sum(feature["properties"]["count"] for feature in cells["features"]) == 6
    listed = analyst.videos()
    assert (listed["count"], [v["name"] for v in listed["results"]]) == (2, ["cam-1", "cam-2"])
    timeline = analyst.timeline(q="person", bins=10)
    assert sum(b["count"] for b in timeline["video_time"]["bins"]) == 2


def test_bad_input_raises_with_the_api_error_body(scoop):
    admin = ScoopClient(scoop.url, scoop.admin)
    with pytest.raises(ScoopBadRequest) as refused:
        admin.schema_upload(name="broken", document={"objects": {"schema": {"car": {"label": "car", "attrs": {
            "schema": {"color": {"name": "colour", "type": "eta.core.data.Colour"}}}}}}})
    assert refused.value.status == 400
    assert refused.value.detail == "the schema document has 2 problem(s)"
    assert [problem["path"] for problem in refused.value.problems] == [
        "$.objects.schema.car.attrs.schema.color.name", "$.objects.schema.car.attrs.schema.color.type"]

    worker = ScoopClient(scoop.url, scoop.worker)
    with pytest.raises(ScoopBadRequest) as unknown:
        worker.ingest(video="v", analytics=_analytics(), schema="road", format="mp4")
    assert (unknown.value.status, unknown.value.path) == (400, "format")
    assert unknown.value.detail.startswith("unknown format 'mp4'")
    with pytest.raises(ScoopBadRequest) as no_schema:
        worker.ingest(video="v", analytics=_analytics(), schema="nope")
    assert no_schema.value.path == "schema"

    analyst = ScoopClient(scoop.url, scoop.analyst)
    with pytest.raises(ScoopBadRequest) as query:
        analyst.search(q="vehicle(colour=red)")
    assert "colour" in query.value.detail and "color" in query.value.body["suggestions"]


def test_a_failed_job_raises_job_failed_with_its_violations(scoop):
    worker = ScoopClient(scoop.url, scoop.worker)
    analytics = _analytics()
    analytics["frames"]["1"]["objects"]["objects"].append(_object("unicorn", 9))
    with pytest.raises(JobFailed) as failed:
        worker.ingest_wait(video="v", analytics=analytics, schema="road", mode="strict", timeout=30)
    assert failed.value.job["status"] == "failed" and failed.value.job["violation_count"] == 1
    assert "unicorn" in json.dumps(failed.value.job["violations"])
    filtered = worker.ingest_wait(video="v", analytics=analytics, schema="road", mode="filter", timeout=30)
    assert filtered["counts"]["objects"] == 4 and filtered["violation_count"] == 1


def test_a_job_cancelled_by_a_delete_ends_the_wait(scoop):
    from django.contrib.auth import get_user_model

    from indexer.models import IngestJob, LabelSchema

    job = IngestJob.objects.create(video_name="gone", schema=LabelSchema.objects.get(name="road"), format="eta",
                                   mode="strict", payload_path="/nonexistent", payload_bytes=1,
                                   status=IngestJob.CANCELLED, error="cancelled: video 'gone' was deleted by ada",
                                   created_by=get_user_model().objects.get(username="wes"))
    with pytest.raises(JobFailed, match=f"ingest job {job.id} cancelled: cancelled: video 'gone' was deleted by ada"):
        ScoopClient(scoop.url, scoop.worker).job_wait(str(job.id), timeout=5)


def test_allow_empty_lets_an_empty_payload_replace_a_video(scoop, tmp_path):
    worker = ScoopClient(scoop.url, scoop.worker)
    worker.ingest_wait(video="emptied", analytics=_analytics(), schema="road", timeout=30)
    empty = tmp_path / "empty.json"
    empty.write_text('{"frames": {}}')

    with pytest.raises(JobFailed, match="video 'emptied' has 3 frames and 4 detections; this payload has none"):
        worker.ingest_wait(video="emptied", analytics={"frames": {}}, schema="road", timeout=30)
    as_file = worker.ingest_wait(video="emptied", analytics=empty, schema="road", allow_empty=True, timeout=30)

    assert (as_file["allow_empty"], as_file["counts"]["frames"]) == (True, 0)


def test_job_wait_times_out_on_a_job_that_does_not_end(scoop):
    from django.contrib.auth import get_user_model

    from indexer.models import IngestJob, LabelSchema

    job = IngestJob.objects.create(video_name="stuck", schema=LabelSchema.objects.get(name="road"), format="eta",
                                   mode="strict", payload_path="/nonexistent", payload_bytes=1,
                                   created_by=get_user_model().objects.get(username="wes"))
    with pytest.raises(JobTimeout, match="still queued after 0.3 s"):
        ScoopClient(scoop.url, scoop.worker).job_wait(str(job.id), timeout=0.3, interval=0.1)


def test_missing_wrong_and_underpowered_tokens(scoop):
    with pytest.raises(ScoopAuthError) as wrong:
        ScoopClient(scoop.url, "not-a-token").search(q="vehicle")
    assert (wrong.value.status, wrong.value.detail) == (401, "Invalid token.")
    with pytest.raises(ScoopAuthError) as anonymous:
        ScoopClient(scoop.url).schemas()
    assert anonymous.value.status in (401, 403)
    with pytest.raises(ScoopAuthError) as worker_searching:
        ScoopClient(scoop.url, scoop.worker).search(q="vehicle")
    assert worker_searching.value.status == 403
    with pytest.raises(ScoopAuthError) as analyst_ingesting:
        ScoopClient(scoop.url, scoop.analyst).ingest(video="v", analytics=_analytics())
    assert analyst_ingesting.value.status == 403 and analyst_ingesting.value.detail


def test_an_unreachable_server_is_a_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ScoopConnectionError, match=f"127.0.0.1:{port}"):
        ScoopClient(f"http://127.0.0.1:{port}", "token", timeout=2).schemas()
