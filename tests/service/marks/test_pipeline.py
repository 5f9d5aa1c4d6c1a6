"""The ingest reader: a lazy walk of the folder, whatever its size."""

from __future__ import annotations

import os
from pathlib import Path

from service.marks.pipeline import count_image_files, iter_image_files


def _touch_many(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        fd = os.open(folder / f"mark-{i:06d}.png", os.O_CREAT | os.O_WRONLY, 0o644)
        os.close(fd)


def test_walk_finds_images_in_subfolders_and_skips_other_files(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/one.png", "a/b/two.JPG", "a/b/three.svg", "four.webp", "notes.txt", "x.csv"):
        (tmp_path / name).write_bytes(b"")
    found = {p.relative_to(tmp_path).as_posix() for p in iter_image_files(tmp_path)}
    assert found == {"a/one.png", "a/b/two.JPG", "a/b/three.svg", "four.webp"}
    assert count_image_files(tmp_path) == 4


# Measured in a fresh interpreter: tracemalloc counts every thread's allocations, and
# threads other tests leave behind (a browser driver, a cluster client) would be counted.
_MEASURE_WALK = """
import json, os, sys, tracemalloc
from pathlib import Path
from service.marks.pipeline import iter_image_files
root = Path(sys.argv[1])
next(iter_image_files(root))  # what the first call imports is not the walk's
# Python 3.11's pathlib interns every name it parses, growing the interpreter's table
# of interned strings by about 30 bytes a name: hold the names interned beforehand so
# what is measured is what the walker itself keeps
names = [sys.intern(entry.name) for entry in os.scandir(root / "big")]
tracemalloc.start()
walk = iter_image_files(root)
first = next(walk)
after_first = tracemalloc.get_traced_memory()[1]
seen = 1 + sum(1 for _ in walk)
walk_peak = tracemalloc.get_traced_memory()[1]
tracemalloc.reset_peak()
listed = sorted(os.scandir(root / "big"), key=lambda e: e.name)
listing_peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"suffix": first.suffix, "seen": seen, "after_first": after_first,
                  "walk_peak": walk_peak, "listing_peak": listing_peak}))
"""


def test_walk_of_a_huge_folder_streams_in_constant_memory(tmp_path: Path) -> None:
    """60,000 files in one directory: listing them (as a sorted walk must) would hold
    every entry at once; the walk holds one at a time, so its peak allocation stays
    far below the listing's and does not depend on how far it has gone."""
    import json
    import subprocess
    import sys

    _touch_many(tmp_path / "big", 60_000)
    done = subprocess.run([sys.executable, "-c", _MEASURE_WALK, str(tmp_path)],
                          capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[3], check=True)
    measured = json.loads(done.stdout)
    first_suffix, seen = measured["suffix"], measured["seen"]
    after_first, walk_peak = measured["after_first"], measured["walk_peak"]
    listing_peak = measured["listing_peak"]
    assert first_suffix == ".png" and seen == 60_000
    assert walk_peak < 1_000_000  # bytes: a few entries and one path at a time
    assert walk_peak < after_first + 200_000  # no growth with the files walked
    assert listing_peak > 10 * walk_peak


def test_preparing_tells_its_progress_every_few_files(tmp_path: Path) -> None:
    """The ingest bar's steps: a count each WORKER_BATCH files, inline and in workers,
    adding up to the files (a chunk of 256 made the bar jump 0 -> all before)."""
    from service.marks.images import ImageLimits
    from service.marks.pipeline import WORKER_BATCH, PrepareSpec, map_in_chunks, worker_pool
    from tests.imagegen import write_marks

    paths = write_marks(tmp_path, range(40))
    spec = PrepareSpec(input_size=64, input_mode="ink", limits=ImageLimits(), thumbnail_size=32)
    chunk = [(str(p), None, spec) for p in paths]
    for executor in (None, worker_pool(2)):
        steps: list[int] = []
        try:
            outcomes = [o for part in map_in_chunks([chunk], executor, steps.append)
                        for o in part]
        finally:
            if executor is not None:
                executor.shutdown()
        assert len(outcomes) == 40 and all(o.error is None for o in outcomes)
        assert sum(steps) == 40 and max(steps) <= WORKER_BATCH and len(steps) >= 3
