"""Searching while one video is re-ingested again and again with different analytics:
every answer is exactly the old or the new state, never a mix, and no search fails."""

from __future__ import annotations

import threading

from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from indexer.facets import parse_filters
from indexer.formats import read_analytics
from indexer.query import compile_query
from indexer.search.contract import SearchRequest
from indexer.search.duckdb import SearchBackend

READERS = 3
REINGESTS = 6
QUERIES = {
    "everything": ({"and": []}, {}),
    "black vehicles in city streets": (
        {"object": {"label": "vehicle", "attrs": {"color": "black"}}},
        {"frame:scene": ["city street"]},
    ),
    "no person": ({"not": {"object": {"label": "person"}}}, {}),
}


def request(name: str) -> SearchRequest:
    query, filters = QUERIES[name]
    return SearchRequest(ontology=DEFAULT_ONTOLOGY, query=compile_query(query=query, ontology=DEFAULT_ONTOLOGY),
                         filters=parse_filters(filters, DEFAULT_ONTOLOGY),
                         page_size=5)


def snapshot(backend: SearchBackend) -> dict[str, tuple]:
    """What an analyst sees per query: the counts, the label facet and the first clips."""
    seen = {}
    for name in QUERIES:
        result = backend.search(request=request(name))
        clips = tuple((clip.video_id, clip.start_frame, clip.end_frame) for clip in result.clips)
        seen[name] = (tuple(sorted(result.counts.items())), tuple(sorted(result.facets["label"].items())), clips)
    return seen


def index(backend: SearchBackend, video_id: int, name: str, path) -> None:
    backend.index_video(video_id=video_id, name=name, analytics=read_analytics(path, format="eta"))


def test_searches_see_the_old_or_the_new_analytics_never_a_mix(tmp_path):
    old = write_eta_video(tmp_path / "old.json", frames=300, objects_per_frame=4, seed=11).path
    new = write_eta_video(tmp_path / "new.json", frames=420, objects_per_frame=6, seed=12).path
    other = write_eta_video(tmp_path / "other.json", frames=200, objects_per_frame=3, seed=13).path
    backend = SearchBackend(data_dir=tmp_path / "data", memory_limit="256MB", threads=1)
    index(backend, 2, "other", other)  # a bystander: its rows must be in every answer
    index(backend, 1, "cam", new)
    with_new = snapshot(backend)
    index(backend, 1, "cam", old)
    with_old = snapshot(backend)
    assert with_old != with_new
    for name in QUERIES:
        assert with_old[name][0] != with_new[name][0], name  # the counts tell the two states apart

    answers: list[tuple[str, tuple]] = []
    errors: list[BaseException] = []
    writing = threading.Event()
    writing.set()

    def search_loop() -> None:
        try:
            while writing.is_set():
                # Per query: the generation may change between two searches of one loop.
                answers.extend(snapshot(backend).items())
        except BaseException as error:  # reported below, so that a failing search fails the test
            errors.append(error)
        finally:
            backend.close()

    readers = [threading.Thread(target=search_loop) for _ in range(READERS)]
    for reader in readers:
        reader.start()
    try:
        for attempt in range(REINGESTS):
            index(backend, 1, "cam", new if attempt % 2 == 0 else old)
    finally:
        writing.clear()
        for reader in readers:
            reader.join(timeout=120)

    assert errors == []
    assert len(answers) >= READERS * len(QUERIES)
    mixed = [(name, seen) for name, seen in answers if seen not in (with_old[name], with_new[name])]
    assert mixed == []
    assert {seen for _name, seen in answers} >= {with_old["everything"], with_new["everything"]}
    assert snapshot(backend) == with_old  # the last of the six re-ingests wrote the old analytics
    backend.close()
