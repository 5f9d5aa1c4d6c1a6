"""The Milvus path next to the FAISS path: same vectors, same queries, recall@10 against
exact search and single-query latency, with and without a filter.

    python -m scripts.bench_milvus                      # 100,000 vectors, 300 queries
    python -m scripts.bench_milvus --base var/bench/base --vectors 200000

The vectors are a real register's (``--base``, or 1,000 demo marks ingested here),
grown to ``--vectors`` as ``make bench`` grows its registers (each replica mixed with
another real vector plus noise); the queries are more such vectors, not in the index. A
local Milvus standalone server (``scripts/milvus_server.py``) holds the collections;
FAISS builds ``flat`` (exact) and ``hnsw`` in process. Latency is per query, one at a
time, through each store's ``search`` (the register's call), medians of the query set.
Milvus holds the vectors twice, in an HNSW collection and in an IVF_PQ one (nlist 1024,
m = dim/4, nprobe 64: ``index/milvus_store.py``). The filter is a Nice class held by
about a third of the vectors: FAISS gets it as the id set the records' SQL gives, Milvus
as an expression over the vectors' fields. Milvus is searched at three consistency
levels: Strong waits for the server's next time tick (a search sees every write
acknowledged anywhere), Session sees this client's own writes, Bounded may lag a
moment. Writes ``milvus.json`` and ``milvus.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from index.base import IndexInfo
from index.faiss_store import FaissStore
from index.field_filter import FieldCondition
from scripts.benchmarks import machine, synthetic_register
from scripts.benchmarks.results import write_results
from scripts.benchmarks.stats import percentiles_ms, rss_bytes
from scripts.milvus_server import milvus_server

NICE_9 = (FieldCondition("nice", "contains any", (9,)),)  # the filtered queries' filter


def grown(base: Path, count: int, queries: int, seed: int = 0
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, IndexInfo]:
    """(ids, vectors, queries, info): the base register's vectors grown to ``count``."""
    ids, real, info = synthetic_register.base_vectors(base)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(real), count + queries)
    made = np.concatenate([synthetic_register.perturb(real[picks[i:i + 65536]], real, rng)
                           for i in range(0, len(picks), 65536)])
    return np.arange(count, dtype=np.int64), made[:count], made[count:], info


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int,
              allowed: np.ndarray | None = None) -> np.ndarray:
    out = []
    for start in range(0, len(queries), 64):
        scores = queries[start:start + 64] @ vectors.T
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        out.append(np.argsort(-scores, axis=1)[:, :k])
    return np.concatenate(out)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth,
                                                                         strict=True)]))


def timed(search: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, dict[str, float]]:
    search(queries[:5], k)  # warm up
    found, seconds = [], []
    for q in queries:
        started = time.perf_counter()
        hits = search(q[None, :], k)
        seconds.append(time.perf_counter() - started)
        found.append(hits.ids[0])
    return np.stack(found), percentiles_ms(seconds)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--base", type=Path, help="A register to grow from (else demo marks).")
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    args = parser.parse_args(argv)
    k = 10
    with tempfile.TemporaryDirectory(prefix="tmsearch-milvus-") as tmp:
        base = args.base or _demo_base(Path(tmp) / "base")
        ids, vectors, queries, info = grown(base, args.vectors, args.queries)
        nice = np.random.default_rng(1).integers(0, 3, len(ids))  # class 9 for nice == 0
        allowed = nice == 0
        truth = exact_top(vectors, queries, k)
        truth_filtered = exact_top(vectors, queries, k, allowed)
        rows: list[dict[str, Any]] = []
        for kind in ("flat", "hnsw"):
            started = time.perf_counter()
            store = FaissStore.build(IndexInfo(info.model_version, info.dim, kind), ids, vectors)
            build = time.perf_counter() - started
            found, lat = timed(store.search, queries, k)
            allowed_ids = ids[allowed]
            found_f, lat_f = timed(lambda q, n, s=store, a=allowed_ids: s.search(q, n, a),
                                   queries, k)
            rows.append({"store": f"FAISS {kind}", "build_s": build,
                         "recall_at_10": recall(found, truth), **lat,
                         "filtered_recall_at_10": recall(found_f, truth_filtered),
                         "filtered_p50_ms": lat_f["p50_ms"]})
            del store
        with milvus_server(Path(tmp) / "milvus") as uri:
            from index.milvus_store import MilvusStore

            store = MilvusStore.open(uri, "bench", info)
            fields = [{"status": "", "nice": [9] if n == 0 else [25], "vienna": [],
                       "filed": ""} for n in nice]
            started = time.perf_counter()
            for start in range(0, len(ids), 8192):
                store.add(ids[start:start + 8192], vectors[start:start + 8192],
                          fields[start:start + 8192])
            store.save()
            _wait_indexed(store, len(ids))
            build = time.perf_counter() - started
            server_rss = sum(rss_bytes(pid) for pid in _milvus_pids())
            runs = [(store, "HNSW", level) for level in ("Strong", "Session", "Bounded")]
            ivf_pq = MilvusStore.create(store.client, info, "bench_ivfpq", index="ivf_pq")
            started = time.perf_counter()
            for start in range(0, len(ids), 8192):
                ivf_pq.add(ids[start:start + 8192], vectors[start:start + 8192],
                           fields[start:start + 8192])
            ivf_pq.client.flush(ivf_pq.collection)
            _wait_indexed(ivf_pq, len(ids))
            ivf_pq_build = time.perf_counter() - started
            runs.append((ivf_pq, "IVF_PQ", "Session"))
            for store, index, level in runs:
                store.consistency = level
                found, lat = timed(store.search, queries, k)
                found_f, lat_f = timed(
                    lambda q, n, s=store: s.search(q, n, where=NICE_9),
                    queries, k)
                rows.append({"store": f"Milvus {index} ({level})",
                             "build_s": build if index == "HNSW" else ivf_pq_build,
                             "recall_at_10": recall(found, truth), **lat,
                             "filtered_recall_at_10": recall(found_f, truth_filtered),
                             "filtered_p50_ms": lat_f["p50_ms"],
                             "server_rss_mb": server_rss / 2**20})
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine.describe(),
              "vectors": len(ids), "dim": int(info.dim), "queries": len(queries), "rows": rows}
    write_results(args.out, "milvus", result, markdown(result))
    return result


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    out = [f"Measured {result['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB "
           f"RAM: {result['vectors']:,} vectors of dim {result['dim']}, "
           f"{result['queries']} queries one at a time, k=10.", "",
           "| store | build s | recall@10 | p50 ms | p95 ms | p99 ms | filtered recall@10 | "
           "filtered p50 ms |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        out.append(f"| {r['store']} | {r['build_s']:.1f} | {r['recall_at_10']:.3f} | "
                   f"{r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['p99_ms']:.2f} | "
                   f"{r['filtered_recall_at_10']:.3f} | {r['filtered_p50_ms']:.2f} |")
    milvus = [r for r in result["rows"] if "server_rss_mb" in r]
    if milvus:
        out += ["", f"Milvus standalone server memory (all its processes): "
                    f"{milvus[0]['server_rss_mb']:,.0f} MB."]
    return "\n".join(out) + "\n"


def _wait_indexed(store: Any, total: int, timeout: float = 900.0) -> None:
    """Milvus builds the index of flushed segments in the background: wait for it, so
    searches are measured on the index, not on brute-force growing segments."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = store.client.describe_index(store.collection, "v")
        if int(info.get("indexed_rows", 0)) >= total and info.get("state") in (None, "Finished"):
            return
        time.sleep(2.0)


def _milvus_pids() -> list[int]:
    import os

    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"milvus" in cmd and b"run" in cmd and b"python" not in cmd:
                pids.append(int(entry))
    return pids


def _demo_base(base: Path) -> Path:
    from scripts.bench import _ingest_base
    from scripts.benchmarks import ingest

    _ingest_base(ingest.real_marks(base.parent / "marks", 1000), base)
    return base


if __name__ == "__main__":
    main()
