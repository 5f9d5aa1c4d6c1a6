"""Retrieval evaluation of the embedding model on brand marks (even-hash brands only).

    python -m scripts.evaluate [--data var/eval-data/manifest.jsonl] [--weights FILE]

Two tasks on one gallery (brand renderings from several icon sets plus >= 20,000
non-brand distractor icons, built by scripts/build_eval_set.py):

- cross-design: each rendering of a brand that appears in two or more sets is a query;
  the same brand's renderings in the other sets are the relevant items;
- transformed copies: originals under each transformation of models/augment.py must
  find their original.

Metrics (scripts/evaluation/metrics.py): R@1, R@10, mAP@100, NAR, for the model and for
pHash and raw-pixel baselines computed here on the same data. Writes JSON and a markdown
table. Brands whose sha1(normalised name) is odd are never in the data, and any that
slipped in are refused here.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image

from models.augment import TRANSFORMS
from models.embedder import Embedder
from models.preprocess import prepare
from scripts.datasets.brand_sets import brand_hash_is_even
from scripts.datasets.manifest import iter_manifest
from scripts.evaluation.baselines import phash_bits, phash_similarity, pixel_vector
from scripts.evaluation.calibration import risk_thresholds, top_hits
from scripts.evaluation.images import load_rgb
from scripts.evaluation.metrics import QueryScores, mean_scores, score_query
from service.query import dihedral_views


@dataclass
class Item:
    path: str
    brand: str | None
    set: str


def represent(image: Image.Image, input_size: int, input_mode: str
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(model input, pHash bits, pixel vector) of one image."""
    return prepare(image, input_size, input_mode), phash_bits(image), pixel_vector(image)


def _represent_path(task: tuple[str, int, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    path, size, mode = task
    return represent(load_rgb(path), size, mode)


def _represent_transformed(task: tuple[str, str, int, int, str]
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    path, transform, seed, size, mode = task
    image = TRANSFORMS[transform](load_rgb(path), random.Random(seed))
    return represent(image, size, mode)


def _dihedral_transformed(task: tuple[str, str, int, int, str]) -> np.ndarray:
    """The transformed image's 8 rotations/reflections, prepared: (8, C, S, S)."""
    path, transform, seed, size, mode = task
    image = TRANSFORMS[transform](load_rgb(path), random.Random(seed))
    return np.stack([prepare(view, size, mode) for view in dihedral_views(image)])


def read_items(manifest: Path) -> list[Item]:
    items = []
    for row, path in iter_manifest(manifest):
        brand = row.get("brand")
        if brand is not None and not brand_hash_is_even(brand):
            raise SystemExit(f"odd-hash brand {brand!r} in {manifest}: rebuild the eval set")
        items.append(Item(path, brand, row.get("set", "")))
    return items


class Representations:
    """The three methods' vectors for a list of images."""

    def __init__(self, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                 embedder: Embedder) -> None:
        inputs = np.stack([p[0] for p in parts])
        self.model = embedder.embed_prepared(inputs)
        self.phash = np.stack([p[1] for p in parts])
        self.pixels = np.stack([p[2] for p in parts])

    def similarities(self, gallery: Representations, method: str) -> np.ndarray:
        return _similarities(self, gallery, method, slice(None))


METHODS = ("model", "phash", "pixels")
# the model queried with the 8 rotations and reflections, best per gallery item
# (the search option rotation_tolerant); reported on transformed copies
ROTATION_TOLERANT = "model (rotation-tolerant)"
TRANSFORM_METHODS = (*METHODS, ROTATION_TOLERANT)


def evaluate(items: list[Item], embedder: Embedder, transform_queries: int, seed: int,
             workers: int) -> dict:
    size, mode = embedder.config.input_size, embedder.config.input_mode
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn")) if workers else None
    def mapper(fn, tasks, chunksize=1):  # noqa: ANN001, ANN202 - pool.map or inline
        return pool.map(fn, tasks, chunksize=chunksize) if pool else map(fn, tasks)

    started = time.time()
    gallery = Representations(
        list(mapper(_represent_path, [(i.path, size, mode) for i in items], chunksize=64)),
        embedder)
    print(f"gallery of {len(items)} represented in {time.time() - started:.0f} s")

    by_brand: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        if item.brand:
            by_brand[item.brand].append(index)
    results: dict = {"gallery": len(items), "model_version": embedder.version}

    # cross-design
    queries = []
    for indices in by_brand.values():
        sets = {items[i].set for i in indices}
        if len(sets) < 2:
            continue
        for i in indices:
            relevant = {j for j in indices if items[j].set != items[i].set}
            if relevant:
                queries.append((i, relevant))
    results["brands_cross_design"] = sum(
        1 for ix in by_brand.values() if len({items[i].set for i in ix}) >= 2)
    cross: dict[str, list[QueryScores]] = {m: [] for m in METHODS}
    risk_hits: list[tuple[float, bool]] = []  # the model's top-10 hits, for calibration
    for start in range(0, len(queries), 512):
        chunk = queries[start : start + 512]
        q_index = [i for i, _ in chunk]
        for method in METHODS:
            block = _rows(gallery, q_index, method)
            for row, (i, relevant) in zip(block, chunk, strict=True):
                cross[method].append(score_query(row, relevant, exclude=[i]))
                if method == "model":  # the query's own rendering is left out
                    risk_hits += top_hits(row, relevant, exclude=[i])
    results["cross_design"] = {m: mean_scores(s) for m, s in cross.items()}

    # transformed copies
    rng = random.Random(seed)
    brand_items = sorted(i for ix in by_brand.values() for i in ix)
    originals = rng.sample(brand_items, min(transform_queries, len(brand_items)))
    transformed: dict[str, dict[str, list[QueryScores]]] = {m: {} for m in TRANSFORM_METHODS}
    for t_index, name in enumerate(sorted(TRANSFORMS)):
        tasks = [(items[i].path, name, seed * 1000 + t_index * 100003 + i, size, mode)
                 for i in originals]
        reps = Representations(list(mapper(_represent_transformed, tasks, chunksize=16)),
                               embedder)
        for method in METHODS:
            sims = reps.similarities(gallery, method)
            transformed[method][name] = [
                score_query(row, {i}) for row, i in zip(sims, originals, strict=True)]
            if method == "model":  # any rendering of the same brand is a right answer
                for row, i in zip(sims, originals, strict=True):
                    risk_hits += top_hits(row, {i, *by_brand[items[i].brand]})
        views = np.stack(list(mapper(_dihedral_transformed, tasks, chunksize=16)))
        embedded = embedder.embed_prepared(views.reshape(-1, *views.shape[2:]))
        embedded = embedded.reshape(len(tasks), views.shape[1], -1)
        tolerant = np.einsum("qvd,gd->qvg", embedded, gallery.model).max(axis=1)
        transformed[ROTATION_TOLERANT][name] = [
            score_query(row, {i}) for row, i in zip(tolerant, originals, strict=True)]
        print(f"transform {name}: model R@10 "
              f"{mean_scores(transformed['model'][name])['R@10']:.3f}", flush=True)
    results["transformed"] = {
        m: {"overall": mean_scores([s for v in per.values() for s in v]),
            **{name: mean_scores(v) for name, v in per.items()}}
        for m, per in transformed.items()
    }
    if pool:
        pool.shutdown()
    results["risk"] = risk_thresholds(risk_hits)
    results["seconds"] = round(time.time() - started, 1)
    return results


def _rows(gallery: Representations, q_index: list[int], method: str) -> np.ndarray:
    return _similarities(gallery, gallery, method, q_index)


def _similarities(queries: Representations, gallery: Representations, method: str,
                  rows: slice | list[int]) -> np.ndarray:
    """(selected queries) x (gallery) similarity for one method; higher is closer."""
    if method == "model":
        return queries.model[rows] @ gallery.model.T
    if method == "phash":
        return phash_similarity(queries.phash[rows], gallery.phash)
    return queries.pixels[rows] @ gallery.pixels.T


def markdown(results: dict) -> str:
    lines = [
        f"Gallery: {results['gallery']} images; model {results['model_version']}; "
        f"{results['brands_cross_design']} brands in 2+ sets.",
        "",
        "| task | method | queries | R@1 | R@10 | mAP@100 | NAR |",
        "|---|---|---|---|---|---|---|",
    ]

    def row(task: str, method: str, s: dict) -> str:
        return (f"| {task} | {method} | {s['queries']} | {s['R@1']:.3f} | {s['R@10']:.3f} | "
                f"{s['mAP@100']:.3f} | {s['NAR']:.4f} |")

    for method in METHODS:
        lines.append(row("cross-design", method, results["cross_design"][method]))
    for method in TRANSFORM_METHODS:
        if method in results["transformed"]:
            lines.append(row("transformed (all)", method,
                             results["transformed"][method]["overall"]))
    shown = [m for m in TRANSFORM_METHODS if m in results["transformed"]]
    lines += ["", "Transformed copies, R@10 per transformation:", "",
              "| transformation | " + " | ".join(shown) + " |",
              "|---|" + "---|" * len(shown)]
    for name in sorted(TRANSFORMS):
        cells = [f"{results['transformed'][m][name]['R@10']:.3f}" for m in shown]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if "risk" in results:
        r = results["risk"]
        lines += ["", f"Risk levels (model score): high >= {r['high']:.3f} (precision of the "
                  f"top-10 hits at or above it >= {r['high_precision']}), medium >= "
                  f"{r['medium']:.3f} (>= {r['medium_precision']}); calibrated on "
                  f"{r['hits']} hits, {r['relevant_hits']} relevant."]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("var/eval-data/manifest.jsonl"))
    p.add_argument("--weights", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("var/eval"))
    p.add_argument("--transform-queries", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--model-card", type=Path, default=None,
                   help="write the table into this file between the eval markers")
    p.add_argument("--risk-out", type=Path, default=None,
                   help="write the calibrated risk thresholds here (beside the weights)")
    args = p.parse_args()
    if not args.data.is_file():
        raise SystemExit(f"{args.data} not found: run python -m scripts.build_eval_set first")
    embedder = Embedder(args.weights, device="auto", batch_size=128)
    items = read_items(args.data)
    results = evaluate(items, embedder, args.transform_queries, args.seed, args.workers)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    table = markdown(results)
    (args.out / "results.md").write_text(table)
    if args.model_card is not None:
        update_model_card(args.model_card, table)
    if args.risk_out is not None:
        args.risk_out.write_text(json.dumps(
            {"model_version": results["model_version"], **results["risk"],
             "calibrated_on": "scripts/evaluate.py: even-hash brand evaluation, top-10 hits of "
                              "cross-design and transformed-copy queries"}, indent=2) + "\n")
    print(table)


START, END = "<!-- evaluation:start -->", "<!-- evaluation:end -->"


def update_model_card(card: Path, table: str) -> None:
    """Replace the evaluation section of the model card with this run's table."""
    text = card.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{card} has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    card.write_text(f"{head}{START}\n{table}{END}{tail}")


if __name__ == "__main__":
    main()
