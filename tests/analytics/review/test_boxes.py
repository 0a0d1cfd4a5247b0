"""An item's own boxes (GET /api/v1/review/items/{id}/boxes/), which the review page draws:
only the item's detections over its span, and only for the reviewers it was leased to."""

from __future__ import annotations

from analytics.review.models import Item
from tests.analytics.review.test_api import batch

BOX = [0.1, 0.2, 0.3, 0.4]


def _item(campaign: int, key: str) -> Item:
    return Item.objects.get(campaign_id=campaign, key=key)


def test_a_track_item_gives_its_own_boxes_only(admin, campaign):
    suv = _item(campaign, "2")  # frames 1 and 3; the sedan of track 1 shares frame 1

    answer = admin.get(f"/api/v1/review/items/{suv.pk}/boxes/")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert {key: body[key] for key in ("item", "fps", "start_s", "end_s")} == {
        "item": suv.pk, "fps": 10.0, "start_s": 0.1, "end_s": 0.4}
    assert [(frame["index"], [(o["track"], o["label"], o["box"]) for o in frame["objects"]])
            for frame in body["frames"]] == [(1, [("2", "vehicle", BOX)]), (3, [("2", "vehicle", BOX)])]
    assert body["frames"][0]["objects"][0]["attrs"]["type"] == "suv"


def test_an_untracked_detection_gives_its_one_box(admin, road_video):
    created = admin.post("/api/v1/review/campaigns/", {
        "name": "loose", "schema": "road", "q": "vehicle", "unit": "detections", "question": "A vehicle?"},
        format="json")
    item = _item(created.json()["id"], "30:1")  # the sedan after the person of frame 30

    frames = admin.get(f"/api/v1/review/items/{item.pk}/boxes/").json()["frames"]

    assert [(frame["index"], [(o["track"], o["label"]) for o in frame["objects"]]) for frame in frames] == [
        (30, [(None, "vehicle")])]


def test_a_reviewer_reads_the_boxes_of_leased_items_only(campaign, reviewers):
    rita, rob = reviewers[:2]
    leased = batch(rita, campaign, size=1)["items"][0]["id"]

    mine = rita.get(f"/api/v1/review/items/{leased}/boxes/")
    theirs = rob.get(f"/api/v1/review/items/{leased}/boxes/")
    unknown = rita.get("/api/v1/review/items/999999/boxes/")

    assert mine.status_code == 200
    assert len(mine.json()["frames"]) > 0
    assert theirs.status_code == 403
    assert theirs.json() == {"detail": f"item {leased} is not in one of your review batches"}
    assert unknown.status_code == 404
