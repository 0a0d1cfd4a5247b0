from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from indexer.search import engine_module
from scoop.celery import app
from scoop.server import (
    WebServer,
    alert_deliveries_requeue,
    gunicorn_options,
    index_and_work_in_process,
    ingest_jobs_requeue,
    task_workers,
)


class Command(BaseCommand):
    help = ("Serve Scoop on one machine (scoop/server.py): gunicorn's web processes, a Celery worker "
            "process at niceness SCOOP_WORKER_NICE that runs their tasks and one that evaluates the watches; "
            "static files collected first, "
            "unfinished ingest jobs and alert deliveries queued again.")

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        _check_settings()
        call_command("collectstatic", interactive=False, verbosity=0)
        requeued = ingest_jobs_requeue(app)
        if requeued:
            self.stdout.write(f"re-queued {requeued} unfinished ingest job(s)")
        redelivered = alert_deliveries_requeue(app)
        if redelivered:
            self.stdout.write(f"re-queued unfinished alert deliveries: {redelivered}")
        engine = settings.SCOOP_SEARCH_BACKEND["ENGINE"]
        threads = settings.SCOOP_WEB_THREADS
        if engine_module(engine).SearchBackend.process_local:
            self.stderr.write(self.style.WARNING(
                f"{engine} keeps its index in one process's memory: one web process builds the index from the "
                "stored payloads when it starts and runs the tasks in a thread (no task worker process)"))
            server_options = gunicorn_options(bind=addrport, processes=1, threads=threads)
            server_options["post_worker_init"] = index_and_work_in_process(app, self.stdout.write)
            workers = []
            tasks = "tasks in the web process"
        else:
            server_options = gunicorn_options(bind=addrport, processes=settings.SCOOP_WEB_PROCESSES, threads=threads)
            workers = task_workers(log_level=settings.LOGGING["root"]["level"])
            tasks = (f"task worker: {workers[0].concurrency} process(es) at nice {workers[0].nice}; alerts worker at "
                     f"nice {workers[1].nice}")
        self.stdout.write(f"Scoop data in {settings.SCOOP_DATA_DIR}; serving http://{addrport}/ with gunicorn "
                          f"({server_options['workers']} web process(es) x {threads} threads; {tasks})")
        WebServer(server_options, task_workers=workers).run()


def _check_settings() -> None:
    """Refuse values of serve's settings that gunicorn or the worker would reject less clearly."""
    for name in ("SCOOP_WEB_PROCESSES", "SCOOP_WEB_THREADS", "SCOOP_WORKER_CONCURRENCY"):
        if getattr(settings, name) < 1:
            raise CommandError(f"{name} must be 1 or more, not {getattr(settings, name)}")
    for name in ("SCOOP_WORKER_NICE", "SCOOP_ALERT_WORKER_NICE"):
        if not 0 <= getattr(settings, name) <= 19:
            raise CommandError(f"{name} must be between 0 and 19, not {getattr(settings, name)}")
