"""Backups: a consistent snapshot of a data dir, taken while the server serves, and its
restore into a data dir of its own.

A snapshot needs the three stores to agree. Records (and API keys) are copied with
SQLite's online backup, which sees one committed state however many writers run. Stored
images are content-addressed and never modified, so the files that snapshot names are
linked (same file system) or copied; a file removed by a write since the snapshot is
caught by taking a fresh records snapshot and copying what it adds, until nothing is
missing. The saved index is read through open files (a save renames a new file into
place; the open one stays whole) with the immutable segments its header names; it may
lag the records by the changes since its last save, which the restored register's
``reconcile`` re-embeds on open, as after any crash.

The backup is built under ``<dest>.partial`` and renamed into place when complete, so a
backup folder that exists is a whole one. ``BACKUP.json`` says what it holds.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index.faiss_store import FaissStore, IndexChanging
from service.security.keys import KEYS_FILE
from service.storage.data_lock import DataDirLock
from service.storage.image_store import ImageStore
from service.storage.layout import INDEX_FILE, RECORDS_FILE, DataDir
from service.storage.records import RecordStore

MANIFEST = "BACKUP.json"
_ATTEMPTS = 5


class BackupError(RuntimeError):
    """A backup or restore that cannot be made (reported on one line, exit 1)."""


@dataclass
class BackupReport:
    path: str
    created: str
    marks: int = 0
    images: int = 0  # stored files (images and thumbnails)
    index_files: int = 0
    index_model_version: str | None = None
    index_kind: str | None = None
    seconds: float = 0.0
    missing_images: list[str] = field(default_factory=list)  # gone in the source too


def backup(layout: DataDir, dest: Path) -> BackupReport:
    """Snapshot the data dir of ``layout`` into ``dest`` (which must not exist, or be
    empty)."""
    started = time.perf_counter()
    records_file, index_file = RECORDS_FILE, INDEX_FILE
    data_dir, dest = layout.root.resolve(), dest.resolve()
    if not (data_dir / records_file).is_file():
        raise BackupError(f"{data_dir} holds no register (no {records_file})")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not empty: back up into a new folder")
    if dest == data_dir or data_dir in dest.parents:
        raise BackupError("the backup cannot go inside the data dir it copies")
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    report = BackupReport(str(dest), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    _copy_sqlite(data_dir / records_file, partial / records_file)
    if (data_dir / KEYS_FILE).is_file():
        _copy_sqlite(data_dir / KEYS_FILE, partial / KEYS_FILE)
    report.index_files = _copy_index(data_dir / index_file, partial / index_file, report)
    report.images, report.missing_images = _copy_images(data_dir, partial, records_file)
    records = RecordStore(partial / records_file)
    report.marks = records.count()
    records.close()
    report.seconds = round(time.perf_counter() - started, 3)
    (partial / MANIFEST).write_text(json.dumps(asdict(report), indent=2))
    if dest.exists():
        dest.rmdir()
    os.replace(partial, dest)
    return report


def restore(src: Path, data_dir: Path, force: bool = False) -> Path | None:
    """Load the backup ``src`` into ``data_dir``. A data dir that holds anything is moved
    aside to ``<data dir>.before-restore-<time>`` with ``force`` (returned), else refused.
    The register opened on it afterwards re-embeds what the saved index lags behind."""
    src, data_dir = src.resolve(), data_dir.resolve()
    if not (src / MANIFEST).is_file():
        raise BackupError(f"{src} is not a tmsearch backup (no {MANIFEST})")
    moved = None
    if data_dir.exists() and any(p.name != ".lock" for p in data_dir.iterdir()):
        if not force:
            raise BackupError(f"{data_dir} is not empty: restore into a new data dir, or "
                              "use --force to move it aside first")
        lock = DataDirLock(data_dir)
        try:
            with lock.exclusive("restore"):
                moved = data_dir.with_name(
                    f"{data_dir.name}.before-restore-{time.strftime('%Y%m%dT%H%M%S')}")
                os.replace(data_dir, moved)
        finally:
            lock.close()
    partial = data_dir.with_name(data_dir.name + ".restoring")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(src, partial, copy_function=_link_or_copy,
                    ignore=shutil.ignore_patterns(MANIFEST))
    if data_dir.exists():
        shutil.rmtree(data_dir)
    os.replace(partial, data_dir)
    return moved


def _copy_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup: one committed state, whatever writes run meanwhile."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    out = sqlite3.connect(target)
    try:
        src.backup(out)
    finally:
        out.close()
        src.close()


def _copy_index(index_path: Path, target: Path, report: BackupReport) -> int:
    """The saved index and its side files, read through open files (see module doc)."""
    if not index_path.is_file():
        return 0
    try:
        count, info = FaissStore.copy_saved(index_path, target, attempts=_ATTEMPTS)
    except IndexChanging as exc:
        raise BackupError(str(exc)) from exc
    report.index_model_version, report.index_kind = info.model_version, info.kind
    return count


def _copy_images(data_dir: Path, partial: Path, records_file: str) -> tuple[int, list[str]]:
    source, target = ImageStore(data_dir), ImageStore(partial)
    copied: set[Path] = set()
    missing: dict[str, str] = {}
    for attempt in range(_ATTEMPTS):
        if attempt:  # files went missing: a write replaced or removed their marks
            _copy_sqlite(data_dir / records_file, partial / records_file)
        records = RecordStore(partial / records_file)
        try:
            wanted = list(records.image_keys())
        finally:
            records.close()
        missing = {}
        named: set[Path] = set()
        for mark_id, key, media_type in wanted:
            for src, dst in ((source.image_path(key, media_type),
                              target.image_path(key, media_type)),
                             (source.thumb_path(key), target.thumb_path(key))):
                named.add(dst)
                if dst in copied:
                    continue
                try:
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    _link_or_copy(src, dst)
                    copied.add(dst)
                except FileNotFoundError:
                    missing[mark_id] = key
        if not missing:
            break
    for stale in copied - named:  # copied for a snapshot that a later one replaced
        stale.unlink(missing_ok=True)
    return len(copied & named), sorted(missing)


def _link_or_copy(src: str | Path, dst: str | Path) -> None:
    """Stored images never change: a hard link is a copy on the same file system."""
    try:
        os.link(src, dst)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        shutil.copy2(src, dst)
