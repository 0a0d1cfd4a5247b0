"""Injection: hostile names and values are data, never SQL or Elasticsearch code.

An ontology whose label, attribute names and values carry SQL (quotes, comments,
``DROP TABLE``), LIKE wildcards (``%``, ``_``) and backslashes is indexed next
to an ordinary video; searches, facets and statistics on those values give the exact
counts worked out by hand, and the ordinary video's counts are the same afterwards.
For Elasticsearch, every such value lands in a ``term``/``terms`` query, never in a
script. NUL cannot be in a name (an ontology with one is refused: PostgreSQL's JSON cannot
store it), so a value with NUL is searched only to be told it is unknown.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from indexer.ontology import CATEGORICAL, AttrSpec, LabelSpec, Ontology
from indexer.query import compile_query
from indexer.records import Analytics, FrameRecord, ObjectRecord, VideoMeta
from indexer.search.elasticsearch.query import PNPOLY, compile_node
from tests.analytics.corpus import ONTOLOGY as ROAD
from tests.analytics.corpus import street

LABEL = "x'); DROP TABLE frames; --"
ATTR = 'a"b\'c\\'
FRAME_ATTR = "scene'--"
VIDEO = "v'; DELETE FROM videos; --"
# Each value, and how many detections carry it in the hostile video (one per frame).
VALUES = {
    "it's": 3,
    "back\\slash": 2,
    "100%": 2,
    "%": 1,
    "under_score": 1,
    "_": 1,
    "' OR '1'='1": 1,
    'quote"d': 1,
}
SCENES = {"a'b": 1, "%%": 1, "--": 0}
FPS = 10.0


def hostile_ontology() -> Ontology:
    values = list(VALUES)
    objects = {**ROAD.objects, LABEL: LabelSpec(LABEL, {ATTR: AttrSpec(ATTR, CATEGORICAL, values)})}
    frame_attrs = {**ROAD.frame_attrs, FRAME_ATTR: AttrSpec(FRAME_ATTR, CATEGORICAL, list(SCENES))}
    return Ontology(frame_attrs=frame_attrs, objects=objects, events=ROAD.events)


def hostile_video() -> Analytics:
    """One detection a frame, frame i carrying the i-th value of the list below."""
    carried = [value for value, count in VALUES.items() for _ in range(count)]
    records: list[Any] = []
    for index, value in enumerate(carried):
        records.append(ObjectRecord(index, index / FPS, LABEL, track=str(index % 2), confidence=0.5,
                                    box=(0.1, 0.1, 0.2, 0.2), attrs={ATTR: value}))
    records.append(FrameRecord(0, 0.0, {FRAME_ATTR: "a'b"}))
    records.append(FrameRecord(1, 0.1, {FRAME_ATTR: "%%"}))
    return Analytics.from_list(format="test", meta=VideoMeta(fps=FPS), records=records)


@pytest.fixture
def hostile(db):
    from indexer.search import get_search_backend
    from indexer.services import schema_create

    schema_create(name="hostile", document=hostile_ontology().to_document(), author=None)
    backend = get_search_backend()
    backend.index_video(video_id=1, name="street", analytics=street())
    backend.index_video(video_id=2, name=VIDEO, analytics=hostile_video())


def search(client, **body) -> dict:
    response = client.post("/api/v1/search/", {"page_size": 50, **body}, format="json")
    assert response.status_code == 200, response.content[:500]
    return response.json()


def object_query(value: Any) -> dict:
    return {"object": {"label": LABEL, "attrs": {ATTR: value}}}


FACET = f"object:{LABEL}.{ATTR}"
FRAME_FACET = f"frame:{FRAME_ATTR}"


@pytest.mark.django_db
@pytest.mark.parametrize(("value", "count"), list(VALUES.items()))
def test_each_hostile_value_is_searched_exactly(analyst_client, hostile, value, count):
    answer = search(analyst_client, query=object_query(value))

    assert answer["counts"]["objects"] == count
    assert answer["counts"]["frames"] == count
    assert answer["counts"]["videos"] == 1


@pytest.mark.django_db
def test_wildcards_and_quotes_match_only_themselves(analyst_client, hostile):
    """``%`` and ``_`` are values, not LIKE patterns; a quoted OR is not a tautology."""
    assert search(analyst_client, query=object_query(["%", "_"]))["counts"]["objects"] == 2
    assert search(analyst_client, query=object_query("' OR '1'='1"))["counts"]["objects"] == 1
    # NOT of one value: every frame but the one holding it, the street's 5 included.
    total = sum(VALUES.values())
    assert search(analyst_client, query={"not": object_query("%")})["counts"]["frames"] == total - 1 + 5


@pytest.mark.django_db
def test_hostile_facets_and_filters_count_exactly(analyst_client, hostile):
    answer = search(analyst_client, filters={FACET: ["100%", "!it's"]}, facets=[FACET, FRAME_FACET, "label"])

    assert answer["facets"][FACET] == VALUES  # disjunctive: its own filter is left out
    assert answer["counts"]["objects"] == 2
    assert answer["facets"]["label"][LABEL] == 2
    assert answer["facets"][FRAME_FACET] == {"a'b": 0, "%%": 0, "--": 0}  # frames 5 and 6 have no scene
    assert search(analyst_client, filters={FRAME_FACET: ["%%"]})["counts"]["objects"] == 1


@pytest.mark.django_db
def test_hostile_names_in_the_text_form(analyst_client, hostile):
    quoted = json.dumps(LABEL)
    text = f"{quoted}({json.dumps(ATTR)}=\"back\\\\slash\"|\"under_score\") AND NOT {json.dumps(FRAME_ATTR)}=\"%%\""

    answer = search(analyst_client, q=text)

    assert answer["counts"]["objects"] == 3


@pytest.mark.django_db
def test_hostile_video_name_is_a_value(analyst_client, hostile):
    assert search(analyst_client, query={"video": {"name": VIDEO}})["counts"]["frames"] == sum(VALUES.values())
    assert search(analyst_client, query={"video": {"name": "%"}})["counts"]["frames"] == 0
    assert search(analyst_client, q='video.name="street"')["counts"]["frames"] == 5


@pytest.mark.django_db
@pytest.mark.parametrize(("endpoint", "body", "check"), [
    ("occurrence", {"facets": [FACET], "unit": "frames"}, lambda answer: answer["counts"][FACET] == VALUES),
    ("cooccurrence", {"a": FACET, "b": FRAME_FACET, "scope": "frame"},
     lambda answer: answer["rows"] == list(VALUES) and answer["cols"] == list(SCENES)
     and answer["matrix"][0] == [1, 1, 0] and answer["row_totals"] == list(VALUES.values())),
])
def test_hostile_values_in_statistics(analyst_client, hostile, endpoint, body, check):
    response = analyst_client.post(f"/api/v1/stats/{endpoint}/", body, format="json")

    assert response.status_code == 200, response.content[:500]
    assert check(response.json()), response.json()


@pytest.mark.django_db
def test_the_index_is_intact_afterwards(analyst_client, hostile):
    before = search(analyst_client, q="vehicle")["counts"]
    for value in VALUES:
        search(analyst_client, query=object_query(value), filters={FACET: [value]})
        analyst_client.post("/api/v1/stats/occurrence/", {"q": json.dumps(value)}, format="json")

    assert search(analyst_client, q="vehicle")["counts"] == before == {
        "videos": 1, "clips": 2, "frames": 4, "objects": 5, "tracks": 2, "duration_s": pytest.approx(0.4)}
    assert search(analyst_client)["counts"]["frames"] == 5 + sum(VALUES.values())


def _scripts_and_terms(node: Any, scripts: list, terms: set, in_term: bool = False) -> None:
    """Collect the script queries, and the parts of every term value (terms are JSON arrays)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "script" and isinstance(value, dict) and "script" in value:  # a script query
                scripts.append(value)
            _scripts_and_terms(value, scripts, terms, in_term or key in ("term", "terms"))
    elif isinstance(node, list):
        for item in node:
            _scripts_and_terms(item, scripts, terms, in_term)
    elif in_term and isinstance(node, str):
        try:
            parts = json.loads(node)
        except ValueError:
            parts = [node]
        terms.update(str(part) for part in (parts if isinstance(parts, list) else [parts]))


@pytest.mark.parametrize("value", list(VALUES))
def test_elasticsearch_gets_hostile_values_as_terms_never_as_script(value):
    tree = compile_query(query={"and": [object_query(value), {"frame": {FRAME_ATTR: "a'b"}},
                                        {"video": {"name": VIDEO}},
                                        {"geo": {"polygon": [[0, 0], [1, 0], [1, 1]]}}]},
                         ontology=hostile_ontology())
    body = compile_node(tree).to_dict()
    scripts: list = []
    terms: set = set()

    _scripts_and_terms(body, scripts, terms)

    assert [script["script"]["source"] for script in scripts] == [PNPOLY]
    assert all(set(script["script"]["params"]) == {"xs", "ys"} for script in scripts)
    for hostile_text in (value, LABEL, VIDEO, "a'b"):
        assert hostile_text in terms, (hostile_text, terms)
        assert json.dumps(hostile_text) not in json.dumps(scripts)


@pytest.mark.django_db
def test_a_value_with_nul_is_unknown_not_an_error(analyst_client, hostile):
    response = analyst_client.post("/api/v1/search/", {"query": object_query("it's\x00")}, format="json")

    assert response.status_code == 400
    assert response.json()["path"] == f"query.object.attrs[{json.dumps(ATTR)}]"
    assert response.json()["suggestions"] == ["it's"]
