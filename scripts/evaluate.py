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
from scripts.datasets.brand_sets import brand_hash_is_even
from scripts.datasets.manifest import iter_manifest
from scripts.evaluation.baselines import phash_bits, phash_similarity, pixel_vector
from scripts.evaluation.calibration import risk_thresholds, top_hits
from scripts.evaluation.images import load_rgb
from scripts.evaluation.metrics import QueryScores, mean_scores, score_query
from scripts.evaluation.system import (
    Parts,
    Vectors,
    best_pair_scores,
    image_parts,
    mode_scores,
)
from service.colour import SearchMode


@dataclass
class Item:
    path: str
    brand: str | None
    set: str


@dataclass
class Represented:
    """One image, for every method: the service's parts, pHash bits and a pixel vector."""

    parts: Parts
    phash: np.ndarray
    pixels: np.ndarray


def represent(image: Image.Image, size: int, mode: str, rotations: bool = False
              ) -> Represented:
    return Represented(image_parts(image, size, mode, rotations), phash_bits(image),
                       pixel_vector(image))


def _represent_path(task: tuple[str, int, str]) -> Represented:
    path, size, mode = task
    return represent(load_rgb(path), size, mode)


def _represent_transformed(task: tuple[str, str, int, int, str]) -> Represented:
    """A transformed copy, with its rotations/reflections for the rotation-tolerant run."""
    path, transform, seed, size, mode = task
    image = TRANSFORMS[transform](load_rgb(path), random.Random(seed))
    return represent(image, size, mode, rotations=True)


def read_items(manifest: Path) -> list[Item]:
    items = []
    for row, path in iter_manifest(manifest):
        brand = row.get("brand")
        if brand is not None and not brand_hash_is_even(brand):
            raise SystemExit(f"odd-hash brand {brand!r} in {manifest}: rebuild the eval set")
        items.append(Item(path, brand, row.get("set", "")))
    return items


class Representations:
    """Every method's vectors for a list of images."""

    def __init__(self, reps: list[Represented], embedder: Embedder) -> None:
        embed = embedder.embed_prepared
        self.parts = Vectors.embed([r.parts.inputs for r in reps], embed)
        self.model = self.parts.vectors[self.parts.starts]  # the whole images
        self.turned = None
        if reps and reps[0].parts.turned is not None:
            self.turned = Vectors.embed([r.parts.turned or [] for r in reps], embed,
                                        whole_views=8)
        self.colour = np.stack([r.parts.colour for r in reps])
        self.phash = np.stack([r.phash for r in reps])
        self.pixels = np.stack([r.pixels for r in reps])

    def __len__(self) -> int:
        return len(self.model)

    def subset(self, rows: list[int]) -> Representations:
        out = object.__new__(Representations)
        out.parts = self.parts.subset(rows)
        out.model, out.turned = self.model[rows], None
        out.colour, out.phash, out.pixels = self.colour[rows], self.phash[rows], self.pixels[rows]
        return out


METHODS = ("model", "phash", "pixels")
# the service's search: whole + figure components, per mode (scripts/evaluation/system.py)
SERVICE_MODES = {f"service ({m.value})": m for m in SearchMode}
SERVICE = "service (shape)"
# the service queried with the 8 rotations and reflections (option rotation_tolerant)
ROTATION_TOLERANT = "service (rotation-tolerant)"
ALL_METHODS = (*METHODS, *SERVICE_MODES)
TRANSFORM_METHODS = (*ALL_METHODS, ROTATION_TOLERANT)
# composite marks in the register, found from their figure alone
COMPOSITES = ("added_words", "frame", "second_figure")
COMPOSITE_METHODS = ("model", SERVICE)


def similarities(queries: Representations, gallery: Representations, method: str
                 ) -> np.ndarray:
    """(queries) x (gallery) similarity for one method; higher is closer."""
    if method == "model":
        return queries.model @ gallery.model.T
    if method == "phash":
        return phash_similarity(queries.phash, gallery.phash)
    if method == "pixels":
        return queries.pixels @ gallery.pixels.T
    if method == ROTATION_TOLERANT:
        assert queries.turned is not None
        return best_pair_scores(queries.turned, gallery.parts)
    shape = best_pair_scores(queries.parts, gallery.parts)
    return mode_scores(shape, queries.colour, gallery.colour, SERVICE_MODES[method])


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
    print(f"gallery of {len(items)} images ({len(gallery.parts.owner)} vectors with "
          f"components) represented in {time.time() - started:.0f} s", flush=True)

    by_brand: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        if item.brand:
            by_brand[item.brand].append(index)
    results: dict = {"gallery": len(items), "gallery_vectors": len(gallery.parts.owner),
                     "model_version": embedder.version}

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
    cross: dict[str, list[QueryScores]] = {m: [] for m in ALL_METHODS}
    risk_hits: list[tuple[float, bool]] = []  # the service's top-10 hits, for calibration
    for start in range(0, len(queries), 512):
        chunk = queries[start : start + 512]
        block_queries = gallery.subset([i for i, _ in chunk])
        for method in ALL_METHODS:
            block = similarities(block_queries, gallery, method)
            for row, (i, relevant) in zip(block, chunk, strict=True):
                cross[method].append(score_query(row, relevant, exclude=[i]))
                if method == SERVICE:  # the query's own rendering is left out
                    risk_hits += top_hits(row, relevant, exclude=[i])
    results["cross_design"] = {m: mean_scores(s) for m, s in cross.items()}
    print(f"cross-design done at {time.time() - started:.0f} s", flush=True)

    # transformed copies (the query is transformed; the original is in the gallery)
    rng = random.Random(seed)
    brand_items = sorted(i for ix in by_brand.values() for i in ix)
    originals = rng.sample(brand_items, min(transform_queries, len(brand_items)))
    transformed: dict[str, dict[str, list[QueryScores]]] = {m: {} for m in TRANSFORM_METHODS}
    for t_index, name in enumerate(sorted(TRANSFORMS)):
        tasks = [(items[i].path, name, seed * 1000 + t_index * 100003 + i, size, mode)
                 for i in originals]
        reps = Representations(list(mapper(_represent_transformed, tasks, chunksize=16)),
                               embedder)
        for method in TRANSFORM_METHODS:
            sims = similarities(reps, gallery, method)
            transformed[method][name] = [
                score_query(row, {i}) for row, i in zip(sims, originals, strict=True)]
            if method == SERVICE:  # any rendering of the same brand is a right answer
                for row, i in zip(sims, originals, strict=True):
                    risk_hits += top_hits(row, {i, *by_brand[items[i].brand]})
        print(f"transform {name}: model R@10 "
              f"{mean_scores(transformed['model'][name])['R@10']:.3f}, service R@10 "
              f"{mean_scores(transformed[SERVICE][name])['R@10']:.3f}", flush=True)
    results["transformed"] = {
        m: {"overall": mean_scores([s for v in per.values() for s in v]),
            **{name: mean_scores(v) for name, v in per.items()}}
        for m, per in transformed.items()
    }

    # composite marks in the register: the original alone must find its composite
    composite_scores: dict[str, dict[str, list[QueryScores]]] = {
        m: {} for m in COMPOSITE_METHODS}
    originals_rep = gallery.subset(originals)
    for c_index, name in enumerate(COMPOSITES):
        tasks = [(items[i].path, name, seed * 7000 + c_index * 100003 + i, size, mode)
                 for i in originals]
        composites = Representations(list(mapper(_represent_path_transformed_plain, tasks,
                                                 chunksize=16)), embedder)
        for method in COMPOSITE_METHODS:
            in_gallery = similarities(originals_rep, gallery, method)
            to_composites = similarities(originals_rep, composites, method)
            rows = np.concatenate([in_gallery, to_composites], axis=1)
            n = len(gallery)
            composite_scores[method][name] = [
                score_query(row, {n + q}, exclude=[i])
                for q, (row, i) in enumerate(zip(rows, originals, strict=True))]
    results["composites_in_register"] = {
        m: {name: mean_scores(v) for name, v in per.items()}
        for m, per in composite_scores.items()}
    if pool:
        pool.shutdown()
    results["risk"] = risk_thresholds(risk_hits)
    results["risk"]["method"] = SERVICE
    results["seconds"] = round(time.time() - started, 1)
    return results


def _represent_path_transformed_plain(task: tuple[str, str, int, int, str]) -> Represented:
    """A transformed copy without rotations (a composite stored in the register)."""
    path, transform, seed, size, mode = task
    return represent(TRANSFORMS[transform](load_rgb(path), random.Random(seed)), size, mode)


TARGET_R10 = 0.95  # the target for every single transformation


def markdown(results: dict) -> str:
    lines = [
        f"Gallery: {results['gallery']} images ({results.get('gallery_vectors', '?')} vectors "
        f"with figure components); model {results['model_version']}; "
        f"{results['brands_cross_design']} brands in 2+ sets.",
        "",
        "| task | method | queries | R@1 | R@10 | mAP@100 | NAR |",
        "|---|---|---|---|---|---|---|",
    ]

    def row(task: str, method: str, s: dict) -> str:
        return (f"| {task} | {method} | {s['queries']} | {s['R@1']:.3f} | {s['R@10']:.3f} | "
                f"{s['mAP@100']:.3f} | {s['NAR']:.4f} |")

    for method in ALL_METHODS:
        if method in results["cross_design"]:
            lines.append(row("cross-design", method, results["cross_design"][method]))
    for method in TRANSFORM_METHODS:
        if method in results["transformed"]:
            lines.append(row("transformed (all)", method,
                             results["transformed"][method]["overall"]))
    shown = [m for m in TRANSFORM_METHODS if m in results["transformed"]]
    best = [m for m in (SERVICE, ROTATION_TOLERANT) if m in shown]
    lines += ["", "Transformed copies, R@10 per transformation (the query is transformed; "
              f"target {TARGET_R10} for the service, rotation-tolerant where it applies):", "",
              "| transformation | " + " | ".join(shown) + " | target met |",
              "|---|" + "---|" * (len(shown) + 1)]
    for name in sorted(TRANSFORMS):
        cells = [f"{results['transformed'][m][name]['R@10']:.3f}" for m in shown]
        met = max((results["transformed"][m][name]["R@10"] for m in best), default=0.0)
        lines.append(f"| {name} | " + " | ".join(cells) +
                     f" | {'yes' if met >= TARGET_R10 else 'no'} |")
    if "composites_in_register" in results:
        per = results["composites_in_register"]
        methods = [m for m in COMPOSITE_METHODS if m in per]
        lines += ["", "Composite marks in the register, found from the original figure alone "
                  "(R@10; the original itself left out):", "",
                  "| composite | " + " | ".join(methods) + " |",
                  "|---|" + "---|" * len(methods)]
        for name in COMPOSITES:
            cells = [f"{per[m][name]['R@10']:.3f}" for m in methods]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if "risk" in results:
        r = results["risk"]
        lines += ["", f"Risk levels ({r.get('method', 'model')} score): high >= {r['high']:.3f} "
                  f"(precision of the top-10 hits at or above it >= {r['high_precision']}), "
                  f"medium >= {r['medium']:.3f} (>= {r['medium_precision']}); calibrated on "
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
                              "the service's shape search (whole + figure components) on "
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
