"""Worked examples of the review rules: how votes make a state, gold, standing, agreement."""

from __future__ import annotations

import pytest

from analytics.review.aggregation import CountedVote, aggregate, fleiss_agreement, gold_correct, good_standing

SUV = {"attrs": {"type": "suv"}}
PERSON = {"label": "person"}


def vote(answer: str, correction=None, good: bool = True) -> CountedVote:
    return CountedVote(answer, correction, good)


AGGREGATION = [
    # (votes in the order cast, max votes, state, correction)
    ("two yes decide", [vote("yes"), vote("yes")], 5, "confirmed", None),
    ("two no decide", [vote("no"), vote("no")], 5, "rejected", None),
    ("two no with the same correction", [vote("no", SUV), vote("no", SUV)], 5, "corrected", SUV),
    ("different corrections do not agree", [vote("no", SUV), vote("no", PERSON)], 5, "unreviewed", None),
    ("a correction and a plain no do not agree", [vote("no", SUV), vote("no")], 5, "unreviewed", None),
    ("unsure never decides", [vote("unsure"), vote("unsure")], 5, "unreviewed", None),
    ("one of two in poor standing", [vote("yes"), vote("yes", good=False)], 5, "unreviewed", None),
    ("the first outcome to reach two wins", [vote("yes"), vote("no"), vote("no"), vote("yes")], 5, "rejected", None),
    ("two good no beat three poor yes",
     [vote("yes", good=False), vote("yes", good=False), vote("no"), vote("yes", good=False), vote("no")], 5,
     "rejected", None),
    ("a majority of all votes after max votes",
     [vote("yes"), vote("no"), vote("yes", good=False), vote("unsure"), vote("yes", good=False)], 5,
     "confirmed", None),
    ("a corrected majority", [vote("no", SUV), vote("no", SUV, good=False), vote("no", SUV, good=False)], 3,
     "corrected", SUV),
    ("no majority after max votes is a dispute",
     [vote("yes"), vote("no"), vote("unsure"), vote("unsure"), vote("no", SUV)], 5, "disputed", None),
    ("half is not a majority", [vote("yes"), vote("no", good=False), vote("yes", good=False), vote("no")], 4,
     "disputed", None),
    ("fewer than max votes wait for more", [vote("yes"), vote("no"), vote("unsure")], 5, "unreviewed", None),
    ("no votes", [], 5, "unreviewed", None),
]


@pytest.mark.parametrize(("votes", "max_votes", "state", "correction"), [row[1:] for row in AGGREGATION],
                         ids=[row[0] for row in AGGREGATION])
def test_votes_make_a_state(votes, max_votes, state, correction):
    assert aggregate(votes, max_votes=max_votes) == (state, correction)


GOLD = [
    ("yes", None, "yes", None, True),
    ("no", None, "yes", None, False),
    ("unsure", None, "yes", None, False),
    ("no", SUV, "no", SUV, True),
    ("no", None, "no", SUV, False),
    ("no", PERSON, "no", SUV, False),
    ("no", SUV, "no", None, False),
]


@pytest.mark.parametrize(("answer", "correction", "gold_answer", "gold_correction", "correct"), GOLD)
def test_gold_answers(answer, correction, gold_answer, gold_correction, correct):
    assert gold_correct(answer=answer, correction=correction, gold_answer=gold_answer,
                        gold_correction=gold_correction) is correct


@pytest.mark.parametrize(("gold_votes", "right", "standing"), [(0, 0, True), (5, 4, True), (5, 3, False),
                                                              (1, 0, False), (10, 8, True)])
def test_standing_needs_80_percent_of_gold_right(gold_votes, right, standing):
    assert good_standing(gold_votes=gold_votes, gold_correct_votes=right, min_accuracy=0.8) is standing


def test_fleiss_kappa_of_the_textbook_example():
    # Fleiss (1971) as worked on Wikipedia ("Fleiss' kappa", worked example): 10 subjects,
    # 14 raters each, 5 categories: P-bar = 0.378, P_e = 0.213, kappa = 0.210.
    counts = [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]

    agreement = fleiss_agreement(counts)

    assert agreement.items == 10
    assert round(agreement.percent, 1) == 37.8
    assert round(agreement.kappa, 3) == 0.210


def test_agreement_leaves_out_single_votes_and_is_undefined_when_all_agree():
    assert fleiss_agreement([[1, 0, 0]]).items == 0
    assert fleiss_agreement([[1, 0, 0]]).kappa is None
    unanimous = fleiss_agreement([[2, 0, 0], [3, 0, 0]])
    assert (unanimous.items, unanimous.percent, unanimous.kappa) == (2, 100.0, None)


def test_agreement_with_different_numbers_of_raters():
    # Item 1: 2 yes (agreement 1); item 2: 1 yes, 2 no (pairs agreeing 1 of 3).
    # P-bar = (1 + 1/3) / 2 = 2/3; shares yes 3/5, no 2/5: P_e = 0.52; kappa = (2/3 - 0.52) / 0.48.
    agreement = fleiss_agreement([[2, 0, 0], [1, 2, 0]])

    assert round(agreement.percent, 3) == 66.667
    assert round(agreement.kappa, 4) == round((2 / 3 - 0.52) / 0.48, 4) == 0.3056
