"""Watches and alerts (docs/api/alerts.md): a watched saved search alerts on what new writes add,
one alert per clip, a growing live clip updated in place; checked against a search of the whole
video after the writes."""

from __future__ import annotations

import os
import uuid

import environ
import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import watches
from analytics.apps import EVALUATION_QUEUED
from analytics.models import Alert
from indexer.models import Video
from indexer.search import engine_settings, get_search_backend, search_backend
from indexer.search.contract import BaseSearchBackend
from tests.conftest import _client_for
from tests.indexer.test_live_stream import FPS, demo_schema, detection, frame, send, start_live  # noqa: F401

EXAMPLES = max(1, int(os.environ.get("SCOOP_HYPOTHESIS_EXAMPLES", "200")) // 20)  # each example streams many chunks
RED = "vehicle(color=red)"


def red(n: int) -> dict:
    return frame(n, detection("vehicle", 1, color="red", type="sedan"))


def white(n: int) -> dict:
    return frame(n, detection("vehicle", 2, color="white", type="suv"))


@pytest.fixture
def ann(demo_schema):  # noqa: F811
    return _client_for(None, "ann", "analyst")


def watched(client, q: str = RED, gap_s: float = 1.0, name: str = "red cars", **watch) -> tuple[int, int]:
    """A saved search of ``q`` and its watch: (saved search id, watch id)."""
    saved = client.post("/api/v1/searches/", {"name": name, "q": q, "gap_s": gap_s}, format="json")
    assert saved.status_code == 201, saved.content
    answer = client.post(f"/api/v1/searches/{saved.json()['id']}/watch/", watch, format="json")
    assert answer.status_code == 201, answer.content
    return saved.json()["id"], answer.json()["id"]


def alerts(client, **params) -> list[tuple[float, float, int]]:
    answer = client.get("/api/v1/alerts/", params)
    assert answer.status_code == 200, answer.content
    return sorted((alert["start_s"], alert["end_s"], alert["first_frame"]) for alert in answer.json()["alerts"])


def clips(client, q: str, gap_s: float, video: str) -> list[tuple[float, float, int]]:
    answer = client.post("/api/v1/search/", {"q": f"({q}) AND video.name={video}", "gap_s": gap_s, "page_size": 500,
                                             "facets": []}, format="json")
    assert answer.status_code == 200, answer.content
    return sorted((clip["start_s"], clip["end_s"], clip["start_frame"]) for clip in answer.json()["clips"])


def live(worker, name: str = "cam-1") -> int:
    started = start_live(worker, name)
    assert started.status_code == 201, started.content
    return started.json()["id"]


def test_a_growing_live_clip_is_one_alert_whose_end_moves(ann, worker_client):
    watched(ann)
    video = live(worker_client)

    send(worker_client, video, [red(n) for n in range(1, 6)])
    first = alerts(ann)
    send(worker_client, video, [red(n) for n in range(6, 11)])
    grown = alerts(ann)
    send(worker_client, video, [white(n) for n in range(11, 31)] + [red(n) for n in range(31, 34)])

    assert first == [(0.0, 0.5, 0)]
    assert grown == [(0.0, 1.0, 0)]
    assert alerts(ann) == [(0.0, 1.0, 0), (3.0, 3.3, 30)] == clips(ann, RED, 1.0, "cam-1")


def test_only_clips_lasting_min_duration_alert_and_a_short_one_alerts_once_it_grows(ann, worker_client):
    watched(ann, min_duration_s=0.8)
    video = live(worker_client)

    send(worker_client, video, [red(n) for n in range(1, 5)] + [white(n) for n in range(5, 21)])
    short = alerts(ann)
    send(worker_client, video, [red(n) for n in range(21, 25)])
    send(worker_client, video, [red(n) for n in range(25, 29)])

    assert short == []
    assert alerts(ann) == [(2.0, 2.8, 20)]


def test_cooldown_keeps_further_clips_of_the_video_quiet(ann, worker_client):
    watched(ann, gap_s=0.0, cooldown_s=3600)
    video, other = live(worker_client), live(worker_client, "cam-2")

    send(worker_client, video, [red(1), white(2), red(3), white(4), red(5)])
    send(worker_client, other, [red(1)])

    assert [(alert.video.name, alert.start_s) for alert in Alert.objects.order_by("video__name", "start_s")] == [
        ("cam-1", 0.0), ("cam-2", 0.0)]


def test_a_chunk_that_fills_a_hole_joins_two_clips_into_one_alert(ann, worker_client):
    watched(ann, gap_s=0.1)
    video = live(worker_client)

    send(worker_client, video, [red(n) for n in range(1, 4)])
    send(worker_client, video, [red(n) for n in range(7, 10)])
    two = alerts(ann)
    send(worker_client, video, [red(n) for n in range(4, 7)])

    assert two == [(0.0, 0.3, 0), (0.6, 0.9, 6)]
    assert alerts(ann) == [(0.0, 0.9, 0)] == clips(ann, RED, 0.1, "cam-1")


def test_an_ingested_video_alerts_each_clip_and_data_before_the_watch_never_does(ann, worker_client,
                                                                                 django_capture_on_commit_callbacks):
    before = live(worker_client, "cam-0")
    send(worker_client, before, [red(n) for n in range(1, 4)])
    watched(ann, gap_s=0.1)
    payload = {"metadata": {"frame_rate": FPS}, "frames": {str(n): red(n) if n in (1, 2, 5) else white(n)
                                                           for n in range(1, 7)}}

    with django_capture_on_commit_callbacks(execute=True):
        job = worker_client.post("/api/v1/ingest/", {"video": "file-1", "schema": "demo", "analytics": payload},
                                 format="json")

    assert job.status_code == 202, job.content
    assert [(alert.video.name, alert.start_s, alert.end_s) for alert in Alert.objects.order_by("start_s")] == [
        ("file-1", 0.0, 0.2), ("file-1", 0.4, 0.5)]


@pytest.fixture
def worker(demo_schema):  # noqa: F811
    return _client_for(None, "wes", "worker")


@pytest.fixture(params=["reference", "duckdb"])
def engine(request, settings):
    """The property on each engine of this machine (the Elasticsearch engine answers the same
    searches: tests/indexer/search/test_conformance.py)."""
    settings.SCOOP_SEARCH_BACKEND = engine_settings(request.param, env=environ.Env(),
                                                    values={"SCOOP_DATA_DIR": str(settings.SCOOP_DATA_DIR)})
    search_backend.cache_clear()
    yield request.param
    search_backend.cache_clear()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(pattern=st.lists(st.booleans(), min_size=1, max_size=40),
       cuts=st.lists(st.integers(min_value=1, max_value=39), max_size=6),
       gap_s=st.sampled_from([0.0, 0.15, 0.35]), min_duration_s=st.sampled_from([0.0, 0.25]),
       reverse=st.booleans())
def test_alerts_are_the_clips_of_a_search_after_the_writes(engine, ann, worker, pattern, cuts, gap_s, min_duration_s,
                                                            reverse):
    """Whatever the chunks and their order: one alert per clip of the whole video lasting
    min_duration_s, with the clip's bounds. Each example streams a video of its own to a watch of
    its own, and ends the watch."""
    name = f"cam-{uuid.uuid4().hex[:8]}"
    saved, watch = watched(ann, name=name, gap_s=gap_s, min_duration_s=min_duration_s)
    video = live(worker, name)
    frames = [red(n) if matches else white(n) for n, matches in enumerate(pattern, start=1)]
    bounds = sorted({0, *[cut for cut in cuts if cut < len(frames)], len(frames)})
    chunks = [frames[start:end] for start, end in zip(bounds, bounds[1:], strict=False)]
    for chunk in reversed(chunks) if reverse else chunks:
        assert send(worker, video, chunk).status_code == 200

    expected = [clip for clip in clips(ann, RED, gap_s, name) if clip[1] - clip[0] >= min_duration_s - 1e-6]
    assert alerts(ann, watch=watch) == expected
    assert ann.delete(f"/api/v1/searches/{saved}/watch/").status_code == 204


def test_one_evaluation_takes_the_writes_of_many_streams_at_once(ann, worker_client, settings):
    """Writes gather (as SCOOP_WATCH_BATCH_S lets them on a server): one evaluation of the watch
    then alerts on all of them, as one evaluation per write would."""
    watched(ann, gap_s=0.1)
    cameras = [live(worker_client, f"cam-{n}") for n in range(1, 4)]
    settings.SCOOP_WATCH_BATCH_S = 3600
    cache.add(EVALUATION_QUEUED, True, timeout=3600)  # as if an evaluation were queued, not run yet
    for n, camera in enumerate(cameras):
        send(worker_client, camera, [red(f) for f in range(1, 3 + n)])
    send(worker_client, cameras[0], [white(3), red(4)])
    gathered = watches.writes_take()
    made = watches.watches_evaluate(writes=gathered)
    cache.delete(EVALUATION_QUEUED)

    assert {Video.objects.get(pk=video).name: (span.start_t, span.end_t) for video, span in gathered.items()} == {
        "cam-1": (0.0, 0.3), "cam-2": (0.0, 0.2), "cam-3": (0.0, 0.3)}
    assert sorted((alert.video.name, round(alert.start_s, 6), round(alert.end_s, 6)) for alert in made) == [
        ("cam-1", 0.0, 0.2), ("cam-1", 0.3, 0.4), ("cam-2", 0.0, 0.3), ("cam-3", 0.0, 0.4)]
    assert watches.writes_take() == {}


def test_a_whole_video_write_takes_in_the_spans_of_its_chunks(ann, worker_client):
    watched(ann)
    camera = live(worker_client)
    watches.writes_take()
    watches.writes_record(video_id=camera, span=watches.Span(1.0, 2.0))
    watches.writes_record(video_id=camera, span=watches.Span())
    watches.writes_record(video_id=camera, span=watches.Span(5.0, 6.0))

    assert watches.writes_take() == {camera: watches.Span()}


QUERIES = [(RED, 0.1, 0.0), ("vehicle AND NOT vehicle(color=red)", 0.0, 0.0), (RED, 0.2, 0.3)]


def _alerts_by_watch() -> dict[str, list[tuple[str, float, float, int]]]:
    found: dict[str, list] = {}
    for alert in Alert.objects.select_related("watch__saved_search", "video"):
        found.setdefault(alert.watch.saved_search.name, []).append(
            (alert.video.name, round(alert.start_s, 6), round(alert.end_s, 6), alert.first_frame))
    return {name: sorted(made) for name, made in found.items()}


def test_the_engines_one_pass_alerts_as_a_search_per_watch_does(ann, worker_client, admin_client, monkeypatch,
                                                                django_capture_on_commit_callbacks):
    """Two watches of each query: every evaluation answers the first of each pair through the
    engine's one pass over the written rows and the second through a search per watch (the
    contract's default). Across chunks that join clips, a chunk that fills a hole, a deleted
    stream and a re-ingested file, each pair gets the same alerts."""
    engine = type(get_search_backend())
    one_pass = engine.written_clips
    assert one_pass is not BaseSearchBackend.written_clips  # DuckDB has a pass of its own

    def split(self, *, requests, written):
        half = len(requests) // 2
        return (one_pass(self, requests=requests[:half], written=written)
                + BaseSearchBackend.written_clips(self, requests=requests[half:], written=written))

    monkeypatch.setattr(engine, "written_clips", split)
    for copy in ("one pass", "per search"):
        for number, (q, gap_s, min_duration_s) in enumerate(QUERIES):
            watched(ann, q, gap_s=gap_s, name=f"{number} {copy}", min_duration_s=min_duration_s)
    camera, doomed = live(worker_client, "cam-1"), live(worker_client, "cam-2")
    for frames in ([red(n) for n in range(1, 4)], [red(n) for n in range(7, 10)] + [white(n) for n in range(10, 13)],
                   [red(n) for n in range(4, 7)]):
        assert send(worker_client, camera, frames).status_code == 200
    assert send(worker_client, doomed, [red(n) for n in range(1, 6)]).status_code == 200
    assert admin_client.delete(f"/api/v1/videos/{doomed}/").status_code == 200
    again = live(worker_client, "cam-2")  # a new stream of the deleted one's name
    assert send(worker_client, again, [white(1)] + [red(n) for n in range(2, 5)]).status_code == 200
    for reds in ((1, 2, 5), (3, 4)):
        payload = {"metadata": {"frame_rate": FPS},
                   "frames": {str(n): red(n) if n in reds else white(n) for n in range(1, 7)}}
        with django_capture_on_commit_callbacks(execute=True):
            job = worker_client.post("/api/v1/ingest/", {"video": "file-1", "schema": "demo", "analytics": payload},
                                     format="json")
        assert job.status_code == 202, job.content

    made = _alerts_by_watch()
    assert made["0 one pass"][:1] == [("cam-1", 0.0, 0.9, 0)]
    # The re-ingest's clip (frames 2-3) joins the two the first ingest alerted (0-1 and 4): one alert.
    assert made["0 one pass"][1:] == [("cam-2", 0.1, 0.4, 1), ("file-1", 0.0, 0.5, 0)]
    assert {video for video, *_ in made["1 one pass"]} == {"cam-1", "cam-2", "file-1"}
    for number in range(len(QUERIES)):
        assert made[f"{number} one pass"] == made[f"{number} per search"], number


def test_a_watch_evaluates_its_saved_search_as_last_changed(ann, worker_client):
    """Watches keep their compiled searches between evaluations, by version: a changed query is used
    from the next write on."""
    saved, _ = watched(ann, gap_s=0.1)
    camera = live(worker_client)
    send(worker_client, camera, [red(1), white(2)])
    changed = ann.put(f"/api/v1/searches/{saved}/", {"q": "vehicle(color=white)"}, format="json")
    assert changed.status_code == 200, changed.content
    send(worker_client, camera, [red(3), white(4), white(5)])

    assert alerts(ann) == [(0.0, 0.1, 0), (0.3, 0.5, 3)]
