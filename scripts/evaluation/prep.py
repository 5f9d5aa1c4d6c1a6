"""Image preparation in a process pool: loading, transforming, PNG encoding, pHash and
raw pixels. Torch is never needed here, so spawned workers start light; the parent
embeds and searches while the workers prepare the next chunk.
"""

from __future__ import annotations

import io
import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import numpy as np
from PIL import Image

from scripts.evaluation.baselines import phash_bits, pixel_vector
from scripts.evaluation.cases import all_transformations
from scripts.evaluation.images import load_rgb

PER_TASK = 16  # images a worker prepares per task: few round trips, chunks stay balanced


def make_pool(workers: int) -> ProcessPoolExecutor | None:
    """Spawned workers (the parent holds torch's threads; fork would copy them), or
    None to prepare inline (tests)."""
    if workers <= 0:
        return None
    return ProcessPoolExecutor(workers, mp_context=get_context("spawn"))


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def decode_png(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB")


def gallery_image(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A gallery image as the service reads it (RGB array), its pHash bits and pixels."""
    image = load_rgb(path)
    return np.asarray(image), phash_bits(image), pixel_vector(image)


def transformed_image(task: tuple[str, str, int]) -> tuple[bytes, np.ndarray, np.ndarray]:
    """``(path, transformation, seed)`` -> the transformed copy as PNG bytes (what a
    user uploads), its pHash bits and pixels."""
    path, name, seed = task
    image = all_transformations()[name](load_rgb(path), random.Random(seed)).convert("RGB")
    return png_bytes(image), phash_bits(image), pixel_vector(image)


def _apply_all(fn: Callable[[Any], Any], tasks: list[Any]) -> list[Any]:
    return [fn(task) for task in tasks]


def map_ahead(pool: ProcessPoolExecutor | None, fn: Callable[[Any], Any],
              chunks: Iterable[list[Any]]) -> Iterator[list[Any]]:
    """``fn`` over each chunk, in order, one chunk a yield; the next chunk is prepared in
    the pool while the caller works on this one (memory holds two chunks, not all)."""
    if pool is None:
        for chunk in chunks:
            yield _apply_all(fn, chunk)
        return
    pending: deque[list[Future[list[Any]]]] = deque()
    for chunk in chunks:
        pending.append([pool.submit(_apply_all, fn, chunk[i:i + PER_TASK])
                        for i in range(0, len(chunk), PER_TASK)])
        if len(pending) >= 2:
            yield [out for future in pending.popleft() for out in future.result()]
    while pending:
        yield [out for future in pending.popleft() for out in future.result()]
