from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from indexer import selectors, services
from indexer.payloads import PayloadError


class Command(BaseCommand):
    help = "Ingest an analytics file from disk synchronously (same checks as POST /api/v1/ingest/)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--video", required=True, help="video name")
        parser.add_argument("--schema", default=None, help="schema id, name or name:version")
        parser.add_argument("--format", default=None)
        parser.add_argument("--mode", default="strict", choices=services.MODES)

    def handle(self, *args, path: Path, video: str, schema: str | None, format: str | None, mode: str, **options):
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            label_schema = selectors.schema_resolve(ref=schema)
            with open(path, "rb") as handle:
                job = services.ingest_job_create(
                    chunks=iter(lambda: handle.read(1024 * 1024), b""),
                    video_name=video, schema=label_schema, format=format, mode=mode, options={},
                    user=None, enqueue=False,
                )
        except (PayloadError, selectors.SchemaNotFound) as error:
            raise CommandError(str(error)) from error
        job = services.ingest_run(job_id=str(job.id))
        self.stdout.write(f"job {job.id}: {job.status} {job.counts} violations={job.violation_count}")
        if job.status != "succeeded":
            raise CommandError(job.error)
