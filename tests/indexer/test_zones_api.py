"""Zones through the REST API (docs/api/zones.md): admins create, change and delete them with
clear 400s; analysts read them; a search names them (person IN ZONE crosswalk) and an unknown
name is a 400 with suggestions."""

from __future__ import annotations

import pytest

from indexer.models import Zone
from tests.analytics.corpus import analytics, create_schema, index_video, person

pytestmark = pytest.mark.django_db

CROSSWALK = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]


def create(client, status: int = 201, **body) -> dict:
    response = client.post("/api/v1/zones/", {"camera": "north", "name": "crosswalk", "polygon": CROSSWALK, **body},
                           format="json")
    assert response.status_code == status, response.content
    return response.json()


def test_an_admin_creates_changes_and_deletes_a_zone(admin_client):
    zone = create(admin_client)
    assert (zone["camera"], zone["name"], zone["polygon"], zone["anchor"]) == (
        "north", "crosswalk", CROSSWALK, "bottom_center")

    response = admin_client.patch(f"/api/v1/zones/{zone['id']}/", {"anchor": "center"}, format="json")
    assert response.status_code == 200 and response.json()["anchor"] == "center"
    assert Zone.objects.get().anchor == "center"

    assert admin_client.delete(f"/api/v1/zones/{zone['id']}/").status_code == 204
    assert Zone.objects.count() == 0
    assert admin_client.get(f"/api/v1/zones/{zone['id']}/").status_code == 404


def test_analysts_read_zones_but_do_not_write_them(admin_client, analyst_client):
    create(admin_client)
    create(admin_client, camera="south", name="gate")
    assert [zone["name"] for zone in analyst_client.get("/api/v1/zones/").json()] == ["crosswalk", "gate"]
    assert [zone["camera"] for zone in analyst_client.get("/api/v1/zones/?camera=south").json()] == ["south"]
    response = analyst_client.post("/api/v1/zones/", {"camera": "x", "name": "y", "polygon": CROSSWALK},
                                   format="json")
    assert response.status_code == 403
    zone_id = Zone.objects.first().pk
    assert analyst_client.delete(f"/api/v1/zones/{zone_id}/").status_code == 403


@pytest.mark.parametrize(("body", "path", "words"), [
    ({"polygon": [[0, 0], [1, 1]]}, "polygon", "a list of 3 to 1000 [x, y] vertices, got 2"),
    ({"polygon": [[0, 0], [1, 0], [1.5, 1]]}, "polygon[2][0]", "x is a number in 0..1 (a fraction of the image's "
                                                               "width), got 1.5"),
    ({"polygon": [[0, 0], [1, 0], [0.5, -0.1]]}, "polygon[2][1]", "y is a number in 0..1"),
    ({"polygon": [[0, 0], [1, 0], [0.5]]}, "polygon[2]", "a vertex is [x, y]"),
    ({"name": "cross walk"}, "name", "a zone's name is 1 to 100 letters, digits, '_' or '-'"),
])
def test_a_bad_zone_is_a_400_naming_the_field(admin_client, body, path, words):
    answer = create(admin_client, status=400, **body)
    assert answer["path"] == path
    assert words in answer["detail"]


def test_an_unknown_anchor_is_a_400(admin_client):
    answer = create(admin_client, status=400, anchor="top_left")
    assert answer["problems"] == [{"path": "anchor", "message": '"top_left" is not a valid choice.'}]


def test_a_name_is_unique_per_camera(admin_client):
    create(admin_client)
    answer = create(admin_client, status=409)
    assert answer == {"detail": "camera 'north' already has a zone named 'crosswalk'", "path": "name"}
    create(admin_client, camera="south")  # another camera may use the name


def test_a_search_resolves_the_zone_of_each_videos_camera(admin_client, analyst_client):
    create_schema()
    create(admin_client)
    # Feet at y 0.8 (in the crosswalk) in frame 0, at y 0.45 (above it) in frame 1.
    standing = [person(0), person(1)]
    standing[0].box, standing[1].box = (0.4, 0.3, 0.6, 0.8), (0.4, 0.1, 0.6, 0.45)
    video = analytics(*standing)
    video.meta.camera = "north"
    index_video(1, "north-1", video)

    response = analyst_client.post("/api/v1/search/", {"q": "person IN ZONE crosswalk"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["counts"]["frames"] == 1

    response = analyst_client.post("/api/v1/search/", {"q": "person IN ZONE crosswalc"}, format="json")
    assert response.status_code == 400
    answer = response.json()
    assert answer["detail"].startswith("unknown zone 'crosswalc' (did you mean 'crosswalk'?)")
    assert (answer["column"], answer["suggestions"]) == (16, ["crosswalk"])
