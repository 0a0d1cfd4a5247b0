"""The DuckDB index's segments (indexer.search.duckdb.generations): a write adds one file and
never rewrites the others; deletes and re-ingests hide rows with tombstones; merges keep every
answer and drop hidden rows; a writer or a merger killed at any point leaves one whole
generation; searches during merges see one whole generation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from indexer.formats import read_analytics
from indexer.query import compile_query
from indexer.records import Analytics, FrameRecord, ObjectRecord, VideoMeta
from indexer.search.contract import SearchRequest
from indexer.search.duckdb import SearchBackend
from indexer.search.duckdb import backend as duckdb_backend
from indexer.search.duckdb.generations import Manifest
from tests.conftest import REPO

EVERYTHING = SearchRequest(ontology=DEFAULT_ONTOLOGY, query=compile_query(query={"and": []}, ontology=DEFAULT_ONTOLOGY))


def chunk(first: int, last: int, label: str = "vehicle") -> Analytics:
    records = []
    for index in range(first, last + 1):
        records += [FrameRecord(index, index / 30), ObjectRecord(index, index / 30, label, attrs={"color": "red"})]
    return Analytics.from_list(format="test", meta=VideoMeta(fps=30.0), records=records)


def counts(engine: SearchBackend) -> dict[str, float]:
    return engine.search(request=EVERYTHING).counts


def manifest(root: Path) -> Manifest:
    index = root / "index"
    return Manifest.from_json((index / (index / "CURRENT").read_text()).read_text())


def segment_files(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every segment file with its identity: inode, modification time, size."""
    return {path.name: (path.stat().st_ino, path.stat().st_mtime_ns, path.stat().st_size)
            for path in sorted((root / "index" / "segments").iterdir())}


@pytest.fixture
def engine(tmp_path):
    engine = SearchBackend(tmp_path, merge_factor=2)
    yield engine
    engine.close()


def test_a_write_adds_one_segment_and_never_rewrites_the_others(engine, tmp_path):
    for video_id in (1, 2, 3):
        engine.index_video(video_id=video_id, name=f"v{video_id}", analytics=chunk(0, 9))
    before = segment_files(tmp_path)

    engine.index_video(video_id=2, name="v2", analytics=chunk(0, 4))  # re-ingest: 5 frames instead of 10
    engine.append_frames(video_id=3, name="v3", analytics=chunk(8, 14))  # 5 new frames, 2 known
    engine.delete_video(video_id=1)

    after = segment_files(tmp_path)
    assert {name: after[name] for name in before} == before  # not one byte of them rewritten
    assert sorted(set(after) - set(before)) == ["seg-4.duckdb", "seg-5.duckdb"]  # the delete wrote none
    live = manifest(tmp_path)
    assert [(s.name, s.videos, s.deleted) for s in live.segments] == [
        ("seg-1.duckdb", (1,), (1,)), ("seg-2.duckdb", (2,), (2,)), ("seg-3.duckdb", (3,), ()),
        ("seg-4.duckdb", (2,), ()), ("seg-5.duckdb", (3,), ())]
    assert (counts(engine)["frames"], counts(engine)["objects"], engine.video_ids()) == (5 + 15, 5 + 15, [2, 3])


def test_old_manifests_and_replaced_segments_are_deleted(engine, tmp_path):
    for video_id in (1, 2):
        engine.index_video(video_id=video_id, name="v", analytics=chunk(0, 3))
    assert engine.merge() is True  # seg-1 + seg-2 -> seg-3, published as gen-3
    assert sorted(segment_files(tmp_path)) == ["seg-1.duckdb", "seg-2.duckdb", "seg-3.duckdb"]  # gen-2 names 1, 2

    engine.index_video(video_id=3, name="v", analytics=chunk(0, 3))

    index = tmp_path / "index"
    assert sorted(path.name for path in index.glob("gen-*")) == ["gen-3.json", "gen-4.json"]
    assert sorted(segment_files(tmp_path)) == ["seg-3.duckdb", "seg-4.duckdb"]


def test_a_merge_keeps_every_answer_and_drops_the_hidden_rows(engine, tmp_path):
    engine.index_video(video_id=1, name="v1", analytics=chunk(0, 99))
    engine.index_video(video_id=2, name="v2", analytics=chunk(0, 49))
    engine.index_video(video_id=1, name="v1", analytics=chunk(0, 9))  # hides the 100 frames of seg-1
    before = counts(engine)
    rows = {segment.name: segment.rows for segment in manifest(tmp_path).segments}
    assert engine.merge_due() is True

    merges = 0
    while engine.merge():
        merges += 1

    # Two at a time: seg-1 (all hidden) + seg-2 -> seg-4, then seg-3 + seg-4 -> seg-5.
    (merged,) = manifest(tmp_path).segments
    assert (merges, engine.merge_due()) == (2, False)
    assert (merged.name, merged.videos, merged.deleted) == ("seg-5.duckdb", (1, 2), ())
    assert merged.rows == rows["seg-2.duckdb"] + rows["seg-3.duckdb"] < sum(rows.values())
    assert counts(engine) == before == {**before, "frames": 60, "objects": 60}


def test_a_delete_published_during_a_merge_stays_hidden_after_it(engine, tmp_path, monkeypatch):
    for video_id in (1, 2):
        engine.index_video(video_id=video_id, name=f"v{video_id}", analytics=chunk(0, 9))
    real_merge_into = duckdb_backend._merge_into

    def delete_meanwhile(*args, **kwargs):
        written = real_merge_into(*args, **kwargs)  # the merged file holds video 1 ...
        engine.delete_video(video_id=1)  # ... which a delete hides before the merge publishes
        return written

    monkeypatch.setattr(duckdb_backend, "_merge_into", delete_meanwhile)

    assert engine.merge() is True

    (merged,) = manifest(tmp_path).segments
    assert (merged.videos, merged.deleted) == ((1, 2), (1,))
    assert engine.video_ids() == [2]
    assert counts(engine)["frames"] == 10


def test_a_merge_replaced_by_a_rebuild_meanwhile_publishes_nothing(engine, tmp_path, monkeypatch):
    for video_id in (1, 2):
        engine.index_video(video_id=video_id, name=f"v{video_id}", analytics=chunk(0, 9))
    real_merge_into = duckdb_backend._merge_into

    def rebuild_meanwhile(*args, **kwargs):
        written = real_merge_into(*args, **kwargs)
        engine.rebuild(videos=[(7, "v7", chunk(0, 2))])
        return written

    monkeypatch.setattr(duckdb_backend, "_merge_into", rebuild_meanwhile)

    assert engine.merge() is False

    assert engine.video_ids() == [7]
    assert [path.name for path in (tmp_path / "index" / "segments").iterdir() if path.name.startswith("tmp-")] == []


# Killed writers and mergers -----------------------------------------------------------------------

KILLER = """
import os, signal, sys
from indexer.search.duckdb import SearchBackend
from indexer.search.duckdb import backend
from indexer.search.duckdb.generations import Manifest
from tests.indexer.search.duckdb.test_segments import chunk

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

engine = SearchBackend(sys.argv[1], merge_factor=2)
where = sys.argv[2]
if where == "write":
    backend._segment_contents = die  # the new segment holds its rows, not yet checkpointed
    engine.index_video(video_id=1, name="v1", analytics=chunk(0, 2))
elif where == "append build":
    backend._segment_contents = die  # the chunk's segment, at its temporary path, holds its rows
    engine.append_frames(video_id=2, name="v2", analytics=chunk(20, 22))
elif where == "append publish":
    Manifest.written = die  # the chunk's segment has its name, no manifest names it yet
    engine.append_frames(video_id=2, name="v2", analytics=chunk(20, 22))
elif where == "merge output":
    real = backend._merge_into
    backend._merge_into = lambda *args, **kwargs: (real(*args, **kwargs), die())
    engine.merge()
elif where == "merge publish":
    Manifest.merged = die  # the merged file has its segment name, no manifest names it yet
    engine.merge()
"""


@pytest.mark.parametrize("where", ["write", "append build", "append publish", "merge output", "merge publish"])
def test_a_process_killed_during_a_write_or_a_merge_leaves_the_last_generation_whole(engine, tmp_path, where):
    engine.index_video(video_id=1, name="v1", analytics=chunk(0, 9))
    engine.index_video(video_id=2, name="v2", analytics=chunk(0, 19))
    before, published = counts(engine), (tmp_path / "index" / "CURRENT").read_text()

    killed = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path), where], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120)

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (tmp_path / "index" / "CURRENT").read_text() == published
    left = {name for name in segment_files(tmp_path) if not name.endswith(".wal")} - {"seg-1.duckdb", "seg-2.duckdb"}
    assert len(left) == 1, left  # the unpublished segment (or merge output), named by no manifest
    fresh = SearchBackend(tmp_path, merge_factor=2)
    try:
        assert counts(fresh) == before
        fresh.index_video(video_id=3, name="v3", analytics=chunk(0, 4))  # the next write prunes a named leftover
        assert fresh.merge() is True
        assert fresh.video_ids() == [1, 2, 3]
        assert counts(fresh)["frames"] == 10 + 20 + 5
    finally:
        fresh.close()
    remaining = set(segment_files(tmp_path))
    assert not {name for name in left if name.startswith("seg-")} & remaining


# Searches during merges ------------------------------------------------------------------------------


def test_searches_during_merges_always_see_one_whole_generation(tmp_path):
    """Re-ingesting a video with the same analytics and merging change no answer: every search
    answered meanwhile, from three threads, must be exactly the first answer."""
    paths = [write_eta_video(tmp_path / f"{n}.json", frames=150, objects_per_frame=4, seed=n).path for n in (1, 2, 3)]
    engine = SearchBackend(tmp_path / "data", merge_factor=2, threads=1)
    for video_id, path in enumerate(paths, start=1):
        engine.index_video(video_id=video_id, name=f"v{video_id}", analytics=read_analytics(path, format="eta"))
    expected = json.dumps(counts(engine), sort_keys=True)
    answers: list[str] = []
    errors: list[BaseException] = []
    writing = threading.Event()
    writing.set()

    def search_loop() -> None:
        try:
            while writing.is_set():
                answers.append(json.dumps(engine.search(request=EVERYTHING).counts, sort_keys=True))
        except BaseException as error:
            errors.append(error)

    readers = [threading.Thread(target=search_loop) for _ in range(3)]
    for reader in readers:
        reader.start()
    merges = 0
    try:
        for round in range(6):
            video_id = round % 3 + 1
            engine.index_video(video_id=video_id, name=f"v{video_id}",
                               analytics=read_analytics(paths[video_id - 1], format="eta"))
            while engine.merge():
                merges += 1
    finally:
        writing.clear()
        for reader in readers:
            reader.join(timeout=60)
        engine.close()

    assert errors == []
    assert merges >= 3
    assert answers and set(answers) == {expected}


# Upgrading --------------------------------------------------------------------------------------------


def test_an_index_written_before_segments_is_read_and_written_as_its_one_segment(tmp_path):
    """A data dir of the single-file layout (``CURRENT`` naming ``gen-<N>.duckdb``): its file
    becomes the first segment, keeping every answer, and writes go on from there."""
    writer = SearchBackend(tmp_path / "new")
    writer.index_video(video_id=4, name="v4", analytics=chunk(0, 11))
    expected = counts(writer)
    writer.close()
    index = tmp_path / "old" / "index"
    index.mkdir(parents=True)
    (tmp_path / "new" / "index" / "segments" / "seg-1.duckdb").rename(index / "gen-7.duckdb")
    (index / "gen-6.duckdb").write_bytes(b"an older generation")
    (index / "CURRENT").write_text("gen-7.duckdb")

    engine = SearchBackend(tmp_path / "old")
    try:
        assert counts(engine) == expected
        engine.index_video(video_id=5, name="v5", analytics=chunk(0, 2))
        assert engine.video_ids() == [4, 5]
    finally:
        engine.close()
    assert sorted(path.name for path in index.glob("gen-*")) == ["gen-8.json", "gen-9.json"]
    assert [(s.name, s.videos) for s in manifest(tmp_path / "old").segments] == [
        ("seg-1.duckdb", (4,)), ("seg-2.duckdb", (5,))]
