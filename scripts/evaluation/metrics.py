"""Retrieval metrics: recall@k (hit rate), mAP@k and NAR (normalised average rank).

All take, per query, the ranked gallery indices and the set of relevant indices. NAR is
the METU trademark benchmark's metric: 0 when every relevant item is ranked first, about
0.5 for a random ranking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


def recall_at_k(ranking: Sequence[int], relevant: set[int], k: int) -> float:
    """1.0 if any relevant item is in the top k (the hit rate examiners care about)."""
    return 1.0 if any(i in relevant for i in ranking[:k]) else 0.0


def average_precision_at_k(ranking: Sequence[int], relevant: set[int], k: int = 100) -> float:
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for position, item in enumerate(ranking[:k], start=1):
        if item in relevant:
            hits += 1
            total += hits / position
    return total / min(len(relevant), k)


def normalised_average_rank(ranks: Sequence[int], gallery_size: int) -> float:
    """NAR from the 1-based ranks of all relevant items in a gallery of ``gallery_size``."""
    n_rel = len(ranks)
    if n_rel == 0 or gallery_size == 0:
        return 0.0
    return (sum(ranks) - n_rel * (n_rel + 1) / 2) / (gallery_size * n_rel)


@dataclass
class QueryScores:
    r1: float
    r10: float
    ap100: float
    nar: float


def score_query(similarities: np.ndarray, relevant: set[int],
                exclude: Iterable[int] = ()) -> QueryScores:
    """Metrics for one query from its similarities to the whole gallery (higher = closer)."""
    sims = similarities.astype(np.float64).copy()
    excluded = list(exclude)
    if excluded:
        sims[excluded] = -np.inf
    order = np.argsort(-sims, kind="stable")
    if excluded:
        order = order[: len(order) - len(excluded)]
    positions = np.empty(len(sims), dtype=np.int64)
    positions[order] = np.arange(1, len(order) + 1)
    ranks = sorted(int(positions[i]) for i in relevant)
    top = order[:100].tolist()
    return QueryScores(
        r1=recall_at_k(top, relevant, 1),
        r10=recall_at_k(top, relevant, 10),
        ap100=average_precision_at_k(top, relevant, 100),
        nar=normalised_average_rank(ranks, len(order)),
    )


def mean_scores(scores: Sequence[QueryScores]) -> dict[str, float]:
    if not scores:
        return {"queries": 0, "R@1": 0.0, "R@10": 0.0, "mAP@100": 0.0, "NAR": 0.0}
    return {
        "queries": len(scores),
        "R@1": float(np.mean([s.r1 for s in scores])),
        "R@10": float(np.mean([s.r10 for s in scores])),
        "mAP@100": float(np.mean([s.ap100 for s in scores])),
        "NAR": float(np.mean([s.nar for s in scores])),
    }
