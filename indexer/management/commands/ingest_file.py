import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from indexer import selectors, services
from indexer.models import LabelSchema
from indexer.payloads import PayloadError


class Command(BaseCommand):
    help = (
        "Ingest analytics files from disk synchronously, with the same checks as POST /api/v1/ingest/. "
        "Each file becomes the video named by --video, or by the file's stem."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", type=Path, nargs="+")
        parser.add_argument("--video", default=None, help="video name (one file only; default: the file stem)")
        parser.add_argument("--schema", default=None,
                            help="schema id, name or name:version (default: the default schema)")
        parser.add_argument("--format", default=None)
        parser.add_argument("--mode", default="strict", choices=services.MODES)
        parser.add_argument(
            "--jobs", type=int, default=1,
            help="files ingested at once, each in its own process (they read and check in parallel and "
                 "take turns to write the index); like a worker with that concurrency",
        )

    def handle(self, *args, paths: list[Path], video: str | None, schema: str | None, format: str | None,
               mode: str, jobs: int, **options):
        if video and len(paths) > 1:
            raise CommandError("--video names one video: give one file, or leave it out to use file stems")
        if jobs < 1:
            raise CommandError("--jobs must be at least 1")
        try:
            label_schema = selectors.schema_resolve(ref=schema)
        except selectors.SchemaNotFound as error:
            raise CommandError(str(error)) from error
        for path in paths:
            if not path.is_file():
                raise CommandError(f"no such file: {path}")
        work = [(path, video or path.stem) for path in paths]
        if jobs == 1 or len(work) == 1:
            for path, name in work:
                self.stdout.write(_ingest(path, name, label_schema.pk, format, mode))
            return
        failures = []
        # Forked workers start from this process's state: no database connection may be shared.
        connections.close_all()
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            running = [pool.submit(_ingest_or_error, path, name, label_schema.pk, format, mode) for path, name in work]
            for future in as_completed(running):
                line, failed = future.result()
                (failures.append if failed else self.stdout.write)(line)
        if failures:
            raise CommandError("\n".join(failures))


def _ingest(path: Path, video: str, schema_id: int, format: str | None, mode: str) -> str:
    """Ingest one file as ``video``; the line to print, or CommandError saying why it failed."""
    schema = LabelSchema.objects.get(pk=schema_id)
    try:
        with open(path, "rb") as handle:
            job = services.ingest_job_create(
                chunks=iter(lambda: handle.read(1024 * 1024), b""),
                video_name=video, schema=schema, format=format, mode=mode, options={},
                user=None, enqueue=False,
            )
    except PayloadError as error:
        raise CommandError(f"{path}: {error}") from error
    job = services.ingest_run(job_id=str(job.id))
    if job.status != "succeeded":
        raise CommandError(f"{path}: {job.error}")
    return f"{path.name}: {job.status} {job.counts} violations={job.violation_count}"


def _ingest_or_error(path: Path, video: str, schema_id: int, format: str | None, mode: str) -> tuple[str, bool]:
    """:func:`_ingest` in a worker process: (line, failed)."""
    try:
        return _ingest(path, video, schema_id, format, mode), False
    except CommandError as error:
        return str(error), True
    finally:
        connections.close_all()
