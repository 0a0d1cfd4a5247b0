"""Label schemas under bad input, and what a new version that drops values does.

The rule (README "Label schemas"): a new version is always stored when it is valid;
the answer lists, under ``dropped_in_use``, every value the previous version allowed
that the new one drops and that videos indexed under that schema name still hold,
with its count. Those videos keep their indexed data; searches and facets use the
version a request names (``name`` alone: the newest), so under the new version a
dropped value is an unknown name with suggestions and is left out of the facets,
while ``name:1`` still finds it.
"""

from __future__ import annotations

import copy
import json

import pytest
from django.utils import timezone

from indexer.models import LabelSchema, Video
from tests.analytics.corpus import ONTOLOGY, analytics, index_video, person, street, vehicle

pytestmark = pytest.mark.django_db


def document_v2() -> dict:
    """v1 without the label person and the scene highway, with the type truck renamed trucks and
    a new type bus."""
    document = copy.deepcopy(ONTOLOGY.to_document())
    del document["objects"]["schema"]["person"]
    vehicle_attrs = document["objects"]["schema"]["vehicle"]
    for section in ("attrs", "frames"):
        attrs = vehicle_attrs.get(section, {}).get("schema", {})
        if "type" in attrs:
            attrs["type"]["categories"] = ["sedan", "suv", "bus", "trucks"]
    document["frames"]["schema"]["scene"]["categories"] = ["city"]
    return document


@pytest.fixture
def road_v1(admin_client):
    response = admin_client.post("/api/v1/schemas/", {"name": "road", "schema": ONTOLOGY.to_document()}, format="json")
    assert response.json() == {"id": response.json()["id"], "name": "road", "version": 1}
    schema = LabelSchema.objects.get(pk=response.json()["id"])
    for video_id, name, video in ((1, "street", street()),
                                  (2, "garage", analytics(vehicle(0, "truck", "black"), person(1)))):
        index_video(video_id, name, video)
        Video.objects.create(pk=video_id, name=name, schema=schema, indexed_at=timezone.now(), fps=10.0,
                             counts={"objects": 6 if name == "street" else 2})
    return schema


@pytest.fixture
def road_v2(admin_client, road_v1):
    response = admin_client.post("/api/v1/schemas/", {"name": "road", "schema": document_v2()}, format="json")
    assert response.status_code == 201, response.content[:500]
    return response.json()


def search(client, status: int = 200, **body) -> dict:
    response = client.post("/api/v1/search/", {"page_size": 1, **body}, format="json")
    assert response.status_code == status, response.content[:500]
    return response.json()


def test_the_new_version_is_stored_and_lists_the_dropped_values_still_in_use(road_v2):
    assert road_v2["version"] == 2
    assert road_v2["dropped_in_use"] == [
        {"facet": "label", "value": "person", "unit": "objects", "count": 2},
        {"facet": "object:vehicle.type", "value": "truck", "unit": "objects", "count": 1},
        {"facet": "frame:scene", "value": "highway", "unit": "frames", "count": 1},
    ]
    assert LabelSchema.objects.filter(name="road").count() == 2


def test_the_same_document_again_drops_nothing(admin_client, road_v1):
    response = admin_client.post("/api/v1/schemas/", {"name": "road", "schema": ONTOLOGY.to_document()}, format="json")

    assert response.json()["version"] == 2
    assert response.json()["dropped_in_use"] == []


def test_videos_keep_their_indexed_data(analyst_client, road_v2):
    assert search(analyst_client)["counts"]["frames"] == 7  # 5 street + 2 garage frames, as before
    assert search(analyst_client, q="vehicle(type=truck)", schema="road:1")["counts"]["objects"] == 1
    assert search(analyst_client, q="person", schema="road:1")["counts"]["objects"] == 2
    assert dict(Video.objects.values_list("name", "schema__version")) == {"street": 1, "garage": 1}


@pytest.mark.parametrize(("body", "located", "message"), [
    ({"q": "vehicle(type=truck)"}, {"position": 8, "line": 1, "column": 9, "suggestions": ["trucks"]},
     "unknown value 'truck' for attribute 'type' (did you mean 'trucks'?) at line 1, column 9"),
    ({"q": "person"}, {"position": 0, "line": 1, "column": 1}, "unknown object label 'person'"),
    ({"query": {"object": {"label": "vehicle", "attrs": {"type": "truck"}}}},
     {"path": "query.object.attrs.type", "suggestions": ["trucks"]}, "unknown value 'truck'"),
    ({"filters": {"frame:scene": ["highway"]}}, {"path": "filters.frame:scene[0]"}, "highway"),
])
def test_under_the_new_version_a_dropped_value_is_unknown(analyst_client, road_v2, body, located, message):
    answer = search(analyst_client, status=400, **body)

    assert message in answer["detail"]
    assert {key: answer.get(key) for key in located} == located


def test_facets_show_only_the_new_versions_values(analyst_client, road_v2):
    facets = search(analyst_client)["facets"]

    assert facets["object:vehicle.type"] == {"sedan": 3, "suv": 2, "bus": 0, "trucks": 0}
    assert facets["label"] == {"vehicle": 6}
    assert facets["frame:scene"] == {"city": 1}
    assert search(analyst_client, schema="road:1")["facets"]["object:vehicle.type"] == {
        "sedan": 3, "suv": 2, "truck": 1}


# Invalid documents: every problem, each with its JSON path.


@pytest.mark.parametrize(("schema", "problems"), [
    ({"objects": {"schema": {"car": {"attrs": {"schema": {"c": {"type": "eta.core.data.CategoricalAttribute",
                                                                  "categories": ["red", 1]}}}}}},
      "frames": {"schema": {"s": {"type": "eta.core.data.NumericAttribute", "range": [5, 1]}}},
      "colour": {}},
     [("$.colour", "unknown section 'colour'"),
      ("$.frames.schema.s.range", "range must be [min, max] with finite numbers and min <= max"),
      ("$.objects.schema.car.attrs.schema.c.categories", "categories must be a list of strings")]),
    ({"objects": {"schema": {"car": {"label": "c" * 201}}}},
     [("$.objects.schema.car.label", "a name has at most 200 characters; this one has 201")]),
    ({"frames": {"schema": {"s": {"type": "eta.core.data.CategoricalAttribute", "categories": ["a", "b\u202ec"]}}}},
     [("$.frames.schema.s.categories[1]", "a name must not hold control or direction-changing characters; "
                                          "found '\\u202e'")]),
    ({"frames": {"schema": {"s": {"type": "eta.core.data.CategoricalAttribute", "categories": ["a\x00"]}}}},
     [("$.frames.schema.s.categories[0]", "the text holds a NUL character"),
      ("$.frames.schema.s.categories[0]", "a name must not hold control or direction-changing characters; "
                                          "found '\\x00'")]),
    ({"display": {"names": {"car": "C\x00r"}}}, [("$.display.names.car", "the text holds a NUL character")]),
    ({"objects": []}, [("$.objects", "expected an object")]),
    ({"attrs": {"schema": {"x": {"type": "eta.core.data.Nope"}}}},
     [("$.attrs.schema.x.type", "unknown attribute type 'eta.core.data.Nope'")]),
])
def test_an_invalid_document_lists_every_problem_with_its_path(admin_client, schema, problems):
    response = admin_client.post("/api/v1/schemas/", {"name": "road", "schema": schema}, format="json")

    assert response.status_code == 400
    answer = response.json()
    assert answer["detail"] == f"the schema document has {len(problems)} problem(s)"
    found = sorted((problem["path"], problem["message"]) for problem in answer["problems"])
    assert len(found) == len(problems)
    for (path, message), (expected_path, expected) in zip(found, sorted(problems), strict=True):
        assert path == expected_path and message.startswith(expected), (path, message)
    assert LabelSchema.objects.count() == 0


@pytest.mark.parametrize(("name", "status"), [("1", 400), ("007", 400), ("v1", 201), ("road:2", 400), ("../x", 400)])
def test_a_schema_name_cannot_be_mistaken_for_an_id_or_a_version(admin_client, name, status):
    response = admin_client.post("/api/v1/schemas/", {"name": name, "schema": {}}, format="json")

    assert response.status_code == status
    if status == 400:
        assert response.json()["problems"] == [
            {"path": "name", "message": "use 1 to 200 letters, digits, _ . or -, not digits alone"}]


def test_a_deep_document_is_refused_before_it_is_read(admin_client):
    body = '{"name": "road", "schema": {"attrs": ' + "[" * 10_000 + "]" * 10_000 + "}}"

    response = admin_client.post("/api/v1/schemas/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - nested more than 256 levels deep at byte")


def test_json_in_the_document_round_trips(admin_client, road_v1):
    """Quotes, backslashes and unicode in names survive storage exactly."""
    document = {"objects": {"schema": {"it's \"x\" \\ é": {"label": "it's \"x\" \\ é"}}}}

    response = admin_client.post("/api/v1/schemas/", {"name": "odd", "schema": document}, format="json")
    stored = admin_client.get(f"/api/v1/schemas/{response.json()['id']}/").json()

    assert json.dumps(stored["document"]["objects"]["schema"], ensure_ascii=False).count("it's \\\"x\\\" \\\\ é") == 2
