"""Every media endpoint x every role (docs/operations/security.md): analysts and admins watch,
workers and admins give media, anonymous users get nothing."""

import pytest

from indexer.models import Video
from tests.conftest import _client_for
from tests.indexer.media_samples import media_video, write_video

ROLES = ("anonymous", "worker", "analyst", "admin")

# endpoint -> expected status for anonymous, worker, analyst, admin
MATRIX = [
    ("GET", "/media/videos/{video}/stream", (401, 403, 200, 200)),
    ("GET", "/media/videos/{video}/thumbnail.jpg?t=1", (401, 403, 200, 200)),
    ("GET", "/media/videos/{video}/sprite.jpg", (401, 403, 200, 200)),
    ("GET", "/api/v1/videos/{video}/clip.mp4?start_s=0&end_s=1", (401, 403, 200, 200)),
    ("GET", "/api/v1/videos/{video}/labels/", (401, 403, 200, 200)),
    ("GET", "/api/v1/videos/{video}/media/", (401, 200, 200, 200)),
    ("POST", "/api/v1/videos/{video}/media/", (401, 202, 403, 202)),
    ("POST", "/api/v1/videos/", (401, 201, 403, 201)),
]


@pytest.mark.parametrize(("method", "template", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
def test_media_access_matrix(db, method, template, expected, role_index, django_capture_on_commit_callbacks):
    from indexer.media import media_dir

    video = media_video()
    write_video(media_dir() / "other.webm")
    role = ROLES[role_index]
    client = _client_for(None, f"user-{role}", None if role == "anonymous" else role)
    if role == "worker":  # its own video (tests/indexer/test_ownership.py: another's, and the demo's)
        Video.objects.filter(pk=video.pk).update(owner=client.user)
    body = {"path": "other.webm"} if "media" in template else {"name": "new-video"}

    with django_capture_on_commit_callbacks(execute=True):
        if method == "GET":
            response = client.get(template.format(video=video.pk))
        else:
            response = client.post(template.format(video=video.pk), body, format="json")

    assert response.status_code == expected[role_index], response.content[:300]
    if response.status_code == 401:
        assert response.json()["detail"] == "Authentication credentials were not provided."
    if response.status_code == 403:
        assert response.json()["detail"].startswith("This needs the role")


def test_a_logged_in_analyst_streams_with_the_browser_session(db, client, django_user_model):
    from accounts.services import user_issue_token

    video = media_video()
    analyst = user_issue_token(username="browser-ann", role="analyst").user
    client.force_login(analyst)

    response = client.get(f"/media/videos/{video.pk}/stream", HTTP_RANGE="bytes=0-9")

    assert response.status_code == 206
    assert len(b"".join(response.streaming_content)) == 10


def test_an_anonymous_browser_gets_no_bytes(db, client):
    video = media_video()

    for path in ("stream", "thumbnail.jpg", "sprite.jpg"):
        response = client.get(f"/media/videos/{video.pk}/{path}")
        assert response.status_code == 401
        assert not response.streaming
