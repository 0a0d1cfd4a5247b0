from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from indexer.embedded_worker import start_inprocess_worker
from indexer.search import get_search_backend
from indexer.services import index_rebuild, ingest_jobs_resume
from scoop.celery import app


class Command(BaseCommand):
    help = ("Serve Scoop with an in-process task worker (the embedded deployment), whose ingests and "
            "rebuilds run in a helper process at niceness SCOOP_WORKER_NICE (in the worker thread when the "
            "search engine keeps its index in this process's memory).")

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        nice = settings.SCOOP_WORKER_NICE
        if get_search_backend().process_local:
            # A helper process would index into its own copy of the index, which no search reads.
            nice = -1
            self.stderr.write(self.style.WARNING(
                f"{settings.SCOOP_SEARCH_BACKEND['ENGINE']} keeps its index in this process's memory: ingests "
                "and rebuilds run in the worker thread (SCOOP_WORKER_NICE is ignored), and the index is built "
                "from the stored payloads now"))
            self.stdout.write(f"indexed {index_rebuild()} video(s)")
        start_inprocess_worker(app, helper_nice=None if nice < 0 else nice)
        resumed = ingest_jobs_resume()
        if resumed:
            self.stdout.write(f"re-queued {resumed} unfinished ingest job(s)")
        self.stdout.write(f"Scoop data in {settings.SCOOP_DATA_DIR}; serving http://{addrport}/")
        # The autoreloader would fork a second process with its own worker and broker.
        call_command("runserver", addrport, use_reloader=False)
