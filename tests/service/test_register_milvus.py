"""The register on a real Milvus server gives the FAISS register's answers: the same
marks for the same queries and filters, unpublished marks hidden, writes, metadata
changes and removals followed, a re-index swapped in whole, and reconcile on open."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from models.embedder import Embedder
from service.marks.metadata import MarkMetadata
from service.register import Register
from service.settings import Settings
from tests.imagegen import make_mark, to_bytes
from tests.service.register_cases import OPTIONS, SEEDS, meta, result_ids

pytestmark = pytest.mark.milvus


@contextmanager
def _pair(base: Path, embedder: Embedder, milvus_uri: str) -> Iterator[tuple[Register, Register]]:
    """The same 30 marks in a FAISS register and in a Milvus one (same vector ids)."""
    settings = Settings(device="cpu", workers=0, batch_size=32)
    faiss_reg = Register(settings.model_copy(update={"data_dir": base / "faiss"}), embedder)
    milvus_reg = Register(settings.model_copy(update={
        "data_dir": base / "milvus", "vector_store": milvus_uri,
        "milvus_collection": f"reg_{uuid.uuid4().hex[:10]}"}), embedder)
    try:
        for register in (faiss_reg, milvus_reg):
            for seed in SEEDS:
                register.add_mark(to_bytes(make_mark(seed)), meta(seed))
        yield faiss_reg, milvus_reg
    finally:
        faiss_reg.close()
        milvus_reg.close()


@pytest.fixture(scope="module")
def shared_pair(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, milvus_uri: str
                ) -> Iterator[tuple[Register, Register]]:
    """For the read-only comparisons."""
    with _pair(tmp_path_factory.mktemp("pair"), embedder, milvus_uri) as both:
        yield both


@pytest.fixture
def pair(tmp_path: Path, embedder: Embedder, milvus_uri: str
         ) -> Iterator[tuple[Register, Register]]:
    """For the tests that write."""
    with _pair(tmp_path, embedder, milvus_uri) as both:
        yield both


@pytest.mark.parametrize("name", list(OPTIONS))
def test_milvus_answers_like_faiss(shared_pair: tuple[Register, Register], name: str) -> None:
    faiss_reg, milvus_reg = shared_pair
    for seed in (1, 3, 8, 14, 22):
        expected = result_ids(faiss_reg, seed, OPTIONS[name])
        assert result_ids(milvus_reg, seed, OPTIONS[name]) == expected, (name, seed)
    if name == "filed only, public":
        assert expected == []


def test_writes_metadata_changes_and_removals_follow(pair: tuple[Register, Register]) -> None:
    faiss_reg, milvus_reg = pair
    public = OPTIONS["public"]
    assert result_ids(milvus_reg, 5, public)[0] == "mark-5"  # status None: published
    for register in pair:
        filed = MarkMetadata.model_validate({**meta(5).model_dump(), "status": "filed"})
        register.add_mark(to_bytes(make_mark(5)), filed)
        register.remove(["mark-10"])
        register.add_mark(to_bytes(make_mark(99)), MarkMetadata(id="mark-20", nice_classes=[9]))
    for seed, options in ((5, public), (10, OPTIONS["examiner"]), (99, OPTIONS["nice 9"])):
        assert result_ids(milvus_reg, seed, options) == result_ids(faiss_reg, seed, options), seed
    assert "mark-5" not in result_ids(milvus_reg, 5, public)
    assert "mark-10" not in result_ids(milvus_reg, 10, OPTIONS["examiner"], 30)
    assert result_ids(milvus_reg, 99, OPTIONS["nice 9"])[0] == "mark-20"
    assert len(milvus_reg.store) == len(milvus_reg.records.vector_ids())


def test_reindex_swaps_the_collection_while_searches_go_on(pair: tuple[Register, Register]
                                                           ) -> None:
    _, register = pair
    before = register.store.collection
    errors: list[Exception] = []
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                assert result_ids(register, 3, OPTIONS["examiner"], 1) == ["mark-3"]
            except Exception as exc:  # noqa: BLE001 - collected for the assertion below
                errors.append(exc)

    thread = threading.Thread(target=search)
    thread.start()
    try:
        assert register.reindex() == len(SEEDS)
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert register.store.collection != before
    register.save_index()  # the replaced collection goes once searches are past the swap
    assert before not in register.store.client.list_collections()
    assert register.stats()["index_type"] == "milvus"
    assert len(register.store) == len(register.records.vector_ids())


def test_reopening_reconciles_the_collection_with_the_records(
    pair: tuple[Register, Register], embedder: Embedder
) -> None:
    _, register = pair
    lost = [register.get(f"mark-{s}").vector_id for s in (2, 4)]
    register.store.remove(lost)
    register.store.add(np.array([10**9]), register.store.reconstruct(
        register.get("mark-1").vector_id)[None, :])
    # another process opening the same register (the collection is the server's)
    with Register(register.settings, embedder) as reopened:
        assert set(reopened.store.ids().tolist()) == set(reopened.records.vector_ids())
        assert result_ids(reopened, 4, OPTIONS["examiner"], 1) == ["mark-4"]
        assert 10**9 not in set(reopened.store.ids().tolist())


def test_a_collection_made_by_another_model_is_refused_until_a_reindex(
    tmp_path: Path, embedder: Embedder, milvus_uri: str
) -> None:
    from index.base import IndexInfo, IndexMismatchError
    from index.milvus_store import MilvusStore

    alias = f"reg_{uuid.uuid4().hex[:10]}"
    old = MilvusStore.open(milvus_uri, alias, IndexInfo("older-model@1", embedder.dim))
    settings = Settings(data_dir=tmp_path / "d", device="cpu", workers=0,
                        vector_store=milvus_uri, milvus_collection=alias)
    with Register(settings, embedder) as register:
        assert isinstance(register.index_error, IndexMismatchError)
        with pytest.raises(IndexMismatchError, match="run `tmsearch reindex`"):
            register.search(to_bytes(make_mark(1)), 1)
        with pytest.raises(IndexMismatchError):
            register.add_mark(to_bytes(make_mark(1)), meta(1))
        assert register.reindex() == 0
        assert register.index_error is None
        assert register.store.info.model_version == embedder.version
        register.add_mark(to_bytes(make_mark(1)), meta(1))
        assert result_ids(register, 1, OPTIONS["examiner"], 1) == ["mark-1"]
    assert old.collection not in old.client.list_collections()  # dropped after the swap


def test_a_register_can_ask_for_ivf_pq(tmp_path: Path, embedder: Embedder, milvus_uri: str
                                       ) -> None:
    settings = Settings(data_dir=tmp_path / "d", device="cpu", workers=0,
                        vector_store=milvus_uri, milvus_collection=f"reg_{uuid.uuid4().hex[:10]}",
                        milvus_index="ivf_pq")
    with Register(settings, embedder) as register:
        for seed in range(6):
            register.add_mark(to_bytes(make_mark(seed)), meta(seed))
        index = register.stats()["index"]
        assert (index["index"], index["m"], index["search"]) == ("IVF_PQ", embedder.dim // 4,
                                                                 {"nprobe": 64})
        assert result_ids(register, 3, OPTIONS["examiner"], 1) == ["mark-3"]
