"""Reference methods the model is measured against, on the same gallery and queries.

- pHash (imagehash): the perceptual hash examiners' tools often use; similarity is
  minus the Hamming distance.
- raw pixels: the canonical square (same crop as the model sees) at 32x32 grey,
  mean-centred, cosine similarity.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from models.preprocess import canonical_square


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
