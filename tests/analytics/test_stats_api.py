"""Occurrence, co-occurrence (lift worked out by hand), top pairs and the timeline
through the REST API, with their figures and their 400s."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.analytics.corpus import analytics, create_schema, index_video, person, street, vehicle

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(db):
    create_schema()
    index_video(1, "street", street())
    # No GPS and no recorded_at: it counts everywhere but on maps and on the wall clock.
    index_video(2, "garage", analytics(vehicle(0, "truck", "black"), person(1), recorded_at=None))


def post(client, endpoint: str, body: dict, status: int = 200) -> dict:
    response = client.post(f"/api/v1/stats/{endpoint}/", body, format="json")
    assert response.status_code == status, response.content
    return response.json()


# Occurrence ------------------------------------------------------------------------------------


def test_occurrence_counts_every_value_over_the_matching_frames(analyst_client, corpus):
    answer = post(analyst_client, "occurrence", {"facets": ["object:vehicle.type", "label", "frame:scene"]})

    assert answer["unit"] == "objects"
    assert answer["counts"] == {
        "object:vehicle.type": {"sedan": 3, "suv": 2, "truck": 1},
        "label": {"vehicle": 6, "person": 2},
        # objects in the frames of each scene: frame 0 holds 1, frame 50 holds 1
        "frame:scene": {"city": 1, "highway": 1},
    }


def test_occurrence_is_not_disjunctive(analyst_client, corpus):
    """A filter on a facet narrows that facet's own counts too (unlike the sidebar)."""
    answer = post(analyst_client, "occurrence", {"facets": ["object:vehicle.type"],
                                                 "filters": {"object:vehicle.type": ["suv"]}, "unit": "frames"})

    # frames 1 and 2 hold an SUV; frame 1 also holds a sedan
    assert answer["counts"]["object:vehicle.type"] == {"sedan": 1, "suv": 2, "truck": 0}


@pytest.mark.parametrize(("unit", "sedan"), [
    ("objects", 3), ("tracks", 1), ("frames", 3), ("clips", 2), ("videos", 1),
    ("seconds", pytest.approx(0.3)),  # 3 frames of a 10 fps video
])
def test_each_unit(analyst_client, corpus, unit, sedan):
    answer = post(analyst_client, "occurrence", {"facets": ["object:vehicle.type"], "unit": unit})

    assert answer["counts"]["object:vehicle.type"]["sedan"] == sedan


def test_occurrence_figures_are_plotly_bar_charts(analyst_client, corpus):
    answer = post(analyst_client, "occurrence", {"facets": ["object:vehicle.color", "object:vehicle.parked"],
                                                 "figure": True})

    [bar] = answer["figures"]["object:vehicle.color"]["data"]
    assert (bar["type"], bar["x"], bar["y"], bar["customdata"]) == ("bar", ["black", "white"], [3, 3],
                                                                     ["black", "white"])
    [parked] = answer["figures"]["object:vehicle.parked"]["data"]
    assert parked["customdata"] == ["true", "false"] and parked["y"] == [1, 0]


def test_figure_is_also_a_query_parameter(analyst_client, corpus):
    response = analyst_client.post("/api/v1/stats/occurrence/?figure=1", {"facets": ["label"]}, format="json")

    assert response.json()["figures"]["label"]["data"][0]["type"] == "bar"


# Co-occurrence ---------------------------------------------------------------------------------


def test_lift_in_the_frame_scope_worked_by_hand(analyst_client, corpus):
    answer = post(analyst_client, "cooccurrence", {"a": "object:vehicle.type", "b": "object:vehicle.color",
                                                   "scope": "frame", "q": "NOT video.name=garage"})

    # Units: the 5 frames of 'street'. sedan: frames 0, 1, 50 (3); suv: 1, 2 (2); truck: none.
    # black: 0, 1 (2); white: 1, 2, 50 (3). Together: sedan+black 0, 1; sedan+white 1, 50;
    # suv+black 1; suv+white 1, 2.
    assert answer["rows"] == ["sedan", "suv", "truck"] and answer["cols"] == ["black", "white"]
    assert answer["matrix"] == [[2, 2], [1, 2], [0, 0]]
    assert answer["row_totals"] == [3, 2, 0] and answer["col_totals"] == [2, 3]
    assert answer["total"] == 5
    # lift = n_ab * total / (row_total * col_total)
    assert answer["lift"] == [
        [pytest.approx(2 * 5 / (3 * 2)), pytest.approx(2 * 5 / (3 * 3))],  # 1.667, 1.111
        [pytest.approx(1 * 5 / (2 * 2)), pytest.approx(2 * 5 / (2 * 3))],  # 1.25, 1.667
        [None, None],  # no truck: the expected count's denominator is 0
    ]


def test_lift_in_the_object_scope_worked_by_hand(analyst_client, corpus):
    answer = post(analyst_client, "cooccurrence", {"a": "object:vehicle.type", "b": "object:vehicle.color",
                                                   "scope": "object", "q": "NOT video.name=garage"})

    # Units: the 6 detections of 'street' (5 vehicles and a person).
    # sedan black x2, suv white x2, sedan white x1.
    assert answer["matrix"] == [[2, 1], [0, 2], [0, 0]]
    assert (answer["row_totals"], answer["col_totals"], answer["total"]) == ([3, 2, 0], [2, 3], 6)
    assert answer["lift"][0] == [pytest.approx(2 * 6 / (3 * 2)), pytest.approx(1 * 6 / (3 * 3))]  # 2.0, 0.667
    assert answer["lift"][1] == [0.0, pytest.approx(2 * 6 / (2 * 3))]  # never together: 0; 2.0


def test_lift_in_the_clip_scope_worked_by_hand(analyst_client, corpus):
    answer = post(analyst_client, "cooccurrence", {"a": "object:vehicle.type", "b": "object:vehicle.color",
                                                   "scope": "clip", "gap_s": 1.0, "q": "NOT video.name=garage"})

    # Clips: frames 0-2 (sedan, suv, black, white) and frames 50-51 (sedan, white).
    assert answer["matrix"] == [[1, 2], [1, 1], [0, 0]]
    assert (answer["row_totals"], answer["col_totals"], answer["total"]) == ([2, 1, 0], [1, 2], 2)
    assert answer["lift"][1][0] == pytest.approx(1 * 2 / (1 * 1))  # 2.0


def test_cooccurrence_heatmap_figure(analyst_client, corpus):
    answer = post(analyst_client, "cooccurrence", {"a": "object:vehicle.type", "b": "object:vehicle.color",
                                                   "scope": "frame", "figure": True, "q": "NOT video.name=garage"})

    [heatmap] = answer["figure"]["data"]
    assert heatmap["type"] == "heatmap"
    assert heatmap["z"] == answer["matrix"] and heatmap["y"] == ["sedan", "suv", "truck"]
    assert heatmap["customdata"] == [["1.67", "1.11"], ["1.25", "1.67"], ["n/a", "n/a"]]


def test_top_pairs_order_by_lift_then_count_and_skip_implied_pairs(analyst_client, corpus):
    answer = post(analyst_client, "cooccurrence", {"top": 50, "scope": "frame", "q": "NOT video.name=garage"})

    pairs = answer["pairs"]
    lifts = [(pair["lift"], pair["count"]) for pair in pairs]
    assert lifts == sorted(lifts, key=lambda lc: (-lc[0], -lc[1]))
    assert all(pair["a"] != pair["b"] for pair in pairs)
    # label=vehicle with object:vehicle.* would only restate how rare vehicles are.
    assert not [p for p in pairs if p["a"] == "label" and p["a_value"] == "vehicle"
                and p["b"].startswith("object:vehicle.")]
    # person (frame 51 only) and scene have no frame in common; person alone in its frame.
    sedan_black = next(p for p in pairs if (p["a_value"], p["b_value"]) == ("sedan", "black"))
    assert (sedan_black["a"], sedan_black["b"], sedan_black["count"]) == ("object:vehicle.type",
                                                                          "object:vehicle.color", 2)
    assert sedan_black["lift"] == pytest.approx(2 * 5 / (3 * 2))


def test_top_pairs_min_count(analyst_client, corpus):
    answer = post(analyst_client, "cooccurrence", {"top": 50, "scope": "frame", "min_count": 2})

    assert answer["pairs"] and all(pair["count"] >= 2 for pair in answer["pairs"])


@pytest.mark.parametrize(("body", "path", "words"), [
    ({"a": "object:vehicle.type", "b": "frame:scene", "scope": "object"}, "scope", "not an object facet"),
    ({"a": "object:vehicle.type", "b": "object:person.activity", "scope": "object"}, "b", "unknown facet"),
    ({"a": "object:vehicle.type", "b": "object:vehicle.color", "scope": "track"}, "scope", "unknown scope"),
    ({"a": "object:vehicle.type"}, "b", "give two facets"),
    ({"a": "label", "b": "label", "top": 3}, "top", "not both"),
    ({"top": 0}, "top", "between 1"),
    ({"top": 3, "min_count": 0}, "min_count", ">= 1"),
    ({"a": "object:vehicle.colour", "b": "label"}, "a", "object:vehicle.color"),
])
def test_cooccurrence_rejects_what_it_cannot_count(analyst_client, corpus, body, path, words):
    answer = post(analyst_client, "cooccurrence", body, status=400)

    assert words in answer["detail"]
    assert answer.get("path") == path or answer["problems"][0]["path"] == path


def test_the_object_scope_takes_a_label_and_one_of_its_attributes(analyst_client, corpus):
    answer = post(analyst_client, "cooccurrence", {"a": "label", "b": "object:vehicle.color", "scope": "object"})

    assert answer["matrix"][0] == [3, 3]  # vehicle x black, white
    assert answer["matrix"][1] == [0, 0]  # a person has no vehicle colour


# Timeline --------------------------------------------------------------------------------------


def test_timeline_bins_video_time_and_wall_clock(analyst_client, corpus):
    answer = post(analyst_client, "timeline", {"q": "vehicle OR person"})

    video_time = answer["video_time"]
    # t from 0 to 5.1 s (both videos): 0.1 s bins would need 52 bins (> 50), so 0.2 s: 26 bins.
    assert video_time["bin_s"] == 0.2
    assert len(video_time["bins"]) == 26
    assert video_time["bins"][0] == {"start_s": 0.0, "count": 4}  # street 0, 0.1 and garage 0, 0.1
    assert video_time["bins"][1] == {"start_s": 0.2, "count": 1}  # street 0.2
    assert video_time["bins"][25] == {"start_s": 5.0, "count": 2}
    assert sum(b["count"] for b in video_time["bins"]) == 7
    wall = answer["wall_clock"]
    # Only 'street' was recorded at a known time: 12:00:00.0 to 12:00:05.1 in 1 s bins.
    assert (wall["bin"], wall["bin_s"], wall["unplaced"]) == ("1s", 1.0, 2)
    assert wall["bins"][0] == {"start": "2024-05-01T12:00:00Z", "count": 3}
    assert wall["bins"][-1] == {"start": "2024-05-01T12:00:05Z", "count": 2}
    assert [b["count"] for b in wall["bins"]] == [3, 0, 0, 0, 0, 2]


def test_timeline_with_nothing_matching(analyst_client, corpus):
    answer = post(analyst_client, "timeline", {"q": "NOT ()", "figure": True})

    assert answer["video_time"] == {"bin_s": None, "bins": []}
    assert answer["wall_clock"]["bins"] == [] and answer["wall_clock"]["unplaced"] == 0
    assert answer["figures"]["video_time"]["data"][0]["type"] == "bar"


def test_timeline_bins_must_be_positive(analyst_client, corpus):
    answer = post(analyst_client, "timeline", {"bins": 0}, status=400)

    assert answer["path"] == "bins"


# Errors shared by every statistic --------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["occurrence", "cooccurrence", "geo", "timeline", "regions"])
def test_query_errors_point_at_the_problem(analyst_client, corpus, endpoint):
    body = {"a": "label", "b": "label", "bbox": [-1, -1, 1, 1], "zoom": 3, "layer": 1}

    text = post(analyst_client, endpoint, {**body, "q": "vehicle(colour=red)"}, status=400)
    tree = post(analyst_client, endpoint, {**body, "filters": {"object:vehicle.color": ["pink"]}}, status=400)

    assert "colour" in text["detail"] and text["position"] == 8
    assert tree["path"] == "filters.object:vehicle.color[0]" and "pink" in tree["detail"]


def test_occurrence_rejects_an_unknown_unit_and_facet(analyst_client, corpus):
    unit = post(analyst_client, "occurrence", {"unit": "hours"}, status=400)
    facet = post(analyst_client, "occurrence", {"facets": ["label", "object:vehicle.size"]}, status=400)

    assert unit["path"] == "unit" and "seconds" in unit["detail"]
    assert facet["path"] == "facets[1]"


# The default schema ----------------------------------------------------------------------------

# A second schema that knows shelves and nothing of the corpus's vehicles and people.
RETAIL = {"objects": {"schema": {"shelf": {"label": "shelf"}}}}


@pytest.fixture
def two_schemas(admin_client, corpus):
    """The corpus under road (uploaded first: the default) and a second schema, retail."""
    response = admin_client.post("/api/v1/schemas/", {"name": "retail", "schema": RETAIL}, format="json")
    assert response.status_code == 201
    return response.json()


def _label_counts(client) -> dict:
    return post(client, "occurrence", {"facets": ["label"]})["counts"]["label"]


def test_with_two_schemas_calls_without_one_use_the_default(analyst_client, two_schemas):
    search = analyst_client.post("/api/v1/search/", {"q": "vehicle", "facets": []}, format="json")
    bodies = {"cooccurrence": {"a": "label", "b": "label"}, "timeline": {"q": "vehicle"},
              "geo": {"q": "vehicle", "bbox": [-180, -90, 180, 90], "zoom": 2}}
    statistics = {endpoint: analyst_client.post(f"/api/v1/stats/{endpoint}/", body, format="json").status_code
                  for endpoint, body in bodies.items()}
    exports = [analyst_client.get(f"/api/v1/export/detections.{kind}?q=vehicle") for kind in ("csv", "geojson")]

    assert search.status_code == 200
    assert search.json()["schema"]["name"] == "road"
    assert search.json()["counts"]["frames"] == 5  # frames 0, 1, 2 and 50 of the street, 0 of the garage
    assert _label_counts(analyst_client) == {"vehicle": 6, "person": 2}
    assert statistics == {"cooccurrence": 200, "timeline": 200, "geo": 200}
    assert [response.status_code for response in exports] == [200, 200]


def test_changing_the_default_changes_the_schema_of_calls_without_one(admin_client, analyst_client, two_schemas):
    chosen = admin_client.put("/api/v1/schemas/default/", {"name": "retail"}, format="json")

    search = analyst_client.post("/api/v1/search/", {"q": "shelf", "facets": []}, format="json")
    vehicles = analyst_client.post("/api/v1/search/", {"q": "vehicle", "facets": []}, format="json")
    named = analyst_client.post("/api/v1/search/", {"q": "vehicle", "facets": [], "schema": "road"}, format="json")

    assert chosen.json() == two_schemas
    assert (search.status_code, search.json()["schema"], search.json()["counts"]["frames"]) == (200, two_schemas, 0)
    assert _label_counts(analyst_client) == {"shelf": 0}
    assert vehicles.status_code == 400
    assert vehicles.json()["detail"].startswith("unknown object label 'vehicle'")
    # Naming a schema still works as before.
    assert (named.status_code, named.json()["counts"]["frames"]) == (200, 5)


def test_an_unknown_schema_is_a_400_with_the_nearest_names(analyst_client, two_schemas):
    answer = post(analyst_client, "occurrence", {"facets": ["label"], "schema": "retial"}, status=400)

    assert answer == {"detail": "no schema named 'retial' (did you mean 'retail'?)", "path": "schema",
                      "suggestions": ["retail"]}


def test_a_distant_video_leaves_the_wall_clock_focus_on_the_rest_and_is_counted_apart(analyst_client, corpus):
    # Recorded five years before 'street': one 1,000-bin histogram would squash 'street' into one bin.
    index_video(3, "archive", analytics(vehicle(0, "sedan", "black"), vehicle(1, "suv", "white"),
                                        recorded_at=datetime(2019, 5, 1, 12, tzinfo=UTC)))

    wall = post(analyst_client, "timeline", {"q": "vehicle OR person"})["wall_clock"]

    assert wall["bin"] == "91d"  # 2019 to 2024 in at most 50 bins
    focus = wall["focus"]
    # The focus is 'street' alone, in 1 s bins, as without the archive.
    assert (focus["bin"], focus["bin_s"]) == ("1s", 1.0)
    assert [b["count"] for b in focus["bins"]] == [3, 0, 0, 0, 0, 2]
    assert focus["bins"][0]["start"] == "2024-05-01T12:00:00Z"
    # The archive's two frames, counted apart, with where they are.
    assert focus["outside"]["frames"] == 2
    assert focus["outside"]["earliest"] <= "2019-05-01T12:00:00Z" < focus["outside"]["latest"] < "2019-06-01"


def test_times_that_spread_have_no_focus(analyst_client, corpus):
    # 'street' alone: two runs of frames 4 s apart, not far from each other.
    assert post(analyst_client, "timeline", {"q": "vehicle OR person"})["wall_clock"]["focus"] is None
    # Two more videos, 3 and 6 hours later, like the demo's videos: spread, not outliers.
    for video_id, hour in ((3, 15), (4, 18)):
        index_video(video_id, f"at {hour}", analytics(vehicle(0, "sedan", "black"),
                                                      recorded_at=datetime(2024, 5, 1, hour, tzinfo=UTC)))
    wall = post(analyst_client, "timeline", {"q": "vehicle OR person"})["wall_clock"]
    assert wall["focus"] is None and sum(b["count"] for b in wall["bins"]) == 7
