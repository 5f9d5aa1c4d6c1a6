"""`check` finds each kind of drift between records, stored images and the saved index;
`repair` mends it; repair needs the data dir alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.embedder import Embedder
from service.marks.metadata import MarkMetadata
from service.ops.consistency import check
from service.register import Register
from service.settings import Settings
from service.storage.data_lock import DataDirBusy
from service.storage.layout import INDEX_FILE, DataDir
from tests.imagegen import make_mark, to_bytes


def _fill(settings: Settings, embedder: Embedder, n: int = 8) -> None:
    with Register(settings, embedder) as register:
        for seed in range(n):
            register.add_mark(to_bytes(make_mark(seed)), MarkMetadata(id=f"mark-{seed}"))


def _check(settings: Settings):  # noqa: ANN202
    return check(DataDir(settings.resolved_data_dir))


def test_a_clean_register_checks_consistent(settings: Settings, embedder: Embedder) -> None:
    _fill(settings, embedder)
    report = _check(settings)
    assert report.ok, report.to_dict()
    assert report.marks == 8 and report.vectors_expected == report.vectors_indexed >= 8


def test_each_drift_is_found_then_repaired(settings: Settings, embedder: Embedder) -> None:
    _fill(settings, embedder)
    data = settings.resolved_data_dir
    with Register(settings, embedder) as register:
        lost = register.get("mark-2")
        gone = register.get("mark-5")
        # a vector lost from the saved index, and one of no record
        register.store.remove(np.array([lost.vector_id]))
        register.store.add(np.array([10**9]), register.store.reconstruct(
            register.get("mark-1").vector_id)[None, :])
        register.save_index()
        register.index.dirty = 0
    (data / "images" / "zz").mkdir(parents=True)
    (data / "images" / "zz" / ("zz" + "0" * 62 + ".png")).write_bytes(b"orphan")
    (data / "thumbs" / "ab").mkdir(parents=True, exist_ok=True)
    (data / "thumbs" / "ab" / "x.png.123.tmp").write_bytes(b"half")
    (data / "index" / "reindex-vectors.f32").write_bytes(b"\0" * 64)
    for path in (data / "images").glob(f"*/{gone.image_key}.*"):
        path.unlink()

    report = _check(settings)
    assert not report.ok
    assert report.missing_vectors == [lost.vector_id]
    assert report.stray_vectors == [10**9]
    assert report.missing_images == ["mark-5"]
    assert report.orphan_images == ["zz" + "0" * 62]
    assert sorted(report.temp_files) == ["index/reindex-vectors.f32",
                                         "thumbs/ab/x.png.123.tmp"]

    with Register(settings, embedder) as register:
        fixed = register.repair()
        assert fixed.orphans_deleted == 1 and fixed.leftovers_deleted == 2
        assert fixed.unreadable == ["mark-5"] and fixed.removed == []
        top = register.search(to_bytes(make_mark(2)), 1)[0]
        assert top.record.id == "mark-2"  # its vector was re-embedded (on open)
    after = _check(settings)
    assert after.missing_images == ["mark-5"] and not after.missing_vectors
    assert not after.stray_vectors and not after.orphan_images and not after.temp_files
    with Register(settings, embedder) as register:
        assert register.repair(drop_unreadable=True).removed == ["mark-5"]
    assert _check(settings).ok


def test_repair_refuses_a_data_dir_in_use(settings: Settings, embedder: Embedder) -> None:
    _fill(settings, embedder, 2)
    with Register(settings, embedder) as server, Register(settings, embedder) as other:
        with pytest.raises(DataDirBusy, match="stop it before the repair"):
            other.repair()
        assert server.records.count() == 2  # the other user was not disturbed
    with Register(settings, embedder) as alone:
        assert alone.repair().restored == 0


def test_check_needs_no_model_and_sees_an_unreadable_index(settings: Settings,
                                                           embedder: Embedder) -> None:
    _fill(settings, embedder, 2)
    index = Path(settings.resolved_data_dir) / INDEX_FILE
    index.write_bytes(index.read_bytes()[:40])
    report = _check(settings)
    assert report.index_error is not None and not report.ok
