"""Human review in the query language: the built-in ``review`` attribute of every object label,
its ``review`` shorthand in the tree, its facet, and the name reserved in schemas."""

from __future__ import annotations

import pytest

from indexer.facets import facets_for, filters_to_node, parse_filters
from indexer.ontology import REVIEW_STATES, SchemaError, parse_schema_document, with_review
from indexer.query import QueryError, compile_query
from indexer.query.text import to_text
from indexer.records import Analytics, ObjectRecord, VideoMeta
from indexer.validation import validate
from tests.indexer.test_query_tree import ONTOLOGY

SEARCHED = with_review(ONTOLOGY)
CONFIRMED_VEHICLE = {"object": {"label": "vehicle", "attrs": {"review": {"in": ["confirmed"]}},
                                "confidence": None, "track": None}}


def error(**request) -> QueryError:
    with pytest.raises(QueryError) as caught:
        compile_query(ontology=SEARCHED, **request)
    return caught.value


def test_every_object_label_has_the_review_states_and_the_stored_ontology_does_not():
    assert {label: spec.attrs["review"].values for label, spec in SEARCHED.objects.items()} == {
        "vehicle": list(REVIEW_STATES), "person": list(REVIEW_STATES), "traffic sign": list(REVIEW_STATES)}
    assert REVIEW_STATES == ("unreviewed", "confirmed", "rejected", "corrected", "disputed")
    assert all("review" not in spec.attrs for spec in ONTOLOGY.objects.values())
    assert "review" not in SEARCHED.events["fight"].attrs


def test_the_text_form_takes_review_like_any_attribute():
    assert compile_query(q="vehicle(review=confirmed)", ontology=SEARCHED) == CONFIRMED_VEHICLE
    assert compile_query(q="car(color=red, review=confirmed|corrected)", ontology=SEARCHED) == {"object": {
        "label": "vehicle", "attrs": {"color": {"in": ["red"]}, "review": {"in": ["confirmed", "corrected"]}},
        "confidence": None, "track": None}}
    assert compile_query(q="*(review=rejected)", ontology=SEARCHED)["object"]["attrs"] == {
        "review": {"in": ["rejected"]}}


def test_the_tree_takes_review_as_a_field_of_the_object():
    tree = {"object": {"label": "vehicle", "review": ["confirmed", "corrected"]}}
    normalized = compile_query(query=tree, ontology=SEARCHED)
    assert normalized == {"object": {"label": "vehicle", "attrs": {"review": {"in": ["confirmed", "corrected"]}},
                                     "confidence": None, "track": None}}
    assert compile_query(query={"object": {"label": "vehicle", "review": "confirmed"}}, ontology=SEARCHED) == (
        CONFIRMED_VEHICLE)
    assert compile_query(query={"object": {"label": "vehicle", "attrs": {"review": "confirmed"}}},
                         ontology=SEARCHED) == CONFIRMED_VEHICLE
    # The text form writes it as an attribute, and reads back the same tree.
    assert to_text(normalized) == "vehicle(review=confirmed|corrected)"
    assert compile_query(q=to_text(normalized), ontology=SEARCHED) == normalized


@pytest.mark.parametrize(("request_", "path", "message"), [
    ({"q": "vehicle(review=confirmd)"}, None, "unknown value 'confirmd' for attribute 'review' (did you mean "
                                              "'confirmed'?)"),
    ({"query": {"object": {"label": "vehicle", "review": ["confirmed", "maybe"]}}}, "query.object.review[1]",
     "unknown value 'maybe' for attribute 'review'"),
    ({"query": {"object": {"label": "vehicle", "review": {"gte": 1}}}}, "query.object.review",
     "'review' takes a state or a list of states, got an object"),
    ({"query": {"object": {"label": "vehicle", "review": []}}}, "query.object.review",
     "the condition on 'review' needs at least one value"),
    ({"query": {"object": {"label": "vehicle", "review": "confirmed", "attrs": {"review": "rejected"}}}},
     "query.object.review", "give the review condition once: as 'review' or as 'attrs.review', not both"),
])
def test_a_bad_review_condition_says_what_and_where(request_, path, message):
    caught = error(**request_)
    assert message in caught.message
    if path is not None:
        assert caught.path == path


def test_without_the_built_in_the_review_field_is_refused():
    with pytest.raises(QueryError) as caught:
        compile_query(query={"object": {"label": "vehicle", "review": "confirmed"}}, ontology=ONTOLOGY)
    assert (caught.value.path, caught.value.message) == (
        "query.object.review", "no object label has the attribute 'review'")


def test_one_review_facet_counts_every_label_and_no_label_has_its_own():
    facets = facets_for(SEARCHED)
    review = facets["review"]
    assert (review.kind, review.label, review.attr, review.values, review.default_unit) == (
        "object", None, "review", REVIEW_STATES, "objects")
    assert [key for key in facets if "review" in key] == ["review"]
    assert list(facets)[:2] == ["label", "review"]
    assert "review" not in facets_for(ONTOLOGY)
    parsed = parse_filters({"review": ["confirmed", "corrected"]}, SEARCHED)
    assert filters_to_node(parsed, SEARCHED) == {"and": [{"object": {
        "label": None, "attrs": {"review": {"in": ["confirmed", "corrected"]}}, "confidence": None, "track": None}}]}
    with pytest.raises(ValueError, match="unknown value 'maybe' for facet 'review'"):
        parse_filters({"review": ["maybe"]}, SEARCHED)


def test_a_schema_may_not_define_an_object_attribute_named_review():
    document = {"objects": {"schema": {"car": {"label": "car", "attrs": {"schema": {}}, "frames": {"schema": {
        "review": {"name": "review", "type": "eta.core.data.CategoricalAttribute", "categories": ["ok"]}}}}}}}
    with pytest.raises(SchemaError) as caught:
        parse_schema_document(document)
    assert caught.value.problems == [(
        "$.objects.schema.car.frames.schema.review",
        "'review' is a built-in attribute of every object label (human review's state: unreviewed, confirmed, "
        "rejected, corrected, disputed); name this attribute otherwise")]
    # Frame, video and event attributes may still be called review.
    frame_only = {"frames": {"schema": {"review": {"name": "review", "type": "eta.core.data.BooleanAttribute"}}}}
    assert "review" in parse_schema_document(frame_only).frame_attrs


def test_a_payload_giving_a_review_state_is_told_that_votes_set_it():
    detection = ObjectRecord(0, 0.0, "vehicle", attrs={"review": "confirmed", "color": "red"}, path="frames.1")
    report = validate(Analytics.from_list(format="test", meta=VideoMeta(), records=[detection]), ONTOLOGY,
                      mode="filter")
    assert report.violations == [{"path": "frames.1", "message": (
        "unknown attribute 'review' for object label 'vehicle': 'review' is human review's state, which votes "
        "set, never a payload")}]
    assert [record.attrs for record in report.analytics.records()] == [{"color": "red"}]
