"""Benchmarks: ingest throughput, query latency over HTTP at register scale, index types.

    python -m scripts.bench            # the full run (about 20 minutes on 2 cores)
    python -m scripts.bench --quick    # a tiny run that checks everything works

Every figure is measured in this run, next to a reference measured in the same run (a
plain torchvision ResNet-50 pipeline for ingest, a ResNet-50 embedding for a query), so
ratios hold on noisy machines where absolute times do not. Medians over repeats. Writes
``results.json`` and ``results.md`` into ``--out`` (default ``var/bench``) and prints the
markdown, which the README shows with the machine it came from.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from index.base import IndexInfo
from index.choice import choose_index
from index.faiss_store import FaissStore
from scripts.benchmarks import http_load, indexes, ingest, machine, synthetic_register
from scripts.benchmarks.results import write_results
from scripts.benchmarks.stats import median
from service.storage.layout import INDEX_FILE

TARGETS = {
    "ingest_marks_per_s": 200.0,
    "ingest_vs_resnet50": 20.0,
    "p50_ms_100k": 50.0,
    "p99_ms_100k": 150.0,
    "p50_ms_1m": 100.0,
    "rss_gb_1m": 2.0,
    "recall_at_10": 0.95,
    "bytes_per_mark": 128.0,
}


def bench_ingest(files: list[Path], repeats: int, reference_files: int) -> dict[str, Any]:
    ours = [ingest.ours(files) for _ in range(repeats)]
    no_text = [ingest.ours(files, read_text=False) for _ in range(repeats)]
    reference = [ingest.reference(files[:reference_files]) for _ in range(repeats)]
    rate = median([r["marks_per_s"] for r in ours])
    ref = median([r["marks_per_s"] for r in reference])
    return {"marks": len(files), "repeats": repeats,
            "ours_marks_per_s": rate,
            "ours_without_ocr_marks_per_s": median([r["marks_per_s"] for r in no_text]),
            "reference_marks_per_s": ref, "ratio": rate / ref,
            "vectors_per_mark": ours[0]["vectors_per_mark"], "runs": ours,
            "reference_runs": reference}


def embed_throughput(device: str = "auto", count: int = 4096) -> dict[str, Any]:
    """The model alone on prepared inputs (what a GPU speeds up): vectors per second."""
    from models.embedder import Embedder, resolve_device

    batch_size = 512 if resolve_device(device).type == "cuda" else 64
    embedder = Embedder(device=device, batch_size=batch_size)
    size, channels = embedder.config.input_size, embedder.config.in_channels
    inputs = np.random.default_rng(0).integers(0, 256, (count, channels, size, size), np.uint8)
    embedder.embed_prepared(inputs[:batch_size])  # warm up (cuDNN picks its kernels)
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        embedder.embed_prepared(inputs)
        runs.append(count / (time.perf_counter() - started))
    return {"device": str(embedder.device), "batch_size": batch_size,
            "vectors_per_s": median(runs)}


def reference_query_ms(image: bytes, repeats: int = 20) -> float:
    """One query image through a ResNet-50 (decode, resize, forward): a typical stack's cost
    before any index."""
    import io

    import torch
    from PIL import Image

    net, prep = ingest.reference_model()
    times = []
    with torch.inference_mode():
        for _ in range(repeats):
            started = time.perf_counter()
            with Image.open(io.BytesIO(image)) as im:
                net(prep(im.convert("RGB"))[None])
            times.append(time.perf_counter() - started)
    return 1000 * median(times[2:])


def build_register(base: Path, target: Path, marks: int, index: str) -> dict[str, Any]:
    started = time.perf_counter()
    ids, vectors, info = synthetic_register.grow(base, target, marks)
    plan = choose_index(len(ids), info.dim, None, index)
    store = FaissStore.build(IndexInfo(info.model_version, info.dim, plan.kind, plan.params),
                             ids, vectors)
    store.save(target / INDEX_FILE)
    build_s = time.perf_counter() - started
    row = {"marks": marks, "vectors": len(ids), "index": store.describe()["kind"],
           "index_memory_mb": store.memory_bytes() / 2**20, "build_s": build_s}
    return row | {"_ids": ids, "_vectors": vectors, "_info": info,
                  "_built": {store.describe()["kind"]: (store, build_s)}}


def bench_queries(data_dir: Path, images: list[bytes], levels: list[int], seconds: float
                  ) -> dict[str, Any]:
    with http_load.serve(data_dir) as server:
        http_load.load(server.url, images, 2, min(seconds, 5.0))  # warm up
        runs = [http_load.load(server.url, images, c, seconds) for c in levels]
        rss = server.rss
    return {"levels": runs, "server_rss_mb": rss / 2**20}


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    out = [f"Measured {results['date']} on {m['cpu']}, {m['cores']} cores, "
           f"{m['memory_gb']} GB RAM, GPU: {m['gpu']} (torch {m['torch']}, faiss "
           f"{m['faiss']}).", ""]
    ing = results["ingest"]
    out += ["**Ingest** (real rendered marks from disk, end to end; median of "
            f"{ing['repeats']} runs of {ing['marks']} marks)", "",
            "| pipeline | marks/s | vs ResNet-50 |", "|---|---:|---:|",
            f"| tmsearch (decode, components, OCR, thumbnails, embed, records, index; "
            f"{ing['vectors_per_mark']:.2f} vectors/mark) | {ing['ours_marks_per_s']:.1f} | "
            f"{ing['ratio']:.1f}x |",
            f"| tmsearch without OCR (`TMSEARCH_READ_TEXT=false`) | "
            f"{ing['ours_without_ocr_marks_per_s']:.1f} | "
            f"{ing['ours_without_ocr_marks_per_s'] / ing['reference_marks_per_s']:.1f}x |",
            f"| reference: torchvision ResNet-50, DataLoader, flat FAISS | "
            f"{ing['reference_marks_per_s']:.1f} | 1.0x |", ""]
    emb = results["embedding"]
    out += [f"Model alone on prepared inputs ({emb['device']}, batches of "
            f"{emb['batch_size']}): {emb['vectors_per_s']:,.0f} vectors/s.", ""]
    ref = results["reference_query_ms"]
    out += ["**Queries over HTTP** (`POST /v1/search`, k=10, real mark images, embedding "
            f"included; reference: a ResNet-50 embedding of one query alone, {ref:.1f} ms)", "",
            "| register | index | server RSS | clients | p50 ms | p95 ms | p99 ms | QPS | "
            "p50 vs reference | errors |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for reg in results["registers"]:
        for run in reg["queries"]["levels"]:
            out.append(
                f"| {reg['marks']:,} marks | {reg['index']} | "
                f"{reg['queries']['server_rss_mb']:,.0f} MB | {run['concurrency']} | "
                f"{run['p50_ms']:.1f} | {run['p95_ms']:.1f} | {run['p99_ms']:.1f} | "
                f"{run['qps']:.1f} | {run['p50_ms'] / ref:.2f}x | {run['errors']} |")
    out += ["", "**Index types** (same vectors; recall@10 against exact search)", "",
            "| vectors | kind | bytes/mark in memory | recall@10 | ms/query | build s | "
            "parameters |", "|---:|---|---:|---:|---:|---:|---|"]
    for row in results["index_types"]:
        out.append(f"| {row['vectors']:,} | {row['kind']} | {row['bytes_per_mark']:,.0f} | "
                   f"{row['recall_at_10']:.3f} | {row['query_ms']:.2f} | {row['build_s']:.1f} | "
                   f"{row['params']} |")
    out += ["", "**Targets**", "", "| target | measured | met |", "|---|---:|:---:|"]
    for name, (goal, value, met) in results["targets"].items():
        out.append(f"| {name} {goal} | {value} | {'yes' if met else 'no'} |")
    return "\n".join(out) + "\n"


def targets(results: dict[str, Any]) -> dict[str, tuple[str, str, bool]]:
    t = TARGETS
    ing = results["ingest"]
    out = {
        "ingest": (f">= {t['ingest_marks_per_s']:.0f} marks/s",
                   f"{ing['ours_marks_per_s']:.1f}",
                   ing["ours_marks_per_s"] >= t["ingest_marks_per_s"]),
        "ingest vs ResNet-50": (f">= {t['ingest_vs_resnet50']:.0f}x", f"{ing['ratio']:.1f}x",
                                ing["ratio"] >= t["ingest_vs_resnet50"]),
    }
    by_size = {reg["marks"]: reg for reg in results["registers"]}
    big = max(by_size) if by_size else 0
    mid = min(by_size, key=lambda n: abs(n - 100_000)) if by_size else 0
    if mid:
        one = by_size[mid]["queries"]["levels"][0]
        out[f"p50 at {mid:,} marks, 1 client"] = (f"<= {t['p50_ms_100k']:.0f} ms",
                                                  f"{one['p50_ms']:.1f} ms",
                                                  one["p50_ms"] <= t["p50_ms_100k"])
        out[f"p99 at {mid:,} marks, 1 client"] = (f"<= {t['p99_ms_100k']:.0f} ms",
                                                  f"{one['p99_ms']:.1f} ms",
                                                  one["p99_ms"] <= t["p99_ms_100k"])
    if big:
        one = by_size[big]["queries"]["levels"][0]
        rss = by_size[big]["queries"]["server_rss_mb"] / 1024
        out[f"p50 at {big:,} marks, 1 client"] = (f"<= {t['p50_ms_1m']:.0f} ms",
                                                  f"{one['p50_ms']:.1f} ms",
                                                  one["p50_ms"] <= t["p50_ms_1m"])
        out[f"server memory at {big:,} marks"] = (f"<= {t['rss_gb_1m']:.0f} GB",
                                                  f"{rss:.2f} GB", rss <= t["rss_gb_1m"])
    for row in results["index_types"]:
        if row["kind"] == "ivfpq":
            out[f"ivfpq recall@10 at {row['vectors']:,} vectors"] = (
                f">= {t['recall_at_10']}", f"{row['recall_at_10']:.3f}",
                row["recall_at_10"] >= t["recall_at_10"])
            out[f"ivfpq memory at {row['vectors']:,} vectors"] = (
                f"<= {t['bytes_per_mark']:.0f} B/mark", f"{row['bytes_per_mark']:.0f} B/mark",
                row["bytes_per_mark"] <= t["bytes_per_mark"])
    errors = sum(run["errors"] for reg in results["registers"]
                 for run in reg["queries"]["levels"])
    out["HTTP errors"] = ("0", str(errors), errors == 0)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    parser.add_argument("--quick", action="store_true", help="Tiny sizes: a smoke test.")
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="Register sizes (marks) for the query benchmark.")
    parser.add_argument("--levels", default="1,4,16", help="Concurrent clients.")
    parser.add_argument("--seconds", type=float, default=15.0, help="Per level.")
    parser.add_argument("--ingest-marks", type=int, default=1000)
    parser.add_argument("--base-marks", type=int, default=4000,
                        help="Real marks ingested to grow the registers from (all the demo's).")
    parser.add_argument("--reference-marks", type=int, default=192)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--index-sizes", default="100000,1000000",
                        help="Register sizes (marks) at which the index types are compared.")
    parser.add_argument("--embed-only", action="store_true",
                        help="Only the model's throughput on --device (e.g. on a GPU machine).")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda.")
    args = parser.parse_args(argv)
    if args.embed_only:
        result = embed_throughput(args.device)
        print(json.dumps(result))
        return result
    if args.quick:
        args.sizes, args.levels, args.seconds = "300,1200", "1,2", 1.5
        args.ingest_marks, args.reference_marks, args.repeats = 24, 8, 1
        args.base_marks = 60
        args.index_sizes = "1200"
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "machine": machine.describe(),
                               "quick": args.quick}
    every = ingest.real_marks(args.out / "marks", max(args.ingest_marks, args.base_marks))
    files = every[: args.ingest_marks]
    print(f"ingest: {len(files)} marks, {args.repeats} repeats", flush=True)
    results["ingest"] = bench_ingest(files, args.repeats, args.reference_marks)
    images = [p.read_bytes() for p in files]
    results["embedding"] = embed_throughput(args.device, 512 if args.quick else 4096)
    results["reference_query_ms"] = reference_query_ms(images[0], 8 if args.quick else 20)

    base = args.out / "base"  # the real register every size is grown from
    if base.exists():
        shutil.rmtree(base)
    _ingest_base(every, base)
    results["registers"], results["index_types"] = [], []
    index_sizes = {int(s) for s in args.index_sizes.split(",") if s}
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"register of {size:,} marks", flush=True)
        target = args.out / f"register-{size}"
        reg = build_register(base, target, size, "auto")
        ids, vectors, info = reg.pop("_ids"), reg.pop("_vectors"), reg.pop("_info")
        built = reg.pop("_built")
        reg["queries"] = bench_queries(target, images, [int(c) for c in args.levels.split(",")],
                                       args.seconds)
        results["registers"].append(reg)
        if size in index_sizes:
            # beyond ~300k vectors only the kind auto serves (flat and hnsw take GBs)
            kinds = ("flat", "ivfpq", "hnsw") if len(ids) <= 300_000 else tuple(built)
            results["index_types"] += indexes.compare(ids, vectors, info, len(ids) / size,
                                                      kinds, 50 if args.quick else 200,
                                                      built=built)
        del ids, vectors, built
        shutil.rmtree(target)
    results["targets"] = targets(results)
    write_results(args.out, "results", results, markdown(results))
    return results


def _ingest_base(files: list[Path], base: Path) -> None:
    from service.register import Register
    from service.settings import Settings

    source = base.with_name(base.name + "-src")
    source.mkdir(parents=True, exist_ok=True)
    for path in files:
        link = source / path.name
        if not link.exists():
            link.symlink_to(path.resolve())
    with Register(Settings(data_dir=base)) as register:
        register.ingest_folder(source)


if __name__ == "__main__":
    main()
