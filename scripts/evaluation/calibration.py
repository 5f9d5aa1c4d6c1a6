"""Risk-level thresholds calibrated on the evaluation's rankings.

Every query's top-10 hits are labelled relevant (the same mark transformed, or the same
brand drawn by another set) or not. A threshold's precision is the share of relevant hits
among all hits scoring at or above it; "high" is the lowest score whose precision reaches
``high_precision``, "medium" the lowest reaching ``medium_precision``. Read as: of the
results an examiner sees marked high risk, at least 90 % were the same mark or brand.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def top_hits(row: np.ndarray, relevant: set[int], exclude: Iterable[int] = (), k: int = 10
             ) -> list[tuple[float, bool]]:
    """(score, is relevant) of a query's k best gallery items."""
    row = row.copy()
    for i in exclude:
        row[i] = -np.inf
    best = np.argpartition(-row, k)[:k]
    return [(float(row[i]), int(i) in relevant) for i in best]


def risk_thresholds(hits: list[tuple[float, bool]], high_precision: float = 0.9,
                    medium_precision: float = 0.5) -> dict[str, float]:
    """Score thresholds for the high and medium levels (see the module docstring)."""
    if not hits:
        raise ValueError("no hits to calibrate on")
    scores = np.array([s for s, _ in hits])
    labels = np.array([r for _, r in hits], dtype=np.float64)
    order = np.argsort(-scores)
    scores, labels = scores[order], labels[order]
    precision = np.cumsum(labels) / np.arange(1, len(labels) + 1)

    def lowest_with(target: float) -> float:
        ok = np.nonzero(precision >= target)[0]
        return float(scores[ok[-1]]) if ok.size else float(scores[0])

    high = lowest_with(high_precision)
    medium = min(lowest_with(medium_precision), high)
    return {"high": round(high, 4), "medium": round(medium, 4),
            "high_precision": high_precision, "medium_precision": medium_precision,
            "hits": len(hits), "relevant_hits": int(labels.sum())}
