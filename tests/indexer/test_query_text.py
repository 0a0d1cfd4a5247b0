"""The compact text form of queries: parsing, errors that point into the text, and to_text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.query import QueryError, compile_query
from indexer.query.text import compile_text, parse_text, to_text
from indexer.query.tree import normalize
from tests.indexer.test_query_tree import ONTOLOGY, valid_trees


def parsed(text: str) -> dict:
    return parse_text(text, ONTOLOGY)


def text_error(text: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        compile_text(text, ONTOLOGY)
    return caught.value


VEHICLE = {"object": {"label": "vehicle"}}
PERSON = {"object": {"label": "person"}}


# Every kind of predicate.


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("vehicle", VEHICLE),
        ('"traffic sign"', {"object": {"label": "traffic sign"}}),
        ("*", {"object": {}}),
        ("*(color=red)", {"object": {"attrs": {"color": "red"}}}),
        (
            "vehicle(type=sedan|suv, color=black)",
            {"object": {"label": "vehicle", "attrs": {"type": ["sedan", "suv"], "color": "black"}}},
        ),
        (
            "vehicle(confidence>=0.5, confidence<=0.9, track=7)",
            {"object": {"label": "vehicle", "confidence": {"gte": 0.5, "lte": 0.9}, "track": "7"}},
        ),
        ("vehicle(speed>=30)", {"object": {"label": "vehicle", "attrs": {"speed": {"gte": 30}}}}),
        ("vehicle(speed<=50.5)", {"object": {"label": "vehicle", "attrs": {"speed": {"lte": 50.5}}}}),
        ("vehicle(speed=30..50)", {"object": {"label": "vehicle", "attrs": {"speed": {"gte": 30, "lte": 50}}}}),
        ("vehicle(speed>=30, speed<=50)", {"object": {"label": "vehicle", "attrs": {"speed": {"gte": 30, "lte": 50}}}}),
        ("vehicle(parked=true)", {"object": {"label": "vehicle", "attrs": {"parked": True}}}),
        ("vehicle(track=007)", {"object": {"label": "vehicle", "track": "007"}}),
        ("scene=intersection", {"frame": {"scene": "intersection"}}),
        ("frame.scene=highway", {"frame": {"scene": "highway"}}),
        ("FRAME.scene='parking lot'", {"frame": {"scene": "parking lot"}}),
        ("video.weather=rain", {"video": {"weather": "rain"}}),
        ("region=north", {"video": {"region": "north"}}),
        ('video.name="cam 1"', {"video": {"name": "cam 1"}}),
        ("camera=north", {"video": {"camera": "north"}}),
        ("recorded_at>=2021-05-01T00:00:00", {"video": {"recorded_at": {"gte": "2021-05-01T00:00:00"}}}),
        (
            "recorded_at=2021-05-01..2021-06-01",
            {"video": {"recorded_at": {"gte": "2021-05-01", "lte": "2021-06-01"}}},
        ),
        ("event:fight", {"event": {"label": "fight"}}),
        ("event:*", {"event": {}}),
        ("event:fight(severity=high)", {"event": {"label": "fight", "attrs": {"severity": "high"}}}),
        ("time>=3", {"time": {"gte": 3}}),
        ("time<=10", {"time": {"lte": 10}}),
        ("time=3..10", {"time": {"gte": 3, "lte": 10}}),
        ("bbox(-10.5, 20, 30, 40)", {"geo": {"bbox": [-10.5, 20, 30, 40]}}),
        ("polygon(1 2, 3 4, -5 6.5)", {"geo": {"polygon": [[1, 2], [3, 4], [-5, 6.5]]}}),
        ("", {"and": []}),
        ("  ()  ", {"and": []}),
    ],
)
def test_each_form_parses_to_its_tree(text, tree):
    assert parsed(text) == tree


def test_values():
    attrs = parsed(r"""*(a="x \"y\" \\ z\n", b=-3, c=1e3, d=FALSE, e=2.5.1, f=a:b-c_d, g='true')""")
    assert attrs["object"]["attrs"] == {
        "a": 'x "y" \\ z\n',
        "b": -3,
        "c": 1000.0,
        "d": False,
        "e": "2.5.1",
        "f": "a:b-c_d",
        "g": "true",
    }


# Precedence and grouping.


def test_precedence_not_and_or():
    assert parsed("vehicle OR person AND NOT event:fight") == {
        "or": [VEHICLE, {"and": [PERSON, {"not": {"event": {"label": "fight"}}}]}]
    }
    assert parsed("NOT vehicle AND person") == {"and": [{"not": VEHICLE}, PERSON]}


def test_parentheses_and_nested_groups():
    assert parsed("(vehicle OR person) AND NOT (scene=highway OR (time>=3 AND time<=4))") == {
        "and": [
            {"or": [VEHICLE, PERSON]},
            {"not": {"or": [{"frame": {"scene": "highway"}}, {"and": [{"time": {"gte": 3}}, {"time": {"lte": 4}}]}]}},
        ]
    }
    assert parsed("((vehicle))") == VEHICLE


def test_keywords_are_case_insensitive_and_whole_words():
    assert parsed("vehicle and not person Or vehicle") == {"or": [{"and": [VEHICLE, {"not": PERSON}]}, VEHICLE]}
    assert parsed("notable AND order AND android") == {
        "and": [{"object": {"label": "notable"}}, {"object": {"label": "order"}}, {"object": {"label": "android"}}]
    }


def test_spec_example():
    text = "vehicle(type=sedan|suv, color=black) AND scene=intersection AND NOT person"
    assert compile_text(text, ONTOLOGY) == {
        "and": [
            {
                "object": {
                    "label": "vehicle",
                    "attrs": {"type": {"in": ["sedan", "suv"]}, "color": {"in": ["black"]}},
                    "confidence": None,
                    "track": None,
                }
            },
            {"frame": {"scene": {"in": ["intersection"]}}},
            {"not": {"object": {"label": "person", "attrs": {}, "confidence": None, "track": None}}},
        ]
    }


# Bare names.


def test_bare_names_without_ontology():
    assert parse_text("weather=rain") == {"frame": {"weather": "rain"}}
    assert parse_text("camera=north") == {"video": {"camera": "north"}}
    assert parse_text("region=north") == {"frame": {"region": "north"}}


def test_reserved_names_are_plain_when_quoted():
    assert parse_text('"time">=3') == {"frame": {"time": {"gte": 3}}}
    assert parse_text('*("confidence"=high, "track"=x)') == {"object": {"attrs": {"confidence": "high", "track": "x"}}}
    assert parse_text('"not" AND "bbox"') == {"and": [{"object": {"label": "not"}}, {"object": {"label": "bbox"}}]}


def test_unknown_bare_name_is_an_error_with_position():
    error = text_error("vehicle AND scen=highway")
    assert error.message == "unknown attribute 'scen' of frames or videos (did you mean 'scene'?) at line 1, column 13"
    assert (error.position, error.line, error.column, error.suggestions) == (12, 1, 13, ["scene"])
    assert error.excerpt == "vehicle AND scen=highway\n            ^^^^"


def test_object_label_used_as_attribute():
    error = text_error("car=red")
    assert error.message == (
        "'car' is an object label, not a frame or video attribute: write car(attribute=value) at line 1, column 1"
    )


# Errors from the ontology point into the text.


def test_unknown_attribute_inside_an_object():
    error = text_error("scene=highway AND vehicle(colour=red)")
    assert error.message == (
        "unknown attribute 'colour' of object label 'vehicle' (did you mean 'color'?) at line 1, column 27"
    )
    assert (error.position, error.path, error.suggestions) == (26, None, ["color"])
    assert error.excerpt == "scene=highway AND vehicle(colour=red)\n                          ^^^^^^^^^^"


def test_unknown_value_in_a_list():
    error = text_error("vehicle(type=suv|sedna)")
    assert error.message == "unknown value 'sedna' for attribute 'type' (did you mean 'sedan'?) at line 1, column 18"
    assert error.excerpt == "vehicle(type=suv|sedna)\n                 ^^^^^"


def test_unknown_label_on_a_later_line():
    error = text_error("vehicle\nOR vehicel")
    assert (error.line, error.column, error.position) == (2, 4, 11)
    assert error.message == "unknown object label 'vehicel' (did you mean 'vehicle'?) at line 2, column 4"
    assert error.excerpt == "OR vehicel\n   ^^^^^^^"


def test_bad_range_bound_points_at_the_bound():
    error = text_error("time=abc..4")
    assert (error.message, error.column) == ("time expects a finite number, got string 'abc' at line 1, column 6", 6)
    assert text_error("bbox(0, 10, 1, 95)").column == 16


# Syntax errors.


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("vehicle(type=)", "expected a value after '=' but found ')'", 14),
        ("vehicle(type=", "expected a value after '='", 14),
        ("vehicle AND", "expected a condition after 'AND'", 12),
        ("vehicle person", "expected AND or OR after 'vehicle' but found 'person'", 9),
        ("(vehicle person)", "expected AND, OR or ')' after 'vehicle' but found 'person'", 10),
        ("vehicle(type=sedan color=red)", "expected ',' or ')' after 'sedan' but found 'color'", 20),
        ("vehicle(", "expected an attribute name after '('", 9),
        ("vehicle()", "expected an attribute name after '(' but found ')'", 9),
        ("frame.", "expected an attribute name after '.'", 7),
        ("event:", "expected a label or '*' after 'event:'", 7),
        ("speed=3..", "expected a value after '..'", 10),
        ("bbox(1, 2, 3)", "expected ',' after '3' but found ')'", 13),
        ("speed>30", "'>' is not an operator, use '>='", 6),
        ('vehicle(type="sedan)', "unterminated string", 14),
        ("vehicle)", "unbalanced ')': no '(' is open", 8),
        ("&", "expected a condition but found '&'", 1),
        (
            "vehicle.color=red",
            "unknown prefix 'vehicle.': write frame.color or video.color, or vehicle(color=...) "
            "for an object attribute",
            1,
        ),
        ("evnt:fight", "unknown prefix 'evnt:', events are written event:label (did you mean 'event:'?)", 1),
        (
            "vehicle(speed>=3, speed>=4)",
            "'speed' is given twice: use one condition, with '|' for any of several values",
            19,
        ),
        ("vehicle(confidence=0.5)", "confidence takes a range: confidence>=x, confidence<=y or confidence=x..y", 9),
        ("vehicle(track>=3)", "track takes one id: track=7", 9),
        ("time=3", "time takes a range: time>=x, time<=y or time=x..y", 1),
    ],
)
def test_syntax_errors(text, message, column):
    with pytest.raises(QueryError) as caught:
        parse_text(text)
    error = caught.value
    assert error.message == f"{message} at line 1, column {column}"
    assert (error.position, error.line, error.column) == (column - 1, 1, column)


def test_syntax_error_excerpt_and_string():
    with pytest.raises(QueryError) as caught:
        parse_text("vehicle(type=)")
    assert str(caught.value) == (
        "expected a value after '=' but found ')' at line 1, column 14\nvehicle(type=)\n             ^"
    )


def test_depth_limit_in_text():
    assert parse_text("NOT " * 63 + "vehicle")
    with pytest.raises(QueryError) as caught:
        parse_text("NOT " * 64 + "vehicle")
    assert caught.value.message == "the query is nested more than 64 levels deep at line 1, column 257"


def test_very_deep_text_is_refused_without_recursion():
    with pytest.raises(QueryError):
        parse_text("NOT " * 20000 + "(" * 20000 + "vehicle" + ")" * 20000)


# to_text.


@pytest.mark.parametrize(
    ("tree", "text"),
    [
        ({"and": []}, ""),
        ({"or": []}, "NOT ()"),
        ({"or": [{"and": []}, VEHICLE]}, "() OR vehicle"),
        (
            {"and": [{"or": [VEHICLE, PERSON]}, {"not": {"or": [VEHICLE, PERSON]}}]},
            "(vehicle OR person) AND NOT (vehicle OR person)",
        ),
        ({"or": [{"and": [VEHICLE, PERSON]}, {"not": {"not": VEHICLE}}]}, "vehicle AND person OR NOT NOT vehicle"),
        ({"object": {"label": "traffic sign", "attrs": {}, "confidence": None, "track": None}}, '"traffic sign"'),
        (
            {
                "object": {
                    "attrs": {"type": {"in": ["sedan", "suv"]}, "speed": {"gte": 30.0, "lte": None}},
                    "confidence": {"gte": 0.5, "lte": 0.9},
                    "track": "a b",
                }
            },
            '*(type=sedan|suv, speed>=30, confidence=0.5..0.9, track="a b")',
        ),
        ({"frame": {"scene": "parking lot", "weather": ["rain"]}}, 'scene="parking lot" AND weather=rain'),
        ({"not": {"frame": {"scene": "highway", "weather": "rain"}}}, "NOT (scene=highway AND weather=rain)"),
        ({"frame": {"time": {"gte": 1}, "camera": "x"}}, "frame.time>=1 AND frame.camera=x"),
        (
            {"video": {"name": ["12", "true", 'say "hi"'], "region": "north"}},
            'video.name="12"|"true"|"say \\"hi\\"" AND video.region=north',
        ),
        (
            {"video": {"recorded_at": {"gte": 1619827200.0, "lte": 1619827200.0}}},
            "video.recorded_at=2021-05-01T00:00:00Z",
        ),
        ({"video": {"recorded_at": {"gte": 0.1, "lte": None}}}, "video.recorded_at>=1970-01-01T00:00:00.100000Z"),
        ({"event": {"label": None, "attrs": {"severity": ["high"]}}}, "event:*(severity=high)"),
        ({"geo": {"bbox": [170.0, -10.0, -170.5, 10.0]}}, "bbox(170, -10, -170.5, 10)"),
        ({"geo": {"polygon": [[1.0, 2.0], [3, 4], [1e20, 6]]}}, "polygon(1 2, 3 4, 1e20 6)"),
        ({"time": {"gte": 3.0, "lte": 10.25}}, "time=3..10.25"),
    ],
)
def test_to_text(tree, text):
    assert to_text(tree) == text


def test_to_text_refuses_what_it_cannot_write():
    with pytest.raises(QueryError) as caught:
        to_text({"and": [{"objekt": {}}]})
    assert caught.value.path == "query.and[0].objekt"
    with pytest.raises(QueryError) as caught:
        to_text({"time": {}})
    assert caught.value.path == "query.time"


def test_round_trip_of_the_examples():
    for text in [
        "vehicle(type=sedan|suv, color=black) AND scene=intersection AND NOT person",
        "car(speed=30..50, parked=false, track=7) OR event:fight(severity=high) AND time<=10",
        "NOT NOT (region=north OR camera='gate 2') AND recorded_at>=2021-05-01 AND polygon(0 0, 1 0, 1 1)",
        "NOT () OR () AND bbox(170, -10, -170, 10)",
    ]:
        normalized = compile_text(text, ONTOLOGY)
        assert compile_text(to_text(normalized), ONTOLOGY) == normalized
        assert compile_text(to_text(parsed(text)), ONTOLOGY) == normalized


# Properties.


def assert_located(error: QueryError, text: str) -> None:
    assert error.position is not None and 0 <= error.position <= len(text)
    assert error.line is not None and error.column is not None and error.excerpt
    assert f"at line {error.line}, column {error.column}" in error.message


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_any_text_parses_or_raises_a_located_query_error(text):
    try:
        compile_query(q=text, ontology=ONTOLOGY)
    except QueryError as error:
        assert_located(error, text)


VOCABULARY = [
    "vehicle",
    "car",
    "person",
    '"traffic sign"',
    "*",
    "scene",
    "frame",
    "video",
    "event",
    "time",
    "region",
    "camera",
    "recorded_at",
    "confidence",
    "track",
    "speed",
    "color",
    "type",
    "parked",
    "severity",
    "fight",
    "bbox",
    "polygon",
    "AND",
    "or",
    "Not",
    "(",
    ")",
    ",",
    "=",
    ">=",
    "<=",
    "..",
    "|",
    ".",
    ":",
    "sedan",
    "red",
    "high",
    "3",
    "-1.5",
    "0.5",
    "true",
    "2021-05-01T00:00:00",
    "'x y'",
    '"unterminated',
    "\n",
    ">",
    "!",
    "COUNT",
    "count",
    "hour",
    "weekday",
    "clock",
    "mon",
    "<",
    "23",
]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(VOCABULARY), max_size=14), st.sampled_from(["", " "]))
def test_token_soup_parses_or_raises_a_located_query_error(words, separator):
    text = separator.join(words)
    for ontology in (None, ONTOLOGY):
        try:
            tree = parse_text(text, ontology)
        except QueryError as error:
            assert_located(error, text)
            continue
        try:
            compile_text(text, ONTOLOGY)
        except QueryError as error:
            assert_located(error, text)
        assert isinstance(tree, dict)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_trees())
def test_valid_trees_round_trip_through_text(tree):
    normalized = normalize(tree, ONTOLOGY)
    assert normalize(parse_text(to_text(tree), ONTOLOGY), ONTOLOGY) == normalized
    assert compile_text(to_text(normalized), ONTOLOGY) == normalized


def test_recorded_at_text_is_utc_epoch():
    assert compile_text('recorded_at<="2021-05-01T02:00:00+02:00"', ONTOLOGY) == {
        "video": {"recorded_at": {"gte": None, "lte": datetime(2021, 5, 1, tzinfo=UTC).timestamp()}}
    }


# Sequences and dwell.


def test_then_binds_loosest_and_chains_to_the_left():
    person, vehicle = {"object": {"label": "person"}}, {"object": {"label": "vehicle"}}
    assert parse_text("person OR vehicle THEN vehicle AND scene=highway WITHIN 10s", ONTOLOGY) == {"sequence": {
        "first": {"or": [person, vehicle]}, "then": {"and": [vehicle, {"frame": {"scene": "highway"}}]},
        "within_s": 10.0}}
    chained = parse_text("person THEN vehicle WITHIN 5s THEN person WITHIN 1m", ONTOLOGY)
    assert chained == {"sequence": {"first": {"sequence": {"first": person, "then": vehicle, "within_s": 5.0}},
                                    "then": person, "within_s": 60.0}}
    assert to_text(chained) == "person THEN vehicle WITHIN 5s THEN person WITHIN 60s"
    assert to_text({"and": [chained["sequence"]["first"], person]}) == "(person THEN vehicle WITHIN 5s) AND person"


def test_for_binds_to_the_condition_before_it():
    tree = compile_text("vehicle(type=truck) FOR >= 5m AND NOT person FOR >= 2.5s GAP 1s", ONTOLOGY)
    assert tree == {"and": [
        {"dwell": {"query": normalize({"object": {"label": "vehicle", "attrs": {"type": "truck"}}}, ONTOLOGY),
                   "min_s": 300.0, "gap_s": 3.0}},
        {"not": {"dwell": {"query": normalize({"object": {"label": "person"}}, ONTOLOGY), "min_s": 2.5,
                           "gap_s": 1.0}}},
    ]}
    assert to_text(tree) == "vehicle(type=truck) FOR >= 300s AND NOT person FOR >= 2.5s GAP 1s"


@pytest.mark.parametrize(("text", "message", "column"), [
    ("person THEN vehicle", "expected WITHIN after 'vehicle'", 20),
    ("person THEN vehicle WITHIN soon", "expected a duration such as 10s, 2.5s, 5m or 1h, got 'soon'", 28),
    ("person THEN vehicle WITHIN 0s", "within_s is a number of seconds above 0, got 0", 28),
    ("person FOR 3s", "expected '>=' after 'FOR' but found '3s'", 12),
    ("person FOR >= 3s GAP 0s", "gap_s is a number of seconds above 0, got 0", 22),
    ("person FOR >= 2e9s", "min_s is at most 1e+09 s, got 2e+09", 15),
    ("(person THEN vehicel WITHIN 2s)", "unknown object label 'vehicel' (did you mean 'vehicle'?)", 14),
])
def test_sequence_and_dwell_errors_point_into_the_text(text, message, column):
    error = text_error(text)
    assert error.message == f"{message} at line 1, column {column}"
    assert error.column == column
