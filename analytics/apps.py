from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Search and insights"

    def ready(self) -> None:
        from analytics import tasks
        from analytics.models import Watch
        from indexer.signals import video_indexed

        def evaluate_watches(sender, video_id: int, span: tuple[float, float] | None, **kwargs) -> None:
            """After a write: queue the watches' evaluation of what it added (when anything is watched)."""
            if Watch.objects.filter(active=True).exists():
                tasks.watches_evaluate_task.delay(video_id, *(span or (None, None)))

        video_indexed.connect(evaluate_watches, weak=False, dispatch_uid="analytics.evaluate_watches")
