"""Where the time goes: per ingested mark and per query, stage by stage, on one core.

    python -m scripts.profile_pipeline FOLDER [--limit 300]

Each stage of ``service.marks.pipeline.prepare_bytes`` (read, hash, decode, components,
thumbnail, colour, network inputs, OCR) and of the query path is timed on the same files
in one process, so the shares are comparable; the embedding is timed in batches as the
register runs it. The README's profiling notes are copied from this script's output.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from models.embedder import Embedder
from models.preprocess import canonical_square, prepare, prepare_square
from service.marks.colour import square_colour_signature
from service.marks.components import split_components
from service.marks.images import ImageLimits, content_hash, decode_image, make_thumbnail
from service.marks.ocr import TextReader
from service.marks.pipeline import iter_image_files, searchable


class StageClock:
    """Accumulates seconds per stage name over many files."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = defaultdict(list)

    def time(self, stage: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        value = fn()
        self.seconds[stage].append(time.perf_counter() - start)
        return value

    def table(self, per: int, title: str) -> str:
        total = sum(sum(v) for v in self.seconds.values())
        lines = [f"| {title} | ms per item | share |", "|---|---:|---:|"]
        for stage, values in self.seconds.items():
            lines.append(f"| {stage} | {1000 * sum(values) / per:.2f} | "
                         f"{100 * sum(values) / total:.0f} % |")
        lines.append(f"| **total** | **{1000 * total / per:.2f}** | 100 % |")
        return "\n".join(lines)


def profile_ingest(files: list[Path], embedder: Embedder, reader: TextReader) -> str:
    clock = StageClock()
    limits = ImageLimits()
    size, mode = embedder.config.input_size, embedder.config.input_mode
    inputs: list[np.ndarray] = []
    for path in files:
        data = clock.time("read file", path.read_bytes)
        clock.time("hash", lambda d=data: content_hash(d))
        decoded = clock.time("decode", lambda d=data: decode_image(d, limits))
        image = decoded.image
        parts = clock.time("components", lambda im=image: split_components(im))
        clock.time("thumbnail", lambda im=image: make_thumbnail(im, 160))
        square, ground = clock.time("canonical square", lambda im=image: canonical_square(im))
        clock.time("colour", lambda sq=square: square_colour_signature(sq))
        inputs.append(clock.time("network input", lambda sq=square, g=ground: prepare_square(
            sq, g, size, mode)))
        figures = searchable(parts)
        inputs += clock.time("network input", lambda im=image, f=figures: [
            prepare(c.crop(im), size, mode) for c in f])
        clock.time("OCR", lambda im=image, p=parts: reader.read_mark(im, p))
    batch = np.stack(inputs)
    clock.time("embed (batched)", lambda: embedder.embed_prepared(batch))
    vectors = len(inputs) / len(files)
    return clock.table(len(files), f"ingest stage ({len(files)} marks, {vectors:.2f} vectors/mark)")


def profile_query(files: list[Path], embedder: Embedder, reader: TextReader) -> str:
    clock = StageClock()
    limits = ImageLimits()
    size, mode = embedder.config.input_size, embedder.config.input_mode
    for path in files:
        data = path.read_bytes()
        image = clock.time("decode", lambda d=data: decode_image(d, limits).image)
        parts = clock.time("components", lambda im=image: split_components(im))
        square, ground = clock.time("canonical square", lambda im=image: canonical_square(im))
        views = clock.time("network input", lambda im=image, p=parts, sq=square, g=ground: [
            prepare_square(sq, g, size, mode)] + [prepare(c.crop(im), size, mode)
                                                  for c in searchable(p)])
        clock.time("colour", lambda sq=square: square_colour_signature(sq))
        clock.time("embed", lambda v=views: embedder.embed_prepared(v))
        clock.time("OCR", lambda im=image, p=parts: reader.read_query(im, p))
    return clock.table(len(files), f"query stage ({len(files)} queries, before the index)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    files = []
    for path in iter_image_files(args.folder):
        files.append(path)
        if len(files) >= args.limit:
            break
    embedder = Embedder(device="cpu")
    reader = TextReader()
    reader._get_engine()  # load the OCR models before the clock starts
    embedder.embed_prepared(np.zeros((2, embedder.config.in_channels, embedder.config.input_size,
                                      embedder.config.input_size), np.uint8))
    print(profile_ingest(files, embedder, reader))
    print()
    print(profile_query(files[: max(1, len(files) // 3)], embedder, reader))
    median_size = statistics.median(p.stat().st_size for p in files)
    print(f"\n(one thread; median file size {median_size:,.0f} bytes)")


if __name__ == "__main__":
    main()
