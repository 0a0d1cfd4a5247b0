"""Elasticsearch index backend: the production engine (SPEC 8), built with ``elasticsearch.dsl``.

Semantics are those of :mod:`indexer.backends.reference` (the truth); this module maps them
onto an Elasticsearch cluster and keeps every count exact.

**Documents.** One document per labeled frame (``doc_type: frame``), in the index behind the
alias ``<prefix>-frames``; mapping ``dynamic: strict``, from the composable index template
``<prefix>-frames`` (pattern ``<prefix>-frames-*``):

- ``video_id``, ``frame`` (index), ``t``, ``n_objects``; ``lat``/``lon`` as ``double`` (exact,
  what geo queries compare) and ``location`` as ``geo_point`` (for maps and other tools);
- ``keys``: typed terms (:mod:`indexer.backends.es_query`) for everything said about the frame:
  ``["frame",attr,value]``, ``["video",attr,value]`` (video attributes and the built-ins name,
  camera, recorded_at, denormalized onto every frame), and one term per facet value that holds
  on the frame (``["label",L]``, ``["object",L,attr,value]``, ``["event",L]``,
  ``["event",L,attr,value]``); ``nums`` (nested ``{name, n}``) for frame and video numbers;
- ``objects`` (``nested``: one hidden document per detection, so "a black sedan" is one object):
  ``label``, ``track``, ``confidence``, ``box`` (source only), ``attrs`` (typed terms
  ``[attr,value]`` of the effective attributes, track constants applied), ``nums`` (nested
  numbers) and ``facets`` (the object's facet terms, for object counts);
- ``events`` (``nested``): each event whose span holds the frame, with ``label``, ``attrs``, ``nums``;
- ``tracks`` (track ids of the frame's detections) and ``track_keys`` (``[facet term, track]``
  pairs) for the ``tracks`` unit.

Typed terms keep ``"true"``, ``true`` and ``1.0`` apart without one mapping field per attribute,
so the mapping does not grow with the ontology and any attribute name is safe.

**Routing and generations.** Every document of a video is routed by ``video_id``, so a video
lives in one shard. Frames carry ``gen`` (a fresh id per write) and ``vgen``
(``"<video_id>:<gen>"``); a pointer document ``video-<id>`` (``doc_type: video``: name, fps,
recorded_at, current ``gen``), routed with the frames, says which generation is live. ``index_video`` stages
the records on disk and validates them, bulk-indexes the new generation
(``<video_id>-<gen>-<frame>`` ids: deterministic within a write, so a retried bulk chunk
overwrites rather than duplicates), then flips the pointer with optimistic concurrency
(``if_seq_no``/``if_primary_term``) and ``refresh=true``, then deletes the replaced generation by
query. A search opens a point in time, reads the pointers through it, and filters every frame
query on the live ``vgen`` values. Pointer and frames share a shard and the pointer is written
after the frames were acknowledged, so a point in time that sees a pointer sees all its frames,
and old frames are deleted only after the flip: a search sees the old analytics or the new,
never a mix. A failed write deletes its own generation; frames of a writer that died in between
stay invisible (not live) until the next rebuild.

**Appends** (live streams) ask the live generation, in one search, which of the chunk's frames
and track ids it already has (``post_filter`` on the frames, an exact ``terms`` aggregation on the
tracks), copy the video's frames into a new generation on the cluster with ``_reindex`` (a
Painless script re-tags ``gen``/``vgen`` and the id; routing is kept), bulk-index the new frames
into it, then flip the pointer and delete the old generation as ``index_video`` does: a search sees
the whole chunk or none of it. Each append copies the video once, server-side.

**Tracks** (similarity search): each track with a vector (:mod:`indexer.backends.vectors`) is
one document (``doc_type: track``) routed and generated with its video's frames: ``track``,
``label``, ``vtrack`` (``"<video_id>:<track>"``, for candidate filters), ``dim``, ``vector``
(``dense_vector``, indexed, cosine similarity; its dimension is fixed by the first vector an index
receives) and ``span`` (source only). It carries ``tvgen`` rather than ``vgen``, so frame queries
never see it; deleting a generation deletes its tracks too.

**Rebuilds** create ``<prefix>-frames-<UTC timestamp>`` from the template, bulk-load every video,
refresh, and move the alias in one ``_aliases`` request (remove from the old index, add to the
new one), as elasticsearch-dsl-py's ``examples/alias_migration.py`` does; the index it replaced
is kept for searches still holding a point in time on it, older ones are deleted.

**Reading** (searches and statistics, :mod:`indexer.backends.es_search`) happens under one
point in time per call. **Exact counts** (no ``cardinality``, which is approximate): facets in the
``objects`` and ``frames`` units are aggregations computed the way ``FacetedSearch`` does: the first request
has the query in ``query``, all filters in ``post_filter`` and one ``filter`` aggregation per
frame set (all filters but the facet's own), holding ``terms`` aggregations whose ``include``
lists exactly the facet values' terms and whose ``size``/``shard_size`` equal that list's
length, so no shard can leave a term out (objects: ``nested`` + ``terms`` on
``objects.facets``; frames: ``terms`` on ``keys``; objects of frame facets: ``sum`` of
``n_objects``). Clips, tracks and videos are distinct sets: the matching frames are streamed
with ``search_after`` under the point in time, sorted by ``(video_id, t, frame)``, carrying
only doc values, and counted in Python (clips with the reference's gap rule, fps from the
pointer). The same stream gives the counts and the page of clips; a filtered facet counted in
one of those units streams its own frame set. Statistics (SPEC 5) stream the matching frames the
same way and reuse the reference's helpers (tiles, time bins, seconds, scope rules); ``geotile_grid``
and ``histogram`` aggregations are not used because their float formulas run on rounded values and
could put a frame on the border of a tile or bin in another cell than the reference does.

**Not exact, by design of Elasticsearch:** numbers are compared as doubles (as in the DuckDB
engine); frame times, confidences and GPS coordinates must be finite (``ValueError``
otherwise: Elasticsearch's numeric fields hold only finite numbers; ingest validation rejects
them anyway); a point outside [-90, 90] x [-180, 180] keeps exact ``lat``/``lon`` for queries
but no ``location`` (``ignore_malformed``); a box with a non-finite coordinate is not stored;
at most ``index.max_terms_count`` (262,144) live
videos per index, the size of the live-generation filter.
"""

from __future__ import annotations

import itertools
import json
import math
import sqlite3
import uuid
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from elasticsearch import ConflictError, Elasticsearch, NotFoundError, helpers
from elasticsearch.dsl import (
    DenseVector,
    Double,
    GeoPoint,
    Index,
    InnerDoc,
    Integer,
    Keyword,
    Long,
    Mapping,
    Nested,
    Object,
    Q,
)
from elasticsearch.dsl.query import Query

from indexer.backends import es_search
from indexer.backends.base import (
    AppendResult,
    BaseSearchBackend,
    Cooccurrence,
    CooccurrencePairs,
    Detection,
    IndexCounts,
    LocatedFrame,
    SearchRequest,
    SearchResult,
    SimilarTrack,
    Timeline,
)
from indexer.backends.duckdb import frame_locations
from indexer.backends.es_query import FRAME, VIDEO, all_of, is_finite_number, live_key, term, value_term
from indexer.backends.reference import (
    append_split,
    check_frame_index,
    check_video_id,
    effective_fps,
    refuse_track_records,
    sorted_gps,
    value_kind,
    video_values,
)
from indexer.backends.vectors import TrackVectorBuilder
from indexer.records import Analytics, AttrValue, EventRecord, FrameRecord, ObjectRecord, TrackRecord

BULK_CHUNK = 500
STAGE_BATCH = 10_000
LOCATE_BATCH = 2_048
PUBLISH_ATTEMPTS = 5
MAX_LIVE_VIDEOS = 262_144
NESTED_OBJECTS_LIMIT = 100_000
TEMPLATE_PRIORITY = 200
TRACK = "track"  # doc_type of track documents (similarity search)


# Mapping -----------------------------------------------------------------------------------------


class _Number(InnerDoc):
    name = Keyword()
    n = Double()


class _Object(InnerDoc):
    label = Keyword()
    track = Keyword()
    confidence = Double()
    box = Double(index=False, doc_values=False)
    attrs = Keyword()
    nums = Nested(_Number)
    facets = Keyword()


class _Event(InnerDoc):
    label = Keyword()
    attrs = Keyword()
    nums = Nested(_Number)


def frame_mapping() -> Mapping:
    """The mapping of frame and pointer documents (module docstring)."""
    mapping = Mapping()
    mapping.meta("dynamic", "strict")
    mapping.meta("_routing", required=True)
    for name, kind in (("doc_type", Keyword), ("gen", Keyword), ("vgen", Keyword), ("name", Keyword),
                       ("keys", Keyword), ("tracks", Keyword), ("track_keys", Keyword),
                       ("video_id", Long), ("frame", Long), ("n_objects", Integer),
                       ("fps", Double), ("recorded_at", Double), ("t", Double), ("lat", Double), ("lon", Double),
                       ("track", Keyword), ("tvgen", Keyword), ("vtrack", Keyword), ("label", Keyword),
                       ("dim", Integer)):
        mapping.field(name, kind())
    mapping.field("vector", DenseVector(index=True, similarity="cosine"))
    mapping.field("span", Object(enabled=False))
    mapping.field("location", GeoPoint(ignore_malformed=True))
    mapping.field("nums", Nested(_Number))
    mapping.field("objects", Nested(_Object))
    mapping.field("events", Nested(_Event))
    return mapping


def new_generation() -> str:
    """A fresh generation id: unique, so concurrent writers of one video never share documents."""
    return uuid.uuid4().hex


def pointer_id(video_id: int) -> str:
    return f"video-{video_id}"


# Documents ---------------------------------------------------------------------------------------


@dataclass
class _Detection:
    label: str
    track: str | None
    confidence: float | None
    box: list[float] | None
    attrs: dict[str, Any]


@dataclass
class _FrameRows:
    index: int
    t: float
    attrs: dict[str, Any] = field(default_factory=dict)
    objects: list[_Detection] = field(default_factory=list)


def _json_attrs(attrs: dict[str, AttrValue]) -> str:
    # Values of no kind are kept (as null) so that "first wins" still sees them.
    return json.dumps({name: value if value_kind(value) else None for name, value in attrs.items()})


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{what} {value} is not a finite number")
    return value


def _typed_terms(attrs: dict[str, Any], *scope: str) -> list[str]:
    return sorted({value_term(*scope, name, value=value) for name, value in attrs.items()} - {None})


def _numbers(attrs: dict[str, Any], name_of) -> list[dict[str, Any]]:
    return [{"name": name_of(name), "n": float(value)} for name, value in attrs.items() if is_finite_number(value)]


def _facet_values(attrs: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(name, value) for name, value in attrs.items() if value_kind(value) in ("str", "bool")]


class VideoDocuments:
    """One video's documents.

    The record stream is read once into a temporary on-disk SQLite database (validating frame
    indices, times and confidences on the way), then read back ordered by frame: memory holds a
    batch of frames, the track constants and the events, never the whole payload.
    """

    def __init__(self, *, video_id: int, name: str, analytics: Analytics, gen: str):
        check_video_id(video_id)
        meta = analytics.meta
        self.video_id, self.name, self.gen = video_id, name, gen
        self.fps = effective_fps(meta)
        self.gps = sorted_gps(meta)
        for waypoint in self.gps:
            _finite(waypoint.t, "GPS time")
            _finite(waypoint.lat, "GPS latitude")
            _finite(waypoint.lon, "GPS longitude")
        values = video_values(name, meta)
        self.recorded_at = values.get("recorded_at")
        self.video_keys = _typed_terms(values, VIDEO)
        self.video_nums = _numbers(values, lambda attr: term(VIDEO, attr))
        self.constants: dict[str, dict[str, Any]] = {}
        self.events: list[EventRecord] = []
        self.tracks: set[str] = set()
        self.objects = 0
        self.db = sqlite3.connect("")  # a private temporary database on disk
        vectors = TrackVectorBuilder()
        try:
            self._stage(vectors.tap(analytics))
        except BaseException:
            self.db.close()
            raise
        self.track_vectors = vectors.tracks()

    def close(self) -> None:
        self.db.close()

    def _stage(self, analytics: Analytics) -> None:
        self.db.execute(
            "CREATE TABLE records (idx INTEGER NOT NULL, seq INTEGER NOT NULL, is_object INTEGER NOT NULL, "
            "t REAL NOT NULL, label TEXT, track TEXT, confidence REAL, box TEXT, attrs TEXT NOT NULL)"
        )
        rows: list[tuple] = []
        for seq, record in enumerate(analytics.records()):
            if isinstance(record, FrameRecord | ObjectRecord):
                check_frame_index(record.index)
                _finite(record.t, f"time of frame {record.index}")
            if isinstance(record, FrameRecord):
                rows.append((record.index, seq, 0, record.t, None, None, None, None, _json_attrs(record.attrs)))
            elif isinstance(record, ObjectRecord):
                if record.confidence is not None:
                    _finite(record.confidence, f"confidence in frame {record.index}")
                box = list(record.box) if record.box and all(map(math.isfinite, record.box)) else None
                rows.append((record.index, seq, 1, record.t, record.label, record.track, record.confidence,
                             json.dumps(box), _json_attrs(record.attrs)))
                self.objects += 1
                if record.track is not None:
                    self.tracks.add(record.track)
            elif isinstance(record, TrackRecord):
                constants = self.constants.setdefault(record.track, {})
                for attr, value in record.attrs.items():
                    constants.setdefault(attr, value)
            elif isinstance(record, EventRecord):
                self.events.append(record)
            if len(rows) >= STAGE_BATCH:
                self.db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                rows.clear()
        self.db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        (self.frame_count,) = self.db.execute("SELECT count(DISTINCT idx) FROM records").fetchone()

    @property
    def counts(self) -> IndexCounts:
        return IndexCounts(frames=self.frame_count, objects=self.objects, tracks=len(self.tracks),
                           events=len(self.events))

    def pointer(self) -> dict[str, Any]:
        """The pointer document: which generation of this video is live."""
        return {"doc_type": VIDEO, "video_id": self.video_id, "gen": self.gen, "name": self.name, "fps": self.fps,
                "recorded_at": self.recorded_at}

    def actions(self, index: str) -> Iterator[dict[str, Any]]:
        """Bulk ``index`` actions for every frame document of this generation."""
        routing = str(self.video_id)
        for document in self.frame_documents():
            yield {"_op_type": "index", "_index": index, "_routing": routing,
                   "_id": f"{self.video_id}-{self.gen}-{document['frame']}", "_source": document}
        for document in self.track_documents():
            yield {"_op_type": "index", "_index": index, "_routing": routing,
                   "_id": f"{self.video_id}-{self.gen}-track-{document['track']}", "_source": document}

    def track_documents(self) -> Iterator[dict[str, Any]]:
        """One document per track with a vector, of this generation."""
        for track in self.track_vectors:
            yield {
                "doc_type": TRACK, "video_id": self.video_id, "gen": self.gen,
                "tvgen": live_key(self.video_id, self.gen), "track": track.track,
                "vtrack": es_search.track_key(self.video_id, track.track), "label": track.label,
                "dim": track.vector.size, "vector": track.vector.tolist(),
                "span": {"first_frame": track.first_index, "last_frame": track.last_index,
                         "first_t": track.first_t, "last_t": track.last_t, "frames": track.frames},
            }

    def frame_documents(self) -> Iterator[dict[str, Any]]:
        events = _EventSweep(self.events)
        frames = self._frames()
        while batch := list(itertools.islice(frames, LOCATE_BATCH)):
            lat, lon = frame_locations(self.gps, np.array([frame.t for frame in batch], dtype=float))
            for frame, y, x in zip(batch, lat.tolist(), lon.tolist(), strict=True):
                yield self._frame_document(frame, None if math.isnan(y) else (y, x), events.covering(frame.index))

    def _frames(self) -> Iterator[_FrameRows]:
        rows = self.db.execute(
            "SELECT idx, t, is_object, label, track, confidence, box, attrs FROM records ORDER BY idx, seq")
        for index, group in itertools.groupby(rows, key=lambda row: row[0]):
            frame: _FrameRows | None = None
            for _, t, is_object, label, track, confidence, box, attrs in group:
                frame = frame or _FrameRows(index, t)  # t of the first record that names the frame
                if not is_object:
                    for attr, value in json.loads(attrs).items():
                        frame.attrs.setdefault(attr, value)
                    continue
                effective = json.loads(attrs)
                if track is not None:
                    effective.update(self.constants.get(track, {}))
                frame.objects.append(_Detection(label, track, confidence, json.loads(box), effective))
            yield frame

    def _frame_document(self, frame: _FrameRows, location: tuple[float, float] | None,
                        events: list[dict[str, Any]]) -> dict[str, Any]:
        keys = set(self.video_keys)
        keys.update(_typed_terms(frame.attrs, FRAME))
        track_keys: set[str] = set()
        objects = []
        for detection in frame.objects:
            facets = [term("label", detection.label)]
            facets += [term("object", detection.label, name, value) for name, value in _facet_values(detection.attrs)]
            keys.update(facets)
            if detection.track is not None:
                track_keys.update(json.dumps([facet, detection.track]) for facet in facets)
            objects.append(_object_document(detection, facets))
        for event in events:
            keys.update(event["keys"])
        document = {
            "doc_type": FRAME, "video_id": self.video_id, "gen": self.gen, "vgen": live_key(self.video_id, self.gen),
            "frame": frame.index, "t": frame.t, "n_objects": len(frame.objects),
            "keys": sorted(keys),
            "nums": _numbers(frame.attrs, lambda attr: term(FRAME, attr)) + self.video_nums,
            "tracks": sorted({detection.track for detection in frame.objects if detection.track is not None}),
            "track_keys": sorted(track_keys),
            "objects": objects,
            "events": [event["document"] for event in events],
        }
        if location is not None:
            lat, lon = location
            document.update(lat=lat, lon=lon, location={"lat": lat, "lon": lon})
        return document


def _object_document(detection: _Detection, facets: list[str]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "label": detection.label,
        "attrs": _typed_terms(detection.attrs),
        "nums": _numbers(detection.attrs, str),
        "facets": facets,
    }
    for name in ("track", "confidence", "box"):
        if getattr(detection, name) is not None:
            document[name] = getattr(detection, name)
    return document


@dataclass
class _Indexed:
    frames: set[int]
    tracks: set[str]


# Re-tags a copied document with the new generation; ids follow: <video>-<gen>-<frame> for frames,
# <video>-<gen>-track-<track> for track documents (which carry tvgen, not vgen).
COPY_GENERATION = ("ctx['_source']['gen'] = params.gen; "
                   "if (ctx['_source']['doc_type'] == 'track') { ctx['_source']['tvgen'] = params.vgen; "
                   "ctx['_id'] = params.prefix + 'track-' + ctx['_source']['track']; } "
                   "else { ctx['_source']['vgen'] = params.vgen; "
                   "ctx['_id'] = params.prefix + ctx['_source']['frame']; }")


class _EventSweep:
    """The events whose inclusive span holds each frame index, asked in ascending order."""

    def __init__(self, events: list[EventRecord]):
        self.pending = sorted(events, key=lambda event: event.start_index)
        self.next = 0
        self.active: list[tuple[EventRecord, dict[str, Any]]] = []

    def covering(self, index: int) -> list[dict[str, Any]]:
        while self.next < len(self.pending) and self.pending[self.next].start_index <= index:
            event = self.pending[self.next]
            self.active.append((event, _event_parts(event)))
            self.next += 1
        self.active = [(event, parts) for event, parts in self.active if event.end_index >= index]
        return [parts for _, parts in self.active]


def _event_parts(event: EventRecord) -> dict[str, Any]:
    keys = [term("event", event.label)]
    keys += [term("event", event.label, name, value) for name, value in _facet_values(event.attrs)]
    document = {"label": event.label, "attrs": _typed_terms(event.attrs), "nums": _numbers(event.attrs, str)}
    return {"keys": keys, "document": document}


# The backend -------------------------------------------------------------------------------------


def _generation(video_id: int, gen: str) -> Query:
    """Every document (frames and tracks) of one generation of a video."""
    return Q("term", vgen=live_key(video_id, gen)) | Q("term", tvgen=live_key(video_id, gen))


def connect(*, url: str, username: str = "", password: str = "", api_key: str = "", ca_certs: str = "",
            timeout: float = 30.0, max_retries: int = 3) -> Elasticsearch:
    """A client for the cluster at ``url``: basic auth or an API key, an optional CA bundle, a
    request timeout, and retries (also on timeouts) across the cluster's nodes."""
    if not url:
        raise ValueError("the Elasticsearch engine needs a cluster URL (ELASTICSEARCH_URL)")
    return Elasticsearch(
        hosts=[url],
        basic_auth=(username, password) if username else None,
        api_key=api_key or None,
        ca_certs=ca_certs or None,
        request_timeout=timeout,
        max_retries=max_retries,
        retry_on_timeout=True,
    )


class SearchBackend(BaseSearchBackend):
    """Elasticsearch engine over the alias ``<index_prefix>-frames`` (module docstring)."""

    def __init__(self, url: str = "", username: str = "", password: str = "", api_key: str = "",
                 ca_certs: str = "", timeout: float = 30.0, max_retries: int = 3, index_prefix: str = "scoop",
                 shards: int = 1, replicas: int = 1, page_size: int = 5_000, client: Elasticsearch | None = None):
        self.client = client or connect(url=url, username=username, password=password, api_key=api_key,
                                        ca_certs=ca_certs, timeout=timeout, max_retries=max_retries)
        self.alias = f"{index_prefix}-frames"
        self.shards = shards
        self.replicas = replicas
        self.page_size = page_size
        self.max_retries = max_retries

    # Index layout

    def index_template(self) -> dict[str, Any]:
        """The composable index template every frames index is created from (the body of
        ``PUT _index_template/<prefix>-frames``)."""
        index = Index(f"{self.alias}-*")
        index.settings(number_of_shards=self.shards, number_of_replicas=self.replicas,
                       max_terms_count=MAX_LIVE_VIDEOS, **{"mapping.nested_objects.limit": NESTED_OBJECTS_LIMIT})
        index.mapping(frame_mapping())
        # Not Index.as_composable_template(): its copy of the index drops the mapping's dynamic and
        # _routing settings.
        return {"index_patterns": [f"{self.alias}-*"], "template": index.to_dict(), "priority": TEMPLATE_PRIORITY}

    def _put_template(self) -> None:
        self.client.indices.put_index_template(name=self.alias, **self.index_template())

    def _indices(self) -> list[str]:
        """Every frames index of this prefix, live or not."""
        return sorted(self.client.indices.get_alias(index=f"{self.alias}-*").body)

    def _live_indices(self) -> list[str]:
        if not self.client.indices.exists_alias(name=self.alias):
            return []
        return sorted(self.client.indices.get_alias(name=self.alias).body)

    def _ensure_index(self) -> None:
        """Create the template and a first index behind the alias unless the alias exists."""
        if self.client.indices.exists_alias(name=self.alias):
            return
        self._put_template()
        # A fixed name: when two writers race here, the second create fails and both use the first.
        self.client.options(ignore_status=400).indices.create(index=f"{self.alias}-initial",
                                                              aliases={self.alias: {}})
        if not self.client.indices.exists_alias(name=self.alias):
            raise RuntimeError(f"could not create the Elasticsearch alias {self.alias}")

    def _bulk(self, actions: Iterable[dict[str, Any]]) -> None:
        for _ok, _item in helpers.streaming_bulk(self.client, actions, chunk_size=BULK_CHUNK,
                                                 max_retries=self.max_retries, raise_on_error=True):
            pass

    def _delete_frames(self, video_id: int, query: Query) -> None:
        response = self.client.delete_by_query(
            index=self.alias, routing=str(video_id),
            query=all_of([Q("terms", doc_type=[FRAME, TRACK]), query]).to_dict(),
            conflicts="proceed", refresh=True)
        if response.get("failures"):
            raise RuntimeError(f"deleting frames of video {video_id} failed: {response['failures']}")

    def _publish(self, documents: VideoDocuments) -> str | None:
        """Point the video at the new generation; the generation it replaced (None: a new video)."""
        routing = str(documents.video_id)
        for _attempt in range(PUBLISH_ATTEMPTS):
            current = self.client.options(ignore_status=404).get(
                index=self.alias, id=pointer_id(documents.video_id), routing=routing, source=["gen"])
            try:
                if not current.get("found"):
                    self.client.create(index=self.alias, id=pointer_id(documents.video_id), routing=routing,
                                       document=documents.pointer(), refresh=True)
                    return None
                self.client.index(index=self.alias, id=pointer_id(documents.video_id), routing=routing,
                                  document=documents.pointer(), if_seq_no=current["_seq_no"],
                                  if_primary_term=current["_primary_term"], refresh=True)
                return current["_source"]["gen"]
            except ConflictError:
                continue  # another writer flipped the pointer in between: read it again
        raise RuntimeError(f"video {documents.video_id} is being written concurrently; gave up after "
                           f"{PUBLISH_ATTEMPTS} attempts")

    # Writing

    def index_video(self, *, video_id: int, name: str, analytics: Analytics) -> IndexCounts:
        """Write a new generation of the video, flip its pointer, delete the old generation."""
        documents = VideoDocuments(video_id=video_id, name=name, analytics=analytics, gen=new_generation())
        try:
            self._ensure_index()
            try:
                self._bulk(documents.actions(self.alias))
                replaced = self._publish(documents)
            except BaseException:
                # Best effort: the generation is invisible without its pointer, and the write's own
                # error is the one to report.
                with suppress(Exception):
                    self._delete_frames(video_id, _generation(video_id, documents.gen))
                raise
            if replaced is not None:
                self._delete_frames(video_id, _generation(video_id, replaced))
            return documents.counts
        finally:
            documents.close()

    def append_frames(self, *, video_id: int, name: str, analytics: Analytics) -> AppendResult:
        """Copy the live generation into a new one on the cluster (``_reindex``), add the chunk's
        new frames to it, flip the pointer, delete the old generation: searches see the video
        before the chunk or after it, never part of it (the cost: each append copies the video)."""
        check_video_id(video_id)
        records = list(analytics.records())
        refuse_track_records(records)
        self._ensure_index()
        current = self.client.options(ignore_status=404).get(
            index=self.alias, id=pointer_id(video_id), routing=str(video_id), source=["gen", "fps"])
        if not current.get("found"):
            counts = self.index_video(video_id=video_id, name=name, analytics=analytics)
            split = append_split(records, set())
            return AppendResult(appended=counts, duplicate_frames=0, duplicate_objects=0, indices=sorted(split.fresh))
        old_gen = current["_source"]["gen"]
        indexed = self._indexed(video_id, old_gen, records)
        split = append_split(records, indexed.frames)
        if not split.fresh:
            return AppendResult(appended=IndexCounts(0, 0, 0, 0), duplicate_frames=split.duplicate_frames,
                                duplicate_objects=split.duplicate_objects, indices=[])
        # An indexed video keeps its fps; the caller's meta gives the rest, as when it was created.
        meta = replace(analytics.meta, fps=current["_source"]["fps"])
        documents = VideoDocuments(video_id=video_id, name=name, gen=new_generation(),
                                   analytics=Analytics.from_list(format=analytics.format, meta=meta,
                                                                 records=split.kept))
        try:
            try:
                self._copy_generation(video_id, old_gen, documents.gen)
                self._bulk(documents.actions(self.alias))
                replaced = self._publish(documents)
            except BaseException:
                with suppress(Exception):
                    self._delete_frames(video_id, Q("term", vgen=live_key(video_id, documents.gen)))
                raise
            if replaced is not None:
                self._delete_frames(video_id, Q("term", vgen=live_key(video_id, replaced)))
            counts = documents.counts
            return AppendResult(
                appended=IndexCounts(frames=counts.frames, objects=counts.objects,
                                     tracks=len(documents.tracks - indexed.tracks), events=counts.events),
                duplicate_frames=split.duplicate_frames, duplicate_objects=split.duplicate_objects,
                indices=sorted(split.fresh))
        finally:
            documents.close()

    def _indexed(self, video_id: int, gen: str, records: list[Any]) -> _Indexed:
        """Which of the chunk's frame indices and track ids the live generation already has, in one
        search: the frames through ``post_filter``, the tracks by a ``terms`` aggregation listing
        exactly the chunk's track ids (so its counts are exact)."""
        indices = sorted({record.index for record in records if isinstance(record, FrameRecord | ObjectRecord)})
        tracks = sorted({record.track for record in records if isinstance(record, ObjectRecord) and record.track})
        body: dict[str, Any] = {
            "query": all_of([Q("term", doc_type=FRAME), Q("term", vgen=live_key(video_id, gen))]).to_dict(),
            "post_filter": {"terms": {"frame": indices}},
            "size": len(indices), "_source": False, "docvalue_fields": ["frame"], "track_total_hits": False,
        }
        if tracks:
            body["aggs"] = {"tracks": {"terms": {"field": "tracks", "include": tracks, "size": len(tracks)}}}
        response = self.client.search(index=self.alias, routing=str(video_id), **body)
        frames = {hit["fields"]["frame"][0] for hit in response["hits"]["hits"]}
        known_tracks = {bucket["key"] for bucket in response.get("aggregations", {}).get("tracks", {}).get(
            "buckets", [])}
        return _Indexed(frames=frames, tracks=known_tracks)

    def _copy_generation(self, video_id: int, old_gen: str, new_gen: str) -> None:
        """Copy the video's frame and track documents of ``old_gen`` into ``new_gen`` on the cluster
        (routing kept), so that its similarity vectors stay live too."""
        frames = _generation(video_id, old_gen)
        params = {"gen": new_gen, "vgen": live_key(video_id, new_gen), "prefix": f"{video_id}-{new_gen}-"}
        response = self.client.reindex(
            source={"index": self.alias, "query": frames.to_dict()}, dest={"index": self.alias},
            script={"lang": "painless", "source": COPY_GENERATION, "params": params},
            refresh=True, wait_for_completion=True)
        if response.get("failures"):
            raise RuntimeError(f"copying the frames of video {video_id} failed: {response['failures']}")

    def delete_video(self, *, video_id: int) -> None:
        """Drop the pointer (searches stop seeing the video at once), then the frames."""
        if not self.client.indices.exists_alias(name=self.alias):
            return
        self.client.options(ignore_status=404).delete(index=self.alias, id=pointer_id(video_id),
                                                      routing=str(video_id), refresh=True)
        self._delete_frames(video_id, Q("term", video_id=video_id))

    def rebuild(self, *, videos: list[tuple[int, str, Analytics]]) -> None:
        """Load every video into a fresh index, then swap the alias onto it in one request."""
        latest = {video_id: (name, analytics) for video_id, name, analytics in videos}  # a repeated id: last wins
        for video_id in latest:
            check_video_id(video_id)
        self._put_template()
        index = f"{self.alias}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
        self.client.indices.create(index=index)
        try:
            for video_id in sorted(latest):
                name, analytics = latest[video_id]
                documents = VideoDocuments(video_id=video_id, name=name, analytics=analytics, gen=new_generation())
                try:
                    pointer = {"_op_type": "index", "_index": index, "_routing": str(video_id),
                               "_id": pointer_id(video_id), "_source": documents.pointer()}
                    self._bulk(itertools.chain(documents.actions(index), [pointer]))
                finally:
                    documents.close()
            self.client.indices.refresh(index=index)
            previous = self._live_indices()
            actions = [{"remove": {"index": old, "alias": self.alias}} for old in previous]
            self.client.indices.update_aliases(actions=[*actions, {"add": {"index": index, "alias": self.alias}}])
        except BaseException:
            with suppress(Exception):  # the alias never moved: the half-built index is only garbage
                self.client.options(ignore_status=404).indices.delete(index=index)
            raise
        # The index just replaced stays for searches still reading it; older ones go.
        stale = [name for name in self._indices() if name != index and name not in previous]
        if stale:
            self.client.options(ignore_status=404).indices.delete(index=stale)

    def drop(self) -> None:
        """Delete every index and the template of this prefix (tests, uninstalling)."""
        indices = self._indices()
        if indices:
            self.client.indices.delete(index=indices)
        self.client.options(ignore_status=404).indices.delete_index_template(name=self.alias)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()

    # Reading

    @contextmanager
    def _reader(self, request: SearchRequest | None = None) -> Iterator[es_search.Reader]:
        """The request's frames under one point in time (none when nothing was ever indexed)."""
        try:
            pit = es_search.PointInTime(self.client, self.alias, self.page_size)
        except NotFoundError:
            pit = None
        try:
            yield es_search.Reader(pit, request)
        finally:
            if pit is not None:
                pit.close()

    def search(self, *, request: SearchRequest) -> SearchResult:
        """Counts, disjunctive facets and a page of clips, all from one point in time."""
        search = es_search.FacetSearch(request)  # checks facet keys and units first, even on an empty index
        with self._reader(request) as reader:
            return search.run(reader)

    def video_ids(self) -> list[int]:
        """Ids of the videos whose pointer is live, ascending."""
        with self._reader() as reader:
            return sorted(reader.videos)

    # Statistics (SPEC 5): every one reads the frames matching the query AND all filters.

    def occurrence(self, *, request: SearchRequest, unit: str) -> dict[str, dict[Any, float]]:
        """Each facet value's count in ``unit``: aggregations for objects and frames, the
        streamed frames for the others."""
        return es_search.occurrence(self._reader, request, unit)

    def cooccurrence(self, *, request: SearchRequest, a: str, b: str, scope: str) -> Cooccurrence:
        """Counted over the streamed units (detections, frames or clips) of the matching frames."""
        return es_search.cooccurrence(self._reader, request, a, b, scope)

    def cooccurrence_pairs(self, *, request: SearchRequest, scope: str, facets: list[str]) -> CooccurrencePairs:
        """Marginals and pair counts over the streamed units of the matching frames."""
        return es_search.cooccurrence_pairs(self._reader, request, scope, facets)

    def geo_cells(self, *, request: SearchRequest, z: int, bbox: list[float] | None,
                  target: str) -> dict[tuple[int, int], int]:
        """Located matching frames tallied by the reference's tile formula on exact coordinates."""
        return es_search.geo_cells(self._reader, request, z, bbox, target)

    def located_frames(self, *, request: SearchRequest, bbox: list[float] | None,
                       batch_size: int = 10_000) -> Iterator[list[LocatedFrame]]:
        """Located matching frames by video and index."""
        return es_search.located_frames(self._reader, request, bbox, batch_size)

    def timeline(self, *, request: SearchRequest, max_bins: int) -> Timeline:
        """Matching frames binned over t and recorded_at + t (two passes over the stream)."""
        return es_search.timeline(self._reader, request, max_bins)

    def detections(self, *, request: SearchRequest, batch_size: int = 10_000) -> Iterator[list[Detection]]:
        """Every detection of the matching frames from their stored objects, by video and index."""
        return es_search.detections(self._reader, request, batch_size)

    def frame_labels(self, *, video_id: int, start_s: float, end_s: float | None,
                     request: SearchRequest | None) -> list[dict[str, Any]]:
        """A video's frames in a window; ``matched`` from the matching frames and the request's
        positive object predicates."""
        return es_search.frame_labels(self._reader, request, video_id, start_s, end_s)

    # Similarity

    def similar_tracks(self, *, request: SearchRequest | None, vector: Any, k: int,
                       exclude: Collection[tuple[int, str]] = ()) -> list[SimilarTrack]:
        """Exact cosine top-k: ``script_score`` over the live candidate track documents, then the
        shortlist rescored like every engine (:func:`indexer.backends.es_search.similar_tracks`)."""
        return es_search.similar_tracks(self._reader, request, vector, k, exclude)

    def track_vector(self, *, video_id: int, track: str) -> np.ndarray | None:
        """The live track document's vector."""
        return es_search.track_vector(self._reader, video_id, track)
