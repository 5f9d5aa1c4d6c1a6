"""Measure each index kind: memory a vector, recall@10 against exact search, query time.

    python -m scripts.index_tuning --n 200000

Base vectors: ``var/bench/real_vectors.npy`` (float32, (m, 256)) when present: N indexed
vectors are perturbed copies of real ones (gaussian noise of norm about ``--noise``,
re-normalised), and queries are other perturbed copies, so each query has near
duplicates in the index as a new application has in a register. Otherwise clustered
synthetic unit vectors. Recall is 10-recall@10: the fraction of the exact top-10 ids
found in the approximate top-10. Time is the median of single-query searches.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from index.base import IndexInfo
from index.choice import choose_index, default_params
from index.faiss_store import FaissStore

DEFAULT_BASE = Path("var/bench/real_vectors.npy")


def make_vectors(n: int, n_queries: int, base: Path | None, dim: int, noise: float,
                 seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    rng = np.random.default_rng(seed)
    if base is not None and base.is_file():
        sources = np.load(base).astype(np.float32)
        what = f"perturbed copies of {len(sources)} real vectors from {base}"
    else:
        centres = max(64, n // 200)
        sources = rng.normal(size=(centres, dim)).astype(np.float32)
        what = f"synthetic: {centres} gaussian centres"
    sources /= np.linalg.norm(sources, axis=1, keepdims=True)
    dim = sources.shape[1]
    return (_perturbed(sources, n, noise, rng), _perturbed(sources, n_queries, noise, rng),
            f"{what}, noise norm {noise}, dim {dim}")


def _perturbed(sources: np.ndarray, n: int, noise: float, rng: np.random.Generator,
               chunk: int = 200_000) -> np.ndarray:
    dim = sources.shape[1]
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        v = sources[rng.integers(0, len(sources), m)]
        v = v + rng.normal(scale=noise / np.sqrt(dim), size=(m, dim)).astype(np.float32)
        out[start : start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Ground-truth top-k row numbers by brute force."""
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_i = np.zeros((len(queries), 0), np.int64)
    for start in range(0, len(vectors), 100_000):
        s = queries @ vectors[start : start + 100_000].T
        i = np.broadcast_to(np.arange(start, start + s.shape[1]), s.shape)
        s, i = np.concatenate([best_s, s], 1), np.concatenate([best_i, i], 1)
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(s, part, 1), np.take_along_axis(i, part, 1)
    return best_i


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    pairs = zip(found, truth, strict=True)
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in pairs]))


def measure(store: FaissStore, queries: np.ndarray, truth: np.ndarray, k: int,
            timed: int, **options: int) -> tuple[float, float]:
    hits = store.search(queries, k, **options)
    recall = recall_at_k(hits.ids, truth)
    times = []
    for q in queries[:timed]:
        t0 = time.perf_counter()
        store.search(q, k, **options)
        times.append(time.perf_counter() - t0)
    return recall, 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--timed", type=int, default=200, help="single queries timed")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--base", type=Path, default=DEFAULT_BASE)
    ap.add_argument("--dim", type=int, default=256, help="synthetic vectors only")
    ap.add_argument("--noise", type=float, default=0.3)
    ap.add_argument("--kinds", default="flat,ivfpq,hnsw")
    ap.add_argument("--nprobe", default="8,16,32,64")
    ap.add_argument("--rerank", default="0,10")
    ap.add_argument("--ef", default="32,64,128")
    ap.add_argument("--M", type=int, default=None, help="PQ bytes (ivfpq M)")
    ap.add_argument("--opq-dim", type=int, default=None)
    ap.add_argument("--threads", type=int, default=0, help="FAISS threads (0: default)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        faiss.omp_set_num_threads(args.threads)

    vectors, queries, what = make_vectors(args.n, args.queries, args.base, args.dim,
                                          args.noise, args.seed)
    n, dim = vectors.shape
    ids = np.arange(n, dtype=np.int64) * 3 + 1  # ids are not positions
    truth = ids[exact_top(vectors, queries, args.k)]
    print(f"N={n} ({what}); {len(queries)} queries, k={args.k}; "
          f"auto plan: {choose_index(n, dim).kind}")
    print("B/vec: process memory a vector (FaissStore.memory_bytes); faiss/vec: "
          "len(faiss.serialize_index) a vector, without our id maps")
    print(f"{'kind':6} {'setting':26} {'B/vec':>7} {'faiss/vec':>9} {'recall@10':>9} "
          f"{'ms/query':>8}")
    with tempfile.TemporaryDirectory(prefix="index-tuning-") as tmp:
        for kind in args.kinds.split(","):
            params = default_params(kind, n, dim)
            if kind == "ivfpq":
                params |= {k: v for k, v in (("M", args.M), ("opq_dim", args.opq_dim)) if v}
            t0 = time.perf_counter()
            store = FaissStore.build(IndexInfo("tuning", dim, kind, params), ids, vectors,
                                     workdir=Path(tmp))
            built = time.perf_counter() - t0
            path = Path(tmp) / kind / "vectors.tmsi"
            store.save(path)  # measured as the service runs it: loaded from disk
            del store
            store = FaissStore.load(path)
            size = store.memory_bytes() / n
            ser = len(faiss.serialize_index(store._engine.index)) / n  # noqa: SLF001
            on_disk = sum(p.stat().st_size for p in path.parent.iterdir()) / n
            print(f"{kind:6} built in {built:.1f} s; {on_disk:.0f} B/vec on disk; "
                  f"params {store.info.params}")
            for setting, options in _settings(kind, args):
                recall, ms = measure(store, queries, truth, args.k, args.timed, **options)
                print(f"{kind:6} {setting:26} {size:7.1f} {ser:9.1f} {recall:9.4f} {ms:8.3f}",
                      flush=True)
            del store


def _settings(kind: str, args: argparse.Namespace) -> list[tuple[str, dict[str, int]]]:
    if kind == "ivfpq":
        return [(f"nprobe={p} rerank={r}", {"nprobe": p, "rerank": r})
                for r in map(int, args.rerank.split(",")) for p in map(int, args.nprobe.split(","))]
    if kind == "hnsw":
        return [(f"efSearch={e}", {"ef_search": e}) for e in map(int, args.ef.split(","))]
    return [("exact", {})]


if __name__ == "__main__":
    main()
