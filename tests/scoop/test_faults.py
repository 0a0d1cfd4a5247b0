"""A full disk or a data dir that refuses writes: every write path answers a clear
error (507 "disk full" / 503 "data directory not writable: PATH"), the job fails with
that message, no partial file is left behind and the previous index is still served.

Running as root ignores file modes, so the faults are injected at the write calls
(OSError with the real errno, raised part-way through a write for ENOSPC); DuckDB's
own writer meets a real limit in a subprocess under RLIMIT_FSIZE."""

from __future__ import annotations

import builtins
import errno
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError

import indexer.payloads as payloads
import indexer.search.duckdb.backend as duckdb_backend
import indexer.search.duckdb.generations as duckdb_generations
from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from indexer.models import IngestJob, LabelSchema, Video
from indexer.services import index_rebuild
from tests.conftest import REPO

WRITE_MODES = set("wax+")


class _FillingFile:
    """A real file that takes ``room`` bytes, then fails every write with ``code``."""

    def __init__(self, handle, code: int, room: int):
        self.handle, self.code, self.room = handle, code, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            self.handle.write(data[: self.room])
            self.room = 0
            raise OSError(self.code, os.strerror(self.code))
        self.room -= len(data)
        return self.handle.write(data)

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.handle.close()


def fail_writes(monkeypatch, module, code: int, *, room: int | None = None) -> None:
    """Make ``open`` for writing in ``module`` fail with ``code``: at once (``room`` None:
    a read-only folder) or after ``room`` bytes have been written (a disk filling up)."""

    def fake_open(file, mode="r", *args, **kwargs):
        if not WRITE_MODES & set(mode):
            return builtins.open(file, mode, *args, **kwargs)
        if room is None:
            raise OSError(code, os.strerror(code), str(file))
        return _FillingFile(builtins.open(file, mode, *args, **kwargs), code, room)

    monkeypatch.setattr(module, "open", fake_open, raising=False)


def full_at_flush(monkeypatch, code: int) -> None:
    """The new segment is written, then the disk is full when it is flushed to disk."""

    def fake_fsync(path):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(duckdb_backend, "fsync_file", fake_fsync)


@pytest.fixture
def corpus(admin_client, worker_client, analyst_client, settings, tmp_path, django_capture_on_commit_callbacks):
    """One video ingested: the state every fault must leave untouched."""
    admin_client.post("/api/v1/schemas/", {"name": "gen", "schema": DEFAULT_ONTOLOGY.to_document()}, format="json")
    first = write_eta_video(tmp_path / "first.json", frames=40, objects_per_frame=3, seed=1)
    job = ingest(worker_client, django_capture_on_commit_callbacks, first.path.read_bytes(), "cam")
    assert job.status == "succeeded", job.error
    before = search_counts(analyst_client)
    assert before["objects"] == first.objects == 120
    return {"before": before, "data": Path(settings.SCOOP_DATA_DIR), "tmp": tmp_path}


def ingest(client, capture, content: bytes, video: str):
    upload = SimpleUploadedFile("analytics.json", content, content_type="application/json")
    with capture(execute=True):
        response = client.post("/api/v1/ingest/", {"file": upload, "video": video}, format="multipart")
    if response.status_code != 202:
        return response
    return IngestJob.objects.get(pk=response.json()["id"])


def search_counts(client) -> dict:
    response = client.post("/api/v1/search/", {"q": "*"}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["counts"]


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


def second_payload(corpus) -> bytes:
    return write_eta_video(corpus["tmp"] / "second.json", frames=60, objects_per_frame=4, seed=2).path.read_bytes()


# Ingest: the payload upload ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "room", "status", "detail"),
    [
        (errno.ENOSPC, 4096, 507, "disk full: no space left to write in {dir}"),
        (errno.EROFS, None, 503, "data directory not writable: {dir}"),
        (errno.EACCES, None, 503, "data directory not writable: {dir}"),
    ],
)
def test_payload_upload_refused_when_the_disk_cannot_take_it(
    corpus, worker_client, analyst_client, monkeypatch, django_capture_on_commit_callbacks, code, room, status, detail
):
    payloads_dir = corpus["data"] / "payloads"
    kept = listing(payloads_dir)
    jobs = IngestJob.objects.count()
    fail_writes(monkeypatch, payloads, code, room=room)

    response = ingest(worker_client, django_capture_on_commit_callbacks, second_payload(corpus), "cam-2")

    assert response.status_code == status, response.content
    assert response.json()["detail"] == detail.format(dir=payloads_dir)
    assert listing(payloads_dir) == kept  # no .part file, no new payload
    assert IngestJob.objects.count() == jobs
    assert not Video.objects.filter(name="cam-2").exists()
    assert search_counts(analyst_client) == corpus["before"]


# Ingest: indexing -------------------------------------------------------------------------------


def index_files(index_dir: Path) -> list[str]:
    """Every file under the index folder (segments included), by relative path."""
    return sorted(str(path.relative_to(index_dir)) for path in index_dir.rglob("*") if path.is_file())


def _index_files_unchanged(index_dir: Path, before: list[str]) -> None:
    after = index_files(index_dir)
    assert after == before, after
    assert not [name for name in after if name.endswith(".tmp")]


@pytest.mark.django_db
def test_full_disk_while_indexing_fails_the_job_and_keeps_the_previous_index(
    corpus, worker_client, analyst_client, monkeypatch, django_capture_on_commit_callbacks
):
    index_dir = corpus["data"] / "index"
    files = index_files(index_dir)
    full_at_flush(monkeypatch, errno.ENOSPC)

    job = ingest(worker_client, django_capture_on_commit_callbacks, second_payload(corpus), "cam")

    assert job.status == "failed"
    assert job.error == f"disk full: no space left to write in {index_dir}"
    _index_files_unchanged(index_dir, files)  # the unpublished segment is gone
    assert search_counts(analyst_client) == corpus["before"]
    assert Video.objects.get(name="cam").counts["objects"] == 120
    # The failed job keeps its payload to be retried (docs/api/jobs.md); the video still reads its own.
    assert listing(corpus["data"] / "payloads") == sorted([Path(Video.objects.get(name="cam").payload_path).name,
                                                           Path(job.payload_path).name])


@pytest.mark.django_db
def test_read_only_index_dir_fails_the_job_and_keeps_the_previous_index(
    corpus, worker_client, analyst_client, monkeypatch, django_capture_on_commit_callbacks
):
    index_dir = corpus["data"] / "index"
    files = index_files(index_dir)
    fail_writes(monkeypatch, duckdb_generations, errno.EROFS)

    job = ingest(worker_client, django_capture_on_commit_callbacks, second_payload(corpus), "cam-new")

    assert job.status == "failed"
    assert job.error == f"data directory not writable: {index_dir}"
    _index_files_unchanged(index_dir, files)
    assert not Video.objects.filter(name="cam-new").exists()  # the row made for it is gone again
    assert search_counts(analyst_client) == corpus["before"]


@pytest.mark.django_db
def test_failed_publish_removes_the_new_generation(corpus, analyst_client, monkeypatch):
    """The generation is complete but CURRENT cannot be rewritten: nothing half-published remains."""
    index_dir = corpus["data"] / "index"
    files = index_files(index_dir)
    real_open = builtins.open

    def refuse_pointer(file, mode="r", *args, **kwargs):
        if str(file).endswith("CURRENT.tmp"):
            return _FillingFile(real_open(file, mode, *args, **kwargs), errno.ENOSPC, 3)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(duckdb_generations, "open", refuse_pointer, raising=False)

    with pytest.raises(payloads.StorageError, match="disk full"):
        index_rebuild()

    _index_files_unchanged(index_dir, files)
    assert search_counts(analyst_client) == corpus["before"]


# rebuild_index ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rebuild_on_a_read_only_index_dir_is_a_clear_error(corpus, analyst_client, monkeypatch):
    index_dir = corpus["data"] / "index"
    files = index_files(index_dir)
    fail_writes(monkeypatch, duckdb_generations, errno.EACCES)

    with pytest.raises(payloads.StorageError) as raised:
        index_rebuild()

    assert raised.value.message == f"data directory not writable: {index_dir}"
    assert raised.value.status == 503
    _index_files_unchanged(index_dir, files)
    assert search_counts(analyst_client) == corpus["before"]


def _database_url(connection) -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user, host, port = settings["USER"] or "postgres", settings["HOST"], settings["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


def _limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_rebuild_index_meets_a_real_file_size_limit(admin_client, worker_client, analyst_client, settings, tmp_path,
                                                    django_capture_on_commit_callbacks):
    """DuckDB's own writer hits RLIMIT_FSIZE (EFBIG, "File too large") in a real
    ``manage.py rebuild_index``: a clear message, a non-zero exit, the old index served."""
    from django.db import connection

    admin_client.post("/api/v1/schemas/", {"name": "gen", "schema": DEFAULT_ONTOLOGY.to_document()}, format="json")
    video = write_eta_video(tmp_path / "v.json", frames=1500, objects_per_frame=8, seed=5)
    job = ingest(worker_client, django_capture_on_commit_callbacks, video.path.read_bytes(), "big")
    assert job.status == "succeeded", job.error
    before = search_counts(analyst_client)
    assert before["objects"] == video.objects == 12000
    index_dir = Path(settings.SCOOP_DATA_DIR) / "index"
    files = index_files(index_dir)
    (live,) = (index_dir / "segments").glob("seg-*.duckdb")  # the one video's segment
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "scoop.settings.test",
           "SCOOP_DATA_DIR": str(settings.SCOOP_DATA_DIR), "SCOOP_TEST_DATABASE_URL": _database_url(connection)}

    rebuilt = subprocess.run(
        [sys.executable, "manage.py", "rebuild_index"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=300, preexec_fn=_limit_file_size(live.stat().st_size // 2),
    )

    assert rebuilt.returncode != 0
    assert f"disk full: no space left to write in {index_dir}" in rebuilt.stderr
    _index_files_unchanged(index_dir, files)
    assert search_counts(analyst_client) == before


# Media upload -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("code", "room", "status", "detail"), [
    (errno.ENOSPC, 10_000, 507, "disk full: no space left to write in {dir}"),
    (errno.EROFS, None, 503, "data directory not writable: {dir}"),
])
def test_media_upload_refused_without_a_half_file(corpus, worker_client, monkeypatch, code, room, status, detail):
    video = Video.objects.get(name="cam")
    media_dir = corpus["data"] / "media"
    fail_writes(monkeypatch, payloads, code, room=room)  # media_store writes through payloads.write_limited
    upload = SimpleUploadedFile("cam.webm", b"\x1a\x45\xdf\xa3" + bytes(200_000), content_type="video/webm")

    response = worker_client.post(f"/api/v1/videos/{video.pk}/media/", {"file": upload}, format="multipart")

    assert response.status_code == status, response.content
    assert response.json()["detail"] == detail.format(dir=media_dir)
    assert listing(media_dir) == []
    video.refresh_from_db()
    assert (video.media_path, video.media_status) == ("", Video.MEDIA_NONE)


# Schema upload ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("message", "status", "detail"), [
    ("database or disk is full", 507, "disk full: no space left to write in"),
    ("attempt to write a readonly database", 503, "data directory not writable:"),
])
def test_schema_upload_on_a_full_or_read_only_database(admin_client, monkeypatch, message, status, detail):
    def refuse(**fields):
        raise OperationalError(message)

    monkeypatch.setattr(LabelSchema.objects, "create", refuse)

    response = admin_client.post(
        "/api/v1/schemas/", {"name": "gen", "schema": DEFAULT_ONTOLOGY.to_document()}, format="json"
    )

    assert response.status_code == status, response.content
    assert response.json()["detail"].startswith(detail)
    assert LabelSchema.objects.count() == 0
    assert json.loads(response.content)["path"]


@pytest.mark.django_db
def test_ingest_with_a_full_database_leaves_no_orphan_payload(corpus, worker_client, analyst_client, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    payloads_dir = corpus["data"] / "payloads"
    kept = listing(payloads_dir)

    def refuse(**fields):
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(IngestJob.objects, "create", refuse)

    response = ingest(worker_client, django_capture_on_commit_callbacks, second_payload(corpus), "cam-2")

    assert response.status_code == 507, response.content
    assert response.json()["detail"].startswith("disk full: no space left to write in")
    assert listing(payloads_dir) == kept
    assert search_counts(analyst_client) == corpus["before"]
