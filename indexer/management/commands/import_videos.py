from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from indexer import imports
from indexer.media import MediaError
from indexer.models import Analysis, Video
from indexer.payloads import PayloadError


class Command(BaseCommand):
    help = (
        "Import a folder or a zip of videos, as POST /api/v1/imports/ does: --pattern's named groups give each "
        "video's camera and recorded_at, --defaults the per-camera defaults. Each video is probed here, and "
        "analysed here if --pipeline is named. A folder's files are used where they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", type=Path, help="a folder, or a .zip file")
        parser.add_argument("--pattern", required=True,
                            help="regular expression matched against each file's path in the folder or zip, with "
                                 f"named groups among {', '.join(imports.GROUPS)}")
        parser.add_argument("--defaults", type=Path, default=None,
                            help="per-camera defaults: a JSON object by camera, or a CSV file with a camera column")
        parser.add_argument("--pipeline", default=None, help="analyse each video with this pipeline")

    def handle(self, *args, source: Path, pattern: str, defaults: Path | None, pipeline: str | None, **options):
        try:
            table = imports.defaults_read(text=defaults.read_text(encoding="utf-8-sig"), filename=defaults.name) \
                if defaults else {}
            if source.is_dir():
                record = imports.import_folder(folder=source.resolve(), pattern=pattern, defaults=table,
                                               pipeline=pipeline, user=None, here=True)
            elif source.is_file():
                record = imports.import_zip(archive=source, name=source.name, pattern=pattern, defaults=table,
                                            pipeline=pipeline, user=None, here=True)
            else:
                raise CommandError(f"no such folder or zip: {source}")
        except (MediaError, PayloadError, OSError) as error:
            raise CommandError(getattr(error, "message", str(error))) from error
        for video in Video.objects.filter(pk__in=record.videos).order_by("name"):
            when = video.recorded_at.isoformat() if video.recorded_at else "-"
            self.stdout.write(f"{video.name}\tcamera {video.camera or '-'}\trecorded {when}\t"
                              f"media {video.media_status}{': ' + video.media_error if video.media_error else ''}")
        for skipped in record.skipped:
            self.stdout.write(f"skipped {skipped['file']}: {skipped['reason']}")
        for analysis in Analysis.objects.filter(pk__in=record.analyses).select_related("video"):
            self.stdout.write(f"analysis {analysis.pk} of {analysis.video.name}: {analysis.status}"
                              f"{': ' + analysis.error if analysis.error else ''}")
        self.stdout.write(f"import {record.pk}: {len(record.videos)} videos, {len(record.skipped)} skipped")
