"""How a DuckDB write registers attribute values (indexer.search.duckdb.staging): every new value
gets the next key, scope by scope (object, frame, video, event), each scope's by label, name and
value; a value the index already holds keeps its key. And the counts a write reports."""

from __future__ import annotations

import duckdb
import pytest

from indexer.records import Analytics, EventRecord, FrameRecord, ObjectRecord, VideoMeta
from indexer.search.duckdb import SearchBackend
from indexer.search.duckdb.sql import row_counts


@pytest.fixture
def engine(tmp_path):
    engine = SearchBackend(tmp_path)
    yield engine
    engine.close()


def video(colors: list[str], scene: str, weather: str, event_kind: str) -> Analytics:
    records = [FrameRecord(0, 0.0, attrs={"scene": scene, "on_road": True})]
    records += [ObjectRecord(0, 0.0, "vehicle", attrs={"color": color, "speed": 12.5}) for color in colors]
    records.append(EventRecord("stop", 0, 0, attrs={"kind": event_kind}))
    return Analytics.from_list(format="test", meta=VideoMeta(fps=30.0, attrs={"weather": weather}), records=records)


def keys(engine: SearchBackend) -> list[tuple]:
    return engine._reader().execute("SELECT key_id, scope, label, name, vt FROM attr_keys ORDER BY key_id").fetchall()


def test_new_values_are_numbered_scope_by_scope_after_the_keys_the_index_holds(engine):
    engine.index_video(video_id=1, name="v1", analytics=video(["red", "blue"], "street", "fog", "full"))
    engine.index_video(video_id=2, name="v2", analytics=video(["red", "green"], "street", "rain", "rolling"))

    assert keys(engine) == [
        # The first write: numbers (speed) have no key; the video's name is a video value.
        (1, "object", "vehicle", "color", "s:blue"),
        (2, "object", "vehicle", "color", "s:red"),
        (3, "frame", "", "on_road", "b:true"),
        (4, "frame", "", "scene", "s:street"),
        (5, "video", "", "name", "s:v1"),
        (6, "video", "", "weather", "s:fog"),
        (7, "event", "stop", "kind", "s:full"),
        # The second: only what is new, after key 7; red and street keep their keys.
        (8, "object", "vehicle", "color", "s:green"),
        (9, "video", "", "name", "s:v2"),
        (10, "video", "", "weather", "s:rain"),
        (11, "event", "stop", "kind", "s:rolling"),
    ]


def test_a_write_reports_what_it_indexed(engine):
    counts = engine.index_video(video_id=1, name="v1", analytics=video(["red", "blue", "red"], "street", "fog", "x"))

    assert (counts.frames, counts.objects, counts.tracks, counts.events) == (1, 3, 0, 1)


def test_row_counts_come_in_the_order_of_their_sources():
    con = duckdb.connect()
    con.execute("CREATE TABLE many AS SELECT range AS n FROM range(1000)")
    con.execute("CREATE TABLE none (n BIGINT)")

    assert row_counts(con, ["none", "many", "many WHERE n < 7", "none"]) == [0, 1000, 7, 0]
