"""Shared fixtures: API clients per role, the demo ontology, service checks."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parents[1]
REQUIRE_SERVICES = os.environ.get("SCOOP_REQUIRE_SERVICES") == "1"


def service_reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or fail, with SCOOP_REQUIRE_SERVICES=1) when a server is not reachable."""
    if service_reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and SCOOP_REQUIRE_SERVICES=1")
    pytest.skip(message)


def _uses_database(item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool(item.get_closest_marker("django_db")) or bool(
        fixtures & {"db", "transactional_db", "live_server", "django_db_setup"}
    )


def pytest_collection_modifyitems(config, items):
    url = os.environ.get("SCOOP_TEST_DATABASE_URL")
    if not url:
        return
    if os.environ.get("SCOOP_DB_TESTS_ONLY") == "1":
        # The PostgreSQL run repeats only what touches the database.
        kept = [item for item in items if _uses_database(item)]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
    parsed = urlparse(url)
    if service_reachable(parsed.hostname or "127.0.0.1", parsed.port or 5432):
        return
    message = f"PostgreSQL is not reachable at {parsed.hostname}:{parsed.port}"
    if REQUIRE_SERVICES:
        pytest.exit(f"{message} and SCOOP_REQUIRE_SERVICES=1", returncode=1)
    for item in items:
        item.add_marker(pytest.mark.skip(reason=message))


@pytest.fixture
def demo_ontology_document() -> dict:
    return json.loads((REPO / "fixtures" / "demo_ontology.json").read_text())


def _client_for(django_user_model, username: str, role: str | None):
    from rest_framework.test import APIClient

    from accounts.services import user_issue_token

    client = APIClient()
    if role is None:
        return client
    token = user_issue_token(username=username, role=role)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.user = token.user
    return client


@pytest.fixture
def admin_client(db, django_user_model):
    return _client_for(django_user_model, "ada", "admin")


@pytest.fixture
def analyst_client(db, django_user_model):
    return _client_for(django_user_model, "ann", "analyst")


@pytest.fixture
def worker_client(db, django_user_model):
    return _client_for(django_user_model, "wes", "worker")


@pytest.fixture
def anon_client(db, django_user_model):
    return _client_for(django_user_model, "", None)


@pytest.fixture(autouse=True)
def _fresh_index(request, tmp_path):
    """Each Django test gets its own empty index and payload folder."""
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    from indexer.search import search_backend

    settings = request.getfixturevalue("settings")
    settings.SCOOP_DATA_DIR = tmp_path / "data"
    settings.SCOOP_DATA_DIR.mkdir()
    options = dict(settings.SCOOP_SEARCH_BACKEND.get("OPTIONS", {}))
    if "data_dir" in options:  # file-based engines get the test's own folder
        options["data_dir"] = str(settings.SCOOP_DATA_DIR)
    settings.SCOOP_SEARCH_BACKEND = {"ENGINE": settings.SCOOP_SEARCH_BACKEND["ENGINE"], "OPTIONS": options}
    search_backend.cache_clear()
    yield
    search_backend.cache_clear()
