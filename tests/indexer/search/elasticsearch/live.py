"""The Elasticsearch engine on the live cluster at ``ELASTICSEARCH_URL``, for the shared backend tests.

Without ``ELASTICSEARCH_URL`` the Elasticsearch variants are skipped with that reason. When it is
set but the cluster does not answer they are skipped too, or fail with
``SCOOP_REQUIRE_SERVICES=1`` (:func:`tests.conftest.require_service`). Credentials come from
the same variables as the settings (``ELASTICSEARCH_USERNAME``/``PASSWORD``, ``_API_KEY``,
``_CA_CERTS``). Every engine gets its own index prefix and is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest

from tests.conftest import require_service


def require_cluster() -> None:
    url = os.environ.get("ELASTICSEARCH_URL", "")
    if not url:
        pytest.skip("ELASTICSEARCH_URL is not set: the Elasticsearch engine is tested against a live cluster only")
    parsed = urlparse(url)
    require_service("Elasticsearch", parsed.hostname or "127.0.0.1", parsed.port or 9200)


@contextmanager
def engine() -> Iterator:
    """A fresh Elasticsearch engine under its own index prefix, dropped on exit."""
    from indexer.search.elasticsearch import SearchBackend

    backend = SearchBackend(
        url=os.environ["ELASTICSEARCH_URL"],
        username=os.environ.get("ELASTICSEARCH_USERNAME", ""),
        password=os.environ.get("ELASTICSEARCH_PASSWORD", ""),
        api_key=os.environ.get("ELASTICSEARCH_API_KEY", ""),
        ca_certs=os.environ.get("ELASTICSEARCH_CA_CERTS", ""),
        index_prefix=f"scoop-test-{uuid.uuid4().hex[:12]}",
        replicas=0,
    )
    try:
        yield backend
    finally:
        backend.drop()
        backend.close()
