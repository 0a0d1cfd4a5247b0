"""Every route of the URL conf x every role, with the status each must get (docs/operations/security.md).

``ACCESS`` is the reviewed table. ``test_every_route_is_in_the_table`` walks the URL
conf and fails for a route (or a method of it) that the table does not list, so a new
endpoint cannot ship without someone deciding who may call it. To add an endpoint,
add a row: the method, the route exactly as Django writes it (``str(pattern)``,
e.g. ``api/v1/videos/<int:video_id>/``), how the client authenticates (``token``
for the API, ``session`` for browser pages), the statuses for anonymous, reviewer,
worker, analyst and admin, and, for a POST, a body in ``BODIES``.

The Django admin site (``admin/``) is Django's own URL set: its login page and
every registered model's pages are checked by ``test_django_admin_is_for_admins_only``.
Static files are public (they hold no data): ``test_static_files_are_public``.
"""

from __future__ import annotations

import io
import json
import re
import urllib.request
import zipfile
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.analytics.corpus import create_schema, index_video, street
from tests.conftest import _client_for
from tests.samples import sample

ROLES = ("anonymous", "reviewer", "worker", "analyst", "admin")


@dataclass(frozen=True)
class Access:
    method: str
    route: str
    auth: str  # "token" (API clients) or "session" (browser pages)
    expected: tuple[int, int, int, int, int]  # anonymous, reviewer, worker, analyst, admin
    query: str = ""


ACCESS = [
    # Browser pages (session). Anonymous users are sent to the login page.
    # A reviewer, who may not search, is sent from the dashboard to the review pages.
    Access("GET", "", "session", (302, 302, 403, 200, 200)),
    Access("GET", "alerts/", "session", (302, 403, 403, 200, 200)),
    Access("GET", "upload/", "session", (302, 403, 403, 200, 200)),
    Access("GET", "review/", "session", (302, 200, 403, 200, 200)),
    Access("GET", "review/<int:campaign_id>/", "session", (302, 200, 403, 200, 200)),
    Access("GET", "review/<int:campaign_id>/campaign/", "session", (302, 403, 403, 403, 200)),
    Access("GET", "manage/schemas/", "session", (302, 403, 403, 403, 200)),
    Access("GET", "manage/ingest/", "session", (302, 403, 403, 200, 200)),
    Access("GET", "zones/", "session", (302, 403, 403, 403, 200)),
    # The favicon browsers ask for by default: a redirect to the static icon, for everyone.
    Access("GET", "favicon.ico", "session", (301, 301, 301, 301, 301)),
    Access("GET", "login/", "session", (200, 200, 200, 200, 200)),
    Access("POST", "login/", "session", (200, 200, 200, 200, 200)),  # a wrong password: the form again
    Access("PUT", "login/", "session", (200, 200, 200, 200, 200)),  # Django's FormView treats PUT as POST
    Access("POST", "logout/", "session", (302, 302, 302, 302, 302)),
    Access("GET", "api/docs/", "session", (302, 200, 200, 200, 200)),
    # The API (token).
    Access("GET", "api/schema/", "token", (401, 200, 200, 200, 200)),
    Access("GET", "api/v1/schemas/", "token", (401, 403, 200, 200, 200)),
    Access("POST", "api/v1/schemas/", "token", (401, 403, 403, 403, 201)),
    Access("GET", "api/v1/schemas/default/", "token", (401, 403, 200, 200, 200)),
    Access("PUT", "api/v1/schemas/default/", "token", (401, 403, 403, 403, 200)),
    Access("GET", "api/v1/schemas/<int:schema_id>/", "token", (401, 403, 200, 200, 200)),
    Access("GET", "api/v1/ingest/", "token", (401, 403, 200, 403, 200)),
    Access("POST", "api/v1/ingest/", "token", (401, 403, 202, 403, 202)),
    Access("GET", "api/v1/ingest/<uuid:job_id>/", "token", (401, 403, 200, 403, 200)),
    # Analyses: analysts and admins start them on any video with media; the world's one is queued.
    Access("GET", "api/v1/analyses/", "token", (401, 403, 403, 200, 200)),
    Access("POST", "api/v1/analyses/", "token", (401, 403, 403, 202, 202)),
    Access("GET", "api/v1/analyses/<uuid:analysis_id>/", "token", (401, 403, 403, 202, 202)),
    Access("GET", "api/v1/analyses/<uuid:analysis_id>/payload.json", "token", (401, 403, 403, 404, 404)),
    Access("GET", "api/v1/analyses/<uuid:analysis_id>/log.txt", "token", (401, 403, 403, 200, 200)),
    # Resumable uploads: every role but reviewers; an upload is its maker's (the analyst's here)
    # and the admins'. Without Upload-Length a creation is refused (400) once the role is allowed.
    Access("POST", "api/v1/uploads/", "token", (401, 403, 400, 400, 400)),
    Access("GET", "api/v1/uploads/", "token", (401, 403, 200, 200, 200)),
    Access("GET", "api/v1/uploads/<uuid:upload_id>/", "token", (401, 403, 403, 200, 200)),
    Access("PATCH", "api/v1/uploads/<uuid:upload_id>/", "token", (401, 403, 403, 415, 415)),
    Access("DELETE", "api/v1/uploads/<uuid:upload_id>/", "token", (401, 403, 403, 204, 404)),
    # Imports: a zip by analysts and admins (the admin's skips the video the analyst's made);
    # a folder of the server by admins only (test_imports.py). The import here is the admin's.
    Access("POST", "api/v1/imports/", "token", (401, 403, 403, 201, 201)),
    Access("GET", "api/v1/imports/", "token", (401, 403, 403, 200, 200)),
    Access("GET", "api/v1/imports/<uuid:import_id>/", "token", (401, 403, 403, 404, 200)),
    # Pipelines (docs/api/pipelines.md): admins register and delete them, analysts list them (none is registered
    # here: the admin's POST without a model is a 400, and the detail of a name is a 404).
    Access("GET", "api/v1/pipelines/", "token", (401, 403, 403, 200, 200)),
    Access("POST", "api/v1/pipelines/", "token", (401, 403, 403, 403, 400)),
    Access("GET", "api/v1/pipelines/<str:name>/", "token", (401, 403, 403, 404, 404)),
    Access("DELETE", "api/v1/pipelines/<str:name>/", "token", (401, 403, 403, 403, 404)),
    # The jobs board (docs/api/jobs.md): workers and analysts see their own jobs, admins every job and act on
    # them. The job here is the worker's queued ingest job: only a cancel applies to it.
    Access("GET", "api/v1/jobs/", "token", (401, 403, 200, 200, 200)),
    Access("GET", "api/v1/jobs/<str:kind>/<uuid:job_id>/", "token", (401, 403, 200, 404, 200)),
    Access("DELETE", "api/v1/jobs/<str:kind>/<uuid:job_id>/", "token", (401, 403, 403, 403, 409)),
    Access("POST", "api/v1/jobs/<str:kind>/<uuid:job_id>/retry/", "token", (401, 403, 403, 403, 409)),
    Access("POST", "api/v1/jobs/<str:kind>/<uuid:job_id>/cancel/", "token", (401, 403, 403, 403, 200)),
    Access("POST", "api/v1/jobs/<str:kind>/<uuid:job_id>/archive/", "token", (401, 403, 403, 403, 409)),
    Access("DELETE", "api/v1/jobs/<str:kind>/<uuid:job_id>/archive/", "token", (401, 403, 403, 403, 409)),
    Access("PUT", "api/v1/jobs/<str:kind>/<uuid:job_id>/expiry/", "token", (401, 403, 403, 403, 409)),
    Access("GET", "api/v1/videos/", "token", (401, 403, 403, 200, 200)),
    Access("POST", "api/v1/videos/", "token", (401, 403, 201, 403, 201)),
    Access("GET", "api/v1/videos/<int:video_id>/", "token", (401, 403, 403, 200, 200)),
    # The world's video has no owner: workers may not write to it, admins may (docs/operations/security.md;
    # tests/indexer/test_ownership.py has a worker's own video and another's).
    Access("PATCH", "api/v1/videos/<int:video_id>/", "token", (401, 403, 403, 403, 200)),
    Access("DELETE", "api/v1/videos/<int:video_id>/", "token", (401, 403, 403, 403, 200)),
    # The world's video is not live: 409 once past the role and owner checks (test_live_stream.py appends for real).
    Access("POST", "api/v1/videos/<int:video_id>/stream/", "token", (401, 403, 403, 403, 409)),
    Access("GET", "api/v1/videos/<int:video_id>/media/", "token", (401, 403, 200, 200, 200)),
    Access("POST", "api/v1/videos/<int:video_id>/media/", "token", (401, 403, 403, 403, 202)),
    Access("GET", "api/v1/videos/<int:video_id>/versions/", "token", (401, 403, 403, 403, 200)),
    Access("POST", "api/v1/videos/<int:video_id>/versions/<int:number>/restore/", "token", (401, 403, 403, 403, 202)),
    Access("GET", "api/v1/videos/<int:video_id>/labels/", "token", (401, 403, 403, 200, 200), "?q=vehicle"),
    Access("GET", "api/v1/videos/<int:video_id>/clip.mp4", "token", (401, 403, 403, 200, 200), "?start_s=0&end_s=1"),
    Access("GET", "api/v1/search/", "token", (401, 403, 403, 200, 200), "?q=vehicle"),
    Access("POST", "api/v1/search/", "token", (401, 403, 403, 200, 200)),
    Access("POST", "api/v1/similar/", "token", (401, 403, 403, 200, 200)),
    Access("POST", "api/v1/stats/occurrence/", "token", (401, 403, 403, 200, 200)),
    Access("POST", "api/v1/stats/cooccurrence/", "token", (401, 403, 403, 200, 200)),
    Access("POST", "api/v1/stats/geo/", "token", (401, 403, 403, 200, 200)),
    Access("POST", "api/v1/stats/regions/", "token", (401, 403, 403, 200, 200)),
    Access("POST", "api/v1/stats/timeline/", "token", (401, 403, 403, 200, 200)),
    Access("GET", "api/v1/searches/", "token", (401, 403, 403, 200, 200)),
    Access("POST", "api/v1/searches/", "token", (401, 403, 403, 201, 201)),
    # The world's saved search is the admin's, shared: analysts read it, only its owner changes it.
    Access("GET", "api/v1/searches/<int:saved_id>/", "token", (401, 403, 403, 200, 200)),
    Access("PUT", "api/v1/searches/<int:saved_id>/", "token", (401, 403, 403, 403, 200)),
    Access("DELETE", "api/v1/searches/<int:saved_id>/", "token", (401, 403, 403, 403, 204)),
    # It is watched, and its watch has an alert: only the owner changes the watch and sees the alert.
    Access("POST", "api/v1/searches/<int:saved_id>/watch/", "token", (401, 403, 403, 403, 200)),
    Access("DELETE", "api/v1/searches/<int:saved_id>/watch/", "token", (401, 403, 403, 403, 204)),
    Access("GET", "api/v1/alerts/", "token", (401, 403, 403, 200, 200)),
    Access("POST", "api/v1/alerts/<int:alert_id>/ack/", "token", (401, 403, 403, 404, 200)),
    # Label exports (docs/api/exports.md): analysts and admins. The job id of the table's world is the
    # worker's ingest job, no export job: the permission passes and the job is not found.
    Access("GET", "api/v1/export/labels", "token", (401, 403, 403, 200, 200), query="?format=csv"),
    Access("POST", "api/v1/exports/", "token", (401, 403, 403, 202, 202)),
    Access("GET", "api/v1/exports/<uuid:job_id>/", "token", (401, 403, 403, 404, 404)),
    Access("GET", "api/v1/exports/<uuid:job_id>/file", "token", (401, 403, 403, 404, 404)),
    # Image zones (docs/api/zones.md): analysts read them, admins draw and delete them.
    Access("GET", "api/v1/zones/", "token", (401, 403, 403, 200, 200)),
    Access("POST", "api/v1/zones/", "token", (401, 403, 403, 403, 201)),
    Access("GET", "api/v1/zones/<int:zone_id>/", "token", (401, 403, 403, 200, 200)),
    Access("PATCH", "api/v1/zones/<int:zone_id>/", "token", (401, 403, 403, 403, 200)),
    Access("DELETE", "api/v1/zones/<int:zone_id>/", "token", (401, 403, 403, 403, 204)),
    Access("GET", "api/v1/regions/", "token", (401, 403, 403, 200, 200)),
    Access("POST", "api/v1/regions/", "token", (401, 403, 403, 403, 201)),
    Access("GET", "api/v1/regions/<int:layer_id>/", "token", (401, 403, 403, 200, 200)),
    Access("DELETE", "api/v1/regions/<int:layer_id>/", "token", (401, 403, 403, 403, 204)),
    Access("GET", "api/v1/export/detections.geojson", "token", (401, 403, 403, 200, 200), "?q=vehicle"),
    Access("GET", "api/v1/export/detections.csv", "token", (401, 403, 403, 200, 200), "?q=vehicle"),
    Access("GET", "api/v1/audit/", "token", (401, 403, 403, 403, 200), "?action=schema.upload"),
    # Human review (docs/api/review.md): reviewers, analysts and admins review; admins run campaigns.
    Access("POST", "api/v1/review/campaigns/", "token", (401, 403, 403, 403, 201)),
    Access("GET", "api/v1/review/campaigns/<int:campaign_id>/", "token", (401, 403, 403, 403, 200)),
    Access("GET", "api/v1/review/campaigns/<int:campaign_id>/batch/", "token", (401, 200, 403, 200, 200), "?size=1"),
    Access("POST", "api/v1/review/campaigns/<int:campaign_id>/votes/", "token", (401, 201, 403, 201, 201)),
    Access("GET", "api/v1/review/campaigns/<int:campaign_id>/stats/", "token", (401, 403, 403, 403, 200)),
    Access("GET", "api/v1/review/campaigns/<int:campaign_id>/export/", "token", (401, 403, 403, 403, 200),
           "?format=csv"),
    # An item's own boxes: a reviewer only for the items of their batches (none here, so 403;
    # tests/analytics/review/test_review_pages.py leases one first).
    Access("GET", "api/v1/review/items/<int:item_id>/boxes/", "token", (401, 403, 403, 200, 200)),
    Access("PUT", "api/v1/review/items/<int:item_id>/gold/", "token", (401, 403, 403, 403, 200)),
    Access("PUT", "api/v1/review/items/<int:item_id>/decision/", "token", (401, 403, 403, 403, 200)),
    # Media (token here; the player uses the session, see test_media_access.py). Reviewers play
    # the videos they review.
    Access("GET", "media/videos/<int:video_id>/stream", "token", (401, 200, 403, 200, 200)),
    Access("GET", "media/videos/<int:video_id>/thumbnail.jpg", "token", (401, 403, 403, 200, 200), "?t=1"),
    Access("GET", "media/videos/<int:video_id>/sprite.jpg", "token", (401, 403, 403, 200, 200)),
]

SQUARE = (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "a"}, '
          b'"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}}]}')

# (method, route) -> the request body, from the world and the role making the call.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "login/"): lambda world, role: {"username": "nobody", "password": "wrong"},
    ("POST", "api/v1/schemas/"): lambda world, role: {"name": "road", "schema": world["ontology"]},
    ("PUT", "api/v1/schemas/default/"): lambda world, role: {"name": "road"},
    ("POST", "api/v1/ingest/"): lambda world, role: {"video": f"by-{role}", "analytics": world["analytics"]},
    ("POST", "api/v1/videos/"): lambda world, role: {"name": f"new-by-{role}"},
    ("POST", "api/v1/analyses/"): lambda world, role: {"video": world["video_id"]},
    ("POST", "api/v1/imports/"): lambda world, role: {"file": SimpleUploadedFile("v.zip", world["zip"]),
                                                      "pattern": r"(?P<camera>[a-z]+-\d)\.webm"},
    ("POST", "api/v1/pipelines/"): lambda world, role: {"name": "none", "config": "{}"},
    ("PUT", "api/v1/jobs/<str:kind>/<uuid:job_id>/expiry/"): lambda world, role: {"ttl_days": 1},
    ("POST", "api/v1/videos/<int:video_id>/media/"): lambda world, role: {"path": world["spare_media"]},
    ("PATCH", "api/v1/videos/<int:video_id>/"): lambda world, role: {"live": False},
    ("POST", "api/v1/exports/"): lambda world, role: {"format": "csv"},
    ("POST", "api/v1/zones/"): lambda world, role: {"camera": "gate", "name": f"by-{role}",
                                                    "polygon": [[0, 0], [1, 0], [1, 1]]},
    ("PATCH", "api/v1/zones/<int:zone_id>/"): lambda world, role: {"anchor": "center"},
    ("POST", "api/v1/videos/<int:video_id>/stream/"): lambda world, role: {"frame_number": 1},
    ("POST", "api/v1/search/"): lambda world, role: {"q": "vehicle"},
    ("POST", "api/v1/similar/"): lambda world, role: {"video": world["similar_video_id"], "track": "1"},
    ("POST", "api/v1/stats/occurrence/"): lambda world, role: {"facets": ["label"]},
    ("POST", "api/v1/stats/cooccurrence/"): lambda world, role: {"top": 5},
    ("POST", "api/v1/stats/geo/"): lambda world, role: {"bbox": [-180, -90, 180, 90], "zoom": 2},
    ("POST", "api/v1/stats/regions/"): lambda world, role: {"layer": world["layer_id"]},
    ("POST", "api/v1/stats/timeline/"): lambda world, role: {},
    ("POST", "api/v1/searches/"): lambda world, role: {"name": f"by-{role}", "q": "vehicle"},
    ("PUT", "api/v1/searches/<int:saved_id>/"): lambda world, role: {"name": f"renamed by {role}"},
    ("POST", "api/v1/regions/"): lambda world, role: {"name": f"by-{role}",
                                                      "file": SimpleUploadedFile("b.geojson", SQUARE)},
    ("POST", "api/v1/review/campaigns/"): lambda world, role: {"name": f"by-{role}", "schema": "road", "q": "vehicle",
                                                               "unit": "tracks", "question": "A vehicle?"},
    ("POST", "api/v1/review/campaigns/<int:campaign_id>/votes/"): lambda world, role: _votes(world, role),
    ("PUT", "api/v1/review/items/<int:item_id>/gold/"): lambda world, role: {"answer": "yes"},
    ("PUT", "api/v1/review/items/<int:item_id>/decision/"): lambda world, role: {"state": "confirmed"},
}
MULTIPART = {("POST", "api/v1/regions/"), ("POST", "api/v1/imports/"), ("POST", "api/v1/pipelines/")}


def _votes(world: dict, role: str) -> dict[str, Any]:
    """A vote on the one item of a batch leased to the role's user (roles that may not vote
    lease nothing, so that the roles after them still find an item)."""
    from analytics.review.models import Campaign
    from analytics.review.services import batch_lease

    if role not in ("reviewer", "analyst", "admin"):
        return {"batch": 1, "votes": [{"item": world["item_id"], "answer": "yes"}]}
    user = get_user_model().objects.get(username=f"user-{role}")
    batch = batch_lease(campaign=Campaign.objects.get(pk=world["campaign_id"]), reviewer=user, size=1)
    return {"batch": batch.pk, "votes": [{"item": entry.item_id, "answer": "yes"} for entry in batch.entries.all()]}


def _routes(resolvers=None, prefix: str = "") -> list[tuple[str, Any]]:
    """Every (route, view) of the URL conf but the Django admin site's."""
    found = []
    for entry in get_resolver().url_patterns if resolvers is None else resolvers:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            found.extend(_routes(entry.url_patterns, prefix + str(entry.pattern)))
        elif isinstance(entry, URLPattern):
            found.append((prefix + str(entry.pattern), entry.callback))
    return found


def _methods(view) -> set[str]:
    """The HTTP methods a view answers (besides OPTIONS and HEAD); function views: GET."""
    view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if view_class is None:
        return {"GET"}
    return {name.upper() for name in view_class.http_method_names
            if name not in ("options", "head") and hasattr(view_class, name)}


def test_every_route_is_in_the_table():
    served = {(method, route) for route, view in _routes() for method in _methods(view)}
    listed = {(row.method, row.route) for row in ACCESS}

    assert served - listed == set(), "routes that nobody decided who may call: add them to ACCESS"
    assert listed - served == set(), "ACCESS lists routes that the URL conf does not have"
    assert len(listed) == len(ACCESS), "a route is listed twice"


def test_anonymous_users_get_nothing_but_the_login_page():
    public = [row for row in ACCESS if 200 <= row.expected[0] < 300]

    assert {row.route for row in public} == {"login/"}


@pytest.fixture
def world(db):
    """A schema, an indexed video with media and a version, a spare media file, a region
    layer, an ingest job of the worker ``wes`` (queued: it never runs here), a review
    campaign over the four vehicle tracks, and a shared saved search of the admin's, watched,
    with an alert."""
    from analytics.models import Alert
    from analytics.regions import region_layer_create
    from analytics.review.services import campaign_create
    from indexer.media import media_dir
    from indexer.models import Analysis, Zone
    from tests.analytics.corpus import ONTOLOGY
    from tests.indexer.media_samples import media_video, write_video

    schema = create_schema()
    video = media_video("street")
    index_video(video.pk, "street", street())
    _version(video, schema)
    similar_video_id = _video_with_embeddings(schema)
    write_video(media_dir() / "spare.webm")
    layer = region_layer_create(name="squares", upload=SimpleUploadedFile("a.geojson", SQUARE), author=None)
    analytics = json.loads(sample("eta_VideoLabels_framewise.json").read_text())
    worker = _client_for(None, "wes", "worker")
    job = worker.post("/api/v1/ingest/", {"video": "queued", "analytics": analytics}, format="json")
    assert job.status_code == 202, job.content
    campaign = campaign_create(name="vehicles", schema=schema, unit="tracks", question="A vehicle?", q="vehicle",
                               author=None)
    admin = _client_for(None, "user-admin", "admin")
    saved = admin.post("/api/v1/searches/", {"name": "the team's", "q": "vehicle", "shared": True}, format="json")
    watch = admin.post(f"/api/v1/searches/{saved.json()['id']}/watch/", {}, format="json")
    alert = Alert.objects.create(watch_id=watch.json()["id"], video=video, start_s=0, end_s=1, first_frame=0)
    return {
        "campaign_id": campaign.pk, "item_id": campaign.items.first().pk,
        "schema_id": schema.pk, "video_id": video.pk, "number": 1, "layer_id": layer.pk, "job_id": job.json()["id"],
        "spare_media": "spare.webm", "ontology": ONTOLOGY.to_document(), "analytics": analytics,
        "similar_video_id": similar_video_id, "saved_id": saved.json()["id"],
        "alert_id": alert.pk,
        "analysis_id": Analysis.objects.create(video=video, pipeline="reference").pk,
        **_uploads_and_imports(),
        "kind": "ingest", "name": "one-person",
        "zone_id": Zone.objects.create(camera="gate", name="crosswalk", polygon=[[0, 0], [1, 0], [0, 1]]).pk,
    }


def _uploads_and_imports() -> dict[str, Any]:
    """An upload of the analyst's, a zip of one video (cam-9.webm) and an import of the admin's
    (of another zip, cam-7.webm)."""
    from indexer.imports import import_zip
    from indexer.media import media_dir
    from indexer.uploads import upload_create

    def zipped(name: str) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(name, (media_dir() / "spare.webm").read_bytes())
        return buffer.getvalue()

    analyst = _client_for(None, "user-analyst", "analyst").user
    admin = _client_for(None, "user-admin", "admin").user
    imported = import_zip(archive=io.BytesIO(zipped("cam-7.webm")), name="v.zip", pattern=r"(?P<camera>cam-\d)\.webm",
                          defaults={}, pipeline=None, user=admin)
    return {"upload_id": upload_create(filename="a.webm", length=10, user=analyst).pk, "zip": zipped("cam-9.webm"),
            "import_id": imported.pk}


def _version(video, schema) -> None:
    """Version 1 of ``video``, with a payload on disk (a restore of it is queued, never run, here)."""
    from indexer.models import VideoVersion
    from indexer.payloads import payload_dir

    payload = payload_dir() / "street.json"
    payload.write_text(sample("eta_VideoLabels_framewise.json").read_text())
    VideoVersion.objects.create(video=video, number=1, change="ingest", schema=schema, format="eta", mode="strict",
                                payload_path=str(payload))


def _video_with_embeddings(schema) -> int:
    """A video whose two tracks have embeddings, for "find similar"."""
    from indexer.models import Video
    from tests.analytics.corpus import analytics, vehicle

    video = Video.objects.create(name="embedded", schema=schema)
    first, second = vehicle(0, "sedan", "black", track="1"), vehicle(1, "suv", "white", track="2")
    first.embedding, second.embedding = (1.0, 0.0), (0.6, 0.8)
    index_video(video.pk, "embedded", analytics(first, second))
    return video.pk


def _path(row: Access, world: dict) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda match: str(world[match.group(1)]), row.route) + row.query


def _client(row: Access, role: str):
    """A token client for the API, a logged-in browser session for pages."""
    username = "wes" if role == "worker" else f"user-{role}"
    if row.auth == "token":
        return _client_for(None, username, None if role == "anonymous" else role)
    client = Client()
    if role != "anonymous":
        client.force_login(_client_for(None, username, role).user)
    return client


def _call(row: Access, world: dict, role: str):
    call = getattr(_client(row, role), row.method.lower())
    body = BODIES.get((row.method, row.route), lambda world, role: None)(world, role)
    if body is None:
        return call(_path(row, world))
    if row.auth == "session" or (row.method, row.route) in MULTIPART:
        return call(_path(row, world), body)
    return call(_path(row, world), body, format="json")


@pytest.mark.parametrize("row", ACCESS, ids=[f"{row.method} /{row.route}" for row in ACCESS])
def test_access_matrix(world, row):
    # Roles in this order, so that the admin's delete comes last. Queued tasks never
    # run here (their on-commit callbacks are not executed).
    statuses = tuple(_call(row, world, role).status_code for role in ROLES)

    assert statuses == row.expected


def test_refusals_say_why(world):
    anonymous = _client_for(None, "", None).get(f"/media/videos/{world['video_id']}/stream")
    worker = _client_for(None, "wes", "worker").get(f"/media/videos/{world['video_id']}/stream")
    page = Client()
    page.force_login(_client_for(None, "wes", "worker").user)
    dashboard = page.get("/")

    assert anonymous.json() == {"detail": "Authentication credentials were not provided."}
    assert worker.json() == {"detail": "This needs the role reviewer or analyst or admin."}
    assert dashboard.status_code == 403
    assert Client().get("/").url == "/login/?next=/"


def _admin_urls() -> list[str]:
    """The admin's index, and each registered model's list and add pages (the add page of
    models nobody may add, such as the audit log, is refused to admins too)."""
    superuser = type("Request", (), {"user": get_user_model()(is_superuser=True, is_active=True)})()
    urls = ["/admin/"]
    for model, model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls += [base, base + "add/"] if model_admin.has_add_permission(superuser) else [base]
    return urls


@pytest.mark.parametrize("url", _admin_urls())
def test_django_admin_is_for_admins_only(db, url):
    statuses = []
    for role in ROLES:
        client = Client()
        if role != "anonymous":
            client.force_login(_client_for(None, f"user-{role}", role).user)
        response = client.get(url)
        statuses.append(response.status_code)
        if response.status_code == 302:
            assert response.url.startswith("/admin/login/"), response.url

    assert statuses == [302, 302, 302, 302, 200]


@pytest.mark.django_db
def test_the_admin_login_page_is_a_login_page(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_static_files_are_public(live_server):
    """The dashboard's code and styles hold no data: served to anyone, as nginx would."""
    statuses = {}
    for path in ("/static/scoop.css", "/static/dashboard/main.js", "/static/vendor/leaflet/leaflet.js"):
        with urllib.request.urlopen(live_server.url + path) as response:
            statuses[path] = response.status

    assert statuses == dict.fromkeys(statuses, 200)


@pytest.mark.django_db
def test_browser_login_with_a_session(client, django_user_model):
    django_user_model.objects.create_user("ann", password="correct horse battery staple")
    call_command("issue_token", "ann", "--role", "analyst")

    failed = client.post("/login/", {"username": "ann", "password": "wrong"})
    ok = client.post("/login/", {"username": "ann", "password": "correct horse battery staple"})
    home = client.get("/")

    assert b"didn't match" in failed.content
    assert ok.status_code == 302
    assert home.status_code == 200
    assert b"Signed in as <strong>ann</strong> (analyst)" in home.content
    assert client.get("/api/v1/videos/").status_code == 200
