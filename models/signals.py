"""The layout of a stored vector: which signals it holds and how their scores compare.

A stored vector is ``[sqrt(1 - w) * embedding, sqrt(w) * orientation]`` (unit length),
``w`` being ``ModelConfig.hog_share`` and the orientation descriptor that of
models/descriptor.py. One index holds both signals, yet each can be searched alone: a
query vector that is one signal's part (unit length, zero elsewhere) scores
``sqrt(share) * cosine`` against every stored vector. A search therefore sends one query
row per signal and turns each row's scores into *evidence* on a common scale,

    evidence = weight * (cosine - centre) / (1 - centre)

0 at the level of a typical query's 100 best matches (the centre: that signal's mean
for non-brand icons, kept in the weights file) and ``weight`` (1 for the descriptor) for
an identical image. A mark's evidence is the best over signals: the embedding finds
rotated, skewed and rescanned copies, the descriptor redrawn, outlined and thickened
ones, and neither drags the other down (on the even-hash evaluation the maximum beat
any weighted sum). The embedding's weight (0.7) is where that evaluation put it: its
evidence is less telling than the descriptor's on redrawn marks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.descriptor import orientation_histogram, turned_descriptors
from models.network import ModelConfig

EMBEDDING, ORIENTATION = "embedding", "orientation"


@dataclass(frozen=True)
class Signal:
    """One signal's slice of the stored vector and its evidence scale."""

    name: str
    start: int
    stop: int
    share: float  # of the stored vector's squared norm
    centre: float  # the cosine of evidence 0
    weight: float = 1.0  # the evidence of an identical image

    def query(self, stored: np.ndarray) -> np.ndarray:
        """(N, D) stored-form vectors -> this signal's query rows (unit on its slice)."""
        out = np.zeros_like(stored)
        part = stored[:, self.start:self.stop]
        norms = np.linalg.norm(part, axis=1, keepdims=True)
        out[:, self.start:self.stop] = part / np.maximum(norms, 1e-12)
        return out

    def query_from_part(self, parts: np.ndarray, dim: int) -> np.ndarray:
        """(N, stop - start) unit parts (e.g. turned descriptors) -> query rows."""
        out = np.zeros((len(parts), dim), np.float32)
        out[:, self.start:self.stop] = parts
        return out

    def evidence(self, scores: np.ndarray) -> np.ndarray:
        """Inner products of this signal's query rows -> evidence."""
        cosine = np.asarray(scores, np.float64) / np.sqrt(self.share)
        return self.weight * (cosine - self.centre) / max(1.0 - self.centre, 1e-3)


@dataclass(frozen=True)
class VectorLayout:
    """The signals of a model's stored vectors, in order."""

    signals: tuple[Signal, ...]
    dim: int
    hog_cells: int

    @classmethod
    def of(cls, config: ModelConfig) -> VectorLayout:
        if config.hog_cells <= 0:  # the embedding alone
            return cls((Signal(EMBEDDING, 0, config.dim, 1.0, config.embed_centre,
                               config.embed_weight),), config.dim, 0)
        share = config.hog_share
        signals = (
            Signal(EMBEDDING, 0, config.dim, 1.0 - share, config.embed_centre,
                   config.embed_weight),
            Signal(ORIENTATION, config.dim, config.vector_dim, share, config.hog_centre),
        )
        return cls(signals, config.vector_dim, config.hog_cells)

    @property
    def orientation(self) -> Signal | None:
        return next((s for s in self.signals if s.name == ORIENTATION), None)

    def stored(self, embeddings: np.ndarray, prepared: np.ndarray | list[np.ndarray]
               ) -> np.ndarray:
        """Stored vectors from CNN embeddings and the prepared inputs they came from."""
        orientation = self.orientation
        if orientation is None:
            return embeddings
        described = np.stack([orientation_histogram(x, self.hog_cells) for x in prepared])
        out = np.empty((len(embeddings), self.dim), np.float32)
        out[:, : orientation.start] = embeddings * np.sqrt(1.0 - orientation.share)
        out[:, orientation.start:] = described * np.sqrt(orientation.share)
        return out

    def turned_queries(self, prepared: np.ndarray, cut: str = "") -> np.ndarray:
        """Descriptor query rows of a prepared query's turns (rotations, mirrors, small
        rotations, and the wholes a query cut off at the sides ``cut`` may come from;
        models/descriptor.py): no network pass. Empty without a descriptor."""
        orientation = self.orientation
        if orientation is None:
            return np.zeros((0, self.dim), np.float32)
        turned = np.stack(turned_descriptors(prepared, self.hog_cells, cut))
        return orientation.query_from_part(turned, self.dim)
