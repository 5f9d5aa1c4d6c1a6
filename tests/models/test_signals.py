"""The stored vector's layout: two signals in one unit vector, each searchable alone."""

from __future__ import annotations

import numpy as np
import pytest

from models.embedder import Embedder
from models.signals import EMBEDDING, ORIENTATION, VectorLayout
from tests.imagegen import make_mark


def test_shipped_model_stores_embedding_and_orientation(embedder: Embedder) -> None:
    layout = embedder.layout
    assert [s.name for s in layout.signals] == [EMBEDDING, ORIENTATION]
    assert layout.dim == embedder.dim == embedder.config.dim + embedder.config.hog_dim
    assert sum(s.share for s in layout.signals) == pytest.approx(1.0)


def test_each_signal_query_scores_its_own_cosine(embedder: Embedder) -> None:
    images = [make_mark(seed) for seed in (1, 2)]
    prepared = np.stack([embedder.prepare(im) for im in images])
    stored = embedder.embed_prepared(prepared)
    assert np.linalg.norm(stored, axis=1) == pytest.approx([1.0, 1.0], abs=1e-4)
    network = embedder.embed_network(prepared)
    for signal in embedder.layout.signals:
        queries = signal.query(stored)
        evidence = signal.evidence(queries[0] @ stored.T)
        # an identical image: the signal's weight (1 for the descriptor)
        assert evidence[0] == pytest.approx(signal.weight, abs=1e-4)
        if signal.name == EMBEDDING:
            cosine = float(network[0] @ network[1])
            expected = signal.weight * (cosine - signal.centre) / (1.0 - signal.centre)
            assert evidence[1] == pytest.approx(expected, abs=1e-4)


def test_a_model_without_a_contour_stores_the_embedding_alone(embedder: Embedder) -> None:
    from dataclasses import replace

    plain = VectorLayout.of(replace(embedder.config, hog_cells=0))
    vectors = np.eye(3, plain.dim, dtype=np.float32)
    assert plain.orientation is None and plain.stored(vectors, []) is vectors
    assert plain.turned_queries(np.zeros((2, 8, 8), np.uint8)).shape == (0, plain.dim)
