"""A small client for Scoop's REST API, for GPU workers and scripts.

Standard library only; no Django. See docs (README "Worker SDK")::

    from scoop_client import ScoopClient
    scoop = ScoopClient("http://127.0.0.1:8000", token=WORKER_TOKEN)
    job = scoop.ingest_wait(video="cam-7", analytics=Path("labels.json"), schema="road", mode="filter")
"""

from scoop_client.client import ScoopClient
from scoop_client.errors import (
    JobFailed,
    JobTimeout,
    ScoopAuthError,
    ScoopBadRequest,
    ScoopConnectionError,
    ScoopError,
    ScoopServerError,
)

__all__ = [
    "JobFailed",
    "JobTimeout",
    "ScoopAuthError",
    "ScoopBadRequest",
    "ScoopClient",
    "ScoopConnectionError",
    "ScoopError",
    "ScoopServerError",
]
