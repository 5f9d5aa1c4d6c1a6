"""Map from our int64 vector ids to row numbers, compact enough for millions of vectors.

A Python dict costs about 100 bytes an entry; this keeps two sorted int64 arrays (16 bytes
an entry) plus a small dict of recent changes that is merged into the arrays in bulk, so
adding one mark at a time stays cheap and lookups of a whole shortlist stay vectorised.
"""

from __future__ import annotations

import numpy as np

_MERGE_AT = 4096  # recent entries kept in the dict before one bulk merge


class RowMap:
    """id -> row, with -1 for "absent"; ids are unique, rows are whatever the owner assigns."""

    def __init__(self, keys: np.ndarray | None = None, rows: np.ndarray | None = None) -> None:
        keys = np.empty(0, np.int64) if keys is None else np.asarray(keys, np.int64)
        rows = np.empty(0, np.int64) if rows is None else np.asarray(rows, np.int64)
        order = np.argsort(keys, kind="stable")
        self._keys = np.ascontiguousarray(keys[order])
        self._rows = np.ascontiguousarray(rows[order])
        if len(self._keys) and (np.diff(self._keys) == 0).any():
            raise ValueError("duplicate ids in row map")
        self._recent: dict[int, int] = {}
        self._recent_arrays: tuple[np.ndarray, np.ndarray] | None = None
        self._live = int((self._rows >= 0).sum())

    def __len__(self) -> int:
        return self._live

    @property
    def nbytes(self) -> int:
        return int(self._keys.nbytes + self._rows.nbytes) + 100 * len(self._recent)

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """Rows of ``ids`` (-1 where absent)."""
        ids = np.asarray(ids, np.int64)
        out = _find(self._keys, self._rows, ids)
        if self._recent:
            keys, rows = self._recent_sorted()
            hit = _find(keys, rows, ids)
            out = np.where(hit >= 0, hit, out)
        return out

    def assign(self, ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Point unique ``ids`` at ``rows``; returns their previous rows (-1 where new)."""
        ids = np.asarray(ids, np.int64)
        rows = np.asarray(rows, np.int64)
        previous = self.lookup(ids)
        pos = np.searchsorted(self._keys, ids).clip(max=max(len(self._keys) - 1, 0))
        in_main = (self._keys[pos] == ids) if len(self._keys) else np.zeros(len(ids), bool)
        self._rows[pos[in_main]] = rows[in_main]
        rest_ids, rest_rows = ids[~in_main], rows[~in_main]
        self._recent.update(zip(rest_ids.tolist(), rest_rows.tolist(), strict=True))
        self._recent_arrays = None
        if len(self._recent) > _MERGE_AT:
            self._merge()
        self._live += int((previous < 0).sum())
        return previous

    def delete(self, ids: np.ndarray) -> np.ndarray:
        """Forget ``ids``; returns their rows (-1 where they were absent)."""
        ids = np.unique(np.asarray(ids, np.int64))
        previous = self.lookup(ids)
        if len(self._keys):
            pos = np.searchsorted(self._keys, ids).clip(max=len(self._keys) - 1)
            in_main = self._keys[pos] == ids
            self._rows[pos[in_main]] = -1
        if self._recent:
            for i in ids[previous >= 0].tolist():
                self._recent.pop(i, None)
            self._recent_arrays = None
        self._live -= int((previous >= 0).sum())
        return previous

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """Live (ids, rows), ids ascending."""
        self._merge()
        return self._keys.copy(), self._rows.copy()

    def _recent_sorted(self) -> tuple[np.ndarray, np.ndarray]:
        if self._recent_arrays is None:
            keys = np.fromiter(self._recent.keys(), np.int64, len(self._recent))
            rows = np.fromiter(self._recent.values(), np.int64, len(self._recent))
            order = np.argsort(keys)
            self._recent_arrays = (keys[order], rows[order])
        return self._recent_arrays

    def _merge(self) -> None:
        """Fold the recent entries into the sorted arrays, dropping deleted ones."""
        parts_k, parts_r = [self._keys], [self._rows]
        if self._recent:
            keys, rows = self._recent_sorted()
            parts_k.append(keys)
            parts_r.append(rows)
        keys = np.concatenate(parts_k)
        rows = np.concatenate(parts_r)
        live = rows >= 0
        keys, rows = keys[live], rows[live]
        order = np.argsort(keys, kind="stable")
        self._keys = np.ascontiguousarray(keys[order])
        self._rows = np.ascontiguousarray(rows[order])
        self._recent = {}
        self._recent_arrays = None


def _find(keys: np.ndarray, rows: np.ndarray, ids: np.ndarray) -> np.ndarray:
    out = np.full(len(ids), -1, np.int64)
    if len(keys) == 0 or len(ids) == 0:
        return out
    pos = np.searchsorted(keys, ids).clip(max=len(keys) - 1)
    hit = keys[pos] == ids
    out[hit] = rows[pos[hit]]
    return out

