"""The service's matching, applied to evaluation images without a register.

A search in the service compares every view of the query (the whole image and its
figure components, optionally in 8 rotations/reflections) with every vector of a mark
(the whole mark and its figure components) and keeps the best pair, after the margin and
local scaling of service/matching.py; the search mode then mixes in colour
(service/colour.py). These functions do the same on arrays, so the evaluation measures
what an examiner gets, not only the bare embedding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from models.preprocess import prepare
from service.colour import COLOUR_WEIGHT, SearchMode, colour_signature
from service.components import split_components
from service.matching import COMPONENT_MARGIN, CROWDING_K
from service.pipeline import searchable
from service.query import dihedral_views


@dataclass
class Parts:
    """Network inputs of one image as the service sees it."""

    inputs: list[np.ndarray]  # whole image first, then each figure component
    colour: np.ndarray
    turned: list[np.ndarray] | None = None  # 8 rotations/reflections of each input


def image_parts(image: Image.Image, size: int, mode: str, rotations: bool = False) -> Parts:
    pictures = [image] + [c.crop(image) for c in searchable(split_components(image))]
    turned = None
    if rotations:
        turned = [prepare(v, size, mode) for p in pictures for v in dihedral_views(p)]
    return Parts([prepare(p, size, mode) for p in pictures], colour_signature(image), turned)


@dataclass
class Vectors:
    """Several vectors per image, grouped: ``owner[i]`` is the image of ``vectors[i]``
    (non-decreasing), ``starts`` the first row of each image."""

    vectors: np.ndarray
    owner: np.ndarray
    whole_views: int = 1  # the first vectors of each image are views of the whole image

    @property
    def starts(self) -> np.ndarray:
        return np.flatnonzero(np.r_[True, self.owner[1:] != self.owner[:-1]])

    @property
    def count(self) -> int:
        return int(self.owner[-1]) + 1 if len(self.owner) else 0

    @classmethod
    def embed(cls, groups: list[list[np.ndarray]], embed_fn, whole_views: int = 1  # noqa: ANN001
              ) -> Vectors:
        flat = [x for group in groups for x in group]
        owner = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
        return cls(embed_fn(flat), owner, whole_views)

    def subset(self, images: list[int]) -> Vectors:
        """The vectors of some images, renumbered 0..len(images)-1 in the given order."""
        rows, owner = [], []
        starts = self.starts
        ends = np.r_[starts[1:], len(self.owner)]
        for new, image in enumerate(images):
            rows.extend(range(starts[image], ends[image]))
            owner.extend([new] * (ends[image] - starts[image]))
        return Vectors(self.vectors[rows], np.array(owner, dtype=np.int64), self.whole_views)


def best_pair_scores(queries: Vectors, gallery: Vectors, chunk: int = 2048) -> np.ndarray:
    """(query images) x (gallery images): the best score over all pairs of their vectors,
    with the service's component margin and local scaling of query parts
    (service/matching.py)."""
    g_starts = gallery.starts
    q_starts = queries.starts
    margin = np.full(len(gallery.owner), COMPONENT_MARGIN, dtype=np.float32)
    margin[g_starts] = 0.0  # whole-mark vectors
    out = np.empty((queries.count, gallery.count), dtype=np.float32)
    # chunk on whole query images so a reduce never spans two chunks
    boundaries = list(q_starts[::max(1, chunk // 8)]) + [len(queries.owner)]
    for lo, hi in zip(boundaries[:-1], boundaries[1:], strict=True):
        sims = queries.vectors[lo:hi] @ gallery.vectors.T - margin[None, :]
        k = min(CROWDING_K, sims.shape[1])
        crowd = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:].mean(axis=1)
        local = queries.owner[lo:hi]
        first = np.flatnonzero(np.r_[True, local[1:] != local[:-1]])
        image_of_row = np.searchsorted(local[first], local)
        is_whole = np.arange(len(local)) - first[image_of_row] < queries.whole_views
        whole = np.maximum.reduceat(np.where(is_whole, crowd, -np.inf), first)[image_of_row]
        sims -= np.where(is_whole, 0.0, np.maximum(0.0, crowd - whole))[:, None]
        per_item = np.maximum.reduceat(sims, g_starts, axis=1)
        out[local[first]] = np.maximum.reduceat(per_item, first, axis=0)
    return out


def mode_scores(shape: np.ndarray, q_colour: np.ndarray, g_colour: np.ndarray,
                mode: SearchMode) -> np.ndarray:
    """The service's score in ``mode`` from shape scores and colour signatures."""
    weight = COLOUR_WEIGHT[mode]
    if weight == 0.0:
        return shape
    return (1.0 - weight) * shape + weight * (q_colour @ g_colour.T)
