"""Choosing the index kind: flat while small and within budget, ivfpq beyond."""

from __future__ import annotations

import math

import pytest

from index.choice import (
    FLAT_MAX_VECTORS,
    TRAIN_SIZE,
    choose_index,
    estimate_bytes,
    ivf_nlist,
)

DIM = 256


def test_auto_is_flat_while_small() -> None:
    plan = choose_index(50_000, DIM)
    assert plan.kind == "flat"
    assert plan.estimated_bytes == estimate_bytes("flat", 50_000, DIM)


def test_auto_is_ivfpq_when_large() -> None:
    plan = choose_index(FLAT_MAX_VECTORS + 1, DIM)
    assert plan.kind == "ivfpq"
    assert {"nlist", "M", "opq_dim", "nprobe", "rerank"} <= plan.params.keys()


def test_auto_is_ivfpq_when_flat_is_over_budget() -> None:
    flat = estimate_bytes("flat", 100_000, DIM)
    plan = choose_index(100_000, DIM, memory_budget_bytes=flat // 2)
    assert plan.kind == "ivfpq" and plan.estimated_bytes <= flat // 2


@pytest.mark.parametrize("kind", ["flat", "ivfpq", "hnsw"])
def test_explicit_kinds_are_honoured(kind: str) -> None:
    assert choose_index(1_000_000, DIM, requested=kind).kind == kind
    assert choose_index(1_000, DIM, requested=kind).kind == kind


def test_over_budget_raises_saying_how_much() -> None:
    needs = r"flat index of 1,000,000 vectors .* needs about 1022\.3 MiB"
    with pytest.raises(ValueError, match=needs):
        choose_index(1_000_000, DIM, memory_budget_bytes=100 << 20, requested="flat")
    with pytest.raises(ValueError, match="ivfpq index .* needs about"):
        choose_index(10_000_000, DIM, memory_budget_bytes=100 << 20)


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown index kind"):
        choose_index(10, DIM, requested="lsh")


def test_ivfpq_fits_the_per_mark_target() -> None:
    # <= 128 bytes a mark at 1.4 vectors a mark: about 90 bytes a vector
    for n in (300_000, 1_000_000, 5_000_000):
        assert estimate_bytes("ivfpq", n, DIM) / n <= 90


def test_hnsw_is_bigger_than_flat() -> None:
    assert estimate_bytes("hnsw", 10**6, DIM) > estimate_bytes("flat", 10**6, DIM)


def test_nlist_grows_with_sqrt_n_within_training_bounds() -> None:
    assert ivf_nlist(100_000) == round(4 * math.sqrt(100_000))
    assert ivf_nlist(10**8) == TRAIN_SIZE // 39  # 39 training points a list at most
    assert ivf_nlist(1_000) >= 16
    assert ivf_nlist(20_000) <= 20_000 // 39
