"""Reads: label schemas, the search request a query and filters make under one, jobs,
videos, their labels and their media."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.urls import reverse

from accounts.roles import ADMIN, user_has_role
from indexer.facets import UNITS, FacetError, facets_for, parse_filters
from indexer.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from indexer.media import MediaError, frame_index
from indexer.models import DefaultSchema, IngestJob, LabelSchema, Video, VideoVersion
from indexer.ontology import Ontology, parse_schema_document, with_review
from indexer.query import compile_query
from indexer.query.errors import hint, nearest
from indexer.query.tree import normalize
from indexer.search import get_search_backend
from indexer.search.contract import SearchRequest
from indexer.thumbnails import SpriteLayout, sprite_jpeg, sprite_layout, thumbnail_jpeg
from indexer.video_cuts import CUT_MAX_S, cut_mp4
from indexer.zones import zone_definitions


class SchemaNotFound(LookupError):
    """A schema reference that no stored schema answers: ``path`` is the request field
    that gave it, ``suggestions`` the nearest known names."""

    def __init__(self, message: str, *, path: str = "schema", suggestions: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.suggestions = suggestions or []


NO_SCHEMA_YET = "no label schema has been uploaded yet; an admin must POST /api/v1/schemas/ first"


def schema_resolve(*, ref: str | int | None) -> LabelSchema:
    """The schema a request names: an id, ``name`` (its newest version) or
    ``name:version``; with no name, the default schema (:func:`schema_default`).

    Raises :class:`SchemaNotFound` saying why.
    """
    if ref in (None, ""):
        schema = schema_default()
        if schema is None:
            raise SchemaNotFound(NO_SCHEMA_YET)
        return schema
    text = str(ref)
    if text.isdigit():
        schema = LabelSchema.objects.filter(pk=int(text)).first()
        if schema is None:
            raise SchemaNotFound(f"no schema has id {text}")
        return schema
    name, _, version = text.partition(":")
    schemas = LabelSchema.objects.filter(name=name)
    if version:
        if not version.isdigit():
            raise SchemaNotFound(f"schema version must be a number, got '{version}'")
        schemas = schemas.filter(version=int(version))
    schema = schemas.order_by("-version").first()
    if schema is None:
        raise _unknown_schema(text, name=name, path="schema")
    return schema


def schema_named(*, name: str, path: str) -> LabelSchema:
    """The newest version of the schema ``name``; :class:`SchemaNotFound` at the
    request field ``path``, with the nearest names, when no schema has that name."""
    schema = schema_newest(name=name)
    if schema is None:
        raise _unknown_schema(name, name=name, path=path)
    return schema


def _unknown_schema(text: str, *, name: str, path: str) -> SchemaNotFound:
    close = nearest(name, schema_names())
    return SchemaNotFound(f"no schema named '{text}'{hint(close)}", path=path, suggestions=close)


def schema_default() -> LabelSchema | None:
    """The schema of requests that name none: the newest version of the name an admin
    made the default, else (none chosen yet, or its versions all deleted since) of the
    first name uploaded; None before the first upload."""
    chosen = DefaultSchema.objects.values_list("name", flat=True).first()
    schema = schema_newest(name=chosen) if chosen else None
    if schema is None:
        first = LabelSchema.objects.order_by("created_at", "id").values_list("name", flat=True).first()
        schema = schema_newest(name=first) if first else None
    return schema


def schema_names() -> list[str]:
    """Every schema name, in order."""
    return list(LabelSchema.objects.order_by("name").values_list("name", flat=True).distinct())


def schemas_newest() -> list[LabelSchema]:
    """The newest version of every schema name, by name."""
    newest_version = LabelSchema.objects.filter(name=OuterRef("name")).order_by("-version").values("version")[:1]
    return list(LabelSchema.objects.filter(version=Subquery(newest_version)).order_by("name"))


def schemas_all() -> QuerySet[LabelSchema]:
    """Every version of every schema, with its author."""
    return LabelSchema.objects.select_related("author")


def schemas_recent(*, limit: int) -> list[LabelSchema]:
    """The ``limit`` most recent uploads, newest first, with their authors."""
    return list(LabelSchema.objects.select_related("author").order_by("-created_at", "-id")[:limit])


def schema_newest(*, name: str) -> LabelSchema | None:
    """The newest version of the schema ``name``, or None."""
    return LabelSchema.objects.filter(name=name).order_by("-version").first()


def schema_ontology(schema: LabelSchema) -> Ontology:
    """The ontology a stored schema describes: what payloads are validated against."""
    return parse_schema_document(schema.document)


def search_ontology(schema: LabelSchema) -> Ontology:
    """The ontology searches under ``schema`` use: its own, plus the built-in ``review``
    attribute of every object label (:func:`indexer.ontology.with_review`)."""
    return with_review(schema_ontology(schema))


def search_request(
    *,
    schema: LabelSchema,
    query: Any = None,
    q: str | None = None,
    filters: Any = None,
    gap_s: float = 1.0,
    page: int = 1,
    page_size: int = PAGE_SIZE_DEFAULT,
    facet_unit: str | None = None,
    facets: list[str] | None = None,
    tz: str | None = None,
) -> SearchRequest:
    """The backend request for a query and sidebar filters, validated against
    ``schema``'s ontology (statistics take the same fields). ``tz``: the time zone of
    ``hour``/``weekday`` and of ``clock`` date-times without an offset; default
    ``settings.SCOOP_TIME_ZONE``.

    Raises QueryError / FacetError naming what is wrong.
    """
    ontology = search_ontology(schema)
    tree = compile_query(query=query, q=q, ontology=ontology, tz=tz or settings.SCOOP_TIME_ZONE,
                         zones=zone_definitions)
    parsed_filters = parse_filters(filters, ontology)
    if facet_unit not in (None, "", *UNITS):
        raise FacetError("facet_unit", f"unknown unit '{facet_unit}'; expected one of {', '.join(UNITS)}")
    known = facets_for(ontology)
    for i, key in enumerate(facets or []):
        if key not in known:
            raise FacetError(f"facets[{i}]", f"unknown facet '{key}'")
    if not (isinstance(gap_s, int | float) and math.isfinite(gap_s) and gap_s >= 0):
        raise FacetError("gap_s", "gap_s must be a number of seconds >= 0")
    if page < 1 or not 1 <= page_size <= PAGE_SIZE_MAX:
        raise FacetError("page_size" if page >= 1 else "page",
                         f"page must be >= 1 and page_size between 1 and {PAGE_SIZE_MAX}")
    return SearchRequest(
        ontology=ontology,
        query=tree,
        filters=parsed_filters,
        gap_s=float(gap_s),
        page=page,
        page_size=page_size,
        facet_unit=facet_unit or None,
        facets=facets or None,
    )


def ingest_jobs_visible(*, user: AbstractBaseUser) -> QuerySet[IngestJob]:
    """Admins see every job, workers their own."""
    jobs = IngestJob.objects.select_related("schema", "video")
    return jobs if user_has_role(user, ADMIN) else jobs.filter(created_by=user)


def ingest_job_earlier_unfinished(*, job_id: str) -> IngestJob | None:
    """The oldest job of the same video, accepted before job ``job_id``, that has not ended
    (queued or running), if any. Jobs accepted in the same instant are ordered by id."""
    job = IngestJob.objects.filter(pk=job_id).values("video_name", "created_at").first()
    if job is None:
        return None
    earlier = Q(created_at__lt=job["created_at"]) | Q(created_at=job["created_at"], pk__lt=job_id)
    unfinished = IngestJob.objects.filter(status__in=[IngestJob.QUEUED, IngestJob.RUNNING])
    return unfinished.filter(earlier, video_name=job["video_name"]).order_by("created_at", "pk").first()


def videos_all() -> QuerySet[Video]:
    return Video.objects.select_related("owner", "created_by")


def video_source_job(*, video: Video) -> IngestJob | None:
    """The ingest job whose analytics the video holds now: its newest successful one
    (a restore is a job too); None for a live stream or a video with no analytics."""
    return (video.jobs.filter(status=IngestJob.SUCCEEDED).select_related("created_by")
            .order_by("-finished_at").first())


def video_versions(*, video: Video) -> list[VideoVersion]:
    """The versions ``video`` keeps, newest (its current one) first."""
    return list(video.versions.select_related("schema", "created_by").order_by("-number"))


def videos_indexed_count() -> int:
    """How many videos have indexed analytics."""
    return Video.objects.filter(indexed_at__isnull=False).count()


def videos_without_clock_count() -> int:
    """How many indexed videos have no ``recorded_at``: clock, hour and weekday filters leave them out."""
    return Video.objects.filter(indexed_at__isnull=False, recorded_at__isnull=True).count()


def video_gps_tracks(*, limit: int) -> list[tuple[int, str, list[list[float]]]]:
    """``(id, name, gps)`` of the first ``limit`` indexed videos by id; ``gps`` is their
    ``[[t, lat, lon], ...]`` waypoints, empty when they have none."""
    recorded = Video.objects.filter(indexed_at__isnull=False).order_by("pk")
    return list(recorded.values_list("pk", "name", "gps")[:limit])


def videos_by_id(*, ids: Iterable[int]) -> dict[int, Video]:
    """The videos with these ids, by id; ids of videos deleted since are left out."""
    return Video.objects.in_bulk(set(ids))


def video_stream_url(video: Video) -> str | None:
    """Where a player gets the video: Scoop's byte-range download of its local file, else its media URL."""
    if video.media_path:
        return reverse("video-bytes", args=[video.pk])
    return video.media_url or None


def video_thumbnail_url(video: Video, t: float) -> str | None:
    """The poster of the frame at ``t`` seconds, when the video has decodable local media."""
    if video.media_status != Video.MEDIA_READY:
        return None
    return f"{reverse('video-thumbnail', args=[video.pk])}?t={t}"


def video_sprite(video: Video) -> dict[str, Any] | None:
    """The hover-scrubbing strip's URL and layout, when the video has decodable local media."""
    layout = _sprite_layout(video)
    if layout is None:
        return None
    return {
        "url": reverse("video-sprite", args=[video.pk]),
        "frames": layout.frames,
        "frame_width": layout.frame_width,
        "frame_height": layout.frame_height,
        "interval_s": layout.interval_s,
    }


def _sprite_layout(video: Video) -> SpriteLayout | None:
    if video.media_status != Video.MEDIA_READY or not (video.width and video.height and video.duration_s):
        return None
    return sprite_layout(width=video.width, height=video.height, duration_s=video.duration_s)


def video_media_file(*, video: Video) -> Path:
    """The video's local media file; raises :class:`MediaError` (404) when it has none."""
    if not video.media_path:
        where = f" (it plays from {video.media_url})" if video.media_url else ""
        raise MediaError(f"video {video.pk} has no media file on this server{where}", status=404)
    path = Path(video.media_path)
    if not path.is_file():
        raise MediaError(f"the media file of video {video.pk} is missing from the server", status=404)
    return path


def _decodable_media(video: Video) -> Path:
    path = video_media_file(video=video)
    if video.media_status != Video.MEDIA_READY:
        reason = f": {video.media_error}" if video.media_error else ""
        raise MediaError(
            f"the media of video {video.pk} cannot be decoded yet (media status {video.media_status}{reason})",
            status=409,
        )
    if not (video.fps and video.frame_count):
        raise MediaError(f"the frame rate of video {video.pk} is unknown, so its frames cannot be found", status=409)
    return path


def video_thumbnail(*, video: Video, t: float, width: int) -> Path:
    """A JPEG of the frame at ``t`` seconds, ``width`` pixels wide (cached).

    Raises :class:`MediaError` when the video has no decodable media or ``t``
    lies past its end.
    """
    media = _decodable_media(video)
    frame = frame_index(t, video.fps)
    if frame >= video.frame_count:
        raise MediaError(f"t={t} is past the end of the video ({video.duration_s:g} s)", path="t")
    return thumbnail_jpeg(video_id=video.pk, media=media, frame=frame, width=width)


def video_sprite_jpeg(*, video: Video) -> Path:
    """The sprite strip that :func:`video_sprite` describes (cached)."""
    media = _decodable_media(video)
    layout = _sprite_layout(video)
    if layout is None:
        raise MediaError(f"the size or duration of video {video.pk} is unknown", status=409)
    return sprite_jpeg(video_id=video.pk, media=media, layout=layout, fps=video.fps, frame_count=video.frame_count)


def video_cut(*, video: Video, start_s: float, end_s: float, overlay: bool) -> Path:
    """An MP4 of the frames shown from ``start_s`` up to ``end_s``, with the
    video's labels drawn on when ``overlay`` (cached).

    Raises :class:`MediaError` for an empty, too long or out-of-range span.
    """
    media = _decodable_media(video)
    if end_s - start_s > CUT_MAX_S:
        raise MediaError(f"a clip may last at most {CUT_MAX_S:g} s; this one lasts {end_s - start_s:g} s",
                         path="end_s")
    frames = range(frame_index(start_s, video.fps), min(video.frame_count, math.ceil(end_s * video.fps - 1e-6)))
    if not frames:
        raise MediaError(f"no frame of video {video.pk} ({video.duration_s:g} s) lies between start_s and end_s",
                         path="start_s")
    overlays = None
    if overlay:
        overlays = {}
        for labeled in video_labels(video=video, start_s=start_s, end_s=end_s):
            overlays.setdefault(frame_index(labeled["t"], video.fps), []).extend(labeled["objects"])
    colors = video.schema.document.get("display", {}).get("colors", {}) if video.schema else {}
    stamp = str(video.indexed_at.timestamp()) if video.indexed_at else ""
    return cut_mp4(video_id=video.pk, media=media, frames=frames, fps=video.fps, overlays=overlays,
                    colors=colors, labels_version=stamp)


def video_labels(*, video: Video, start_s: float = 0.0, end_s: float | None = None,
                 request: SearchRequest | None = None) -> list[dict[str, Any]]:
    """The labeled frames of ``video`` with ``start_s <= t < end_s``, in order,
    each with its objects: label, track, confidence, effective attributes (constant
    track attributes on every detection of their track, the first stated value
    winning) and the box relative (0..1) and in pixels of the video.

    Read from the search index (what ingest indexed: the payload as validated
    against its schema). With a ``request`` (query and filters), only the matched
    labels: the frames matching the query AND the filters, and in them the objects
    satisfying one of the query's or filters' positive object predicates (any object
    when there is none; see :meth:`BaseSearchBackend.frame_labels`).
    """
    frames = get_search_backend().frame_labels(video_id=video.pk, start_s=start_s, end_s=end_s, request=request)
    if request is not None:
        frames = [
            {"index": frame["index"], "t": frame["t"],
             "objects": [_without_match(obj) for obj in frame["objects"] if obj["matched"]]}
            for frame in frames if frame["matched"]
        ]
    for frame in frames:
        for obj in frame["objects"]:
            obj["box_px"] = _box_px(obj["box"], video.width, video.height)
    return frames


def _without_match(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key != "matched"}


def _box_px(box: list[float] | None, width: int | None, height: int | None) -> list[float] | None:
    if box is None or not (width and height):
        return None
    return [round(box[0] * width, 2), round(box[1] * height, 2), round(box[2] * width, 2), round(box[3] * height, 2)]


def schema_dropped_in_use(*, previous: LabelSchema, current: LabelSchema) -> list[dict[str, Any]]:
    """The values ``previous`` allowed and ``current`` (a newer version of the same
    name) drops, that videos indexed under that schema name still hold.

    One entry per value, ``{"facet", "value", "unit", "count"}``, counted like the
    sidebar: objects for labels and object attributes, frames for the rest. The
    videos keep these data; searches and facets under ``current`` no longer see them.
    """
    old_ontology = parse_schema_document(previous.document)
    old, new = facets_for(old_ontology), facets_for(parse_schema_document(current.document))
    dropped = {key: [value for value in facet.values if key not in new or value not in new[key].values]
               for key, facet in old.items()}
    dropped = {key: values for key, values in dropped.items() if values}
    names = list(Video.objects.filter(schema__name=previous.name, indexed_at__isnull=False)
                 .values_list("name", flat=True))
    if not dropped or not names:
        return []
    only_these_videos = normalize({"video": {"name": names}}, old_ontology)
    in_use = []
    for unit in ("objects", "frames"):
        keys = [key for key in dropped if old[key].default_unit == unit]
        if not keys:
            continue
        request = SearchRequest(ontology=old_ontology, query=only_these_videos, facets=keys)
        counts = get_search_backend().occurrence(request=request, unit=unit)
        in_use += [{"facet": key, "value": value, "unit": unit, "count": counts[key][value]}
                   for key in keys for value in dropped[key] if counts[key].get(value)]
    return in_use
