"""Registers of any size for the query benchmarks, grown from a real one.

A real register (marks ingested through the whole pipeline) is copied, and its marks are
replicated until the wanted size: each replica is a record of its own (same metadata and
stored image, id ``<id>~<n>``, fresh vector ids) whose vectors are the source's mixed
with another real mark's and a little noise, re-normalised. The query path that the
benchmark drives (upload, decode, components, OCR, embedding, index, records) is the real
one; only the register's contents are synthetic. SQL copies the rows, so a million marks
take seconds, not the hours an ingest would.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np

from index.base import IndexInfo
from index.faiss_store import FaissStore
from service.storage.layout import INDEX_FILE, RECORDS_FILE

MIX = 0.6  # a replica takes up to this share of another real mark's vector
NOISE = 0.1  # and a little isotropic noise


def perturb(sources: np.ndarray, pool: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """New vectors near ``sources`` and inside the real vectors' span: each source mixed
    with a random other real vector, plus a little noise. (Isotropic noise alone would
    make every replica of a mark an equal-distance tie, which no real register has.)"""
    others = pool[rng.integers(0, len(pool), len(sources))]
    share = rng.uniform(0.0, MIX, size=(len(sources), 1)).astype(np.float32)
    mixed = (1 - share) * sources + share * others
    noise = rng.normal(size=mixed.shape).astype(np.float32)
    mixed += NOISE * noise / np.linalg.norm(noise, axis=1, keepdims=True)
    return (mixed / np.linalg.norm(mixed, axis=1, keepdims=True)).astype(np.float32)


def base_vectors(base_dir: Path) -> tuple[np.ndarray, np.ndarray, IndexInfo]:
    """Ids and vectors of the real register's (flat) index."""
    store = FaissStore.load(base_dir / INDEX_FILE)
    ids = np.sort(store.ids())
    vectors = np.stack([store.reconstruct(int(i)) for i in ids]).astype(np.float32)
    return ids, vectors, store.info


def grow(base_dir: Path, target: Path, marks: int, seed: int = 0) -> tuple[np.ndarray,
                                                                          np.ndarray, IndexInfo]:
    """Copy ``base_dir`` to ``target`` with ``marks`` marks; returns the grown register's
    vector ids and vectors (the index is left for the caller to build)."""
    ids, vectors, info = base_vectors(base_dir)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for folder in ("images", "thumbs"):
        if (base_dir / folder).is_dir():
            shutil.copytree(base_dir / folder, target / folder, copy_function=_link)
    shutil.copy2(base_dir / RECORDS_FILE, target / RECORDS_FILE)
    db = sqlite3.connect(target / RECORDS_FILE)
    try:
        base_marks, base_rowid = db.execute("SELECT count(*), max(rowid) FROM marks").fetchone()
        stride = int(ids.max()) + 1
        replicas = -(-marks // base_marks) - 1
        columns = [r[1] for r in db.execute("PRAGMA table_info(marks)")]
        select = ", ".join(
            "id || '~' || :r" if c == "id" else "vector_id + :offset" if c == "vector_id" else c
            for c in columns)
        with db:
            for r in range(1, replicas + 1):
                left = marks - base_marks * r
                params = {"r": r, "offset": r * stride, "limit": min(base_marks, left),
                          "base": base_rowid}
                db.execute("CREATE TEMP TABLE pick AS SELECT id FROM marks WHERE rowid <= :base"
                           " ORDER BY rowid LIMIT :limit", params)
                db.execute(f"INSERT INTO marks ({', '.join(columns)}) SELECT {select} FROM marks "
                           "WHERE id IN (SELECT id FROM pick)", params)
                db.execute("INSERT INTO components (vector_id, mark_id, kind, box) SELECT "
                           "vector_id + :offset, mark_id || '~' || :r, kind, box FROM components"
                           " WHERE mark_id IN (SELECT id FROM pick)", params)
                db.execute("INSERT INTO mark_words (mark_id, words) SELECT mark_id || '~' || :r, "
                           "words FROM mark_words WHERE mark_id IN (SELECT id FROM pick)", params)
                db.execute("DROP TABLE pick")
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('next_vector_id', ?)",
                       (str((replicas + 1) * stride),))
        live = np.array([r[0] for r in db.execute(
            "SELECT vector_id FROM marks UNION ALL SELECT vector_id FROM components")], np.int64)
    finally:
        db.close()
    live.sort()
    source = np.searchsorted(ids, live % stride)
    grown = vectors[source].copy()
    replica = live >= stride
    grown[replica] = perturb(vectors[source[replica]], vectors, np.random.default_rng(seed))
    return live, grown, info


def _link(src: str, dst: str) -> str:
    """Hard links: a grown register shares its image files with the base."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst
