"""The worked example of the query language guide (docs/guide/query-language.md, "Wall-clock
time and counts"), run on the reference engine and on DuckDB, and the clock rules of
:mod:`indexer.search.semantics` against hand-worked instants."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime

import pytest

from indexer.ontology import CATEGORICAL, AttrSpec, LabelSpec, Ontology
from indexer.query import compile_query
from indexer.records import Analytics, FrameRecord, ObjectRecord, VideoMeta
from indexer.search import duckdb as duckdb_backend
from indexer.search import reference
from indexer.search.contract import SearchRequest
from indexer.search.semantics import local_hour_weekday, uses_clock

ONTOLOGY = Ontology(objects={
    "person": LabelSpec("person", {}),
    "vehicle": LabelSpec("vehicle", {"color": AttrSpec("color", CATEGORICAL, ["red", "blue"])}),
})
MONDAY_8 = datetime(2026, 3, 2, 8, tzinfo=UTC)


def guide_video(recorded_at: datetime | None) -> Analytics:
    """Frame 0: 3 persons and a red vehicle; frame 1: 5 persons; frame 600: no detections."""
    records = [ObjectRecord(0, 0.0, "person") for _ in range(3)]
    records.append(ObjectRecord(0, 0.0, "vehicle", attrs={"color": "red"}))
    records += [ObjectRecord(1, 0.1, "person") for _ in range(5)]
    records.append(FrameRecord(600, 60.0))
    return Analytics.from_list(format="test", meta=VideoMeta(fps=10.0, recorded_at=recorded_at), records=records)


@pytest.fixture(params=["reference", "duckdb"])
def engine(request):
    if request.param == "reference":
        yield reference.SearchBackend()
        return
    with tempfile.TemporaryDirectory() as data_dir:
        backend = duckdb_backend.SearchBackend(data_dir)
        try:
            yield backend
        finally:
            backend.close()


def frames(engine, q: str, tz: str = "Europe/Berlin") -> list[int]:
    request = SearchRequest(ontology=ONTOLOGY, query=compile_query(q=q, ontology=ONTOLOGY, tz=tz), gap_s=0.0,
                            page_size=50, facets=[])
    return [clip.start_frame for clip in engine.search(request=request).clips]


@pytest.mark.parametrize(("q", "tz", "expected"), [
    ("hour=9", "Europe/Berlin", [0, 1, 600]),
    ("hour=8", "Europe/Berlin", []),
    ("hour=8", "UTC", [0, 1, 600]),
    ("weekday=mon..fri", "Europe/Berlin", [0, 1, 600]),
    ("weekday=sat..sun", "Europe/Berlin", []),
    ("clock=2026-03-02T09:00:00.05..2026-03-02T10:00", "Europe/Berlin", [1, 600]),
    ("COUNT(person) >= 5", "UTC", [1]),
    ("COUNT(person)=1..4", "UTC", [0]),
    ("COUNT(vehicle(color=red)) = 0", "UTC", [1, 600]),
    ("COUNT(*) > 3", "UTC", [0, 1]),
])
def test_the_guides_worked_example(engine, q, tz, expected):
    engine.index_video(video_id=1, name="gate", analytics=guide_video(MONDAY_8))
    assert frames(engine, q, tz) == expected


def test_a_video_without_recorded_at_has_no_clock(engine):
    engine.index_video(video_id=1, name="gate", analytics=guide_video(None))
    assert frames(engine, "hour=9") == []
    assert frames(engine, "NOT hour=9") == [0, 1, 600]
    assert frames(engine, "clock>=2000-01-01") == []


@pytest.mark.parametrize(("instant", "tz", "expected"), [
    (datetime(2024, 5, 5, 23, 59, 59, 900000, tzinfo=UTC), "UTC", (23, "sun")),  # floored, not rounded up
    (datetime(2024, 5, 6, 0, 0, tzinfo=UTC), "UTC", (0, "mon")),
    (datetime(2024, 3, 31, 0, 59, 59, tzinfo=UTC), "Europe/Berlin", (1, "sun")),  # CET, just before the change
    (datetime(2024, 3, 31, 1, 0, tzinfo=UTC), "Europe/Berlin", (3, "sun")),  # CEST: 02:00 never happens
    (datetime(2024, 5, 1, 18, 29, 59, tzinfo=UTC), "Asia/Kolkata", (23, "wed")),  # UTC+5:30
    (datetime(2024, 5, 1, 18, 30, tzinfo=UTC), "Asia/Kolkata", (0, "thu")),
])
def test_local_hour_and_weekday(instant, tz, expected):
    assert local_hour_weekday(instant.timestamp(), tz) == expected


def test_uses_clock_looks_under_every_operator():
    assert uses_clock({"not": {"and": [{"or": []}, {"hour": {"in": [1], "tz": "UTC"}}]}})
    assert not uses_clock({"and": [{"time": {"gte": 1.0, "lte": None}}]})


# Zones ---------------------------------------------------------------------------------------------

# A crosswalk across the lower half of the image of camera "north"; camera "south" has none.
CROSSWALK = {"north": {"polygon": [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]], "anchor": "bottom_center"}}


def zone_video(camera: str | None) -> Analytics:
    """Frame 0: a person standing in the crosswalk (box 0.4..0.6 x 0.3..0.8: feet at y 0.8, centre at
    y 0.55); frame 1: a person above it (feet at y 0.45); frame 2: a person without a box."""
    records = [ObjectRecord(0, 0.0, "person", box=(0.4, 0.3, 0.6, 0.8)),
               ObjectRecord(1, 0.1, "person", box=(0.4, 0.1, 0.6, 0.45)),
               ObjectRecord(2, 0.2, "person")]
    return Analytics.from_list(format="test", meta=VideoMeta(fps=10.0, camera=camera), records=records)


@pytest.mark.parametrize(("anchor", "q", "expected"), [
    ("bottom_center", "person IN ZONE crosswalk", [0]),
    ("bottom_center", "NOT person IN ZONE crosswalk", [1, 2]),
    ("bottom_center", "vehicle IN ZONE crosswalk", []),
    ("center", "person IN ZONE crosswalk", [0]),  # centre (0.5, 0.55)
])
def test_zones_test_the_anchor_point_of_a_box(engine, anchor, q, expected):
    engine.index_video(video_id=1, name="north-1", analytics=zone_video("north"))
    engine.index_video(video_id=2, name="south-1", analytics=zone_video("south"))
    zones = {"crosswalk": {camera: {**zone, "anchor": anchor} for camera, zone in CROSSWALK.items()}}
    request = SearchRequest(ontology=ONTOLOGY, query=compile_query(q=q, ontology=ONTOLOGY, zones=zones), gap_s=0.0,
                            page_size=50, facets=[])
    clips = engine.search(request=request).clips
    # Camera south has no crosswalk: its frames never match, and always match the NOT.
    north = [clip.start_frame for clip in clips if clip.video_id == 1]
    south = [clip.start_frame for clip in clips if clip.video_id == 2]
    assert north == expected
    assert south == ([0, 1, 2] if q.startswith("NOT") else [])
