"""Each index kind on the same vectors: memory per mark, recall@10 against exact search,
time per query and time to build.

Queries are held-out vectors near the register's (real mark vectors plus a perturbation),
so the exact top 10 is a set of genuinely close marks rather than an arbitrary tie.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from index.base import IndexInfo
from index.choice import choose_index
from index.faiss_store import FaissStore
from scripts.benchmarks.stats import median


def queries_near(vectors: np.ndarray, count: int, noise: float = 0.3, seed: int = 1
                 ) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picked = vectors[rng.integers(0, len(vectors), count)].astype(np.float32)
    jitter = rng.normal(size=picked.shape).astype(np.float32)
    picked += noise * jitter / np.linalg.norm(jitter, axis=1, keepdims=True)
    return picked / np.linalg.norm(picked, axis=1, keepdims=True)


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k]) & set(t)) / k for f, t in zip(found, truth,
                                                                       strict=True)]))


def build(kind: str, info: IndexInfo, ids: np.ndarray, vectors: np.ndarray, folder: Path
          ) -> tuple[FaissStore, float]:
    plan = choose_index(len(ids), info.dim, None, kind)
    started = time.perf_counter()
    store = FaissStore.build(IndexInfo(info.model_version, info.dim, plan.kind, plan.params),
                             ids, vectors)
    store.save(folder / f"{kind}.tmsi")  # ivfpq keeps its exact vectors beside the file
    return store, time.perf_counter() - started


def exact_top(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int,
              chunk: int = 262_144) -> np.ndarray:
    """The exact top-k ids by brute force, in chunks (no index: the reference of recall)."""
    best_scores = np.full((len(queries), k), -np.inf, np.float32)
    best_ids = np.full((len(queries), k), -1, np.int64)
    for start in range(0, len(vectors), chunk):
        scores = queries @ np.asarray(vectors[start:start + chunk], np.float32).T
        merged_scores = np.concatenate([best_scores, scores], axis=1)
        merged_ids = np.concatenate([best_ids, np.broadcast_to(ids[start:start + chunk],
                                                               scores.shape)], axis=1)
        top = np.argsort(-merged_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(merged_scores, top, 1)
        best_ids = np.take_along_axis(merged_ids, top, 1)
    return best_ids


def compare(ids: np.ndarray, vectors: np.ndarray, info: IndexInfo, vectors_per_mark: float,
            kinds: tuple[str, ...] = ("flat", "ivfpq", "hnsw"), n_queries: int = 200,
            k: int = 10, built: dict[str, tuple[FaissStore, float]] | None = None
            ) -> list[dict[str, float | str]]:
    """One row per kind, against exact brute-force search; ``built`` reuses stores already
    built (kind -> (store, build seconds))."""
    queries = queries_near(vectors, n_queries)
    truth = exact_top(vectors, ids, queries, k)
    rows: list[dict[str, float | str]] = []
    with tempfile.TemporaryDirectory(prefix="tmsearch-index-") as tmp:
        for kind in kinds:
            store, build_s = (built or {}).get(kind) or build(kind, info, ids, vectors,
                                                              Path(tmp))
            times = []
            found = np.empty((len(queries), k), np.int64)
            for i, query in enumerate(queries):
                started = time.perf_counter()
                found[i] = store.search(query[None], k).ids[0]
                times.append(time.perf_counter() - started)
            described = store.describe()
            rows.append({
                "kind": described["kind"], "vectors": len(ids),
                "bytes_per_vector": store.memory_bytes() / len(ids),
                "bytes_per_mark": store.memory_bytes() / len(ids) * vectors_per_mark,
                "recall_at_10": recall_at(found, truth), "query_ms": 1000 * median(times),
                "build_s": build_s,
                "params": ", ".join(f"{key}={value}" for key, value in described.items()
                                    if key in ("nlist", "M", "nprobe", "rerank", "efSearch",
                                               "opq_dim")),
            })
            del store
    return rows
