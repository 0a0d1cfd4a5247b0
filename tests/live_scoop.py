"""A live Scoop for client and worker tests: pytest-django's ``live_server``
(a real HTTP server in a thread of the test process; Celery tasks run eagerly,
so an ingest job has ended when the POST answers) and one token per role."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from tests.conftest import REPO


@dataclass
class LiveScoop:
    url: str
    admin: str
    analyst: str
    worker: str


@pytest.fixture
def live_scoop(live_server) -> LiveScoop:
    from accounts.services import user_issue_token

    return LiveScoop(
        url=live_server.url,
        admin=user_issue_token(username="ada", role="admin").key,
        analyst=user_issue_token(username="ann", role="analyst").key,
        worker=user_issue_token(username="wes", role="worker").key,
    )


def demo_ontology() -> dict:
    return json.loads((REPO / "fixtures" / "demo_ontology.json").read_text())
