"""Batch imports of videos from a folder or a zip (docs/api/imports.md; ``manage.py import_videos``).

A regular expression with named groups, matched against each video file's path inside the folder
or zip, gives its ``camera`` and its recording time: ``recorded_at`` (ISO 8601, or the digits
``YYYYMMDD[HHMM[SS]]`` with any separators), or its parts ``year``, ``month``, ``day``, ``hour``,
``minute``, ``second``. Per-camera defaults (a JSON object by camera, or a CSV file with a
``camera`` column; ``*`` for every camera) give its ``lat``/``lon``, the ``timezone`` its times
are in (default UTC) and the ``schema`` its analysis ingests under.

Everything is checked before anything is made: a bad pattern, a file that does not match, a bad
date or a bad default refuses the whole import (400, naming the file). Each video file becomes a
video named by its path without its extension (one that exists is skipped, so an import can be run
again); a folder's files are used where they are, a zip's are written to ``SCOOP_DATA_DIR/media``.
Each video is probed, and analysed (:func:`indexer.analyses.analysis_create`) if a pipeline is named.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import uuid
import zipfile
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.dateparse import parse_datetime

from indexer.analyses import PIPELINES, analysis_create, analysis_run
from indexer.media import UPLOAD_PREFIX, MediaError, media_dir
from indexer.models import Analysis, Video, VideoImport
from indexer.ownership import admin_check
from indexer.payloads import PayloadError, storage_guard
from indexer.selectors import SchemaNotFound, schema_resolve
from indexer.services import video_get_or_create, video_media_adopt, video_media_probe

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".ogv", ".mpg", ".mpeg", ".ts")
GROUPS = ("camera", "recorded_at", "year", "month", "day", "hour", "minute", "second")
DEFAULT_KEYS = ("lat", "lon", "timezone", "schema")
EVERY_CAMERA = "*"
# The longest camera and video name a Video holds.
CAMERA_MAX = Video._meta.get_field("camera").max_length
NAME_MAX = Video._meta.get_field("name").max_length
# Files named in one refusal, at most.
NAMED = 10
_COMPACT_FORMATS = {14: "%Y%m%d%H%M%S", 12: "%Y%m%d%H%M", 8: "%Y%m%d"}


class ImportRefused(PayloadError):
    """An import refused before anything was made (400): ``message`` names the files."""


@dataclass
class Planned:
    """One video file of an import, checked: where it is, its video's name and fields."""

    file: str
    name: str
    camera: str = ""
    recorded_at: datetime | None = None
    defaults: dict[str, Any] = field(default_factory=dict)


def pattern_compile(raw: str) -> re.Pattern[str]:
    """The filename pattern; refused (400, at ``pattern``) when it is not a regular expression,
    names a group Scoop does not use, or has none of them."""
    try:
        pattern = re.compile(raw)
    except re.error as error:
        where = f" at position {error.pos}" if error.pos is not None else ""
        raise ImportRefused(f"the pattern is not a valid regular expression: {error.msg}{where}",
                            path="pattern") from None
    unknown = sorted(set(pattern.groupindex) - set(GROUPS))
    if unknown:
        raise ImportRefused(f"the pattern's group '{unknown[0]}' is not one Scoop reads; name groups "
                            f"{', '.join(GROUPS)}", path="pattern")
    if not pattern.groupindex:
        raise ImportRefused(f"the pattern has no named group: name at least one of {', '.join(GROUPS)}, "
                            "e.g. (?P<camera>[^_]+)_(?P<recorded_at>\\d{8}T\\d{6})\\.mp4", path="pattern")
    return pattern


def defaults_read(*, text: str, filename: str = "defaults.json") -> dict[str, dict[str, Any]]:
    """Per-camera defaults from a JSON object (by camera) or a CSV file (a ``camera`` column),
    checked: keys among ``lat``, ``lon``, ``timezone``, ``schema``; numbers for ``lat``/``lon``;
    a known time zone. Refused (400, at ``defaults``) naming the camera and the key."""
    if filename.lower().endswith(".csv"):
        rows = list(csv.DictReader(io.StringIO(text)))
        if rows and "camera" not in rows[0]:
            raise ImportRefused("the defaults CSV needs a 'camera' column", path="defaults")
        table = {row.pop("camera"): {key: value for key, value in row.items() if value not in ("", None)}
                 for row in rows}
    else:
        try:
            table = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as error:
            raise ImportRefused(f"the defaults are not JSON: {error.msg} at line {error.lineno} column {error.colno}",
                                path="defaults") from None
    return defaults_check(table)


def defaults_check(table: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(table, dict):
        raise ImportRefused("the defaults must be an object of cameras, each an object of defaults", path="defaults")
    checked = {}
    for camera, values in table.items():
        where = f"defaults.{camera}"
        if not isinstance(values, dict):
            raise ImportRefused(f"the defaults of camera '{camera}' must be an object", path=where)
        unknown = sorted(set(values) - set(DEFAULT_KEYS))
        if unknown:
            raise ImportRefused(f"camera '{camera}': unknown default '{unknown[0]}'; expected "
                                f"{', '.join(DEFAULT_KEYS)}", path=f"{where}.{unknown[0]}")
        entry = dict(values)
        for key, bound in (("lat", 90), ("lon", 180)):
            if key in entry:
                try:
                    entry[key] = float(entry[key])
                except (TypeError, ValueError):
                    raise ImportRefused(f"camera '{camera}': {key} must be a number, got {values[key]!r}",
                                        path=f"{where}.{key}") from None
                if not -bound <= entry[key] <= bound:
                    raise ImportRefused(f"camera '{camera}': {key} must be from -{bound} to {bound}, got {entry[key]}",
                                        path=f"{where}.{key}")
        if ("lat" in entry) != ("lon" in entry):
            raise ImportRefused(f"camera '{camera}': give both lat and lon, or neither", path=where)
        if "timezone" in entry:
            _zone(entry["timezone"], where=f"{where}.timezone", camera=camera)
        checked[str(camera)] = entry
    return checked


def _zone(name: Any, *, where: str, camera: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImportRefused(f"camera '{camera}': unknown time zone {name!r} (an IANA name such as Europe/Paris)",
                            path=where) from None


def _recorded_at(file: str, groups: dict[str, str], zone: tzinfo) -> datetime | None:
    raw = groups.get("recorded_at")
    if raw:
        moment = _parse_moment(raw)
        if moment is None:
            raise ImportRefused(f"'{file}': recorded_at '{raw}' is not a date and time (ISO 8601, or "
                                "YYYYMMDD[HHMM[SS]] with any separators)", path="pattern")
    elif any(groups.get(part) for part in ("year", "month", "day", "hour", "minute", "second")):
        if not groups.get("year"):
            raise ImportRefused(f"'{file}': the pattern gives parts of a date but no year", path="pattern")
        parts = {part: groups.get(part) or default for part, default in
                 (("year", None), ("month", 1), ("day", 1), ("hour", 0), ("minute", 0), ("second", 0))}
        try:
            moment = datetime(**{part: int(value) for part, value in parts.items()})
        except ValueError as error:
            shown = "-".join(str(parts[p]) for p in ("year", "month", "day"))
            shown += " " + ":".join(str(parts[p]) for p in ("hour", "minute", "second"))
            raise ImportRefused(f"'{file}': {shown} is not a date and time: {error}", path="pattern") from None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _parse_moment(raw: str) -> datetime | None:
    try:
        moment = parse_datetime(raw)
    except ValueError:
        return None
    if moment is not None:
        return moment
    digits = re.sub(r"\D", "", raw)
    layout = _COMPACT_FORMATS.get(len(digits))
    if layout is None:
        return None
    try:
        return datetime.strptime(digits, layout)
    except ValueError:
        return None


def import_plan(*, files: list[str], pattern: re.Pattern[str], defaults: dict[str, dict[str, Any]]) -> list[Planned]:
    """Check every video file of an import against the pattern and the defaults. Refused (400)
    when there is no video file, when files do not match (naming them) and for a bad date."""
    videos = sorted(file for file in files if file.lower().endswith(VIDEO_EXTENSIONS))
    if not videos:
        raise ImportRefused(f"there is no video file to import (files ending {', '.join(VIDEO_EXTENSIONS)})",
                            path="source")
    unmatched = [file for file in videos if pattern.fullmatch(file) is None]
    if unmatched:
        shown = ", ".join(f"'{file}'" for file in unmatched[:NAMED])
        more = f" and {len(unmatched) - NAMED} more" if len(unmatched) > NAMED else ""
        raise ImportRefused(f"{len(unmatched)} of {len(videos)} video files do not match the pattern "
                            f"{pattern.pattern!r}: {shown}{more}", path="pattern")
    planned = []
    for file in videos:
        groups = {key: value for key, value in pattern.fullmatch(file).groupdict().items() if value}
        camera = groups.get("camera", "")
        if len(camera) > CAMERA_MAX or len(file) > NAME_MAX:
            raise ImportRefused(f"'{file}': its camera is longer than {CAMERA_MAX} characters or its path longer "
                                f"than {NAME_MAX}", path="pattern")
        entry = {**defaults.get(EVERY_CAMERA, {}), **defaults.get(camera, {})}
        zone = _zone(entry["timezone"], where="defaults", camera=camera) if "timezone" in entry else UTC
        planned.append(Planned(file=file, name=str(PurePosixPath(file).with_suffix("")), camera=camera,
                               recorded_at=_recorded_at(file, groups, zone), defaults=entry))
    return planned


def import_root_resolve(raw: str) -> Path:
    """The real path of a folder an admin names for an import: inside ``SCOOP_IMPORT_ROOTS``
    (checked after resolving symlinks, before existence), and a folder."""
    roots = [Path(os.path.realpath(root)) for root in settings.SCOOP_IMPORT_ROOTS]
    if not roots:
        raise MediaError("no folder may be imported from: the server has no SCOOP_IMPORT_ROOTS", status=403,
                         path="path")
    real = Path(os.path.realpath(raw)) if os.path.isabs(raw) else None
    if real is None or not any(real.is_relative_to(root) for root in roots):
        raise MediaError(f"'{raw}' is not inside a folder videos may be imported from (SCOOP_IMPORT_ROOTS: "
                         f"{', '.join(str(root) for root in roots)})", status=403, path="path")
    if not real.is_dir():
        raise MediaError(f"there is no folder at '{raw}'", path="path")
    return real


def folder_files(folder: Path) -> list[str]:
    """The files of ``folder`` and its subfolders, as POSIX paths relative to it."""
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


def import_folder(*, folder: Path, pattern: str, defaults: dict[str, dict[str, Any]], pipeline: str | None,
                  user: AbstractBaseUser | None, here: bool = False) -> VideoImport:
    """Import the video files of ``folder``, used where they are (see the module). ``here``: probe
    and analyse in this process (``manage.py import_videos``), not by queued tasks."""
    compiled = pattern_compile(pattern)
    plan = import_plan(files=folder_files(folder), pattern=compiled, defaults=defaults)
    _pipeline_check(pipeline, defaults)
    return _import_run(kind=VideoImport.FOLDER, source=str(folder), pattern=pattern, defaults=defaults,
                       pipeline=pipeline, plan=plan, user=user, here=here,
                       place=lambda planned: folder / planned.file)


def import_zip(*, archive: Path | Any, name: str, pattern: str, defaults: dict[str, dict[str, Any]],
               pipeline: str | None, user: AbstractBaseUser | None, here: bool = False) -> VideoImport:
    """Import the video files of a zip (a path or a file object): each is written to
    ``SCOOP_DATA_DIR/media`` under a generated name, refused (413) past ``SCOOP_MEDIA_MAX_BYTES``."""
    compiled = pattern_compile(pattern)
    try:
        opened = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise ImportRefused(f"'{name}' is not a zip file", path="file") from None
    with opened:
        members = {info.filename: info for info in opened.infolist() if not info.is_dir()}
        plan = import_plan(files=list(members), pattern=compiled, defaults=defaults)
        _pipeline_check(pipeline, defaults)
        with _extracted(opened, [members[planned.file] for planned in plan]) as paths:
            return _import_run(kind=VideoImport.ZIP, source=name, pattern=pattern, defaults=defaults,
                               pipeline=pipeline, plan=plan, user=user, here=here,
                               place=lambda planned: paths[planned.file])


@contextmanager
def _extracted(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> Iterator[dict[str, Path]]:
    """Write the members to ``SCOOP_DATA_DIR/media`` under generated names; those the import did
    not adopt are removed at the end."""
    limit = settings.SCOOP_MEDIA_MAX_BYTES
    paths: dict[str, Path] = {}
    try:
        with storage_guard(media_dir()):
            for info in members:
                extension = PurePosixPath(info.filename).suffix.lower()
                target = media_dir() / f"{UPLOAD_PREFIX}{uuid.uuid4().hex}{extension}"
                paths[info.filename] = target
                with archive.open(info) as source, open(target, "wb") as out:
                    written = 0
                    while block := source.read(1024 * 1024):
                        written += len(block)
                        if written > limit:
                            raise MediaError(f"'{info.filename}' in the zip is larger than the limit of {limit} "
                                             "bytes (SCOOP_MEDIA_MAX_BYTES)", status=413, path="file")
                        out.write(block)
        yield paths
    finally:
        adopted = set(Video.objects.filter(media_path__in=[str(p) for p in paths.values()])
                      .values_list("media_path", flat=True))
        for path in paths.values():
            if str(path) not in adopted:
                path.unlink(missing_ok=True)


def _pipeline_check(pipeline: str | None, defaults: dict[str, dict[str, Any]]) -> None:
    if not pipeline:
        return
    if pipeline not in PIPELINES:
        raise ImportRefused(f"unknown pipeline '{pipeline}'; expected one of {', '.join(PIPELINES)}", path="pipeline")
    for camera, entry in defaults.items():
        if entry.get("schema"):
            try:
                schema_resolve(ref=entry["schema"])
            except SchemaNotFound as error:
                raise ImportRefused(f"camera '{camera}': {error.message}", path=f"defaults.{camera}.schema") from None


def _import_run(*, kind: str, source: str, pattern: str, defaults: dict[str, dict[str, Any]], pipeline: str | None,
                plan: list[Planned], user: AbstractBaseUser | None, here: bool, place) -> VideoImport:
    made: list[Video] = []
    skipped = []
    analyses: list[Analysis] = []
    with transaction.atomic():
        for planned in plan:
            video, created = video_get_or_create(name=planned.name, user=user)
            if not created:
                skipped.append({"file": planned.file, "reason": f"a video called '{planned.name}' exists "
                                                               f"(id {video.pk})"})
                continue
            _describe(video, planned)
            made.append(video_media_adopt(video=video, path=place(planned), actor=user, how=f"{kind} import",
                                          enqueue=not here))
        record = VideoImport.objects.create(kind=kind, source=source, pattern=pattern, defaults=defaults,
                                            pipeline=pipeline or "", videos=[video.pk for video in made],
                                            skipped=skipped, created_by=user)
    if here:
        for video in made:
            video_media_probe(video_id=video.pk)
    if pipeline:
        schemas = {planned.name: planned.defaults.get("schema") for planned in plan}
        for video in made:
            params = {"schema": schemas[video.name]} if schemas.get(video.name) else {}
            analyses.append(analysis_create(video=video, pipeline=pipeline, params=params, user=user,
                                            enqueue=not here))
        VideoImport.objects.filter(pk=record.pk).update(analyses=[str(analysis.pk) for analysis in analyses])
        record.refresh_from_db()
        if here:
            for analysis in analyses:
                analysis_run(analysis_id=str(analysis.pk))
    return record


def _describe(video: Video, planned: Planned) -> None:
    fields: dict[str, Any] = {"camera": planned.camera, "recorded_at": planned.recorded_at}
    if "lat" in planned.defaults:
        fields["gps"] = [[0.0, planned.defaults["lat"], planned.defaults["lon"]]]
    Video.objects.filter(pk=video.pk).update(**{key: value for key, value in fields.items() if value})


def import_access_check(*, user: AbstractBaseUser | None) -> None:
    """Folder imports are the admins' (and the server's): they read the server's disk."""
    admin_check(user=user, what="import a folder of the server")

