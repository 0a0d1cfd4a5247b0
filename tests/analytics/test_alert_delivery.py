"""Alerts beyond the app: signed webhooks to a receiver on 127.0.0.1, retried until one is taken,
every try recorded; email; webhook URLs checked; tries a stopped worker left undone queued again;
nobody sees or acknowledges another's alerts."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from analytics.alert_delivery import DELIVERY_TRIES, deliveries_unfinished, signature
from analytics.models import Alert, AlertDelivery, Watch
from tests.analytics.test_watches import RED, ann, live, red, watched, white  # noqa: F401
from tests.conftest import _client_for
from tests.indexer.test_live_stream import demo_schema, send  # noqa: F401


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers the statuses it is given, in turn (the last one
    from then on), and keeps what it got."""

    def __init__(self, statuses: list[int]):
        self.statuses, self.received = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.SCOOP_WEBHOOK_PRIVATE_HOSTS = ["127.0.0.1"]
    made = []

    def start(*statuses: int) -> Receiver:
        made.append(Receiver(list(statuses)))
        return made[-1]

    yield start
    for one in made:
        one.close()


def _tries() -> list[tuple[int, str, int | None]]:
    return [(delivery.attempt, delivery.status, delivery.response_status) for delivery in AlertDelivery.objects.all()]


def test_a_webhook_gets_the_alert_signed_with_the_watch_secret(ann, worker_client, receiver):  # noqa: F811
    hook = receiver(204)
    watched(ann, channels={"webhook": hook.url})
    send(worker_client, live(worker_client), [red(n) for n in range(1, 4)])

    headers, body = hook.received[0]
    listed = ann.get("/api/v1/alerts/").json()["alerts"]
    assert len(hook.received) == 1
    assert headers["X-Scoop-Signature"] == signature(Watch.objects.get().secret, body)
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"event": "alert", "alert": listed[0]}
    assert (listed[0]["video_name"], listed[0]["start_s"], listed[0]["end_s"]) == ("cam-1", 0.0, 0.3)
    assert _tries() == [(1, "sent", 204)]


def test_a_refused_webhook_is_tried_again_until_taken(ann, worker_client, receiver):  # noqa: F811
    hook = receiver(500, 503, 200)
    watched(ann, channels={"webhook": hook.url})
    send(worker_client, live(worker_client), [red(1)])

    assert len(hook.received) == 3
    assert _tries() == [(1, "failed", 500), (2, "failed", 503), (3, "sent", 200)]
    assert AlertDelivery.objects.first().error == "the webhook answered HTTP 500"


def test_a_webhook_that_never_takes_it_is_tried_a_bounded_number_of_times(ann, worker_client, receiver):  # noqa: F811
    hook = receiver(500)
    watched(ann, channels={"webhook": hook.url})
    send(worker_client, live(worker_client), [red(1)])

    assert len(hook.received) == DELIVERY_TRIES
    assert _tries() == [(n, "failed", 500) for n in range(1, DELIVERY_TRIES + 1)]
    assert deliveries_unfinished() == []


def test_an_email_goes_out_per_alert(ann, worker_client):  # noqa: F811
    watched(ann, channels={"email": "night-shift@example.org", "in_app": True})
    send(worker_client, live(worker_client), [red(1), red(2)])

    assert [(message.to, message.subject) for message in mail.outbox] == [
        (["night-shift@example.org"], "Scoop alert: red cars in cam-1")]
    assert "from 0.0 s to 0.2 s" in mail.outbox[0].body
    assert _tries() == [(1, "sent", None)]


@pytest.mark.parametrize(("url", "https_only", "message"), [
    ("http://127.0.0.1:9/hook", False, "webhook host '127.0.0.1' is on a private network (127.0.0.1); an admin may "
                                       "allow it in SCOOP_WEBHOOK_PRIVATE_HOSTS"),
    ("http://10.1.2.3/hook", False, "webhook host '10.1.2.3' is on a private network (10.1.2.3)"),
    ("http://93.184.215.14/hook", True, "webhook must use https on this server, got 'http://93.184.215.14/hook'"),
    ("ftp://93.184.215.14/hook", False, "webhook must be an http(s) URL, got 'ftp://93.184.215.14/hook'"),
])
def test_webhook_urls_are_checked(ann, settings, url, https_only, message):  # noqa: F811
    settings.SCOOP_WEBHOOK_HTTPS_ONLY = https_only
    saved = ann.post("/api/v1/searches/", {"name": "red", "q": RED}, format="json").json()["id"]

    answer = ann.post(f"/api/v1/searches/{saved}/watch/", {"channels": {"webhook": url}}, format="json")

    assert answer.status_code == 400
    assert message in str(answer.json())
    assert "channels" in str(answer.json())
    assert not Watch.objects.exists()


def test_tries_a_stopped_worker_left_are_queued_again(ann, worker_client):  # noqa: F811
    watched(ann)
    send(worker_client, live(worker_client), [red(1)])
    alert = Alert.objects.get()
    AlertDelivery.objects.create(alert=alert, channel="webhook", target="https://a.example/", attempt=1,
                                 status="failed")
    AlertDelivery.objects.create(alert=alert, channel="webhook", target="https://a.example/", attempt=2)
    AlertDelivery.objects.create(alert=alert, channel="email", target="a@example.org", attempt=DELIVERY_TRIES,
                                 status="failed")

    assert deliveries_unfinished() == [(alert.pk, "webhook", 3)]
    assert AlertDelivery.objects.get(attempt=2).error == "the worker stopped during this try"


def test_alerts_are_their_owners_alone_and_acknowledged_once(ann, worker_client):  # noqa: F811
    saved, _watch = watched(ann)
    ann.put(f"/api/v1/searches/{saved}/", {"shared": True}, format="json")
    send(worker_client, live(worker_client), [red(1), white(2), red(5)])
    bob = _client_for(None, "bob", "analyst")
    alert = Alert.objects.get()

    refused_watch = bob.post(f"/api/v1/searches/{saved}/watch/", {}, format="json")
    refused_ack = bob.post(f"/api/v1/alerts/{alert.pk}/ack/")
    unread = ann.get("/api/v1/alerts/", {"state": "unacknowledged"}).json()
    acked = ann.post(f"/api/v1/alerts/{alert.pk}/ack/")
    again = bob.get("/api/v1/alerts/").json()

    assert refused_watch.status_code == 403
    assert refused_watch.json()["detail"] == ("saved search 'red cars' belongs to ann: only its owner may watch it "
                                             "(save a copy of your own to watch it)")
    assert refused_ack.status_code == 404
    assert (unread["count"], unread["unacknowledged"]) == (1, 1)
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "ann"
    assert ann.get("/api/v1/alerts/", {"state": "unacknowledged"}).json()["count"] == 0
    assert ann.get("/api/v1/alerts/", {"state": "acknowledged"}).json()["count"] == 1
    assert again == {"count": 0, "unacknowledged": 0, "alerts": []}

