"""The register: ingest, search, update, remove, reindex, and consistency after crashes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from index.base import IndexMismatchError
from index.faiss_store import FaissStore
from models.embedder import Embedder
from service.ingest.folder import IngestEvent
from service.marks.images import ImageError
from service.marks.metadata import MarkMetadata
from service.register import Register
from service.settings import Settings
from service.storage.stored_marks import MarkNotFound
from tests.imagegen import make_mark, to_bytes, write_marks


def ingest(register: Register, folder: Path, metadata: Path | None = None):
    events: list[IngestEvent] = []
    summary = register.ingest_folder(folder, metadata, events.append)
    return summary, events


def test_round_trip_each_mark_is_its_own_top_1(register: Register, tmp_path: Path) -> None:
    paths = write_marks(tmp_path / "in", range(12)) + write_marks(
        tmp_path / "in", range(12, 16), fmt="JPEG", subdir="jpeg")
    summary, _ = ingest(register, tmp_path / "in")
    assert (summary.added, summary.failed) == (16, 0)
    assert register.records.count() == 16
    assert len(register.store) == len(register.records.vector_ids())
    for path in paths:
        (top, *_rest) = register.search(path.read_bytes(), k=3)
        expected = path.relative_to(tmp_path / "in").with_suffix("").as_posix()
        assert top.record.id == expected
        assert top.score == pytest.approx(1.0, abs=1e-4)


def test_mark_ids_are_relative_posix_paths(register: Register, tmp_path: Path) -> None:
    write_marks(tmp_path / "in", [1], subdir="a/b")
    ingest(register, tmp_path / "in")
    assert register.get("a/b/mark-1").source == "a/b/mark-1.png"


def test_reingest_skips_unchanged_and_updates_changed(register: Register, tmp_path: Path) -> None:
    paths = write_marks(tmp_path / "in", range(6))
    ingest(register, tmp_path / "in")
    vector_before = register.get("mark-2").vector_id
    summary, _ = ingest(register, tmp_path / "in")
    assert (summary.added, summary.updated, summary.skipped) == (0, 0, 6)

    paths[2].write_bytes(to_bytes(make_mark(99)))
    summary, _ = ingest(register, tmp_path / "in")
    assert (summary.updated, summary.skipped) == (1, 5)
    record = register.get("mark-2")
    assert record.vector_id != vector_before
    assert len(register.store) == len(register.records.vector_ids())
    assert register.search(to_bytes(make_mark(99)), k=1)[0].record.id == "mark-2"
    assert vector_before not in register.store.ids()


def test_metadata_file_gives_ids_and_fields_and_metadata_only_updates(
    register: Register, tmp_path: Path
) -> None:
    write_marks(tmp_path / "in", range(3))
    meta = tmp_path / "meta.jsonl"
    rows = [{"file": "mark-0.png", "id": "TM-0", "name": "Zero", "nice_classes": [9]},
            {"file": "mark-1.png", "owner": "Acme", "status": "filed"}]
    meta.write_text("\n".join(json.dumps(r) for r in rows))
    summary, _ = ingest(register, tmp_path / "in", meta)
    assert summary.added == 3
    assert register.get("TM-0").name == "Zero"
    assert register.get("mark-1").owner == "Acme"
    vector_id = register.get("mark-1").vector_id

    rows[1]["owner"] = "Acme Ltd"
    meta.write_text("\n".join(json.dumps(r) for r in rows))
    summary, _ = ingest(register, tmp_path / "in", meta)
    assert (summary.updated, summary.skipped) == (1, 2)
    assert register.get("mark-1").owner == "Acme Ltd"
    assert register.get("mark-1").vector_id == vector_id  # no re-embedding


def test_bad_files_reported_and_batch_continues(register: Register, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_marks(folder, range(4))
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.jpg").write_bytes(b"this is not a jpeg")
    good = to_bytes(make_mark(50), "PNG")
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    summary, events = ingest(register, folder)
    assert (summary.added, summary.failed) == (4, 3)
    failed = {e.path for e in events if e.outcome == "failed"}
    assert failed == {"empty.png", "text.jpg", "truncated.png"}
    assert register.records.count() == 4
    assert len(register.store) == len(register.records.vector_ids())


def test_duplicate_ids_in_one_ingest_reported(register: Register, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder).mkdir()
    (folder / "logo.png").write_bytes(to_bytes(make_mark(1)))
    (folder / "logo.jpg").write_bytes(to_bytes(make_mark(2), "JPEG"))
    summary, _ = ingest(register, folder)
    assert (summary.added, summary.failed) == (1, 1)
    assert "already has mark id" in summary.failures[0][1]


def test_worker_processes_give_the_same_register(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    write_marks(tmp_path / "in", range(10))
    results = []
    for workers in (0, 2):
        s = settings.model_copy(update={"workers": workers, "data_dir": tmp_path / f"d{workers}"})
        with Register(s, embedder) as reg:
            summary = reg.ingest_folder(tmp_path / "in")
            assert summary.added == 10
            results.append({r.id: r.content_hash for r in reg.records.iter_all()})
            vec = reg.store.reconstruct(reg.get("mark-3").vector_id)
            results.append(np.round(vec, 5).tolist())
    assert results[0] == results[2] and results[1] == results[3]


def test_remove_then_search_and_id_map(register: Register, tmp_path: Path) -> None:
    paths = write_marks(tmp_path / "in", range(8))
    ingest(register, tmp_path / "in")
    key = register.get("mark-1").image_key
    assert register.remove(["mark-1", "mark-4", "nope"]) == ["mark-1", "mark-4"]
    assert register.records.count() == 6
    assert len(register.store) == len(register.records.vector_ids())
    assert not register.images.image_path(key, "image/png").exists()
    for i, path in enumerate(paths):
        top = register.search(path.read_bytes(), k=1)[0]
        if i in (1, 4):
            assert top.record.id not in ("mark-1", "mark-4")
        else:
            assert top.record.id == f"mark-{i}"
    with pytest.raises(MarkNotFound):
        register.get("mark-1")


def test_add_mark_creates_then_replaces(register: Register) -> None:
    record, created = register.add_mark(to_bytes(make_mark(1)), MarkMetadata(id="TM-1", name="A"))
    assert created and record.name == "A"
    record2, created2 = register.add_mark(to_bytes(make_mark(2)), MarkMetadata(id="TM-1"))
    assert not created2 and record2.vector_id != record.vector_id
    assert len(register.store) == len(register.records.vector_ids())
    assert register.search(to_bytes(make_mark(2)), k=1)[0].score == pytest.approx(1, abs=1e-4)


def test_bad_upload_changes_nothing(register: Register) -> None:
    register.add_mark(to_bytes(make_mark(1)), MarkMetadata(id="TM-1"))
    with pytest.raises(ImageError):
        register.add_mark(b"not an image", MarkMetadata(id="TM-2"))
    with pytest.raises(ImageError):
        register.search(b"")
    assert register.records.count() == 1
    assert len(register.store) == len(register.records.vector_ids())


def test_reindex_keeps_results_and_swaps_index(register: Register, tmp_path: Path) -> None:
    paths = write_marks(tmp_path / "in", range(6))
    ingest(register, tmp_path / "in")
    before = [[r.record.id for r in register.search(p.read_bytes(), 3)] for p in paths]
    progress: list[tuple[int, int]] = []
    assert register.reindex(lambda done, total: progress.append((done, total))) == 6
    assert progress[-1] == (6, 6)
    after = [[r.record.id for r in register.search(p.read_bytes(), 3)] for p in paths]
    assert before == after
    assert register.records.get_meta("last_reindex") is not None


def test_crash_before_index_save_is_repaired_on_open(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """Records committed but the index never saved (SIGKILL): the next open restores them."""
    paths = write_marks(tmp_path / "in", range(5))
    reg = Register(settings, embedder)
    reg.ingest_folder(tmp_path / "in")  # saves the index at the end of the batch
    saved = set(reg.records.vector_ids())
    two_devices = Image.new("RGB", (260, 128), "white")
    two_devices.paste(make_mark(0), (0, 0))
    two_devices.paste(make_mark(1), (132, 0))
    late, _ = reg.add_mark(to_bytes(two_devices), MarkMetadata(id="late"))  # only in memory
    assert late.components, "the late mark should have components to restore too"
    reg.records.close()  # simulate the process dying: no close(), no index save
    assert set(FaissStore.load(reg.index_path).ids().tolist()) == saved

    reopened = Register(settings, embedder)
    assert reopened.records.count() == 6
    assert set(reopened.store.ids().tolist()) == saved | set(late.all_vector_ids())
    restored = reopened.store.reconstruct(late.components[0].vector_id)
    late_again = reopened.records.get("late")
    assert late_again is not None and late_again.components == late.components
    assert reopened.search(paths[1].read_bytes(), 1)[0].record.id == "mark-1"
    assert float(np.linalg.norm(restored)) == pytest.approx(1.0, abs=1e-3)
    reopened.close()


def test_stray_vectors_dropped_on_open(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """Index saved after records were removed by another writer: strays are dropped."""
    write_marks(tmp_path / "in", range(4))
    with Register(settings, embedder) as reg:
        reg.ingest_folder(tmp_path / "in")
        index_path = reg.index_path
        stale = index_path.read_bytes()
        reg.remove(["mark-0"])
    index_path.write_bytes(stale)  # crash between the record delete and the index save
    with Register(settings, embedder) as reg:
        assert reg.records.count() == 3
        assert len(reg.store) == len(reg.records.vector_ids())
        assert set(reg.store.ids().tolist()) == set(reg.records.vector_ids())


def test_index_of_another_model_is_refused_until_reindex(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    paths = write_marks(tmp_path / "in", range(3))
    with Register(settings, embedder) as reg:
        reg.ingest_folder(tmp_path / "in")
        store = FaissStore.load(reg.index_path)
        store.info.model_version = "some-older-model@0000"
        store.save(reg.index_path)
    reg = Register(settings, embedder)
    assert reg.stats()["needs_reindex"] is True
    with pytest.raises(IndexMismatchError, match="tmsearch reindex"):
        reg.search(paths[0].read_bytes())
    with pytest.raises(IndexMismatchError):
        reg.add_mark(to_bytes(make_mark(9)), MarkMetadata(id="x"))
    reg.reindex()
    assert reg.search(paths[0].read_bytes(), 1)[0].record.id == "mark-0"
    reg.close()
    with Register(settings, embedder) as again:
        assert again.stats()["needs_reindex"] is False


def test_search_many_keeps_order_and_reports_bad_queries(
    register: Register, tmp_path: Path
) -> None:
    paths = write_marks(tmp_path / "in", range(40))
    ingest(register, tmp_path / "in")
    queries = [(p.name, p.read_bytes()) for p in paths]
    queries.insert(5, ("bad", b"nope"))
    out = list(register.search_many(queries, k=2))
    assert [name for name, _ in out] == [name for name, _ in queries]
    assert isinstance(out[5][1], ImageError)
    assert out[0][1][0].record.id == "mark-0" and out[-1][1][0].record.id == "mark-39"


def test_stats(register: Register, tmp_path: Path) -> None:
    write_marks(tmp_path / "in", range(2))
    ingest(register, tmp_path / "in")
    info = register.stats()
    assert info["marks"] == 2 and info["vectors"] >= 2
    assert info["model_version"] == info["index_model_version"]
    assert info["index_type"] == "flat" and info["last_ingest"]
    # test_register_postgres.py runs this test again with PostgreSQL records
    assert info["records"] == ("postgresql" if register.settings.database_url else "sqlite")


def test_file_with_an_invalid_metadata_row_fails_whole_and_no_duplicate_later(
    register: Register, tmp_path: Path
) -> None:
    write_marks(tmp_path / "in", range(3))
    meta = tmp_path / "meta.jsonl"
    meta.write_text(json.dumps({"file": "mark-1.png", "id": "TM-1", "nice_classes": [99]}) + "\n"
                    + json.dumps({"file": "gone.png", "nice_classes": [0]}) + "\n")
    summary, _ = ingest(register, tmp_path / "in", meta)
    assert (summary.added, summary.failed) == (2, 2)
    assert {f for f, _ in summary.failures} == {"mark-1.png", "gone.png"}
    assert register.records.get("mark-1") is None

    meta.write_text(json.dumps({"file": "mark-1.png", "id": "TM-1", "nice_classes": [9]}) + "\n")
    summary, _ = ingest(register, tmp_path / "in", meta)
    assert (summary.added, summary.skipped, summary.failed) == (1, 2, 0)
    assert sorted(r.id for r in register.records.iter_all()) == ["TM-1", "mark-0", "mark-2"]


def test_ingest_walks_the_folder_lazily_a_chunk_at_a_time(
    settings: Settings, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first marks are written before the walk has gone past the next chunk: a
    folder is never listed up front, so memory is bounded by the chunk, not the folder."""
    import service.ingest.folder as folder_module

    write_marks(tmp_path / "in", range(30))
    walked: list[Path] = []
    real_walk = folder_module.iter_image_files

    def counting_walk(folder: Path):
        for path in real_walk(folder):
            walked.append(path)
            yield path

    monkeypatch.setattr(folder_module, "iter_image_files", counting_walk)
    walked_at_first_write: list[int] = []

    def on_event(event: IngestEvent) -> None:
        if event.outcome == "added" and not walked_at_first_write:
            walked_at_first_write.append(len(walked))

    with Register(settings.model_copy(update={"ingest_chunk": 4}), embedder) as register:
        summary = register.ingest_folder(tmp_path / "in", on_event=on_event)
    assert summary.added == 30 and len(walked) == 30
    assert walked_at_first_write[0] <= 2 * 4  # this chunk and at most the next in flight
