from django.apps import AppConfig


class IndexerConfig(AppConfig):
    name = "indexer"
    verbose_name = "Ontologies, videos and ingest"

    def ready(self) -> None:
        # Register the Celery tasks with the app once the models can be imported: the
        # services queue them by name (indexer.services._task_queue).
        from indexer import tasks  # noqa: F401
