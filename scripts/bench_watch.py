"""Trademark watch at scale: what checking new filings against many watches costs, and
whether the watched marks' index finds every alert a brute-force check finds.

    python -m scripts.bench_watch [--watches 10000] [--filings 5000] [--register 100000]
        [--copies 500] [--out var/bench-watch]

1. A register of ``--register`` marks, grown (scripts/benchmarks/synthetic_register.py)
   from ``--base`` synthetic marks ingested through the whole pipeline.
2. ``--watches`` watches of 1-3 synthetic marks each, made with ``Watches.add_many``
   (each watched mark planned as a default search with it would send, in batches).
3. ``--filings`` new filings ingested with ``Register.ingest_folder`` (2 workers): the
   first ``--copies`` are copies of watched marks under mild transformations
   (scripts/evaluation/cases.py), the rest new synthetic marks (or ``--images``). They
   are ingested into a fresh copy of the register as prepared, ``--repeats`` times with
   the watch check turned off (today's cost a mark) and as often with it, alternated;
   the difference of the medians is the check's extra cost a filing (the check runs in
   the writer while the workers decode the next chunk, so its own time, also reported,
   is not all extra). The CPU time of the whole ingest (this process and its workers)
   is reported too: on a machine the workers fill, that is what the check takes.
4. Brute force: every filing scored against every watched mark with the same scoring and
   a product with every row (no index), and its alert set compared with the alerts the
   ingest wrote.

``--prepare-only`` stops after making the register, the watches and the filings (most
of a full-scale run's time: a watched mark is planned as a search); ``--resume`` starts
again from them. Writes ``<out>/results.{json,md}``; the README shows the latest table.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.base import IndexInfo
from index.choice import choose_index
from index.faiss_store import FaissStore
from scripts.benchmarks import machine, synthetic_register
from scripts.benchmarks.results import write_results
from scripts.datasets.synthetic import find_system_fonts, make_synthetic_image
from scripts.evaluation.cases import all_transformations
from service.marks.colour import SearchMode
from service.marks.words import normalise_text
from service.register import Register
from service.search.ranking import (
    COMPONENT_MARGIN,
    MIN_WORDS_SIMILARITY,
    final_score,
    shape_score,
    with_colour,
)
from service.search.text_match import bigrams, spelling_units, text_similarity
from service.settings import Settings
from service.storage.layout import INDEX_FILE
from service.watch.checker import Filing, passes_filters
from service.watch.store import MAX_PER_PAGE, AlertQuery
from service.watch.watched_words import sound_terms
from service.watch.watches import WatchSpec, filing_of_record

WATCHES_A_CALL = 250  # watches made by one Watches.add_many call
COPY_TRANSFORMS = ("rescale_move", "recolour", "thicker", "low_quality_scan", "added_words")


def synthetic_png(seed: str, fonts: tuple[str, ...], size: int = 160) -> bytes:
    import io

    buffer = io.BytesIO()
    make_synthetic_image(seed, size, fonts).save(buffer, "PNG")
    return buffer.getvalue()


class MarkImages:
    """Where the watched marks and the new filings come from: synthetic marks (the
    default: one generator, so they look more alike than a register's marks do), or the
    images of a folder (``--images``, e.g. the non-brand icons ``make fetch-data`` writes),
    each used once, in a shuffled order."""

    def __init__(self, fonts: tuple[str, ...], folder: Path | None, rng: random.Random) -> None:
        self.fonts = fonts
        self.files: list[Path] = []
        if folder is not None:
            self.files = sorted(p for p in folder.rglob("*")
                                if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
            rng.shuffle(self.files)
        self.used = 0

    def next(self, seed: str) -> bytes:
        if not self.files:
            return synthetic_png(seed, self.fonts)
        if self.used >= len(self.files):
            raise ValueError(f"--images holds {len(self.files):,} images; more are needed")
        self.used += 1
        return self.files[self.used - 1].read_bytes()


def grown_register(out: Path, base_marks: int, size: int, fonts: tuple[str, ...]) -> Path:
    """A register of ``size`` marks grown from ``base_marks`` ingested ones."""
    base, target = out / "base", out / "register"
    source = out / "base-src"
    for folder in (base, target, source):
        shutil.rmtree(folder, ignore_errors=True)
    source.mkdir(parents=True)
    for n in range(base_marks):
        (source / f"base-{n}.png").write_bytes(synthetic_png(f"base-{n}", fonts))
    with Register(Settings(data_dir=base)) as register:
        register.ingest_folder(source)
    ids, vectors, info = synthetic_register.grow(base, target, size)
    plan = choose_index(len(ids), info.dim, None, "auto")
    store = FaissStore.build(IndexInfo(info.model_version, info.dim, plan.kind, plan.params),
                             ids, vectors)
    store.save(target / INDEX_FILE)
    return target


def make_watches(register: Register, watches: int, source: MarkImages, rng: random.Random,
                 levels: tuple[str, ...] = ("medium", "high")) -> tuple[list[bytes], float]:
    """``watches`` watches of 1-3 marks; returns every watched image and seconds a mark."""
    images: list[bytes] = []
    specs: list[WatchSpec] = []
    for w in range(watches):
        own = [source.next(f"watched-{w}-{m}") for m in range(rng.randint(1, 3))]
        images += own
        specs.append(WatchSpec(f"watch-{w}", f"owner-{w % 50}",
                               [(f"w{w}-{m}.png", data) for m, data in enumerate(own)],
                               min_risk=rng.choice(levels)))
    started = time.perf_counter()
    for start in range(0, len(specs), WATCHES_A_CALL):  # a bulk import, as an operator's
        register.watches.add_many(specs[start:start + WATCHES_A_CALL])
        print(f"  {min(start + WATCHES_A_CALL, len(specs)):,} watches, "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    return images, (time.perf_counter() - started) / max(1, len(images))


def write_filings(folder: Path, filings: int, copies: int, watched: list[bytes],
                  source: MarkImages, rng: random.Random) -> None:
    import io

    from PIL import Image

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    transforms = all_transformations()
    for n in range(filings):
        if n < copies:
            original = Image.open(io.BytesIO(rng.choice(watched))).convert("RGB")
            name = COPY_TRANSFORMS[n % len(COPY_TRANSFORMS)]
            transforms[name](original, random.Random(n)).convert("RGB").save(
                folder / f"copy-{n}.png")
        else:
            (folder / f"filing-{n}.png").write_bytes(source.next(f"filing-{n}"))


def _word_terms(text: str) -> set[str]:
    """Every bigram of a text's spelling units and its sound terms: two texts without a
    term in common have text similarity 0 (Dice needs a shared bigram, the sound a
    shared syllable or key), so the brute force compares only texts that share one."""
    whole, words = spelling_units(text)
    return {g for unit in [whole, *words] for g in bigrams(unit)} | set(sound_terms(text))


def brute_force(register: Register, filings: list[Filing], chunk: int = 64
                ) -> set[tuple[int, str]]:
    """(watch id, mark id) of every alert: each filing's evidence under every watched
    row (a product with every row, no index), every pair of texts that share a term
    compared, and every pair that may reach its watch's level scored the ranking's own
    way (``StoredQuery.evidence``)."""
    checker = register.watches.checker
    entries, index = checker.index()
    risk = register.risk
    layout = register.embedder.layout
    queries = index.queries
    thresholds = checker.thresholds(risk)
    rows = np.concatenate([q.rows for q in queries]).astype(np.float32)
    owner = np.concatenate([[n] * len(q.rows) for n, q in enumerate(queries)])
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    signals = np.concatenate([q.signals for q in queries])
    scale = np.array([layout.signals[s].weight / (np.sqrt(layout.signals[s].share)
                                                  * (1 - layout.signals[s].centre))
                      for s in signals], np.float32)
    offset = np.concatenate([
        [layout.signals[s].weight * layout.signals[s].centre / (1 - layout.signals[s].centre)
         for s in q.signals] + q.turn_penalties + q.penalties for q in queries]).astype(np.float32)
    texts = {n: (q.text, _word_terms(q.text)) for n, q in enumerate(queries) if q.text}
    found: set[tuple[int, str]] = set()
    for lo in range(0, len(filings), chunk):
        group = filings[lo:lo + chunk]
        products = rows @ np.concatenate([f.vectors for f in group]).astype(np.float32).T
        column = 0
        for filing in group:
            count = len(filing.vectors)
            on_component = np.arange(count) > 0
            evidence = products[:, column:column + count] * scale[:, None] - offset[:, None]
            column += count
            evidence -= np.where(on_component, COMPONENT_MARGIN, 0.0)[None, :]
            best = np.clip(np.maximum.reduceat(evidence.max(axis=1), starts) + 1e-4, 0, 1)
            bound = best if filing.colour is None else with_colour(best, 1.0,
                                                                   SearchMode.composite)
            words: dict[int, float] = {}
            mine = normalise_text(filing.text or "")
            if mine:
                terms = _word_terms(mine)
                words = {n: s for n, (text, own) in texts.items() if not own.isdisjoint(terms)
                         and (s := text_similarity(text, mine)) >= MIN_WORDS_SIMILARITY}
            for n in set(np.flatnonzero(bound >= thresholds).tolist()) | set(words):
                watch, mark = entries[n]
                if not index.alive[n] or mark.mark_id == filing.mark_id \
                        or not passes_filters(watch, filing):
                    continue
                block = queries[n].evidence(filing.vectors, on_component, layout,
                                            COMPONENT_MARGIN)
                value, view, _ = queries[n].best(block)
                colour = None if filing.colour is None else float(
                    filing.colour @ queries[n].colours[view])
                score = final_score(shape_score(value), colour, words.get(n),
                                    SearchMode.composite)
                if score >= thresholds[n]:
                    found.add((watch.id, filing.mark_id))
    return found


def written_alerts(register: Register) -> tuple[set[tuple[int, str]], int]:
    """(watch id, mark id) of every alert written, and how many there are, read watch by
    watch (the table's index on the watch: pages of all alerts sort them all each time)."""
    store = register.watches.store
    written: set[tuple[int, str]] = set()
    total = 0
    for watch in store.list():
        page = 1
        while True:
            alerts, count = store.alerts(AlertQuery(watch_id=watch.id, per_page=MAX_PER_PAGE,
                                                    page=page))
            written |= {(a.watch_id, a.mark_id) for a in alerts}
            if page * MAX_PER_PAGE >= count:
                total += count
                break
            page += 1
    return written, total


PREPARED = "prepared.json"  # what --resume needs: the watches are made, the filings written


def prepare(args: argparse.Namespace, target: Path) -> dict[str, Any]:
    """The register, its watches and the filings' folder, then a copy of the register as
    it stands before the ingest (``--resume`` starts again from it: making 20,000
    watched marks is most of a full-scale run)."""
    rng = random.Random(0)
    fonts = tuple(find_system_fonts())
    started = time.perf_counter()
    print(f"register of {args.register:,} marks grown from {args.base:,}", flush=True)
    grown_register(args.out, args.base, args.register, fonts)
    grow_s = time.perf_counter() - started
    with Register(Settings(data_dir=target, workers=2)) as register:
        print(f"{args.watches:,} watches", flush=True)
        source = MarkImages(fonts, args.images, rng)
        watched, per_watched_s = make_watches(register, args.watches, source, rng,
                                              tuple(args.levels.split(",")))
    write_filings(args.out / "filings", args.filings, args.copies, watched, source, rng)
    snapshot = args.out / "register-prepared"
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.copytree(target, snapshot)
    prepared = {"grow_s": round(grow_s, 1), "watched_marks": len(watched),
                "watch_add_ms_a_mark": round(per_watched_s * 1000, 1),
                "sizes": _sizes(args)}
    (args.out / PREPARED).write_text(json.dumps(prepared))
    return prepared


def _sizes(args: argparse.Namespace) -> list[Any]:
    return [args.register, args.base, args.watches, args.filings, args.copies, args.levels,
            str(args.images)]


def resumed(args: argparse.Namespace, target: Path) -> dict[str, Any] | None:
    """What an earlier run prepared, when ``--resume`` finds one made with the same
    sizes."""
    meta = args.out / PREPARED
    if not (args.resume and meta.exists()):
        return None
    prepared = json.loads(meta.read_text())
    if prepared["sizes"] != _sizes(args):
        raise ValueError(f"--resume: {meta} was prepared with other sizes; "
                         "run once without --resume")
    print(f"resumed from {args.out / 'register-prepared'}", flush=True)
    return prepared


def restore(args: argparse.Namespace, target: Path) -> None:
    """The register put back as it was before any filing was ingested."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(args.out / "register-prepared", target)


@dataclass
class IngestRun:
    """One ingest of the filings into the register as prepared: its wall time and CPU
    time (this process and its decode workers) a mark, and the check's own time."""

    ms_a_mark: float
    cpu_ms_a_mark: float
    check_ms: float = 0.0
    index_s: float = 0.0


def _cpu_s() -> float:
    """CPU seconds of this process and of its children that have ended (the workers
    are joined when an ingest ends)."""
    me, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                     resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def ingest_once(args: argparse.Namespace, target: Path, check: bool) -> IngestRun:
    """Ingest the filings into a fresh copy of the prepared register, with the watch
    check or with it turned off (today's cost without watches). The register is left
    as the ingest wrote it."""
    restore(args, target)
    with Register(Settings(data_dir=target, workers=2)) as register:
        checker = register.watches.checker
        spent = {"check_s": 0.0, "index_s": 0.0}
        if check:
            started = time.perf_counter()
            checker.index()  # the watched marks' index, as the first filing would build it
            spent["index_s"] = time.perf_counter() - started
            original = checker.check

            def timed(filings: list[Filing]) -> list:
                t = time.perf_counter()
                try:
                    return original(filings)
                finally:
                    spent["check_s"] += time.perf_counter() - t

            checker.check = timed  # type: ignore[method-assign]
        else:
            checker.check = lambda filings: []  # type: ignore[method-assign]
        print(f"ingest of {args.filings:,} filings {'with' if check else 'without'} the check",
              flush=True)
        t, cpu = time.perf_counter(), _cpu_s()
        summary = register.ingest_folder(args.out / "filings")
        added = max(1, summary.added)
        return IngestRun((time.perf_counter() - t) / added * 1000,
                         (_cpu_s() - cpu) / added * 1000,
                         spent["check_s"] / added * 1000, spent["index_s"])


def run(args: argparse.Namespace) -> dict[str, Any]:
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "register"
    prepared = resumed(args, target) or prepare(args, target)
    if args.prepare_only:
        return prepared
    without: list[IngestRun] = []
    with_check: list[IngestRun] = []
    for _ in range(args.repeats):  # alternated: a slow spell of the machine hits both
        without.append(ingest_once(args, target, check=False))
        with_check.append(ingest_once(args, target, check=True))  # the last one stays
    settings = Settings(data_dir=target, workers=2)
    with Register(settings) as register:
        folder = args.out / "filings"
        written, total = written_alerts(register)
        print("brute force", flush=True)
        store = register.store
        records = register.records.get_many(
            [p.relative_to(folder).with_suffix("").as_posix() for p in sorted(folder.iterdir())])
        filings = [filing_of_record(r, store.vectors(np.array(r.all_vector_ids())))
                   for r in records.values()]
        t = time.perf_counter()
        expected = brute_force(register, filings)
        brute_s = time.perf_counter() - t
        _, index = register.watches.checker.index()

    def median(runs: list[IngestRun], field: str) -> float:
        return float(np.median([getattr(r, field) for r in runs]))

    per_mark_ms, with_check_ms = median(without, "ms_a_mark"), median(with_check, "ms_a_mark")
    cpu_ms, with_cpu_ms = median(without, "cpu_ms_a_mark"), median(with_check, "cpu_ms_a_mark")
    copies_alerted = len({m for _, m in written if m.startswith("copy-")})
    return {
        "date": time.strftime("%Y-%m-%d"), "machine": machine.describe(),
        "register_marks": args.register, "base_marks": args.base,
        "grow_s": prepared["grow_s"], "resumed": args.resume,
        "watches": args.watches, "watched_marks": prepared["watched_marks"],
        "levels": args.levels,
        "marks_from": str(args.images) if args.images else "synthetic",
        "watched_rows": index.rows,
        "watch_add_ms_a_mark": prepared["watch_add_ms_a_mark"],
        "index_build_s": round(median(with_check, "index_s"), 2),
        "filings": len(filings), "copies": args.copies, "repeats": args.repeats,
        "ingest_ms_a_mark_without_check": round(per_mark_ms, 2),
        "ingest_ms_a_mark_with_check": round(with_check_ms, 2),
        "ingest_ms_runs": [[round(r.ms_a_mark, 2) for r in runs]
                           for runs in (without, with_check)],
        "extra_ms_a_filing": round(with_check_ms - per_mark_ms, 3),
        "check_share": round((with_check_ms - per_mark_ms) / per_mark_ms, 3),
        "cpu_ms_a_mark_without_check": round(cpu_ms, 2),
        "cpu_ms_a_mark_with_check": round(with_cpu_ms, 2),
        "extra_cpu_share": round((with_cpu_ms - cpu_ms) / cpu_ms, 3),
        "check_ms_a_filing": round(median(with_check, "check_ms"), 3),
        "alerts": total, "copies_alerted": copies_alerted,
        "brute_force_alerts": len(expected), "brute_force_s": round(brute_s, 1),
        "missed_by_index": len(expected - written), "extra_in_index": len(written - expected),
        "identical": expected == written,
    }


def _runs(r: dict[str, Any], which: int) -> str:
    return ", ".join(str(ms) for ms in r["ingest_ms_runs"][which])


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    return "\n".join([
        f"Watch benchmark, {r['date']}, on {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gb']} GB RAM, GPU: {m['gpu']} (torch {m['torch']}, faiss {m['faiss']}).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| register | {r['register_marks']:,} marks (grown from {r['base_marks']:,}) |",
        f"| watches / watched marks / rows | {r['watches']:,} / {r['watched_marks']:,} / "
        f"{r['watched_rows']:,} (levels {r['levels']}) |",
        f"| making a watch, a watched mark | {r['watch_add_ms_a_mark']} ms |",
        f"| watched marks' index, built | {r['index_build_s']} s |",
        f"| filings ingested (copies of watched marks) | {r['filings']:,} ({r['copies']:,}) |",
        f"| ingest without the watch check, a mark (median of {r['repeats']}) | "
        f"{r['ingest_ms_a_mark_without_check']} ms (runs: {_runs(r, 0)}) |",
        f"| ingest with it, a mark (median of {r['repeats']}, alternated) | "
        f"{r['ingest_ms_a_mark_with_check']} ms (runs: {_runs(r, 1)}) |",
        f"| **extra ingest cost, a filing** | **{r['extra_ms_a_filing']} ms "
        f"({100 * r['check_share']:.1f} % of the ingest's cost; target < 20 %)** |",
        f"| CPU a mark (this process and the 2 workers), without / with the check | "
        f"{r['cpu_ms_a_mark_without_check']} / {r['cpu_ms_a_mark_with_check']} ms "
        f"(+{100 * r['extra_cpu_share']:.1f} %) |",
        f"| time inside the check, a filing (beside the decode workers) | "
        f"{r['check_ms_a_filing']} ms |",
        f"| watched marks and filings drawn from | {r['marks_from']} |",
        f"| alerts written (copies alerted) | {r['alerts']:,} ({r['copies_alerted']:,}); "
        f"{r['alerts'] / max(1, r['filings']):.1f} a filing |",
        f"| brute-force alerts | {r['brute_force_alerts']:,} ({r['brute_force_s']} s) |",
        f"| missed by the index / extra | {r['missed_by_index']} / {r['extra_in_index']} "
        f"({'identical sets' if r['identical'] else 'sets differ'}) |",
        "",
    ])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("var/bench-watch"))
    p.add_argument("--register", type=int, default=100_000)
    p.add_argument("--base", type=int, default=2_000, help="real marks the register grows from")
    p.add_argument("--watches", type=int, default=10_000)
    p.add_argument("--filings", type=int, default=5_000)
    p.add_argument("--copies", type=int, default=500)
    p.add_argument("--levels", default="medium,high",
                   help="the watches' levels, drawn at random (on synthetic marks, all drawn "
                        "by one generator, 3,352 watches at low raised 353 alerts a filing, "
                        "3,325 at medium 83, 3,323 at high 2.7)")
    p.add_argument("--images", type=Path, default=None,
                   help="a folder of images to draw the watched marks and the filings from "
                        "(each once) instead of synthetic marks, e.g. var/training-data/icons")
    p.add_argument("--resume", action="store_true",
                   help="start again from the register, watches and filings an earlier run "
                        "with the same sizes prepared in --out (the ingest, the check and the "
                        "brute force run again)")
    p.add_argument("--prepare-only", action="store_true",
                   help="make the register, the watches and the filings, then stop (measure "
                        "later with --resume)")
    p.add_argument("--repeats", type=int, default=3,
                   help="ingests with and without the check, alternated; medians reported "
                        "(one ingest's time varies by a fifth between runs on a busy machine)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    args = p.parse_args(argv)
    if args.quick:
        args.register, args.base, args.watches, args.filings, args.copies = 600, 60, 40, 60, 12
        args.repeats = 1
    try:
        result = run(args)
    except ValueError as error:
        p.error(str(error))
    if not args.prepare_only:
        write_results(args.out, "results", result, markdown(result))
    return result


if __name__ == "__main__":
    main()
