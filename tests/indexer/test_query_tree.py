"""The JSON query tree (docs/guide/query-language.md): validation against the ontology and the normalized form."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.ontology import BOOLEAN, CATEGORICAL, NUMERIC, AttrSpec, Display, LabelSpec, Ontology
from indexer.query import QueryError, compile_query
from indexer.query.tree import normalize


def categorical(name: str, *values: str) -> AttrSpec:
    return AttrSpec(name=name, kind=CATEGORICAL, values=list(values))


def build_ontology() -> Ontology:
    """The ontology every query test runs against."""
    vehicle = LabelSpec(
        label="vehicle",
        attrs={
            "make": categorical("make", "toyota", "ford", "honda"),
            "type": categorical("type", "sedan", "suv", "truck"),
            "color": categorical("color", "black", "white", "red"),
            "speed": AttrSpec(name="speed", kind=NUMERIC, range=(0.0, 200.0)),
            "parked": AttrSpec(name="parked", kind=BOOLEAN),
        },
    )
    person = LabelSpec(label="person", attrs={"age": AttrSpec(name="age", kind=NUMERIC)})
    sign = LabelSpec(label="traffic sign")
    fight = LabelSpec(label="fight", attrs={"severity": categorical("severity", "low", "high")})
    return Ontology(
        video_attrs={"region": categorical("region", "north", "south")},
        frame_attrs={
            "scene": categorical("scene", "intersection", "highway", "parking lot"),
            "weather": categorical("weather", "rain", "clear", "snow"),
        },
        objects={"vehicle": vehicle, "person": person, "traffic sign": sign},
        events={"fight": fight},
        display=Display(synonyms={"car": "vehicle"}),
    )


ONTOLOGY = build_ontology()


def norm(tree):
    return normalize(tree, ONTOLOGY)


def error_of(tree) -> QueryError:
    with pytest.raises(QueryError) as caught:
        norm(tree)
    return caught.value


def obj(label=None, attrs=None, confidence=None, track=None) -> dict:
    return {"object": {"label": label, "attrs": attrs or {}, "confidence": confidence, "track": track}}


# Objects.


def test_object_values_are_typed_and_synonyms_resolved():
    tree = {"object": {"label": "car", "attrs": {"type": ["sedan", "suv"], "speed": 30, "parked": "TRUE"}}}
    assert norm(tree) == obj(
        "vehicle", {"type": {"in": ["sedan", "suv"]}, "speed": {"in": [30.0]}, "parked": {"in": [True]}}
    )


def test_object_numeric_range_may_lie_outside_the_schema_range():
    tree = {"object": {"label": "vehicle", "attrs": {"speed": {"gte": 250, "lte": 900.5}}}}
    assert norm(tree) == obj("vehicle", {"speed": {"gte": 250.0, "lte": 900.5}})


def test_object_half_open_range_and_in_form():
    tree = {"object": {"label": "vehicle", "attrs": {"speed": {"lte": 50}, "color": {"in": ["red", "red", "black"]}}}}
    assert norm(tree) == obj("vehicle", {"speed": {"gte": None, "lte": 50.0}, "color": {"in": ["red", "black"]}})


def test_object_confidence_and_track():
    tree = {"object": {"label": "person", "confidence": {"gte": 0.5}, "track": 7}}
    assert norm(tree) == obj("person", confidence={"gte": 0.5, "lte": None}, track="7")


def test_object_without_label_checks_the_attribute_on_any_label():
    assert norm({"object": {"attrs": {"age": {"gte": 18}}}}) == obj(None, {"age": {"gte": 18.0, "lte": None}})
    assert norm({"object": {}}) == obj()


def test_unknown_attribute_names_path_and_suggestion():
    tree = {"and": [{"frame": {"scene": "highway"}}, {"object": {"label": "vehicle", "attrs": {"colour": "red"}}}]}
    error = error_of(tree)
    assert error.path == "query.and[1].object.attrs.colour"
    assert error.message == "unknown attribute 'colour' of object label 'vehicle' (did you mean 'color'?)"
    assert error.suggestions == ["color"]


def test_unknown_attribute_without_label():
    error = error_of({"object": {"attrs": {"agee": 3}}})
    assert error.path == "query.object.attrs.agee"
    assert error.message == "unknown attribute 'agee' of any object label (did you mean 'age'?)"


def test_attribute_of_another_label_is_unknown():
    error = error_of({"object": {"label": "person", "attrs": {"color": "red"}}})
    assert error.message == "unknown attribute 'color' of object label 'person'"
    assert error.suggestions == []


def test_unknown_label_suggests_labels_and_synonyms():
    error = error_of({"object": {"label": "vehicel"}})
    assert (error.path, error.suggestions) == ("query.object.label", ["vehicle"])
    assert error.message == "unknown object label 'vehicel' (did you mean 'vehicle'?)"
    assert error_of({"object": {"label": "cars"}}).suggestions == ["car"]


def test_unknown_value_suggests_allowed_values():
    error = error_of({"object": {"label": "vehicle", "attrs": {"type": ["suv", "sedna"]}}})
    assert error.path == "query.object.attrs.type[1]"
    assert error.message == "unknown value 'sedna' for attribute 'type' (did you mean 'sedan'?)"
    assert error.suggestions == ["sedan"]


@pytest.mark.parametrize(
    ("attrs", "path", "message"),
    [
        ({"speed": "fast"}, "query.object.attrs.speed", "attribute 'speed' expects a finite number, got string 'fast'"),
        ({"speed": True}, "query.object.attrs.speed", "attribute 'speed' expects a finite number, got boolean true"),
        ({"speed": math.inf}, "query.object.attrs.speed", "attribute 'speed' expects a finite number, got a number"),
        ({"speed": 10**400}, "query.object.attrs.speed", "attribute 'speed' expects a finite number, got a number"),
        ({"parked": "yes"}, "query.object.attrs.parked", "attribute 'parked' expects true or false, got string 'yes'"),
        ({"color": None}, "query.object.attrs.color", "attribute 'color' expects a category (string), got null"),
        ({"color": []}, "query.object.attrs.color", "the condition on 'color' needs at least one value"),
        (
            {"color": {"gte": 1}},
            "query.object.attrs.color",
            "attribute 'color' is not numeric: a range applies to numbers only",
        ),
        ({"speed": {}}, "query.object.attrs.speed", "the range for attribute 'speed' needs gte, lte or both"),
        (
            {"speed": {"gte": 5, "lte": 3}},
            "query.object.attrs.speed",
            "the range for attribute 'speed' is empty: gte 5 is greater than lte 3",
        ),
        (
            {"speed": {"gt": 5}},
            "query.object.attrs.speed.gt",
            "unknown range bound 'gt' for attribute 'speed' (did you mean 'gte'?)",
        ),
        (
            {"speed": {"gte": "x"}},
            "query.object.attrs.speed.gte",
            "attribute 'speed' expects a finite number, got string 'x'",
        ),
        ({"color": {"in": "red"}}, "query.object.attrs.color.in", "'in' takes a list of values, got string 'red'"),
        (
            {"color": {"in": ["red"], "x": 1}},
            "query.object.attrs.color.x",
            "unknown key 'x' in the condition on 'color'",
        ),
    ],
)
def test_bad_values(attrs, path, message):
    error = error_of({"object": {"label": "vehicle", "attrs": attrs}})
    assert (error.path, error.message) == (path, message)


@pytest.mark.parametrize(
    ("field", "value", "path", "message"),
    [
        ("confidence", {"lte": 1.5}, "query.object.confidence.lte", "confidence is between 0 and 1, got 1.5"),
        ("confidence", 0.5, "query.object.confidence", 'confidence expects a range {"gte": x, "lte": y}, got a number'),
        ("track", True, "query.object.track", "a track id is a non-empty string or an integer, got boolean true"),
        ("track", "", "query.object.track", "a track id is a non-empty string or an integer, got string ''"),
        (
            "lable",
            "vehicle",
            "query.object.lable",
            "unknown key 'lable' in an object predicate (did you mean 'label'?)",
        ),
        ("label", 3, "query.object.label", "an object label is a string, got a number"),
        ("attrs", [], "query.object.attrs", "attrs is an object {name: condition}, got a list"),
    ],
)
def test_bad_object_fields(field, value, path, message):
    error = error_of({"object": {field: value}})
    assert (error.path, error.message) == (path, message)


def test_numbers_stand_for_categories_by_their_text():
    assert norm({"video": {"camera": 7}}) == {"video": {"camera": {"in": ["7"]}}}
    assert norm({"video": {"name": 2.0}}) == {"video": {"name": {"in": ["2"]}}}


# Frames, videos, events.


def test_frame_attributes_become_one_node_each():
    tree = {"frame": {"scene": "parking lot", "weather": ["rain", "snow"]}}
    assert norm(tree) == {
        "and": [{"frame": {"scene": {"in": ["parking lot"]}}}, {"frame": {"weather": {"in": ["rain", "snow"]}}}]
    }


def test_frame_errors():
    error = error_of({"frame": {"road type": "x"}})
    assert (error.path, error.message) == ('query.frame["road type"]', "unknown attribute 'road type' of frames")
    error = error_of({"frame": {"scen": "highway"}})
    assert (error.path, error.suggestions) == ("query.frame.scen", ["scene"])
    assert error_of({"frame": {}}).path == "query.frame"


def test_video_attributes_and_builtins():
    tree = {"video": {"region": "north", "name": "cam 1", "camera": "north gate"}}
    assert norm(tree) == {
        "and": [
            {"video": {"region": {"in": ["north"]}}},
            {"video": {"name": {"in": ["cam 1"]}}},
            {"video": {"camera": {"in": ["north gate"]}}},
        ]
    }
    error = error_of({"video": {"regoin": "north"}})
    assert error.message == "unknown attribute 'regoin' of videos (did you mean 'region'?)"


def test_recorded_at_becomes_epoch_ranges():
    may_first = datetime(2021, 5, 1, tzinfo=UTC).timestamp()
    assert norm({"video": {"recorded_at": "2021-05-01T00:00:00"}}) == {
        "video": {"recorded_at": {"gte": may_first, "lte": may_first}}
    }
    assert norm({"video": {"recorded_at": {"gte": "2021-05-01T02:00:00+02:00", "lte": may_first + 60}}}) == {
        "video": {"recorded_at": {"gte": may_first, "lte": may_first + 60}}
    }
    assert norm({"video": {"recorded_at": ["2021-05-01", may_first + 1]}}) == {
        "or": [
            {"video": {"recorded_at": {"gte": may_first, "lte": may_first}}},
            {"video": {"recorded_at": {"gte": may_first + 1, "lte": may_first + 1}}},
        ]
    }


def test_recorded_at_errors():
    error = error_of({"video": {"recorded_at": {"gte": "last week"}}})
    assert error.path == "query.video.recorded_at.gte"
    assert error.message == "recorded_at expects an ISO 8601 date-time or epoch seconds, got string 'last week'"


def test_event():
    tree = {"event": {"label": "fight", "attrs": {"severity": "high"}}}
    assert norm(tree) == {"event": {"label": "fight", "attrs": {"severity": {"in": ["high"]}}}}
    assert norm({"event": {}}) == {"event": {"label": None, "attrs": {}}}
    error = error_of({"event": {"label": "fihgt"}})
    assert (error.path, error.message) == ("query.event.label", "unknown event label 'fihgt' (did you mean 'fight'?)")
    error = error_of({"event": {"label": "fight", "attrs": {"severty": "low"}}})
    assert error.message == "unknown attribute 'severty' of event label 'fight' (did you mean 'severity'?)"


# Geo and time.


def test_geo_shapes():
    assert norm({"geo": {"bbox": [170, -10, -170, 10]}}) == {"geo": {"bbox": [170.0, -10.0, -170.0, 10.0]}}
    polygon = [[0, 0], [1, 0], [1, 1], [0, 0]]
    assert norm({"geo": {"polygon": polygon}}) == {"geo": {"polygon": [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]}}


@pytest.mark.parametrize(
    ("geo", "path", "message"),
    [
        ({"bbox": [0, 0, 1]}, "query.geo.bbox", "bbox is [west, south, east, north]"),
        ({"bbox": [0, 95, 1, 1]}, "query.geo.bbox[1]", "south 95 is outside -90..90"),
        ({"bbox": [0, 10, 1, 5]}, "query.geo.bbox", "bbox south 10 is north of its north 5"),
        ({"polygon": [[0, 0], [1, 1]]}, "query.geo.polygon", "polygon is a list of 3 to 1000 [lon, lat] vertices"),
        ({"polygon": [[0, 0]] * 1001}, "query.geo.polygon", "polygon is a list of 3 to 1000 [lon, lat] vertices"),
        ({"polygon": [[0, 0], [1, 1], [2]]}, "query.geo.polygon[2]", "a polygon vertex is [lon, lat]"),
        ({"polygon": [[0, 0], [1, 1], [181, 0]]}, "query.geo.polygon[2][0]", "longitude 181 is outside -180..180"),
        ({"circle": 1}, "query.geo.circle", "unknown geo shape 'circle'"),
        ({"bbox": [0, 0, 1, 1], "polygon": []}, "query.geo", "geo takes exactly one of bbox or polygon"),
    ],
)
def test_geo_errors(geo, path, message):
    error = error_of({"geo": geo})
    assert (error.path, error.message) == (path, message)


def test_time():
    assert norm({"time": {"gte": 3, "lte": 10}}) == {"time": {"gte": 3.0, "lte": 10.0}}
    assert norm({"time": {"lte": 10}}) == {"time": {"gte": None, "lte": 10.0}}
    assert error_of({"time": {}}).message == "the range for time needs gte, lte or both"


# Boolean structure.


def test_groups_flatten_and_collapse():
    vehicle, person = {"object": {"label": "vehicle"}}, {"object": {"label": "person"}}
    assert norm({"and": [{"and": [vehicle]}, {"and": [person, {"and": []}]}]}) == {
        "and": [obj("vehicle"), obj("person")]
    }
    assert norm({"or": [vehicle]}) == obj("vehicle")
    assert norm({"or": [{"or": [vehicle, person]}, {"and": [vehicle, person]}]}) == {
        "or": [obj("vehicle"), obj("person"), {"and": [obj("vehicle"), obj("person")]}]
    }
    assert norm({"not": {"not": vehicle}}) == {"not": {"not": obj("vehicle")}}


def test_true_and_false():
    assert norm({"and": []}) == {"and": []}
    assert norm({"or": []}) == {"or": []}
    assert norm({"not": {"and": []}}) == {"or": []}
    assert norm({"not": {"or": []}}) == {"and": []}


def nested_not(depth: int) -> dict:
    tree: dict = {"time": {"gte": 1}}
    for _ in range(depth - 1):
        tree = {"not": tree}
    return tree


def test_depth_limit():
    assert norm(nested_not(64))
    error = error_of(nested_not(65))
    assert error.message == "the query is nested more than 64 levels deep"
    assert error.path == "query" + ".not" * 64


ONE_KEY = ("a query node is an object with exactly one key, one of and, or, not, object, frame, video, event, geo, "
           "time, clock, hour, weekday, count, zone, sequence, dwell")


@pytest.mark.parametrize(
    ("tree", "path", "message"),
    [
        ({"objekt": {}}, "query.objekt", "unknown query node 'objekt' (did you mean 'object'?)"),
        (
            {"and": [{"object": {}, "frame": {}}]},
            "query.and[0]",
            ONE_KEY,
        ),
        (
            [],
            "query",
            ONE_KEY,
        ),
        ({"or": {"object": {}}}, "query.or", "'or' takes a list of queries"),
    ],
)
def test_structure_errors(tree, path, message):
    error = error_of(tree)
    assert (error.path, error.message) == (path, message)


def test_error_string_leads_with_the_path():
    assert str(error_of({"objekt": {}})) == "query.objekt: unknown query node 'objekt' (did you mean 'object'?)"


# compile_query.


def test_compile_query_takes_a_tree_or_text_or_nothing():
    assert compile_query(ontology=ONTOLOGY) == {"and": []}
    assert compile_query(q="", ontology=ONTOLOGY) == {"and": []}
    assert compile_query(query={"object": {"label": "car"}}, ontology=ONTOLOGY) == obj("vehicle")
    assert compile_query(q="car", ontology=ONTOLOGY) == obj("vehicle")


def test_compile_query_errors_carry_path_or_position():
    with pytest.raises(QueryError) as caught:
        compile_query(query={"object": {"label": "carr"}}, ontology=ONTOLOGY)
    assert (caught.value.path, caught.value.position) == ("query.object.label", None)
    with pytest.raises(QueryError) as caught:
        compile_query(q="person AND carr", ontology=ONTOLOGY)
    assert (caught.value.path, caught.value.position, caught.value.column) == (None, 11, 12)
    with pytest.raises(QueryError) as caught:
        compile_query(query={"and": []}, q="car", ontology=ONTOLOGY)
    assert caught.value.path == "q"


# Properties.

NODE_KEYS = [
    "and",
    "or",
    "not",
    "object",
    "frame",
    "video",
    "event",
    "geo",
    "time",
    "label",
    "attrs",
    "confidence",
    "track",
    "gte",
    "lte",
    "in",
    "bbox",
    "polygon",
    "scene",
    "speed",
    "color",
    "recorded_at",
    "name",
    "vehicle",
    "fight",
    "severity",
    "objekt",
]
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["vehicle", "car", "sedan", "red", "true", "2021-05-01", "fight", "high", "rain"])
)
json_ish = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(NODE_KEYS) | st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_ish)
def test_any_json_either_normalizes_or_raises_query_error_with_path(tree):
    try:
        normalized = norm(tree)
    except QueryError as error:
        assert error.path is not None and error.path.startswith("query")
        assert error.message
    else:
        assert norm(normalized) == normalized


def numbers(low: float = -1e9, high: float = 1e9):
    return st.integers(int(low), int(high)) | st.floats(low, high, allow_nan=False, allow_infinity=False)


def ranges(values):
    """``{"gte": x, "lte": y}`` with one or both bounds, x <= y."""

    def build(pair, which):
        low, high = sorted(pair)
        bounds = {"gte": low, "lte": high}
        return bounds if which == "both" else {which: bounds[which]}

    return st.builds(build, st.tuples(values, values), st.sampled_from(["gte", "lte", "both"]))


def attr_values(spec: AttrSpec):
    if spec.kind == NUMERIC:
        return numbers()
    if spec.kind == BOOLEAN:
        return st.booleans() | st.sampled_from(["true", "false", "True"])
    return st.sampled_from(spec.values)


def conditions(spec: AttrSpec):
    values = attr_values(spec)
    choices = (
        values
        | st.lists(values, min_size=1, max_size=3)
        | st.builds(lambda v: {"in": v}, st.lists(values, min_size=1, max_size=3))
    )
    return choices | ranges(numbers()) if spec.kind == NUMERIC else choices


def attrs_of(specs: dict[str, AttrSpec]):
    if not specs:
        return st.just({})
    return st.lists(st.sampled_from(sorted(specs)), unique=True, max_size=3).flatmap(
        lambda names: st.fixed_dictionaries({name: conditions(specs[name]) for name in names})
    )


def object_trees():
    labels = st.sampled_from(["vehicle", "car", "person", "traffic sign", None])

    def build(label):
        spec = ONTOLOGY.objects[ONTOLOGY.resolve_label(label)] if label else ONTOLOGY.objects["person"]
        optional = {
            "confidence": ranges(st.floats(0, 1)),
            "track": st.integers(0, 10**6) | st.text(min_size=1, max_size=6),
        }
        body = st.fixed_dictionaries({"attrs": attrs_of(spec.attrs)}, optional=optional)
        return body.map(lambda b: {"object": {**b, "label": label} if label else b})

    return labels.flatmap(build)


def instants():
    zones = st.none() | st.builds(lambda hours: timezone(timedelta(hours=hours)), st.integers(-12, 14))
    moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=zones)
    return moments.map(datetime.isoformat) | numbers(-1e10, 1e10)


def frame_trees():
    specs = ONTOLOGY.frame_attrs
    return (
        st.lists(st.sampled_from(sorted(specs)), unique=True, min_size=1, max_size=2)
        .flatmap(lambda names: st.fixed_dictionaries({name: conditions(specs[name]) for name in names}))
        .map(lambda attrs: {"frame": attrs})
    )


def video_trees():
    free_text = st.text(max_size=8) | st.integers(-100, 100)
    attrs = st.fixed_dictionaries(
        {},
        optional={
            "region": conditions(ONTOLOGY.video_attrs["region"]),
            "name": free_text | st.lists(free_text, min_size=1, max_size=2),
            "camera": free_text,
            "recorded_at": instants() | st.lists(instants(), min_size=1, max_size=2) | ranges(numbers(-1e10, 1e10)),
        },
    ).filter(bool)
    return attrs.map(lambda body: {"video": body})


def event_trees():
    severity = conditions(ONTOLOGY.events["fight"].attrs["severity"])
    return st.fixed_dictionaries(
        {}, optional={"label": st.just("fight"), "attrs": st.fixed_dictionaries({}, optional={"severity": severity})}
    ).map(lambda body: {"event": body})


def geo_trees():
    lons, lats = st.floats(-180, 180), st.floats(-90, 90)
    bbox = st.builds(lambda w, e, lat_pair: [w, min(lat_pair), e, max(lat_pair)], lons, lons, st.tuples(lats, lats))
    polygon = st.lists(st.tuples(lons, lats).map(list), min_size=3, max_size=6)
    return bbox.map(lambda b: {"geo": {"bbox": b}}) | polygon.map(lambda p: {"geo": {"polygon": p}})


def time_trees():
    return ranges(numbers(0, 1e5)).map(lambda bounds: {"time": bounds})


# Wall-clock time and counts (issue 21). Without a zone of their own, so that they round-trip
# through the text form (which has none); zoned_trees() adds them.


def clock_trees():
    iso = st.just({"gte": "2026-12-01T07:00", "lte": "2026-12-01T09:00+01:00"})
    return (ranges(numbers(-1e10, 1e10)) | iso).map(lambda bounds: {"clock": bounds})


def cyclic(values):
    value = st.sampled_from(values)
    return (value | st.lists(value, min_size=1, max_size=4) | st.builds(lambda v: {"in": v}, st.lists(
        value, min_size=1, max_size=3)) | st.builds(lambda a, b: {"gte": a, "lte": b}, value, value))


def hour_trees():
    return cyclic(list(range(24))).map(lambda body: {"hour": body})


def weekday_trees():
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "Monday", "SUNDAY", 1, 7]
    return cyclic(days).map(lambda body: {"weekday": body})


def count_trees():
    count = st.integers(0, 20)
    bounds = (st.builds(lambda n: {"eq": n}, count) | ranges(count) | st.builds(lambda n: {"gt": n}, count)
              | st.builds(lambda n: {"lt": n}, st.integers(1, 20)))
    return st.builds(lambda obj, b: {"count": {"object": obj["object"], **b}}, object_trees(), bounds)


def zoned_trees():
    zone = st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata"])
    return st.builds(lambda tree, tz: {kind: {"in": body if isinstance(body, list) else [body], "tz": tz}
                                       for kind, body in tree.items()},
                     hour_trees().filter(lambda t: not isinstance(t["hour"], dict)), zone)


def valid_trees():
    """JSON query trees that normalize without error."""
    leaves = object_trees() | frame_trees() | video_trees() | event_trees() | geo_trees() | time_trees()
    leaves = leaves | clock_trees() | hour_trees() | weekday_trees() | count_trees()
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=3).map(lambda items: {"and": items})
            | st.lists(children, max_size=3).map(lambda items: {"or": items})
            | children.map(lambda child: {"not": child})
            | st.builds(lambda first, then, within: {"sequence": {"first": first, "then": then, "within_s": within}},
                        children, children, durations(positive=True))
            | st.builds(dwell_tree, children, durations(positive=False), st.none() | durations(positive=True))
        ),
        max_leaves=8,
    )


def durations(*, positive: bool):
    """Seconds a sequence window (positive) or a dwell minimum may take, as ints or floats."""
    low = 5e-324 if positive else 0.0
    return st.floats(low, 1e9) | st.integers(1 if positive else 0, 10**9)


def dwell_tree(query, minimum, gap) -> dict:
    return {"dwell": {"query": query, "min_s": minimum, **({} if gap is None else {"gap_s": gap})}}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_trees())
def test_normalize_is_idempotent(tree):
    normalized = norm(tree)
    assert norm(normalized) == normalized


@settings(max_examples=100, deadline=None)
@given(zoned_trees(), st.sampled_from(["UTC", "America/New_York"]))
def test_a_nodes_own_zone_wins_over_the_requests(tree, tz):
    normalized = normalize(tree, ONTOLOGY, tz=tz)
    assert normalized["hour"]["tz"] == tree["hour"]["tz"]
    assert normalize(normalized, ONTOLOGY, tz=tz) == normalized
@pytest.mark.parametrize(("tree", "path", "message"), [
    ({"sequence": {"first": {"object": {}}, "within_s": 3}}, "query.sequence.then",
     'a sequence needs \'then\': {"first": A, "then": B, "within_s": 10}'),
    ({"sequence": {"first": {"object": {}}, "then": {"object": {}}, "within_s": -1}}, "query.sequence.within_s",
     "within_s is a number of seconds above 0, got -1"),
    ({"sequence": {"first": {"object": {}}, "then": {"object": {}}, "within": 3}}, "query.sequence.within",
     "unknown key 'within' in a sequence (did you mean 'within_s' or 'then'?)"),
    ({"dwell": {"query": {"object": {"label": "persn"}}, "min_s": 3}}, "query.dwell.query.object.label",
     "unknown object label 'persn' (did you mean 'person'?)"),
    ({"dwell": {"query": {"object": {}}, "min_s": "long"}}, "query.dwell.min_s",
     "min_s expects a finite number, got string 'long'"),
])
def test_sequence_and_dwell_errors(tree, path, message):
    error = error_of(tree)
    assert (error.path, error.message) == (path, message)


def test_dwell_gets_the_default_gap():
    assert norm({"dwell": {"query": {"frame": {"scene": "highway"}}, "min_s": 10}}) == {
        "dwell": {"query": {"frame": {"scene": {"in": ["highway"]}}}, "min_s": 10.0, "gap_s": 3.0}}
