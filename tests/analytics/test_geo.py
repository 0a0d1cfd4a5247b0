"""Map cells follow the zoom (level = zoom + 3, at most 22), points are offered while
few enough, and frames without a location never count."""

from __future__ import annotations

import math

import pytest

from analytics import geo
from indexer.records import Waypoint
from tests.analytics.corpus import analytics, create_schema, index_video, person, street, vehicle

EVERYWHERE = [-180, -90, 180, 90]


@pytest.fixture
def corpus(db):
    create_schema()
    index_video(1, "street", street())
    index_video(2, "garage", analytics(vehicle(0, "truck", "black"), person(1)))  # no GPS


def post_geo(client, body: dict, status: int = 200) -> dict:
    response = client.post("/api/v1/stats/geo/", body, format="json")
    assert response.status_code == status, response.content
    return response.json()


@pytest.mark.parametrize(("zoom", "level"), [(0, 3), (1, 4), (10, 13), (14, 17), (14.9, 17), (19, 22), (22, 22)])
def test_the_cell_level_is_the_zoom_plus_three_at_most_22(zoom, level):
    assert geo.tile_level(zoom) == level


def test_tile_bounds_cut_the_world_in_2_to_the_level_columns():
    assert geo.tile_bounds(0, 0, 0) == pytest.approx((-180, -85.0511287798, 180, 85.0511287798))
    west, south, east, north = geo.tile_bounds(3, 4, 3)
    assert (west, east) == (0.0, 45.0) and south == pytest.approx(0.0, abs=1e-9) and north > 40


@pytest.mark.parametrize("zoom", [0, 5, 12, 19])
def test_each_cell_is_the_tile_at_zoom_plus_three_holding_its_frames(analyst_client, corpus, zoom):
    answer = post_geo(analyst_client, {"bbox": EVERYWHERE, "zoom": zoom, "target": "frames", "format": "cells"})

    level = min(zoom + 3, 22)
    assert answer["level"] == level
    # Every located frame of 'street' (lat, lon) lies in exactly one returned cell; 'garage' has no GPS.
    located = [(0.5, 0.5), (0.5, 1.0), (0.5, 1.5), (1.0, 2.5), (5.0, 5.0)]
    assert sum(cell["properties"]["count"] for cell in answer["features"]) == len(located)
    for cell in answer["features"]:
        z, x, y = (int(part) for part in cell["properties"]["tile"].split("/"))
        assert z == level
        ring = cell["geometry"]["coordinates"][0]
        west, south, east, north = ring[0][0], ring[0][1], ring[2][0], ring[2][1]
        assert east - west == pytest.approx(360 / 2**level)
        inside = [p for p in located if south <= p[0] <= north and west <= p[1] <= east]
        assert len(inside) == cell["properties"]["count"]


def test_zoom_zero_puts_the_whole_route_in_one_cell(analyst_client, corpus):
    frames = post_geo(analyst_client, {"bbox": EVERYWHERE, "zoom": 0})
    objects = post_geo(analyst_client, {"bbox": EVERYWHERE, "zoom": 0, "target": "objects"})

    assert [(c["properties"]["tile"], c["properties"]["count"]) for c in frames["features"]] == [("3/4/3", 5)]
    # detections: 1 + 2 + 1 + 1 + 1
    assert [c["properties"]["count"] for c in objects["features"]] == [6]


def test_cells_follow_the_query_and_the_view(analyst_client, corpus):
    answer = post_geo(analyst_client, {"bbox": [0, 0, 3, 2], "zoom": 0, "q": "vehicle"})

    # frame 51 (5, 5) is outside the view and holds no vehicle anyway; the garage truck has no location.
    assert [c["properties"]["count"] for c in answer["features"]] == [4]


def test_points_when_few_enough(analyst_client, corpus):
    answer = post_geo(analyst_client, {"bbox": EVERYWHERE, "zoom": 3, "format": "points", "target": "objects"})

    points = [(f["properties"]["video"], f["properties"]["t"], f["properties"]["count"], f["geometry"]["coordinates"])
              for f in answer["features"]]
    assert points == [(1, 0.0, 1, [0.5, 0.5]), (1, 0.1, 2, [1.0, 0.5]), (1, 0.2, 1, [1.5, 0.5]),
                      (1, 5.0, 1, [2.5, 1.0]), (1, 5.1, 1, [5.0, 5.0])]


def test_too_many_points_is_a_400_asking_to_zoom_in(analyst_client, corpus, monkeypatch):
    monkeypatch.setattr(geo, "MAX_POINTS", 4)

    answer = post_geo(analyst_client, {"bbox": EVERYWHERE, "zoom": 3, "format": "points"}, status=400)
    few = post_geo(analyst_client, {"bbox": [0, 0, 3, 2], "zoom": 3, "format": "points"})

    assert answer["path"] == "format" and "zoom in" in answer["detail"] and "cells" in answer["detail"]
    assert len(few["features"]) == 4


@pytest.mark.parametrize(("bbox", "view"), [
    ([-10, -5, 10, 5], [-10, -5, 10, 5]),
    ([170, -5, 190, 5], [170, -5, -170, 5]),  # across the antimeridian
    ([-190, -5, -170, 5], [170, -5, -170, 5]),
    ([-200, -100, 200, 100], [-180, -90, 180, 90]),  # wider than the world
    ([0, 0, 180, 10], [0, 0, 180, 10]),
])
def test_a_map_view_becomes_a_query_bbox(bbox, view):
    assert geo.view_bbox(bbox) == view


def test_a_view_across_the_antimeridian_counts_both_sides(analyst_client, db):
    create_schema()
    index_video(1, "pacific", analytics(
        vehicle(0, "sedan", "black"), vehicle(10, "suv", "white"), vehicle(20, "truck", "white"),
        gps=[Waypoint(t, 0.0, lon) for t, lon in ((0.0, 179.5), (1.0, -179.5), (2.0, 0.0))]))

    answer = post_geo(analyst_client, {"bbox": [179, -1, 181, 1], "zoom": 0})

    assert sum(c["properties"]["count"] for c in answer["features"]) == 2
    # On the equator: the row just south of it (y = 2**3 / 2).
    assert {c["properties"]["tile"] for c in answer["features"]} == {"3/0/4", "3/7/4"}


@pytest.mark.parametrize(("body", "path"), [
    ({"bbox": [1, 2, 3], "zoom": 3}, "bbox"),
    ({"bbox": [0, 10, 1, 0], "zoom": 3}, "bbox"),
    ({"bbox": "everywhere", "zoom": 3}, "bbox"),
    ({"bbox": EVERYWHERE, "zoom": 23}, "zoom"),
    ({"bbox": EVERYWHERE}, "zoom"),
    ({"bbox": EVERYWHERE, "zoom": 3, "target": "tracks"}, "target"),
    ({"bbox": EVERYWHERE, "zoom": 3, "grid": "h3"}, "grid"),
    ({"bbox": EVERYWHERE, "zoom": 3, "format": "heat"}, "format"),
])
def test_bad_views_are_400s_naming_the_field(analyst_client, corpus, body, path):
    answer = post_geo(analyst_client, body, status=400)

    assert answer.get("path", answer.get("problems", [{}])[0].get("path")) == path


def test_tile_polygons_are_closed_rings(analyst_client, corpus):
    answer = post_geo(analyst_client, {"bbox": EVERYWHERE, "zoom": 8})

    for cell in answer["features"]:
        ring = cell["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) == 5
        assert all(math.isfinite(v) for point in ring for v in point)
