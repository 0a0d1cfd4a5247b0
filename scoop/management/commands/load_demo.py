import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.services import user_issue_token
from fixtures.demo import demo_videos
from fixtures.render_demo import render_demo_videos
from indexer import services
from indexer.media import media_dir
from indexer.models import LabelSchema, Video

ONTOLOGY = Path(__file__).resolve().parents[3] / "fixtures" / "demo_ontology.json"
DEMO_USERS = (("admin", "admin", "scoop-admin"), ("analyst", "analyst", "scoop-analyst"))


class Command(BaseCommand):
    help = "Load the demo ontology, demo users, demo analytics and demo videos (skips what is already there)."

    def handle(self, *args, **options):
        self._users()
        schema = LabelSchema.objects.filter(name="road").order_by("-version").first()
        if schema is None:
            schema = services.schema_create(name="road", document=json.loads(ONTOLOGY.read_text()), author=None)
            self.stdout.write(f"uploaded the demo ontology as {schema}")
        loaded = 0
        for video in demo_videos():
            if Video.objects.filter(name=video.name, indexed_at__isnull=False).exists():
                continue
            job = services.ingest_job_create(
                chunks=[json.dumps(video.eta_labels()).encode()],
                video_name=video.name, schema=schema, format="eta", mode="strict", options={},
                user=None, enqueue=False,
            )
            job = services.ingest_run(job_id=str(job.id))
            if job.status != "succeeded":
                self.stderr.write(f"demo video {video.name} failed: {job.error} {job.violations[:3]}")
                continue
            loaded += 1
        self.stdout.write(f"demo data ready: {Video.objects.count()} videos ({loaded} loaded now)")
        self._media()

    def _media(self) -> None:
        """Render the demo videos into SCOOP_DATA_DIR/media and register them, probed at once."""
        waiting = [v for v in Video.objects.filter(name__in=[d.name for d in demo_videos()]) if not v.media_path]
        if not waiting:
            return
        paths = {path.stem: path for path in render_demo_videos(media_dir())}
        for video in waiting:
            services.video_media_register(video=video, path=str(paths[video.name]), actor=None, enqueue=False)
            video = services.video_media_probe(video_id=video.pk)
            if video.media_status != Video.MEDIA_READY:
                self.stderr.write(f"demo video {video.name}: {video.media_error}")
        self.stdout.write(f"demo media ready: {len(waiting)} video(s) rendered to {media_dir()}")

    def _users(self) -> None:
        users = get_user_model().objects
        for username, role, password in DEMO_USERS:
            if users.filter(username=username).exists():
                continue
            user_issue_token(username=username, role=role)
            user = users.get(username=username)
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"demo user '{username}' (role {role}) with password '{password}'")
