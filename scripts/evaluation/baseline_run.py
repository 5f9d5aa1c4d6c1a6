"""The reference methods on the evaluation gallery: each gallery image's vectors (cached
beside the register, as embedding 23,000 images takes minutes on a CPU) and full
rankings of the gallery with numpy, as the evaluation has always computed them.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from models.embedder import Embedder
from scripts.evaluation.baselines import METHODS, BaselineVectors, baseline_vectors
from scripts.evaluation.data import Item
from scripts.evaluation.metrics import QueryScores, score_query
from scripts.evaluation.prep import gallery_image, map_ahead

CHUNK = 1024  # gallery images per embedding round (bounded memory)
# bump when baselines.py's pHash or pixel vectors change: the cache is keyed on it
BASELINE_FORMAT = "phash64+pixels32+cnn-v2"  # cnn: the embedding alone


def fingerprint(items: Sequence[Item], embedder: Embedder) -> str:
    """What the gallery's vectors depend on: the model, the images (by id, size and
    modification time) and the baselines' format."""
    digest = hashlib.sha1(f"{embedder.version}|{BASELINE_FORMAT}".encode())
    for item in items:
        st = os.stat(item.path)
        digest.update(f"|{item.mark_id}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()


def gallery_baselines(items: Sequence[Item], embedder: Embedder,
                      pool: ProcessPoolExecutor | None, cache: Path | None = None
                      ) -> BaselineVectors:
    """Every gallery image's baseline vectors, from ``cache`` when it was made for the
    same model and images, else computed (and written there)."""
    key = fingerprint(items, embedder)
    if cache is not None and cache.is_file():
        with np.load(cache) as stored:
            if str(stored["fingerprint"]) == key:
                print(f"baseline vectors of the gallery from {cache}", flush=True)
                return BaselineVectors(stored["model"], stored["phash"], stored["pixels"])
    started = time.time()
    paths = [item.path for item in items]
    chunks = [paths[i:i + CHUNK] for i in range(0, len(paths), CHUNK)]
    parts = []
    for done, prepared in enumerate(map_ahead(pool, gallery_image, chunks), start=1):
        images = [Image.fromarray(rgb) for rgb, _, _ in prepared]
        parts.append(baseline_vectors(embedder, images, [p for _, p, _ in prepared],
                                      [v for _, _, v in prepared]))
        print(f"baselines: {min(done * CHUNK, len(paths))}/{len(paths)} gallery images "
              f"({time.time() - started:.0f} s)", flush=True)
    vectors = BaselineVectors.concat(parts, embedder.dim)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.name + ".tmp.npz")
        np.savez(tmp, fingerprint=np.array(key), model=vectors.model, phash=vectors.phash,
                 pixels=vectors.pixels)
        tmp.replace(cache)
    return vectors


def rank_baselines(queries: BaselineVectors, gallery: BaselineVectors,
                   relevant: Sequence[set[int]], exclude: Sequence[Sequence[int]] = (),
                   block: int = 512) -> dict[str, list[QueryScores]]:
    """Each method's scores per query, ranking the whole gallery (``exclude``: gallery
    rows left out of a query's ranking, e.g. the query itself)."""
    scores: dict[str, list[QueryScores]] = {m: [] for m in METHODS}
    for start in range(0, len(queries), block):
        rows = list(range(start, min(start + block, len(queries))))
        chunk = queries.subset(rows)
        for method in METHODS:
            sims = chunk.similarities(gallery, method)
            for row, q in zip(sims, rows, strict=True):
                scores[method].append(
                    score_query(row, relevant[q], exclude=exclude[q] if exclude else ()))
    return scores
