"""The rules that turn votes into an item's state, a reviewer's standing and the agreement
between reviewers: plain functions of plain values, so the worked examples test them alone.

- A vote's *outcome*: ``yes`` confirms, ``no`` rejects, ``no`` with a correction corrects
  (to that correction), ``unsure`` decides nothing.
- Two votes with the same outcome, both from reviewers in good standing, decide (the first
  outcome to reach two, in the order the votes came).
- Otherwise, once an item has ``max_votes`` counted votes, an outcome held by more than half
  of them decides: here every reviewer's vote counts, in good standing or not, because a
  majority of many weak votes is still evidence where two strong ones never agreed.
- Otherwise, with ``max_votes`` votes, the item is disputed until an admin decides; with fewer,
  it stays unreviewed and is served again.

Votes of a flagged batch (a gold item answered wrongly) are not counted at all (the caller
leaves them out)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analytics.review.models import CONFIRMED, CORRECTED, DISPUTED, NO, REJECTED, UNREVIEWED, UNSURE, YES

Outcome = tuple[str, str]  # (state, the correction as canonical JSON text, "" when none)


@dataclass(frozen=True)
class CountedVote:
    """A vote that counts: its answer, its correction and whether its reviewer is in good standing."""

    answer: str
    correction: dict[str, Any] | None
    good_standing: bool


def outcome(answer: str, correction: dict[str, Any] | None) -> Outcome | None:
    """What one vote would make of the item; None for ``unsure``."""
    if answer == YES:
        return CONFIRMED, ""
    if answer == NO and correction:
        return CORRECTED, json.dumps(correction, sort_keys=True)
    if answer == NO:
        return REJECTED, ""
    if answer == UNSURE:
        return None
    raise ValueError(f"unknown answer {answer!r}")


def aggregate(votes: Sequence[CountedVote], *, max_votes: int) -> tuple[str, dict[str, Any] | None]:
    """The state and correction that ``votes`` (in the order cast) give an item no admin decided."""
    agreeing: Counter[Outcome] = Counter()
    for vote in votes:
        result = outcome(vote.answer, vote.correction)
        if result is not None and vote.good_standing:
            agreeing[result] += 1
            if agreeing[result] == 2:
                return _state(result)
    if len(votes) < max_votes:
        return UNREVIEWED, None
    tally = Counter(result for vote in votes if (result := outcome(vote.answer, vote.correction)) is not None)
    for result, count in tally.items():
        if count * 2 > len(votes):
            return _state(result)
    return DISPUTED, None


def _state(result: Outcome) -> tuple[str, dict[str, Any] | None]:
    state, correction = result
    return state, json.loads(correction) if correction else None


def gold_correct(*, answer: str, correction: dict[str, Any] | None, gold_answer: str,
                 gold_correction: dict[str, Any] | None) -> bool:
    """Whether a vote on a gold item matches its gold answer (and correction): ``unsure``
    on a gold item is wrong, as it would let a careless reviewer through."""
    return outcome(answer, correction) == outcome(gold_answer, gold_correction) and answer != UNSURE


def good_standing(*, gold_votes: int, gold_correct_votes: int, min_accuracy: float) -> bool:
    """A reviewer is in good standing while their gold accuracy is at least ``min_accuracy``;
    one who has answered no gold item yet is trusted, so that a campaign without gold works."""
    return gold_votes == 0 or gold_correct_votes / gold_votes >= min_accuracy


@dataclass(frozen=True)
class Agreement:
    items: int  # items with two votes or more
    percent: float | None  # mean pairwise agreement per item, in percent
    kappa: float | None  # Fleiss' kappa


def fleiss_agreement(counts: Sequence[Sequence[int]]) -> Agreement:
    """Percent agreement and Fleiss' kappa of ``counts[i][j]``: how many raters put item i in
    category j. Items with fewer than two ratings are left out; items may have different
    numbers of raters (each item's agreement is over its own pairs, category shares over all
    ratings). None where undefined: no item, or every rating in one category."""
    rated = [row for row in counts if sum(row) >= 2]
    if not rated:
        return Agreement(items=0, percent=None, kappa=None)
    per_item = [(sum(n * n for n in row) - sum(row)) / (sum(row) * (sum(row) - 1)) for row in rated]
    observed = sum(per_item) / len(per_item)
    total = sum(sum(row) for row in rated)
    expected = sum((sum(row[j] for row in rated) / total) ** 2 for j in range(len(rated[0])))
    kappa = None if expected == 1 else (observed - expected) / (1 - expected)
    return Agreement(items=len(rated), percent=observed * 100, kappa=kappa)
