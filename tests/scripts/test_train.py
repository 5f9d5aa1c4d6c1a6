"""A real training step on generated images lowers the contrastive loss."""

from __future__ import annotations

import numpy as np
import torch

from models.network import EmbeddingNet, ModelConfig
from scripts.training.contrastive import PairDataset, eval_loss, nt_xent, train_step
from tests.imagegen import make_mark


def test_nt_xent_prefers_matching_pairs() -> None:
    a = torch.nn.functional.normalize(torch.randn(8, 16), dim=1)
    assert nt_xent(a, a) < nt_xent(a, a.roll(1, dims=0))


def test_pair_dataset_gives_two_prepared_views() -> None:
    config = ModelConfig(input_size=64)
    dataset = PairDataset([make_mark(s) for s in range(3)], config, seed=1)
    a, b = dataset[0]
    assert a.shape == b.shape == (1, 64, 64) and a.dtype == torch.uint8
    a2, _ = dataset[0]
    assert torch.equal(a, a2)  # same seed, epoch and index: same views


def test_training_steps_lower_the_loss() -> None:
    torch.manual_seed(0)
    config = ModelConfig(input_size=64)
    net = EmbeddingNet(config)
    dataset = PairDataset([make_mark(s) for s in range(16)], config, seed=0)
    pairs = [dataset[i] for i in range(16)]
    a = torch.stack([p[0] for p in pairs])
    b = torch.stack([p[1] for p in pairs])
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3)
    losses = [train_step(net, optimizer, a, b) for _ in range(12)]
    assert np.isfinite(losses).all()
    assert np.mean(losses[-3:]) < losses[0] - 0.1
    # in eval mode (running BatchNorm statistics) the trained net still separates the pairs
    assert eval_loss(net, a, b) < np.log(2 * 16 - 1)
