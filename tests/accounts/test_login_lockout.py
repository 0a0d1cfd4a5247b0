"""Failed sign-in lockout on ``/login/`` and ``/admin/login/`` (accounts/lockout.py):
5 failures per username, 20 per client address, in a 15-minute window."""

from __future__ import annotations

import logging
import time

import pytest
from django.core.cache import cache
from django.test import Client

from tests.conftest import _client_for

PASSWORD = "correct horse battery staple"
WRONG = "wrong password"
ACCOUNT_LOCKED = "Too many failed sign-in attempts for this account. Try again in {} minutes."
ADDRESS_LOCKED = "Too many failed sign-in attempts from this address. Try again in {} minutes."
WRONG_PASSWORD = "Your username and password didn't match. Please try again."


@pytest.fixture(autouse=True)
def lockout(settings):
    """The production defaults (the test settings raise them out of reach), and no counters
    left over from another test."""
    settings.SCOOP_LOGIN_FAILURES_PER_USER = 5
    settings.SCOOP_LOGIN_FAILURES_PER_IP = 20
    settings.SCOOP_LOGIN_LOCKOUT_S = 15 * 60
    cache.clear()
    yield
    cache.clear()


def _user(username: str, role: str = "analyst"):
    user = _client_for(None, username, role).user
    user.set_password(PASSWORD)
    user.save()
    return user


def _browser(address: str = "10.0.0.1") -> Client:
    return Client(REMOTE_ADDR=address)


def _login(browser: Client, username: str, password: str, url: str = "/login/"):
    return browser.post(url, {"username": username, "password": password})


def _logged_in(browser: Client) -> bool:
    return "_auth_user_id" in browser.session


def _fail(browser: Client, username: str, times: int, url: str = "/login/") -> list[int]:
    return [_login(browser, username, WRONG, url).status_code for _ in range(times)]


@pytest.mark.django_db
def test_five_failures_lock_the_account_even_for_the_right_password():
    _user("ann")
    browser = _browser()

    failures = [_login(browser, "ann", WRONG) for _ in range(5)]
    refused = _login(browser, "ann", PASSWORD)

    assert [response.status_code for response in failures] == [200] * 5
    assert all(WRONG_PASSWORD in response.content.decode() for response in failures)
    assert refused.status_code == 429
    assert refused["Retry-After"] in {"899", "900"}
    assert ACCOUNT_LOCKED.format(15) in refused.content.decode()
    assert WRONG_PASSWORD not in refused.content.decode()
    assert not _logged_in(browser)


@pytest.mark.django_db
def test_the_lockout_is_logged_without_the_password(caplog):
    _user("ann")

    with caplog.at_level(logging.WARNING, logger="scoop.security"):
        _fail(_browser("10.0.0.7"), "ann", 5)

    [record] = [record for record in caplog.records if record.name == "scoop.security"]
    assert record.getMessage() == (
        "Sign-in locked for this account for 900 s after 5 failures: username 'ann', address 10.0.0.7"
    )
    assert WRONG not in record.getMessage()


@pytest.mark.django_db
def test_the_remaining_time_counts_from_the_first_failure(monkeypatch):
    _user("ann")
    browser = _browser()
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start)
    _fail(browser, "ann", 5)

    monkeypatch.setattr(time, "time", lambda: start + 61)
    after_a_minute = _login(browser, "ann", PASSWORD)
    monkeypatch.setattr(time, "time", lambda: start + 14 * 60 + 30)
    last_minute = _login(browser, "ann", PASSWORD)

    assert after_a_minute.status_code == 429
    assert ACCOUNT_LOCKED.format(14) in after_a_minute.content.decode()
    assert last_minute.status_code == 429
    assert "Try again in 1 minute." in last_minute.content.decode()


@pytest.mark.django_db
def test_another_user_from_another_address_is_not_affected():
    _user("ann")
    _user("bob")
    _fail(_browser("10.0.0.1"), "ann", 5)
    other = _browser("10.0.0.2")

    response = _login(other, "bob", PASSWORD)

    assert (response.status_code, response.url) == (302, "/")
    assert _logged_in(other)


@pytest.mark.django_db
def test_the_locked_account_is_locked_from_every_address():
    _user("ann")
    _fail(_browser("10.0.0.1"), "ann", 5)
    elsewhere = _browser("10.0.0.2")

    response = _login(elsewhere, "ann", PASSWORD)

    assert response.status_code == 429
    assert ACCOUNT_LOCKED.format(15) in response.content.decode()
    assert not _logged_in(elsewhere)


@pytest.mark.django_db
def test_twenty_failures_from_one_address_lock_the_address_for_every_username():
    _user("bob")
    guesser = _browser("10.0.0.66")

    statuses = [_login(guesser, f"guess-{n}", WRONG).status_code for n in range(20)]
    refused = _login(guesser, "bob", PASSWORD)
    bob = _browser("10.0.0.2")
    elsewhere = _login(bob, "bob", PASSWORD)

    assert statuses == [200] * 20
    assert refused.status_code == 429
    assert ADDRESS_LOCKED.format(15) in refused.content.decode()
    assert not _logged_in(guesser)
    assert elsewhere.status_code == 302
    assert _logged_in(bob)


@pytest.mark.django_db
def test_a_successful_login_clears_the_accounts_failures():
    _user("ann")

    before = _fail(_browser(), "ann", 4)
    success = _login(_browser(), "ann", PASSWORD)
    after = _fail(_browser(), "ann", 4)
    still_allowed = _login(_browser(), "ann", PASSWORD)

    assert before == after == [200] * 4
    assert success.status_code == 302
    assert still_allowed.status_code == 302


@pytest.mark.django_db
def test_usernames_count_together_whatever_their_case_and_spaces():
    _user("ann")
    browser = _browser()

    statuses = [_login(browser, name, WRONG).status_code for name in ("Ann", "ann ", " ANN", "aNn", "ann")]
    refused = _login(browser, "ann", PASSWORD)

    assert statuses == [200] * 5
    assert refused.status_code == 429
    assert ACCOUNT_LOCKED.format(15) in refused.content.decode()


@pytest.mark.django_db
def test_the_admin_login_is_locked_the_same_way():
    _user("ada", "admin")
    browser = _browser()

    failures = _fail(browser, "ada", 5, url="/admin/login/")
    refused = _login(browser, "ada", PASSWORD, url="/admin/login/")
    on_the_dashboard_login = _login(_browser("10.0.0.2"), "ada", PASSWORD)

    assert failures == [200] * 5
    assert refused.status_code == 429
    assert ACCOUNT_LOCKED.format(15) in refused.content.decode()
    assert not _logged_in(browser)
    assert on_the_dashboard_login.status_code == 429  # one counter for both login pages


@pytest.mark.django_db
def test_a_non_staff_user_with_the_right_password_on_the_admin_is_no_failure():
    _user("ann")
    browser = _browser()

    statuses = [_login(browser, "ann", PASSWORD, url="/admin/login/").status_code for _ in range(6)]

    assert statuses == [200] * 6
    assert _login(browser, "ann", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_login_works_again_after_the_window(monkeypatch):
    _user("ann")
    browser = _browser()
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start)
    _fail(browser, "ann", 5)
    locked = _login(browser, "ann", PASSWORD)

    monkeypatch.setattr(time, "time", lambda: start + 15 * 60 + 1)
    response = _login(browser, "ann", PASSWORD)

    assert locked.status_code == 429
    assert (response.status_code, response.url) == (302, "/")
    assert _logged_in(browser)


@pytest.mark.django_db
def test_the_limits_and_the_window_are_settings(settings, monkeypatch):
    settings.SCOOP_LOGIN_FAILURES_PER_USER = 2
    settings.SCOOP_LOGIN_FAILURES_PER_IP = 3
    settings.SCOOP_LOGIN_LOCKOUT_S = 120
    _user("ann")
    _user("bob")
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start)

    account = _fail(_browser("10.0.0.1"), "ann", 3)
    address = (
        _fail(_browser("10.0.0.2"), "x", 1) + _fail(_browser("10.0.0.2"), "y", 1) + _fail(_browser("10.0.0.2"), "z", 1)
    )
    address_locked = _login(_browser("10.0.0.2"), "bob", PASSWORD)
    monkeypatch.setattr(time, "time", lambda: start + 121)
    released = _login(_browser("10.0.0.1"), "ann", PASSWORD)

    assert account == [200, 200, 429]
    assert address == [200, 200, 200]
    assert address_locked.status_code == 429
    assert ADDRESS_LOCKED.format(2) in address_locked.content.decode()
    assert released.status_code == 302


def test_the_defaults_are_five_per_user_twenty_per_address_for_fifteen_minutes():
    from scoop.settings import base

    assert (base.SCOOP_LOGIN_FAILURES_PER_USER, base.SCOOP_LOGIN_FAILURES_PER_IP, base.SCOOP_LOGIN_LOCKOUT_S) == (
        5,
        20,
        900,
    )
