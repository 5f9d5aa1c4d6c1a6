"""Drift between the three stores of a register: records, stored images, saved index.

The write order (``service.register``) keeps them consistent through crashes: images
first, then the records' commit (the acknowledgement), then the index, saved every
``index_save_every`` changes. So after a crash, or in the data dir of a running server,
the saved index may lack the vectors of the latest marks (re-embedded on the next open
by ``Register.reconcile``) or hold vectors of marks removed since, and image files may
be left over from a write whose records never committed. Nothing acknowledged is lost.
``check`` reports all of it without changing anything and without loading the model;
``Register.repair`` fixes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.faiss_store import FaissStore
from service.storage import vector_log
from service.storage.image_store import ImageStore
from service.storage.index_writer import SAVE_LOCK
from service.storage.layout import DataDir
from service.storage.records import RecordStore

SAMPLE = 10  # ids listed per problem; the counts are whole


@dataclass
class CheckReport:
    marks: int = 0
    vectors_expected: int = 0  # whole-mark and component vectors the records name
    vectors_indexed: int = 0  # in the saved index
    missing_vectors: list[int] = field(default_factory=list)  # named, not in the saved index
    stray_vectors: list[int] = field(default_factory=list)  # in the saved index, unnamed
    missing_images: list[str] = field(default_factory=list)  # marks whose files are gone
    orphan_images: list[str] = field(default_factory=list)  # stored keys no record uses
    temp_files: list[str] = field(default_factory=list)  # left by interrupted writes or saves
    index_error: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.missing_vectors or self.stray_vectors or self.missing_images
                    or self.orphan_images or self.temp_files or self.index_error)

    def to_dict(self) -> dict[str, Any]:
        def listed(values: list[Any]) -> dict[str, Any]:
            return {"count": len(values), "sample": sorted(values)[:SAMPLE]}

        return {
            "ok": self.ok, "marks": self.marks, "vectors_expected": self.vectors_expected,
            "vectors_indexed": self.vectors_indexed,
            "missing_vectors": listed(self.missing_vectors),
            "stray_vectors": listed(self.stray_vectors),
            "missing_images": listed(self.missing_images),
            "orphan_images": listed(self.orphan_images),
            "temp_files": listed(self.temp_files), "index_error": self.index_error,
        }


def check(layout: DataDir) -> CheckReport:
    """Compare records, stored files and the saved index of a data dir (read only)."""
    report = CheckReport()
    data_dir = layout.root
    records = RecordStore(layout.records, migrate=False)  # read only
    try:
        report.marks = records.count()
        live = set(records.vector_ids())
        used: dict[str, tuple[str, str]] = {}  # image key -> (a mark using it, media type)
        for mark_id, key, media_type in records.image_keys():
            used.setdefault(key, (mark_id, media_type))
    finally:
        records.close()
    report.vectors_expected = len(live)
    index_path = layout.index_file
    indexed: set[int] = set()
    if index_path.is_file():
        try:
            indexed = set(FaissStore.load(index_path).ids().tolist())
        except Exception as exc:  # noqa: BLE001 - reported: `repair` or `reindex` mends it
            report.index_error = f"{type(exc).__name__}: {exc}"
    report.vectors_indexed = len(indexed)
    if report.index_error is None:
        report.missing_vectors = sorted(live - indexed)
        report.stray_vectors = sorted(indexed - live)
    images = ImageStore(data_dir)
    stored = images.files()
    for key, (mark_id, media_type) in used.items():
        wanted = {images.image_path(key, media_type), images.thumb_path(key)}
        if not wanted <= set(stored.get(key, [])):
            report.missing_images.append(mark_id)
    report.orphan_images = sorted(set(stored) - set(used))
    leftovers = images.temp_files() + index_leftovers(index_path)
    report.temp_files = sorted(str(p.relative_to(data_dir)) for p in leftovers)
    return report


def index_leftovers(index_path: Path) -> list[Path]:
    """What the index folder holds beyond the saved index and the side files it names:
    temp files of an interrupted save, segments no saved index names, the vectors file
    of an interrupted re-index."""
    folder = index_path.parent
    if not folder.is_dir():
        return []
    keep = {index_path, vector_log.seq_file(index_path), folder / SAVE_LOCK}
    if index_path.is_file():
        try:
            keep.update(FaissStore.side_files(index_path))
        except (OSError, ValueError):
            return []  # an unreadable index: its files are not guessed at
    return sorted(p for p in folder.iterdir() if p not in keep)
