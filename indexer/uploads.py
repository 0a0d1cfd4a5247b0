"""Resumable uploads of video files (tus 1.0.0: core, creation, termination and checksum;
docs/api/uploads.md).

An upload is made with the file's length (:func:`upload_create`); its bytes are then appended in
chunks at the offset the server holds (:func:`upload_append`), which is the size of its partial
file ``SCOOP_DATA_DIR/uploads/<id>.part``: a chunk cut off by a broken link keeps what arrived,
and the client resumes from there. Chunks go straight to the disk, a block at a time, so memory
stays flat whatever the file's size. Once the last byte has arrived the file is synced, hashed
(SHA-256), moved into ``SCOOP_DATA_DIR/media`` under a generated name and made a video's media,
then probed like any uploaded media (:func:`indexer.services.video_media_adopt`).

An upload is its creator's: only they and admins may see it, append to it or delete it.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.roles import ADMIN, user_has_role
from indexer.media import UPLOAD_PREFIX, MediaError, media_dir, media_type
from indexer.models import Upload, Video
from indexer.ownership import WriteRefused, video_write_check
from indexer.payloads import storage_guard
from indexer.services import video_get_or_create, video_media_adopt

logger = logging.getLogger(__name__)

# Bytes read from the request and written at a time.
BLOCK = 1024 * 1024
# Upload-Checksum algorithms a chunk may carry (tus checksum extension).
CHECKSUM_ALGORITHMS = ("sha256", "sha1", "md5")
# HTTP status of a chunk whose Upload-Checksum does not match (tus: "460 Checksum Mismatch").
CHECKSUM_MISMATCH = 460
# Whole-file SHA-256 states kept per process, so that a file sent in order over one connection
# is not read again at the end; a state lost (another process took a chunk) costs one re-read.
_HASHES_KEPT = 64
_hashes: OrderedDict[uuid.UUID, tuple[int, hashlib._Hash]] = OrderedDict()
_hashes_lock = threading.Lock()


def upload_dir() -> Path:
    directory = Path(settings.SCOOP_DATA_DIR) / "uploads"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def upload_partial(upload: Upload) -> Path:
    """Where the bytes of ``upload`` arrive."""
    return upload_dir() / f"{upload.pk}.part"


def upload_offset(*, upload: Upload) -> int:
    """How many bytes of ``upload`` the server holds: where the next chunk starts."""
    if upload.status == Upload.DONE:
        return upload.length
    try:
        return upload_partial(upload).stat().st_size
    except FileNotFoundError:
        return 0


def upload_access_check(*, upload: Upload, user: AbstractBaseUser | None) -> None:
    """Raise :class:`WriteRefused` (403) unless ``user`` made ``upload`` or is an admin."""
    if user is None or user_has_role(user, ADMIN) or upload.created_by_id == user.pk:
        return
    raise WriteRefused(f"upload {upload.pk} belongs to {_who(upload)}: only they and admins may use it")


def _who(upload: Upload) -> str:
    return upload.created_by.get_username() if upload.created_by else "nobody"


def upload_create(*, filename: str, length: int, user: AbstractBaseUser | None, name: str | None = None,
                  video_id: int | None = None, camera: str = "", recorded_at: datetime | None = None) -> Upload:
    """Make an upload of a file of ``length`` bytes. Its video is the one with id ``video_id``
    (its media is replaced: its owner or an admin) or a new one called ``name`` (default: the
    file's name without its extension), made when the last byte arrives.

    Raises :class:`MediaError`: 413 past ``SCOOP_UPLOAD_MAX_BYTES``, 400 for an empty file or
    no name, 409 when a video already has the name; :class:`WriteRefused` (403) for a video
    ``user`` may not write to.
    """
    limit = settings.SCOOP_UPLOAD_MAX_BYTES
    if length > limit:
        raise MediaError(f"the file of {length} bytes is larger than the limit of {limit} bytes "
                         "(SCOOP_UPLOAD_MAX_BYTES)", status=413, path="Upload-Length")
    if length <= 0:
        raise MediaError("the file is empty: Upload-Length must be at least 1", path="Upload-Length")
    if video_id is not None:
        video = Video.objects.select_related("owner").filter(pk=video_id).first()
        if video is None:
            raise MediaError(f"no video has id {video_id}", status=404, path="Upload-Metadata.video")
        video_write_check(video=video, user=user)
        name = video.name
    else:
        name = (name or Path(filename).stem).strip()
        if not name:
            raise MediaError("the video needs a name: give 'name' or 'filename' in Upload-Metadata",
                             path="Upload-Metadata.name")
        existing = Video.objects.filter(name=name).first()
        if existing is not None:
            raise MediaError(f"a video called '{name}' exists (id {existing.pk}): give another 'name', or its "
                             f"id as 'video' to replace its media", status=409, path="Upload-Metadata.name")
    for field, value in (("filename", filename), ("name", name), ("camera", camera)):
        longest = Upload._meta.get_field(field).max_length
        if len(value) > longest:
            raise MediaError(f"Upload-Metadata '{field}' is longer than {longest} characters",
                             path=f"Upload-Metadata.{field}")
    upload = Upload.objects.create(filename=filename, name=name, length=length, camera=camera,
                                   recorded_at=recorded_at, video_id=video_id, created_by=user)
    with storage_guard(upload_dir()):
        upload_partial(upload).touch()
    return upload


def upload_append(*, upload: Upload, offset: int, read: Callable[[int], bytes], declared: int | None,
                  checksum: tuple[str, bytes] | None, user: AbstractBaseUser | None) -> Upload:
    """Append a chunk to ``upload`` at ``offset``: ``read(n)`` gives at most ``n`` bytes of it,
    ``b""`` at its end; ``declared`` is its length when the request gave one. With ``checksum``
    (algorithm, digest) the chunk is kept only if it matches. The last byte finishes the upload
    (:func:`upload_finish`).

    Raises :class:`MediaError`: 409 for an offset that is not the server's or a finished upload,
    or while another request appends to it; 413 for a chunk past the upload's length;
    460 for a checksum mismatch (nothing of the chunk is kept); 400 for a body shorter than
    declared (what arrived is kept: HEAD gives the offset to resume from).
    """
    upload_access_check(upload=upload, user=user)
    if upload.status != Upload.RECEIVING:
        raise MediaError(f"upload {upload.pk} has {'finished' if upload.status == Upload.DONE else 'failed'}: "
                         "it takes no more bytes", status=409, path="Upload-Offset")
    path = upload_partial(upload)
    with storage_guard(upload_dir()), open(path, "ab") as out:
        try:
            fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MediaError(f"another request is appending to upload {upload.pk}: wait until it ends, then ask "
                             "for the offset (HEAD)", status=409, path="Upload-Offset") from None
        start = os.fstat(out.fileno()).st_size
        if offset != start:
            raise MediaError(f"upload {upload.pk} is at offset {start}, not {offset}: send its bytes from offset "
                             f"{start}", status=409, path="Upload-Offset")
        left = upload.length - start
        if declared is not None and declared > left:
            raise MediaError(f"the chunk of {declared} bytes goes past the end of the upload: at offset {start} "
                             f"of {upload.length}, {left} bytes are left", status=413, path="Content-Length")
        whole = _hash_take(upload.pk, start)
        chunk_hash = hashlib.new(checksum[0]) if checksum else None
        written = _copy(out, read=read, left=left, hashes=[h for h in (whole, chunk_hash) if h is not None],
                        upload=upload, start=start)
        if chunk_hash is not None and chunk_hash.digest() != checksum[1]:
            out.truncate(start)
            raise MediaError(f"the chunk's {checksum[0]} is not the one in Upload-Checksum: it was not kept; send "
                             f"it again from offset {start}", status=CHECKSUM_MISMATCH, path="Upload-Checksum")
        if whole is not None:
            _hash_keep(upload.pk, start + written, whole)
        if declared is not None and written < declared:
            raise MediaError(f"the request ended after {written} of its {declared} bytes: the upload is at "
                             f"offset {start + written}; resume from there", path="Content-Length")
        if start + written < upload.length:
            return upload
        out.flush()
        os.fsync(out.fileno())
    return upload_finish(upload=upload, user=user)


def _copy(out, *, read: Callable[[int], bytes], left: int, hashes: list, upload: Upload, start: int) -> int:
    """Copy the request's bytes to ``out`` a block at a time; refuse (413) a byte past ``left``,
    keeping what came before it."""
    written = 0
    while True:
        block = read(min(BLOCK, left - written + 1))
        if not block:
            return written
        if written + len(block) > left:
            out.write(block[: left - written])
            out.flush()
            raise MediaError(f"the chunk goes past the end of the upload ({upload.length} bytes): the bytes up to "
                             f"its end were kept, from offset {start}", status=413, path="Content-Length")
        out.write(block)
        for digest in hashes:
            digest.update(block)
        written += len(block)


def _hash_take(upload_id: uuid.UUID, offset: int) -> hashlib._Hash | None:
    if offset == 0:
        return hashlib.sha256()
    with _hashes_lock:
        kept = _hashes.pop(upload_id, None)
    return kept[1] if kept is not None and kept[0] == offset else None


def _hash_keep(upload_id: uuid.UUID, offset: int, digest: hashlib._Hash) -> None:
    with _hashes_lock:
        _hashes[upload_id] = (offset, digest)
        while len(_hashes) > _HASHES_KEPT:
            _hashes.popitem(last=False)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def upload_finish(*, upload: Upload, user: AbstractBaseUser | None) -> Upload:
    """Make the complete file of ``upload`` its video's media (the video is made now unless the
    upload named one) and queue its probe; record the file's SHA-256. A video that ``user`` may
    no longer write to fails the upload (403) and drops its file."""
    partial = upload_partial(upload)
    with _hashes_lock:
        kept = _hashes.pop(upload.pk, None)
    sha256 = kept[1].hexdigest() if kept is not None and kept[0] == upload.length else _file_sha256(partial)
    extension, _mime = media_type(partial)
    final = media_dir() / f"{UPLOAD_PREFIX}{uuid.uuid4().hex}.{extension}"
    try:
        with transaction.atomic():
            if upload.video_id is not None:
                video = Video.objects.select_related("owner").get(pk=upload.video_id)
            else:
                video, _created = video_get_or_create(name=upload.name, user=user)
                _describe(video, upload)
            os.replace(partial, final)
            video = video_media_adopt(video=video, path=final, actor=user, how="resumable upload")
            Upload.objects.filter(pk=upload.pk).update(status=Upload.DONE, sha256=sha256, video=video,
                                                       finished_at=timezone.now())
    except (WriteRefused, Video.DoesNotExist) as error:
        final.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
        message = getattr(error, "message", f"video {upload.video_id} was deleted during the upload")
        Upload.objects.filter(pk=upload.pk).update(status=Upload.FAILED, error=message, finished_at=timezone.now())
        raise MediaError(message, status=403 if isinstance(error, WriteRefused) else 409, path="Upload-Offset") \
            from error
    except BaseException:
        if final.exists() and not partial.exists():
            os.replace(final, partial)
        raise
    upload.refresh_from_db()
    logger.info("upload %s of %s bytes became the media of video %s", upload.pk, upload.length, upload.video_id)
    return upload


def _describe(video: Video, upload: Upload) -> None:
    """Give a video made by an upload the camera and recording time the upload named."""
    fields = {name: getattr(upload, name) for name in ("camera", "recorded_at") if getattr(upload, name)}
    if fields:
        Video.objects.filter(pk=video.pk).update(**fields)


def upload_delete(*, upload: Upload, user: AbstractBaseUser | None) -> None:
    """Stop an upload and drop what it received (tus termination). A finished upload is its
    video's media now (409: delete the video instead)."""
    upload_access_check(upload=upload, user=user)
    if upload.status == Upload.DONE:
        raise MediaError(f"upload {upload.pk} has finished: its file is the media of video {upload.video_id}; "
                         "delete the video instead", status=409)
    with _hashes_lock:
        _hashes.pop(upload.pk, None)
    upload_partial(upload).unlink(missing_ok=True)
    upload.delete()


def uploads_abandoned_expire(*, now: datetime | None = None) -> int:
    """Fail every upload that is still receiving but received no byte for
    ``SCOOP_UPLOAD_ABANDON_DAYS`` days, and delete what it had received; how many. One that a
    request is appending to at that moment is left alone."""
    now = now or timezone.now()
    days = settings.SCOOP_UPLOAD_ABANDON_DAYS
    cutoff = now - timedelta(days=days)
    abandoned = 0
    for upload in Upload.objects.filter(status=Upload.RECEIVING, created_at__lte=cutoff):
        path = upload_partial(upload)
        with open(path, "ab") as partial:
            try:
                fcntl.flock(partial.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a chunk is arriving
            status = os.fstat(partial.fileno())
            received = status.st_size
            if received and datetime.fromtimestamp(status.st_mtime, tz=UTC) > cutoff:
                continue
            failed = Upload.objects.filter(pk=upload.pk, status=Upload.RECEIVING).update(
                status=Upload.FAILED, finished_at=now,
                error=f"abandoned: no byte arrived for {days} days; the {received} bytes received were deleted")
            if failed:
                path.unlink(missing_ok=True)
                with _hashes_lock:
                    _hashes.pop(upload.pk, None)
                abandoned += 1
    return abandoned


def checksum_parse(header: str) -> tuple[str, bytes]:
    """``Upload-Checksum: <algorithm> <base64 digest>`` as (algorithm, digest)."""
    algorithm, _space, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise MediaError(f"Upload-Checksum algorithm '{algorithm}' is not supported; use one of "
                         f"{', '.join(CHECKSUM_ALGORITHMS)}", path="Upload-Checksum")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except ValueError:
        raise MediaError("Upload-Checksum must be '<algorithm> <digest in base64>'", path="Upload-Checksum") from None
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise MediaError(f"Upload-Checksum's {algorithm} digest has {len(digest)} bytes, not "
                         f"{hashlib.new(algorithm).digest_size}", path="Upload-Checksum")
    return algorithm, digest
