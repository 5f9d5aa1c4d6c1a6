"""The embedder: shipped weights, unit vectors, determinism, batching, devices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models.checkpoint import DEFAULT_WEIGHTS, CheckpointError, load_checkpoint, save_checkpoint
from models.embedder import Embedder, resolve_device
from models.network import EmbeddingNet, ModelConfig
from tests.imagegen import make_mark


def test_shipped_weights_load_with_version(embedder: Embedder) -> None:
    assert DEFAULT_WEIGHTS.is_file()
    assert DEFAULT_WEIGHTS.stat().st_size < 25 * 1024 * 1024
    assert "@" in embedder.version
    assert embedder.dim == 580  # 256-d embedding + 6 x 6 x 9 orientations (models/signals.py)


def test_embeddings_are_unit_580d_and_deterministic(embedder: Embedder) -> None:
    images = [make_mark(s) for s in range(5)]
    a = embedder.embed_images(images)
    b = embedder.embed_images(images)
    assert a.shape == (5, 580) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.allclose(a, b, atol=1e-6)


def test_batch_equals_single(embedder: Embedder) -> None:
    images = [make_mark(s) for s in range(40)]  # more than one batch of 32
    batch = embedder.embed_images(images)
    single = np.concatenate([embedder.embed_images([im]) for im in images[:3]])
    assert np.allclose(batch[:3], single, atol=1e-5)


def test_distinct_marks_get_distinct_vectors(embedder: Embedder) -> None:
    vectors = embedder.embed_images([make_mark(s) for s in range(20)])
    sims = vectors @ vectors.T
    off_diagonal = sims[~np.eye(20, dtype=bool)]
    assert off_diagonal.max() < 0.999


def test_moved_copy_on_a_larger_canvas_gets_the_same_vector(embedder: Embedder) -> None:
    mark = make_mark(3)
    canvas = Image.new("RGB", (400, 260), "white")
    canvas.paste(mark, (250, 20))
    a, b = embedder.embed_images([mark, canvas])
    assert float(a @ b) > 0.99


def test_checkpoint_round_trip_keeps_version(tmp_path: Path) -> None:
    torch.manual_seed(1)
    net = EmbeddingNet(ModelConfig(dim=32, input_size=64)).eval()
    path = tmp_path / "w.pt"
    version = save_checkpoint(net, path, name="t")
    loaded = load_checkpoint(path)
    assert loaded.version == version and loaded.config.dim == 32
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        assert torch.allclose(net.half().float()(x), loaded.net(x), atol=1e-3)


def test_missing_or_foreign_weights_rejected(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    torch.save({"hello": 1}, bad)
    with pytest.raises(CheckpointError, match="not a"):
        load_checkpoint(bad)


def test_device_resolution() -> None:
    assert resolve_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA"):
            resolve_device("cuda")


def test_shipped_weights_reproduce_the_recorded_reference_embedding(embedder: Embedder) -> None:
    from models.reference import load_reference, reference_image

    version, recorded = load_reference()
    assert version == embedder.version
    vector = embedder.embed_images([reference_image()])[0]
    assert float(vector @ recorded) > 0.9999
    assert np.abs(vector - recorded).max() < 2e-3
