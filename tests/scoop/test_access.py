"""Every endpoint x every role, with the status each must get (SPEC 7)."""

import json

import pytest
from django.core.management import call_command

from tests.conftest import REPO, _client_for

ETA = (REPO / ".." / "shared" / "data" / "formats").resolve()
ROLES = ("anonymous", "worker", "analyst", "admin")

# endpoint -> expected status for anonymous, worker, analyst, admin
MATRIX = [
    ("GET", "/api/v1/schemas/", (401, 200, 200, 200)),
    ("POST", "/api/v1/schemas/", (401, 403, 403, 201)),
    ("GET", "/api/v1/schemas/{schema}/", (401, 200, 200, 200)),
    ("POST", "/api/v1/ingest/", (401, 202, 403, 202)),
    ("GET", "/api/v1/ingest/", (401, 200, 403, 200)),
    ("GET", "/api/v1/ingest/{job}/", (401, 200, 403, 200)),
    ("GET", "/api/v1/videos/", (401, 403, 200, 200)),
    ("GET", "/api/v1/videos/{video}/", (401, 403, 200, 200)),
    ("DELETE", "/api/v1/videos/{video}/", (401, 403, 403, 204)),
    ("GET", "/api/v1/search/?q=car", (401, 403, 200, 200)),
    ("POST", "/api/v1/search/", (401, 403, 200, 200)),
    ("GET", "/api/schema/", (401, 200, 200, 200)),
]


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    """One schema and one ingested video, made by the worker 'wes' (whose job it is)."""
    admin = _client_for(None, "ada", "admin")
    worker = _client_for(None, "wes", "worker")
    schema = admin.post(
        "/api/v1/schemas/",
        {"name": "eta", "schema": json.loads((ETA / "eta_VideoLabelsSchema.json").read_text())},
        format="json",
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        job = worker.post(
            "/api/v1/ingest/",
            {"video": "v1", "analytics": json.loads((ETA / "eta_VideoLabels_framewise.json").read_text())},
            format="json",
        ).json()
    video = worker.get(job["url"]).json()["video"]
    return {"schema": schema["id"], "job": job["id"], "video": video}


def _body(method: str, path: str) -> dict | None:
    if method != "POST":
        return None
    if path.startswith("/api/v1/schemas/"):
        return {"name": "eta", "schema": json.loads((ETA / "eta_VideoLabelsSchema.json").read_text())}
    if path.startswith("/api/v1/ingest/"):
        return {"video": "v2", "analytics": json.loads((ETA / "eta_VideoLabels_framewise.json").read_text())}
    return {"q": "car"}


@pytest.mark.parametrize(("method", "template", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
def test_access_matrix(world, method, template, expected, role_index, django_capture_on_commit_callbacks):
    role = ROLES[role_index]
    client = _client_for(None, "wes" if role == "worker" else f"user-{role}",
                         None if role == "anonymous" else role)
    path = template.format(**world)

    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(client, method.lower())(path, _body(method, path), format="json")

    assert response.status_code == expected[role_index], response.content[:300]


@pytest.mark.django_db
def test_anonymous_browser_sees_only_the_login_page(client):
    home = client.get("/")
    login = client.get("/login/")

    assert home.status_code == 302
    assert home["Location"].startswith("/login/")
    assert login.status_code == 200
    assert b"Log in to Scoop" in login.content
    assert client.get("/api/docs/").status_code in (401, 403)


@pytest.mark.django_db
def test_browser_login_with_a_session(client, django_user_model):
    user = django_user_model.objects.create_user("ann", password="correct horse battery staple")
    call_command("issue_token", "ann", "--role", "analyst")

    failed = client.post("/login/", {"username": "ann", "password": "wrong"})
    ok = client.post("/login/", {"username": "ann", "password": "correct horse battery staple"})
    home = client.get("/")

    assert b"didn't match" in failed.content
    assert ok.status_code == 302
    assert home.status_code == 200
    assert b"Signed in as <strong>ann</strong> (analyst)" in home.content
    assert client.get("/api/v1/videos/").status_code == 200
    assert user.is_authenticated


@pytest.mark.django_db
def test_django_admin_works_for_admins_only(client, django_user_model):
    for name, role in (("ada", "admin"), ("ann", "analyst")):
        user = django_user_model.objects.create_user(name, password="pw-" + name * 4)
        call_command("issue_token", name, "--role", role)
        user.refresh_from_db()

    client.login(username="ada", password="pw-" + "ada" * 4)
    admin_page = client.get("/admin/indexer/video/")
    client.logout()
    client.login(username="ann", password="pw-" + "ann" * 4)
    analyst_page = client.get("/admin/indexer/video/")

    assert admin_page.status_code == 200
    assert analyst_page.status_code == 302
