"""The service under evaluation: a real register of the gallery, searched with the
service's own code (``Register.similar`` and ``Register.search_many`` with the default
``SearchOptions``), so the evaluation measures what ships and not a copy of its ranking.

The register is built once in a data dir and reused while it holds exactly the gallery
with the model being evaluated; a model change (or another gallery) rebuilds it, as the
vectors would not be comparable.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from models.embedder import Embedder
from scripts.evaluation.data import Item
from service.ingest.folder import IngestEvent
from service.register import Register
from service.search.results import Results
from service.settings import Settings
from service.storage.layout import RECORDS_FILE

COMPOSITE_PREFIX = "composites/"  # marks added for the composite task, removed after it
TOP_HITS = 10  # hits per query kept for risk calibration


def register_settings(register_dir: Path, workers: int) -> Settings:
    """The evaluation register's settings: the service's defaults, in a local data dir
    whatever ``TMSEARCH_DATABASE_URL`` or ``TMSEARCH_VECTOR_STORE`` say (the register is
    deleted and rebuilt at will, so it must never be a shared database)."""
    overridden = sorted(k for k in os.environ if k.startswith("TMSEARCH_"))
    if overridden:
        print(f"note: {', '.join(overridden)} set; the evaluation register uses them "
              "except for the records' and vectors' location", file=sys.stderr)
    return Settings(data_dir=register_dir, workers=workers, database_url=None,
                    vector_store="faiss")


def stale_reason(register: Register, items: Sequence[Item]) -> str | None:
    """Why an existing register cannot be reused for ``items`` (None: it can)."""
    stats = register.stats()
    version = register.embedder.version
    if stats["needs_reindex"] or stats["index_model_version"] != version:
        return f"its index is of model {stats['index_model_version']}, evaluating {version}"
    if stats["marks"] != len(items):
        return f"it holds {stats['marks']} marks, the gallery {len(items)}"
    ids = [item.mark_id for item in items]
    found = 0
    for start in range(0, len(ids), 5000):
        found += len(register.records.get_many(ids[start:start + 5000]))
    if found != len(ids):
        return f"{len(ids) - found} gallery images are not in it"
    return None


def remove_composites(register: Register) -> int:
    """Remove marks left by the composite task (an interrupted run leaves them)."""
    ids = [r.id for r in register.records.iter_all() if r.id.startswith(COMPOSITE_PREFIX)]
    return len(register.remove(ids)) if ids else 0


def open_register(register_dir: Path, items: Sequence[Item], embedder: Embedder,
                  workers: int = 2) -> Register:
    """The gallery's register in ``register_dir``: reused when it holds the gallery with
    this model, else deleted and built again by ingesting the gallery."""
    settings = register_settings(register_dir, workers)
    if register_dir.exists() and any(register_dir.iterdir()):
        if not (register_dir / RECORDS_FILE).is_file():
            raise SystemExit(f"{register_dir} is not empty and holds no register; "
                             "give another --register-dir")
        register = Register(settings, embedder)
        reason = stale_reason(register, items)
        if reason is not None and register.stats()["marks"] > len(items):
            if remove_composites(register):
                reason = stale_reason(register, items)
        if reason is None:
            print(f"reusing the register in {register_dir} ({len(items)} marks)", flush=True)
            return register
        print(f"rebuilding the register in {register_dir}: {reason}", flush=True)
        register.close()
        shutil.rmtree(register_dir)
    register = Register(settings, embedder)
    try:
        with tempfile.TemporaryDirectory(prefix="tmsearch-eval-") as tmp:
            stage = Path(tmp)
            for item in items:  # the manifest's layout, linked: ids are the relative paths
                link = stage / (item.mark_id + Path(item.path).suffix.lower())
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(Path(item.path).resolve())
            ingest(register, stage, len(items), "ingest gallery")
    except BaseException:
        register.close()
        raise
    return register


def ingest(register: Register, folder: Path, total: int, desc: str) -> None:
    """``register.ingest_folder`` with a progress bar; any failed file stops the run (a
    gallery with holes would be measured wrongly, and rebuilt on every run)."""
    with tqdm(total=total, unit="mark", desc=desc, mininterval=5, file=sys.stderr) as bar:

        def on_event(event: IngestEvent) -> None:
            if event.outcome == "failed":
                tqdm.write(f"error: {event.path}: {event.message}", file=sys.stderr)
            if event.mark_id is not None:
                bar.update(1)

        summary = register.ingest_folder(folder, on_event=on_event)
    print(f"{desc}: {summary.added} added, {summary.updated} updated, {summary.skipped} "
          f"unchanged, {summary.failed} failed in {summary.seconds:.0f} s", flush=True)
    if summary.failed:
        shown = "; ".join(f"{path}: {message}" for path, message in summary.failures[:5])
        raise SystemExit(f"{summary.failed} images could not be ingested ({shown})")


@dataclass
class Answer:
    """What one search returned, condensed: ranked mark ids and the top hits' numbers."""

    ids: list[str]  # best first, up to k
    scores: list[float]  # SearchResult.score (what users see) of the first hits
    shape_scores: list[float | None]  # the shape similarity alone, same hits
    risks: list[str]  # the risk level of the same hits
    ms: float  # the search's time; in a batch, the batch's time over its queries

    @classmethod
    def of(cls, results: Results, ms: float) -> Answer:
        top = results[:TOP_HITS + 1]  # one more: a batched `similar` drops the query's own
        return cls([r.record.id for r in results], [float(r.score) for r in top],
                   [None if r.shape_score is None else float(r.shape_score) for r in top],
                   [str(r.risk) for r in top], ms)

    def without(self, mark_id: str, k: int) -> Answer:
        """This answer with ``mark_id`` left out and cut to ``k`` results."""
        keep = [n for n, found in enumerate(self.ids) if found != mark_id]
        hits = [n for n in keep if n < len(self.scores)]
        return Answer([self.ids[n] for n in keep][:k], [self.scores[n] for n in hits],
                      [self.shape_scores[n] for n in hits], [self.risks[n] for n in hits],
                      self.ms)


def similar_answers(register: Register, mark_ids: Sequence[str], k: int = 100,
                    desc: str = "similar") -> list[Answer]:
    """``register.similar`` for each mark (itself left out, default options), timed."""
    answers = []
    for mark_id in tqdm(mark_ids, desc=desc, unit="query", mininterval=10, file=sys.stderr):
        started = time.perf_counter()
        results = register.similar(mark_id, k=k)
        answers.append(Answer.of(results, (time.perf_counter() - started) * 1000))
    return answers


def similar_batched(register: Register, mark_ids: Sequence[str], k: int = 100
                    ) -> list[Answer]:
    """What ``register.similar`` returns for each mark, searched in batches: the stored
    image through ``search_many`` with one result more, the mark itself dropped. The same
    index depth and scores as ``similar`` (whose exclusion only drops the mark after
    scoring); the query's words are read from its image again rather than taken from its
    record, which for the same image are the same words. Several times faster on a CPU,
    as the network embeds a batch of queries at once."""
    uploads = (register.image(mark_id)[0] for mark_id in mark_ids)
    answers = search_answers(register, uploads, k + 1)
    return [a.without(m, k) for a, m in zip(answers, mark_ids, strict=True)]


def search_answers(register: Register, uploads: Iterable[bytes], k: int = 100
                   ) -> list[Answer]:
    """``register.search_many`` over uploaded images (default options), in the
    register's batches; each query is timed as its batch's share."""
    answers: list[Answer] = []
    batch: list[bytes] = []

    def flush() -> None:
        started = time.perf_counter()
        found = list(register.search_many([(str(n), d) for n, d in enumerate(batch)], k=k))
        ms = (time.perf_counter() - started) * 1000 / len(batch)
        for _, results in found:
            if isinstance(results, Exception):
                raise results
            answers.append(Answer.of(Results(results), ms))
        batch.clear()

    for data in uploads:
        batch.append(data)
        if len(batch) >= register.settings.batch_size:
            flush()
    if batch:
        flush()
    return answers


def median_ms(answers: Iterable[Answer]) -> float | None:
    times = [a.ms for a in answers]
    return round(statistics.median(times), 1) if times else None


def top_hits(answer: Answer, relevant: Callable[[str], bool]
             ) -> list[tuple[float, bool, float | None]]:
    """(score, relevant, shape score) of an answer's first TOP_HITS hits, for calibration."""
    return [(score, relevant(mark_id), shape)
            for mark_id, score, shape in zip(answer.ids[:TOP_HITS], answer.scores[:TOP_HITS],
                                             answer.shape_scores[:TOP_HITS], strict=False)]
