"""Live streaming ingest: live videos, chunks of ETA frame lines, idempotent appends."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.formats.eta_stream import stream_records
from indexer.formats.stream import StreamContext
from indexer.live import live_append
from indexer.models import LabelSchema, Video
from indexer.ontology import parse_schema_document
from indexer.payloads import PayloadError
from indexer.query import compile_query
from indexer.records import Analytics, VideoMeta
from indexer.search import get_search_backend
from indexer.search.contract import SearchRequest
from indexer.search.duckdb import SearchBackend as DuckDBBackend
from indexer.search.reference import SearchBackend as ReferenceBackend
from indexer.selectors import search_request
from tests.conftest import _client_for
from tests.samples import sample

FPS = 10.0
EXAMPLES = max(1, int(os.environ.get("SCOOP_HYPOTHESIS_EXAMPLES", "200")) // 10)  # each example writes DuckDB often
QUERIES = ["", "vehicle(color=red)", "person", "road_type=urban AND NOT person", "event:hard_brake"]


def cat(name: str, value) -> dict:
    kind = "Boolean" if isinstance(value, bool) else "Categorical"
    return {"type": f"eta.core.data.{kind}Attribute", "name": name, "value": value}


def detection(label: str, track: int | None, **attrs) -> dict:
    item = {"label": label, "confidence": 0.9,
            "bounding_box": {"top_left": {"x": 0.1, "y": 0.2}, "bottom_right": {"x": 0.3, "y": 0.5}},
            "attrs": {"attrs": [cat(name, value) for name, value in attrs.items()]}}
    if track is not None:
        item["index"] = track
    return item


def frame(n: int, *objects: dict, road: str = "urban", events: tuple[str, ...] = ()) -> dict:
    return {"frame_number": n, "attrs": {"attrs": [cat("road_type", road)]}, "objects": {"objects": list(objects)},
            "events": {"events": [{"label": label, "index": 1} for label in events]}}


def sample_frames() -> list[dict]:
    """Two stretches of red sedans (track 1 spans both), a person in a few frames, a braking event."""
    frames = []
    for n in [*range(1, 16), *range(31, 41)]:
        objects = [detection("vehicle", 1, color="red", type="sedan")]
        if n % 4 == 0:
            objects.append(detection("person", 2 if n < 20 else 3))
        if n % 5 == 0:
            objects.append(detection("vehicle", None, color="white", type="suv"))
        frames.append(frame(n, *objects, road="urban" if n < 35 else "highway",
                            events=("hard_brake",) if 10 <= n <= 12 else ()))
    return frames


def ndjson(frames: list[dict]) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in frames)


@pytest.fixture
def demo_schema(admin_client, demo_ontology_document):
    response = admin_client.post("/api/v1/schemas/", {"name": "demo", "schema": demo_ontology_document},
                                 format="json")
    assert response.status_code == 201
    return response.json()


def start_live(client, name: str = "cam-live", **fields):
    body = {"name": name, "live": True, "fps": FPS, "width": 1280, "height": 720, "schema": "demo", **fields}
    return client.post("/api/v1/videos/", body, format="json")


@pytest.fixture
def live_video(worker_client, demo_schema) -> dict:
    response = start_live(worker_client)
    assert response.status_code == 201, response.content
    return response.json()


def send(client, video_id: int, frames: list[dict] | bytes, **params):
    body = frames if isinstance(frames, bytes) else ndjson(frames)
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return client.post(f"/api/v1/videos/{video_id}/stream/" + (f"?{query}" if query else ""), body,
                       content_type="application/x-ndjson")


def search(client, q: str = "") -> dict:
    response = client.post("/api/v1/search/", {"q": q, "page_size": 100, "facets": ["label"]}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def shape(answer: dict) -> dict:
    """A search answer without what names the video (ids differ between videos)."""
    clips = [{key: clip[key] for key in ("start_s", "end_s", "start_frame", "end_frame", "frames")}
             for clip in answer["clips"]]
    return {"counts": answer["counts"], "facets": answer["facets"], "clips": clips}


def spool_lines(video_id: int) -> list[dict]:
    path = Path(Video.objects.get(pk=video_id).payload_path)
    return [json.loads(line) for line in path.read_text().splitlines()]


# Creating, ending, roles ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_worker_starts_a_live_video_indexed_empty(worker_client, analyst_client, demo_schema):
    response = start_live(worker_client, recorded_at="2026-03-02T08:00:00")

    assert response.status_code == 201
    body = response.json()
    assert body["live"] is True
    assert body["fps"] == FPS
    assert body["format"] == "eta"
    assert body["mode"] == "strict"
    assert body["stream"] == f"/api/v1/videos/{body['id']}/stream/"
    assert body["counts"] == {"frames": 0, "objects": 0, "tracks": 0, "events": 0}
    video = analyst_client.get(f"/api/v1/videos/{body['id']}/").json()
    assert video["live"] is True
    assert video["recorded_at"] == "2026-03-02T08:00:00Z"
    assert search(analyst_client)["counts"]["videos"] == 0


@pytest.mark.django_db
def test_live_video_needs_fps_and_a_known_format(worker_client, demo_schema):
    no_fps = worker_client.post("/api/v1/videos/", {"name": "x", "live": True}, format="json")
    bad_format = start_live(worker_client, format="mjpeg")

    assert no_fps.status_code == 400
    assert no_fps.json()["problems"] == [{"path": "fps", "message": "a live video needs its frame rate"}]
    assert bad_format.status_code == 400
    assert "unknown stream format 'mjpeg'" in bad_format.json()["detail"]
    assert not Video.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("user", "role", "expected"), [
    ("anon", "anonymous", 401), ("ann", "analyst", 403), ("wes", "worker", 200), ("otto", "worker", 403),
    ("ada", "admin", 200)])
def test_roles_on_the_stream(live_video, user, role, expected):
    # wes started the stream: it is his; another worker (otto) may not append to it.
    client = _client_for(None, user, None if role == "anonymous" else role)

    response = send(client, live_video["id"], [frame(1, detection("vehicle", 1, color="red"))])

    assert response.status_code == expected, response.content
    assert Video.objects.get(pk=live_video["id"]).counts["frames"] == (1 if expected == 200 else 0)


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "expected"), [("anonymous", 401), ("analyst", 403), ("worker", 201),
                                                ("admin", 201)])
def test_roles_on_starting_a_live_video(demo_schema, role, expected):
    client = _client_for(None, f"user-{role}", None if role == "anonymous" else role)

    assert start_live(client).status_code == expected


@pytest.mark.django_db
@pytest.mark.parametrize(("user", "role", "expected"), [
    ("anon", "anonymous", 401), ("ann", "analyst", 403), ("wes", "worker", 200), ("otto", "worker", 403),
    ("ada", "admin", 200)])
def test_roles_on_ending_a_live_video(live_video, user, role, expected):
    client = _client_for(None, user, None if role == "anonymous" else role)

    response = client.patch(f"/api/v1/videos/{live_video['id']}/", {"live": False}, format="json")

    assert response.status_code == expected
    assert Video.objects.get(pk=live_video["id"]).live is (expected != 200)


@pytest.mark.django_db
def test_an_ended_stream_refuses_chunks_until_resumed(worker_client, live_video):
    video_id = live_video["id"]
    assert worker_client.patch(f"/api/v1/videos/{video_id}/", {"live": False}, format="json").json()["live"] is False

    refused = send(worker_client, video_id, [frame(1)])
    resumed = worker_client.patch(f"/api/v1/videos/{video_id}/", {"live": True}, format="json")
    accepted = send(worker_client, video_id, [frame(1)])

    assert refused.status_code == 409
    assert "is not live" in refused.json()["detail"]
    assert resumed.status_code == 200
    assert accepted.status_code == 200
    assert accepted.json()["appended"]["frames"] == 1


@pytest.mark.django_db
def test_a_video_ingested_from_a_file_cannot_become_live(worker_client, demo_schema,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        worker_client.post("/api/v1/ingest/", {"video": "filed", "analytics": batch_payload(sample_frames()[:2])},
                           format="json")

    response = start_live(worker_client, name="filed")
    stream = send(worker_client, Video.objects.get(name="filed").pk, [frame(3)])

    assert response.status_code == 409
    assert "ingested from a file" in response.json()["detail"]
    assert stream.status_code == 409


# Appending -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_chunk_is_appended_and_counted(worker_client, analyst_client, live_video):
    frames = sample_frames()[:15]

    response = send(worker_client, live_video["id"], frames)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["lines"] == 15
    assert body["appended"] == {"frames": 15, "objects": 15 + 3 + 3, "tracks": 2, "events": 3}
    assert body["duplicates"] == {"frames": 0, "objects": 0}
    assert body["counts"] == {"frames": 15, "objects": 21, "tracks": 2, "events": 3}
    answer = search(analyst_client, "vehicle(color=red)")
    assert answer["counts"]["frames"] == 15
    assert answer["counts"]["clips"] == 1
    assert answer["clips"][0]["live"] is True
    assert answer["clips"][0]["start_s"] == 0.0
    assert answer["clips"][0]["end_s"] == 1.5
    assert len(spool_lines(live_video["id"])) == 15


@pytest.mark.django_db
def test_a_resent_chunk_changes_nothing(worker_client, analyst_client, live_video):
    frames = sample_frames()[:10]
    send(worker_client, live_video["id"], frames)
    before = {q: search(analyst_client, q) for q in QUERIES}

    again = send(worker_client, live_video["id"], frames)

    assert again.status_code == 200
    assert again.json()["appended"] == {"frames": 0, "objects": 0, "tracks": 0, "events": 0}
    assert again.json()["duplicates"] == {"frames": 10, "objects": 10 + 2 + 2}
    assert {q: search(analyst_client, q) for q in QUERIES} == before
    assert len(spool_lines(live_video["id"])) == 10


@pytest.mark.django_db
def test_a_chunk_sent_while_its_video_was_deleted_is_refused_and_leaves_nothing(worker_client, admin_client,
                                                                               live_video):
    send(worker_client, live_video["id"], sample_frames()[:5])
    video = Video.objects.select_related("schema").get(pk=live_video["id"])  # as the chunk's request read it
    spool = Path(video.payload_path)
    assert admin_client.delete(f"/api/v1/videos/{video.pk}/").status_code == 200

    with pytest.raises(PayloadError) as refused:
        live_append(video=video, body=ndjson(sample_frames()[5:10]), actor=None)

    assert (refused.value.status, refused.value.message) == (
        404, "video 'cam-live' was deleted while this chunk was sent; nothing was appended")
    assert get_search_backend().video_ids() == []
    assert not spool.exists()


@pytest.mark.django_db
def test_a_chunk_overlapping_indexed_frames_adds_only_the_new_ones(worker_client, live_video):
    frames = sample_frames()
    send(worker_client, live_video["id"], frames[:10])

    response = send(worker_client, live_video["id"], frames[5:15])

    assert response.json()["appended"]["frames"] == 5
    assert response.json()["duplicates"]["frames"] == 5
    assert [line["frame_number"] for line in spool_lines(live_video["id"])] == list(range(1, 16))


def batch_payload(frames: list[dict]) -> dict:
    return {"metadata": {"frame_rate": FPS, "frame_size": [1280, 720]},
            "frames": {str(item["frame_number"]): item for item in frames}}


@pytest.mark.django_db
def test_out_of_order_chunks_give_what_a_batch_ingest_gives(worker_client, analyst_client, demo_schema,
                                                           django_capture_on_commit_callbacks):
    frames = sample_frames()
    in_order = start_live(worker_client, name="in-order").json()
    for start in range(0, len(frames), 5):
        send(worker_client, in_order["id"], frames[start:start + 5])
    expected = {q: shape(search(analyst_client, q)) for q in QUERIES}
    # The same frames in chunks sent backwards, each chunk shuffled, one chunk sent twice.
    out_of_order = start_live(worker_client, name="out-of-order").json()
    worker_client.patch(f"/api/v1/videos/{in_order['id']}/", {"live": False}, format="json")
    chunks = [frames[start:start + 5][::-1] for start in range(0, len(frames), 5)][::-1]
    for chunk in [*chunks, chunks[1]]:
        assert send(worker_client, out_of_order["id"], chunk).status_code == 200
    video_ids = [in_order["id"], out_of_order["id"]]

    for q in QUERIES:
        both = search(analyst_client, q)
        for video_id in video_ids:
            only = [clip for clip in both["clips"] if clip["video"] == video_id]
            assert [{k: c[k] for k in ("start_s", "end_s", "frames")} for c in only] == [
                {k: c[k] for k in ("start_s", "end_s", "frames")} for c in expected[q]["clips"]], q
    Video.objects.filter(pk__in=video_ids).delete()
    call_command("rebuild_index")
    with django_capture_on_commit_callbacks(execute=True):
        job = worker_client.post("/api/v1/ingest/", {"video": "batch", "analytics": batch_payload(frames)},
                                 format="json").json()
    assert worker_client.get(job["url"]).json()["status"] == "succeeded"
    assert {q: shape(search(analyst_client, q)) for q in QUERIES} == expected


@pytest.mark.django_db
def test_search_sees_an_append_within_two_seconds(worker_client, analyst_client, live_video):
    send(worker_client, live_video["id"], sample_frames()[:5])

    assert send(worker_client, live_video["id"], sample_frames()[5:15]).status_code == 200
    deadline = time.monotonic() + 2.0
    while search(analyst_client, "vehicle")["counts"]["frames"] != 15:
        assert time.monotonic() < deadline, "the appended frames were not searchable within 2 s"
        time.sleep(0.05)
    stats = analyst_client.post("/api/v1/stats/occurrence/", {"q": "vehicle", "unit": "frames",
                                                              "facets": ["label"]}, format="json")
    assert stats.status_code == 200
    assert stats.json()["counts"]["label"]["vehicle"] == 15


@pytest.mark.django_db
def test_rebuild_index_keeps_the_live_video(worker_client, analyst_client, live_video):
    frames = sample_frames()
    send(worker_client, live_video["id"], frames[10:])
    send(worker_client, live_video["id"], frames[:12])
    before = {q: search(analyst_client, q) for q in QUERIES}

    call_command("rebuild_index")

    assert {q: search(analyst_client, q) for q in QUERIES} == before
    assert before[""]["counts"]["frames"] == 25
    after = send(worker_client, live_video["id"], frames[:3])
    assert after.json()["duplicates"]["frames"] == 3


# Refusals ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_strict_refuses_the_whole_chunk_naming_every_line(worker_client, analyst_client, live_video):
    frames = sample_frames()[:4]
    frames[1]["objects"]["objects"].append(detection("spaceship", 9))
    frames[3]["objects"]["objects"][0]["attrs"]["attrs"].append(cat("parked", "maybe"))

    response = send(worker_client, live_video["id"], frames)

    assert response.status_code == 400
    body = response.json()
    assert "nothing was appended" in body["detail"]
    assert [(problem["line"], problem["path"]) for problem in body["problems"]] == [
        (2, "line 2.objects.objects[1]"),
        (4, "line 4.objects.objects[0].attrs.attrs[2]"),
    ]
    assert "unknown object label 'spaceship'" in body["problems"][0]["message"]
    assert "parked" in body["problems"][1]["message"]
    assert search(analyst_client)["counts"]["frames"] == 0
    assert spool_lines(live_video["id"]) == []
    assert Video.objects.get(pk=live_video["id"]).counts["frames"] == 0


@pytest.mark.django_db
def test_filter_mode_drops_and_reports(worker_client, analyst_client, live_video):
    frames = sample_frames()[:4]
    frames[1]["objects"]["objects"].append(detection("spaceship", 9))

    response = send(worker_client, live_video["id"], frames, mode="filter")

    assert response.status_code == 200
    body = response.json()
    assert body["mode"] == "filter"
    assert body["appended"]["frames"] == 4
    assert body["appended"]["objects"] == 4 + 1
    assert body["dropped"] == {"objects": 1}
    assert body["violation_count"] == 1
    assert body["violations"][0]["line"] == 2
    assert search(analyst_client, "*")["counts"]["objects"] == 5


@pytest.mark.django_db
def test_a_malformed_line_is_a_400_naming_it(worker_client, analyst_client, live_video):
    body = ndjson(sample_frames()[:1]) + b'{"frame_number": 2, "objects": \n' + ndjson(sample_frames()[2:3])

    response = send(worker_client, live_video["id"], body)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("line 2: malformed JSON")
    assert response.json()["path"] == "line 2"
    assert search(analyst_client)["counts"]["frames"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("line", "message"), [
    ({"objects": {"objects": []}}, "line 1.frame_number: frame_number must be a whole number >= 1"),
    ({"frame_number": 0}, "line 1.frame_number: frame_number must be a whole number >= 1"),
    ([1, 2], "line 1: an ETA frame line must be a JSON object"),
    ({"frame_number": 1, "objects": {"objects": [{"confidence": 1}]}},
     "line 1.objects.objects[0]: the object has no label"),
])
def test_an_unreadable_line_is_a_400_naming_it(worker_client, live_video, line, message):
    response = send(worker_client, live_video["id"], json.dumps(line).encode())

    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)


@pytest.mark.django_db
def test_constant_track_attributes_are_refused(worker_client, live_video):
    item = detection("vehicle", 4, color="red")
    item["attrs"]["attrs"].append({**cat("make", "Ford"), "constant": True})

    response = send(worker_client, live_video["id"], [frame(1), frame(2, item)])

    assert response.status_code == 400
    assert response.json()["path"] == "line 2.objects.objects[0]"
    assert "constant attributes of track '4' are not taken in a live stream" in response.json()["detail"]


@pytest.mark.django_db
def test_empty_chunks_and_other_content_types_are_refused(worker_client, live_video):
    empty = send(worker_client, live_video["id"], b"\n\n")
    form = worker_client.post(f"/api/v1/videos/{live_video['id']}/stream/", {"a": "b"})
    unknown = send(worker_client, live_video["id"], [frame(1)], stream_format="mjpeg")

    assert empty.status_code == 400
    assert "holds no messages" in empty.json()["detail"]
    assert form.status_code == 415
    assert unknown.status_code == 400
    assert "unknown stream format 'mjpeg'" in unknown.json()["detail"]


# Backends ------------------------------------------------------------------------------------------


def chunk_analytics(frames: list[dict]) -> Analytics:
    items = list(enumerate(frames, start=1))
    return Analytics.from_list(format="eta", meta=VideoMeta(fps=FPS),
                               records=stream_records(items, context=StreamContext(fps=FPS)))


@pytest.mark.django_db
def test_reference_and_duckdb_append_alike(demo_schema, tmp_path):
    schema = LabelSchema.objects.get(pk=demo_schema["id"])
    engines = {"reference": ReferenceBackend(), "duckdb": DuckDBBackend(tmp_path / "duck")}
    frames = sample_frames()
    chunks = [frames[12:20], frames[:14], frames[12:20], frames[20:], []]
    outcomes = {name: [] for name in engines}
    answers = {name: [] for name in engines}
    for chunk in chunks:
        for name, engine in engines.items():
            result = engine.append_frames(video_id=7, name="cam", analytics=chunk_analytics(chunk))
            outcomes[name].append(result)
            answers[name].append([engine.search(request=search_request(schema=schema, q=q, page_size=100))
                                  for q in QUERIES])

    assert outcomes["duckdb"] == outcomes["reference"]
    assert answers["duckdb"] == answers["reference"]
    added = [result.appended for result in outcomes["reference"]]
    assert [sum(getattr(counts, key) for counts in added) for key in ("frames", "objects", "tracks", "events")] == [
        25, 25 + 6 + 5, 3, 3]
    assert [result.duplicate_frames for result in outcomes["reference"]] == [0, 2, 8, 0, 0]
    assert outcomes["reference"][1].indices == list(range(0, 12))


@pytest.mark.django_db
def test_backends_refuse_track_records(tmp_path):
    item = detection("vehicle", 4)
    item["attrs"]["attrs"].append({**cat("make", "Ford"), "constant": True})
    for engine in (ReferenceBackend(), DuckDBBackend(tmp_path / "duck")):
        with pytest.raises(ValueError, match="track"):
            engine.append_frames(video_id=1, name="cam", analytics=chunk_analytics([frame(1, item)]))
        assert engine.video_ids() == []


DEMO_ONTOLOGY = parse_schema_document(json.loads((Path(__file__).resolve().parents[2] / "fixtures" /
                                                  "demo_ontology.json").read_text()))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(min_value=1, max_value=24), max_size=6, unique=True),
       order=st.randoms(use_true_random=False), resent=st.integers(min_value=0, max_value=6))
def test_any_order_of_chunks_gives_the_reference_numbers(cuts, order, resent):
    frames = sample_frames()
    bounds = [0, *sorted(cuts), len(frames)]
    chunks = [frames[start:end] for start, end in zip(bounds, bounds[1:], strict=False)]
    order.shuffle(chunks)
    chunks.append(chunks[resent % len(chunks)])  # one chunk sent twice
    with tempfile.TemporaryDirectory() as directory:
        engines = [ReferenceBackend(), DuckDBBackend(directory)]
        results = [[engine.append_frames(video_id=3, name="cam", analytics=chunk_analytics(chunk))
                    for chunk in chunks] for engine in engines]
        requests = [SearchRequest(ontology=DEMO_ONTOLOGY, query=compile_query(query=None, q=q, ontology=DEMO_ONTOLOGY),
                                  page_size=100) for q in QUERIES]
        answers = [[engine.search(request=request) for request in requests] for engine in engines]
        engines[1].close()

    assert results[1] == results[0]
    assert answers[1] == answers[0]
    assert sum(result.appended.frames for result in results[0]) == len(frames)
    assert results[0][-1].appended.frames == 0


@pytest.mark.django_db
def test_a_deepstream_stream_is_read_with_the_live_videos_clock(worker_client, analyst_client, demo_schema):
    ndjson = sample("deepstream_minimal.ndjson")
    video = start_live(worker_client, name="ds", fps=30, recorded_at="2026-03-02T08:00:00Z",
                       format="deepstream", mode="filter").json()

    response = send(worker_client, video["id"], ndjson.read_bytes())
    again = send(worker_client, video["id"], ndjson.read_bytes())

    assert response.status_code == 200, response.content
    assert response.json()["lines"] == 3
    assert response.json()["appended"]["frames"] == 3
    assert again.json()["appended"]["frames"] == 0
    assert again.json()["duplicates"]["frames"] == 3
    assert search(analyst_client, "video.name=ds")["counts"]["frames"] == 3


@pytest.mark.django_db
def test_a_track_id_longer_than_an_index_takes_is_a_400_naming_its_path(worker_client, analyst_client, live_video):
    frames = sample_frames()[:2]
    frames[1]["objects"]["objects"][0]["index"] = "7" * 32_767  # one byte over Lucene's longest term

    response = send(worker_client, live_video["id"], frames)

    assert response.status_code == 400
    (problem,) = response.json()["problems"]
    assert (problem["line"], problem["path"]) == (2, "line 2.objects.objects[0]")
    assert "track id is 32767 bytes long in UTF-8; the longest an index takes is 32766" in problem["message"]
    assert search(analyst_client)["counts"]["frames"] == 0
