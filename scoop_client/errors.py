"""Exceptions raised by :class:`scoop_client.ScoopClient`, carrying Scoop's error body."""

from __future__ import annotations

from typing import Any


class ScoopError(Exception):
    """Scoop answered with an error status.

    ``detail`` is the API's one-line message, ``problems`` its list of
    ``{"path", "message"}`` (empty when there were none), ``path`` the field it
    blames (or None), ``body`` the whole decoded answer (or the raw text when
    it was not JSON).
    """

    def __init__(self, status: int, body: Any, *, method: str = "", url: str = "") -> None:
        self.status = status
        self.body = body
        self.method = method
        self.url = url
        fields = body if isinstance(body, dict) else {}
        self.detail: str = str(fields.get("detail") or (body if isinstance(body, str) else "") or f"HTTP {status}")
        self.problems: list[dict[str, str]] = list(fields.get("problems") or [])
        self.path: str | None = fields.get("path")
        super().__init__(f"{method} {url} -> {status}: {self.detail}".strip())


class ScoopBadRequest(ScoopError):
    """400-level input errors other than authentication (400, 404, 413, 415)."""


class ScoopAuthError(ScoopError):
    """401 (no or a wrong token) or 403 (the token's role may not do this)."""


class ScoopServerError(ScoopError):
    """A 5xx answer."""


class ScoopConnectionError(Exception):
    """The server could not be reached (refused, timed out, DNS)."""


class JobFailed(Exception):
    """An ingest job ended in ``failed`` or ``cancelled``; ``job`` holds its last state
    (``status``, ``error``, ``violations``)."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        message = job.get("error") or f"{job.get('violation_count', 0)} violation(s)"
        super().__init__(f"ingest job {job.get('id')} {job.get('status', 'failed')}: {message}")


class JobTimeout(Exception):
    """An ingest job did not end within the time allowed; ``job`` holds its last state."""

    def __init__(self, job: dict[str, Any], timeout: float) -> None:
        self.job = job
        super().__init__(f"ingest job {job.get('id')} still {job.get('status')} after {timeout:g} s")


def error_for(status: int, body: Any, *, method: str, url: str) -> ScoopError:
    """The exception class that fits an HTTP error status."""
    if status in (401, 403):
        kind: type[ScoopError] = ScoopAuthError
    elif status >= 500:
        kind = ScoopServerError
    elif status >= 400:
        kind = ScoopBadRequest
    else:
        kind = ScoopError
    return kind(status, body, method=method, url=url)
