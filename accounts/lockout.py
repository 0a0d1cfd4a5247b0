"""Failed sign-in lockout for the browser login (``/login/`` and ``/admin/login/``).

After ``SCOOP_LOGIN_FAILURES_PER_USER`` failed attempts for one username, or
``SCOOP_LOGIN_FAILURES_PER_IP`` from one client address, within
``SCOOP_LOGIN_LOCKOUT_S`` seconds of the first of them, further attempts for that
username / from that address are refused with 429 until that window ends. A refused
attempt checks no password (a right one is refused too, and costs no hashing) and
counts as no further failure. A successful login clears its username's counter, not
its address's: one good account must not reset an address that is guessing others.

Usernames are counted stripped and lower-cased ("Ann " and "ann" are one account).
The client address is ``REMOTE_ADDR`` only: ``X-Forwarded-For`` is set by whoever
sends the request, so trusting it would let a guesser pick a fresh address per
attempt. Behind a proxy every client shares the proxy's address and its limit.

Counters live in the default cache (``cache.add`` then ``cache.incr``, atomic in
Redis and locmem), shared by every web process when production sets ``CACHE_URL``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError

logger = logging.getLogger("scoop.security")

ACCOUNT = "account"
ADDRESS = "address"
WHAT_IS_LOCKED = {ACCOUNT: "for this account", ADDRESS: "from this address"}


@dataclass(frozen=True)
class LoginLock:
    """Sign-in refused for ``scope`` (account or address) for ``retry_after_s`` more seconds."""

    scope: str
    retry_after_s: int

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after_s / 60))
        return (
            f"Too many failed sign-in attempts {WHAT_IS_LOCKED[self.scope]}. "
            f"Try again in {minutes} minute{'' if minutes == 1 else 's'}."
        )


def _counted(*, username: str, address: str) -> list[tuple[str, str, int]]:
    """(scope, cache key, limit) for each counter an attempt belongs to."""
    counters = [(ACCOUNT, username.strip().lower(), settings.SCOOP_LOGIN_FAILURES_PER_USER)]
    if address:
        counters.append((ADDRESS, address, settings.SCOOP_LOGIN_FAILURES_PER_IP))
    # Hashed: usernames may hold characters or lengths that some cache backends refuse in keys.
    return [
        (scope, f"scoop:login-failures:{scope}:{hashlib.sha256(ident.encode()).hexdigest()}", limit)
        for scope, ident, limit in counters
    ]


def login_lock(*, username: str, address: str) -> LoginLock | None:
    """The lock on this username or address, if either has used up its failures."""
    counters = _counted(username=username, address=address)
    stored = cache.get_many([key for _, key, _ in counters] + [f"{key}:start" for _, key, _ in counters])
    window = settings.SCOOP_LOGIN_LOCKOUT_S
    for scope, key, limit in counters:
        if stored.get(key, 0) >= limit:
            started = stored.get(f"{key}:start", time.time())
            return LoginLock(scope=scope, retry_after_s=max(1, math.ceil(started + window - time.time())))
    return None


def login_failure_record(*, username: str, address: str) -> None:
    """Count a failed sign-in against its username and its address."""
    window = settings.SCOOP_LOGIN_LOCKOUT_S
    for scope, key, limit in _counted(username=username, address=address):
        cache.add(f"{key}:start", time.time(), timeout=window)
        cache.add(key, 0, timeout=window)
        try:
            failures = cache.incr(key)
        except ValueError:  # the window ended between add and incr: this failure starts a new one
            failures = 1
            cache.set(f"{key}:start", time.time(), timeout=window)
            cache.set(key, failures, timeout=window)
        if failures == limit:
            logger.warning(
                "Sign-in locked %s for %d s after %d failures: username %r, address %s",
                WHAT_IS_LOCKED[scope],
                window,
                failures,
                username,
                address or "unknown",
            )


def login_success_record(*, username: str) -> None:
    """Forget the username's failures (its address's stay counted)."""
    keys = [key for _, key, _ in _counted(username=username, address="")]
    cache.delete_many(keys + [f"{key}:start" for key in keys])


class LockoutFormMixin:
    """Refuses a locked username or address before authenticating, counts failures."""

    lock: LoginLock | None = None

    def clean(self):
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if username is None or not password:
            return super().clean()  # a missing field: no authentication happens, nothing to count
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        self.lock = login_lock(username=username, address=address)
        if self.lock:
            raise ValidationError(self.lock.message, code="locked")
        try:
            cleaned_data = super().clean()
        except ValidationError:
            # A user who authenticated but may not log in here (inactive, or not staff on
            # the admin) knew the password: not a guess.
            if self.user_cache is None:
                login_failure_record(username=username, address=address)
            raise
        login_success_record(username=username)
        return cleaned_data


class LoginForm(LockoutFormMixin, AuthenticationForm):
    pass


class AdminLoginForm(LockoutFormMixin, AdminAuthenticationForm):
    pass


def _refused_status(response, form):
    """429 with ``Retry-After`` when the form was refused for a lockout."""
    if getattr(form, "lock", None):
        response.status_code = 429
        response["Retry-After"] = str(form.lock.retry_after_s)
    return response


class LoginView(auth_views.LoginView):
    """Django's login page with the lockout (``/login/``)."""

    authentication_form = LoginForm

    def form_invalid(self, form):
        return _refused_status(super().form_invalid(form), form)


class AdminSite(admin.AdminSite):
    """The Django admin with the lockout on its login page (``/admin/login/``)."""

    login_form = AdminLoginForm

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        # Django builds its own LoginView here: the form comes back in the page's context.
        form = (getattr(response, "context_data", None) or {}).get("form")
        return _refused_status(response, form)
