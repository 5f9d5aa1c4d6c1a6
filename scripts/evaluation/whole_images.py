"""A quick look at a network on the way: cross-design retrieval of whole gallery images.

    python -m scripts.evaluation.whole_images --weights A.pt [--weights B.pt ...] \
        [--data var/eval-data/manifest.jsonl] [--cnn-weights 0.7,1.0]

Not the evaluation (``make evaluate`` ranks through a real register with the service's
own search): this harness compares candidate networks in minutes, on the whole images
of the even-hash gallery only (no figure components, turns, colour or words). Each
image is prepared once (cached under ``--cache``); per weights file it prints R@10 and
mAP@100 of the CNN alone, the orientation descriptor alone, and the service's fusion
(the larger of the two signals' evidence, ``models/signals.py``) at each CNN weight
asked for. Use it to decide whether a candidate is worth a ``make evaluate``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from models.descriptor import orientation_histogram
from models.embedder import Embedder
from models.preprocess import prepare
from models.signals import EMBEDDING, ORIENTATION, VectorLayout
from scripts.evaluation.data import Item, cross_design_queries, read_items
from scripts.evaluation.metrics import mean_scores, score_ranking

INPUT_SIZE, INPUT_MODE, HOG_CELLS = 128, "ink+grey", 6


def _prepare(path: str) -> np.ndarray:
    with Image.open(path) as image:
        return prepare(image.convert("RGB"), INPUT_SIZE, INPUT_MODE)


def prepared_gallery(items: list[Item], cache: Path, workers: int) -> np.ndarray:
    """Every gallery image in canonical form, (N, 2, 128, 128) uint8, cached by path list."""
    key = hashlib.sha1("|".join(i.path for i in items).encode()).hexdigest()[:12]
    path = cache / f"prepared-{key}.npy"
    if path.is_file():
        return np.load(path)
    started = time.time()
    with ProcessPoolExecutor(workers) as pool:
        arrays = np.stack(list(pool.map(_prepare, [i.path for i in items], chunksize=64)))
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, arrays)
    print(f"prepared {len(items)} images in {time.time() - started:.0f} s")
    return arrays


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def evidences(embedder: Embedder, prepared: np.ndarray, descriptors: np.ndarray
              ) -> dict[str, tuple[np.ndarray, float, float]]:
    """Per signal: unit vectors of the gallery, the evidence centre and weight."""
    config = embedder.config
    layout = VectorLayout.of(config)
    by_name = {s.name: s for s in layout.signals}
    out = {EMBEDDING: (embedder.embed_network(prepared), by_name[EMBEDDING].centre,
                       by_name[EMBEDDING].weight)}
    if ORIENTATION in by_name:
        out[ORIENTATION] = (descriptors, by_name[ORIENTATION].centre, 1.0)
    return out


def ranked(scores: np.ndarray, query: int, k: int = 100) -> list[int]:
    scores = scores.copy()
    scores[query] = -np.inf
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top], kind="stable")].tolist()


def expanded(signals: dict[str, tuple[np.ndarray, float, float]], rows: list[int],
             fused: np.ndarray, depth: int, weight: float) -> np.ndarray:
    """The fusion again after query expansion (alpha-QE, Radenovic et al. 2018): each
    signal's query vector plus the ``depth`` best marks' vectors, weighted by their fused
    evidence, the query itself left out."""
    masked = fused.copy()
    masked[np.arange(len(rows)), rows] = -np.inf
    top = np.argpartition(-masked, depth, axis=1)[:, :depth]
    w = np.clip(np.take_along_axis(masked, top, axis=1), 0.0, 1.0) ** 3
    ev = {}
    for name, (vectors, centre, _) in signals.items():
        q = vectors[rows] + np.einsum("qd,qdk->qk", w, vectors[top])
        ev[name] = (unit(q) @ vectors.T - centre) / max(1.0 - centre, 1e-3)
    return np.maximum(ev[ORIENTATION], weight * ev[EMBEDDING])


def measure(signals: dict[str, tuple[np.ndarray, float, float]], queries: list,
            cnn_weights: list[float], qe_depths: list[int]) -> dict[str, dict]:
    """R@10 / mAP@100 of each signal alone and of the max-of-evidence fusion."""
    methods: dict[str, list] = {}
    for start in range(0, len(queries), 256):
        chunk = queries[start:start + 256]
        rows = [q for q, _ in chunk]
        ev = {}
        for name, (vectors, centre, _) in signals.items():
            cos = vectors[rows] @ vectors.T
            ev[name] = (cos - centre) / max(1.0 - centre, 1e-3)
        fused = {f"{name} alone": e for name, e in ev.items()}
        if ORIENTATION in ev:
            for w in cnn_weights:
                fused[f"max(descriptor, {w:g} x CNN)"] = np.maximum(
                    ev[ORIENTATION], w * ev[EMBEDDING])
            w = cnn_weights[0]
            for depth in qe_depths:
                fused[f"QE {depth} on max(descriptor, {w:g} x CNN)"] = expanded(
                    signals, rows, fused[f"max(descriptor, {w:g} x CNN)"], depth, w)
        for label, matrix in fused.items():
            for (query, relevant), row in zip(chunk, matrix, strict=True):
                methods.setdefault(label, []).append(
                    score_ranking(ranked(row, query), relevant))
    return {label: mean_scores(scores) for label, scores in methods.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", type=Path, action="append", required=True)
    p.add_argument("--data", type=Path, default=Path("var/eval-data/manifest.jsonl"))
    p.add_argument("--cache", type=Path, default=Path("var/eval/whole-images"))
    p.add_argument("--cnn-weights", default="0.7",
                   help="CNN evidence weights to try in the fusion, comma-separated")
    p.add_argument("--qe", default="", help="query-expansion depths to try, comma-separated")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    items = read_items(args.data)
    queries = cross_design_queries(items)
    prepared = prepared_gallery(items, args.cache, args.workers)
    descriptors = unit(np.stack([orientation_histogram(x, HOG_CELLS) for x in prepared]))
    cnn_weights = [float(w) for w in args.cnn_weights.split(",") if w]
    print(f"{len(items)} images, {len(queries)} cross-design queries")
    print("| weights | method | R@10 | mAP@100 |\n|---|---|---|---|")
    for weights in args.weights:
        embedder = Embedder(weights, device="cpu", batch_size=128)
        if embedder.config.input_size != INPUT_SIZE:
            embedder.config = dataclasses.replace(embedder.config, input_size=INPUT_SIZE)
        results = measure(evidences(embedder, prepared, descriptors), queries, cnn_weights,
                          [int(d) for d in args.qe.split(",") if d])
        for label, m in results.items():
            print(f"| {weights.name} | {label} | {m['R@10']:.3f} | {m['mAP@100']:.3f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
