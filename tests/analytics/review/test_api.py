"""The review API end to end: campaigns from a search, leased batches, votes, gold, decisions,
statistics and exports (docs/api/review.md)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from analytics.review.models import Batch, Campaign, Item
from analytics.review.selectors import campaign_reviewers, review_states
from tests.analytics.corpus import index_video
from tests.analytics.review.conftest import road

BATCH_ITEM_FIELDS = {"id", "video", "video_name", "track", "label", "start_s", "end_s", "question", "stream_url"}
NO_STATES = {"unreviewed": 0, "confirmed": 0, "rejected": 0, "corrected": 0, "disputed": 0}


def items(campaign: int) -> dict[str, Item]:
    return {item.key: item for item in Item.objects.filter(campaign_id=campaign)}


def batch(client, campaign: int, size: int = 10) -> dict:
    response = client.get(f"/api/v1/review/campaigns/{campaign}/batch/?size={size}")
    assert response.status_code == 200, response.content
    return response.json()


def vote(client, campaign: int, answers: dict[int, str | tuple[str, dict]], batch_id: int):
    votes = []
    for item, answer in answers.items():
        if isinstance(answer, tuple):
            votes.append({"item": item, "answer": answer[0], "correction": answer[1]})
        else:
            votes.append({"item": item, "answer": answer})
    return client.post(f"/api/v1/review/campaigns/{campaign}/votes/", {"batch": batch_id, "votes": votes},
                       format="json")


def review(client, campaign: int, answer_of: dict[str, str | tuple[str, dict]], size: int = 10) -> dict:
    """Lease a batch and answer each of its items by track key (``default`` for the others)."""
    served = batch(client, campaign, size)
    keys = {item.pk: key for key, item in items(campaign).items()}
    answers = {i["id"]: answer_of.get(keys[i["id"]], answer_of.get("default", "yes")) for i in served["items"]}
    response = vote(client, campaign, answers, served["batch"])
    assert response.status_code == 201, response.content
    return served


def test_a_campaign_holds_the_tracks_its_search_matched(admin, campaign, road_video):
    detail = admin.get(f"/api/v1/review/campaigns/{campaign}/").json()
    by_key = items(campaign)

    assert (detail["name"], detail["unit"], detail["question"], detail["items"]) == (
        "vehicles", "tracks", "Is this a vehicle?", 4)
    assert detail["states"] == {**NO_STATES, "unreviewed": 4}
    assert detail["search"] == {"q": "vehicle"}
    assert sorted(by_key) == ["1", "2", "3", "4"]
    first = by_key["1"]
    assert (first.video_id, first.label, first.attrs, first.start_frame, first.end_frame, first.start_s,
            first.end_s) == (road_video.pk, "vehicle", {"type": "sedan", "color": "black"}, 0, 2, 0.0, 0.3)


def test_a_detections_campaign_holds_the_untracked_detections_the_search_matched(admin, road_video):
    response = admin.post("/api/v1/review/campaigns/", {
        "name": "loose", "schema": "road", "query": {"object": {"label": "vehicle"}}, "unit": "detections",
        "question": "Is this a vehicle?"}, format="json")
    every = admin.post("/api/v1/review/campaigns/", {
        "name": "all", "schema": "road", "unit": "detections", "question": "Is this right?"}, format="json")

    assert response.status_code == 201
    assert response.json()["items"] == 1
    # The sedan at frame 30 comes after the person there: it is that frame's detection 1.
    assert list(items(response.json()["id"])) == ["30:1"]
    assert sorted(items(every.json()["id"])) == ["30:0", "30:1", "31:0"]


@pytest.mark.parametrize(("body", "answer"), [
    ({"unit": "events"}, {"detail": 'unit: "events" is not a valid choice.',
                          "problems": [{"path": "unit", "message": '"events" is not a valid choice.'}]}),
    ({"question": ""}, {"detail": "question: This field may not be blank.",
                        "problems": [{"path": "question", "message": "This field may not be blank."}]}),
    ({"q": "vehicle(colour=red)"}, {
        "detail": "unknown attribute 'colour' of object label 'vehicle' (did you mean 'color'?) at line 1, column 9",
        "position": 8, "line": 1, "column": 9, "suggestions": ["color"]}),
    ({"filters": {"label": ["plane"]}}, {"detail": "unknown value 'plane' for facet 'label'",
                                         "path": "filters.label[0]"}),
    ({"schema": "rooad"}, {"detail": "no schema named 'rooad' (did you mean 'road'?)", "path": "schema",
                           "suggestions": ["road"]}),
])
def test_a_bad_campaign_says_what_is_wrong(admin, road_video, body, answer):
    base = {"name": "bad", "schema": "road", "q": "vehicle", "unit": "tracks", "question": "Vehicle?"}

    response = admin.post("/api/v1/review/campaigns/", {**base, **body}, format="json")

    assert response.status_code == 400
    assert response.json() == answer


def test_batches_lease_items_to_one_reviewer_at_a_time(campaign, reviewers):
    rita, rob, ruth = reviewers

    first = batch(rita, campaign, size=3)
    second = batch(rob, campaign, size=3)
    third = batch(ruth, campaign, size=3)
    keys = {item.pk: key for key, item in items(campaign).items()}

    assert sorted(keys[i["id"]] for i in first["items"]) == ["1", "2", "3"]  # served in a random order
    assert [keys[i["id"]] for i in second["items"]] == ["4"]
    assert third == {"batch": None, "items": []}
    track_1 = next(i for i in first["items"] if i["track"] == "1")
    assert set(track_1) == BATCH_ITEM_FIELDS
    assert track_1 | {"id": 0, "video": 0} == {
        "id": 0, "video": 0, "video_name": "road", "track": "1", "label": "vehicle", "start_s": 0.0, "end_s": 0.3,
        "question": "Is this a vehicle?", "stream_url": "https://cdn.example.com/road.webm"}


def test_asking_again_while_a_batch_is_open_gives_that_batch(campaign, reviewers):
    rita, rob, _ = reviewers
    first = batch(rita, campaign, size=2)

    again = batch(rita, campaign, size=3)
    robs = batch(rob, campaign, size=4)

    assert again == first
    assert len(robs["items"]) == 2  # the two rita holds are not served to rob


def test_an_item_needing_a_second_vote_goes_to_another_reviewer_never_back(campaign, reviewers):
    rita, rob, _ = reviewers
    review(rita, campaign, {"default": "yes"}, size=4)

    again = batch(rita, campaign)
    robs = batch(rob, campaign, size=2)

    assert again == {"batch": None, "items": []}
    assert len(robs["items"]) == 2


def test_two_agreeing_reviewers_decide(admin, campaign, reviewers):
    rita, rob, ruth = reviewers
    review(rita, campaign, {"1": "yes", "2": "no", "3": ("no", {"attrs": {"type": "suv"}}), "4": "unsure"})
    review(rob, campaign, {"1": "yes", "2": "no", "3": ("no", {"attrs": {"type": "suv"}}), "4": "unsure"})

    by_key = items(campaign)
    states = admin.get(f"/api/v1/review/campaigns/{campaign}/").json()["states"]

    assert {key: item.state for key, item in by_key.items()} == {
        "1": "confirmed", "2": "rejected", "3": "corrected", "4": "unreviewed"}
    assert by_key["3"].correction == {"attrs": {"type": "suv"}}
    assert states == {**NO_STATES, "confirmed": 1, "rejected": 1, "corrected": 1, "unreviewed": 1}
    assert batch(ruth, campaign)["items"][0]["track"] == "4"


def test_without_agreement_an_item_is_disputed_until_an_admin_decides(admin, campaign, reviewers, settings):
    settings.SCOOP_REVIEW_MAX_VOTES = 2
    rita, rob, ruth = reviewers
    review(rita, campaign, {"default": "yes"})
    review(rob, campaign, {"default": "no"})
    disputed = [i.state for i in items(campaign).values()]
    item = items(campaign)["1"]

    decided = admin.put(f"/api/v1/review/items/{item.pk}/decision/",
                        {"state": "corrected", "correction": {"label": "person"}}, format="json")

    assert disputed == ["disputed"] * 4
    assert decided.status_code == 200, decided.content
    assert (decided.json()["state"], decided.json()["correction"], decided.json()["decided_by"]) == (
        "corrected", {"label": "person"}, "ada")
    assert batch(ruth, campaign) == {"batch": None, "items": []}


def test_an_admin_decision_is_final(admin, campaign, reviewers):
    rita, rob, _ = reviewers
    item = items(campaign)["1"]
    admin.put(f"/api/v1/review/items/{item.pk}/decision/", {"state": "rejected"}, format="json")
    review(rita, campaign, {"default": "yes"})
    review(rob, campaign, {"default": "yes"})

    assert {key: i.state for key, i in items(campaign).items()} == {
        "1": "rejected", "2": "confirmed", "3": "confirmed", "4": "confirmed"}


@pytest.mark.parametrize(("body", "path", "message"), [
    ({"state": "disputed"}, "state", '"disputed" is not a valid choice.'),
    ({"state": "corrected"}, "correction", "the state 'corrected' needs a correction, and only it takes one"),
    ({"state": "confirmed", "correction": {"label": "person"}}, "correction",
     "the state 'corrected' needs a correction, and only it takes one"),
    ({"state": "corrected", "correction": {"label": "vehicel"}}, "correction.label",
     "unknown label 'vehicel' (did you mean 'vehicle'?)"),
])
def test_a_bad_decision_says_what_is_wrong(admin, campaign, body, path, message):
    item = items(campaign)["1"]

    response = admin.put(f"/api/v1/review/items/{item.pk}/decision/", body, format="json")

    assert response.status_code == 400
    answer = response.json()
    assert answer.get("problems", [answer])[0] | {"message": answer.get("problems", [{}])[0].get(
        "message", answer["detail"])} == {"path": path, "message": message} | (
        {} if "problems" in answer else {"detail": message})


def test_votes_are_checked_and_name_the_vote(campaign, reviewers):
    rita, rob, _ = reviewers
    served = batch(rita, campaign, size=2)
    first, second = (i["id"] for i in served["items"])
    other = batch(rob, campaign, size=1)["items"][0]["id"]

    def refused(votes, batch_id=served["batch"]):
        response = rita.post(f"/api/v1/review/campaigns/{campaign}/votes/", {"batch": batch_id, "votes": votes},
                             format="json")
        body = response.json()
        problem = body["problems"][0] if "problems" in body else {"path": body.get("path"), "message": body["detail"]}
        return response.status_code, problem["path"], problem["message"]

    yes = {"item": first, "answer": "yes"}
    assert refused([yes, {"item": second, "answer": "maybe"}]) == (
        400, "votes[1].answer", '"maybe" is not a valid choice.')
    assert refused([yes, {"item": other, "answer": "yes"}]) == (
        400, "votes[1].item", f"item {other} is not in batch {served['batch']}")
    assert refused([yes, yes]) == (400, "votes[1].item", f"item {first} has two votes")
    assert refused([yes]) == (400, "votes", f"a vote for every item of the batch is needed; none for item(s) {second}")
    assert refused([yes, {"item": second, "answer": "yes", "correction": {"label": "person"}}]) == (
        400, "votes[1].correction", "only the answer 'no' may carry a correction, not 'yes'")
    assert refused([yes, {"item": second, "answer": "no", "correction": {"label": "plane"}}]) == (
        400, "votes[1].correction.label", "unknown label 'plane'")
    assert refused([yes, {"item": second, "answer": "no", "correction": {"attrs": {"color": "red"}}}]) == (
        400, "votes[1].correction.attrs.color", "unknown value 'red' for attribute 'color'")
    assert refused([yes, {"item": second, "answer": "no", "correction": {"attrs": {"wheels": 4}}}]) == (
        400, "votes[1].correction.attrs.wheels", "label 'vehicle' has no attribute 'wheels'")
    assert refused([yes, {"item": second, "answer": "no", "correction": {"colour": "red"}}]) == (
        400, "votes[1].correction", 'a correction is an object with "label" and/or "attrs"')
    assert refused([yes], batch_id=999) == (404, "batch", f"campaign {campaign} has no batch 999 leased to you")
    assert refused([{"item": other, "answer": "yes"}], batch_id=Batch.objects.get(reviewer__username="rob").pk)[
        :2] == (404, "batch")

    ok = vote(rita, campaign, {first: "yes", second: "no"}, served["batch"])
    assert ok.status_code == 201
    assert ok.json() == {"batch": served["batch"], "votes": 2}
    assert refused([yes, {"item": second, "answer": "no"}]) == (
        409, "batch", f"batch {served['batch']} was already voted on")


def test_an_expired_lease_cannot_be_voted_and_frees_its_items(campaign, reviewers):
    rita, rob, _ = reviewers
    served = batch(rita, campaign, size=4)
    Batch.objects.filter(pk=served["batch"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = vote(rita, campaign, {i["id"]: "yes" for i in served["items"]}, served["batch"])

    assert response.status_code == 410
    assert response.json()["detail"].startswith(f"the lease of batch {served['batch']} ended at ")
    assert len(batch(rob, campaign)["items"]) == 4


def test_gold_items_are_mixed_in_unmarked_and_a_failed_batch_does_not_count(admin, campaign, reviewers):
    rita, rob, ruth = reviewers
    gold = items(campaign)["4"]
    set_gold = admin.put(f"/api/v1/review/items/{gold.pk}/gold/", {"answer": "yes"}, format="json")
    # Rita fails the gold item, Rob passes it: only Rob's votes count.
    review(rita, campaign, {"4": "no", "default": "no"}, size=2)
    served = review(rob, campaign, {"4": "yes", "default": "no"}, size=2)
    stats = admin.get(f"/api/v1/review/campaigns/{campaign}/stats/").json()

    assert set_gold.status_code == 200
    assert (set_gold.json()["gold_answer"], set_gold.json()["state"]) == ("yes", "confirmed")
    assert sorted(i["track"] for i in served["items"]) == ["1", "2", "4"]
    assert all(set(i) == BATCH_ITEM_FIELDS for i in served["items"])
    assert {key: i.state for key, i in items(campaign).items()} == {
        "1": "unreviewed", "2": "unreviewed", "3": "unreviewed", "4": "confirmed"}
    assert stats["votes"] == {"total": 6, "gold": 2, "counted": 2, "flagged_batches": 1,
                              "answers": {"yes": 0, "no": 4, "unsure": 0}}
    assert stats["reviewers"] == [
        {"reviewer": "rita", "votes": 3, "gold_votes": 1, "gold_correct": 0, "gold_accuracy": 0.0,
         "good_standing": False, "flagged_batches": 1},
        {"reviewer": "rob", "votes": 3, "gold_votes": 1, "gold_correct": 1, "gold_accuracy": 1.0,
         "good_standing": True, "flagged_batches": 0},
    ]
    # Ruth gets the items that still need votes, and the gold item she has not answered.
    assert sorted(i["track"] for i in batch(ruth, campaign)["items"]) == ["1", "2", "3", "4"]
    # Aggregation asks for the standing of the voters it counts alone.
    rob_id = get_user_model().objects.get(username="rob").pk
    only_rob = campaign_reviewers(campaign=Campaign.objects.get(pk=campaign), ids={rob_id})
    assert [(gold.username, gold.gold_correct, gold.flagged_batches) for gold in only_rob.values()] == [("rob", 1, 0)]


def test_a_reviewer_out_of_standing_no_longer_decides(admin, campaign, reviewers, settings):
    settings.SCOOP_REVIEW_GOLD_PER_BATCH = 1
    rita, rob, _ = reviewers
    gold = items(campaign)["4"]
    admin.put(f"/api/v1/review/items/{gold.pk}/gold/", {"answer": "no", "correction": {"attrs": {"parked": True}}},
              format="json")
    review(rita, campaign, {"4": ("no", {"attrs": {"parked": True}}), "default": "yes"}, size=1)
    review(rob, campaign, {"4": "unsure", "default": "yes"}, size=1)

    assert items(campaign)["1"].state == "unreviewed"  # Rob's batch was flagged: one counted vote


@pytest.mark.parametrize(("body", "path", "message"), [
    ({"answer": "unsure"}, "answer", "a gold answer is yes or no, not 'unsure'"),
    ({"answer": "no", "correction": {"attrs": {"parked": "yes"}}}, "correction.attrs.parked",
     "attribute 'parked' expects a boolean, got string 'yes'"),
])
def test_a_bad_gold_answer_says_what_is_wrong(admin, campaign, body, path, message):
    item = items(campaign)["1"]

    response = admin.put(f"/api/v1/review/items/{item.pk}/gold/", body, format="json")

    assert response.status_code == 400
    assert (response.json()["path"], response.json()["detail"]) == (path, message)


def test_stats_count_states_labels_values_agreement_and_reviewers(admin, campaign, reviewers):
    rita, rob, ruth = reviewers
    review(rita, campaign, {"1": "yes", "2": "no", "3": ("no", {"label": "person"}), "4": "yes"})
    review(rob, campaign, {"1": "yes", "2": "yes", "3": ("no", {"label": "person"}), "4": "unsure"})

    stats = admin.get(f"/api/v1/review/campaigns/{campaign}/stats/").json()

    assert stats["items"] == 4
    assert stats["states"] == {**NO_STATES, "confirmed": 1, "corrected": 1, "unreviewed": 2}
    assert stats["labels"] == {"person": {**NO_STATES, "corrected": 1},
                               "vehicle": {**NO_STATES, "confirmed": 1, "unreviewed": 2}}
    # The truck corrected to a person keeps none of its vehicle attributes.
    assert stats["attributes"] == {
        "color": {"black": {**NO_STATES, "confirmed": 1}, "white": {**NO_STATES, "unreviewed": 2}},
        "type": {"sedan": {**NO_STATES, "confirmed": 1, "unreviewed": 1}, "suv": {**NO_STATES, "unreviewed": 1}},
    }
    assert stats["votes"] == {"total": 8, "gold": 0, "counted": 8, "flagged_batches": 0,
                              "answers": {"yes": 4, "no": 3, "unsure": 1}}
    # Per item (yes, no, unsure): (2,0,0), (1,1,0), (0,2,0), (1,0,1): P-bar = 1/2;
    # shares 4/8, 3/8, 1/8: P_e = 26/64; kappa = (1/2 - 26/64) / (38/64) = 6/38.
    assert stats["agreement"] == {"items": 4, "categories": ["yes", "no", "unsure"], "percent": 50.0,
                                  "fleiss_kappa": round(6 / 38, 3)}
    assert [r["votes"] for r in stats["reviewers"]] == [4, 4]
    assert stats["missing"] == []


def test_items_gone_after_a_reingest_are_reported(admin, campaign, road_video):
    from indexer.models import Video
    from indexer.search import get_search_backend
    from tests.analytics.corpus import analytics, vehicle

    index_video(road_video.pk, "road", analytics(*[r for r in road().records() if getattr(r, "track", None) != "2"],
                                                 vehicle(5, "suv", "white", track="9")))
    gone = admin.get(f"/api/v1/review/campaigns/{campaign}/stats/").json()["missing"]
    get_search_backend().delete_video(video_id=road_video.pk)
    Video.objects.filter(pk=road_video.pk).delete()
    deleted = admin.get(f"/api/v1/review/campaigns/{campaign}/stats/").json()["missing"]

    assert [(m["key"], m["reason"]) for m in gone] == [("2", "track gone")]
    assert [(m["key"], m["reason"]) for m in deleted] == [(k, "video deleted") for k in ("1", "2", "3", "4")]
    assert items(campaign)["2"].state == "unreviewed"  # kept, never dropped


def test_exports_give_every_item_with_its_state_and_correction(admin, campaign, reviewers, road_video):
    rita, rob, _ = reviewers
    review(rita, campaign, {"1": "yes", "3": ("no", {"attrs": {"type": "suv"}}), "default": "unsure"})
    review(rob, campaign, {"1": "yes", "3": ("no", {"attrs": {"type": "suv"}}), "default": "unsure"})

    response = admin.get(f"/api/v1/review/campaigns/{campaign}/export/?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    eta = admin.get(f"/api/v1/review/campaigns/{campaign}/export/?format=eta")
    bad = admin.get(f"/api/v1/review/campaigns/{campaign}/export/?format=xml")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert [(r["key"], r["state"], r["votes"], r["corrected_label"], r["corrected_attrs"]) for r in rows] == [
        ("1", "confirmed", "2", "", ""), ("2", "unreviewed", "2", "", ""),
        ("3", "corrected", "2", "vehicle", '{"color": "black", "type": "suv"}'), ("4", "unreviewed", "2", "", "")]
    assert eta.status_code == 200
    video = eta.json()["videos"][0]
    assert (eta.json()["question"], video["video"], video["name"]) == ("Is this a vehicle?", road_video.pk, "road")
    third = video["labels"]["objects"]["objects"][2]
    assert third == {"type": "eta.core.objects.VideoObject", "label": "vehicle", "index": 3,
                     "support": {"ranges": [[11, 11]]}, "attrs": {"attrs": [
                         {"type": "eta.core.data.CategoricalAttribute", "name": "color", "value": "black"},
                         {"type": "eta.core.data.CategoricalAttribute", "name": "type", "value": "suv"},
                         {"type": "eta.core.data.CategoricalAttribute", "name": "review_state", "value": "corrected"},
                         {"type": "eta.core.data.CategoricalAttribute", "name": "review_key", "value": "3"}]}}
    assert bad.status_code == 400
    assert bad.json()["problems"] == [{"path": "format", "message": '"xml" is not a valid choice.'}]


def test_review_states_give_the_search_layer_one_row_per_key(admin, campaign, reviewers, road_video):
    rita, rob, _ = reviewers
    review(rita, campaign, {"1": "yes", "3": ("no", {"label": "person"}), "default": "unsure"})
    review(rob, campaign, {"1": "yes", "3": ("no", {"label": "person"}), "default": "unsure"})
    later = admin.post("/api/v1/review/campaigns/", {"name": "again", "schema": "road", "q": "vehicle",
                                                     "unit": "tracks", "question": "Sure?"}, format="json").json()
    admin.put(f"/api/v1/review/items/{items(later['id'])['1'].pk}/decision/", {"state": "rejected"}, format="json")

    states = [(s.video_id, s.unit, s.key, s.state, s.label, s.attrs) for s in review_states()]

    assert states == [
        (road_video.pk, "tracks", "1", "rejected", "vehicle", {"type": "sedan", "color": "black"}),
        (road_video.pk, "tracks", "3", "corrected", "person", {}),
    ]
    assert review_states(videos=[road_video.pk + 1]) == []


def test_reviewers_only_review(campaign, reviewers, road_video):
    rita = reviewers[0]

    assert rita.post("/api/v1/review/campaigns/", {}, format="json").status_code == 403
    assert rita.get(f"/api/v1/review/campaigns/{campaign}/stats/").status_code == 403
    assert rita.get("/api/v1/search/?q=vehicle").status_code == 403
    assert rita.get(f"/api/v1/review/campaigns/{campaign + 1}/batch/").status_code == 404
    assert rita.get(f"/api/v1/review/campaigns/{campaign}/batch/?size=0").json()["problems"] == [
        {"path": "size", "message": "Ensure this value is greater than or equal to 1."}]


def test_failing_gold_later_takes_back_a_reviewers_earlier_say(admin, campaign, reviewers):
    rita, rob, _ = reviewers
    review(rita, campaign, {"1": "yes"}, size=1)
    review(rob, campaign, {"1": "yes"}, size=1)
    confirmed = items(campaign)["1"].state
    admin.put(f"/api/v1/review/items/{items(campaign)['4'].pk}/gold/", {"answer": "yes"}, format="json")
    served = review(rita, campaign, {"4": "no", "default": "yes"}, size=1)

    assert confirmed == "confirmed"
    assert sorted(i["track"] for i in served["items"]) == ["2", "4"]
    # Rita is out of standing (0 of 1 gold right): her yes on track 1 no longer decides it.
    assert items(campaign)["1"].state == "unreviewed"
