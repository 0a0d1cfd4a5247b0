"""Who may use the statistics, region and export endpoints (docs/operations/security.md): analysts and
admins read, admins upload and delete region layers, anonymous users and
workers get nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.analytics.corpus import create_schema, index_video, street
from tests.conftest import _client_for

ROLES = ("anonymous", "worker", "analyst", "admin")
SQUARE = (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "a"}, '
          b'"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}}]}')

# method, path, body -> expected status for anonymous, worker, analyst, admin
MATRIX = [
    ("POST", "/api/v1/stats/occurrence/", {"facets": ["label"]}, (401, 403, 200, 200)),
    ("POST", "/api/v1/stats/cooccurrence/", {"a": "label", "b": "frame:scene"}, (401, 403, 200, 200)),
    ("POST", "/api/v1/stats/cooccurrence/", {"top": 5}, (401, 403, 200, 200)),
    ("POST", "/api/v1/stats/geo/", {"bbox": [-180, -90, 180, 90], "zoom": 2}, (401, 403, 200, 200)),
    ("POST", "/api/v1/stats/regions/", {"layer": "{layer}"}, (401, 403, 200, 200)),
    ("POST", "/api/v1/stats/timeline/", {}, (401, 403, 200, 200)),
    ("GET", "/api/v1/regions/", None, (401, 403, 200, 200)),
    ("GET", "/api/v1/regions/{layer}/", None, (401, 403, 200, 200)),
    ("POST", "/api/v1/regions/", "upload", (401, 403, 403, 201)),
    ("DELETE", "/api/v1/regions/{layer}/", None, (401, 403, 403, 204)),
    ("GET", "/api/v1/export/detections.geojson?q=vehicle", None, (401, 403, 200, 200)),
    ("GET", "/api/v1/export/detections.csv?q=vehicle", None, (401, 403, 200, 200)),
    ("GET", "/api/v1/videos/{video}/labels/?q=vehicle", None, (401, 403, 200, 200)),
]


@pytest.fixture
def world(db):
    from analytics.regions import region_layer_create
    from indexer import services

    create_schema()
    video, _ = services.video_get_or_create(user=None, name="street")
    index_video(video.pk, "street", street())
    layer = region_layer_create(name="squares", upload=SimpleUploadedFile("a.geojson", SQUARE), author=None)
    return {"layer": layer.pk, "video": video.pk}


@pytest.mark.parametrize(("method", "template", "body", "expected"), MATRIX,
                         ids=[f"{m} {p} {b}" for m, p, b, _ in MATRIX])
@pytest.mark.parametrize("role", ROLES)
def test_roles(world, method, template, body, expected, role):
    client = _client_for(None, f"user-{role}", None if role == "anonymous" else role)
    path = template.format(**world)
    if body == "upload":
        response = client.post(path, {"name": "more", "file": SimpleUploadedFile("b.geojson", SQUARE)},
                               format="multipart")
    elif method == "POST":
        data = {key: world["layer"] if value == "{layer}" else value for key, value in body.items()}
        response = client.post(path, data, format="json")
    else:
        response = getattr(client, method.lower())(path)

    assert response.status_code == expected[ROLES.index(role)], response.content
