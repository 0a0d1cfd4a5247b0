"""The audit log: each schema upload, replacement, restore, delete, media change, owner
change, token issue and role change records who did what, when, to what; admins read it
through GET /api/v1/audit/ (filtered, a page at a time) and on the Django admin, read-only."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from accounts.services import audit_record
from indexer.media import media_dir
from indexer.models import IngestJob, Video
from tests.indexer.media_samples import write_video
from tests.indexer.writes import SUPERVISION_FIRST_FRAME, ingest, job, street_schema, worker

pytestmark = pytest.mark.django_db


def _group(role: str) -> Group:
    """The role's group. The migrations make the groups, but a transactional test that ran
    before in the same process (pytest-xdist) flushed them, and roles make theirs on demand."""
    return Group.objects.get_or_create(name=role)[0]


def audit(admin_client, **filters) -> list[dict]:
    response = admin_client.get("/api/v1/audit/", filters)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def without_times(events: list[dict]) -> list[dict]:
    return [{key: value for key, value in event.items() if key not in ("id", "at")} for event in events]


@pytest.fixture
def gate(admin_client, worker_client, django_capture_on_commit_callbacks) -> Video:
    """wes's video: ingested once (a first ingest is no replacement)."""
    street_schema(admin_client)
    job(worker_client, ingest(worker_client, django_capture_on_commit_callbacks, "gate"))
    return Video.objects.get(name="gate")


def test_a_schema_upload_is_recorded(gate, admin_client):
    schema = admin_client.get("/api/v1/schemas/").json()[0]

    assert without_times(audit(admin_client, action="schema.upload")) == [{
        "actor": "ada", "action": "schema.upload", "target": f"labelschema:{schema['id']}",
        "target_name": "street v1", "details": {"name": "street", "version": 1, "source_format": "scoop"}}]


def test_a_replacement_and_a_restore_are_recorded(gate, admin_client, worker_client,
                                                  django_capture_on_commit_callbacks):
    replacing = job(worker_client, ingest(worker_client, django_capture_on_commit_callbacks, "gate",
                                          SUPERVISION_FIRST_FRAME))
    with django_capture_on_commit_callbacks(execute=True):
        restoring = admin_client.post(f"/api/v1/videos/{gate.pk}/versions/1/restore/").json()

    events = without_times(audit(admin_client, target=f"video:{gate.pk}"))

    assert events == [
        {"actor": "ada", "action": "video.restore", "target": f"video:{gate.pk}", "target_name": "gate",
         "details": {"version": 1, "job": restoring["id"]}},
        {"actor": "wes", "action": "video.replace", "target": f"video:{gate.pk}", "target_name": "gate",
         "details": {"job": replacing["id"], "version": 2, "replaced_version": 1, "format": "supervision",
                     "counts": {"frames": 1, "objects": 2, "tracks": 1, "events": 0},
                     "replaced_counts": {"frames": 3, "objects": 4, "tracks": 1, "events": 0}}},
    ]


def test_media_and_owner_changes_and_a_delete_are_recorded(gate, admin_client, worker_client,
                                                           django_capture_on_commit_callbacks):
    worker("otto")
    upload = SimpleUploadedFile("gate.webm", write_video(media_dir() / "source.webm").read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        worker_client.post(f"/api/v1/videos/{gate.pk}/media/", {"file": upload}, format="multipart")
    uploaded = Video.objects.get(pk=gate.pk).media_path
    admin_client.patch(f"/api/v1/videos/{gate.pk}/", {"owner": "otto"}, format="json")
    with django_capture_on_commit_callbacks(execute=False):
        queued = ingest(admin_client, django_capture_on_commit_callbacks, "gate", run=False).json()
    admin_client.delete(f"/api/v1/videos/{gate.pk}/")

    events = without_times(audit(admin_client, target=f"video:{gate.pk}"))

    target = {"target": f"video:{gate.pk}", "target_name": "gate"}
    assert events == [
        {"actor": "ada", "action": "video.delete", **target, "details": {
            "name": "gate", "counts": {"frames": 3, "objects": 4, "tracks": 1, "events": 0}, "versions": 2,
            "cancelled_jobs": [queued["id"]]}},
        {"actor": "ada", "action": "video.owner", **target, "details": {"from": "wes", "to": "otto"}},
        {"actor": "wes", "action": "video.media", **target, "details": {
            "how": "upload", "media": uploaded, "replaced": None, "version": 2}},
    ]
    assert IngestJob.objects.get(pk=queued["id"]).status == "cancelled"


def test_token_issues_and_role_changes_are_recorded(admin_client):
    for role in ("worker", "worker", "analyst"):
        call_command("issue_token", "kim", "--role", role, stdout=StringIO(), stderr=StringIO())
    kim = get_user_model().objects.get(username="kim")

    events = without_times(audit(admin_client, target=f"user:{kim.pk}"))

    target = {"actor": None, "target": f"user:{kim.pk}", "target_name": "kim"}
    assert events == [
        {**target, "action": "token.issue", "details": {"role": "analyst", "new_user": False, "new_token": False,
                                                         "rotated": False}},
        {**target, "action": "role.change", "details": {"from": ["worker"], "to": ["analyst"], "via": "issue_token"}},
        {**target, "action": "token.issue", "details": {"role": "worker", "new_user": False, "new_token": False,
                                                         "rotated": False}},
        {**target, "action": "token.issue", "details": {"role": "worker", "new_user": True, "new_token": True,
                                                         "rotated": False}},
        {**target, "action": "role.change", "details": {"from": [], "to": ["worker"], "via": "issue_token"}},
    ]


def test_a_role_change_in_the_django_admin_is_recorded_with_the_admin_who_made_it(admin_client):
    kim = get_user_model().objects.create_user("kim")
    kim.groups.add(_group("analyst"))
    browser = Client()
    browser.force_login(admin_client.user)

    changed = browser.post(f"/admin/auth/user/{kim.pk}/change/", {
        "username": "kim", "is_active": "on", "groups": [_group("worker").pk],
        "date_joined_0": "2025-01-01", "date_joined_1": "00:00:00"})

    assert changed.status_code == 302, changed.content[:2000]
    assert without_times(audit(admin_client, action="role.change", target=f"user:{kim.pk}")) == [
        {"actor": "ada", "action": "role.change", "target": f"user:{kim.pk}", "target_name": "kim",
         "details": {"from": ["analyst"], "to": ["worker"], "via": "admin"}}]


def test_the_log_is_filtered_by_actor_and_paged(gate, admin_client):
    for _ in range(50):
        audit_record(actor=None, action="role.change", target=_group("admin"))

    by_server = admin_client.get("/api/v1/audit/", {"actor": "", "action": "token.issue"}).json()
    by_ada = audit(admin_client, actor="ada")
    second_page = admin_client.get("/api/v1/audit/?page=2").json()
    bad_target = admin_client.get("/api/v1/audit/", {"target": "gate"})

    # ada and wes got their tokens from the server (manage.py issue_token: no actor).
    assert [event["target_name"] for event in by_server["results"]] == ["wes", "ada"]
    assert [event["action"] for event in by_ada] == ["schema.upload"]
    # 50 a page: the 50 above, then ada's and wes's role changes and tokens, and the schema upload.
    assert (second_page["count"], len(second_page["results"])) == (55, 5)
    assert second_page["results"][-1]["action"] == "role.change"
    assert (bad_target.status_code, bad_target.json()["problems"]) == (
        400, [{"path": "target", "message": "name the record as kind:id, e.g. video:12"}])


def test_the_admin_page_shows_the_log_read_only(gate, admin_client):
    browser = Client()
    browser.force_login(admin_client.user)

    listed = browser.get("/admin/accounts/auditevent/")
    event = audit(admin_client, action="schema.upload")[0]

    assert listed.status_code == 200
    assert b"schema.upload" in listed.content and b"street v1" in listed.content
    assert browser.get("/admin/accounts/auditevent/add/").status_code == 403
    assert browser.post(f"/admin/accounts/auditevent/{event['id']}/delete/").status_code == 403
    assert browser.get(f"/admin/accounts/auditevent/{event['id']}/change/").status_code == 200


def test_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match="unknown audit action 'video.rename'"):
        audit_record(actor=None, action="video.rename", target=_group("admin"))
