from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from indexer import selectors, services
from indexer.payloads import PayloadError


class Command(BaseCommand):
    help = (
        "Ingest analytics files from disk synchronously, with the same checks as POST /api/v1/ingest/. "
        "Each file becomes the video named by --video, or by the file's stem."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", type=Path, nargs="+")
        parser.add_argument("--video", default=None, help="video name (one file only; default: the file stem)")
        parser.add_argument("--schema", default=None, help="schema id, name or name:version")
        parser.add_argument("--format", default=None)
        parser.add_argument("--mode", default="strict", choices=services.MODES)

    def handle(self, *args, paths: list[Path], video: str | None, schema: str | None, format: str | None,
               mode: str, **options):
        if video and len(paths) > 1:
            raise CommandError("--video names one video: give one file, or leave it out to use file stems")
        try:
            label_schema = selectors.schema_resolve(ref=schema)
        except selectors.SchemaNotFound as error:
            raise CommandError(str(error)) from error
        for path in paths:
            self._ingest(path, video or path.stem, label_schema, format, mode)

    def _ingest(self, path: Path, video: str, schema, format: str | None, mode: str) -> None:
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
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
        self.stdout.write(f"{path.name}: {job.status} {job.counts} violations={job.violation_count}")
        if job.status != "succeeded":
            raise CommandError(f"{path}: {job.error}")
