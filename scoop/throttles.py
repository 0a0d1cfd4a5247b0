"""Request rates for API token clients (DRF throttling).

Each request made with ``Authorization: Token ...`` counts against its user's
budget in one scope, picked from the request's method and path by ``SCOPE_RULES``
(first match wins; anything else is ``api``):

- ``search``: search, statistics, exports, similarity search, overlay labels (the
  costly reads of the index);
- ``ingest``: posting analytics, restoring versions, creating videos, giving them media or streams;
- ``upload``: the chunks of resumable uploads (many large requests a second);
- ``media``: video streams, thumbnails, sprites and clips (a player sends many
  range requests);
- ``api``: everything else (schemas, jobs, video lists, regions, deletes).

Rates are ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``scoop/settings/base.py``,
from ``SCOOP_THROTTLE_<SCOPE>``). A client over its rate gets 429 with
``Retry-After``; other users are not affected. Browser sessions are not throttled:
the dashboard fires a burst of calls on every change and is used by people who
logged in. Counters live in the default cache, which must be shared by every web
process (production: ``CACHE_URL``).
"""

from __future__ import annotations

import re

from django.core.exceptions import ImproperlyConfigured
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ANY = SAFE | UNSAFE
DEFAULT_SCOPE = "api"

# (methods, path pattern, scope). Add a row when an endpoint belongs to another scope.
SCOPE_RULES: list[tuple[frozenset[str], re.Pattern[str], str]] = [
    (ANY, re.compile(r"^/api/v1/(search|stats|export|similar)/"), "search"),
    (SAFE, re.compile(r"^/api/v1/videos/\d+/labels/"), "search"),
    (SAFE, re.compile(r"^/api/v1/videos/\d+/clip\.mp4$"), "media"),
    (SAFE, re.compile(r"^/media/"), "media"),
    (frozenset({"PATCH", "HEAD"}), re.compile(r"^/api/v1/uploads/[^/]+/$"), "upload"),
    (frozenset({"POST"}), re.compile(r"^/api/v1/ingest/$"), "ingest"),
    (frozenset({"POST"}), re.compile(r"^/api/v1/videos/(\d+/(media|stream)/)?$"), "ingest"),
    (frozenset({"POST"}), re.compile(r"^/api/v1/videos/\d+/versions/\d+/restore/$"), "ingest"),
]


def throttle_scope(*, method: str, path: str) -> str:
    """The scope a request counts against (see ``SCOPE_RULES``)."""
    for methods, pattern, scope in SCOPE_RULES:
        if method in methods and pattern.match(path):
            return scope
    return DEFAULT_SCOPE


class TokenUserRateThrottle(SimpleRateThrottle):
    """Per-user, per-scope rate for token-authenticated requests."""

    def __init__(self):
        # The scope (and so the rate) depends on the request: chosen in allow_request.
        self.scope = None

    def get_rate(self) -> str | None:
        # Read at request time, so that changed settings (tests) apply at once.
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope not in rates:
            raise ImproperlyConfigured(f"No throttle rate for the scope '{self.scope}' (DEFAULT_THROTTLE_RATES)")
        return rates[self.scope]

    def allow_request(self, request: Request, view) -> bool:
        if not isinstance(request.auth, Token):
            return True
        self.scope = throttle_scope(method=request.method, path=request.path)
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
