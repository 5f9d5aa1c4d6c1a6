"""Which index kind a register gets, from its size and a memory budget.

Exact (flat) search is the reference and costs about 1 KiB a vector at dim 256, so it is
kept while it is small enough to be fast and fits; beyond that the compressed ``ivfpq``
index (tens of bytes a vector, exact re-rank from disk) takes over. ``hnsw`` is never
picked automatically: it is faster than flat but no smaller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from index import hnsw, ivfpq

KINDS = ("flat", "ivfpq", "hnsw")
FLAT_MAX_VECTORS = 280_000  # about 200k marks at 1.4 vectors a mark
TRAIN_SIZE = 100_000  # ivfpq trains on at most this many vectors (fast on 2 cores)
MIN_TRAIN = 10_000  # fewer vectors than this: ivfpq falls back to flat
MIN_NLIST = 16

_FLAT_BYTES_PER_VECTOR_EXTRA = 8 + 40  # id + reverse id map entry
_ROWMAP_BYTES = 16


@dataclass(frozen=True)
class IndexPlan:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    estimated_bytes: int = 0


def choose_index(n_vectors: int, dim: int, memory_budget_bytes: int | None = None,
                 requested: str = "auto") -> IndexPlan:
    """The kind and parameters to build for ``n_vectors``; raises ValueError when the
    requested kind (or, for auto, every candidate) needs more than the budget."""
    if requested not in ("auto", *KINDS):
        raise ValueError(f"unknown index kind {requested!r}; expected auto, {', '.join(KINDS)}")
    if requested == "auto":
        flat = _plan("flat", n_vectors, dim)
        if n_vectors <= FLAT_MAX_VECTORS and _fits(flat, memory_budget_bytes):
            return flat
        requested = "ivfpq"
    plan = _plan(requested, n_vectors, dim)
    if not _fits(plan, memory_budget_bytes):
        raise ValueError(
            f"a {plan.kind} index of {n_vectors:,} vectors (dim {dim}) needs about "
            f"{_human(plan.estimated_bytes)} of memory, over the budget of "
            f"{_human(memory_budget_bytes or 0)}; raise the budget or choose another kind")
    return plan


def default_params(kind: str, n_vectors: int, dim: int) -> dict[str, Any]:
    if kind == "flat":
        return {}
    if kind == "hnsw":
        return dict(hnsw.DEFAULTS)
    if kind == "ivfpq":
        m = _pq_m(dim, min(ivfpq.DEFAULTS["M"], max(1, dim // 8)))
        opq_dim = min(dim, ivfpq.DEFAULTS["opq_dim"]) // m * m
        train = min(n_vectors, TRAIN_SIZE)
        return {**ivfpq.DEFAULTS, "M": m, "opq_dim": opq_dim, "nlist": ivf_nlist(n_vectors),
                "train_size": train}
    raise ValueError(f"unknown index kind {kind!r}")


def ivf_nlist(n_vectors: int, train_size: int = TRAIN_SIZE) -> int:
    """About 4 * sqrt(n) lists, but never fewer than 39 training points a list."""
    cap = max(MIN_NLIST, min(n_vectors, train_size) // ivfpq.MIN_POINTS_PER_LIST)
    return int(min(max(MIN_NLIST, round(4 * math.sqrt(max(n_vectors, 1)))), cap))


def estimate_bytes(kind: str, n: int, dim: int, params: dict[str, Any] | None = None) -> int:
    """Process memory an index of ``n`` vectors is expected to take (not page cache)."""
    params = {**default_params(kind, n, dim), **(params or {})}
    if kind == "flat":
        return n * (dim * 4 + _FLAT_BYTES_PER_VECTOR_EXTRA)
    if kind == "hnsw":
        links = (2 * int(params["M"]) + 2) * 4  # level 0 has 2M links, upper levels ~M/M
        per_vector = dim * 4 + links + 8 + 4 + 8 + 1 + _ROWMAP_BYTES
        return n * per_vector
    if kind == "ivfpq":
        m, opq_dim, nlist = int(params["M"]), int(params.get("opq_dim") or 0), int(params["nlist"])
        d = opq_dim or dim
        fixed = nlist * (d * 4 + 48) + ivfpq.PQ_CENTROIDS * d * 4 + dim * opq_dim * 4
        return n * (m + 8 + _ROWMAP_BYTES) + fixed
    raise ValueError(f"unknown index kind {kind!r}")


def _plan(kind: str, n: int, dim: int) -> IndexPlan:
    params = default_params(kind, n, dim)
    return IndexPlan(kind, params, estimate_bytes(kind, n, dim, params))


def _fits(plan: IndexPlan, budget: int | None) -> bool:
    return budget is None or plan.estimated_bytes <= budget


def _pq_m(dim: int, wanted: int) -> int:
    """The largest number of PQ sub-quantisers <= ``wanted`` that divides ``dim``."""
    return next(m for m in range(min(wanted, dim), 0, -1) if dim % m == 0)


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
