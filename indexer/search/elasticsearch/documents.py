"""The Elasticsearch engine's documents: the mapping, and a video's records turned into documents.

**Documents.** One document per labeled frame (``doc_type: frame``), in the index behind the
alias ``<prefix>-frames``; mapping ``dynamic: strict``, from the composable index template
``<prefix>-frames`` (pattern ``<prefix>-frames-*``):

- ``video_id``, ``frame`` (index), ``t``, ``n_objects``, ``recorded_at`` (the video's, when it has
  one: clock filters compute ``recorded_at + t``); ``lat``/``lon`` as ``double`` (exact,
  what geo queries compare) and ``location`` as ``geo_point`` (for maps and other tools);
- ``keys``: typed terms (:mod:`indexer.search.elasticsearch.query`) for everything said about the frame:
  ``["frame",attr,value]``, ``["video",attr,value]`` (video attributes and the built-ins name,
  camera, recorded_at, denormalized onto every frame), and one term per facet value that holds
  on the frame (``["label",L]``, ``["object",L,attr,value]``, ``["object",null,attr,value]`` for
  the attributes faceted over every label (:data:`indexer.facets.ANY_LABEL_ATTRS`), ``["event",L]``,
  ``["event",L,attr,value]``); ``nums`` (nested ``{name, n}``) for frame and video numbers;
- ``objects`` (``nested``: one hidden document per detection, so "a black sedan" is one object):
  ``label``, ``track``, ``confidence``, ``box`` (source only), ``box_cx``/``box_cy``/``box_y2``
  (the box's centre and bottom edge, for zones), ``attrs`` (typed terms
  ``[attr,value]`` of the effective attributes, track constants applied), ``nums`` (nested
  numbers) and ``facets`` (the object's facet terms, for object counts);
- ``events`` (``nested``): each event whose span holds the frame, with ``label``, ``attrs``, ``nums``;
- ``tracks`` (track ids of the frame's detections) and ``track_keys`` (``[facet term, track]``
  pairs) for the ``tracks`` unit.

Typed terms keep ``"true"``, ``true`` and ``1.0`` apart without one mapping field per attribute,
so the mapping does not grow with the ontology and any attribute name is safe.

**Tracks** (similarity search): each track with a vector (:mod:`indexer.search.vectors`) is
one document (``doc_type: track``) routed and generated with its video's frames: ``track``,
``label``, ``vtrack`` (``"<video_id>:<track>"``, for candidate filters), ``dim``, the vector in
``vector_<dim>`` and ``span`` (source only). Each dimension has a ``dense_vector`` field of its own
(``dims`` set, indexed, cosine similarity: :func:`vector_field`), added to the mapping before the
first vector of that dimension is written, so videos whose embeddings differ in length live in one
index; a dimension over :data:`MAX_VECTOR_DIMS` is refused, naming the track. A track document
carries ``tvgen`` rather than ``vgen``, so frame queries never see it; deleting a generation
deletes its tracks too.

A video's pointer document (``doc_type: video``: name, fps, recorded_at, the live ``gen`` and
the appended ``chunks`` that are live with it, and ``gens``: every generation that may have
documents in the index) says which generations of its documents are live
(:mod:`indexer.search.elasticsearch.backend`).
"""

from __future__ import annotations

import itertools
import json
import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from elasticsearch.dsl import DenseVector, Double, GeoPoint, InnerDoc, Integer, Keyword, Long, Mapping, Nested, Object

from indexer.facets import ANY_LABEL_ATTRS
from indexer.records import Analytics, AttrValue, EventRecord, FrameRecord, ObjectRecord, TrackRecord
from indexer.search.contract import IndexCounts
from indexer.search.elasticsearch.query import (
    FRAME,
    TRACK,
    VIDEO,
    is_finite_number,
    live_key,
    term,
    track_key,
    value_term,
)
from indexer.search.semantics import (
    anchor_point,
    check_frame_index,
    check_video_id,
    effective_fps,
    frame_locations,
    sorted_gps,
    value_kind,
    video_values,
)
from indexer.search.vectors import TrackVectorBuilder

# Records staged per SQLite insert, and frames located per numpy call.
STAGE_BATCH = 10_000
LOCATE_BATCH = 2_048
# The most dimensions a dense_vector field takes (Elasticsearch 8.11 and later).
MAX_VECTOR_DIMS = 4_096
# The longest term a keyword field indexes (Lucene's limit), in UTF-8 bytes.
MAX_TERM_BYTES = 32_766


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
    # Zones (issue 21): the box's anchor points, as semantics.anchor_point computes them.
    box_cx = Double()  # (x1 + x2) / 2
    box_cy = Double()  # (y1 + y2) / 2
    box_y2 = Double()  # the bottom edge


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
                       ("dim", Integer), ("gens", Keyword), ("chunks", Keyword)):
        mapping.field(name, kind())
    mapping.field("span", Object(enabled=False))
    mapping.field("location", GeoPoint(ignore_malformed=True))
    mapping.field("nums", Nested(_Number))
    mapping.field("objects", Nested(_Object))
    mapping.field("events", Nested(_Event))
    return mapping


def vector_name(dim: int) -> str:
    """The field holding the vectors of ``dim`` dimensions."""
    return f"vector_{dim}"


def vector_field(dim: int) -> dict[str, Any]:
    """The mapping of :func:`vector_name` (``dims`` given: clusters before 8.11 require it)."""
    return {vector_name(dim): DenseVector(dims=dim, index=True, similarity="cosine").to_dict()}


def pointer_id(video_id: int) -> str:
    """The id of a video's pointer document."""
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
        for track in self.track_vectors:
            if track.vector.size > MAX_VECTOR_DIMS:
                self.db.close()
                raise ValueError(f"track {track.track} of video {video_id} has a {track.vector.size}-dimensional "
                                 f"embedding; Elasticsearch takes at most {MAX_VECTOR_DIMS} dimensions")

    @property
    def dims(self) -> list[int]:
        """The dimensions of this video's track vectors."""
        return sorted({track.vector.size for track in self.track_vectors})

    def close(self) -> None:
        """Delete the staged records."""
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
        """Frames, detections, distinct tracks and events of the video."""
        return IndexCounts(frames=self.frame_count, objects=self.objects, tracks=len(self.tracks),
                           events=len(self.events))

    def pointer(self) -> dict[str, Any]:
        """The pointer document that makes this generation the live one (and the only one)."""
        return {"doc_type": VIDEO, "video_id": self.video_id, "gen": self.gen, "chunks": [], "gens": [self.gen],
                "name": self.name, "fps": self.fps, "recorded_at": self.recorded_at}

    def actions(self, index: str, *, tracks: bool = True) -> Iterator[dict[str, Any]]:
        """Bulk ``index`` actions for every frame document of this generation, then (``tracks``)
        every track document."""
        routing = str(self.video_id)
        for document in self.frame_documents():
            yield {"_op_type": "index", "_index": index, "_routing": routing,
                   "_id": f"{self.video_id}-{self.gen}-{document['frame']}", "_source": document}
        for document in self.track_documents() if tracks else ():
            yield {"_op_type": "index", "_index": index, "_routing": routing,
                   "_id": f"{self.video_id}-{self.gen}-track-{document['track']}", "_source": document}

    def track_documents(self) -> Iterator[dict[str, Any]]:
        """One document per track with a vector, of this generation."""
        for track in self.track_vectors:
            yield {
                "doc_type": TRACK, "video_id": self.video_id, "gen": self.gen,
                "tvgen": live_key(self.video_id, self.gen), "track": track.track,
                "vtrack": track_key(self.video_id, track.track), "label": track.label,
                "dim": track.vector.size, vector_name(track.vector.size): track.vector.tolist(),
                "span": {"first_frame": track.first_index, "last_frame": track.last_index,
                         "first_t": track.first_t, "last_t": track.last_t, "frames": track.frames},
            }

    def frame_documents(self) -> Iterator[dict[str, Any]]:
        """One document per frame of this generation, in index order, located and with its events."""
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
            facets += [term("object", None, name, value) for name, value in _facet_values(detection.attrs)
                       if name in ANY_LABEL_ATTRS]
            keys.update(facets)
            if detection.track is not None:
                track_keys.update(json.dumps([facet, detection.track], ensure_ascii=False) for facet in facets)
            objects.append(_object_document(detection, facets))
        for event in events:
            keys.update(event["keys"])
        _check_terms(keys, self.video_id, frame.index)
        _check_terms(track_keys, self.video_id, frame.index)
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
        if self.recorded_at is not None:
            document["recorded_at"] = self.recorded_at  # clock time = recorded_at + t (issue 21)
        return document


def _check_terms(terms: set[str], video_id: int, index: int) -> None:
    """``ValueError`` for a term longer than Lucene indexes (the whole bulk would be refused):
    validation refuses longer values, but a term adds the names and JSON around its value."""
    for text in terms:
        if len(text) * 4 > MAX_TERM_BYTES and len(text.encode("utf-8", "surrogatepass")) > MAX_TERM_BYTES:
            size = len(text.encode("utf-8", "surrogatepass"))
            raise ValueError(f"frame {index} of video {video_id}: the term {text[:80]}... is {size} bytes long in "
                             f"UTF-8; Elasticsearch indexes terms of at most {MAX_TERM_BYTES} bytes")


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
    if detection.box is not None:
        x, bottom = anchor_point(detection.box, "bottom_center")
        document.update(box_cx=x, box_cy=anchor_point(detection.box, "center")[1], box_y2=bottom)
    return document


# Appended chunks --------------------------------------------------------------------------------

# Moves a document of an appended chunk into the video's live generation, in place
# (_update_by_query: the id stays); track documents carry tvgen, frames vgen.
RETAG_GENERATION = ("ctx._source.gen = params.gen; "
                    "if (ctx._source.doc_type == 'track') { ctx._source.tvgen = params.vgen; } "
                    "else { ctx._source.vgen = params.vgen; }")


# Events ------------------------------------------------------------------------------------------


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
