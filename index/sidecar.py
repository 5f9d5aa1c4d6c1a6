"""Exact vectors kept on disk (float16 memmaps) beside a compressed index, for re-ranking.

A PQ code keeps 32-64 bytes of a 1 KiB vector, too little to order near-duplicates; the
exact vectors of a shortlist are read back from here instead. They live in files next to
the index file and are reached through the page cache, not the process heap, so they do
not count against the index's memory budget (a cold query reads one 4 KiB page a
candidate).

Files are immutable segments named ``<index file>.<token>.f16`` (raw float16 rows). New
rows wait in memory and become a new segment when the index is saved; a saved index
names the segments it uses, and the index file is renamed into place only after they are
on disk, so a crash leaves the previous index with its segments intact. Segments no saved
index names are deleted after each save. When dead rows (removed or replaced vectors)
outnumber live ones, or segments pile up, a save writes one compacted segment instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.base import IndexIncompleteError
from index.rowmap import RowMap

_DTYPE = np.float16
_SPILL_BYTES = 64 << 20  # pending rows beyond this go to a segment before any save
_MAX_SEGMENTS = 16
_CHUNK_ROWS = 65536


@dataclass
class _Segment:
    path: Path
    rows: np.memmap | np.ndarray  # (n, dim) float16, read-only map of the file
    start: int  # first row number


class ExactVectors:
    """Rows of float16 vectors addressed by our ids; one writer, callers hold the lock."""

    def __init__(self, dim: int, index_path: Path | None = None,
                 tmp_root: Path | None = None) -> None:
        self.dim = dim
        self.rowmap = RowMap()
        self._segments: list[_Segment] = []
        self._pending = np.empty((0, dim), _DTYPE)  # rows not in a segment yet (a buffer)
        self._pending_n = 0
        self._disk_rows = 0  # rows held by segments
        self._rows = 0  # rows ever handed out (disk + pending)
        self._index_path = index_path  # where the index was last saved or loaded from
        self._tmp_root = tmp_root  # for rows spilled before the first save
        self._tmpdir: Path | None = None

    # -- content ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.rowmap)

    @property
    def dead_rows(self) -> int:
        return self._rows - len(self.rowmap)

    @property
    def nbytes_in_memory(self) -> int:
        """Heap bytes: the id map and rows not yet written; mapped files are page cache."""
        return self.rowmap.nbytes + self._pending.nbytes

    @property
    def nbytes_on_disk(self) -> int:
        return self._disk_rows * self.dim * 2

    def put(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Store (unique) ``ids``; an id already present gets a new row (its old one dies)."""
        n = len(ids)
        if n == 0:
            return
        self.rowmap.assign(ids, np.arange(self._rows, self._rows + n, dtype=np.int64))
        end = self._pending_n + n
        if end > len(self._pending):  # grow by doubling: appends stay amortised O(1)
            grown = np.empty((max(end, 2 * len(self._pending), 256), self.dim), _DTYPE)
            grown[: self._pending_n] = self._pending[: self._pending_n]
            self._pending = grown
        self._pending[self._pending_n : end] = np.asarray(vectors).reshape(n, self.dim)
        self._pending_n = end
        self._rows += n
        if self._pending_n * self.dim * 2 > _SPILL_BYTES:
            self._flush(self._spill_target())

    def delete(self, ids: np.ndarray) -> np.ndarray:
        """Forget ``ids``; returns which of them were present."""
        return self.rowmap.delete(ids) >= 0

    def contains(self, ids: np.ndarray) -> np.ndarray:
        return self.rowmap.lookup(ids) >= 0

    def get(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """float32 vectors of ``ids`` and a mask of those found (missing rows are zero)."""
        rows = self.rowmap.lookup(np.asarray(ids, np.int64).ravel())
        found = rows >= 0
        out = np.zeros((len(rows), self.dim), np.float32)
        if found.any():
            out[found] = self.read_rows(rows[found])
        return out, found

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), self.dim), np.float32)
        order = np.argsort(rows, kind="stable")  # sequential reads within each file
        sorted_rows = rows[order]
        bounds = [s.start for s in self._segments] + [self._disk_rows]
        for i, seg in enumerate(self._segments):
            lo, hi = np.searchsorted(sorted_rows, [bounds[i], bounds[i + 1]])
            if hi > lo:
                out[order[lo:hi]] = seg.rows[sorted_rows[lo:hi] - seg.start]
        lo = int(np.searchsorted(sorted_rows, self._disk_rows))
        if lo < len(rows):
            out[order[lo:]] = self._pending[sorted_rows[lo:] - self._disk_rows]
        return out

    # -- persistence ----------------------------------------------------------------------
    def save(self, index_path: Path) -> dict[str, Any]:
        """Put every row the index needs in segments beside ``index_path``; returns the
        state to write into the index header. Call ``cleanup`` once the header is in place."""
        index_path.parent.mkdir(parents=True, exist_ok=True)
        if self.dead_rows > len(self.rowmap):
            self._compact(index_path)
        else:
            for seg in self._segments:
                if not _belongs(seg.path, index_path) or not seg.path.is_file():
                    self._relocate(seg, index_path)
            self._flush(index_path)
            if len(self._segments) > _MAX_SEGMENTS:
                self._merge_tail(index_path)
        self._index_path = index_path
        return {
            "segments": [[s.path.name, len(s.rows)] for s in self._segments],
            "rows": self._rows,
        }

    def cleanup(self, index_path: Path) -> None:
        """Delete segment files of ``index_path`` that the saved index no longer names."""
        keep = {s.path.name for s in self._segments}
        for old in index_path.parent.glob(glob_pattern(index_path)):
            if old.name not in keep:
                old.unlink(missing_ok=True)

    @classmethod
    def open(cls, index_path: Path, dim: int, state: dict[str, Any], ids: np.ndarray,
             rows: np.ndarray) -> ExactVectors:
        store = cls(dim, index_path)
        start = 0
        for name, count in state["segments"]:
            path = index_path.parent / name
            if not path.is_file() or path.stat().st_size < count * dim * 2:
                raise IndexIncompleteError(
                    f"{path} (exact vectors of {index_path.name}) is missing or short; "
                    "run `tmsearch reindex` to rebuild the index")
            store._segments.append(_Segment(path, _map(path, count, dim), start))
            start += count
        store._disk_rows = start
        store._rows = int(state["rows"])
        if store._rows != start:
            raise IndexIncompleteError(
                f"{index_path}: exact vectors hold {start} rows, the index expects "
                f"{store._rows}; run `tmsearch reindex` to rebuild the index")
        store.rowmap = RowMap(ids, rows)
        return store

    # -- internals ------------------------------------------------------------------------
    def _spill_target(self) -> Path:
        """Where rows go before the next save: beside the index, else a private temp dir."""
        if self._index_path is not None:
            return self._index_path
        if self._tmpdir is None:
            if self._tmp_root is not None:
                self._tmp_root.mkdir(parents=True, exist_ok=True)
            self._tmpdir = Path(tempfile.mkdtemp(prefix="tmsi-", dir=self._tmp_root))
            weakref.finalize(self, shutil.rmtree, self._tmpdir, True)
        return self._tmpdir / "spill"

    def _flush(self, index_path: Path) -> None:
        n = self._pending_n
        if n == 0:
            return
        path = _write_segment(index_path, [self._pending[:n]])
        self._segments.append(_Segment(path, _map(path, n, self.dim), self._disk_rows))
        self._disk_rows += n
        self._clear_pending()

    def _relocate(self, seg: _Segment, index_path: Path) -> None:
        """Bring a segment beside the index: move our temp file, else rewrite it (it may
        have been deleted by another process's save; the open map still reads it)."""
        target = index_path.parent / f"{index_path.name}.{secrets.token_hex(8)}.f16"
        ours = self._tmpdir is not None and seg.path.parent == self._tmpdir
        if ours and seg.path.is_file():
            with contextlib.suppress(OSError):
                os.replace(seg.path, target)  # same file system: a rename
                _fsync_dir(target.parent)
                seg.path = target
                return
        old = seg.path
        seg.path = _write_segment(index_path, [seg.rows])
        seg.rows = _map(seg.path, len(seg.rows), self.dim)
        if ours:
            old.unlink(missing_ok=True)

    def _clear_pending(self) -> None:
        self._pending = np.empty((0, self.dim), _DTYPE)
        self._pending_n = 0

    def _merge_tail(self, index_path: Path) -> None:
        """Concatenate all segments after the first into one (row numbers are kept)."""
        head, tail = self._segments[0], self._segments[1:]
        path = _write_segment(index_path, (seg.rows for seg in tail))
        count = sum(len(seg.rows) for seg in tail)
        self._segments = [head, _Segment(path, _map(path, count, self.dim), tail[0].start)]

    def _compact(self, index_path: Path) -> None:
        """Rewrite live rows, in id order, as one segment; rows become 0..n-1."""
        ids, rows = self.rowmap.items()
        chunks = (self.read_rows(rows[i : i + _CHUNK_ROWS]).astype(_DTYPE)
                  for i in range(0, len(rows), _CHUNK_ROWS))
        path = _write_segment(index_path, chunks)
        self._segments = [_Segment(path, _map(path, len(ids), self.dim), 0)] if len(ids) else []
        if not len(ids):
            path.unlink(missing_ok=True)
        self._clear_pending()
        self._disk_rows = self._rows = len(ids)
        self.rowmap = RowMap(ids, np.arange(len(ids), dtype=np.int64))


def glob_pattern(index_path: Path) -> str:
    return f"{index_path.name}.*.f16"


def _belongs(segment: Path, index_path: Path) -> bool:
    return segment.parent == index_path.parent and segment.name.startswith(index_path.name + ".")


def _map(path: Path, count: int, dim: int) -> np.memmap | np.ndarray:
    if count == 0:
        return np.empty((0, dim), _DTYPE)
    return np.memmap(path, dtype=_DTYPE, mode="r", shape=(count, dim))


def _write_segment(index_path: Path, chunks: Any) -> Path:
    """Write rows to a new uniquely named file beside ``index_path``, fsynced."""
    index_path.parent.mkdir(parents=True, exist_ok=True)
    path = index_path.parent / f"{index_path.name}.{secrets.token_hex(8)}.f16"
    with open(path, "wb") as fh:
        for rows in chunks:  # maps are copied a slice at a time, never whole into memory
            for start in range(0, len(rows), _CHUNK_ROWS):
                part = np.ascontiguousarray(rows[start : start + _CHUNK_ROWS], dtype=_DTYPE)
                fh.write(memoryview(part).cast("B"))
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(path.parent)
    return path


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
