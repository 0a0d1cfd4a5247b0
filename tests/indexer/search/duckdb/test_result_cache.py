"""Kept search answers (indexer.search.duckdb.result_cache): exact while their generation is live,
never served after a write unless brought up to date with the videos it added, computed once
for concurrent identical requests."""

from __future__ import annotations

import shutil
import threading
import time

import numpy as np
import pytest

from indexer.facets import parse_filters
from indexer.search.contract import SearchRequest
from indexer.search.duckdb import backend as duckdb_backend
from indexer.search.duckdb import generations
from indexer.search.duckdb.result_cache import KeptFrames, ResultCache, result_key
from indexer.search.duckdb.search import Search
from tests.indexer.search.test_search_semantics import ONTOLOGY, obj, person, search, vehicle, video


def test_a_kept_answer_is_returned_as_a_copy_and_the_oldest_goes_first():
    cache = ResultCache(max_entries=2)
    calls = []

    def compute(value):
        def run():
            calls.append(value)
            return {"counts": [value]}
        return run

    first = cache.get_or_compute(b"a", compute(1))
    first["counts"].append("changed by a caller")
    assert cache.get_or_compute(b"a", compute(99)) == {"counts": [1]}
    cache.get_or_compute(b"b", compute(2))
    cache.get_or_compute(b"a", compute(99))  # a is now the most recently used
    cache.get_or_compute(b"c", compute(3))  # evicts b
    assert cache.get_or_compute(b"b", compute(4)) == {"counts": [4]}
    assert calls == [1, 2, 3, 4]
    assert (cache.hits, cache.misses) == (2, 4)


def test_no_entries_means_nothing_is_kept():
    cache = ResultCache(max_entries=0)
    assert [cache.get_or_compute(b"k", lambda n=n: n) for n in range(3)] == [0, 1, 2]


def test_concurrent_identical_requests_are_computed_once():
    cache = ResultCache(max_entries=8)
    started, release, calls = threading.Event(), threading.Event(), []

    def slow():
        calls.append(1)
        started.set()
        release.wait(5)
        return 42

    answers = []
    threads = [threading.Thread(target=lambda: answers.append(cache.get_or_compute(b"k", slow))) for _ in range(5)]
    threads[0].start()
    started.wait(5)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.2)  # let the others reach the wait
    release.set()
    for thread in threads:
        thread.join(5)
    assert answers == [42] * 5
    assert len(calls) == 1


def test_a_failure_is_raised_and_the_next_caller_computes_again():
    cache = ResultCache(max_entries=8)

    def broken():
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError, match="disk gone"):
        cache.get_or_compute(b"k", broken)
    assert cache.get_or_compute(b"k", lambda: "fine") == "fine"


def test_keys_keep_true_one_and_the_string_apart():
    keys = {result_key("search", value) for value in (True, 1, 1.0, "1", "true")}
    assert len(keys) == 5


def test_the_index_answers_from_the_cache_until_a_write_publishes_a_new_generation(tmp_path):
    engine = duckdb_backend.SearchBackend(tmp_path)
    try:
        engine.index_video(video_id=1, name="a", analytics=video(vehicle(0, color="red"), vehicle(1, color="red")))
        red = obj("vehicle", color="red")
        assert search(engine, red).counts["frames"] == 2
        assert (engine._results.hits, engine._results.misses) == (0, 2)  # counts and clips; facets
        assert search(engine, red).counts["frames"] == 2
        assert engine._results.hits == 2

        engine.index_video(video_id=2, name="b", analytics=video(vehicle(0, color="red")))
        after_write = search(engine, red)
        assert after_write.counts["frames"] == 3
        assert after_write.counts["videos"] == 2
        assert engine._results.hits == 2  # the new generation missed (and added video 2's share)

        engine.delete_video(video_id=1)
        assert search(engine, red).counts["frames"] == 1
    finally:
        engine.close()


def test_a_wiped_and_rebuilt_data_dir_never_serves_old_answers(tmp_path):
    engine = duckdb_backend.SearchBackend(tmp_path)
    try:
        engine.index_video(video_id=1, name="a", analytics=video(vehicle(0, color="red")))
        red = obj("vehicle", color="red")
        assert search(engine, red).counts["frames"] == 1
        engine.close()
        shutil.rmtree(tmp_path / "index")
        engine.index_video(video_id=1, name="a", analytics=video(vehicle(0, color="black")))
        assert search(engine, red).counts["frames"] == 0
    finally:
        engine.close()


def test_with_no_cache_every_search_computes(tmp_path):
    engine = duckdb_backend.SearchBackend(tmp_path, result_cache=0)
    try:
        engine.index_video(video_id=1, name="a", analytics=video(vehicle(0, color="red")))
        for _ in range(3):
            assert search(engine, obj("vehicle", color="red")).counts["frames"] == 1
        assert (engine._results.hits, engine._results.misses) == (0, 0)
    finally:
        engine.close()


def _many_clips(engine, clips: int) -> None:
    """One video whose vehicles are seen every 2 s: ``clips`` clips at the default 1 s gap."""
    engine.index_video(video_id=1, name="a", analytics=video(*(vehicle(60 * n) for n in range(clips))))


def test_pages_are_cut_from_the_kept_clips_and_equal_computed_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(duckdb_backend, "KEPT_CLIPS", 10)
    cached = duckdb_backend.SearchBackend(tmp_path / "cached")
    computed = duckdb_backend.SearchBackend(tmp_path / "computed", result_cache=0)
    try:
        for engine in (cached, computed):
            _many_clips(engine, 25)
        vehicles = obj("vehicle")
        first = search(cached, vehicles, page=1, page_size=4)
        assert first.total_clips == 25
        assert (cached._results.hits, cached._results.misses) == (0, 2)
        for page in (1, 2, 3):  # clips 1-12: pages 1 and 2 are slices, page 3 reaches past the kept 10
            got = search(cached, vehicles, page=page, page_size=4, facets=[])
            assert got.clips == search(computed, vehicles, page=page, page_size=4, facets=[]).clips
            assert [clip.start_frame for clip in got.clips] == [60 * n for n in range(4 * page - 4, 4 * page)]
            assert got.counts == first.counts
        # pages 1 and 2 took the kept counts and clips (and computed the empty facet list once)
        assert cached._results.hits == 3
    finally:
        cached.close()
        computed.close()


@pytest.mark.parametrize("searches", [1, 2])
def test_searches_computed_at_once_are_bounded(tmp_path, monkeypatch, searches):
    engine = duckdb_backend.SearchBackend(tmp_path, searches=searches)
    engine.index_video(video_id=1, name="a", analytics=video(vehicle(0, color="red"), vehicle(1, color="black")))
    active, most, lock = [0], [0], threading.Lock()
    summary = Search.summary

    def slow_summary(self, offset, limit):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return summary(self, offset, limit)

    monkeypatch.setattr(Search, "summary", slow_summary)
    answers = []

    def ask(color):
        answers.append(search(engine, obj("vehicle", color=color)).counts["frames"])
        engine.close()

    threads = [threading.Thread(target=ask, args=(color,)) for color in ("red", "black", "white", "red")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(answers) == [0, 1, 1, 1]
    assert most[0] == searches


def test_versions_update_a_kept_answer_or_compute_it():
    cache = ResultCache(max_entries=8)
    seen = []

    def update(version, kept):
        seen.append((version, kept))
        return None if kept == "stale" else kept + "+"

    assert cache.get_or_compute(b"k", lambda: "a", version=1, update=update) == "a"
    assert cache.get_or_compute(b"k", lambda: "never", version=1, update=update) == "a"
    assert cache.get_or_compute(b"k", lambda: "never", version=3, update=update) == "a+"
    assert seen == [(1, "a")]
    # A caller still on an older version computes its own answer and keeps nothing.
    assert cache.get_or_compute(b"k", lambda: "old", version=2, update=update) == "old"
    assert cache.get_or_compute(b"k", lambda: "never", version=3) == "a+"
    cache._entries[b"k"] = (3, "stale")
    assert cache.get_or_compute(b"k", lambda: "fresh", version=4, update=update) == "fresh"
    assert (cache.hits, cache.misses, cache.updates) == (2, 4, 1)


def _red_corpus(engine, video_id: int, reds: int) -> None:
    engine.index_video(video_id=video_id, name=f"v{video_id}",
                       analytics=video(*(vehicle(60 * n, color="red", track=str(n)) for n in range(reds)),
                                       vehicle(1, color="black"), person(2)))


REQUESTS = [
    {"query": obj("vehicle", color="red")},
    {"query": obj("vehicle"), "filters": {"object:vehicle.color": ["red"], "label": ["vehicle", "!person"]}},
    {"query": obj("vehicle"), "facet_unit": "clips", "page": 2, "page_size": 2},
    {"query": obj("vehicle"), "facet_unit": "tracks"},
]


def _answers(engine) -> list:
    return [search(engine, **request) for request in REQUESTS]


def test_answers_kept_before_new_videos_are_indexed_get_their_share_added(tmp_path):
    kept = duckdb_backend.SearchBackend(tmp_path / "kept")
    computed = duckdb_backend.SearchBackend(tmp_path / "computed", result_cache=0)
    try:
        for engine in (kept, computed):
            _red_corpus(engine, 1, 3)
        assert _answers(kept) == _answers(computed)
        assert kept._results.updates == 0

        for engine in (kept, computed):
            _red_corpus(engine, 2, 2)
            _red_corpus(engine, 3, 1)  # two generations since the kept answers
        answers = _answers(kept)
        assert answers == _answers(computed)
        # Every kept part: each request's facets, and the counts with clips of each query and
        # filters (the last two requests share theirs).
        assert kept._results.updates == 7
        assert answers[0].counts["videos"] == 3
        assert answers[0].counts["frames"] == 6
        assert answers[1].facets["object:vehicle.color"]["black"] == 3

        # A video indexed again, or deleted, changes what was kept: those are computed again.
        for write in (lambda engine: _red_corpus(engine, 2, 4), lambda engine: engine.delete_video(video_id=1)):
            for engine in (kept, computed):
                write(engine)
            assert _answers(kept) == _answers(computed)
            assert kept._results.updates == 7
    finally:
        kept.close()
        computed.close()


def test_answers_older_than_the_write_log_are_computed_again(tmp_path, monkeypatch):
    monkeypatch.setattr(generations, "LOGGED_GENERATIONS", 1)
    engine = duckdb_backend.SearchBackend(tmp_path)
    try:
        _red_corpus(engine, 1, 1)
        search(engine, obj("vehicle", color="red"))
        _red_corpus(engine, 2, 1)
        _red_corpus(engine, 3, 1)  # the log now keeps only this generation's write
        assert search(engine, obj("vehicle", color="red")).counts["videos"] == 3
        assert engine._results.updates == 0
        _red_corpus(engine, 4, 1)
        assert search(engine, obj("vehicle", color="red")).counts["videos"] == 4
        assert engine._results.updates == 2
    finally:
        engine.close()


def test_a_rebuild_starts_a_new_lineage_whose_answers_are_computed(tmp_path):
    engine = duckdb_backend.SearchBackend(tmp_path)
    try:
        _red_corpus(engine, 1, 2)
        search(engine, obj("vehicle", color="red"))
        engine.rebuild(videos=[(1, "v1", video(vehicle(0, color="red")))])
        assert search(engine, obj("vehicle", color="red")).counts["frames"] == 1
        assert engine._results.updates == 0
    finally:
        engine.close()


def test_kept_frame_sets_stay_within_their_bytes_and_the_oldest_goes_first():
    kept = KeptFrames(max_bytes=2 * 8 * 100)
    for key, rows in ((b"a", 100), (b"b", 100)):
        assert kept.claim(key) is None
        kept.put(key, {"frame_id": np.arange(rows)})
        kept.release(key)
    assert kept.claim(b"a") is not None  # a is now the most recently used
    for key, rows in ((b"c", 100), (b"huge", 1000)):  # c evicts b; huge is more than the budget
        assert kept.claim(key) is None
        kept.put(key, {"frame_id": np.arange(rows)})
        kept.release(key)
    found = {key: kept.claim(key) for key in (b"a", b"b", b"c", b"huge")}
    assert [key for key, rows in found.items() if rows is not None] == [b"a", b"c"]
    assert list(found[b"c"]["frame_id"][:3]) == [0, 1, 2]
    assert (kept.hits, kept.misses) == (3, 6)


def test_a_frame_set_being_computed_is_waited_for_and_a_failed_one_computed_again():
    kept, answers = KeptFrames(max_bytes=2**20), []
    assert kept.claim(b"k") is None  # this thread computes it
    waiter = threading.Thread(target=lambda: answers.append(kept.claim(b"k")))
    waiter.start()
    time.sleep(0.2)
    assert answers == []  # waiting
    kept.put(b"k", {"frame_id": np.arange(3)})
    kept.release(b"k")
    waiter.join(5)
    assert list(answers[0]["frame_id"]) == [0, 1, 2]

    assert kept.claim(b"failing") is None
    waiter = threading.Thread(target=lambda: answers.append(kept.claim(b"failing")))
    waiter.start()
    kept.release(b"failing")  # its computation failed: the waiter computes it
    waiter.join(5)
    assert answers[1] is None and kept.misses == 3


def test_statistics_after_a_search_read_its_kept_frame_sets_and_a_write_computes_them_again(tmp_path):
    analytics = video(vehicle(0, color="red"), vehicle(1, color="black"), person(2), vehicle(3, color="red"))
    engines = [duckdb_backend.SearchBackend(tmp_path / name, result_cache=0, kept_frames_mb=megabytes)
               for name, megabytes in (("kept", 256), ("none", 0))]
    try:
        for engine in engines:
            engine.index_video(video_id=1, name="a", analytics=analytics)
        filters = parse_filters({"object:vehicle.color": ["red"]}, ONTOLOGY)
        request = SearchRequest(ontology=ONTOLOGY, query=obj("vehicle"), filters=filters)
        kept, none = engines
        assert kept.search(request=request).counts["frames"] == 2
        computed = kept._frames.misses
        assert (kept._frames.hits, computed) == (0, 3)  # the query, the filter, their frames
        occurrence = kept.occurrence(request=request, unit="objects")
        assert kept._frames.hits == 3 and kept._frames.misses == computed
        assert occurrence == none.occurrence(request=request, unit="objects")
        assert occurrence["object:vehicle.color"]["red"] == 2
        assert none._frames.hits == 0

        kept.index_video(video_id=2, name="b", analytics=video(vehicle(0, color="red")))
        assert kept.search(request=request).counts["frames"] == 3
        assert kept._frames.misses == 2 * computed
    finally:
        for engine in engines:
            engine.close()
