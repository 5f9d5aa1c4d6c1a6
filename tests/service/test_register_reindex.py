"""Re-indexing while the register serves: queries never see a half-built index, and marks
added or removed meanwhile are in the new index."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from service.marks.metadata import MarkMetadata
from service.ops.maintenance import ReindexRunning
from service.register import Register
from tests.imagegen import make_mark, to_bytes, write_marks


def slow_progress(started: threading.Event, pause: float = 0.05):
    """A progress callback that lets the re-index take long enough to overlap with others."""

    def progress(done: int, total: int) -> None:
        started.set()
        time.sleep(pause)

    return progress


def test_queries_during_a_reindex_always_get_whole_answers(register: Register,
                                                           tmp_path: Path) -> None:
    register.settings.batch_size = 2  # many small batches: a long re-index
    paths = write_marks(tmp_path / "in", range(16))
    register.ingest_folder(tmp_path / "in")
    started, errors = threading.Event(), []

    def reindex() -> None:
        try:
            register.reindex(slow_progress(started), index="hnsw")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    worker = threading.Thread(target=reindex)
    worker.start()
    assert started.wait(30)
    during = 0
    while worker.is_alive():
        i = during % len(paths)
        results = register.search(paths[i].read_bytes(), k=5)
        assert len(results) == 5, "a query saw a partial index"
        assert results[0].record.id == f"mark-{i}"
        assert results[0].score == pytest.approx(1.0, abs=1e-3)
        during += 1
    worker.join()
    assert not errors
    assert during >= 3, "the queries did not overlap the re-index"
    assert register.store.info.kind == "hnsw"
    assert len(register.store) == len(register.records.vector_ids())


def test_marks_added_and_removed_during_a_reindex_are_in_the_new_index(
    register: Register, tmp_path: Path
) -> None:
    register.settings.batch_size = 2
    write_marks(tmp_path / "in", range(10))
    register.ingest_folder(tmp_path / "in")
    started, written = threading.Event(), threading.Event()

    def progress(done: int, total: int) -> None:
        started.set()
        written.wait(30)  # the writes below happen while this re-index is half way

    worker = threading.Thread(target=register.reindex, args=(progress,))
    worker.start()
    assert started.wait(30)
    new = to_bytes(make_mark(77))
    register.add_mark(new, MarkMetadata(id="added-meanwhile"))
    register.remove(["mark-3"])
    written.set()
    worker.join(60)

    assert register.search(new, k=1)[0].record.id == "added-meanwhile"
    ids = {r.record.id for r in register.search(to_bytes(make_mark(3)), k=20)}
    assert "mark-3" not in ids
    live = set(register.records.vector_ids())
    assert set(register.store.ids().tolist()) == live
    with Register(register.settings, register.embedder) as reopened:  # and on disk
        assert set(reopened.store.ids().tolist()) == live


def test_one_reindex_at_a_time(register: Register, tmp_path: Path) -> None:
    write_marks(tmp_path / "in", range(4))
    register.settings.batch_size = 1
    register.ingest_folder(tmp_path / "in")
    started, release = threading.Event(), threading.Event()

    def progress(done: int, total: int) -> None:
        started.set()
        release.wait(30)

    worker = threading.Thread(target=register.reindex, args=(progress,))
    worker.start()
    assert started.wait(30)
    with pytest.raises(ReindexRunning):
        register.reindex()
    release.set()
    worker.join(60)
    assert register.reindex() == 4  # and again once it is over


def test_reindex_into_an_index_kind_and_back(register: Register, tmp_path: Path) -> None:
    paths = write_marks(tmp_path / "in", range(8))
    register.ingest_folder(tmp_path / "in")
    for kind in ("hnsw", "flat"):
        register.reindex(index=kind)
        assert register.stats()["index_type"] == kind
        assert register.search(paths[5].read_bytes(), k=1)[0].record.id == "mark-5"
    with pytest.raises(ValueError, match="budget"):
        register.reindex(index="flat", memory_budget=1000)
    assert register.stats()["index_type"] == "flat"  # a refused re-index changes nothing
