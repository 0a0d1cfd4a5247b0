"""Overlay labels for the current query: only the labels of the objects that matched
(the frame matches the query AND the filters, and the object meets one of their
positive object predicates; any object of the frame when there is none)."""

from __future__ import annotations

import json

import pytest

from indexer import services
from tests.analytics.corpus import create_schema, index_video, street

pytestmark = pytest.mark.django_db


@pytest.fixture
def video_id(db):
    create_schema()
    video, _ = services.video_get_or_create(user=None, name="street")
    index_video(video.pk, "street", street())
    return video.pk


def labels(client, video_id: int, status: int = 200, **params) -> dict:
    query = {key: json.dumps(value) if isinstance(value, dict) else value for key, value in params.items()}
    response = client.get(f"/api/v1/videos/{video_id}/labels/", query)
    assert response.status_code == status, response.content
    return response.json()


def shown(answer: dict) -> list[tuple[int, list[str]]]:
    return [(frame["index"], [f"{o['attrs'].get('type', o['label'])}/{o['attrs'].get('color', '-')}"
                              for o in frame["objects"]]) for frame in answer["frames"]]


def test_without_a_query_every_label_is_drawn(analyst_client, video_id):
    answer = labels(analyst_client, video_id)

    assert "matching" not in answer
    assert shown(answer) == [(0, ["sedan/black"]), (1, ["sedan/black", "suv/white"]), (2, ["suv/white"]),
                             (50, ["sedan/white"]), (51, ["person/-"])]


def test_only_the_objects_that_matched(analyst_client, video_id):
    answer = labels(analyst_client, video_id, q="vehicle(color=black)")

    assert answer["matching"] is True
    # Frame 1 matches because of the black sedan; the white SUV beside it did not match.
    assert shown(answer) == [(0, ["sedan/black"]), (1, ["sedan/black"])]


def test_filters_and_query_together(analyst_client, video_id):
    answer = labels(analyst_client, video_id, q="vehicle(type=sedan) OR person",
                    filters={"object:vehicle.color": ["white"]})

    # Frames with a white vehicle AND (a sedan or a person): 1 and 50. Matched objects meet
    # vehicle(type=sedan), person or vehicle(color in white).
    assert shown(answer) == [(1, ["sedan/black", "suv/white"]), (50, ["sedan/white"])]


def test_negated_predicates_do_not_pick_objects(analyst_client, video_id):
    answer = labels(analyst_client, video_id, q="NOT person AND NOT vehicle(type=suv)")

    # No positive object predicate: every object of a matching frame.
    assert shown(answer) == [(0, ["sedan/black"]), (50, ["sedan/white"])]


def test_a_frame_only_query_keeps_every_object_of_its_frames(analyst_client, video_id):
    answer = labels(analyst_client, video_id, q="scene=highway")

    assert shown(answer) == [(50, ["sedan/white"])]


def test_the_window_still_applies(analyst_client, video_id):
    answer = labels(analyst_client, video_id, q="vehicle", start_s=0.1, end_s=0.2)

    assert shown(answer) == [(1, ["sedan/black", "suv/white"])]


def test_a_bad_query_is_a_400(analyst_client, video_id):
    answer = labels(analyst_client, video_id, status=400, q="vehicle(colour=black)")

    assert "colour" in answer["detail"] and answer["position"] == 8
