"""The browser pages: who may see them, and what the dashboard embeds for its scripts."""

import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured

from accounts.services import user_issue_token
from indexer import services
from indexer.models import Video
from scoop.settings.base import OSM_TILES, map_tiles
from scoop.staticfiles import plotly_js_path

PAGES = ("/", "/manage/schemas/", "/manage/ingest/")


def _login(client, username: str, role: str):
    token = user_issue_token(username=username, role=role)
    client.force_login(token.user)
    return client


def _page_data(response) -> dict:
    match = re.search(rb'<script id="page-data" type="application/json">(.*?)</script>', response.content, re.S)
    assert match, "the dashboard embeds its data as json_script"
    return json.loads(match.group(1))


@pytest.fixture
def road(db, demo_ontology_document):
    return services.schema_create(name="road", document=demo_ontology_document, author=None)


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_anonymous_users_are_sent_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "expected"), [
    ("worker", {"/": 403, "/manage/schemas/": 403, "/manage/ingest/": 403}),
    # Analysts see the jobs board (their own jobs) and start analyses there (docs/api/jobs.md).
    ("analyst", {"/": 200, "/manage/schemas/": 403, "/manage/ingest/": 200}),
    ("admin", {"/": 200, "/manage/schemas/": 200, "/manage/ingest/": 200}),
])
def test_pages_need_their_role(client, road, role, expected):
    _login(client, f"user-{role}", role)

    assert {path: client.get(path).status_code for path in PAGES} == expected


@pytest.mark.django_db
def test_only_admins_see_the_admin_links(client, road):
    analyst = _login(client, "ann", "analyst").get("/").content.decode()
    client.logout()
    admin = _login(client, "ada", "admin").get("/").content.decode()

    assert 'href="/manage/schemas/"' not in analyst and 'href="/zones/"' not in analyst
    assert 'href="/manage/schemas/"' in admin and 'href="/zones/"' in admin
    # The jobs board is for both: an analyst's own jobs, every job for an admin.
    assert 'href="/manage/ingest/"' in analyst and 'href="/manage/ingest/"' in admin
    assert "Signed in as <strong>ada</strong> (admin)" in admin


@pytest.mark.django_db
def test_the_dashboard_embeds_the_ontology_sidebar_in_display_order(client, road, demo_ontology_document):
    data = _page_data(_login(client, "ann", "analyst").get("/"))

    groups = data["sidebar"]
    assert [g["name"] for g in groups] == [g["name"] for g in demo_ontology_document["display"]["groups"]] + [
        "Review"]
    assert groups[-1]["items"] == [{"key": "review", "title": "Review", "color": None, "values": [
        {"value": state, "text": state} for state in ("unreviewed", "confirmed", "rejected", "corrected", "disputed")]}]
    vehicles = groups[0]["items"]
    assert vehicles[0] == {"key": "label", "title": None, "values": [{"value": "vehicle", "text": "Vehicle"}],
                           "color": "#1f77b4"}
    assert [item["key"] for item in vehicles[1:]] == [
        "object:vehicle.make", "object:vehicle.type", "object:vehicle.color", "object:vehicle.parked"]
    color = vehicles[3]
    assert color["title"] == "Vehicle color"
    assert [v["value"] for v in color["values"]] == ["black", "white", "silver", "gray", "red", "blue", "green",
                                                     "yellow"]
    assert [v["value"] for v in vehicles[4]["values"]] == ["true", "false"]
    activity = next(g for g in groups if g["name"] == "Activity")["items"]
    assert activity[0]["key"] == "event"
    assert [v["value"] for v in activity[0]["values"]] == ["fight", "theft", "hard_brake", "jaywalking"]
    assert data["schema"] == {"id": road.id, "name": "road", "version": 1}
    assert data["facets"]["frame:road_type"]["title"] == "Road type"
    assert data["vocabulary"]["objects"]["vehicle"]["color"][:2] == ["black", "white"]
    assert data["vocabulary"]["frame"]["speed_kmh"] is None
    assert data["vocabulary"]["synonyms"]["car"] == "vehicle"


@pytest.mark.django_db
def test_facets_no_display_group_names_go_to_a_last_group(client, db, demo_ontology_document):
    document = dict(demo_ontology_document)
    document["display"] = {**document["display"], "groups": [{"name": "Vehicles", "items": ["vehicle"]}]}
    services.schema_create(name="partial", document=document, author=None)

    groups = _page_data(_login(client, "ann", "analyst").get("/"))["sidebar"]

    assert [g["name"] for g in groups] == ["Vehicles", "Review", "Other"]
    other = groups[2]["items"]
    assert [v["value"] for item in other if item["key"] == "label" for v in item["values"]] == [
        "person", "traffic_light", "crosswalk", "sign"]
    assert "object:vehicle.color" in {item["key"] for item in other}
    assert "vehicle" not in {v["value"] for item in other if item["key"] == "label" for v in item["values"]}


def _picker(response) -> list[tuple[str, str, bool]]:
    """The schema picker's options: (value, text, selected)."""
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>',
                         response.content.decode().split('id="schema-picker"')[1].split("</select>")[0])
    return [(value, text, bool(selected)) for value, selected, text in options]


@pytest.fixture
def retail(road):
    return services.schema_create(name="retail", document={"objects": {"schema": {"shelf": {"label": "shelf"}}}},
                                  author=None)


@pytest.mark.django_db
def test_the_dashboard_shows_the_default_schema_and_says_so(client, road, retail):
    response = _login(client, "ann", "analyst").get("/")

    data = _page_data(response)
    assert data["schema"] == {"id": road.id, "name": "road", "version": 1}
    assert data["schema_choice"] == ""
    assert [group["name"] for group in data["sidebar"]][0] == "Vehicles"
    assert "Showing <strong>road v1</strong>, the default schema</span>" in response.content.decode()
    assert _picker(response) == [("retail", "retail v1", False), ("road", "road v1 (default)", True)]


@pytest.mark.django_db
def test_the_address_picks_the_schema_the_dashboard_shows(client, road, retail, demo_ontology_document):
    road_v2 = services.schema_create(name="road", document=demo_ontology_document, author=None)
    _login(client, "ann", "analyst")

    chosen = client.get("/?schema=retail")
    pinned = client.get("/?schema=road:1")

    assert _page_data(chosen)["schema"] == {"id": retail.id, "name": "retail", "version": 1}
    assert _page_data(chosen)["schema_choice"] == "retail"
    # The query bar completes the built-in review states on every label.
    assert _page_data(chosen)["vocabulary"]["objects"] == {"shelf": {"review": [
        "unreviewed", "confirmed", "rejected", "corrected", "disputed"]}}
    assert "Showing <strong>retail v1</strong></span>" in chosen.content.decode()
    assert _picker(chosen) == [("retail", "retail v1", True), ("road", "road v2 (default)", False)]
    assert _page_data(pinned)["schema"] == {"id": road.id, "name": "road", "version": 1}
    assert _picker(pinned)[-1] == ("road:1", "road v1 (an older version)", True)
    assert road_v2.version == 2


@pytest.mark.django_db
def test_an_unknown_schema_in_the_address_shows_the_default_and_says_why(client, road, retail):
    response = _login(client, "ann", "analyst").get("/?schema=raod")

    assert _page_data(response)["schema"]["name"] == "road"
    assert _page_data(response)["schema_choice"] == ""
    assert ("no schema named &#x27;raod&#x27; (did you mean &#x27;road&#x27;?): showing the default schema instead."
            in response.content.decode())


@pytest.mark.django_db
def test_without_a_schema_the_dashboard_says_what_to_do(client):
    analyst = _login(client, "ann", "analyst").get("/").content.decode()
    client.logout()
    admin = _login(client, "ada", "admin").get("/").content.decode()

    assert "No label schema yet" in analyst and "Ask an admin" in analyst
    assert 'Upload one on the <a href="/manage/schemas/">Label schemas</a> page' in admin


@pytest.mark.django_db
def test_the_map_starts_where_the_videos_were_recorded_without_tiles_by_default(client, road, settings):
    Video.objects.create(name="a", gps=[[0, 37.70, -122.50], [1, 37.72, -122.48]], indexed_at="2026-01-01T00:00Z")
    Video.objects.create(name="b", gps=[[0, 37.80, -122.40]], indexed_at="2026-01-01T00:00Z")
    Video.objects.create(name="not indexed", gps=[[0, 10.0, 10.0]])

    page_map = _page_data(_login(client, "ann", "analyst").get("/"))["map"]

    assert page_map["tiles"] == ""
    assert page_map["bounds"] == [[37.70, -122.50], [37.80, -122.40]]
    assert [route["name"] for route in page_map["routes"]] == ["a", "b"]
    assert page_map["routes"][0]["points"] == [[37.70, -122.50], [37.72, -122.48]]

    settings.SCOOP_MAP_TILES = "https://tiles.example.org/{z}/{x}/{y}.png"
    assert _page_data(client.get("/"))["map"]["tiles"] == "https://tiles.example.org/{z}/{x}/{y}.png"


@pytest.mark.django_db
def test_video_names_are_embedded_as_data_never_as_markup(client, road):
    Video.objects.create(name="<img src=x onerror=alert(1)>", gps=[[0, 1.0, 2.0]], indexed_at="2026-01-01T00:00Z")

    response = _login(client, "ann", "analyst").get("/")

    assert b"<img src=x" not in response.content
    assert _page_data(response)["map"]["routes"][0]["name"] == "<img src=x onerror=alert(1)>"


def test_plotly_js_is_served_from_the_installed_plotly_package():
    found = finders.find("vendor/plotly.min.js")

    assert found == str(plotly_js_path())
    assert plotly_js_path().read_bytes()[:200].lstrip().startswith(b"/**\n* plotly.js v")
    collected = [path for finder in finders.get_finders() for path, _storage in finder.list([])]
    assert "plotly.min.js" in collected


def test_map_tiles_setting_takes_osm_off_or_a_template_and_refuses_anything_else():
    assert map_tiles("osm") == OSM_TILES == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert map_tiles(" OFF ") == map_tiles("") == map_tiles("none") == ""
    assert map_tiles("https://tiles.example.org/{z}/{x}/{y}.png") == "https://tiles.example.org/{z}/{x}/{y}.png"
    for wrong in ("tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org/tile.png", "javascript:{z}{x}{y}"):
        with pytest.raises(ImproperlyConfigured, match="expected 'osm', 'off' or an http"):
            map_tiles(wrong)


@pytest.mark.django_db
def test_the_map_names_scoops_own_base_layer_and_it_is_vendored_with_its_license(client, road):
    fallback = _page_data(_login(client, "ann", "analyst").get("/"))["map"]["fallback"]

    assert fallback == {"land": "/static/vendor/world-atlas/land-50m.geojson",
                        "borders": "/static/vendor/world-atlas/borders-50m.geojson"}
    land = json.loads(Path(finders.find("vendor/world-atlas/land-50m.geojson")).read_text())
    [feature] = land["features"]
    assert feature["geometry"]["type"] == "MultiPolygon" and len(feature["geometry"]["coordinates"]) > 1000
    borders = json.loads(Path(finders.find("vendor/world-atlas/borders-50m.geojson")).read_text())
    assert borders["features"][0]["geometry"]["type"] == "MultiLineString"
    assert "Natural Earth" in Path(finders.find("vendor/world-atlas/LICENSE")).read_text()


def test_the_map_library_is_vendored_with_its_license():
    for path in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "vendor/leaflet/LICENSE",
                 "vendor/leaflet/images/marker-icon.png"):
        assert finders.find(path), path


@pytest.fixture
def review_campaign(road):
    """A tracks campaign over one indexed video with two vehicle tracks; the second is disputed,
    with a reviewer's correction."""
    from analytics.review.services import campaign_create
    from tests.analytics.corpus import analytics, index_video, vehicle
    from tests.analytics.review.conftest import disputed

    video = Video.objects.create(name="gate", schema=road, fps=10)
    index_video(video.pk, "gate", analytics(vehicle(0, "sedan", "black", track="1"),
                                            vehicle(1, "suv", "white", track="2")))
    campaign = campaign_create(name="gate cars", schema=road, unit="tracks", question="A car?", q="vehicle",
                               author=None)
    disputed(campaign.items.get(key="2"), user_issue_token(username="rita", role="reviewer").user,
             {"attrs": {"color": "red"}})
    return campaign


REVIEW_PAGES = ("/review/", "/review/{id}/", "/review/{id}/campaign/")


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "expected"), [
    ("reviewer", [200, 200, 403]),
    ("worker", [403, 403, 403]),
    ("analyst", [200, 200, 403]),
    ("admin", [200, 200, 200]),
])
def test_review_pages_need_their_role(client, review_campaign, role, expected):
    _login(client, f"user-{role}", role)

    assert [client.get(path.format(id=review_campaign.pk)).status_code for path in REVIEW_PAGES] == expected


@pytest.mark.django_db
def test_a_reviewer_lands_on_the_review_pages_and_sees_only_their_links(client, review_campaign):
    _login(client, "rita", "reviewer")

    home = client.get("/")
    listed = client.get("/review/").content.decode()
    unknown = client.get("/review/999999/")

    assert home.status_code == 302 and home["Location"] == "/review/"
    assert re.findall(r'<nav class="nav">.*?</nav>', listed, re.S)[0].count("<a ") == 2
    assert 'href="/review/"' in listed and 'href="/api/docs/"' in listed and 'href="/alerts/"' not in listed
    assert f'href="/review/{review_campaign.pk}/"' in listed
    assert f'href="/review/{review_campaign.pk}/campaign/"' not in listed
    assert unknown.status_code == 404


@pytest.mark.django_db
def test_analysts_and_admins_see_the_review_link(client, review_campaign):
    analyst = _login(client, "ann", "analyst").get("/review/").content.decode()
    client.logout()
    admin = _login(client, "ada", "admin").get("/review/").content.decode()

    assert 'href="/"' in analyst and 'href="/review/"' in analyst
    assert f'href="/review/{review_campaign.pk}/campaign/"' not in analyst
    assert f'href="/review/{review_campaign.pk}/campaign/"' in admin


@pytest.mark.django_db
def test_the_review_page_embeds_the_campaign_and_its_schema_for_corrections(client, review_campaign):
    data = _page_data(_login(client, "rita", "reviewer").get(f"/review/{review_campaign.pk}/"))

    assert data["campaign"] == {"id": review_campaign.pk, "name": "gate cars", "question": "A car?",
                                "unit": "tracks", "schema": "road"}
    assert data["labels"]["vehicle"]["color"] == ["black", "white", "silver", "gray", "red", "blue", "green",
                                                  "yellow"]
    assert data["urls"] == {"batch": f"/api/v1/review/campaigns/{review_campaign.pk}/batch/",
                            "votes": f"/api/v1/review/campaigns/{review_campaign.pk}/votes/",
                            "items": "/api/v1/review/items/"}
    assert data["batch_size"] == 10


@pytest.mark.django_db
def test_the_campaign_page_embeds_the_disputed_items_with_their_votes(client, review_campaign):
    data = _page_data(_login(client, "ada", "admin").get(f"/review/{review_campaign.pk}/campaign/"))

    disputed = review_campaign.items.get(key="2")
    assert data["disputed"] == [{
        "id": disputed.pk, "video": disputed.video_id, "video_name": "gate", "track": "2", "label": "vehicle",
        "attrs": disputed.attrs, "start_s": 0.1, "end_s": 0.2, "answers": {"yes": 0, "no": 1, "unsure": 0},
        "corrections": [{"attrs": {"color": "red"}}]}]
    assert data["urls"]["stats"] == f"/api/v1/review/campaigns/{review_campaign.pk}/stats/"


@pytest.mark.django_db
def test_the_campaign_list_counts_what_waits_for_votes_and_for_an_admin(client, review_campaign):
    page = _login(client, "rita", "reviewer").get("/review/").content.decode()

    row = re.search(rf'<tr data-campaign="{review_campaign.pk}">(.*?)</tr>', page, re.S).group(1)
    cells = [re.sub(r"\s+", " ", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[:7] == ["gate cars", "A car?", "tracks", "road", "2", "1", "1"]
