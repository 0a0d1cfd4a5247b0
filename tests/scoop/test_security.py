"""Web security: CSRF on browser requests, cookies and sessions, security headers and
the Content-Security-Policy, API rate limits for token clients, and the production
settings under ``check --deploy``."""

from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from scoop.security import content_security_policy, tile_source
from scoop.throttles import throttle_scope
from tests.analytics.corpus import ONTOLOGY, create_schema
from tests.conftest import _client_for
from tests.scoop.test_settings_production import manage

PASSWORD = "correct horse battery staple"
PRODUCTION_ENV = {
    "SECRET_KEY": "k3y-" + "0123456789abcdef" * 4,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "scoop.example.org",
}


def _user(role: str, name: str | None = None):
    user = _client_for(None, name or f"user-{role}", role).user
    user.set_password(PASSWORD)
    user.save()
    return user


def _browser(role: str) -> tuple[Client, str]:
    """A logged-in browser that enforces CSRF, and the token its dashboard page carries."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(_user(role))
    page = browser.get("/manage/schemas/" if role == "admin" else "/")
    token = re.search(rb'<meta name="csrf-token" content="([^"]+)">', page.content).group(1).decode()
    return browser, token


# CSRF ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_session_api_writes_need_the_csrf_token():
    browser, token = _browser("admin")
    upload = {"name": "road", "schema": ONTOLOGY.to_document()}

    refused = browser.post("/api/v1/schemas/", upload, content_type="application/json")
    accepted = browser.post("/api/v1/schemas/", upload, content_type="application/json", HTTP_X_CSRFTOKEN=token)

    assert refused.status_code == 403
    assert refused.json()["detail"] == "CSRF Failed: CSRF token missing."
    assert accepted.status_code == 201
    assert accepted.json()["version"] == 1  # the refused upload stored nothing


@pytest.mark.django_db
def test_session_searches_and_deletes_need_the_csrf_token():
    create_schema()
    browser, token = _browser("analyst")

    refused = browser.post("/api/v1/search/", {"q": "vehicle"}, content_type="application/json")
    forged = browser.post("/api/v1/search/", {"q": "vehicle"}, content_type="application/json",
                          HTTP_X_CSRFTOKEN="x" * 32)
    accepted = browser.post("/api/v1/search/", {"q": "vehicle"}, content_type="application/json",
                            HTTP_X_CSRFTOKEN=token)

    assert (refused.status_code, forged.status_code, accepted.status_code) == (403, 403, 200)
    assert forged.json()["detail"].startswith("CSRF Failed: CSRF token")


@pytest.mark.django_db
def test_token_clients_need_no_csrf_token():
    from accounts.services import user_issue_token

    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_issue_token(username='ada', role='admin').key}")

    response = client.post("/api/v1/schemas/", {"name": "road", "schema": ONTOLOGY.to_document()}, format="json")

    assert response.status_code == 201


@pytest.mark.django_db
def test_login_logout_and_admin_forms_need_the_csrf_token():
    _user("analyst", "ann")
    browser = Client(enforce_csrf_checks=True)
    form = browser.get("/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.content).group(1).decode()
    credentials = {"username": "ann", "password": PASSWORD}

    refused = browser.post("/login/", credentials)
    logged_in = browser.post("/login/", {**credentials, "csrfmiddlewaretoken": token})
    still_in = browser.get("/")
    logout_refused = browser.post("/logout/")
    admin_refused = Client(enforce_csrf_checks=True).post("/admin/login/", credentials)

    assert refused.status_code == 403
    assert b"CSRF verification failed" in refused.content
    assert (logged_in.status_code, logged_in.url) == (302, "/")
    assert still_in.status_code == 200
    assert logout_refused.status_code == 403
    assert admin_refused.status_code == 403


# Cookies and sessions -------------------------------------------------------------------

@pytest.mark.django_db
def test_login_sets_httponly_lax_cookies_that_expire_in_twelve_hours():
    _user("analyst", "ann")
    browser = Client()
    browser.get("/login/")
    browser.post("/login/", {"username": "ann", "password": PASSWORD})
    session, csrf = browser.cookies["sessionid"], browser.cookies["csrftoken"]

    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert session["max-age"] == 12 * 3600
    assert csrf["httponly"] is True
    assert csrf["samesite"] == "Lax"
    assert browser.session.get_expiry_age() == 12 * 3600


# Headers ------------------------------------------------------------------------------

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@pytest.mark.django_db
def test_every_kind_of_response_carries_the_security_headers():
    create_schema()
    browser = Client()
    browser.force_login(_user("analyst"))
    responses = {
        "login page": Client().get("/login/"),
        "dashboard": browser.get("/"),
        "API JSON": browser.get("/api/v1/schemas/"),
        "API error": Client().get("/api/v1/videos/"),
        "404": browser.get("/no-such-page/"),
        "API docs": browser.get("/api/docs/"),
    }

    for name, response in responses.items():
        for header, value in HEADERS.items():
            assert response.headers.get(header) == value, (name, header)
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'; script-src 'self';" in policy, name
        assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy, name
        assert "unsafe-eval" not in policy, name
        assert response.headers["Permissions-Policy"].startswith("camera=()"), name


@pytest.mark.django_db
def test_only_the_api_docs_may_use_inline_style_elements():
    browser = Client()
    browser.force_login(_user("analyst"))

    docs = browser.get("/api/docs/").headers["Content-Security-Policy"]
    dashboard = Client().get("/login/").headers["Content-Security-Policy"]

    assert "style-src-elem 'self' 'unsafe-inline';" in docs
    assert "'unsafe-inline'" not in dashboard.split("style-src-elem")[1].split(";")[0]
    assert "'unsafe-inline'" not in dashboard.split("script-src")[1].split(";")[0]


def test_the_map_tile_server_is_the_only_other_image_host():
    policy = content_security_policy(tiles="https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    images = re.search(r"img-src ([^;]+);", policy).group(1)

    assert images == "'self' data: https://*.tiles.example.org"
    assert tile_source("") is None
    assert tile_source("javascript:alert(1)") is None
    assert "img-src 'self' data:;" in content_security_policy(tiles="")


# Throttling ---------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "scope"), [
    ("POST", "/api/v1/search/", "search"),
    ("GET", "/api/v1/search/", "search"),
    ("POST", "/api/v1/stats/occurrence/", "search"),
    ("GET", "/api/v1/export/detections.csv", "search"),
    ("GET", "/api/v1/videos/3/labels/", "search"),
    ("POST", "/api/v1/ingest/", "ingest"),
    ("POST", "/api/v1/videos/", "ingest"),
    ("POST", "/api/v1/videos/3/media/", "ingest"),
    ("POST", "/api/v1/videos/3/versions/2/restore/", "ingest"),
    ("GET", "/api/v1/videos/3/versions/", "api"),
    ("GET", "/api/v1/audit/", "api"),
    ("GET", "/media/videos/3/stream", "media"),
    ("GET", "/api/v1/videos/3/clip.mp4", "media"),
    ("GET", "/api/v1/ingest/", "api"),
    ("GET", "/api/v1/videos/", "api"),
    ("DELETE", "/api/v1/videos/3/", "api"),
])
def test_throttle_scopes(method, path, scope):
    assert throttle_scope(method=method, path=path) == scope


@pytest.fixture
def low_rates(settings):
    """Real, low rates (the test settings raise them for every other test)."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        "search": "3/minute", "ingest": "2/minute", "media": "100/minute", "api": "100/minute"}}
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_a_token_client_over_its_search_rate_gets_429_and_others_do_not(low_rates):
    create_schema()
    ann = _client_for(None, "ann", "analyst")
    bob = _client_for(None, "bob", "analyst")

    allowed = [ann.post("/api/v1/search/", {"q": "vehicle"}, format="json").status_code for _ in range(3)]
    throttled = ann.post("/api/v1/search/", {"q": "vehicle"}, format="json")
    other_user = bob.post("/api/v1/search/", {"q": "vehicle"}, format="json")
    other_scope = ann.get("/api/v1/schemas/")

    assert allowed == [200, 200, 200]
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert re.fullmatch(r"Request was throttled\. Expected available in \d+ seconds?\.", throttled.json()["detail"])
    assert other_user.status_code == 200
    assert other_scope.status_code == 200


@pytest.mark.django_db
def test_ingest_has_its_own_rate_and_browser_sessions_are_not_throttled(low_rates):
    create_schema()
    worker = _client_for(None, "wes", "worker")
    payload = {"video": "v", "analytics": {"frames": {}}}
    browser = Client()
    browser.force_login(_user("analyst"))

    ingests = [worker.post("/api/v1/ingest/", payload, format="json").status_code for _ in range(3)]
    searches = {browser.post("/api/v1/search/", {"q": "vehicle"}, content_type="application/json").status_code
                for _ in range(5)}

    assert ingests[2] == 429 and 429 not in ingests[:2]
    assert searches == {200}


# Production settings ------------------------------------------------------------------

def test_production_passes_check_deploy_without_warnings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV,
                                                                       "SCOOP_DATA_DIR": str(tmp_path)})

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (1 silenced)." in result.stdout


PRODUCTION_PROBE = """
import json
from django.conf import settings
from django.test import Client
http = Client().get("/login/", HTTP_HOST="scoop.example.org")
https = Client().get("/login/", secure=True, HTTP_HOST="scoop.example.org")
print(json.dumps({
    "http": [http.status_code, http.get("Location")],
    "hsts": https.get("Strict-Transport-Security"),
    "csrf_cookie": {k: https.cookies["csrftoken"][k] for k in ("secure", "httponly", "samesite")},
    "session": [settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY, settings.SESSION_COOKIE_AGE],
    "csp": https.get("Content-Security-Policy", ""),
}))
"""


def test_production_sends_secure_cookies_hsts_and_redirects_to_https(tmp_path):
    env = {**PRODUCTION_ENV, "SCOOP_DATA_DIR": str(tmp_path)}
    # As a production deployment does before serving: pages name the collected, hashed files.
    assert manage("collectstatic", "--noinput", env=env).returncode == 0
    result = manage("shell", "-c", PRODUCTION_PROBE, env=env)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])

    assert probe["http"] == [301, "https://scoop.example.org/login/"]
    assert probe["hsts"] == "max-age=3600; includeSubDomains"
    assert probe["csrf_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert probe["session"] == [True, True, 12 * 3600]
    assert probe["csp"].startswith("default-src 'self'; script-src 'self';")
