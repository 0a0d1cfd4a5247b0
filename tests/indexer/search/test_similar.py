"""Similar tracks ("find more like this"): every engine's exact top-k equals a brute-force
numpy answer, candidates follow the query and filters, the query track can be left out,
and vectors survive re-ingest, delete and rebuild."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.facets import parse_filters
from indexer.ontology import CATEGORICAL, AttrSpec, LabelSpec, Ontology
from indexer.records import Analytics, ObjectRecord, TrackRecord, VideoMeta
from indexer.search import duckdb as duckdb_backend
from indexer.search import reference
from indexer.search.contract import SearchRequest
from indexer.search.duckdb import track_vectors
from indexer.search.duckdb.track_vectors import VECTORS_DIR
from indexer.search.vectors import MAX_K, TrackVectorBuilder

ONTOLOGY = Ontology(
    video_attrs={}, frame_attrs={},
    objects={"car": LabelSpec("car", {"color": AttrSpec("color", CATEGORICAL, ["red", "blue"])}),
             "person": LabelSpec("person", {})},
    events={},
)


def request_for(query: dict | None = None, filters: dict | None = None) -> SearchRequest:
    return SearchRequest(ontology=ONTOLOGY, query=query or {"and": []},
                         filters=parse_filters(filters or {}, ONTOLOGY))


def detection(index: int, track: str | None, embedding, label: str = "car", color: str = "red") -> ObjectRecord:
    return ObjectRecord(index=index, t=index / 10.0, label=label, track=track, attrs={"color": color},
                        embedding=None if embedding is None else tuple(float(v) for v in embedding))


def video(*records) -> Analytics:
    return Analytics.from_list(format="test", meta=VideoMeta(fps=10.0), records=records)


@contextmanager
def duckdb_engine() -> Iterator[duckdb_backend.SearchBackend]:
    with tempfile.TemporaryDirectory() as data_dir:
        engine = duckdb_backend.SearchBackend(data_dir)
        try:
            yield engine
        finally:
            engine.close()


@contextmanager
def engines() -> Iterator[list]:
    with duckdb_engine() as duck:
        yield [reference.SearchBackend(), duck]


def answer(engine, **kwargs) -> list[tuple[int, str, float]]:
    kwargs.setdefault("request", None)
    kwargs.setdefault("exclude", ())
    return [(hit.video_id, hit.track, hit.score) for hit in engine.similar_tracks(**kwargs)]


# Brute force, written independently of indexer.search.vectors ----------------------------------


# Candidate restrictions: (query tree, whether a frame's detections make it match).
RESTRICTIONS = {
    "none": (None, None),
    "a person": ({"object": {"label": "person", "attrs": {}}},
                 lambda objects: any(o.label == "person" for o in objects)),
    "t <= 0.25": ({"time": {"lte": 0.25}}, lambda objects: objects[0].t <= 0.25),
}


def brute_force(corpus: dict[int, list[ObjectRecord | TrackRecord]], query: np.ndarray, k: int,
                exclude: set[tuple[int, str]], frame_matches=None) -> list[tuple[int, str, float]]:
    found = []
    for video_id, records in corpus.items():
        frames: dict[int, list[ObjectRecord]] = {}
        for record in records:
            if isinstance(record, ObjectRecord):
                frames.setdefault(record.index, []).append(record)
        allowed = {o.track for objects in frames.values() if frame_matches is None or frame_matches(objects)
                   for o in objects}
        given = {}
        sums: dict[str, list[np.ndarray]] = {}
        tracks = set()
        for record in records:
            if isinstance(record, TrackRecord) and record.embedding is not None:
                given.setdefault(record.track, np.array(record.embedding))
            if isinstance(record, ObjectRecord) and record.track is not None:
                tracks.add(record.track)
                if record.embedding is not None:
                    sums.setdefault(record.track, []).append(np.array(record.embedding))
        for track in tracks:
            raw = given.get(track)
            if raw is None and track in sums:
                raw = np.mean(sums[track], axis=0)
            if raw is None or not np.linalg.norm(raw):
                continue
            stored = (raw / np.linalg.norm(raw)).astype(np.float32).astype(np.float64)
            unit_query = (query / np.linalg.norm(query)).astype(np.float32).astype(np.float64)
            if (video_id, track) not in exclude and track in allowed:
                found.append((-float(stored @ unit_query), video_id, track))
    return [(video_id, track, -negative) for negative, video_id, track in sorted(found)[:k]]


DIM = 4
components = st.integers(-2, 2)
vectors = st.lists(components, min_size=DIM, max_size=DIM)


@st.composite
def video_records(draw) -> list:
    records = []
    for index in range(draw(st.integers(1, 6))):
        for _ in range(draw(st.integers(0, 2))):
            track = draw(st.sampled_from([None, "1", "2", "10", "b"]))
            records.append(detection(index, track, draw(st.one_of(st.none(), vectors)),
                                     label=draw(st.sampled_from(["car", "person"]))))
    for track in draw(st.lists(st.sampled_from(["1", "2", "b", "9"]), max_size=2, unique=True)):
        records.append(TrackRecord(track=track, label="car", embedding=tuple(map(float, draw(vectors)))))
    return records


@st.composite
def corpora(draw) -> dict[int, list]:
    return {video_id: draw(video_records())
            for video_id in draw(st.lists(st.integers(1, 5), min_size=1, max_size=3, unique=True))}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=corpora(), query=vectors.filter(any), k=st.integers(1, 12),
       restriction=st.sampled_from(sorted(RESTRICTIONS)), data=st.data())
def test_top_k_equals_brute_force(corpus, query, k, restriction, data):
    tree, frame_matches = RESTRICTIONS[restriction]
    request = None if tree is None else request_for(tree)
    query = np.array(query, dtype=np.float64)
    with engines() as (truth, duck):
        for engine in (truth, duck):
            for video_id, records in corpus.items():
                engine.index_video(video_id=video_id, name=f"v{video_id}", analytics=video(*records))
        expected_all = brute_force(corpus, query, MAX_K, set())
        exclude = set(data.draw(st.lists(st.sampled_from([(v, t) for v, t, _ in expected_all] or [(0, "x")]),
                                         max_size=2)))
        expected = brute_force(corpus, query, k, exclude, frame_matches)
        truth_answer = answer(truth, request=request, vector=query, k=k, exclude=exclude)
        assert answer(duck, request=request, vector=query, k=k, exclude=exclude) == truth_answer  # bit for bit
        assert [(v, t) for v, t, _ in truth_answer] == [(v, t) for v, t, _ in expected]
        assert [s for _, _, s in truth_answer] == pytest.approx([s for _, _, s in expected], abs=1e-12)


def test_query_and_filters_restrict_the_candidates():
    records = [
        detection(0, "1", [1, 0, 0], color="red"),
        detection(1, "2", [0.9, 0.1, 0], color="blue"),
        detection(2, "3", [0.8, 0.2, 0], label="person"),
        detection(2, None, [1, 0, 0], label="person"),  # untracked: never a result
    ]
    with engines() as all_engines:
        for engine in all_engines:
            engine.index_video(video_id=1, name="one", analytics=video(*records))
            everything = answer(engine, vector=[1, 0, 0], k=10)
            assert [track for _, track, _ in everything] == ["1", "2", "3"]
            assert everything[0][2] == pytest.approx(1.0)
            person = answer(engine, request=request_for({"object": {"label": "person", "attrs": {}}}),
                            vector=[1, 0, 0], k=10)
            assert [track for _, track, _ in person] == ["3"]
            blue = answer(engine, request=request_for(filters={"object:car.color": ["blue"]}), vector=[1, 0, 0],
                          k=10)
            assert [track for _, track, _ in blue] == ["2"]
            nothing = answer(engine, request=request_for({"time": {"gte": 100.0}}), vector=[1, 0, 0], k=10)
            assert nothing == []
            without_best = answer(engine, vector=[1, 0, 0], k=2, exclude={(1, "1")})
            assert [track for _, track, _ in without_best] == ["2", "3"]


def test_results_carry_the_track_span_and_label():
    records = [detection(4, "7", [0, 1]), detection(9, "7", [0, 1]), detection(6, "7", None), detection(6, "8", [1, 1])]
    with engines() as all_engines:
        for engine in all_engines:
            engine.index_video(video_id=3, name="three", analytics=video(*records))
            hit = engine.similar_tracks(request=None, vector=[0, 2], k=1)[0]
            assert (hit.video_id, hit.track, hit.label) == (3, "7", "car")
            assert (hit.start_frame, hit.end_frame, hit.frames) == (4, 9, 3)
            assert (hit.start_s, hit.end_s) == pytest.approx((0.4, 1.0))
            assert engine.track_vector(video_id=3, track="8") == pytest.approx(np.array([0.70710677, 0.70710677]))
            assert engine.track_vector(video_id=3, track="nope") is None


def test_bad_requests_are_value_errors():
    with engines() as all_engines:
        for engine in all_engines:
            engine.index_video(video_id=1, name="one", analytics=video(detection(0, "1", [1, 0, 0])))
            with pytest.raises(ValueError, match="no indexed track has a 4-dimensional embedding"):
                engine.similar_tracks(request=None, vector=[1, 0, 0, 0], k=3)
            with pytest.raises(ValueError, match="k must be between 1 and 1000, got 0"):
                engine.similar_tracks(request=None, vector=[1, 0, 0], k=0)
            with pytest.raises(ValueError, match="zero"):
                engine.similar_tracks(request=None, vector=[0, 0, 0], k=3)
            with pytest.raises(ValueError, match="not finite"):
                engine.similar_tracks(request=None, vector=[float("nan"), 0, 0], k=3)


def test_a_track_embedding_wins_over_the_mean_of_its_detections():
    builder = TrackVectorBuilder()
    records = [detection(0, "1", [1, 0]), TrackRecord(track="1", embedding=(0.0, 3.0)),
               TrackRecord(track="1", embedding=(5.0, 0.0)), detection(1, "2", [3, 0]), detection(2, "2", [0, 3]),
               detection(3, "3", [1, 0]), detection(4, "3", [-1, 0])]
    list(builder.tap(video(*records)).records())
    tracks = {track.track: track.vector.tolist() for track in builder.tracks()}
    assert tracks == {"1": [0.0, 1.0], "2": pytest.approx([0.70710677, 0.70710677])}  # "3" averages to zero


def vector_files(engine: duckdb_backend.SearchBackend) -> set[str]:
    directory = Path(engine.root) / VECTORS_DIR
    return {path.name for path in directory.iterdir()} if directory.exists() else set()


def test_duckdb_vectors_survive_reingest_delete_and_rebuild():
    first = video(detection(0, "1", [1, 0]), detection(0, "2", [0, 1]))
    second = video(detection(0, "1", [0, 1]))
    with duckdb_engine() as engine:
        engine.index_video(video_id=1, name="one", analytics=first)
        engine.index_video(video_id=2, name="two", analytics=video(detection(3, "5", [1, 1])))
        assert [(v, t) for v, t, _ in answer(engine, vector=[1, 0], k=5)] == [(1, "1"), (2, "5"), (1, "2")]
        files = vector_files(engine)
        assert len(files) == 2
        engine.index_video(video_id=1, name="one", analytics=second)  # re-ingest replaces the vectors
        assert [(v, t) for v, t, _ in answer(engine, vector=[0, 1], k=5)] == [(1, "1"), (2, "5")]
        assert len(vector_files(engine)) == 3  # the replaced file stays while the previous generation may be read
        engine.delete_video(video_id=2)
        assert [(v, t) for v, t, _ in answer(engine, vector=[0, 1], k=5)] == [(1, "1")]
        assert engine.track_vector(video_id=2, track="5") is None
        engine.rebuild(videos=[(1, "one", second), (2, "two", video(detection(3, "5", [1, 1])))])
        assert [(v, t) for v, t, _ in answer(engine, vector=[0, 1], k=5)] == [(1, "1"), (2, "5")]
        engine.index_video(video_id=3, name="three", analytics=video(detection(0, "x", None)))
        live = vector_files(engine)
        assert len(live) == 2 and not live & files  # files of older generations are gone


def test_duckdb_index_without_vectors_answers_nothing():
    with duckdb_engine() as engine:
        assert engine.similar_tracks(request=None, vector=[1, 0], k=3) == []
        engine.index_video(video_id=1, name="one", analytics=video(detection(0, "1", None)))
        assert engine.similar_tracks(request=request_for(), vector=[1, 0], k=3) == []
        assert vector_files(engine) == set()


@pytest.fixture
def loaded_files(monkeypatch) -> list[str]:
    """Names of the vector files the DuckDB engine reads for similarity search, in order."""
    loaded: list[str] = []
    read = track_vectors._read_vectors

    def spy(path: Path) -> np.ndarray:
        loaded.append(path.name)
        return read(path)

    monkeypatch.setattr(track_vectors, "_read_vectors", spy)
    return loaded


def test_duckdb_a_write_then_a_search_reads_only_the_new_file(loaded_files):
    person = request_for({"object": {"label": "person", "attrs": {}}})
    with duckdb_engine() as engine:
        one = video(detection(0, "1", [1, 0]), detection(0, "2", [0, 1]))
        engine.index_video(video_id=1, name="one", analytics=one)
        engine.index_video(video_id=2, name="two", analytics=video(detection(0, "5", [1, 1], label="person")))
        assert [(v, t) for v, t, _ in answer(engine, vector=[1, 0], k=5)] == [(1, "1"), (2, "5"), (1, "2")]
        assert sorted(loaded_files) == sorted(vector_files(engine))
        loaded_files.clear()
        assert answer(engine, vector=[0, 1], k=1) == [(1, "2", 1.0)]  # same generation: nothing read
        assert loaded_files == []

        before = vector_files(engine)
        engine.index_video(video_id=3, name="three", analytics=video(detection(0, "7", [-1, 1], label="person")))
        assert [(v, t) for v, t, _ in answer(engine, vector=[-1, 1], k=2)] == [(3, "7"), (1, "2")]
        assert loaded_files == sorted(vector_files(engine) - before)
        assert [(v, t) for v, t, _ in answer(engine, request=person, vector=[1, 0], k=5)] == [(2, "5"), (3, "7")]

        loaded_files.clear()
        engine.delete_video(video_id=1)  # a delete reads nothing; video 1's tracks never answer again
        assert [(v, t) for v, t, _ in answer(engine, vector=[1, 0], k=5)] == [(2, "5"), (3, "7")]
        assert [(v, t) for v, t, _ in answer(engine, vector=[-1, 2], k=5)] == [(3, "7"), (2, "5")]
        assert loaded_files == []

        before = vector_files(engine)
        engine.index_video(video_id=2, name="two", analytics=video(detection(4, "5", [0, -1], label="person")))
        hits = engine.similar_tracks(request=person, vector=[0, -1], k=5)
        assert [(hit.video_id, hit.track, hit.score, hit.start_frame) for hit in hits] == [
            (2, "5", 1.0, 4), (3, "7", pytest.approx(-0.70710677), 0)]  # the re-ingested vector, not the old one
        assert loaded_files == sorted(vector_files(engine) - before)


def test_duckdb_a_vector_file_that_disagrees_with_the_index_is_named():
    with duckdb_engine() as engine:
        one = video(detection(0, "1", [1, 0]), detection(0, "2", [0, 1]))
        engine.index_video(video_id=1, name="one", analytics=one)
        (file,) = vector_files(engine)
        np.save(Path(engine.root) / VECTORS_DIR / file, np.ones((3, 2), dtype=np.float32))
        with pytest.raises(RuntimeError, match=f"the vector file {file} holds float32 values of shape \\(3, 2\\), "
                                               "not the 2 rows of 2 float32 values the index refers to"):
            engine.similar_tracks(request=None, vector=[1, 0], k=1)


@st.composite
def writes(draw) -> list[tuple[int, list | None]]:
    """Index writes in order: (video id, its records), or (video id, None) to delete it."""
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        video_id = draw(st.integers(1, 4))
        if draw(st.booleans()) and steps:
            steps.append((video_id, None))
        else:
            steps.append((video_id, draw(video_records())))
    return steps


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=writes(), query=vectors.filter(any), k=st.integers(1, 12),
       restriction=st.sampled_from(sorted(RESTRICTIONS)))
def test_top_k_equals_brute_force_after_each_of_interleaved_writes_and_deletes(steps, query, k, restriction):
    tree, frame_matches = RESTRICTIONS[restriction]
    request = None if tree is None else request_for(tree)
    query = np.array(query, dtype=np.float64)
    corpus: dict[int, list] = {}
    with engines() as (truth, duck):
        for video_id, records in steps:
            for engine in (truth, duck):
                if records is None:
                    engine.delete_video(video_id=video_id)
                else:
                    engine.index_video(video_id=video_id, name=f"v{video_id}", analytics=video(*records))
            if records is None:
                corpus.pop(video_id, None)
            else:
                corpus[video_id] = records
            expected = brute_force(corpus, query, k, set(), frame_matches)
            truth_answer = answer(truth, request=request, vector=query, k=k)
            assert answer(duck, request=request, vector=query, k=k) == truth_answer  # bit for bit
            assert [(v, t) for v, t, _ in truth_answer] == [(v, t) for v, t, _ in expected]
