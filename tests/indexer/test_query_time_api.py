"""Sequences and dwell through the search API: the text form and the JSON tree give the same
answer, and a mistake is a 400 that says where (the exact rules are tested per engine in
tests/indexer/search/test_temporal.py)."""

from __future__ import annotations

import json

import pytest

from tests.indexer.test_bad_input import BASE_TEXT, post_file
from tests.samples import sample

pytestmark = pytest.mark.django_db

CAR = {"object": {"label": "car"}}


@pytest.fixture
def indexed(worker_client, admin_client, django_capture_on_commit_callbacks):
    document = json.loads(sample("eta_VideoLabelsSchema.json").read_text())
    assert admin_client.post("/api/v1/schemas/", {"name": "eta", "schema": document}, format="json").status_code == 201
    response = post_file(worker_client, django_capture_on_commit_callbacks, BASE_TEXT.encode(), video="base")
    assert response.status_code == 202, response.content[:300]


def search(client, **body) -> dict:
    response = client.post("/api/v1/search/", {"page_size": 50, "facets": [], **body}, format="json")
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_text_and_tree_give_the_same_sequence_and_dwell(analyst_client, indexed):
    cars = search(analyst_client, q="car")["counts"]["frames"]
    assert cars > 1
    text = search(analyst_client, q="car THEN car WITHIN 1000s")
    tree = search(analyst_client, query={"sequence": {"first": CAR, "then": CAR, "within_s": 1000}})
    assert text == tree
    # Every car frame but the first has an earlier car frame within 1000 s.
    assert text["counts"]["frames"] == cars - 1
    dwell = search(analyst_client, q="car FOR >= 0s GAP 1000s")
    assert dwell == search(analyst_client, query={"dwell": {"query": CAR, "min_s": 0, "gap_s": 1000}})


@pytest.mark.parametrize(("body", "detail", "where"), [
    ({"q": "car THEN car"}, "expected WITHIN after 'car' at line 1, column 13", {"position": 12}),
    ({"q": "car FOR >= -3s"}, "expected a duration such as 10s, 2.5s, 5m or 1h, got '-3s' at line 1, column 12",
     {"position": 11}),
    ({"query": {"sequence": {"first": CAR, "then": CAR, "within_s": 0}}},
     "within_s is a number of seconds above 0, got 0", {"path": "query.sequence.within_s"}),
])
def test_sequence_and_dwell_mistakes_are_400_saying_where(analyst_client, indexed, body, detail, where):
    response = analyst_client.post("/api/v1/search/", body, format="json")
    assert response.status_code == 400
    answer = response.json()
    assert answer["detail"] == detail
    assert {key: answer.get(key) for key in where} == where
