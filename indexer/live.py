"""Live streams: videos that take their analytics in chunks while they are recorded.

A live video is created with its stream's facts (fps, frame size, start time), a
schema, a validation mode and a stream format (:data:`indexer.formats.STREAM_READERS`).
Each chunk is newline-delimited JSON, one message a line; it is read, checked against
the schema and appended to the index before it is acknowledged, so searches see it at
once:

- a line that is not JSON, or that the format cannot read, refuses the whole chunk
  (400 naming the line); so does a constant track attribute (a detection attribute
  with ``constant: true``): it would change detections already indexed, so live
  streams take per-detection attributes only;
- ``strict`` refuses the whole chunk when anything breaks the schema, listing every
  violation with its line; ``filter`` drops what does not conform and reports it;
- appends are idempotent by frame: frames already indexed for the video are
  duplicates and change nothing (a resent chunk appends nothing); chunks may come in
  any order, as clips are computed from frame times at query time.

Every line that added a frame is kept, as sent, in the video's spool
(``SCOOP_DATA_DIR/payloads/<uuid>.ndjson``), so that ``rebuild_index`` reads the video
back through the same stream reader. Appends to one video are serialized by an
exclusive lock on its spool, which a delete of the video takes too (a chunk sent while
its video was deleted is refused, 404); the spool is written and synced after the index
append, and truncated back (with the index rebuilt from it) when that write fails.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from indexer.formats import STREAM_READERS, FormatError
from indexer.formats.json_walk import MAX_FPS, MIN_FPS
from indexer.formats.stream import StreamContext
from indexer.models import LabelSchema, Video
from indexer.ontology import parse_schema_document
from indexer.overlays import reviewed
from indexer.ownership import video_write_check
from indexer.payloads import PayloadError, payload_dir, storage_guard
from indexer.records import (
    Analytics,
    EventRecord,
    FrameRecord,
    ObjectRecord,
    Record,
    TrackRecord,
    VideoMeta,
    Waypoint,
)
from indexer.search import get_search_backend
from indexer.search.contract import DEFAULT_FPS, AppendResult, IndexCounts
from indexer.signals import video_indexed
from indexer.validation import MODES, Violation, validate

SPOOL_SUFFIX = ".ndjson"
_LINE = re.compile(r"^line (\d+)")


class ChunkRefused(PayloadError):
    """A chunk that breaks the schema in strict mode: nothing was appended. ``problems``
    lists every violation (``path``, ``message``, ``line``)."""

    def __init__(self, message: str, *, problems: list[dict[str, Any]]):
        super().__init__(message, status=400)
        self.problems = problems


@dataclass
class AppendOutcome:
    """What one chunk did: the answer of ``POST /api/v1/videos/{id}/stream/``."""

    video: Video
    lines: int
    result: AppendResult
    mode: str
    violations: list[dict[str, Any]] = field(default_factory=list)
    violation_count: int = 0
    dropped: dict[str, int] = field(default_factory=dict)


# Starting and ending a stream --------------------------------------------------------------------


def live_video_start(
    *,
    name: str,
    schema: LabelSchema,
    fps: float,
    width: int | None = None,
    height: int | None = None,
    recorded_at: datetime | None = None,
    camera: str = "",
    format: str = "eta",
    mode: str = "strict",
    user: AbstractBaseUser | None,
) -> tuple[Video, bool]:
    """Make ``name`` a live video (True when the record is new, created by and owned by
    ``user``) and index it, empty.

    A video that already holds analytics from a file is refused (409): a stream
    would mix two sources. A video created for its media first, or an ended stream,
    becomes live, if ``user`` may write to it (:mod:`indexer.ownership`).
    """
    if format not in STREAM_READERS:
        raise PayloadError(f"unknown stream format '{format}'; expected one of {', '.join(sorted(STREAM_READERS))}",
                           path="format")
    if mode not in MODES:
        raise PayloadError(f"unknown mode '{mode}'; expected strict or filter", path="mode")
    if not MIN_FPS <= fps <= MAX_FPS:
        raise PayloadError(f"fps must lie between {MIN_FPS:g} and {MAX_FPS:g}, got {fps!r}", path="fps")
    with transaction.atomic():
        video, created = Video.objects.select_for_update().get_or_create(
            name=name, defaults={"created_by": user, "owner": user})
        if not created:
            video_write_check(video=video, user=user)
        if video.payload_path and not video.streamed:
            raise PayloadError(f"video '{name}' holds analytics ingested from a file; a live stream needs its own "
                               "video (choose another name)", status=409, path="name")
        if not video.streamed:
            video.payload_path = str(_new_spool())
        recorded = recorded_at if recorded_at is None or recorded_at.tzinfo else recorded_at.replace(tzinfo=UTC)
        video.fps, video.width, video.height, video.recorded_at, video.camera = fps, width, height, recorded, camera
        video.schema, video.format, video.mode = schema, format, mode
        video.live = video.streamed = True
        get_search_backend().append_frames(video_id=video.pk, name=video.name,
                                           analytics=_analytics(video, lambda: iter(())))
        video.counts = _added(video.counts, None)
        video.indexed_at = timezone.now()
        video.save()
    return video, created


def live_video_end(*, video: Video, actor: AbstractBaseUser | None, live: bool = False) -> Video:
    """End a live stream (``live`` False: further chunks are refused) or resume it, if
    ``actor`` may write to the video."""
    video_write_check(video=video, user=actor)
    if live and not video.streamed:
        raise PayloadError(f"video '{video.name}' was not created as a live stream: POST /api/v1/videos/ with "
                           '"live": true and a new name', status=409, path="live")
    Video.objects.filter(pk=video.pk).update(live=live)
    video.refresh_from_db()
    return video


def _new_spool() -> Path:
    path = payload_dir() / f"{uuid.uuid4().hex}{SPOOL_SUFFIX}"
    path.touch()
    return path


# Appending ---------------------------------------------------------------------------------------


def live_append(*, video: Video, body: bytes, actor: AbstractBaseUser | None, format: str | None = None,
                mode: str | None = None) -> AppendOutcome:
    """Read, check and append one chunk of newline-delimited messages (module docstring),
    if ``actor`` may write to the video."""
    video_write_check(video=video, user=actor)
    if not video.live:
        raise PayloadError(f"video '{video.name}' is not live: its stream has ended (PATCH it with "
                           '"live": true to resume)', status=409)
    format, mode = format or video.format, mode or video.mode
    if format not in STREAM_READERS:
        raise PayloadError(f"unknown stream format '{format}'; expected one of {', '.join(sorted(STREAM_READERS))}",
                           path="format")
    if mode not in MODES:
        raise PayloadError(f"unknown mode '{mode}'; expected strict or filter", path="mode")
    lines = _parse_lines(body)
    records = _read_records(video, format, [(number, message) for number, message, _raw in lines])
    report = validate(Analytics.from_list(format=format, meta=VideoMeta(), records=records),
                      parse_schema_document(video.schema.document), mode=mode)
    problems = [_with_line(violation) for violation in report.violations]
    if mode == "strict" and not report.ok:
        raise ChunkRefused(f"the chunk breaks schema {video.schema} in {report.violation_count} place(s); "
                           "nothing was appended", problems=problems)
    kept = list(report.analytics.records())
    result = _append_and_spool(video, kept, lines)
    video.refresh_from_db()
    if result.indices:
        video_indexed.send(sender=Video, video_id=video.pk, span=_span_of(kept, set(result.indices)))
    return AppendOutcome(video=video, lines=len(lines), result=result, mode=mode, violations=problems,
                         violation_count=report.violation_count,
                         dropped={kind: n for kind, n in report.dropped.items() if n})


def _parse_lines(body: bytes) -> list[tuple[int, Any, bytes]]:
    """``(line number, message, raw line)`` of every non-blank line; 400 naming a malformed one."""
    lines = []
    for number, raw in enumerate(body.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            message = json.loads(raw)
        except UnicodeDecodeError:
            raise PayloadError(f"line {number} is not UTF-8 text", path=f"line {number}")
        except json.JSONDecodeError as error:
            raise PayloadError(f"line {number}: malformed JSON: {error.msg} at column {error.colno}",
                               path=f"line {number}")
        lines.append((number, message, raw))
    if not lines:
        raise PayloadError("the chunk holds no messages: send newline-delimited JSON, one message a line")
    return lines


def _read_records(video: Video, format: str, items: list[tuple[int, Any]]) -> list[Record]:
    try:
        records = list(STREAM_READERS[format](iter(items), context=_context(video)))
    except FormatError as error:
        raise PayloadError(f"{error.path}: {error.message}" if error.path else error.message, path=error.path)
    for record in records:
        if isinstance(record, TrackRecord):
            raise PayloadError(
                f"{record.path}: constant attributes of track '{record.track}' are not taken in a live stream (they "
                "would change detections already indexed); send them on each detection without constant: true",
                path=record.path)
    return records


def _with_line(violation: Violation) -> dict[str, Any]:
    match = _LINE.match(violation.get("path", ""))
    return {**violation, "line": int(match.group(1))} if match else dict(violation)


def _line_of(record: Record) -> int | None:
    match = _LINE.match(record.path)
    return int(match.group(1)) if match else None


@contextmanager
def live_spool_locked(*, video: Video) -> Iterator[BinaryIO]:
    """The video's spool, open for appending under its exclusive lock: appends to one video take
    turns, and a delete of it (:func:`indexer.services.video_delete`) waits for the append in
    progress and is seen by the next one."""
    spool = Path(video.payload_path)
    with storage_guard(spool.parent), open(spool, "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield handle


def _append_and_spool(video: Video, records: list[Record], lines: list[tuple[int, Any, bytes]]) -> AppendResult:
    """Append under the video's spool lock, then keep the lines that added frames."""
    backend = get_search_backend()
    with live_spool_locked(video=video) as handle:
        before = Video.objects.filter(pk=video.pk).values_list("counts", flat=True).first()
        if before is None:  # deleted since the request read it: its spool went with it
            Path(video.payload_path).unlink(missing_ok=True)
            raise PayloadError(f"video '{video.name}' was deleted while this chunk was sent; nothing was appended",
                               status=404)
        analytics = reviewed(video.pk, _analytics(video, lambda: iter(records)))
        result = backend.append_frames(video_id=video.pk, name=video.name, analytics=analytics)
        added = set(result.indices)
        wanted = {_line_of(record) for record in records if _frame_of(record) in added}
        size = handle.seek(0, os.SEEK_END)
        try:
            handle.write(b"".join(raw + b"\n" for number, _message, raw in lines if number in wanted))
            handle.flush()
            os.fsync(handle.fileno())
        except OSError:
            # The index has frames the spool lacks: cut the spool back and make the index match it.
            handle.truncate(size)
            backend.index_video(video_id=video.pk, name=video.name,
                                analytics=reviewed(video.pk, live_analytics(video=video)))
            raise
        # Still under the lock: appends to this video add up one at a time.
        Video.objects.filter(pk=video.pk).update(counts=_added(before, result.appended), indexed_at=timezone.now())
    return result


def _span_of(records: list[Record], added: set[int]) -> tuple[float, float] | None:
    """The times of the first and last frame added (None: the chunk added events alone)."""
    times = [record.t for record in records if isinstance(record, FrameRecord | ObjectRecord) and record.index in added]
    return (min(times), max(times)) if times else None


def _frame_of(record: Record) -> int:
    return record.start_index if isinstance(record, EventRecord) else record.index


# Reading a stream back ---------------------------------------------------------------------------


def live_analytics(*, video: Video) -> Analytics:
    """A streamed video's analytics, read back from its spool through its stream reader."""
    return _analytics(video, lambda: STREAM_READERS[video.format](_spool_items(video.payload_path),
                                                                  context=_context(video)))


def live_reindex(*, video: Video, analytics: Analytics) -> IndexCounts:
    """Index a streamed video again from ``analytics`` (read back from its spool, lazily) under
    its spool's lock, so that no chunk lands between the read and the write and is lost."""
    with live_spool_locked(video=video):
        return get_search_backend().index_video(video_id=video.pk, name=video.name, analytics=analytics)


def _spool_items(path: str) -> Iterator[tuple[int, Any]]:
    with open(path, "rb") as spool:
        for number, raw in enumerate(spool, start=1):
            if raw.strip():
                yield number, json.loads(raw)


def _analytics(video: Video, records) -> Analytics:
    return Analytics(format=video.format, meta=_meta(video), records=records)


def _meta(video: Video) -> VideoMeta:
    return VideoMeta(fps=video.fps, width=video.width, height=video.height, recorded_at=video.recorded_at,
                     camera=video.camera or None, gps=[Waypoint(t=t, lat=lat, lon=lon) for t, lat, lon in video.gps])


def _context(video: Video) -> StreamContext:
    return StreamContext(fps=video.fps or DEFAULT_FPS, width=video.width, height=video.height,
                         origin=video.recorded_at)


def _added(counts: dict[str, int], appended: IndexCounts | None) -> dict[str, int]:
    """A video's counts plus what an append added (tracks: those new to the video)."""
    return {key: counts.get(key, 0) + (getattr(appended, key) if appended else 0)
            for key in ("frames", "objects", "tracks", "events")}
