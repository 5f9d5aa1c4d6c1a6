"""Reference methods the model is measured against, on the same gallery and queries.

- pHash (imagehash): the perceptual hash examiners' tools often use; similarity is
  minus the Hamming distance.
- raw pixels: the canonical square (same crop as the model sees) at 32x32 grey,
  mean-centred, cosine similarity;
- model: the bare embedding of the whole image (no figure components, no colour, no
  words): what the service adds on top of the network shows against it.

Each is a full ranking of the gallery with numpy, so NAR is known for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from models.preprocess import canonical_square

if TYPE_CHECKING:  # the pool's workers import this module; torch stays in the parent
    from models.embedder import Embedder


def phash_bits(image: Image.Image) -> np.ndarray:
    import imagehash

    return np.asarray(imagehash.phash(image).hash, dtype=bool).reshape(-1)


def phash_similarity(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """(Q, 64) and (G, 64) bool -> (Q, G) minus Hamming distance."""
    q = queries.astype(np.float32)
    g = gallery.astype(np.float32)
    agree = q @ g.T + (1 - q) @ (1 - g).T
    return agree - queries.shape[1]


def pixel_vector(image: Image.Image, side: int = 32) -> np.ndarray:
    square, _ = canonical_square(image)
    grey = Image.fromarray(square).convert("L").resize((side, side), Image.Resampling.BOX)
    v = np.asarray(grey, dtype=np.float32).reshape(-1)
    v = v - v.mean()
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else v


METHODS = ("model", "phash", "pixels")


@dataclass
class BaselineVectors:
    """Each reference method's representation of a list of images: the bare whole-image
    embedding (unit rows, so a dot product is the cosine whatever the embedder's layout),
    pHash bits and raw-pixel vectors."""

    model: np.ndarray
    phash: np.ndarray
    pixels: np.ndarray

    def __len__(self) -> int:
        return len(self.model)

    def subset(self, rows: Sequence[int]) -> BaselineVectors:
        rows = list(rows)
        return BaselineVectors(self.model[rows], self.phash[rows], self.pixels[rows])

    @classmethod
    def concat(cls, parts: Sequence[BaselineVectors], dim: int) -> BaselineVectors:
        if not parts:
            return cls(np.empty((0, dim), np.float32), np.empty((0, 64), bool),
                       np.empty((0, 32 * 32), np.float32))
        return cls(np.concatenate([p.model for p in parts]),
                   np.concatenate([p.phash for p in parts]),
                   np.concatenate([p.pixels for p in parts]))

    def similarities(self, gallery: BaselineVectors, method: str) -> np.ndarray:
        """(self) x (gallery) similarity for one method; higher is closer."""
        if method == "model":
            return self.model @ gallery.model.T
        if method == "phash":
            return phash_similarity(self.phash, gallery.phash)
        if method == "pixels":
            return self.pixels @ gallery.pixels.T
        raise ValueError(f"unknown baseline {method!r}")


def unit_embeddings(embedder: Embedder, images: Sequence[Image.Image]) -> np.ndarray:
    """The CNN embedding alone (``Embedder.embed_network``, not the stored vector with
    the orientation descriptor beside it), rows of unit length (cosine by dot product):
    what the network contributes, as a baseline for the service's search."""
    if not images:
        return np.empty((0, embedder.config.dim), np.float32)
    prepared = np.stack([embedder.prepare(image) for image in images])
    vectors = np.asarray(embedder.embed_network(prepared), dtype=np.float32)
    if vectors.ndim != 2:
        vectors = vectors.reshape(len(images), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def baseline_vectors(embedder: Embedder, images: Sequence[Image.Image],
                     phash: Sequence[np.ndarray], pixels: Sequence[np.ndarray]
                     ) -> BaselineVectors:
    """The methods' vectors of images whose pHash and pixels were computed in workers."""
    return BaselineVectors(unit_embeddings(embedder, images),
                           np.stack(phash) if len(phash) else np.empty((0, 64), bool),
                           np.stack(pixels) if len(pixels) else np.empty((0, 1024),
                                                                        np.float32))
