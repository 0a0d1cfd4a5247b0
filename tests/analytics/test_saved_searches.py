"""Saved searches through the API (docs/api/saved-searches.md): saved, listed, opened, renamed,
shared and deleted; checked like searches; private to their owner."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from analytics.models import SavedSearch
from analytics.watches import _request
from tests.analytics.corpus import create_schema, index_video, street
from tests.conftest import _client_for

URL = "/api/v1/searches/"


@pytest.fixture
def road(db):
    from indexer import services

    schema = create_schema()
    video, _ = services.video_get_or_create(user=None, name="street")
    index_video(video.pk, "street", street())
    return schema


@pytest.fixture
def ann(road):
    return _client_for(None, "ann", "analyst")


@pytest.fixture
def bob(road):
    return _client_for(None, "bob", "analyst")


def _save(client, **fields):
    body = {"name": "black vehicles", "q": "vehicle(color=black)", **fields}
    return client.post(URL, {key: value for key, value in body.items() if value is not None}, format="json")


def test_a_saved_search_keeps_the_search_and_opens_the_same_screen(ann, road):
    response = _save(ann, filters={"frame:scene": ["city"]}, gap_s=2.5, view="unit=tracks&tab=timeline")

    assert response.status_code == 201, response.json()
    saved = response.json()
    kept = ("name", "owner", "mine", "shared", "q", "query", "filters", "gap_s", "tz", "view")
    assert {key: saved[key] for key in kept} == {
        "name": "black vehicles", "owner": "ann", "mine": True, "shared": False, "q": "vehicle(color=black)",
        "query": None, "filters": {"frame:scene": ["city"]}, "gap_s": 2.5, "tz": "", "view": "unit=tracks&tab=timeline"}
    assert saved["schema"] == {"id": road.pk, "name": "road", "version": 1}
    address = urlsplit(saved["dashboard_url"])
    assert address.path == "/"
    assert parse_qs(address.query) == {"schema": [str(road.pk)], "q": ["vehicle(color=black)"],
                                       "f": ['{"frame:scene":["city"]}'], "unit": ["tracks"], "tab": ["timeline"]}
    assert ann.get(f"{URL}{saved['id']}/").json() == saved


def test_a_tree_query_opens_in_the_dashboard_as_text(ann):
    response = _save(ann, q=None, query={"object": {"label": "vehicle", "attrs": {"type": "suv"}}})

    assert response.status_code == 201, response.json()
    assert response.json()["query"] == {"object": {"label": "vehicle", "attrs": {"type": "suv"}}}
    assert parse_qs(urlsplit(response.json()["dashboard_url"]).query)["q"] == ["vehicle(type=suv)"]


def test_the_saved_search_runs_as_the_search_it_holds(ann):
    saved = _save(ann, filters={"frame:scene": ["city"]}).json()
    search = ann.post("/api/v1/search/", {"q": saved["q"], "filters": saved["filters"], "gap_s": saved["gap_s"],
                                          "schema": str(saved["schema"]["id"])}, format="json")

    assert search.status_code == 200
    assert search.json()["counts"]["objects"] > 0


@pytest.mark.parametrize(("fields", "where", "message"), [
    ({"q": "vehicle(colour=black)"}, "'column': 9", "unknown attribute 'colour'"),
    ({"filters": {"frame:weather": ["rain"]}}, "filters.frame:weather", "unknown facet 'frame:weather'"),
    ({"schema": "rail"}, "schema", "rail"),
    ({"view": "q=person&unit=tracks"}, "view", "'q' is not one (it is a field of its own)"),
    ({"name": ""}, "name", "This field may not be blank."),
    ({"q": "person", "query": {"object": {"label": "person"}}}, "q", "not both"),
])
def test_a_search_that_would_not_run_is_not_saved(ann, fields, where, message):
    response = _save(ann, **fields)

    assert response.status_code == 400
    assert message in str(response.json())
    assert where in str(response.json())
    assert ann.get(URL).json() == []


def test_a_saved_search_keeps_its_time_zone_for_the_dashboard_and_its_watch(ann):
    saved = _save(ann, q="hour=7..9 AND vehicle", tz="America/New_York").json()

    assert (saved["q"], saved["tz"]) == ("hour=7..9 AND vehicle", "America/New_York")
    assert parse_qs(urlsplit(saved["dashboard_url"]).query)["tz"] == ["America/New_York"]
    # Its watch evaluates the hours in that zone, not in the deployment's (UTC).
    assert _request(SavedSearch.objects.get(pk=saved["id"])).query["and"][0] == {
        "hour": {"in": [7, 8, 9], "tz": "America/New_York"}}
    # A change that does not name tz keeps it; tz "" goes back to the deployment's zone.
    renamed = ann.put(f"{URL}{saved['id']}/", {"name": "morning vehicles"}, format="json").json()
    assert renamed["tz"] == "America/New_York"
    reset = ann.put(f"{URL}{saved['id']}/", {"tz": ""}, format="json").json()
    assert reset["tz"] == "" and "tz" not in parse_qs(urlsplit(reset["dashboard_url"]).query)
    assert _request(SavedSearch.objects.get(pk=saved["id"])).query["and"][0] == {
        "hour": {"in": [7, 8, 9], "tz": "UTC"}}


def test_a_saved_search_with_an_unknown_time_zone_is_refused(ann):
    response = _save(ann, q="hour=7..9", tz="Europe/Berln")

    assert response.status_code == 400
    assert response.json()["path"] == "tz"
    assert "Europe/Berlin" in response.json()["detail"]
    assert ann.get(URL).json() == []


def test_a_name_is_used_once_per_owner(ann, bob):
    assert _save(ann).status_code == 201
    again = _save(ann, q="person")
    other = _save(bob)

    assert again.status_code == 400
    assert again.json()["path"] == "name"
    assert again.json()["detail"] == "you already have a saved search named 'black vehicles'"
    assert other.status_code == 201


def test_put_changes_the_fields_given_and_keeps_the_others(ann):
    saved = _save(ann, filters={"frame:scene": ["city"]}, view="unit=tracks").json()

    renamed = ann.put(f"{URL}{saved['id']}/", {"name": "dark cars"}, format="json")
    requeried = ann.put(f"{URL}{saved['id']}/", {"query": {"object": {"label": "person"}}}, format="json")

    assert renamed.status_code == 200
    assert renamed.json()["name"] == "dark cars"
    assert renamed.json()["q"] == "vehicle(color=black)"
    assert renamed.json()["filters"] == {"frame:scene": ["city"]}
    assert requeried.status_code == 200
    assert (requeried.json()["q"], requeried.json()["query"]) == (None, {"object": {"label": "person"}})
    assert requeried.json()["view"] == "unit=tracks"
    assert ann.put(f"{URL}{saved['id']}/", {"q": "vehicel"}, format="json").status_code == 400
    assert ann.get(f"{URL}{saved['id']}/").json()["query"] == {"object": {"label": "person"}}


def test_private_searches_are_the_owners_alone(ann, bob):
    private = _save(ann).json()
    shared = _save(ann, name="for the team", shared=True).json()

    assert [saved["name"] for saved in bob.get(URL).json()] == ["for the team"]
    assert bob.get(URL).json()[0]["mine"] is False
    assert bob.get(f"{URL}{private['id']}/").status_code == 404
    assert bob.put(f"{URL}{private['id']}/", {"name": "mine now"}, format="json").status_code == 404
    assert bob.delete(f"{URL}{private['id']}/").status_code == 404
    assert bob.get(f"{URL}{shared['id']}/").status_code == 200
    refused = bob.put(f"{URL}{shared['id']}/", {"name": "mine now"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "saved search 'for the team' belongs to ann: only its owner may change it"
    assert bob.delete(f"{URL}{shared['id']}/").status_code == 403
    assert [saved["name"] for saved in ann.get(URL).json()] == ["black vehicles", "for the team"]


def test_admins_do_not_see_private_searches_either(ann):
    private = _save(ann).json()
    admin = _client_for(None, "ada", "admin")

    assert admin.get(URL).json() == []
    assert admin.get(f"{URL}{private['id']}/").status_code == 404


def test_the_owner_deletes_a_saved_search(ann):
    saved = _save(ann).json()

    assert ann.delete(f"{URL}{saved['id']}/").status_code == 204
    assert ann.get(f"{URL}{saved['id']}/").status_code == 404
    assert ann.get(URL).json() == []
