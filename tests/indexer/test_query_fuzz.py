"""Fuzzing the query language and the statistics parameters: garbage in, never a 500.

The text form and the JSON tree are fuzzed directly (``compile_query``) and through
the API (``POST /api/v1/search/``, ``GET ?q=`` and ``?query=``), and the statistics
endpoints get garbage facet keys, units, scopes, zooms and bounding boxes. Every
refusal must be a 400 whose body locates the problem: a position (line and column)
for the text form, a JSON path for the tree and the other fields.
``SCOOP_FUZZ_EXAMPLES`` scales the example counts (default 1: the counts below).
"""

from __future__ import annotations

import json
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.query import compile_query
from indexer.query.errors import QueryError
from tests.analytics.corpus import ONTOLOGY, create_schema, index_video, street

SCALE = float(os.environ.get("SCOOP_FUZZ_EXAMPLES", "1"))
API = settings(max_examples=int(120 * SCALE), deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
DIRECT = settings(max_examples=int(600 * SCALE), deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Words the grammar and the ontology know, mixed with hostile ones, so that the fuzzer
# reaches deep into the parser and the normalizer instead of failing at the first byte.
WORDS = [
    "vehicle", "person", "brake", "scene", "city", "type", "sedan", "color", "black", "parked", "true",
    "frame", "video", "event", "event:brake", "event:*", "time", "camera", "name", "recorded_at", "confidence",
    "track", "bbox", "polygon", "AND", "OR", "NOT", "and", "*", "(", ")", ",", "=", ">=", "<=", "..", "|", ".",
    ":", "1e400", "-0", "2e-400", "99999999999999999999999", "NaN", "inf", "-Infinity", "1", "0.5", "-181",
    "2026-13-45T25:61:00", "'", '"', '"unterminated', '"x\\"y"', "\\", "%", "_", "\x00", "\u202e", "\n", "é",
    "x'); DROP TABLE frames; --",
]
NODE_KEYS = ["and", "or", "not", "object", "frame", "video", "event", "geo", "time", "label", "attrs",
             "confidence", "track", "bbox", "polygon", "gte", "lte", "in", "type", "color", "scene", "parked",
             "name", "camera", "recorded_at", "vehicle", "person", "brake", "", "\x00"]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(WORDS), st.text(max_size=12),
)
json_trees = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(NODE_KEYS) | st.text(max_size=6), children, max_size=3),
    ),
    max_leaves=20,
)
# Python values JSON cannot carry, for the direct calls.
python_scalars = st.one_of(json_scalars, st.sampled_from([math.nan, math.inf, -math.inf, 2**200, b"x", ()]))
python_trees = st.recursive(
    python_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(NODE_KEYS), children, max_size=3),
    ),
    max_leaves=20,
)
texts = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(WORDS), max_size=16).map(" ".join),
    st.lists(st.sampled_from(WORDS), max_size=16).map("".join),
)


def assert_text_error_located(body: dict, text: str) -> None:
    assert body["detail"], body
    assert isinstance(body.get("position"), int) and 0 <= body["position"] <= len(text), body
    assert body["line"] >= 1 and body["column"] >= 1, body
    assert f"at line {body['line']}, column {body['column']}" in body["detail"], body


def assert_path_named(body: dict) -> None:
    assert body["detail"], body
    paths = [body.get("path")] + [problem["path"] for problem in body.get("problems", [])]
    assert any(paths), f"no path in {body}"


# Direct -----------------------------------------------------------------------------------


@DIRECT
@given(texts)
def test_text_compiles_or_raises_a_located_error(text):
    try:
        compile_query(q=text, ontology=ONTOLOGY)
    except QueryError as error:
        assert error.position is not None and 0 <= error.position <= len(text)
        assert f"at line {error.line}, column {error.column}" in error.message


@DIRECT
@given(python_trees)
def test_tree_normalizes_or_raises_an_error_with_a_path(tree):
    try:
        normalized = compile_query(query=tree, ontology=ONTOLOGY)
    except QueryError as error:
        assert error.path and error.path.startswith("query"), error
    else:
        assert json.loads(json.dumps(normalized, allow_nan=False)) == normalized


# Through the API --------------------------------------------------------------------------


@pytest.fixture
def corpus(db):
    create_schema()
    index_video(1, "street", street())


def checked(response) -> dict:
    assert response.status_code in (200, 400), (response.status_code, response.content[:500])
    return response.json()


@pytest.mark.django_db
@API
@given(text=texts)
def test_search_q_by_post_and_get_never_fails_the_server(analyst_client, corpus, text):
    posted = analyst_client.post("/api/v1/search/", {"q": text, "page_size": 1}, format="json")
    fetched = analyst_client.get("/api/v1/search/", {"q": text, "page_size": 1})

    for response in (posted, fetched):
        body = checked(response)
        if response.status_code == 400 and "\x00" not in text:
            assert_text_error_located(body, text)
    if "\x00" not in text:  # a query string cannot carry NUL; the JSON body can
        assert posted.status_code == fetched.status_code


@pytest.mark.django_db
@API
@given(tree=json_trees)
def test_search_query_tree_by_post_and_get_never_fails_the_server(analyst_client, corpus, tree):
    posted = analyst_client.post("/api/v1/search/", {"query": tree, "page_size": 1}, format="json")
    fetched = analyst_client.get("/api/v1/search/", {"query": json.dumps(tree), "page_size": 1})

    for response in (posted, fetched):
        body = checked(response)
        if response.status_code == 400:
            assert_path_named(body)
    assert posted.status_code == fetched.status_code


@pytest.mark.django_db
@API
@given(filters=json_trees, facets=json_trees, unit=json_scalars, gap=json_scalars, page=json_scalars)
def test_search_filters_facets_and_paging_never_fail_the_server(analyst_client, corpus, filters, facets, unit,
                                                                gap, page):
    body = {"filters": filters, "facets": facets, "facet_unit": unit, "gap_s": gap, "page": page}
    response = analyst_client.post("/api/v1/search/", body, format="json")

    if checked(response) and response.status_code == 400:
        assert_path_named(response.json())


STATS = {
    "occurrence": {"unit": json_scalars, "facets": json_trees, "figure": json_scalars},
    "cooccurrence": {"a": json_scalars, "b": json_scalars, "scope": json_scalars, "top": json_scalars,
                     "min_count": json_scalars},
    "geo": {"bbox": json_trees, "zoom": json_scalars, "target": json_scalars, "format": json_scalars,
            "grid": json_scalars},
    "timeline": {"bins": json_scalars, "figure": json_scalars},
}
FACET_KEYS = ["object:vehicle.type", "object:vehicle.color", "label", "frame:scene", "object:vehicle.parked",
              "object:vehicle.", "object:.type", "frame:", "event:brake", "object:vehicle.type.x", "::", ""]


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", list(STATS))
@API
@given(data=st.data())
def test_statistics_parameters_never_fail_the_server(analyst_client, corpus, endpoint, data):
    fields = {name: data.draw(strategy, label=name) for name, strategy in STATS[endpoint].items()
              if data.draw(st.booleans(), label=f"send {name}")}
    if endpoint == "cooccurrence" and data.draw(st.booleans(), label="real facet keys"):
        fields.update(a=data.draw(st.sampled_from(FACET_KEYS)), b=data.draw(st.sampled_from(FACET_KEYS)))

    response = analyst_client.post(f"/api/v1/stats/{endpoint}/", fields, format="json")

    if checked(response) and response.status_code == 400:
        assert_path_named(response.json())


# Found by the fuzzers above, kept as plain cases --------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("endpoint", "body", "path"), [
    ("search", {"query": "DEEP"}, None),
    ("stats/geo", {"bbox": [-1e400, 0, 1, 1], "zoom": 3}, "bbox"),
    ("stats/geo", {"bbox": [0, 0, 1, 1], "zoom": 1e400}, "zoom"),
    ("stats/geo", {"bbox": [0, 0, 1, 1], "zoom": -1}, "zoom"),
    ("stats/geo", {"bbox": [0, 0, 1], "zoom": 3}, "bbox"),
    ("stats/cooccurrence", {"a": "object:vehicle.type", "b": "object:vehicle.type.x"}, "b"),
    ("stats/cooccurrence", {"a": "object:vehicle.type", "b": "label", "scope": "galaxy"}, "scope"),
    ("stats/occurrence", {"unit": "parsecs"}, "unit"),
    ("stats/timeline", {"bins": 10**30}, "bins"),
    ("stats/timeline", {"bins": -3}, "bins"),
    ("search", {"facet_unit": "lightyears"}, "facet_unit"),
    ("search", {"gap_s": 1e400}, "gap_s"),
    ("search", {"page": 2**70}, "page"),
])
def test_garbage_parameters_are_400_naming_the_field(analyst_client, corpus, endpoint, body, path):
    # 1e400 is not JSON-serializable by Python's json, so the bodies are written by hand.
    raw = json.dumps(body).replace("Infinity", "1e400").replace('"DEEP"', "[" * 100_000 + "]" * 100_000)
    response = analyst_client.post(f"/api/v1/{endpoint}/", raw, content_type="application/json")

    assert response.status_code == 400, response.content[:300]
    answer = response.json()
    if path is None:
        assert "nested more than 256 levels deep at byte" in answer["detail"]
    else:
        assert_path_named(answer)
        assert path in [answer.get("path")] + [problem["path"] for problem in answer.get("problems", [])], answer
