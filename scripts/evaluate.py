"""Retrieval evaluation of the service on brand marks (even-hash brands only).

    python -m scripts.evaluate [--data var/eval-data/manifest.jsonl] [--weights FILE]
        [--register-dir var/eval/register] [--limit-queries N] [--gallery-limit N]

The gallery (brand renderings from several icon sets plus >= 20,000 non-brand
distractor icons, built by scripts/build_eval_set.py) is ingested into a real register
(scripts/evaluation/service_run.py), which is searched with the service's own code and
default options, so the numbers are those of what ships:

- cross-design: each rendering of a brand drawn by two or more sets is a query
  (``Register.similar``); the same brand's renderings in the other sets are relevant;
- transformed copies: originals under each transformation of scripts/training/augment.py and the
  evaluation-only cases of scripts/evaluation/cases.py, uploaded as PNG
  (``Register.search_many``), must find their original;
- composites in the register: the original alone must find its composite with added
  words, a frame or a second figure; and the identical figure with added words or a
  frame, as the query, must find the original first with risk High.

The bare embedding, pHash and raw pixels (scripts/evaluation/baselines.py) rank the
same gallery in full with numpy. Metrics: R@1, R@10, mAP@100 (and NAR for full
rankings). Writes results.json, results.md and hits.json (the top-10 hits, for
re-fitting the risk levels); with --risk-out, the thresholds calibrated on them. Brands
whose sha1(normalised name) is odd are never in the data, and any that slipped in are
refused here.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from models.embedder import Embedder
from scripts.evaluation.baseline_run import gallery_baselines, rank_baselines
from scripts.evaluation.baselines import METHODS, BaselineVectors, baseline_vectors
from scripts.evaluation.calibration import risk_thresholds
from scripts.evaluation.cases import CASES, all_transformations
from scripts.evaluation.data import (
    Item,
    brands_in_several_sets,
    cross_design_queries,
    read_items,
    transform_originals,
)
from scripts.evaluation.metrics import QueryScores, mean_scores, score_query, score_ranking
from scripts.evaluation.prep import decode_png, make_pool, map_ahead, transformed_image
from scripts.evaluation.report import SERVICE, markdown, target_dicts, update_model_card
from scripts.evaluation.service_run import (
    COMPOSITE_PREFIX,
    Answer,
    ingest,
    median_ms,
    open_register,
    remove_composites,
    search_answers,
    similar_answers,
    similar_batched,
    top_hits,
)
from service.register import Register
from service.search.query import SearchOptions

__all__ = ["evaluate", "main", "markdown", "read_items", "update_model_card"]

# composite marks placed in the register (names of scripts.training.augment.TRANSFORMS)
COMPOSITES = ("added_words", "frame", "second_figure")
# the identical figure with these added, as the query, must be High risk
HIGH_RISK_QUERIES = ("added_words", "frame")
Hit = tuple[float, bool, float | None, str]  # score, relevant, shape score, task


def evaluate(items: list[Item], embedder: Embedder, register_dir: Path,
             transform_queries: int = 300, limit_queries: int | None = None, seed: int = 0,
             workers: int = 2, k: int = 100, baseline_cache: Path | None = None,
             batched_similar: bool = False) -> tuple[dict[str, Any], list[Hit]]:
    """Every task on ``items``; returns the results and the service's top-10 hits.
    ``batched_similar``: cross-design queries through ``similar_batched`` (the same
    rankings, several times faster on a CPU) instead of one ``similar`` call each."""
    started = time.time()
    register = open_register(register_dir, items, embedder, workers)
    pool = make_pool(workers)
    try:
        with register:
            phases = {"register": round(time.time() - started, 1)}
            gallery = gallery_baselines(items, embedder, pool, baseline_cache)
            phases["gallery baselines"] = round(time.time() - started - sum(phases.values()), 1)
            run = _Run(register, items, embedder, gallery, pool, k, seed, batched_similar)
            results = run.cross_design(limit_queries)
            phases["cross-design"] = round(time.time() - started - sum(phases.values()), 1)
            originals = transform_originals(items, transform_queries, seed, limit_queries)
            results.update(run.transformed(originals))
            phases["transformed"] = round(time.time() - started - sum(phases.values()), 1)
            results.update(run.composites(originals))
            phases["composites"] = round(time.time() - started - sum(phases.values()), 1)
            stats = register.stats()
    finally:
        if pool is not None:
            pool.shutdown()
    results = {
        "gallery": len(items), "model_version": embedder.version,
        "brands_cross_design": brands_in_several_sets(items),
        "register": {"dir": str(register_dir), "marks": stats["marks"],
                     "vectors": stats["vectors"], "index_type": stats["index_type"],
                     "risk_thresholds": stats["risk_thresholds"]},
        "search_mode": SearchOptions().mode.value, "k": k,
        "cross_design_search": "similar_batched" if batched_similar else "similar",
        "evaluation_cases": list(CASES),
        **results,
        "timing": {"similar_ms": median_ms(run.similar_timed),
                   "search_many_ms": median_ms(run.batched_timed),
                   "batch": register.settings.batch_size},
        "risk": risk_thresholds([(score, relevant) for score, relevant, _, _ in run.hits]),
        "phases_seconds": phases,
        "seconds": round(time.time() - started, 1),
    }
    results["risk"]["method"] = f"{SERVICE} ({results['search_mode']} mode), SearchResult.score"
    results["identical_high_risk"] = high_risk_shares(results["identical_high_risk"],
                                                      results["risk"]["high"])
    results["targets"] = target_dicts(results)
    return results, run.hits


class _Run:
    """One evaluation's state: the register, the gallery's baseline vectors, the hits
    collected for calibration and the timed answers."""

    def __init__(self, register: Register, items: list[Item], embedder: Embedder,
                 gallery: BaselineVectors, pool: Any, k: int, seed: int,
                 batched_similar: bool = False) -> None:
        self.register, self.items, self.embedder = register, items, embedder
        self.gallery, self.pool, self.k, self.seed = gallery, pool, k, seed
        self.batched_similar = batched_similar
        self.brand_of = {item.mark_id: item.brand for item in items}
        self.hits: list[Hit] = []
        self.similar_timed: list[Answer] = []
        self.batched_timed: list[Answer] = []

    def _same_brand(self, brand: str | None, also: str = ""):  # noqa: ANN202 - a predicate
        return lambda mark_id: mark_id == also or (
            brand is not None and self.brand_of.get(mark_id) == brand)

    def cross_design(self, limit: int | None) -> dict[str, Any]:
        items = self.items
        queries = cross_design_queries(items, limit, self.seed)
        ids = [items[i].mark_id for i, _ in queries]
        if self.batched_similar:
            answers = similar_batched(self.register, ids, self.k)
            self.batched_timed += answers
        else:
            answers = similar_answers(self.register, ids, self.k, desc="cross-design")
            self.similar_timed += answers
        scores: dict[str, list[QueryScores]] = {SERVICE: []}
        for answer, (i, relevant) in zip(answers, queries, strict=True):
            scores[SERVICE].append(score_ranking(answer.ids,
                                                 {items[j].mark_id for j in relevant}))
            self.hits += [(*h, "cross-design")
                          for h in top_hits(answer, self._same_brand(items[i].brand))]
        rows = [i for i, _ in queries]
        scores.update(rank_baselines(self.gallery.subset(rows), self.gallery,
                                     [rel for _, rel in queries], [[i] for i in rows]))
        by_set: dict[str, dict[str, list[QueryScores]]] = {
            m: defaultdict(list) for m in scores}
        for method, per_query in scores.items():
            for i, s in zip(rows, per_query, strict=True):
                by_set[method][items[i].set].append(s)
        print(f"cross-design: service R@10 {mean_scores(scores[SERVICE])['R@10']:.3f}, "
              f"pixels {mean_scores(scores['pixels'])['R@10']:.3f}", flush=True)
        return {"cross_design": {m: mean_scores(s) for m, s in scores.items()},
                "cross_design_by_set": {m: {name: mean_scores(s) for name, s in sorted(
                    per.items())} for m, per in by_set.items()}}

    def transformed(self, originals: list[int]) -> dict[str, Any]:
        """Each transformation of each original, uploaded; the original must be found."""
        items, names = self.items, list(all_transformations())
        chunks = [[(items[i].path, name, self.seed * 1000 + t * 100003 + i)
                   for i in originals] for t, name in enumerate(names)]
        per: dict[str, dict[str, list[QueryScores]]] = {m: {} for m in (SERVICE, *METHODS)}
        high_risk: dict[str, dict[str, Any]] = {}
        for name, prepared in zip(names, map_ahead(self.pool, transformed_image, chunks),
                                  strict=True):
            answers = search_answers(self.register, [png for png, _, _ in prepared], self.k)
            self.batched_timed += answers
            wanted = [items[i].mark_id for i in originals]
            per[SERVICE][name] = [score_ranking(a.ids, {w})
                                  for a, w in zip(answers, wanted, strict=True)]
            for answer, i in zip(answers, originals, strict=True):
                relevant = self._same_brand(items[i].brand, also=items[i].mark_id)
                self.hits += [(*h, f"transformed:{name}") for h in top_hits(answer, relevant)]
            if name in HIGH_RISK_QUERIES:
                high_risk[name] = _original_found(answers, wanted)
            queries = _baseline_vectors(self.embedder, prepared)
            for method, scores in rank_baselines(queries, self.gallery,
                                                 [{i} for i in originals]).items():
                per[method][name] = scores
            print(f"transform {name}: service R@10 "
                  f"{mean_scores(per[SERVICE][name])['R@10']:.3f}, model "
                  f"{mean_scores(per['model'][name])['R@10']:.3f}", flush=True)
        high_risk["both"] = [f for found in high_risk.values() for f in found]
        augment = [n for n in names if n not in CASES]
        return {
            "transformed": {m: {
                "overall": mean_scores([s for v in by_name.values() for s in v]),
                "overall_augment": mean_scores([s for n in augment for s in by_name[n]]),
                **{n: mean_scores(v) for n, v in by_name.items()}} for m, by_name in per.items()},
            "identical_high_risk": high_risk,
        }

    def composites(self, originals: list[int]) -> dict[str, Any]:
        """Composites of the originals placed in the register (as ``composites/<name>/<i>``,
        removed afterwards), each to be found by ``similar`` from its original alone."""
        items = self.items
        tasks = [(items[i].path, name, self.seed * 7000 + c * 100003 + i)
                 for c, name in enumerate(COMPOSITES) for i in originals]
        prepared = next(map_ahead(self.pool, transformed_image, [tasks]), [])
        ids = [f"{COMPOSITE_PREFIX}{name}/{i}" for name in COMPOSITES for i in originals]
        try:
            with tempfile.TemporaryDirectory(prefix="tmsearch-eval-composites-") as tmp:
                for mark_id, (png, _, _) in zip(ids, prepared, strict=True):
                    path = Path(tmp) / f"{mark_id}.png"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(png)
                ingest(self.register, Path(tmp), len(ids), "ingest composites")
            answers = similar_answers(self.register, [items[i].mark_id for i in originals],
                                      self.k, desc="composites")
        finally:
            remove_composites(self.register)
        self.similar_timed += answers
        service = {name: mean_scores([
            score_ranking(a.ids, {f"{COMPOSITE_PREFIX}{name}/{i}"})
            for a, i in zip(answers, originals, strict=True)]) for name in COMPOSITES}
        # the bare embedding on the same register: gallery + every composite
        added = _baseline_vectors(self.embedder, prepared)
        gallery_plus = BaselineVectors.concat([self.gallery, added], self.embedder.dim)
        sims = self.gallery.subset(originals).similarities(gallery_plus, "model")
        n, q_count = len(self.gallery), len(originals)
        model = {name: mean_scores([
            score_query(row, {n + c * q_count + q}, exclude=[i])
            for q, (row, i) in enumerate(zip(sims, originals, strict=True))])
            for c, name in enumerate(COMPOSITES)}
        return {"composites_in_register": {SERVICE: service, "model": model}}


def _baseline_vectors(embedder: Embedder, prepared: list[tuple[bytes, Any, Any]]
                      ) -> BaselineVectors:
    """The baselines' vectors of uploads prepared in the pool (PNG, pHash, pixels)."""
    return baseline_vectors(embedder, [decode_png(png) for png, _, _ in prepared],
                            [bits for _, bits, _ in prepared], [v for _, _, v in prepared])


def _original_found(answers: list[Answer], wanted: list[str]
                    ) -> list[tuple[int | None, float | None]]:
    """Per query: (rank from 1, score) of the original among the first hits, or
    (None, None); levelled later, against the thresholds this run calibrates."""
    out: list[tuple[int | None, float | None]] = []
    for answer, mark_id in zip(answers, wanted, strict=True):
        ids = answer.ids[: len(answer.scores)]
        rank = ids.index(mark_id) if mark_id in ids else None
        out.append((None, None) if rank is None else (rank + 1, answer.scores[rank]))
    return out


def high_risk_shares(found: dict[str, list[tuple[int | None, float | None]]],
                     high: float) -> dict[str, dict[str, Any]]:
    """Per query kind: how often the original came back first, in the top 10, and in the
    top 10 with a score at or above the calibrated High threshold."""
    shares: dict[str, dict[str, Any]] = {}
    for name, rows in found.items():
        n = len(rows)
        first = sum(1 for rank, _ in rows if rank == 1)
        top = sum(1 for rank, _ in rows if rank is not None and rank <= 10)
        high_count = sum(1 for rank, score in rows
                         if rank is not None and rank <= 10 and score is not None
                         and score >= high)
        shares[name] = {"queries": n, "first": first / n if n else None,
                        "top10": top / n if n else None,
                        "high": high_count / n if n else None}
    return shares


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("var/eval-data/manifest.jsonl"))
    p.add_argument("--weights", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("var/eval"))
    p.add_argument("--register-dir", type=Path, default=None,
                   help="the gallery's register, reused while it matches (default "
                        "<out>/register)")
    p.add_argument("--transform-queries", type=int, default=300)
    p.add_argument("--limit-queries", type=int, default=None,
                   help="only N cross-design queries and N transformed originals (quick)")
    p.add_argument("--gallery-limit", type=int, default=None,
                   help="only the first N distractors in the gallery (quick)")
    p.add_argument("--batched-similar", action="store_true",
                   help="cross-design through search_many on the stored images, the query's "
                        "own mark dropped (the same rankings as similar, several times "
                        "faster on a CPU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--model-card", type=Path, default=None,
                   help="write the table into this file between the eval markers")
    p.add_argument("--risk-out", type=Path, default=None,
                   help="write the calibrated risk thresholds here (beside the weights)")
    args = p.parse_args()
    if not args.data.is_file():
        raise SystemExit(f"{args.data} not found: run python -m scripts.build_eval_set first")
    register_dir = args.register_dir or args.out / "register"
    embedder = Embedder(args.weights, device="auto", batch_size=128)
    items = read_items(args.data, args.gallery_limit)
    results, hits = evaluate(
        items, embedder, register_dir, args.transform_queries, args.limit_queries, args.seed,
        args.workers, baseline_cache=register_dir.with_name(register_dir.name + ".baselines.npz"),
        batched_similar=args.batched_similar)
    write_outputs(args.out, results, hits)
    table = markdown(results)
    if args.model_card is not None:
        update_model_card(args.model_card, table)
    if args.risk_out is not None:
        write_risk(args.risk_out, results)
    print(table)


def write_outputs(out: Path, results: dict[str, Any], hits: list[Hit]) -> None:
    """results.json, results.md and hits.json (every top-10 hit, to re-fit the risk
    levels offline without running the evaluation again)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text(markdown(results))
    (out / "hits.json").write_text(json.dumps({
        "model_version": results["model_version"],
        "columns": ["score", "relevant", "shape_score", "task"],
        "hits": [[round(s, 6), r, None if sh is None else round(sh, 6), t]
                 for s, r, sh, t in hits]}))


def write_risk(path: Path, results: dict[str, Any]) -> None:
    risk = results["risk"]
    path.write_text(json.dumps({
        "model_version": results["model_version"], **risk,
        "calibrated_on": "scripts/evaluate.py: even-hash brand evaluation, SearchResult.score "
                         "of the top-10 hits of a real register's search (default options) on "
                         "cross-design and transformed-copy queries; relevant: the query's "
                         "brand"}, indent=2) + "\n")


if __name__ == "__main__":
    main()
