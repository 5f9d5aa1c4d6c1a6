"""Backups taken while marks are being written, and their restore."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models.embedder import Embedder
from service.cli import app
from service.marks.metadata import MarkMetadata
from service.ops.backup import MANIFEST, BackupError, backup, restore
from service.ops.consistency import check
from service.register import Register
from service.security.access import Role
from service.security.keys import KEYS_FILE, KeyStore
from service.settings import Settings
from service.storage.layout import RECORDS_FILE, DataDir
from tests.imagegen import make_mark, to_bytes


def _backup(data_dir: Path, dest: Path):  # noqa: ANN202
    return backup(DataDir(data_dir), dest)


def test_backup_while_writing_is_consistent_and_restores(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    keys = KeyStore(settings.resolved_data_dir / KEYS_FILE)
    _, key = keys.create(Role.examiner, "desk")
    keys.close()
    register = Register(settings.model_copy(update={"index_save_every": 7}), embedder)
    images = {seed: to_bytes(make_mark(seed)) for seed in range(60)}
    for seed in range(20):
        register.add_mark(images[seed], MarkMetadata(id=f"mark-{seed}"))
    before = {r.id for r in register.records.iter_all()}
    stop = threading.Event()

    def write() -> None:  # a server's writes: adds, replacements and removals
        seed = 20
        while not stop.is_set() and seed < 60:
            register.add_mark(images[seed], MarkMetadata(id=f"mark-{seed}"))
            register.add_mark(images[seed - 19], MarkMetadata(id=f"mark-{seed - 20}"))
            register.remove([f"mark-{seed - 10}"])
            seed += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        reports = [_backup(settings.resolved_data_dir, tmp_path / f"b{i}") for i in range(3)]
    finally:
        stop.set()
        writer.join()
        register.close()
    for i, report in enumerate(reports):
        dest = tmp_path / f"b{i}"
        assert (dest / MANIFEST).is_file() and not report.missing_images
        assert not (tmp_path / f"b{i}.partial").exists()
        restored = tmp_path / f"restored-{i}"
        restore(dest, restored)
        with Register(settings.model_copy(update={"data_dir": restored}), embedder) as reg:
            ids = {r.id for r in reg.records.iter_all()}
            assert before - {f"mark-{s}" for s in range(10, 50)} <= ids  # never removed
            assert reg.records.count() == report.marks
            record = reg.get("mark-3")
            data = reg.images.read(record.image_key, record.media_type)
            assert reg.search(data, 1)[0].record.id == "mark-3"
        assert check(DataDir(restored)).ok
        carried = KeyStore(restored / KEYS_FILE)
        assert carried.authenticate(key) is not None
        carried.close()


def test_backup_and_restore_refuse_what_would_lose_data(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    with Register(settings, embedder) as register:
        register.add_mark(to_bytes(make_mark(1)), MarkMetadata(id="mark-1"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    with pytest.raises(BackupError, match="not empty"):
        _backup(settings.resolved_data_dir, tmp_path / "full")
    with pytest.raises(BackupError, match="no register"):
        _backup(tmp_path / "nothing", tmp_path / "b")
    with pytest.raises(BackupError, match="inside the data dir"):
        _backup(settings.resolved_data_dir, settings.resolved_data_dir / "b")
    _backup(settings.resolved_data_dir, tmp_path / "b")
    with pytest.raises(BackupError, match="not a tmsearch backup"):
        restore(tmp_path / "full", tmp_path / "r")
    with pytest.raises(BackupError, match="not empty"):
        restore(tmp_path / "b", tmp_path / "full")
    assert (tmp_path / "full" / "x").read_text() == "keep me"


def test_cli_backup_restore_with_force_moves_the_old_data_dir_aside(
    settings: Settings, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("service.register.Embedder", lambda *a, **k: embedder)
    with Register(settings, embedder) as register:
        for seed in range(3):
            register.add_mark(to_bytes(make_mark(seed)), MarkMetadata(id=f"mark-{seed}"))
    runner = CliRunner()
    data = ["--data-dir", str(settings.resolved_data_dir)]
    made = runner.invoke(app, [*data, "backup", str(tmp_path / "b")])
    assert made.exit_code == 0 and "backed up 3 marks" in made.output
    other = ["--data-dir", str(tmp_path / "other")]
    with Register(settings.model_copy(update={"data_dir": tmp_path / "other"}), embedder) as r:
        r.add_mark(to_bytes(make_mark(9)), MarkMetadata(id="mark-9"))
    refused = runner.invoke(app, [*other, "restore", str(tmp_path / "b")])
    assert refused.exit_code == 1 and "not empty" in refused.output
    done = runner.invoke(app, [*other, "restore", str(tmp_path / "b"), "--force"])
    assert done.exit_code == 0, done.output
    assert "restored 3 marks" in done.output and "consistent" in done.output
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("other.before-restore-")]
    assert len(aside) == 1 and (aside[0] / RECORDS_FILE).is_file()
    assert runner.invoke(app, [*other, "check"]).exit_code == 0
