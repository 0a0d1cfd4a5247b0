"""Videos from before owners and versions: each gets ``created_by`` from its first ingest
job (where one names a user), that user as its owner (a worker may write to the videos it
created), and a first version, its current payload, credited to the job that ingested it.
A video no job names a user for (the demo's, a command's) gets no owner: only admins write
to it until an admin assigns one."""

from django.db import migrations


def creators_and_versions(apps, schema_editor):
    Video = apps.get_model("indexer", "Video")
    IngestJob = apps.get_model("indexer", "IngestJob")
    VideoVersion = apps.get_model("indexer", "VideoVersion")
    for video in Video.objects.all().iterator():
        jobs = IngestJob.objects.filter(video_name=video.name).order_by("created_at")
        first = jobs.first()
        if first is not None and first.created_by_id is not None:
            Video.objects.filter(pk=video.pk).update(created_by_id=first.created_by_id, owner_id=first.created_by_id)
        if not video.payload_path or video.streamed or video.schema_id is None:
            continue
        ingested = jobs.filter(payload_path=video.payload_path).last()
        version = VideoVersion.objects.create(
            video=video, number=1, change="ingest", schema_id=video.schema_id, format=video.format,
            mode=video.mode, options=video.options, payload_path=video.payload_path,
            payload_bytes=ingested.payload_bytes if ingested else 0, counts=video.counts,
            media_path=video.media_path, media_url=video.media_url,
            created_by=ingested.created_by if ingested else None,
        )
        when = (ingested.finished_at if ingested else None) or video.indexed_at
        if when is not None:
            VideoVersion.objects.filter(pk=version.pk).update(created_at=when)


class Migration(migrations.Migration):
    dependencies = [("indexer", "0006_video_owner_versions_job_cancel")]
    operations = [migrations.RunPython(creators_and_versions, migrations.RunPython.noop)]
