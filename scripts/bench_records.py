"""The records database: SQLite (the embedded default, the reference) next to PostgreSQL
(a local server from Debian's packages, fsync on, over TCP on 127.0.0.1), through the
record store the register uses.

    python -m scripts.bench_records                 # 100,000 marks
    python -m scripts.bench_records --marks 20000

Writes: marks upserted in transactions of 256 (an ingest chunk), marks/s. Reads, each a
median over repeats of what one search or page view asks of the records: the records of
10 result vectors, the vector ids passing a Nice-class filter held by a third of the
marks, a words lookup, the published count, and one record by id. Ratios are PostgreSQL
over SQLite in the same run. Writes ``records.json`` and ``records.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from scripts.benchmarks import machine
from scripts.benchmarks.results import write_results
from scripts.benchmarks.stats import percentiles_ms
from scripts.postgres_server import create_database, postgres_server
from service.marks.filters import parse_filters
from service.marks.metadata import MarkMetadata
from service.storage.mark_record import NewImage
from service.storage.records import RecordStore

WORDS = ["zenith", "korvex", "boltra", "miralo", "quande", "teplix", "acme", "globex"]


def _items(start: int, count: int, rng: np.random.Generator) -> list[tuple]:
    out = []
    for n in range(start, start + count):
        meta = MarkMetadata(id=f"TM{n:08d}", name=f"Mark {n}", owner=f"Owner {n % 997}",
                            nice_classes=[int(c) for c in rng.choice(45, 2, replace=False) + 1],
                            vienna_codes=[f"{1 + n % 29:02d}.{1 + n % 13:02d}.01"],
                            status=["registered", "filed", None][n % 3])
        text = f"{WORDS[n % 8]} {n % 1000}" if n % 2 == 0 else None
        out.append((meta.id, meta, NewImage(f"h{n}", f"k{n}", "image/png", text=text,
                                            colour=rng.random(24, dtype=np.float32)), None))
    return out


def _timed(action: Callable[[], Any], repeats: int) -> dict[str, float]:
    action()  # warm
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return percentiles_ms(seconds)


def measure(store: RecordStore, marks: int, repeats: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for start in range(0, marks, 256):
        store.upsert(_items(start, min(256, marks - start), rng))
    write_s = time.perf_counter() - started
    ids = store.vector_ids()
    picks = np.random.default_rng(1)
    nine = parse_filters(nice_classes="9,10,11,12,13,14,15,16,17,18,19,20,21,22,23")
    reads = {
        "records of 10 hits": lambda: store.get_by_vector_ids(
            [int(i) for i in picks.choice(ids, 10)]),
        "filter: ids by Nice class": lambda: store.vector_ids_matching(nine, False),
        "words lookup": lambda: store.marks_with_words("zenith"),
        "published count": lambda: store.count(include_unpublished=False),
        "one record by id": lambda: store.get(f"TM{int(picks.integers(marks)):08d}"),
    }
    return {"marks_per_s": marks / write_s, "write_s": write_s,
            "matching_filter": len(store.vector_ids_matching(nine, False)),
            "reads": {name: _timed(read, repeats) for name, read in reads.items()}}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--marks", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tmsearch-records-") as tmp:
        store = RecordStore(Path(tmp) / "records.sqlite3")
        results["SQLite"] = measure(store, args.marks, args.repeats)
        store.close()
        with postgres_server(Path(tmp) / "pg", durable=True) as server:
            store = RecordStore(create_database(server, "bench"))
            results["PostgreSQL"] = measure(store, args.marks, args.repeats)
            store.close()
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine.describe(),
              "marks": args.marks, "repeats": args.repeats, "backends": results}
    write_results(args.out, "records", result, markdown(result))
    return result


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    sqlite, pg = result["backends"]["SQLite"], result["backends"]["PostgreSQL"]
    out = [f"Measured {result['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB "
           f"RAM: {result['marks']:,} marks, reads median of {result['repeats']}.", "",
           "| operation | SQLite | PostgreSQL | PostgreSQL / SQLite |", "|---|---:|---:|---:|",
           f"| upsert, 256 a transaction | {sqlite['marks_per_s']:,.0f} marks/s | "
           f"{pg['marks_per_s']:,.0f} marks/s | {pg['marks_per_s'] / sqlite['marks_per_s']:.2f}x |"]
    for name, s in sqlite["reads"].items():
        p = pg["reads"][name]
        out.append(f"| {name} | {s['p50_ms']:.2f} ms | {p['p50_ms']:.2f} ms | "
                   f"{p['p50_ms'] / s['p50_ms']:.2f}x |")
    out += ["", f"The filter passes {sqlite['matching_filter']:,} vector ids."]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
