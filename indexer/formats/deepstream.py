"""NVIDIA DeepStream nvmsgconv messages (Gst-nvmsgconv, sent by nvmsgbroker).

A payload is a JSON array of messages, a single message, or newline-delimited
JSON (one message per line, as a broker consumer writes them). Both schemas
of nvmsgconv are read, even mixed:

- **full** (one message per object per frame): ``@timestamp``, ``sensor``
  {id, location {lat, lon, alt}}, ``object`` {id, bbox {topleftx, toplefty,
  bottomrightx, bottomrighty}, and one typed sub-object such as ``vehicle``
  {type, make, model, color, license, licenseState, confidence}, ``person``
  {age, gender, hair, cap, apparel, confidence} or ``face``}, ``event`` {id, type};
- **minimal** (one message per frame): ``id`` (frame number), ``@timestamp``,
  ``sensorId``, ``objects``: strings ``"id|left|top|right|bottom|Type"``,
  followed for vehicles, persons and faces by ``|#|`` and their attributes in
  nvmsgconv's order (vehicle: type, make, model, color, license, licenseState,
  confidence; person: gender, age, hair, cap, apparel, confidence; face:
  gender, age, hair, cap, glasses, facialhair, name, eyecolor, confidence).

Mapping:

- time: t from ``@timestamp`` relative to the origin (``options["origin"]``,
  else the earliest message), frame index = round(t * fps), fps from
  ``options["fps"]`` (30 with a warning): :mod:`indexer.formats.clock`. The
  minimal schema's frame ``id`` is not used: it restarts with the pipeline.
- label: the typed sub-object's name (full) or the type (minimal), lower-cased
  (``Vehicle`` -> ``vehicle``); ``options["labels"]`` maps names first
  (``{"face": "person"}``), then the ontology's synonyms apply as for every format.
- the sub-object's fields become the detection's attributes (empty strings,
  which nvmsgconv writes for unknown values, are dropped; ``age`` is numeric);
  its ``confidence`` is the detection confidence.
- identity: ``object.id`` is the track; ``18446744073709551615`` (and ``-1``,
  its signed form in older releases) means untracked.
- boxes are pixels: ``options["width"]`` and ``["height"]`` are required
  when a message has a box.
- ``sensor.location`` becomes GPS waypoints (kept where the location changes,
  plus the last one; 0, 0 is "not configured" and skipped); ``sensor.id`` or
  ``sensorId`` becomes the camera, the origin the recording time.
- ``event.type`` (entry, exit, moving, stopped, parked...) becomes an event.
  nvmsgconv repeats an object's event on every message, so messages of the
  same object and event type at most ``options["event_gap_s"]`` (default 1 s)
  apart join into one span, from its first to its last frame; an untracked
  object's event is one frame long.

Every message also yields its frame, so that frames without objects exist.
:func:`stream_records` reads live messages with the same per-message logic;
there an event is one frame long (the next chunk is unknown).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from indexer.formats import sniff
from indexer.formats.clock import Clock, option_fps, option_origin, parse_instant
from indexer.formats.json_walk import FormatError, attr_value, child_path, number, optional_number
from indexer.formats.pixels import Size, missing_size, option_size, pixel, relative_box
from indexer.formats.spans import EventSpans
from indexer.formats.stream import StreamContext, StreamItems
from indexer.records import (
    Analytics,
    AttrValue,
    EventRecord,
    FrameRecord,
    ObjectRecord,
    Record,
    VideoMeta,
    Waypoint,
)

FORMAT = "deepstream"
NAME = "DeepStream"
UNTRACKED = {"18446744073709551615", "-1"}
DEFAULT_EVENT_GAP_S = 1.0
MESSAGE_KEYS = {"@timestamp", "messageid", "mdsversion", "sensorId"}
# Members of a full-schema object that are not its typed sub-object.
_OBJECT_MEMBERS = {
    "id",
    "speed",
    "direction",
    "orientation",
    "bbox",
    "location",
    "coordinate",
    "signature",
    "embedding",
    "pose",
    "confidence",
    "info",
    "dir",
    "gaze",
    "lipActivity",
}
# nvmsgconv's order of the attributes after "|#|" in a minimal-schema object string.
MINIMAL_FIELDS = {
    "vehicle": ("type", "make", "model", "color", "license", "licenseState", "confidence"),
    "person": ("gender", "age", "hair", "cap", "apparel", "confidence"),
    "face": ("gender", "age", "hair", "cap", "glasses", "facialhair", "name", "", "eyecolor", "confidence"),
}
NUMERIC_FIELDS = {"age"}


def read(path: str | Path, *, options: dict | None = None) -> Analytics:
    """Read DeepStream messages (see the module docstring for the mapping and options)."""
    options = options or {}
    file_path = Path(path)
    syntax = sniff.payload_syntax(file_path)
    survey = _survey(file_path, syntax)
    warnings: list[str] = []
    fps = option_fps(options, warnings)
    size = option_size(options)
    if survey.has_boxes and size is None:
        raise missing_size(NAME)
    origin = option_origin(options) or survey.earliest
    clock = Clock(origin, fps) if origin else None
    meta = VideoMeta(
        fps=fps,
        width=size[0] if size else None,
        height=size[1] if size else None,
        recorded_at=origin,
        camera=survey.camera,
        gps=_waypoints(survey, origin),
    )
    reading = _Reading(
        clock=clock, size=size, labels=_labels_option(options), gap_frames=round(_event_gap(options) * fps)
    )
    return Analytics(format=FORMAT, meta=meta, records=lambda: _records(file_path, syntax, reading), warnings=warnings)


def stream_records(items: StreamItems, *, context: StreamContext) -> Iterator[Record]:
    """Records of live DeepStream messages, one ``(line number, message)`` at a time."""
    size = (context.width, context.height) if context.width and context.height else None
    for line_number, message in items:
        line = f"line {line_number}"
        if context.origin is None:
            raise FormatError("DeepStream messages carry wall-clock times: the live video needs an origin", path=line)
        parsed = parse_message(message, line, clock=Clock(context.origin, context.fps), size=size, labels={})
        yield parsed.frame
        yield from parsed.objects
        yield from (event for event, _ident in parsed.events)


@dataclass
class _Survey:
    earliest: datetime | None = None
    has_boxes: bool = False
    camera: str | None = None
    locations: list[tuple[datetime, float, float]] = field(default_factory=list)


def _survey(file_path: Path, syntax: str) -> _Survey:
    """One pass for what the records need first: the earliest time, whether
    there are boxes, the camera and the sensor's locations."""
    survey = _Survey()
    last_location: tuple[float, float] | None = None
    last_seen: datetime | None = None  # the latest message still at last_location
    for path, message in sniff.json_messages(file_path, syntax):
        moment = parse_instant(message.get("@timestamp"), child_path(path, "@timestamp"), "@timestamp")
        survey.earliest = moment if survey.earliest is None else min(survey.earliest, moment)
        survey.has_boxes = survey.has_boxes or _has_box(message)
        survey.camera = survey.camera or _camera(message)
        location = _location(message, path)
        if location is None:
            continue
        if location == last_location:
            last_seen = moment
            continue
        if last_seen is not None and last_location is not None:
            survey.locations.append((last_seen, *last_location))
        survey.locations.append((moment, *location))
        last_location, last_seen = location, None
    if last_seen is not None and last_location is not None:
        survey.locations.append((last_seen, *last_location))
    return survey


def _waypoints(survey: _Survey, origin: datetime | None) -> list[Waypoint]:
    """The sensor's locations in video time, sorted (messages may arrive out of order)."""
    if origin is None:
        return []
    points = (Waypoint(t=(moment - origin).total_seconds(), lat=lat, lon=lon) for moment, lat, lon in survey.locations)
    return sorted(points, key=lambda waypoint: waypoint.t)


def _has_box(message: dict) -> bool:
    obj = message.get("object")
    return (isinstance(obj, dict) and obj.get("bbox") is not None) or bool(message.get("objects"))


def _camera(message: dict) -> str | None:
    sensor = message.get("sensor")
    ident = sensor.get("id") if isinstance(sensor, dict) else message.get("sensorId")
    return str(ident) if ident not in (None, "") else None


def _location(message: dict, path: str) -> tuple[float, float] | None:
    sensor = message.get("sensor")
    location = sensor.get("location") if isinstance(sensor, dict) else None
    if not isinstance(location, dict) or location.get("lat") is None or location.get("lon") is None:
        return None
    where = child_path(child_path(path, "sensor"), "location")
    lat = number(location["lat"], child_path(where, "lat"), "lat")
    lon = number(location["lon"], child_path(where, "lon"), "lon")
    return None if lat == 0 and lon == 0 else (lat, lon)


def _labels_option(options: dict) -> dict[str, str]:
    labels = options.get("labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise FormatError("options.labels must map names to ontology labels", path="options.labels")
    return labels


def _event_gap(options: dict) -> float:
    gap = options.get("event_gap_s", DEFAULT_EVENT_GAP_S)
    if isinstance(gap, bool) or not isinstance(gap, int | float) or gap < 0:
        raise FormatError(f"options.event_gap_s must be a number >= 0, got {gap!r}", path="options.event_gap_s")
    return float(gap)


@dataclass
class _Reading:
    clock: Clock | None
    size: Size | None
    labels: dict[str, str]
    gap_frames: int


def _records(file_path: Path, syntax: str, reading: _Reading) -> Iterator[Record]:
    spans = _EventSpans(reading.gap_frames)
    for path, message in sniff.json_messages(file_path, syntax):
        parsed = parse_message(message, path, clock=reading.clock, size=reading.size, labels=reading.labels)
        yield parsed.frame
        yield from parsed.objects
        for event, ident in parsed.events:
            yield from spans.add(event, ident)
    yield from spans.close()


# ---- one message ----------------------------------------------------------------------------


@dataclass
class ParsedMessage:
    """What one message says: its frame, its detections, its events with the
    id of the object they concern (None: untracked)."""

    frame: FrameRecord
    objects: list[ObjectRecord] = field(default_factory=list)
    events: list[tuple[EventRecord, str | None]] = field(default_factory=list)


def parse_message(message: Any, path: str, *, clock: Clock, size: Size | None, labels: dict[str, str]) -> ParsedMessage:
    """The records of one full- or minimal-schema message at JSON path ``path``."""
    if not isinstance(message, dict):
        raise FormatError("a DeepStream message must be a JSON object", path=path)
    moment = parse_instant(message.get("@timestamp"), child_path(path, "@timestamp"), "@timestamp")
    index, t = clock.place(moment, path)
    parsed = ParsedMessage(frame=FrameRecord(index=index, t=t, path=path))
    obj = message.get("object")
    if obj is not None:
        record = _full_object(obj, child_path(path, "object"), index, t, size, labels)
        parsed.objects.append(record)
        event = _event(message.get("event"), child_path(path, "event"), index)
        if event is not None:
            parsed.events.append((event, record.track))
    objects = message.get("objects")
    if objects is not None:
        if not isinstance(objects, list):
            raise FormatError("objects must be a list of strings", path=child_path(path, "objects"))
        for position, text in enumerate(objects):
            parsed.objects.append(
                _minimal_object(text, f"{child_path(path, 'objects')}[{position}]", index, t, size, labels)
            )
    return parsed


def _track(value: Any) -> str | None:
    text = None if value is None else str(value).strip()
    return None if not text or text in UNTRACKED else text


def _label(name: str, labels: dict[str, str]) -> str:
    return labels.get(name, labels.get(name.lower(), name.lower()))


def _full_object(obj: Any, path: str, index: int, t: float, size: Size | None, labels: dict[str, str]) -> ObjectRecord:
    if not isinstance(obj, dict):
        raise FormatError("object must be a JSON object", path=path)
    typed = [(key, value) for key, value in obj.items() if key not in _OBJECT_MEMBERS and isinstance(value, dict)]
    if not typed:
        raise FormatError("the object has no typed sub-object (vehicle, person, face...) to name its label", path=path)
    name, fields = typed[0]
    attrs, attr_paths = _attributes(fields.items(), child_path(path, name))
    confidence = fields.get("confidence", obj.get("confidence"))
    where = child_path(path, name) if "confidence" in fields else path
    return ObjectRecord(
        index=index,
        t=t,
        label=_label(name, labels),
        track=_track(obj.get("id")),
        confidence=optional_number(confidence, child_path(where, "confidence"), "confidence"),
        box=_full_box(obj.get("bbox"), child_path(path, "bbox"), size),
        attrs=attrs,
        path=path,
        attr_paths=attr_paths,
    )


def _full_box(raw: Any, path: str, size: Size | None) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    corners = ("topleftx", "toplefty", "bottomrightx", "bottomrighty")
    if not isinstance(raw, dict) or not set(corners) <= raw.keys():
        raise FormatError(f"bbox needs {', '.join(corners)}", path=path)
    left, top, right, bottom = (pixel(raw[name], child_path(path, name), name) for name in corners)
    return relative_box(left, top, right, bottom, size, NAME)


def _attributes(fields, path: str) -> tuple[dict[str, AttrValue], dict[str, str]]:
    attrs: dict[str, AttrValue] = {}
    attr_paths: dict[str, str] = {}
    for name, raw in fields:
        if not name or name == "confidence" or raw == "":
            continue
        value = _numeric(raw) if name in NUMERIC_FIELDS else attr_value(raw)
        if value is not None:
            attrs[name] = value
            attr_paths[name] = child_path(path, name)
    return attrs, attr_paths


def _numeric(raw: Any) -> AttrValue | None:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return attr_value(raw)


def _minimal_object(
    text: Any, path: str, index: int, t: float, size: Size | None, labels: dict[str, str]
) -> ObjectRecord:
    if not isinstance(text, str):
        raise FormatError("a minimal-schema object must be a string 'id|left|top|right|bottom|type|...'", path=path)
    parts = text.split("|")
    if len(parts) < 6:
        raise FormatError(f"expected 'id|left|top|right|bottom|type', got {text[:80]!r}", path=path)
    left, top, right, bottom = (
        pixel(value, path, name) for value, name in zip(parts[1:5], ("left", "top", "right", "bottom"), strict=True)
    )
    kind = parts[5].strip()
    names = MINIMAL_FIELDS.get(kind.lower(), ())
    values = parts[7:] if len(parts) > 6 and parts[6] == "#" else []
    pairs = list(zip(names, values, strict=False))
    attrs, attr_paths = _attributes(pairs, path)
    confidence = dict(pairs).get("confidence")
    return ObjectRecord(
        index=index,
        t=t,
        label=_label(kind, labels),
        track=_track(parts[0]),
        confidence=None if confidence in (None, "") else pixel(confidence, path, "confidence"),
        box=relative_box(left, top, right, bottom, size, NAME),
        attrs=attrs,
        path=path,
        attr_paths={name: path for name in attr_paths},
    )


def _event(raw: Any, path: str, index: int) -> EventRecord | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise FormatError("event must be a JSON object", path=path)
    label = raw.get("type")
    if label in (None, ""):
        return None
    if not isinstance(label, str):
        raise FormatError(f"event.type must be a string, got {label!r}", path=child_path(path, "type"))
    return EventRecord(label=label, start_index=index, end_index=index, path=path)


class _EventSpans(EventSpans):
    """Joins an object's repeated event into spans: the same label and object,
    at most ``gap`` frames after the span's last frame; a message out of order
    inside the open span adds nothing."""

    def __init__(self, gap: int) -> None:
        super().__init__()
        self.gap = gap

    def joins(self, current: EventRecord, record: EventRecord) -> bool:
        return record.start_index - current.end_index <= max(self.gap, 1)


_BOX_IN_HEAD = re.compile(r'"bbox"\s*:\s*\{|"objects"\s*:\s*\[\s*"')


def check_options(path: str | Path, options: dict) -> None:
    """Refuse before ingest what is sure to fail: malformed options, boxes without a frame size."""
    option_fps(options, [])
    option_origin(options)
    _labels_option(options)
    _event_gap(options)
    if option_size(options) is None and _BOX_IN_HEAD.search(sniff.head_text(path)):
        raise missing_size(NAME)
