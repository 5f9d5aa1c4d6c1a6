"""Clustered unit vectors shaped like a register: families of near-duplicate marks.

64 gaussian centres (broad classes of shapes), 30 groups around each (a mark and its
variants), points around the groups. Without the groups, every point of a cluster is
about equally near every other and the "true" top 10 is an arbitrary pick among hundreds:
compressed indexes then score recall@10 near 0.9 (64 dims, 8-byte codes, re-ranked),
which says more about the data than about the index.
"""

from __future__ import annotations

import numpy as np


def clustered(n: int, dim: int = 64, centres: int = 64, groups: int = 30,
              spread: float = 0.6, variant: float = 0.5, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors: ``groups`` per centre at noise norm ``spread``, points around
    the groups at noise norm ``variant``."""
    rng = np.random.default_rng(seed)
    c = _unit(rng.normal(size=(centres, dim)))
    g = _unit(c[rng.integers(0, centres, centres * groups)]
              + rng.normal(scale=spread / np.sqrt(dim), size=(centres * groups, dim)))
    v = g[rng.integers(0, len(g), n)] + rng.normal(scale=variant / np.sqrt(dim), size=(n, dim))
    return _unit(v).astype(np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def exact_top(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray,
              k: int) -> np.ndarray:
    """Ids of the exact top ``k`` per query."""
    scores = queries @ vectors.T
    return ids[np.argsort(-scores, axis=1)[:, :k]]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """10-recall@10: the share of the exact top ids found."""
    return float(np.mean([len(set(f) & set(t)) / len(t)
                          for f, t in zip(found, truth, strict=True)]))
