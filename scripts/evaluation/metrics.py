"""Retrieval metrics: recall@k (hit rate), mAP@k and NAR (normalised average rank).

All take, per query, the ranked gallery items (indices, or the register's mark ids) and
the set of relevant ones. NAR is the METU trademark benchmark's metric: 0 when every
relevant item is ranked first, about 0.5 for a random ranking; it needs the rank of every
relevant item in the whole gallery, so a search that returns its top 100 has none.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np


def recall_at_k(ranking: Sequence[Hashable], relevant: AbstractSet[Hashable], k: int) -> float:
    """1.0 if any relevant item is in the top k (the hit rate examiners care about)."""
    return 1.0 if any(i in relevant for i in ranking[:k]) else 0.0


def average_precision_at_k(ranking: Sequence[Hashable], relevant: AbstractSet[Hashable],
                           k: int = 100) -> float:
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
    nar: float | None  # None: only a top-k ranking was seen


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


def score_ranking(ranking: Sequence[Hashable], relevant: AbstractSet[Hashable],
                  k: int = 100) -> QueryScores:
    """Metrics for one query from its ranked results, best first (the register's mark ids
    of a search's top ``k``); NAR is None, as the rest of the gallery is not ranked."""
    top = list(ranking[:k])
    return QueryScores(
        r1=recall_at_k(top, relevant, 1),
        r10=recall_at_k(top, relevant, 10),
        ap100=average_precision_at_k(top, relevant, 100),
        nar=None,
    )


def mean_scores(scores: Sequence[QueryScores]) -> dict[str, float | None]:
    """Means over queries; NAR is None when some query has none."""
    if not scores:
        return {"queries": 0, "R@1": 0.0, "R@10": 0.0, "mAP@100": 0.0, "NAR": 0.0}
    nars = [s.nar for s in scores]
    return {
        "queries": len(scores),
        "R@1": float(np.mean([s.r1 for s in scores])),
        "R@10": float(np.mean([s.r10 for s in scores])),
        "mAP@100": float(np.mean([s.ap100 for s in scores])),
        "NAR": None if any(n is None for n in nars) else float(np.mean(nars)),
    }
