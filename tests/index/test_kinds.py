"""Every index kind: right neighbours, removal, upserts, filters (with the exact fallback
for selective ones) and save/load, on 20k clustered vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import faiss_store
from index.base import IndexInfo, VectorNotFound, VectorStore
from index.faiss_store import FaissStore
from tests.index.synthetic import clustered, exact_top, recall

KINDS = ["flat", "ivfpq", "hnsw"]
N, DIM, HELD_OUT = 20_000, 64, 300


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, indexed vectors, held-out vectors of the same clusters)."""
    vectors = clustered(N + HELD_OUT, DIM)
    return np.arange(N, dtype=np.int64) * 7 + 100, vectors[:N], vectors[N:]


@pytest.fixture(scope="module")
def saved(data, tmp_path_factory) -> dict[str, Path]:
    """Each kind built once and saved; tests load their own copy."""
    ids, vectors, _ = data
    out = {}
    for kind in KINDS:
        path = tmp_path_factory.mktemp(kind) / "vectors.tmsi"
        FaissStore.build(IndexInfo("m@1", DIM, kind), ids, vectors).save(path)
        out[kind] = path
    return out


@pytest.fixture(params=KINDS)
def store(request, saved) -> FaissStore:
    return FaissStore.load(saved[request.param], expect=IndexInfo("m@1", DIM))


def test_kind_and_params_are_kept(store: FaissStore) -> None:
    assert isinstance(store, VectorStore)
    assert store.kind == store.info.kind
    assert len(store) == N
    if store.kind == "ivfpq":
        assert {"nlist", "M", "nprobe", "rerank"} <= store.info.params.keys()
    if store.kind == "hnsw":
        assert store.info.params["M"] == 32 and "efSearch" in store.info.params


def test_own_vector_first(store: FaissStore, data) -> None:
    ids, vectors, _ = data
    rows = np.arange(0, N, 397)
    hits = store.search(vectors[rows], k=10)
    assert (hits.ids[:, 0] == ids[rows]).mean() >= 0.98
    assert np.all(np.diff(hits.scores, axis=1) <= 1e-5)  # best first


def test_recall_against_exact(store: FaissStore, data) -> None:
    ids, vectors, held_out = data
    truth = exact_top(vectors, ids, held_out, 10)
    assert recall(store.search(held_out, k=10).ids, truth) >= 0.95


def test_removal_hides_ids_everywhere(store: FaissStore, data) -> None:
    ids, vectors, _ = data
    rows = np.arange(5, N, 101)
    assert store.remove(ids[rows].tolist()) == len(rows)
    assert store.remove(ids[rows].tolist()) == 0
    assert len(store) == N - len(rows)
    assert not np.isin(ids[rows], store.ids()).any()
    hits = store.search(vectors[rows], k=10)
    assert not np.isin(hits.ids, ids[rows]).any()
    assert (hits.ids >= 0).all()
    with pytest.raises(VectorNotFound):
        store.reconstruct(int(ids[rows[0]]))


def test_add_is_an_upsert(store: FaissStore, data) -> None:
    ids, vectors, held_out = data
    target = int(ids[10])
    store.add(np.array([target]), held_out[:1])
    assert len(store) == N
    assert np.allclose(store.reconstruct(target), held_out[0], atol=2e-3)
    assert store.search(held_out[0], k=1).ids[0, 0] == target
    assert target not in store.search(vectors[10], k=1).ids[0, :1] or np.allclose(
        vectors[10], held_out[0])


def test_adds_after_build_are_searchable(store: FaissStore, data) -> None:
    _, _, held_out = data
    new_ids = np.arange(10**9, 10**9 + HELD_OUT)
    store.add(new_ids, held_out)
    assert len(store) == N + HELD_OUT
    hits = store.search(held_out, k=5)
    assert (hits.ids[:, 0] == new_ids).mean() >= 0.98


def test_filter_inside_search(store: FaissStore, data) -> None:
    ids, vectors, held_out = data
    allowed = np.random.default_rng(1).choice(ids, 6000, replace=False)  # the index path
    hits = store.search(held_out[:20], k=10, allowed_ids=allowed)
    assert np.isin(hits.ids, allowed).all()
    truth = exact_top(vectors[np.isin(ids, allowed)], ids[np.isin(ids, allowed)],
                      held_out[:20], 10)
    assert recall(hits.ids, truth) >= 0.9


@pytest.mark.parametrize("path", ["exact", "index-then-fallback"])
def test_selective_filter_returns_the_exact_best_k(store: FaissStore, data, path: str,
                                                   monkeypatch) -> None:
    if path == "index-then-fallback":  # ask the index first; it finds too few
        monkeypatch.setattr(faiss_store, "EXACT_FILTER_MAX", 0)
    ids, vectors, held_out = data
    pick = np.random.default_rng(2).choice(N, 15, replace=False)
    hits = store.search(held_out[:5], k=10, allowed_ids=ids[pick])
    assert (hits.ids >= 0).sum(axis=1).tolist() == [10] * 5
    truth = exact_top(vectors[pick], ids[pick], held_out[:5], 10)
    for got, want in zip(hits.ids, truth, strict=True):
        assert set(got) == set(want)


def test_filter_with_removed_and_unknown_ids(store: FaissStore, data) -> None:
    ids, vectors, _ = data
    store.remove(ids[:3].tolist())
    hits = store.search(vectors[0], k=5, allowed_ids=np.r_[ids[:8], -5, 10**12])
    assert sorted(hits.ids[0].tolist()) == sorted(ids[3:8].tolist())


def test_save_load_round_trip(store: FaissStore, data, tmp_path: Path) -> None:
    ids, vectors, held_out = data
    store.remove(ids[:50].tolist())
    store.add(np.array([10**9]), held_out[:1])
    path = tmp_path / "idx" / "vectors.tmsi"
    store.save(path)
    assert not path.with_name(path.name + ".tmp").exists()
    loaded = FaissStore.load(path, expect=IndexInfo("m@1", DIM))
    assert (loaded.info.kind, loaded.info.params) == (store.info.kind, store.info.params)
    assert loaded.describe()["tombstones"] == store.describe()["tombstones"]
    assert np.array_equal(loaded.ids(), store.ids())
    q = np.r_[held_out[:20], vectors[:5]]
    assert np.array_equal(loaded.search(q, 10).ids, store.search(q, 10).ids)
    assert not np.isin(loaded.search(vectors[:50], 10).ids, ids[:50]).any()
    # later changes and saves keep working, and leave no stale side files behind
    loaded.remove(ids[50:60].tolist())
    loaded.save(path)
    again = FaissStore.load(path)
    assert len(again) == N - 60 + 1
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        ["vectors.tmsi"] + _side_files(again))


def _side_files(store: FaissStore) -> list[str]:
    vectors = getattr(store._engine, "vectors", None)  # noqa: SLF001 - ivfpq's exact vectors
    return [] if vectors is None else [s.path.name for s in vectors._segments]  # noqa: SLF001


def test_describe(store: FaissStore) -> None:
    info = store.describe()
    assert info["kind"] == store.kind and info["vectors"] == N
    assert info["memory_bytes"] > 0 and info["tombstones"] == 0
    if store.kind == "ivfpq":
        assert {"nlist", "M", "nprobe"} <= info.keys()
        assert info["bytes_per_vector"] < 100  # flat is 4 * 64 + 48
    if store.kind == "hnsw":
        assert info["efSearch"] == store.info.params["efSearch"]


def test_search_options(store: FaissStore, data) -> None:
    _, _, held_out = data
    hits = store.search(held_out[:3], k=10, nprobe=1, ef_search=16, rerank=0)
    assert (hits.ids >= 0).all()


@pytest.mark.parametrize("path", ["overfetch", "as-allowed-set"])
def test_excluded_ids_never_come_back_and_k_others_do(store: FaissStore, data, path: str,
                                                      monkeypatch) -> None:
    """The unpublished marks of a public search: each query's own vector and its nearest
    neighbours are excluded; the k best of the rest come back, as exact search ranks
    them (flat) or nearly (approximate kinds)."""
    if path == "as-allowed-set":
        monkeypatch.setattr(faiss_store, "OVERFETCH_MAX", 0)
    ids, vectors, _ = data
    rows = np.arange(0, N, 997)
    near = exact_top(vectors, ids, vectors[rows], 5)  # each query's 5 nearest, itself first
    excluded = np.unique(near)
    hits = store.search(vectors[rows], k=10, excluded_ids=excluded)
    assert not np.isin(hits.ids, excluded).any()
    assert (hits.ids >= 0).all()
    keep = ~np.isin(ids, excluded)
    truth = exact_top(vectors[keep], ids[keep], vectors[rows], 10)
    assert recall(hits.ids, truth) >= (1.0 if store.kind == "flat" else 0.9)
    both = store.search(vectors[rows], k=10, allowed_ids=ids[:5000], excluded_ids=excluded)
    assert np.isin(both.ids[both.ids >= 0], np.setdiff1d(ids[:5000], excluded)).all()
