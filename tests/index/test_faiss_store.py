"""The FAISS store: id map, upserts, removal, filters, atomic save and version checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.base import IndexInfo, IndexMismatchError, VectorStore
from index.faiss_store import FaissStore
from index.field_filter import FieldCondition


def unit(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def store() -> FaissStore:
    return FaissStore(IndexInfo(model_version="m@1", dim=16))


def test_is_a_vector_store(store: FaissStore) -> None:
    assert isinstance(store, VectorStore)
    assert store.native_filters is False


def test_vectors_fresh_and_the_capabilities_it_lacks(store: FaissStore) -> None:
    vectors = unit(6)
    store.add(np.arange(10, 16), vectors, fields=[{"status": "x"}] * 6)  # fields: not kept
    np.testing.assert_allclose(store.vectors(np.array([14, 10])), vectors[[4, 0]], atol=1e-6)
    assert store.vectors(np.array([], np.int64)).shape == (0, 16)
    with pytest.raises(KeyError):
        store.vectors(np.array([99]))
    fresh = store.fresh()
    assert len(fresh) == 0 and fresh.info == store.info and len(store) == 6
    with pytest.raises(ValueError, match="id sets"):
        store.search(vectors[:1], 3, where=(FieldCondition("status", "in", ("registered",)),))
    store.close()
    store.drop()  # nothing to let go or delete: the store still answers
    assert store.search(vectors[:1], 1).ids[0, 0] == 10


def test_search_returns_own_vector_first_with_ids_not_positions(store: FaissStore) -> None:
    vectors = unit(50)
    ids = np.arange(1000, 1050)
    store.add(ids, vectors)
    hits = store.search(vectors[[3, 7]], k=5)
    assert hits.ids[:, 0].tolist() == [1003, 1007]
    assert np.allclose(hits.scores[:, 0], 1.0, atol=1e-5)
    assert np.all(np.diff(hits.scores, axis=1) <= 1e-6)  # best first


def test_id_map_survives_removals(store: FaissStore) -> None:
    vectors = unit(20)
    store.add(np.arange(20), vectors)
    assert store.remove([0, 5, 6]) == 3
    assert len(store) == 17
    assert set(store.ids().tolist()) == set(range(20)) - {0, 5, 6}
    hits = store.search(vectors[[10, 19]], k=1)
    assert hits.ids[:, 0].tolist() == [10, 19]
    assert 5 not in store.search(vectors[5], k=20).ids


def test_add_is_an_upsert(store: FaissStore) -> None:
    a, b = unit(2, seed=1)
    store.add(np.array([7]), a[None])
    store.add(np.array([7]), b[None])
    assert len(store) == 1
    assert np.allclose(store.reconstruct(7), b)


def test_allowed_ids_filter_inside_search(store: FaissStore) -> None:
    vectors = unit(100)
    store.add(np.arange(100), vectors)
    allowed = np.array([2, 40, 77, 91, 95, 99])
    hits = store.search(vectors[0], k=5, allowed_ids=allowed)
    assert set(hits.ids[0].tolist()) <= set(allowed.tolist())
    assert (hits.ids[0] >= 0).sum() == 5  # k results, not "top k then filter"


def test_k_larger_than_store_pads(store: FaissStore) -> None:
    store.add(np.arange(3), unit(3))
    hits = store.search(unit(1, seed=9), k=5)
    assert hits.ids.shape == (1, 5)
    assert hits.ids[0, 3:].tolist() == [-1, -1]


def test_empty_store_search(store: FaissStore) -> None:
    hits = store.search(unit(2), k=3)
    assert (hits.ids == -1).all()


def test_wrong_dimension_rejected(store: FaissStore) -> None:
    with pytest.raises(ValueError, match="vectors must be"):
        store.add(np.arange(2), unit(2, dim=8))


def test_save_load_round_trip_and_mismatch(store: FaissStore, tmp_path: Path) -> None:
    vectors = unit(10)
    store.add(np.arange(10, 20), vectors)
    path = tmp_path / "idx" / "vectors.tmsi"
    store.save(path)
    assert not path.with_name(path.name + ".tmp").exists()
    loaded = FaissStore.load(path, expect=IndexInfo("m@1", 16))
    assert loaded.search(vectors[4], 1).ids[0, 0] == 14
    assert FaissStore.read_info(path).model_version == "m@1"
    with pytest.raises(IndexMismatchError, match="tmsearch reindex"):
        FaissStore.load(path, expect=IndexInfo("m@2", 16))
