"""Risk-threshold calibration on hand-made hits."""

from __future__ import annotations

import numpy as np
import pytest

from scripts.evaluation.calibration import risk_thresholds, top_hits


def test_thresholds_reach_the_asked_precision() -> None:
    # scores high to low: R R R R N R R N N R N N N N N N
    labels = [1, 1, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    scores = np.linspace(0.99, 0.5, len(labels))
    hits = [(float(s), bool(r)) for s, r in zip(scores, labels, strict=True)]
    t = risk_thresholds(hits, high_precision=0.85, medium_precision=0.5)
    # precision at rank 7 is 6/7 = 0.857 (the last rank >= 0.85); at rank 14 it is 7/14
    assert t["high"] == pytest.approx(round(float(scores[6]), 4))
    assert t["medium"] == pytest.approx(round(float(scores[13]), 4))
    assert t["hits"] == 16 and t["relevant_hits"] == 7


def test_top_hits_excludes_the_query_itself() -> None:
    row = np.array([1.0, 0.9, 0.8, 0.1, 0.2])
    hits = top_hits(row, relevant={2}, exclude=[0], k=2)
    assert sorted(hits, reverse=True) == [(0.9, False), (0.8, True)]
