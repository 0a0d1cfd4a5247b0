"""How long a review's new state takes to show in a search: the DuckDB engine in this process,
or (``--server``) the whole way through a real server.

    python -m bench.review [--sizes 1000,5000] [--fill 10] [--repeat 10]
    python -m bench.review --server [--sizes 1000,5000] [--repeat 10]

A vote that changes an item's state queues ``video_reindex_task``, which reads the video's
payload again, validates it as it reads, lays the review states over it (:mod:`indexer.overlays`) and
writes that one video (a new segment; the rest of the index is not rewritten). This program
times that path for a generated ETA video of each size, on an index that also holds
``--fill`` other videos of 5,000 detections: the re-index (read, validate, overlay, write,
merges it made due) and the search after it (counts, the ``review`` facet), each state
change confirming a few more tracks. The review states come from memory here; in the server
they are one query on the review items of the video. Not counted: the vote's own request
and commit, and the task queue's pickup (the embedded worker wakes when a task is queued;
a Redis broker delivers at once). Prints p50 and max of wall and CPU seconds.

``--server`` measures it all: a fresh data dir, each video ingested from its file
(``manage.py ingest_file``), ``manage.py serve`` as ``make run`` starts it, a campaign over
each video's vehicles, then ``--repeat`` admin decisions (``confirmed``; a decisive vote
changes the state the same way), each timed from its request until a search's ``review``
facet (in tracks) counts it. Wall seconds only: p50 and max.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import free_port, issue_token, manage, percentile, serve, wait_for_port
from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from indexer.facets import parse_filters
from indexer.formats import read_analytics
from indexer.ontology import with_review
from indexer.overlays import Review, VideoReviews, review_source_register, reviewed
from indexer.query import compile_query
from indexer.search.contract import SearchRequest
from indexer.search.duckdb import SearchBackend
from indexer.validation import checked_records

OBJECTS_PER_FRAME = 10
FILL_VIDEO = 5_000
ONTOLOGY = with_review(DEFAULT_ONTOLOGY)
CONFIRMED = SearchRequest(ontology=ONTOLOGY, query=compile_query(query={"and": []}, ontology=ONTOLOGY),
                          filters=parse_filters({"review": ["confirmed"]}, ONTOLOGY), facets=["review"], page_size=1)


def reindex(engine: SearchBackend, video_id: int, path: Path) -> None:
    """What ``indexer.services.video_reindex`` does for a file's video: read, validate, overlay, write."""
    checked = checked_records(read_analytics(path, format="eta"), DEFAULT_ONTOLOGY, mode="filter").analytics
    engine.index_video(video_id=video_id, name=f"video-{video_id}", analytics=reviewed(video_id, checked))
    while engine.merge():
        pass


def run_size(detections: int, fill: int, repeat: int, work: Path) -> dict:
    frames = max(1, detections // OBJECTS_PER_FRAME)
    video = write_eta_video(work / f"video-{detections}.json", frames=frames, objects_per_frame=OBJECTS_PER_FRAME,
                            seed=2)
    filler = write_eta_video(work / "fill.json", frames=FILL_VIDEO // OBJECTS_PER_FRAME,
                             objects_per_frame=OBJECTS_PER_FRAME, seed=1).path
    engine = SearchBackend(data_dir=str(work / f"index-{detections}"))
    for video_id in range(2, fill + 2):
        reindex(engine, video_id, filler)
    reviews = VideoReviews()
    review_source_register(lambda video_id: reviews if video_id == 1 else VideoReviews())
    reindex(engine, 1, video.path)
    timings = {"reindex_wall": [], "reindex_cpu": [], "search_wall": [], "search_cpu": []}
    for change in range(1, repeat + 1):
        for track in range(1, change * 3 + 1):  # a vote confirms three more tracks
            reviews.tracks[str(track)] = Review("confirmed")
        wall, cpu = time.perf_counter(), time.process_time()
        reindex(engine, 1, video.path)
        timings["reindex_wall"].append(time.perf_counter() - wall)
        timings["reindex_cpu"].append(time.process_time() - cpu)
        wall, cpu = time.perf_counter(), time.process_time()
        answer = engine.search(request=CONFIRMED)
        timings["search_wall"].append(time.perf_counter() - wall)
        timings["search_cpu"].append(time.process_time() - cpu)
        confirmed = answer.facets["review"]["confirmed"]
    return {"detections": video.objects, "fill_videos": fill, "changes": repeat, "confirmed_at_end": confirmed,
            **{f"{name}_p50_s": round(statistics.median(values), 3) for name, values in timings.items()},
            **{f"{name}_max_s": round(percentile(values, 1.0), 3) for name, values in timings.items()}}


def _call(port: int, token: str, path: str, body: dict | None = None, method: str | None = None) -> bytes:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers={
        "Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def _confirmed_tracks(port: int, token: str, video: str) -> int:
    answer = json.loads(_call(port, token, "/api/v1/search/", {
        "schema": "bench", "q": f'video.name="{video}"', "facets": ["review"], "facet_unit": "tracks",
        "page_size": 1}))
    return answer["facets"]["review"]["confirmed"]


def run_server(sizes: list[int], repeat: int, work: Path) -> list[dict]:
    """Decision to facet, through ``manage.py serve``, for a video of each size."""
    data_dir = work / "data"
    data_dir.mkdir()
    manage(data_dir, "migrate")
    manage(data_dir, "shell", "-c", "from bench.review import ONTOLOGY_DOCUMENT; from indexer.services import "
           "schema_create; schema_create(name='bench', document=ONTOLOGY_DOCUMENT, author=None)")
    for size in sizes:
        path = write_eta_video(work / f"v{size}.json", frames=max(1, size // OBJECTS_PER_FRAME),
                               objects_per_frame=OBJECTS_PER_FRAME, seed=2).path
        manage(data_dir, "ingest_file", str(path), "--video", f"v{size}", "--schema", "bench", "--format", "eta",
               "--mode", "filter")
    admin, analyst = issue_token(data_dir, "bench-admin", "admin"), issue_token(data_dir, "bench-analyst", "analyst")
    port = free_port()
    server = serve(data_dir, port, SCOOP_THROTTLE_SEARCH="1000000/minute", SCOOP_THROTTLE_API="1000000/minute")
    rows = []
    try:
        wait_for_port(port)
        for size in sizes:
            campaign = json.loads(_call(port, admin, "/api/v1/review/campaigns/", {
                "name": f"v{size}", "schema": "bench", "q": f'vehicle AND video.name="v{size}"', "unit": "tracks",
                "question": "A vehicle?"}))
            export = _call(port, admin, f"/api/v1/review/campaigns/{campaign['id']}/export/?format=csv").decode()
            items = [int(row["item"]) for row in csv.DictReader(io.StringIO(export))][:repeat]
            delays = []
            for done, item in enumerate(items, start=1):
                started = time.perf_counter()
                _call(port, admin, f"/api/v1/review/items/{item}/decision/", {"state": "confirmed"}, method="PUT")
                while _confirmed_tracks(port, analyst, f"v{size}") < done:
                    time.sleep(0.01)
                delays.append(time.perf_counter() - started)
            rows.append({"detections": size, "changes": len(delays),
                         "decision_to_facet_p50_s": round(statistics.median(delays), 3),
                         "decision_to_facet_max_s": round(percentile(delays, 1.0), 3)})
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rows


ONTOLOGY_DOCUMENT = DEFAULT_ONTOLOGY.to_document()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000", help="detections of the reviewed video, comma-separated")
    parser.add_argument("--fill", type=int, default=10, help="other videos of 5,000 detections in the index")
    parser.add_argument("--repeat", type=int, default=10, help="state changes timed per size")
    parser.add_argument("--server", action="store_true", help="through manage.py serve, decision to facet")
    args = parser.parse_args()
    sizes = [int(part) for part in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="scoop-bench-review-") as work:
        if args.server:
            for row in run_server(sizes, args.repeat, Path(work)):
                print(json.dumps(row))
            return
        for size in sizes:
            print(json.dumps(run_size(size, args.fill, args.repeat, Path(work))))


if __name__ == "__main__":
    main()
