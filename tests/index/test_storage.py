"""The parts under the kinds: the id -> row map, the exact vectors on disk, the file
format (including files of earlier releases) and the build fallbacks."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from index import rowmap as rowmap_module
from index import sidecar
from index.base import IndexIncompleteError, IndexInfo, IndexMismatchError
from index.faiss_store import FaissStore
from index.rowmap import RowMap
from index.sidecar import ExactVectors
from tests.index.synthetic import clustered

DIM = 16


def test_rowmap_agrees_with_a_dict(monkeypatch) -> None:
    monkeypatch.setattr(rowmap_module, "_MERGE_AT", 8)  # merge often
    rng = np.random.default_rng(0)
    rows, model = RowMap(), {}
    for step in range(400):
        ids = np.unique(rng.integers(0, 300, rng.integers(1, 20)))
        if rng.random() < 0.7:
            new = np.arange(step * 100, step * 100 + len(ids))
            prev = rows.assign(ids, new)
            assert prev.tolist() == [model.get(i, -1) for i in ids.tolist()]
            model.update(zip(ids.tolist(), new.tolist(), strict=True))
        else:
            prev = rows.delete(ids)
            assert prev.tolist() == [model.pop(i, -1) for i in ids.tolist()]
        assert len(rows) == len(model)
    probe = np.arange(-5, 305)
    assert rows.lookup(probe).tolist() == [model.get(i, -1) for i in probe.tolist()]
    keys, values = rows.items()
    assert dict(zip(keys.tolist(), values.tolist(), strict=True)) == model


def test_exact_vectors_spill_save_and_reopen(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sidecar, "_SPILL_BYTES", 1000)  # spill to a temp dir at once
    vectors = clustered(300, DIM)
    store = ExactVectors(DIM, tmp_root=tmp_path / "work")
    store.put(np.arange(300), vectors)
    assert store._segments and store._segments[0].path.parent.parent == tmp_path / "work"
    got, found = store.get(np.array([5, 299, 1000]))
    assert found.tolist() == [True, True, False]
    assert np.allclose(got[:2], vectors[[5, 299]], atol=1e-3)

    index = tmp_path / "idx" / "vectors.tmsi"
    state = store.save(index)
    store.cleanup(index)
    names = sorted(p.name for p in index.parent.iterdir())
    assert names == sorted(name for name, _ in state["segments"])
    assert all(n.startswith("vectors.tmsi.") and n.endswith(".f16") for n in names)
    assert not list((tmp_path / "work").glob("*/*.f16"))  # moved, not copied

    ids, rows = store.rowmap.items()
    reopened = ExactVectors.open(index, DIM, state, ids, rows)
    assert np.array_equal(reopened.get(np.arange(300))[0], store.get(np.arange(300))[0])


def test_exact_vectors_compact_when_mostly_dead(tmp_path: Path) -> None:
    index = tmp_path / "vectors.tmsi"
    store = ExactVectors(DIM)
    vectors = clustered(100, DIM)
    store.put(np.arange(100), vectors)
    store.save(index)
    store.delete(np.arange(60))
    store.put(np.array([99]), vectors[:1])  # an upsert leaves a dead row too
    state = store.save(index)
    store.cleanup(index)
    assert state["rows"] == 40 and len(state["segments"]) == 1
    assert len(list(tmp_path.glob("vectors.tmsi.*.f16"))) == 1
    assert np.allclose(store.get(np.array([99]))[0], vectors[0], atol=1e-3)
    assert np.allclose(store.get(np.array([70]))[0], vectors[70], atol=1e-3)


def test_exact_vectors_rewrite_a_segment_deleted_underneath(tmp_path: Path) -> None:
    """Another process's save may delete a segment this store still maps."""
    index = tmp_path / "vectors.tmsi"
    store = ExactVectors(DIM)
    vectors = clustered(50, DIM)
    store.put(np.arange(50), vectors)
    store.save(index)
    for f in tmp_path.glob("*.f16"):
        f.unlink()
    state = store.save(index)
    assert all((tmp_path / name).is_file() for name, _ in state["segments"])
    ids, rows = store.rowmap.items()
    reopened = ExactVectors.open(index, DIM, state, ids, rows)
    assert np.allclose(reopened.get(np.arange(50))[0], vectors, atol=1e-3)


def test_exact_vectors_merge_small_segments(tmp_path: Path) -> None:
    index = tmp_path / "vectors.tmsi"
    store = ExactVectors(DIM)
    vectors = clustered(40, DIM)
    for i in range(sidecar._MAX_SEGMENTS + 3):  # one segment a save
        store.put(np.array([i]), vectors[i : i + 1])
        state = store.save(index)
    assert len(state["segments"]) <= sidecar._MAX_SEGMENTS
    assert max(count for _, count in state["segments"]) > 1  # small ones were merged
    ids, rows = store.rowmap.items()
    reopened = ExactVectors.open(index, DIM, state, ids, rows)
    n = sidecar._MAX_SEGMENTS + 3
    assert np.allclose(reopened.get(np.arange(n))[0], vectors[:n], atol=1e-3)


def test_ivfpq_saved_in_place_many_times(tmp_path: Path) -> None:
    """The service loads, changes and saves the same path over and over."""
    vectors = clustered(12_000, DIM)
    path = tmp_path / "vectors.tmsi"
    FaissStore.build(IndexInfo("m@1", DIM, "ivfpq"), np.arange(11_000),
                     vectors[:11_000]).save(path)
    for i in range(3):
        store = FaissStore.load(path)
        store.add(np.arange(11_000 + i * 100, 11_100 + i * 100),
                  vectors[11_000 + i * 100 : 11_100 + i * 100])
        store.remove(range(i * 10, i * 10 + 10))
        store.save(path)
    store = FaissStore.load(path)
    assert store.kind == "ivfpq" and len(store) == 11_300 - 30
    assert store.search(vectors[11_250], 1).ids[0, 0] == 11_250
    assert np.allclose(store.reconstruct(11_250), vectors[11_250], atol=1e-3)
    referenced = {s.path.name for s in store._engine.vectors._segments}  # noqa: SLF001
    assert {p.name for p in tmp_path.glob("*.f16")} == referenced
    # a lost side file makes the index unusable the way a model mismatch does
    for name in referenced:
        (tmp_path / name).unlink()
    with pytest.raises(IndexMismatchError, match="tmsearch reindex") as raised:
        FaissStore.load(path)
    assert isinstance(raised.value, IndexIncompleteError)


def test_ivfpq_with_too_few_vectors_is_flat() -> None:
    vectors = clustered(500, DIM)
    store = FaissStore.build(IndexInfo("m@1", DIM, "ivfpq"), np.arange(500), vectors)
    assert store.kind == "flat" == store.info.kind
    assert store.info.params["fallback_from"] == "ivfpq"
    assert "too few" in store.describe()["fallback_reason"]
    assert store.search(vectors[7], 1).ids[0, 0] == 7


def test_empty_stores_of_each_kind() -> None:
    assert FaissStore(IndexInfo("m@1", DIM, "ivfpq")).kind == "flat"  # cannot train on nothing
    empty = FaissStore.build(IndexInfo("m@1", DIM, "ivfpq"), np.arange(0),
                             np.empty((0, DIM), np.float32))
    assert empty.kind == "flat" and len(empty) == 0
    hnsw = FaissStore(IndexInfo("m@1", DIM, "hnsw"))
    assert (hnsw.search(clustered(1, DIM), 3).ids == -1).all()
    vectors = clustered(50, DIM)
    hnsw.add(np.arange(50), vectors)
    assert hnsw.search(vectors[3], 1).ids[0, 0] == 3
    with pytest.raises(ValueError, match="unknown index kind"):
        FaissStore(IndexInfo("m@1", DIM, "lsh"))


def test_duplicate_ids_in_one_add_keep_the_last(tmp_path: Path) -> None:
    a, b = clustered(2, DIM, seed=3)
    for kind in ("flat", "hnsw"):
        store = FaissStore(IndexInfo("m@1", DIM, kind))
        store.add(np.array([4, 4]), np.stack([a, b]))
        assert len(store) == 1 and np.allclose(store.reconstruct(4), b)


def test_reads_files_of_earlier_releases(tmp_path: Path) -> None:
    """TMSI1: header is the IndexInfo alone, then the serialised IndexIDMap2."""
    vectors = clustered(20, DIM)
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
    index.add_with_ids(vectors, np.arange(100, 120))
    header = json.dumps({"model_version": "m@1", "dim": DIM, "kind": "flat",
                         "params": {}}).encode()
    path = tmp_path / "vectors.tmsi"
    path.write_bytes(b"TMSI1\n" + len(header).to_bytes(8, "little") + header
                     + faiss.serialize_index(index).tobytes())
    assert FaissStore.read_info(path).model_version == "m@1"
    store = FaissStore.load(path, expect=IndexInfo("m@1", DIM))
    assert store.search(vectors[4], 1).ids[0, 0] == 104
    store.save(path)
    assert FaissStore.load(path).search(vectors[5], 1).ids[0, 0] == 105
