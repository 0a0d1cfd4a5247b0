from django.apps import AppConfig

# The cache key that says an evaluation of the watches is queued (analytics.watches).
EVALUATION_QUEUED = "scoop:watches-evaluation-queued"


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Search and insights"

    def ready(self) -> None:
        from django.conf import settings
        from django.core.cache import cache

        from analytics import tasks, watches
        from analytics.models import Watch
        from indexer.signals import video_indexed

        def evaluate_watches(sender, video_id: int, span: tuple[float, float] | None, **kwargs) -> None:
            """After a write (when anything is watched): note it, and queue an evaluation unless one
            is queued already that will run late enough to take it (``SCOOP_WATCH_BATCH_S``)."""
            if not Watch.objects.filter(active=True).exists():
                return
            watches.writes_record(video_id=video_id, span=watches.Span(*(span or (None, None))))
            wait = settings.SCOOP_WATCH_BATCH_S
            if wait <= 0:
                tasks.watches_evaluate_task.delay()
            elif cache.add(EVALUATION_QUEUED, True, timeout=wait):
                tasks.watches_evaluate_task.apply_async(countdown=wait)

        video_indexed.connect(evaluate_watches, weak=False, dispatch_uid="analytics.evaluate_watches")
