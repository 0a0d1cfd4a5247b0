"""A video's history: the versions it keeps, and the files they hold on to.

Each successful ingest, restore and media change of a video that has analytics records a
:class:`VideoVersion`: the payload (and how it is read), what was indexed from it, and
the media. A video keeps its newest ``SCOOP_KEEP_VERSIONS``; older ones are pruned. A
payload file is deleted once no video, no kept version and no unfinished job refers to
it; a media file Scoop stored (an upload), once no video and no kept version does. So a
replacement never deletes what a kept version can bring back, and ``rebuild_index``
reads each video's current payload."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Max

from indexer.media import media_owned
from indexer.models import IngestJob, Video, VideoVersion
from indexer.payloads import payload_delete

logger = logging.getLogger(__name__)


@dataclass
class Unreferenced:
    """Files that records stopped referring to: released (deleted where nothing else refers
    to them) once the transaction that dropped them has committed."""

    payloads: set[str] = field(default_factory=set)
    media: set[str] = field(default_factory=set)

    def release(self) -> None:
        for path in self.payloads:
            payload_release(path)
        for path in self.media:
            media_release(path)


def version_record(*, video: Video, change: str, created_by: AbstractBaseUser | None, payload_bytes: int = 0,
                   restored_from: int | None = None, media_of: VideoVersion | None = None) -> VideoVersion:
    """Record what ``video`` holds now as its next version: its payload, schema and
    counts, and its media; with ``media_of`` (a media change), that version's payload
    and counts with the video's new media. Call it with the video's row locked, in the
    transaction that changed it."""
    analytics = media_of or video
    latest = video.versions.aggregate(number=Max("number"))["number"] or 0
    return VideoVersion.objects.create(
        video=video, number=latest + 1, change=change, restored_from=restored_from, schema=analytics.schema,
        format=analytics.format, mode=analytics.mode, options=analytics.options,
        payload_path=analytics.payload_path, payload_bytes=media_of.payload_bytes if media_of else payload_bytes,
        counts=analytics.counts, media_path=video.media_path, media_url=video.media_url, created_by=created_by,
    )


def versions_prune(*, video: Video) -> Unreferenced:
    """Drop the versions of ``video`` beyond the newest ``SCOOP_KEEP_VERSIONS`` (but not one
    an unfinished restore job is bringing back); returns their files, to release after commit."""
    old = list(video.versions.order_by("-number")[settings.SCOOP_KEEP_VERSIONS:].values_list("pk", flat=True))
    pruned = VideoVersion.objects.filter(pk__in=old).exclude(restore_jobs__status__in=IngestJob.UNFINISHED)
    files = Unreferenced(payloads=set(pruned.values_list("payload_path", flat=True)),
                         media=set(pruned.exclude(media_path="").values_list("media_path", flat=True)))
    pruned.delete()
    return files


def versions_files(*, video: Video) -> Unreferenced:
    """Every file ``video`` and its versions refer to (what deleting it releases)."""
    versions = video.versions.all()
    return Unreferenced(
        payloads={video.payload_path, *versions.values_list("payload_path", flat=True)} - {""},
        media={video.media_path, *versions.values_list("media_path", flat=True)} - {""},
    )


def payload_release(path: str) -> None:
    """Delete a stored payload unless a video, a kept version or an unfinished job refers to it."""
    if not path:
        return
    if (Video.objects.filter(payload_path=path).exists() or VideoVersion.objects.filter(payload_path=path).exists()
            or IngestJob.objects.filter(payload_path=path, status__in=IngestJob.UNFINISHED).exists()):
        return
    try:
        payload_delete(path)
    except OSError as error:
        # A read-only data dir keeps the file: what was asked for has happened all the same.
        logger.warning("could not delete the payload %s: %s", path, error)


def media_release(path: str) -> None:
    """Delete a media file Scoop stored (an upload) unless a video or a kept version refers
    to it; files registered from the server's folders are never deleted."""
    if not path or not media_owned(path):
        return
    if Video.objects.filter(media_path=path).exists() or VideoVersion.objects.filter(media_path=path).exists():
        return
    Path(path).unlink(missing_ok=True)
