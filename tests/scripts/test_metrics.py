"""Metrics on hand-made rankings whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from scripts.evaluation.metrics import (
    average_precision_at_k,
    mean_scores,
    normalised_average_rank,
    recall_at_k,
    score_query,
)


def test_recall_at_k_is_a_hit_rate() -> None:
    ranking = [5, 3, 9, 1, 7]
    assert recall_at_k(ranking, {9}, 1) == 0.0
    assert recall_at_k(ranking, {9}, 3) == 1.0
    assert recall_at_k(ranking, {42}, 5) == 0.0


def test_average_precision() -> None:
    # relevant at positions 1 and 3 of 2 relevant: (1/1 + 2/3) / 2
    assert average_precision_at_k([0, 1, 2, 3], {0, 2}) == pytest.approx((1 + 2 / 3) / 2)
    # one relevant at position 4
    assert average_precision_at_k([0, 1, 2, 3], {3}) == pytest.approx(0.25)
    # relevant beyond the cut-off counts as missed
    assert average_precision_at_k([0, 1, 2, 3], {3}, k=3) == 0.0


def test_nar_perfect_worst_and_middle() -> None:
    assert normalised_average_rank([1, 2], 10) == 0.0
    # worst: ranks 9 and 10 of 10 -> (19 - 3) / 20
    assert normalised_average_rank([9, 10], 10) == pytest.approx(0.8)
    assert normalised_average_rank([5], 10) == pytest.approx(0.4)


def test_score_query_from_similarities_with_the_query_excluded() -> None:
    # gallery of 6; the query itself is item 0 and must not count
    sims = np.array([1.0, 0.2, 0.9, 0.5, 0.8, 0.1])
    scores = score_query(sims, relevant={4, 5}, exclude=[0])
    # ranking without item 0: 2 (0.9), 4 (0.8), 3 (0.5), 1 (0.2), 5 (0.1)
    assert scores.r1 == 0.0 and scores.r10 == 1.0
    assert scores.ap100 == pytest.approx((1 / 2 + 2 / 5) / 2)
    assert scores.nar == pytest.approx(((2 + 5) - 3) / (5 * 2))


def test_mean_scores() -> None:
    a = score_query(np.array([0.9, 0.1]), {0})
    b = score_query(np.array([0.1, 0.9]), {0})
    means = mean_scores([a, b])
    assert means["queries"] == 2 and means["R@1"] == 0.5 and means["R@10"] == 1.0
