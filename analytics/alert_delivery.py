"""Delivering alerts beyond the app: a signed webhook and email (docs/api/alerts.md).

- **Webhook**: a JSON POST of the alert (:func:`alert_json`), signed with HMAC-SHA256 of the body
  under the watch's secret, in ``X-Scoop-Signature: sha256=<hex>``. A 2xx answer delivers it;
  anything else, or no answer, is tried again by the task with exponential backoff
  (:data:`DELIVERY_TRIES` tries in all).
- **Email**: through Django's email backend (the console in the embedded setup).

Every try is an :class:`AlertDelivery` row, made ``pending`` before it starts and ended
``sent`` or ``failed``. A try that a stopped worker left pending, or a failed one whose retry
died with its worker, is queued again when the server starts (:func:`alert_deliveries_resume`).

Webhook URLs are checked when a watch is set and again before each try: https only where
``SCOOP_WEBHOOK_HTTPS_ONLY`` (production), and no host that resolves to a private, loopback,
link-local or reserved address unless it is listed in ``SCOOP_WEBHOOK_PRIVATE_HOSTS``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from analytics.models import Alert, AlertDelivery
from analytics.search import seconds
from indexer.payloads import PayloadError
from indexer.selectors import video_stream_url, video_thumbnail_url

DELIVERY_TRIES = 6
WEBHOOK_TIMEOUT_S = 10
SIGNATURE_HEADER = "X-Scoop-Signature"


class WebhookRefused(PayloadError):
    """A webhook URL Scoop will not call (400 at ``channels.webhook``)."""

    def __init__(self, message: str):
        super().__init__(message, path="channels.webhook")


def webhook_check(url: str) -> None:
    """Refuse a URL that is not http(s), not https where it must be, or whose host lies on a
    private network without being allowed (the module docstring)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused(f"webhook must be an http(s) URL, got '{url}'")
    if parts.scheme != "https" and settings.SCOOP_WEBHOOK_HTTPS_ONLY:
        raise WebhookRefused(f"webhook must use https on this server, got '{url}'")
    host = parts.hostname
    if host in settings.SCOOP_WEBHOOK_PRIVATE_HOSTS:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)}
    except socket.gaierror:
        raise WebhookRefused(f"webhook host '{host}' does not resolve")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            raise WebhookRefused(f"webhook host '{host}' is on a private network ({ip}); an admin may allow it "
                                 "in SCOOP_WEBHOOK_PRIVATE_HOSTS")


def alert_json(alert: Alert) -> dict[str, Any]:
    """An alert as the API and the webhook give it."""
    video = alert.video
    return {
        "id": alert.pk, "watch": alert.watch_id, "saved_search": alert.watch.saved_search.name,
        "saved_search_id": alert.watch.saved_search_id,
        "video": video.pk, "video_name": video.name, "start_s": seconds(alert.start_s), "end_s": seconds(alert.end_s),
        "first_frame": alert.first_frame, "thumbnail_url": video_thumbnail_url(video, alert.start_s),
        "stream_url": video_stream_url(video), "created_at": alert.created_at.isoformat(),
        "updated_at": alert.updated_at.isoformat(),
        "acknowledged_by": alert.acknowledged_by.get_username() if alert.acknowledged_by_id else None,
    }


def signature(secret: str, body: bytes) -> str:
    """The value of the signature header for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def alert_channels(alert: Alert) -> list[str]:
    """The channels beyond the app that the alert's watch delivers to."""
    watch = alert.watch
    return [channel for channel, target in ((AlertDelivery.WEBHOOK, watch.webhook_url),
                                            (AlertDelivery.EMAIL, watch.email)) if target]


def alert_deliver(*, alert_id: int, channel: str, attempt: int) -> bool:
    """Try once to deliver the alert on ``channel``; True when it was delivered (or the alert or
    the channel is gone: nothing is left to do), False when it should be tried again."""
    alert = Alert.objects.select_related("watch__saved_search", "video", "acknowledged_by").filter(pk=alert_id).first()
    target = None if alert is None else {AlertDelivery.WEBHOOK: alert.watch.webhook_url,
                                         AlertDelivery.EMAIL: alert.watch.email}.get(channel)
    if not target or not alert.watch.active:
        return True
    delivery = AlertDelivery.objects.create(alert=alert, channel=channel, target=target, attempt=attempt)
    try:
        delivery.response_status = _send(alert, channel, target)
        delivery.status = AlertDelivery.SENT
    except DeliveryFailed as failure:
        delivery.status, delivery.response_status, delivery.error = AlertDelivery.FAILED, failure.status, str(failure)
    delivery.sent_at = timezone.now()
    delivery.save()
    return delivery.status == AlertDelivery.SENT


class DeliveryFailed(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def _send(alert: Alert, channel: str, target: str) -> int | None:
    """Deliver; the HTTP status of a webhook's answer. Raises :class:`DeliveryFailed`."""
    body = json.dumps({"event": "alert", "alert": alert_json(alert)}).encode()
    if channel == AlertDelivery.EMAIL:
        try:
            send_mail(f"Scoop alert: {alert.watch.saved_search.name} in {alert.video.name}",
                      _email_text(alert), None, [target])
        except OSError as error:
            raise DeliveryFailed(f"the mail server refused: {error}")
        return None
    try:
        webhook_check(target)
    except WebhookRefused as refused:
        raise DeliveryFailed(refused.message)
    request = urllib.request.Request(target, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "Scoop-Alerts",
        SIGNATURE_HEADER: signature(alert.watch.secret, body)})
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        raise DeliveryFailed(f"the webhook answered HTTP {error.code}", status=error.code)
    except (urllib.error.URLError, OSError) as error:
        raise DeliveryFailed(f"the webhook did not answer: {getattr(error, 'reason', error)}")


def _email_text(alert: Alert) -> str:
    data = alert_json(alert)
    return (f"Your watch on '{data['saved_search']}' matched video {data['video_name']} from "
            f"{data['start_s']:.1f} s to {data['end_s']:.1f} s.\n\nPlay it: {data['stream_url']}#t={data['start_s']}\n")


def deliveries_unfinished() -> list[tuple[int, str, int]]:
    """``(alert id, channel, next attempt)`` of every delivery left undone, once no worker runs:
    a try that never ended (now marked failed), or a failed last try with tries left."""
    AlertDelivery.objects.filter(status=AlertDelivery.PENDING).update(
        status=AlertDelivery.FAILED, error="the worker stopped during this try", sent_at=timezone.now())
    unfinished = []
    last: dict[tuple[int, str], AlertDelivery] = {}
    for delivery in AlertDelivery.objects.exclude(status=AlertDelivery.SENT).order_by("id"):
        last[(delivery.alert_id, delivery.channel)] = delivery
    sent = set(AlertDelivery.objects.filter(status=AlertDelivery.SENT).values_list("alert_id", "channel"))
    for (alert_id, channel), delivery in last.items():
        if (alert_id, channel) in sent:
            continue
        if delivery.attempt < DELIVERY_TRIES:
            unfinished.append((alert_id, channel, delivery.attempt + 1))
    return unfinished
