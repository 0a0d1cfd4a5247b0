"""Celery tasks of watches, alerts and label exports: take ids, call a service. Retries live here."""

from celery import shared_task
from django.db import OperationalError

from analytics import alert_delivery, label_export, watches

# Seconds before the second try of a delivery; each next try waits twice as long.
DELIVERY_BACKOFF_S = 5


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3,
             soft_time_limit=600, time_limit=660)
def watches_evaluate_task() -> int:
    """Run the active watches on what the writes noted since the last run added; queue the new
    alerts' deliveries. Returns how many alerts were made."""
    alerts = watches.watches_evaluate(writes=watches.writes_take())
    for alert in alerts:
        for channel in alert_delivery.alert_channels(alert):
            alert_deliver_task.delay(alert.pk, channel)
    return len(alerts)


@shared_task(bind=True, acks_late=True, max_retries=alert_delivery.DELIVERY_TRIES - 1, soft_time_limit=120,
             time_limit=150)
def alert_deliver_task(self, alert_id: int, channel: str, attempt: int | None = None) -> bool:
    """One try to deliver an alert (``attempt``: its number when the server queued it again after a
    restart); a failed try is retried after 5, 10, 20... seconds."""
    number = attempt or self.request.retries + 1
    if alert_delivery.alert_deliver(alert_id=alert_id, channel=channel, attempt=number):
        return True
    if number >= alert_delivery.DELIVERY_TRIES:
        return False
    raise self.retry(args=(alert_id, channel, number + 1), countdown=DELIVERY_BACKOFF_S * 2 ** (number - 1))


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3,
             soft_time_limit=3 * 3600, time_limit=3 * 3600 + 300)
def export_run_task(job_id: str) -> str:
    """Run one label export job (docs/api/exports.md); returns its status."""
    job = label_export.export_job_run(job_id=job_id)
    return "missing" if job is None else job.status


@shared_task(acks_late=True, soft_time_limit=3600, time_limit=3900)
def exports_expire_task() -> int:
    """Delete the export jobs kept ``SCOOP_EXPORT_KEEP_DAYS`` days, with their files (Celery beat
    runs it every ``SCOOP_JOBS_EXPIRE_EVERY_S``); how many."""
    return label_export.export_jobs_expire()
