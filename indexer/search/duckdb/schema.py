"""The DuckDB index's tables, as each segment file holds them (a generation's are the union of
its segments', :mod:`~indexer.search.duckdb.catalog`).

Attribute values are typed: categorical and boolean values are integer keys into
``attr_keys``, whose text ``vt`` is ``'s:<text>'`` or ``'b:true'``, so ``"true"``,
``True`` and ``1.0`` never meet; numbers live in ``n``. The tables:

- ``attr_keys(key_id, scope, label, name, vt, s, b)``: one row per distinct categorical or
  boolean value of an attribute (scope ``object``/``frame``/``video``/``event``, label ``''``
  for frame and video attributes). Facets group by ``key_id`` and query conditions match
  keys with an integer semi-join, both far cheaper than comparing strings per detection;
- ``videos(video_id, name, camera, recorded_at, fps)``, ``video_attrs(video_id, name, key_id, n)``
  holding :func:`~indexer.search.semantics.video_values` (built-ins included, so
  ``video`` nodes and facets read one table);
- ``frames(frame_id, video_id, idx, t, lat, lon, n_objects)`` with
  ``frame_id = video_id << 32 | idx``; ``n_objects`` (detections in the frame)
  lets frame facets count objects without touching ``objects``;
- ``frame_attrs(frame_id, video_id, name, key_id, n)``, one row per frame and name;
- ``objects(object_id, frame_id, video_id, label, track, track_key, confidence, x1, y1, x2, y2)``;
  ``track_key`` numbers a (video, track) pair so distinct tracks are one BIGINT;
- ``object_attrs(object_id, frame_id, video_id, label, track_key, name, key_id, n)``: the
  *effective* attributes (track constants merged in), label and frame denormalized so
  object facets are one scan;
- ``events(event_id, video_id, label, start_idx, end_idx, confidence)``,
  ``event_attrs(event_id, video_id, name, key_id, n)``.

Rows are appended per video: frames and objects in frame order, attribute rows by
``key_id`` (zone maps then skip row groups for key filters).

Across segments (and in a merged one, across the segments it merged) rows have no order. Which
videos each generation wrote is logged in its manifest (:mod:`indexer.search.duckdb.generations`);
``track_vectors`` is defined by :mod:`indexer.search.duckdb.track_vectors`.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    video_id BIGINT NOT NULL, name VARCHAR, camera VARCHAR, recorded_at DOUBLE, fps DOUBLE NOT NULL);
CREATE TABLE IF NOT EXISTS attr_keys (
    key_id INTEGER NOT NULL, scope VARCHAR NOT NULL, label VARCHAR NOT NULL, name VARCHAR NOT NULL,
    vt VARCHAR NOT NULL, s VARCHAR, b BOOLEAN);
CREATE TABLE IF NOT EXISTS video_attrs (
    video_id BIGINT NOT NULL, name VARCHAR NOT NULL, key_id INTEGER, n DOUBLE);
CREATE TABLE IF NOT EXISTS frames (
    frame_id BIGINT NOT NULL, video_id BIGINT NOT NULL, idx BIGINT NOT NULL, t DOUBLE NOT NULL,
    lat DOUBLE, lon DOUBLE, n_objects INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS frame_attrs (
    frame_id BIGINT NOT NULL, video_id BIGINT NOT NULL, name VARCHAR NOT NULL, key_id INTEGER, n DOUBLE);
CREATE TABLE IF NOT EXISTS objects (
    object_id BIGINT NOT NULL, frame_id BIGINT NOT NULL, video_id BIGINT NOT NULL, label VARCHAR NOT NULL,
    track VARCHAR, track_key BIGINT, confidence DOUBLE, x1 DOUBLE, y1 DOUBLE, x2 DOUBLE, y2 DOUBLE);
CREATE TABLE IF NOT EXISTS object_attrs (
    object_id BIGINT NOT NULL, frame_id BIGINT NOT NULL, video_id BIGINT NOT NULL, label VARCHAR NOT NULL,
    track_key BIGINT, name VARCHAR NOT NULL, key_id INTEGER, n DOUBLE);
CREATE TABLE IF NOT EXISTS events (
    event_id BIGINT NOT NULL, video_id BIGINT NOT NULL, label VARCHAR NOT NULL,
    start_idx BIGINT NOT NULL, end_idx BIGINT NOT NULL, confidence DOUBLE);
CREATE TABLE IF NOT EXISTS event_attrs (
    event_id BIGINT NOT NULL, video_id BIGINT NOT NULL, name VARCHAR NOT NULL, key_id INTEGER, n DOUBLE);
"""
# The tables holding a video's rows (deleting a video deletes from each).
TABLES = ("videos", "video_attrs", "frames", "frame_attrs", "objects", "object_attrs", "events", "event_attrs")
