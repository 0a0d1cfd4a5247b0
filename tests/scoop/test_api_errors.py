"""Errors under /api/ answer JSON ``{"detail": ...}`` whatever Django would have sent
(an unknown route or id, a method a view does not take, a server error, a POST
without its trailing slash), with DEBUG on (``manage.py serve``) or off; API tokens
are taken as ``Bearer`` too; the API docs send anonymous browsers to the login page."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import _client_for

pytestmark = pytest.mark.django_db

DEBUG = pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])


@pytest.fixture
def debug_setting(settings, debug):
    settings.DEBUG = debug


def _json(response) -> dict:
    assert response["Content-Type"] == "application/json", response.content[:300]
    return response.json()


@DEBUG
@pytest.mark.parametrize(("path", "detail"), [
    ("/api/v1/nothing/", "no such route: /api/v1/nothing/"),
    ("/api/v1/videos/abc/", "no such route: /api/v1/videos/abc/"),
    ("/api/v1/ingest/not-a-uuid/", "no such route: /api/v1/ingest/not-a-uuid/"),
    ("/api/v2/search/", "no such route: /api/v2/search/"),
    ("/media/videos/1/nothing.jpg", "no such route: /media/videos/1/nothing.jpg"),
])
def test_an_unknown_route_is_a_json_404(analyst_client, debug_setting, path, detail):
    response = analyst_client.get(path)

    assert response.status_code == 404
    assert _json(response) == {"detail": detail}


@DEBUG
@pytest.mark.parametrize(("path", "model"), [
    ("/api/v1/videos/999/", "Video"), ("/api/v1/videos/999/labels/", "Video"),
    ("/api/v1/schemas/999/", "LabelSchema"), ("/api/v1/regions/999/", "RegionLayer"),
    ("/media/videos/999/stream", "Video"),
])
def test_an_unknown_id_is_a_json_404(analyst_client, debug_setting, path, model):
    response = analyst_client.get(path)

    assert response.status_code == 404
    assert _json(response) == {"detail": f"No {model} matches the given query."}


@DEBUG
@pytest.mark.parametrize(("method", "path"), [("delete", "/api/v1/search/"), ("put", "/api/v1/schemas/"),
                                              ("post", "/api/docs/"), ("post", "/media/videos/1/stream")])
def test_a_method_a_route_does_not_take_is_a_json_405(admin_client, debug_setting, method, path):
    response = getattr(admin_client, method)(path)

    assert response.status_code == 405
    assert _json(response) == {"detail": f'Method "{method.upper()}" not allowed.'}
    assert method.upper() not in response["Allow"]


@DEBUG
def test_a_server_error_is_a_json_500_that_tells_nothing_of_the_server(monkeypatch, debug_setting):
    from indexer import selectors

    def broken():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "videos_all", broken)
    token = _client_for(None, "ann", "analyst")._credentials["HTTP_AUTHORIZATION"]

    response = Client(raise_request_exception=False).get("/api/v1/videos/", HTTP_AUTHORIZATION=token)

    assert response.status_code == 500
    assert _json(response) == {"detail": "Internal Server Error: the server failed on this request and logged why."}


@DEBUG
@pytest.mark.parametrize("path", ["/api/v1/search", "/api/v1/ingest", "/api/v1/videos/1/stream"])
def test_a_post_without_the_trailing_slash_names_the_right_url(worker_client, debug_setting, path):
    response = worker_client.post(path, {"q": "vehicle"}, format="json")

    assert response.status_code == 404
    assert _json(response) == {"detail": f"no such route; did you mean {path}/?"}


def test_a_get_without_the_trailing_slash_is_redirected(analyst_client):
    response = analyst_client.get("/api/v1/videos?page=2")

    assert response.status_code == 301
    assert response["Location"] == "/api/v1/videos/?page=2"


def test_pages_outside_the_api_keep_their_html_errors(client):
    response = client.get("/nothing/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# Tokens ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "bearer"])
def test_a_token_is_taken_as_token_or_bearer(analyst_client, scheme):
    token = analyst_client._credentials["HTTP_AUTHORIZATION"].split()[1]

    response = Client().get("/api/v1/videos/", HTTP_AUTHORIZATION=f"{scheme} {token}")

    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.parametrize(("header", "detail"), [
    ("Bearer not-a-token", "Invalid token."),
    ("Bearer", "Invalid token header: send 'Token <token>' or 'Bearer <token>'."),
    ("Bearer a b", "Invalid token header: send 'Token <token>' or 'Bearer <token>'."),
    ("Basic dXNlcjpwYXNz", "Authentication credentials were not provided."),
])
def test_a_wrong_token_header_is_a_401_saying_why(db, header, detail):
    response = Client().get("/api/v1/videos/", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json() == {"detail": detail}


# The API docs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs/?script="])
def test_anonymous_visitors_of_the_docs_are_sent_to_the_login_page(client, path):
    response = client.get(path, HTTP_ACCEPT="text/html")

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path.replace('?', '%3F').replace('=', '%3D')}"


def test_an_anonymous_browser_asking_for_the_schema_is_sent_to_the_login_page(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/api/schema/"


def test_an_anonymous_api_client_asking_for_the_schema_gets_a_json_401(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/vnd.oai.openapi+json"  # the JSON it asked for
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_the_docs_page_links_back_to_the_dashboard(client, analyst_client):
    client.force_login(analyst_client.user)

    page = client.get("/api/docs/")

    assert page.status_code == 200
    assert b'<a href="/">&larr; Back to the dashboard</a>' in page.content
    assert b'<div id="swagger-ui"></div>' in page.content
    assert b"Signed in as <strong>ann</strong>" in page.content
