"""Label schema upload and versioning through the API."""

import json

import pytest

from tests.samples import FORMATS_DIR


def _upload(client, name, document):
    return client.post("/api/v1/schemas/", {"name": name, "schema": document}, format="json")


@pytest.mark.django_db
def test_admin_uploads_demo_ontology_and_versions_increment(admin_client, demo_ontology_document):
    first = _upload(admin_client, "road", demo_ontology_document)
    second = _upload(admin_client, "road", demo_ontology_document)
    other = _upload(admin_client, "retail", demo_ontology_document)

    assert first.status_code == 201
    assert first.json()["version"] == 1
    assert second.json()["version"] == 2
    assert other.json() == {"id": other.json()["id"], "name": "retail", "version": 1}


@pytest.mark.django_db
def test_stored_document_keeps_display_metadata(admin_client, demo_ontology_document):
    created = _upload(admin_client, "road", demo_ontology_document).json()

    detail = admin_client.get(f"/api/v1/schemas/{created['id']}/").json()

    assert detail["source_format"] == "scoop"
    assert detail["document"]["display"]["groups"][0]["name"] == "Vehicles"
    assert detail["document"]["display"]["synonyms"]["car"] == "vehicle"
    make = detail["document"]["objects"]["schema"]["vehicle"]["attrs"]["schema"]["make"]
    assert "Toyota" in make["categories"]


@pytest.mark.django_db
def test_eta_current_schema_is_read(admin_client):
    document = json.loads((FORMATS_DIR / "eta_VideoLabelsSchema.json").read_text())

    created = _upload(admin_client, "eta", document)
    detail = admin_client.get(f"/api/v1/schemas/{created.json()['id']}/").json()

    assert created.status_code == 201
    assert detail["source_format"] == "eta"
    car = detail["document"]["objects"]["schema"]["car"]
    assert car["attrs"]["schema"]["make"]["categories"] == ["Honda"]
    assert car["frames"]["schema"]["color"]["categories"] == ["red"]
    assert detail["document"]["frames"]["schema"]["speed_mph"]["range"] == [42.5, 42.5]
    assert detail["document"]["events"]["schema"]["hard_brake"]["label"] == "hard_brake"


@pytest.mark.django_db
def test_eta_2019_schema_is_converted_not_read_as_empty(admin_client):
    document = json.loads((FORMATS_DIR / "eta_schema_2019format.json").read_text())

    created = _upload(admin_client, "eta2019", document)
    detail = admin_client.get(f"/api/v1/schemas/{created.json()['id']}/").json()

    assert detail["source_format"] == "eta-2019"
    stored = detail["document"]
    assert set(stored["attrs"]["schema"]) == {"weather", "daytime", "fps"}
    assert set(stored["frames"]["schema"]) == {"quality", "scene", "on_road"}
    assert stored["objects"]["schema"]["car"]["attrs"]["schema"]["make"]["categories"] == ["Honda"]
    assert stored["objects"]["schema"]["person"]["attrs"]["schema"]["age"]["range"] == [42.0, 42.0]


@pytest.mark.django_db
def test_invalid_schema_lists_every_problem_with_its_path(admin_client):
    document = {
        "attrs": {"schema": {"weather": {"name": "weather", "type": "eta.core.data.ColorAttribute"}}},
        "objects": {"schema": {"car": {"label": "car", "attrs": {"schema": {
            "speed": {"name": "speed", "type": "eta.core.data.NumericAttribute", "range": [10, 1]},
        }}}}},
        "frame": {},
    }

    response = _upload(admin_client, "broken", document)

    assert response.status_code == 400
    problems = {p["path"]: p["message"] for p in response.json()["problems"]}
    assert problems["$.frame"] == "unknown section 'frame' (did you mean 'frames'?)"
    assert "unknown attribute type 'eta.core.data.ColorAttribute'" in problems["$.attrs.schema.weather.type"]
    assert problems["$.objects.schema.car.attrs.schema.speed.range"].startswith("range must be [min, max]")
    assert response.json()["detail"] == "the schema document has 3 problem(s)"


@pytest.mark.django_db
def test_schema_name_and_document_are_required(admin_client):
    response = admin_client.post("/api/v1/schemas/", {"name": "../etc"}, format="json")

    assert response.status_code == 400
    paths = {p["path"] for p in response.json()["problems"]}
    assert paths == {"name", "schema"}


@pytest.mark.django_db
def test_only_admins_upload_but_every_role_reads(analyst_client, worker_client, demo_ontology_document):
    assert _upload(analyst_client, "road", demo_ontology_document).status_code == 403
    assert _upload(worker_client, "road", demo_ontology_document).status_code == 403
    assert analyst_client.get("/api/v1/schemas/").status_code == 200
    assert worker_client.get("/api/v1/schemas/").status_code == 200


@pytest.mark.django_db
def test_several_versions_of_one_schema_are_one_default(admin_client, worker_client, demo_ontology_document):
    from indexer.selectors import schema_resolve

    _upload(admin_client, "road", demo_ontology_document)
    newest = _upload(admin_client, "road", demo_ontology_document).json()

    assert schema_resolve(ref=None).id == newest["id"]
    assert schema_resolve(ref="road:1").version == 1


# The default schema -----------------------------------------------------------------------------


def _default(client):
    return client.get("/api/v1/schemas/default/")


def _choose(client, name):
    return client.put("/api/v1/schemas/default/", {"name": name}, format="json")


@pytest.mark.django_db
def test_the_first_name_uploaded_is_the_default_and_follows_its_new_versions(
    admin_client, worker_client, demo_ontology_document
):
    road = _upload(admin_client, "road", demo_ontology_document).json()
    _upload(admin_client, "retail", demo_ontology_document)
    assert _default(worker_client).json() == road

    road_v2 = _upload(admin_client, "road", demo_ontology_document).json()

    assert road_v2["version"] == 2
    assert _default(worker_client).json() == {"id": road_v2["id"], "name": "road", "version": 2}


@pytest.mark.django_db
def test_an_admin_chooses_another_default_name(admin_client, analyst_client, demo_ontology_document):
    _upload(admin_client, "road", demo_ontology_document)
    retail = _upload(admin_client, "retail", demo_ontology_document).json()

    chosen = _choose(admin_client, "retail")
    retail_v2 = _upload(admin_client, "retail", demo_ontology_document).json()

    assert chosen.status_code == 200
    assert chosen.json() == retail
    # The default is a name: its later versions are the default too.
    assert _default(analyst_client).json() == {"id": retail_v2["id"], "name": "retail", "version": 2}


@pytest.mark.django_db
def test_only_admins_change_the_default_and_every_role_reads_it(
    admin_client, analyst_client, worker_client, anon_client, demo_ontology_document
):
    road = _upload(admin_client, "road", demo_ontology_document).json()
    _upload(admin_client, "retail", demo_ontology_document)

    worker = _choose(worker_client, "retail")
    analyst = _choose(analyst_client, "retail")

    assert (worker.status_code, worker.json()) == (403, {"detail": "This needs the role admin."})
    assert (analyst.status_code, analyst.json()) == (403, {"detail": "This needs the role admin."})
    assert _choose(anon_client, "retail").status_code == 401
    assert _default(anon_client).status_code == 401
    assert [_default(client).json() for client in (admin_client, analyst_client, worker_client)] == [road] * 3


@pytest.mark.django_db
def test_an_unknown_default_name_is_refused_with_the_nearest_names(admin_client, demo_ontology_document):
    road = _upload(admin_client, "road", demo_ontology_document).json()

    typo = _choose(admin_client, "raod")
    versioned = _choose(admin_client, "road:1")
    missing = admin_client.put("/api/v1/schemas/default/", {}, format="json")

    assert typo.status_code == 400
    assert typo.json() == {"detail": "no schema named 'raod' (did you mean 'road'?)", "path": "name",
                           "suggestions": ["road"]}
    assert versioned.status_code == 400
    assert [p["path"] for p in versioned.json()["problems"]] == ["name"]
    assert missing.status_code == 400
    assert [p["path"] for p in missing.json()["problems"]] == ["name"]
    assert _default(admin_client).json() == road


@pytest.mark.django_db
def test_before_any_upload_there_is_no_default(admin_client, worker_client):
    response = _default(worker_client)
    chosen = _choose(admin_client, "road")

    assert response.status_code == 404
    assert response.json() == {
        "detail": "no label schema has been uploaded yet; an admin must POST /api/v1/schemas/ first"}
    assert chosen.status_code == 400
    assert chosen.json() == {"detail": "no schema named 'road'", "path": "name"}


@pytest.mark.django_db
def test_when_the_chosen_name_is_deleted_the_first_name_uploaded_is_the_default_again(
    admin_client, worker_client, demo_ontology_document
):
    from indexer.models import LabelSchema

    road = _upload(admin_client, "road", demo_ontology_document).json()
    _upload(admin_client, "retail", demo_ontology_document)
    _choose(admin_client, "retail")

    LabelSchema.objects.filter(name="retail").delete()  # as an admin may in the Django admin

    assert _default(worker_client).json() == road


# A schema that knows shelves and nothing of the demo's vehicles.
RETAIL = {"objects": {"schema": {"shelf": {"label": "shelf"}}}}


@pytest.mark.django_db
def test_live_videos_and_labels_without_a_schema_take_the_default(admin_client, worker_client, analyst_client,
                                                                   demo_ontology_document):
    _upload(admin_client, "road", demo_ontology_document)
    retail = _upload(admin_client, "retail", RETAIL).json()
    _choose(admin_client, "retail")

    live = worker_client.post("/api/v1/videos/", {"name": "cam", "live": True, "fps": 10}, format="json")
    labels = f"/api/v1/videos/{live.json()['id']}/labels/"
    shelves = analyst_client.get(f"{labels}?q=shelf")
    vehicles = analyst_client.get(f"{labels}?q=vehicle")

    assert live.status_code == 201
    assert live.json()["schema"] == retail
    assert shelves.status_code == 200
    assert vehicles.status_code == 400
    assert vehicles.json()["detail"].startswith("unknown object label 'vehicle'")
