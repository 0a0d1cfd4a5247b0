"""Live appends of the DuckDB engine build their segment outside the write lock and take it only
to publish (SearchBackend.append_frames): appends to many videos at once add up exactly, and a
write of the same video, or new attribute keys, published while a chunk was built make the
append build again against them, so that nothing published meanwhile is undone."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from fixtures.generate_eta import DEFAULT_ONTOLOGY
from indexer.query import compile_query
from indexer.records import Analytics, FrameRecord, ObjectRecord, VideoMeta
from indexer.search.contract import SearchRequest
from indexer.search.duckdb import SearchBackend
from indexer.search.duckdb import backend as duckdb_backend
from tests.conftest import REPO
from tests.indexer.search.duckdb.test_segments import chunk, counts, manifest


def colored(first: int, last: int, color: str) -> Analytics:
    """Frames ``first..last``, each with one vehicle of ``color``."""
    records = []
    for index in range(first, last + 1):
        records += [FrameRecord(index, index / 30), ObjectRecord(index, index / 30, "vehicle", attrs={"color": color})]
    return Analytics.from_list(format="test", meta=VideoMeta(fps=30.0), records=records)


def objects_where(engine: SearchBackend, query: str) -> float:
    request = SearchRequest(ontology=DEFAULT_ONTOLOGY, query=compile_query(q=query, ontology=DEFAULT_ONTOLOGY))
    return engine.search(request=request).counts["objects"]


@pytest.fixture
def engine(tmp_path):
    engine = SearchBackend(tmp_path, merge_factor=4)
    yield engine
    engine.close()


def during_build(monkeypatch, meanwhile) -> list[int]:
    """Run ``meanwhile()`` once, right after the first append has built its segment and before
    it publishes; returns the list of builds, one entry (the video id) per call."""
    real = duckdb_backend.append_video
    builds: list[int] = []

    def append_then_write(con, video_id, *args, **kwargs):
        result = real(con, video_id, *args, **kwargs)
        builds.append(video_id)
        if len(builds) == 1:
            meanwhile()
        return result

    monkeypatch.setattr(duckdb_backend, "append_video", append_then_write)
    return builds


def test_an_append_racing_a_reingest_of_its_video_is_done_again_after_it(engine, tmp_path, monkeypatch):
    engine.index_video(video_id=1, name="v1", analytics=chunk(0, 9))
    builds = during_build(monkeypatch, lambda: engine.index_video(video_id=1, name="v1", analytics=chunk(0, 19)))

    result = engine.append_frames(video_id=1, name="v1", analytics=chunk(5, 14))

    # Built against frames 0-9, the chunk added 10-14; done again against the re-ingest's 0-19,
    # it adds nothing. Published as built, the video would hold 25 frames.
    assert builds == [1, 1]
    assert (result.appended.frames, result.duplicate_frames) == (0, 10)
    assert counts(engine)["frames"] == 20
    assert [path.name for path in (tmp_path / "index" / "segments").iterdir() if path.name.startswith("tmp-")] == []


def test_an_append_racing_a_delete_of_its_video_is_done_again_after_it(engine, monkeypatch):
    engine.index_video(video_id=1, name="v1", analytics=chunk(0, 9))
    engine.index_video(video_id=2, name="v2", analytics=chunk(0, 3))
    builds = during_build(monkeypatch, lambda: engine.delete_video(video_id=1))

    result = engine.append_frames(video_id=1, name="v1", analytics=chunk(8, 12))

    # As if the delete came first: the video holds the chunk alone (the spool's owner, indexer.live,
    # refuses the chunk and deletes the video again when its record is gone).
    assert builds == [1, 1]
    assert (result.appended.frames, result.duplicate_frames) == (5, 0)
    assert (engine.video_ids(), counts(engine)["frames"]) == ([1, 2], 5 + 4)


def test_an_append_published_while_another_video_was_written_is_kept(engine, monkeypatch):
    engine.index_video(video_id=1, name="v1", analytics=chunk(0, 9))
    engine.index_video(video_id=2, name="v2", analytics=chunk(0, 9))
    builds = during_build(monkeypatch, lambda: engine.index_video(video_id=2, name="v2", analytics=chunk(0, 4)))

    result = engine.append_frames(video_id=1, name="v1", analytics=chunk(8, 12))

    assert builds == [1]  # built once: nothing it read changed
    assert (result.appended.frames, result.duplicate_frames) == (3, 2)
    assert counts(engine)["frames"] == 13 + 5


def test_attribute_keys_registered_while_a_chunk_was_built_make_it_build_again(engine, monkeypatch):
    engine.index_video(video_id=1, name="v1", analytics=colored(0, 9, "red"))
    engine.index_video(video_id=2, name="v2", analytics=colored(0, 9, "red"))
    builds = during_build(monkeypatch, lambda: engine.append_frames(video_id=2, name="v2",
                                                                    analytics=colored(10, 12, "white")))

    engine.append_frames(video_id=1, name="v1", analytics=colored(10, 16, "blue"))

    # Both appends numbered their new key after the same highest key: published as built, blue
    # and white would share a key id and each search would find both.
    assert builds == [1, 2, 1]
    assert (objects_where(engine, "vehicle(color=blue)"), objects_where(engine, "vehicle(color=white)")) == (7, 3)
    assert objects_where(engine, "vehicle(color=red)") == 20


def test_a_resent_chunk_publishes_nothing(engine, tmp_path):
    engine.append_frames(video_id=1, name="v1", analytics=chunk(0, 9))
    published = (tmp_path / "index" / "CURRENT").read_text()

    result = engine.append_frames(video_id=1, name="v1", analytics=chunk(0, 9))

    assert (result.appended.frames, result.duplicate_frames, result.duplicate_objects) == (0, 10, 10)
    assert (tmp_path / "index" / "CURRENT").read_text() == published
    assert sorted(path.name for path in (tmp_path / "index" / "segments").iterdir()) == ["seg-1.duckdb"]


def test_appends_to_many_videos_from_many_threads_add_up_exactly(engine):
    videos, chunks, frames = 6, 8, 5
    errors: list[BaseException] = []

    def stream(video_id: int) -> None:
        try:
            for number in range(chunks):
                first = number * frames
                for _twice in range(2):  # each chunk sent twice: the second adds nothing
                    engine.append_frames(video_id=video_id, name=f"v{video_id}",
                                         analytics=chunk(first, first + frames - 1))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=stream, args=(video_id,)) for video_id in range(1, videos + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert engine.video_ids() == list(range(1, videos + 1))
    assert (counts(engine)["frames"], counts(engine)["objects"]) == (videos * chunks * frames,) * 2
    assert sum(segment.rows for segment in manifest(engine.root.parent).segments) > 0


APPENDER = """
import sys
from indexer.search.duckdb import SearchBackend
from tests.indexer.search.duckdb.test_segments import chunk

engine = SearchBackend(sys.argv[1])
video_id = int(sys.argv[2])
for number in range(10):
    engine.append_frames(video_id=video_id, name=f"v{video_id}", analytics=chunk(number * 3, number * 3 + 2))
"""


def test_appends_from_many_processes_at_once_add_up_exactly(engine, tmp_path):
    engine.index_video(video_id=9, name="v9", analytics=chunk(0, 99))
    processes = [subprocess.Popen([sys.executable, "-c", APPENDER, str(tmp_path), str(video_id)], cwd=REPO,
                                  env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE, text=True)
                 for video_id in (1, 2, 3)]
    failures = [process.stderr.read() for process in processes if process.wait(timeout=300) != 0]

    assert failures == []
    assert engine.video_ids() == [1, 2, 3, 9]
    assert counts(engine)["frames"] == 3 * 30 + 100
    live = manifest(tmp_path)
    assert len(live.log) == 1 + 3 * 10  # every chunk published once
