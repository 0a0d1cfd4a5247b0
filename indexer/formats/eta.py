"""ETA VideoLabels (voxel51-eta): framewise and spatiotemporal layouts,
current and 2019 formats (samples: fixtures/formats/).

- ``frames`` is keyed by the 1-based frame number n: index n - 1, t = index / fps.
- A frame object's attribute with ``constant: true`` describes its whole track
  (a :class:`TrackRecord`); without a track ``index`` it stays on the detection.
- Top-level ``objects.objects[]`` are VideoObjects: their ``attrs`` are
  constant for the track, their ``frames`` hold the per-frame detections.
- Top-level ``events.events[]`` are VideoEvents: each range of ``support``
  becomes one EventRecord, each entry of ``frames`` one single-frame record.
  A VideoEvent with neither says nothing about when it happens: it is skipped
  and named in ``Analytics.warnings``.
- ``embedding`` (a list of numbers) on a DetectedObject becomes
  ``ObjectRecord.embedding``, on a VideoObject with an ``index``
  ``TrackRecord.embedding`` (without an index there is no track to carry it).
- Masks, keypoints, polylines, tags and ``_CLS`` keys are ignored.

The file is read in passes: one for the metadata (wherever it sits), then one
for ``frames`` and, when present, two running side by side for each grouped
section (one for the VideoObject/VideoEvent headers, one for their frames), so
memory never depends on the length of a track or of the video.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from indexer.formats.json_walk import (
    BUILD,
    DEFAULT_FPS,
    DESCEND,
    END,
    ENTER,
    SKIP,
    START,
    FormatError,
    attr_value,
    child_path,
    frame_rate,
    integer,
    json_path,
    number,
    optional_integer,
    optional_number,
    require_object,
    top_level_members,
    track_id,
    walk,
    walk_members,
)
from indexer.formats.spans import EventSpans
from indexer.ontology import ETA_TYPES
from indexer.records import (
    Analytics,
    AttrValue,
    EventRecord,
    FrameRecord,
    ObjectRecord,
    Record,
    TrackRecord,
    VideoMeta,
    Waypoint,
)

FORMAT = "eta"


def read(path: str | Path, *, options: dict | None = None) -> Analytics:
    """Read an ETA VideoLabels file.

    ``options["fps"]`` is used when the payload gives neither ``frame_rate``
    nor ``total_frame_count`` and ``duration``; without it 30 fps is assumed
    and a warning added.
    """
    file_path = Path(path)
    require_object(file_path, "ETA VideoLabels")
    header = _read_header(file_path)
    warnings: list[str] = []
    meta = _video_meta(header, options or {}, warnings)
    warnings.extend(header.warnings())
    fps = meta.fps
    return Analytics(
        format=FORMAT,
        meta=meta,
        records=lambda: _records(file_path, fps, header.has_objects, header.has_events),
        warnings=warnings,
    )


# ---- first pass: everything but the frames and the detections -------------------------


@dataclass
class _Header:
    filename: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    waypoints: list[tuple[str, Any]] = field(default_factory=list)
    video_attrs: list[tuple[str, Any]] = field(default_factory=list)
    has_objects: bool = False
    has_events: bool = False
    unplaced_events: list[str] = field(default_factory=list)
    unplaced_count: int = 0

    def warnings(self) -> list[str]:
        if not self.unplaced_count:
            return []
        return [
            f"{self.unplaced_count} video event(s) have neither support nor frames and were skipped"
            f" (first: {', '.join(self.unplaced_events)})"
        ]


def _read_header(file_path: Path) -> _Header:
    header = _Header()
    events = _GroupAssembler()
    # The records pass reads frames and VideoObjects; here only whether there are any.
    layout = top_level_members(file_path)
    header.has_objects = layout is not None and any(member.key == "objects" for member in layout)
    for path, value in walk(file_path, _header_decide, skipping=("frames", "objects")):
        top = path[0]
        if top == "filename":
            header.filename = value if isinstance(value, str) else None
        elif top == "metadata" and path[1] == "gps_waypoints":
            header.waypoints.append((json_path(path), value))
        elif top == "metadata":
            header.metadata[path[1]] = value
        elif top == "attrs":
            header.video_attrs.append((json_path(path), value))
        elif top == "objects":
            header.has_objects = True
        elif (group := events.feed(path, value)) is not None:
            header.has_events = True
            _note_unplaced_event(header, *group)
    return header


def _header_decide(path: Sequence[Any]) -> int:
    top, depth = path[0], len(path)
    if depth == 1:
        if top == "filename":
            return BUILD
        return DESCEND if top in ("metadata", "attrs", "objects", "events") else SKIP
    if top == "metadata":
        return _metadata_decide(path)
    if top == "attrs":
        return _container_decide(path, "attrs")
    if top == "objects":
        # Only whether there is a VideoObject at all; the records pass reads them.
        if depth == 2:
            return DESCEND if path[1] == "objects" else SKIP
        return ENTER if depth == 3 else SKIP
    return _group_header_decide(path, "events")


def _metadata_decide(path: Sequence[Any]) -> int:
    depth = len(path)
    if path[1] != "gps_waypoints":
        return BUILD if depth == 2 else SKIP
    if depth == 2:
        return DESCEND
    if depth == 3:
        # {"points": [...]} or a bare list of points; {} holds none.
        return DESCEND if path[2] == "points" else BUILD if isinstance(path[2], int) else SKIP
    return BUILD if depth == 4 else SKIP


def _container_decide(path: Sequence[Any], key: str) -> int:
    """ETA wraps lists as {key: [...]} (plus _CLS): build each item; a bare list is accepted too."""
    depth = len(path)
    if depth == 2:
        return DESCEND if path[1] == key else BUILD if isinstance(path[1], int) else SKIP
    return BUILD if depth == 3 else SKIP


def _note_unplaced_event(header: _Header, position: int, event: dict) -> None:
    if "support" in event or "frames" in event:
        return
    header.unplaced_count += 1
    if len(header.unplaced_events) < 5:
        header.unplaced_events.append(f"events.events[{position}] '{event.get('label')}'")


# ---- metadata ----------------------------------------------------------------------------


def _video_meta(header: _Header, options: dict, warnings: list[str]) -> VideoMeta:
    metadata = header.metadata
    fps = _fps(metadata, options, warnings)
    width, height = _frame_size(metadata.get("frame_size"))
    meta = VideoMeta(
        fps=fps,
        frame_count=optional_integer(metadata.get("total_frame_count"), "metadata.total_frame_count", "frame count"),
        duration_s=optional_number(metadata.get("duration"), "metadata.duration", "duration"),
        width=width,
        height=height,
        recorded_at=_start_time(metadata.get("start_time"), warnings),
        filename=header.filename,
        size_bytes=optional_integer(metadata.get("size_bytes"), "metadata.size_bytes", "size_bytes"),
        mime_type=metadata.get("mime_type") if isinstance(metadata.get("mime_type"), str) else None,
    )
    for item_path, item in header.video_attrs:
        name, value, _constant = _attribute(item, item_path)
        if value is not None and name not in meta.attrs:
            meta.attrs[name] = value
            meta.attr_paths[name] = item_path
    meta.gps = sorted(_waypoints(header.waypoints, fps), key=lambda waypoint: waypoint.t)
    return meta


def _fps(metadata: dict, options: dict, warnings: list[str]) -> float:
    """``metadata.frame_rate``; else the rate that makes (n-1)/fps equal ETA's own
    mapping (n-1)/(N-1)*duration; else options["fps"]; else 30 (warned). A rate
    outside :data:`MIN_FPS`..:data:`MAX_FPS` is a FormatError at its path."""
    if metadata.get("frame_rate") is not None:
        return frame_rate(metadata["frame_rate"], "metadata.frame_rate")
    count = optional_number(metadata.get("total_frame_count"), "metadata.total_frame_count", "total_frame_count")
    duration = optional_number(metadata.get("duration"), "metadata.duration", "duration")
    if count and count > 1 and duration and duration > 0:
        return frame_rate((count - 1) / duration, "metadata.duration")
    if options.get("fps") is not None:
        return frame_rate(options["fps"], "options.fps")
    warnings.append(f"the payload gives no frame rate (metadata.frame_rate, or total_frame_count and duration) "
                    f"and there is no fps option: assumed {DEFAULT_FPS:g} fps")
    return DEFAULT_FPS


def _frame_size(size: Any) -> tuple[int | None, int | None]:
    if size is None:
        return None, None
    if not isinstance(size, list) or len(size) != 2:
        raise FormatError("frame_size must be [width, height]", path="metadata.frame_size")
    return (
        integer(size[0], "metadata.frame_size[0]", "frame width"),
        integer(size[1], "metadata.frame_size[1]", "frame height"),
    )


def _start_time(value: Any, warnings: list[str]) -> datetime | None:
    """ISO start time; ETA writes it without a zone, which Scoop reads as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        warnings.append(f"metadata.start_time {value!r} is not an ISO date and time: ignored")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _waypoints(raw: list[tuple[str, Any]], fps: float) -> Iterator[Waypoint]:
    for point_path, point in raw:
        if not isinstance(point, dict) or not {"latitude", "longitude", "frame_number"} <= point.keys():
            continue  # ETA may write an empty waypoint as {}
        frame_number = number(point["frame_number"], f"{point_path}.frame_number", "frame_number")
        yield Waypoint(
            t=(frame_number - 1) / fps,
            lat=number(point["latitude"], f"{point_path}.latitude", "latitude"),
            lon=number(point["longitude"], f"{point_path}.longitude", "longitude"),
        )


# ---- attributes, boxes, containers -------------------------------------------------------


@dataclass
class _Attrs:
    values: dict[str, AttrValue] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    constant: dict[str, AttrValue] = field(default_factory=dict)
    constant_paths: dict[str, str] = field(default_factory=dict)

    def merged(self) -> tuple[dict[str, AttrValue], dict[str, str]]:
        """All attributes, constant ones winning over per-frame ones of the same name."""
        return {**self.values, **self.constant}, {**self.paths, **self.constant_paths}


def _attributes(container: Any, path: str) -> _Attrs:
    """Read an ETA attribute container; the first value of a repeated name wins.

    ``path`` is the container's parent: ``attrs`` is appended here.
    """
    attrs = _Attrs()
    if not container:
        return attrs
    for item_path, item in _items(container, "attrs", f"{path}.attrs"):
        name, value, constant = _attribute(item, item_path)
        if value is None:
            continue
        values, paths = (attrs.constant, attrs.constant_paths) if constant else (attrs.values, attrs.paths)
        if name not in values:
            values[name] = value
            paths[name] = item_path
    return attrs


def _attribute(item: Any, path: str) -> tuple[str, AttrValue | None, bool]:
    """(name, typed value or None, whether it is constant) of one ETA attribute."""
    if type(item) is not dict or type(name := item.get("name")) is not str:
        raise FormatError("an attribute needs a 'name'", path=path)
    value = item.get("value")
    if isinstance(value, dict | list):
        pass  # kept as it is, so that validation names the wrong type
    elif type(value) is not str:  # strings, nearly all values, need no conversion
        value = attr_value(value, ETA_TYPES.get(item.get("type")))
    return name, value, item.get("constant") is True


def _items(container: Any, key: str, path: str) -> Iterator[tuple[str, Any]]:
    """(path, item) of an ETA container ``{key: [...]}``; a bare list is accepted too."""
    if container is None:
        return
    if isinstance(container, dict):
        path = child_path(path, key)
        container = container.get(key, [])
    if not isinstance(container, list):
        raise FormatError(f"expected a list of {key}", path=path)
    for position, item in enumerate(container):
        yield f"{path}[{position}]", item


def _box(raw: Any, path: str) -> tuple[float, float, float, float] | None:
    """The ``bounding_box`` of the element at ``path``."""
    if raw is None:
        return None
    try:
        top_left, bottom_right = raw["top_left"], raw["bottom_right"]
        corners = (top_left["x"], top_left["y"], bottom_right["x"], bottom_right["y"])
    except (KeyError, TypeError):
        raise FormatError(
            "bounding_box needs top_left and bottom_right, each with x and y", path=f"{path}.bounding_box"
        ) from None
    x1, y1, x2, y2 = corners
    if type(x1) is float and type(y1) is float and type(x2) is float and type(y2) is float:
        return corners
    x1, y1, x2, y2 = (number(value, f"{path}.bounding_box", "a bounding_box coordinate") for value in corners)
    return x1, y1, x2, y2


def _label(item: dict, path: str, what: str) -> str:
    label = item.get("label")
    if not isinstance(label, str) or not label:
        raise FormatError(f"{what} has no label", path=path)
    return label


def _confidence(item: dict, path: str) -> float | None:
    """The ``confidence`` of the element at ``path``."""
    confidence = item.get("confidence")
    if confidence is None or type(confidence) is float:
        return confidence
    return optional_number(confidence, f"{path}.confidence", "confidence")


# ---- records ------------------------------------------------------------------------------


def _records(file_path: Path, fps: float, has_objects: bool, has_events: bool) -> Iterator[Record]:
    _require_frames_object(file_path)
    spans = _EventSpans()
    for key, frame in walk_members(file_path, "frames"):
        if key != "_CLS":
            yield from _frame_records(key, frame, fps, spans)
    yield from spans.close()
    if has_events:
        yield from _grouped(file_path, "events", _video_event_records, partial(_event_frame_records, fps=fps))
    if has_objects:
        yield from _grouped(file_path, "objects", _video_object_records, partial(_object_frame_records, fps=fps))


def _require_frames_object(file_path: Path) -> None:
    """``frames`` must be an object keyed by frame number (or null): the records pass reads its
    members, and would read none of a list."""
    for member in top_level_members(file_path) or ():
        if member.key != "frames":
            continue
        with open(file_path, "rb") as source:
            source.seek(member.start)
            first = source.read(min(member.end - member.start, 64)).lstrip()[:1]
        if first not in (b"{", b"n"):
            raise FormatError("frames must be a JSON object keyed by frame number", path="frames")


def _frame_index(key: Any, path: str) -> int:
    """0-based index of ETA's 1-based frame number ``key``."""
    if not isinstance(key, str):
        raise FormatError("frames must be a JSON object keyed by frame number", path=path)
    try:
        return int(key) - 1
    except ValueError:
        raise FormatError(f"frames must be keyed by frame number, got key {key!r}", path=path) from None


class _EventSpans(EventSpans):
    """Joins a frame-level event's DetectedEvents into one span: ETA repeats an
    event on every frame it covers, with the same label and ``index``. Runs of
    consecutive frames with equal attributes become one EventRecord (at the path
    of its first frame); events without an index stay one per frame."""

    def joins(self, current: EventRecord, record: EventRecord) -> bool:
        return (
            current.end_index == record.start_index - 1
            and current.attrs == record.attrs
            and current.confidence == record.confidence
        )


def _frame_records(key: Any, frame: Any, fps: float, spans: _EventSpans) -> Iterator[Record]:
    path = json_path(("frames", key))
    index = _frame_index(key, path)
    if not isinstance(frame, dict):
        raise FormatError("a frame must be a JSON object", path=path)
    t = index / fps
    values, paths = _attributes(frame.get("attrs"), path).merged()
    yield FrameRecord(index=index, t=t, attrs=values, path=path, attr_paths=paths)
    for object_path, item in _items(frame.get("objects"), "objects", child_path(path, "objects")):
        if not isinstance(item, dict):
            raise FormatError("an object must be a JSON object", path=object_path)
        label = _label(item, object_path, "the object")
        yield from _detection_records(item, object_path, index, t, label=label, track=track_id(item.get("index")))
    for event_path, item in _items(frame.get("events"), "events", child_path(path, "events")):
        if not isinstance(item, dict):
            raise FormatError("an event must be a JSON object", path=event_path)
        values, paths = _attributes(item.get("attrs"), event_path).merged()
        record = EventRecord(
            label=_label(item, event_path, "the event"),
            start_index=index,
            end_index=index,
            attrs=values,
            confidence=_confidence(item, event_path),
            path=event_path,
            attr_paths=paths,
        )
        yield from spans.add(record, track_id(item.get("index")))


def _detection_records(
    item: dict,
    path: str,
    index: int,
    t: float,
    *,
    label: str,
    track: str | None,
    inherited: _Attrs | None = None,
) -> Iterator[Record]:
    """A detection, preceded by a TrackRecord for its constant attributes.

    Without a track the constant attributes (its own and ``inherited`` from a
    VideoObject) stay on the detection, as there is no track to carry them.
    """
    attrs = _attributes(item.get("attrs"), path)
    values, paths = dict(attrs.values), dict(attrs.paths)
    if track is not None and attrs.constant:
        yield TrackRecord(track=track, label=label, attrs=attrs.constant, path=path, attr_paths=attrs.constant_paths)
    elif track is None:
        for extra in (inherited, attrs):
            if extra is not None:
                values.update(extra.constant)
                paths.update(extra.constant_paths)
    yield ObjectRecord(
        index=index,
        t=t,
        label=label,
        track=track,
        confidence=_confidence(item, path),
        box=_box(item.get("bounding_box"), path),
        attrs=values,
        path=path,
        attr_paths=paths,
        embedding=_embedding(item, path),
    )


def _embedding(item: dict, path: str) -> tuple[float, ...] | None:
    """A DetectedObject's or VideoObject's ``"embedding": [numbers]`` (appearance vector);
    validation checks that it is finite, non-empty and of the payload's one dimension."""
    raw = item.get("embedding")
    if raw is None:
        return None
    path = child_path(path, "embedding")
    if not isinstance(raw, list):
        raise FormatError("embedding must be a list of numbers", path=path)
    return tuple(number(value, f"{path}[{position}]", "an embedding value") for position, value in enumerate(raw))


# ---- grouped sections: VideoObjects and VideoEvents ---------------------------------------

OnHeader = Callable[[int, dict], Iterator[Record]]
OnMember = Callable[[dict, int, Any, Any], Iterator[Record]]


class _GroupAssembler:
    """Collects the header of each group (every key but ``frames``) from walk
    output of :func:`_group_header_decide`; ``frames`` becomes True when present."""

    def __init__(self) -> None:
        self.header: dict[str, Any] = {}

    def feed(self, path: tuple, value: Any) -> tuple[int, dict] | None:
        if len(path) == 3:
            if value is START:
                self.header = {}
                return None
            if value is END:
                return path[2], self.header
            raise FormatError(f"expected a JSON object, got {value!r}", path=json_path(path))
        if path[3] == "frames":
            if value is START:
                self.header["frames"] = True
        else:
            self.header[path[3]] = value
        return None


def _group_header_decide(path: Sequence[Any], section: str) -> int:
    depth = len(path)
    if depth == 1:
        return DESCEND if path[0] == section else SKIP
    if depth == 2:
        return DESCEND if path[1] == section else SKIP
    if depth == 3:
        return ENTER
    if depth == 4:
        return ENTER if path[3] == "frames" else BUILD
    return SKIP


def _group_member_decide(path: Sequence[Any], section: str) -> int:
    depth = len(path)
    if depth < 3:
        return _group_header_decide(path, section)
    if depth == 3:
        return DESCEND
    if depth == 4:
        return DESCEND if path[3] == "frames" else SKIP
    return BUILD


def _group_headers(file_path: Path, section: str) -> Iterator[tuple[int, dict]]:
    assembler = _GroupAssembler()
    decide = partial(_group_header_decide, section=section)
    for path, value in walk(file_path, decide, skipping=_others(file_path, section)):
        group = assembler.feed(path, value)
        if group is not None:
            yield group


def _grouped(file_path: Path, section: str, on_header: OnHeader, on_member: OnMember) -> Iterator[Record]:
    """Records of ``section.section[]``: each group's header records, then
    its frames' records. Headers and frames come from two passes that advance
    together, so a header may sit before or after its frames in the file."""
    headers = _group_headers(file_path, section)
    position, header = -1, {}
    members = walk(file_path, lambda p: _group_member_decide(p, section), skipping=_others(file_path, section))
    for path, member in members:
        while position < path[2]:
            group = next(headers, None)
            if group is None:
                raise FormatError("the file changed while it was being read", path=json_path(path))
            position, header = group
            yield from on_header(position, header)
        yield from on_member(header, position, path[4], member)
    for position, header in headers:
        yield from on_header(position, header)


def _others(file_path: Path, section: str) -> set[str]:
    """The top-level members other than ``section``: a walk of ``section`` never reads them."""
    return {member.key for member in top_level_members(file_path) or ()} - {section}


def _video_object_records(position: int, header: dict) -> Iterator[Record]:
    path = f"objects.objects[{position}]"
    label = _label(header, path, "the VideoObject")
    track = track_id(header.get("index"))
    attrs = _attributes(header.get("attrs"), path)
    values, paths = attrs.merged()
    embedding = _embedding(header, path)
    if track is not None and (values or embedding is not None):
        yield TrackRecord(track=track, label=label, attrs=values, path=path, attr_paths=paths, embedding=embedding)


def _object_frame_records(header: dict, position: int, key: Any, item: Any, *, fps: float) -> Iterator[Record]:
    group_path = f"objects.objects[{position}]"
    path = child_path(child_path(group_path, "frames"), str(key))
    if not isinstance(item, dict):
        raise FormatError("a detection must be a JSON object", path=path)
    index = _frame_index(key, path)
    track = track_id(header.get("index"))
    inherited = None
    if track is None:
        values, paths = _attributes(header.get("attrs"), group_path).merged()
        inherited = _Attrs(constant=values, constant_paths=paths)
    yield from _detection_records(
        item,
        path,
        index,
        index / fps,
        label=_label(header, group_path, "the VideoObject"),
        track=track,
        inherited=inherited,
    )


def _video_event_records(position: int, header: dict) -> Iterator[Record]:
    path = f"events.events[{position}]"
    label = _label(header, path, "the VideoEvent")
    values, paths = _attributes(header.get("attrs"), path).merged()
    for first, last in _support_ranges(header.get("support"), child_path(path, "support")):
        yield EventRecord(
            label=label,
            start_index=first - 1,
            end_index=last - 1,
            attrs=dict(values),
            confidence=_confidence(header, path),
            path=path,
            attr_paths=dict(paths),
        )


def _event_frame_records(header: dict, position: int, key: Any, item: Any, *, fps: float) -> Iterator[Record]:
    group_path = f"events.events[{position}]"
    path = child_path(child_path(group_path, "frames"), str(key))
    if not isinstance(item, dict):
        raise FormatError("a frame event must be a JSON object", path=path)
    index = _frame_index(key, path)
    own, own_paths = _attributes(item.get("attrs"), path).merged()
    constant, constant_paths = _attributes(header.get("attrs"), group_path).merged()
    confidence = _confidence(item, path)
    yield EventRecord(
        label=_label(header, group_path, "the VideoEvent"),
        start_index=index,
        end_index=index,
        attrs={**own, **constant},
        confidence=confidence if confidence is not None else _confidence(header, group_path),
        path=path,
        attr_paths={**own_paths, **constant_paths},
    )


def _support_ranges(support: Any, path: str) -> list[tuple[int, int]]:
    """1-based inclusive ranges from ``{"ranges": "1-300,450-460"}`` or
    ``{"ranges": [[1, 300], [450, 460]]}`` (also accepted without the wrapper)."""
    if support is None:
        return []
    if isinstance(support, dict):
        support, path = support.get("ranges", []), child_path(path, "ranges")
    if isinstance(support, str):
        return [_parse_range(part, path) for part in support.split(",") if part.strip()]
    if not isinstance(support, list):
        raise FormatError("ranges must be a string like '1-300,450-460' or a list of [first, last]", path=path)
    ranges = []
    for position, pair in enumerate(support):
        pair_path = f"{path}[{position}]"
        if not isinstance(pair, list) or len(pair) != 2:
            raise FormatError("a range must be [first, last]", path=pair_path)
        ranges.append((integer(pair[0], pair_path, "a frame number"), integer(pair[1], pair_path, "a frame number")))
    return ranges


def _parse_range(text: str, path: str) -> tuple[int, int]:
    first, _, last = text.strip().partition("-")
    try:
        return int(first), int(last or first)
    except ValueError:
        raise FormatError(f"cannot read the frame range {text.strip()!r}", path=path) from None
