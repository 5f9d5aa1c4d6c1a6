"""Each service of the register stands alone: built from its collaborators, without a
Register, it does its job (the facade only wires them)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from index.base import IndexInfo
from index.faiss_store import FaissStore
from models.embedder import Embedder
from service.ingest.writer import MarkWriter
from service.marks.images import ImageLimits
from service.marks.metadata import MarkMetadata
from service.marks.pipeline import PrepareSpec
from service.search.risk import RiskThresholds
from service.search.searcher import Searcher
from service.settings import Settings
from service.storage.image_store import ImageStore
from service.storage.index_writer import IndexWriter
from service.storage.records import RecordStore
from service.storage.stored_marks import MarkNotFound, StoredMarks
from tests.imagegen import make_mark, to_bytes


@dataclass
class Parts:
    index: IndexWriter
    records: RecordStore
    writer: MarkWriter
    searcher: Searcher


@pytest.fixture
def parts(tmp_path: Path, embedder: Embedder) -> Iterator[Parts]:
    records = RecordStore(tmp_path / "records.sqlite3")
    images = ImageStore(tmp_path)
    spec = PrepareSpec(embedder.config.input_size, embedder.config.input_mode,
                       ImageLimits(10_000_000, 40_000_000, 1024), 128, read_text=False)
    store = FaissStore(IndexInfo(embedder.version, embedder.dim))
    index = IndexWriter(store, tmp_path / "index" / "vectors.tmsi", records, save_every=100)
    writer = MarkWriter(index, records, images, embedder, spec)
    settings = Settings(data_dir=tmp_path, device="cpu", workers=0, read_text=False)
    searcher = Searcher(index, StoredMarks(records, images, spec), embedder, spec, settings,
                        None, RiskThresholds())
    yield Parts(index, records, writer, searcher)
    records.close()


def test_the_writer_alone_writes_records_then_vectors_and_removes(parts: Parts) -> None:
    record, created = parts.writer.add_mark(to_bytes(make_mark(3)), MarkMetadata(id="m-3"))
    stored = parts.records.get("m-3")
    assert created and stored is not None
    assert stored.all_vector_ids() == record.all_vector_ids()
    assert set(parts.index.store.ids().tolist()) == set(record.all_vector_ids())
    assert parts.index.dirty == 1  # unsaved until save_every or a removal
    assert parts.writer.remove(["m-3", "nothing"]) == ["m-3"]
    assert len(parts.index.store) == 0 and parts.records.get("m-3") is None
    assert parts.index.path.is_file() and parts.index.dirty == 0  # a removal saves


def test_an_upload_is_read_by_the_writer_s_own_reader(tmp_path: Path, parts: Parts,
                                                     embedder: Embedder) -> None:
    """A single upload's words are read by the reader the writer was given (the
    register's), not by a second OCR engine loaded for the process."""

    class Reader:
        def read_mark(self, image: object, parts: object) -> str:
            return "ACME"

    spec = replace(parts.writer.spec, read_text=True)
    writer = MarkWriter(parts.index, parts.records, parts.writer.images, embedder, spec,
                        Reader())  # type: ignore[arg-type]
    record, _ = writer.add_mark(to_bytes(make_mark(8)), MarkMetadata(id="m-8"))
    assert record.text == "ACME" and parts.records.get("m-8").text == "ACME"


def test_the_searcher_alone_finds_what_the_writer_wrote(parts: Parts) -> None:
    for seed in range(6):
        parts.writer.add_mark(to_bytes(make_mark(seed)), MarkMetadata(id=f"m-{seed}"))
    results = parts.searcher.search(to_bytes(make_mark(4)), k=3)
    assert results[0].record.id == "m-4" and results[0].score == pytest.approx(1.0, abs=1e-3)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    similar = parts.searcher.similar("m-4", k=3)
    assert "m-4" not in [r.record.id for r in similar] and len(similar) == 3
    with pytest.raises(MarkNotFound):
        parts.searcher.similar("m-99")


def test_a_swap_replays_what_was_written_during_a_reindex(parts: Parts) -> None:
    """The index writer's re-index log: a write made while the new index is built reaches
    the new index when it is swapped in."""
    first, _ = parts.writer.add_mark(to_bytes(make_mark(1)), MarkMetadata(id="m-1"))
    parts.index.reindex_log = []
    fresh = parts.index.store.fresh()
    fresh.add(np.array([first.vector_id]), parts.index.store.vectors(np.array([first.vector_id])))
    second, _ = parts.writer.add_mark(to_bytes(make_mark(2)), MarkMetadata(id="m-2"))
    with parts.index.lock:
        parts.index.swap(fresh)
    parts.index.reindex_log = None
    assert parts.index.store is fresh
    assert set(fresh.ids().tolist()) == {first.vector_id, *second.all_vector_ids()}
