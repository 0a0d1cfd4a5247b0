"""Many reviewers voting at once while analysts search, through a real server (issue 19's
target: 50 reviewers, p95 <= 300 ms per request, no error, while 20 analysts search).

    python -m bench.review_load [--reviewers 50] [--analysts 20] [--seconds 60] [--videos 10] [--frames 2000]
                                [--think 0]

A fresh data dir gets ``--videos`` generated ETA videos of ``--frames`` frames (10 detections
each; about one track per 16 frames), ingested with ``manage.py ingest_file``; ``manage.py
serve`` starts as ``make run`` starts it (throttles raised: every client here is one user of
a shared machine). An admin creates a campaign over every vehicle track (timed: the
campaign's creation). Then, for ``--seconds``, each reviewer takes a batch of 5 (``GET
.../batch/?size=5``) and answers it (``POST .../votes/``, every item "yes"), over and over,
while each analyst runs searches with facets. ``--think S`` makes them people: a reviewer
watches a batch's clips for about S seconds before voting, an analyst reads an answer for
about S seconds before the next search (each wait drawn between S/2 and 3S/2, and each
person arriving within the first S seconds); with 0
(the default) they ask without a pause, which saturates the server. Two agreeing votes confirm an item, and each
confirmation re-indexes its video in the task worker: that work shares the machine too.

Prints one JSON line: the campaign (items, seconds to create), then per kind of request (batch,
votes, search) how many, how many failed (any status >= 400 but a 410 for a lease that ran
out, and any connection error), and p50, p95 and max wall seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.common import free_port, manage, pause_s, percentile, serve, wait_for_port
from fixtures.generate_eta import write_eta_video

OBJECTS_PER_FRAME = 10
BATCH = 5
TOKENS = """
import json
from accounts.services import user_issue_token
roles = json.loads({roles!r})
print(json.dumps({{name: user_issue_token(username=name, role=role).key for name, role in roles.items()}}))
"""


def _call(port: int, token: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers={
        "Authorization": f"Token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Timings:
    """Wall seconds and failures per kind of request, from many threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds: dict[str, list[float]] = {}
        self.failed: dict[str, list[str]] = {}

    def timed(self, kind: str, port: int, token: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        started = time.perf_counter()
        try:
            status, body = _call(port, token, path, body)
        except OSError as error:
            status, body = 0, str(error).encode()
        elapsed = time.perf_counter() - started
        with self.lock:
            self.seconds.setdefault(kind, []).append(elapsed)
            if status == 0 or (status >= 400 and status != 410):
                self.failed.setdefault(kind, []).append(f"{status} {body[:200]!r}")
        return status, body

    def summary(self) -> dict:
        return {kind: {"requests": len(values), "failed": len(self.failed.get(kind, [])),
                       "first_failures": self.failed.get(kind, [])[:3],
                       "p50_s": round(percentile(values, 0.5), 3), "p95_s": round(percentile(values, 0.95), 3),
                       "max_s": round(max(values), 3)}
                for kind, values in self.seconds.items()}


def reviewer(port: int, token: str, campaign: int, deadline: float, timings: Timings, think: float) -> None:
    rng = random.Random(token)
    time.sleep(pause_s(think, rng, arriving=True))
    while time.monotonic() < deadline:
        status, body = timings.timed("batch", port, token, f"/api/v1/review/campaigns/{campaign}/batch/?size={BATCH}")
        if status != 200:
            time.sleep(0.5)
            continue
        batch = json.loads(body)
        if batch["batch"] is None:
            return  # nothing left for this reviewer
        votes = {"batch": batch["batch"], "votes": [{"item": item["id"], "answer": "yes"} for item in batch["items"]]}
        time.sleep(pause_s(think, rng))
        timings.timed("votes", port, token, f"/api/v1/review/campaigns/{campaign}/votes/", votes)


def analyst(port: int, token: str, deadline: float, timings: Timings, queries: list[str], think: float) -> None:
    rng, turn = random.Random(token), 0
    time.sleep(pause_s(think, rng, arriving=True))
    while time.monotonic() < deadline:
        body = {"schema": "bench", "q": queries[turn % len(queries)], "page_size": 24}
        timings.timed("search", port, token, "/api/v1/search/", body)
        turn += 1
        time.sleep(pause_s(think, rng))


def run(args: argparse.Namespace, work: Path) -> dict:
    data_dir = work / "data"
    data_dir.mkdir()
    manage(data_dir, "migrate")
    manage(data_dir, "shell", "-c", "from bench.review import ONTOLOGY_DOCUMENT; from indexer.services import "
           "schema_create; schema_create(name='bench', document=ONTOLOGY_DOCUMENT, author=None)")
    detections = 0
    for number in range(args.videos):
        video = write_eta_video(work / f"v{number}.json", frames=args.frames, objects_per_frame=OBJECTS_PER_FRAME,
                                seed=100 + number)
        manage(data_dir, "ingest_file", str(video.path), "--video", f"v{number}", "--schema", "bench", "--format",
               "eta", "--mode", "filter")
        detections += video.objects
        video.path.unlink()
    roles = {"bench-admin": "admin", **{f"reviewer-{n}": "reviewer" for n in range(args.reviewers)},
             **{f"analyst-{n}": "analyst" for n in range(args.analysts)}}
    tokens = json.loads(manage(data_dir, "shell", "-c", TOKENS.format(roles=json.dumps(roles))).stdout
                        .strip().splitlines()[-1])
    port = free_port()
    server = serve(data_dir, port, **{f"SCOOP_THROTTLE_{scope}": "1000000/minute" for scope in
                                      ("SEARCH", "INGEST", "MEDIA", "API", "UPLOAD")})
    try:
        wait_for_port(port)
        started = time.perf_counter()
        status, body = _call(port, tokens["bench-admin"], "/api/v1/review/campaigns/", {
            "name": "load", "schema": "bench", "q": "vehicle", "unit": "tracks", "question": "A vehicle?"})
        created_s = time.perf_counter() - started
        if status != 201:
            raise RuntimeError(f"the campaign was refused: {status} {body[:500]!r}")
        campaign = json.loads(body)
        timings = Timings()
        deadline = time.monotonic() + args.seconds
        queries = ["vehicle", "vehicle(color=red) AND person", "person AND NOT vehicle(type=suv)",
                   "vehicle(review=confirmed)"]
        threads = [threading.Thread(target=reviewer, args=(port, tokens[f"reviewer-{n}"], campaign["id"], deadline,
                                                           timings, args.think)) for n in range(args.reviewers)]
        threads += [threading.Thread(target=analyst, args=(port, tokens[f"analyst-{n}"], deadline, timings, queries,
                                                          args.think))
                    for n in range(args.analysts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        _, stats = _call(port, tokens["bench-admin"], f"/api/v1/review/campaigns/{campaign['id']}/")
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"videos": args.videos, "detections": detections, "reviewers": args.reviewers, "analysts": args.analysts,
            "seconds": args.seconds, "think_s": args.think, "campaign_items": campaign["items"],
            "campaign_create_s": round(created_s, 3),
            "states_at_end": json.loads(stats).get("states"), **timings.summary()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviewers", type=int, default=50)
    parser.add_argument("--analysts", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--videos", type=int, default=10)
    parser.add_argument("--frames", type=int, default=2000, help="frames of each video (10 detections a frame)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="about how many seconds a person pauses between requests (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scoop-bench-review-load-") as work:
        print(json.dumps(run(args, Path(work))))


if __name__ == "__main__":
    main()

