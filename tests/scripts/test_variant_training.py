"""Training on design-variant groups: the batches, the mixed step and a resumable run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.checkpoint import load_checkpoint
from models.network import EmbeddingNet, ModelConfig
from scripts import train
from scripts.datasets.variants import HARD_PAIR_WEIGHT
from scripts.training.contrastive import PairDataset, TrainSample, read_manifest, to_input
from scripts.training.supcon import mixed_step
from scripts.training.variant_batches import VariantGroupDataset, collate_groups, groups_of


def test_groups_are_the_designs_drawn_in_several_styles(manifest: Path) -> None:
    groups = groups_of(read_manifest(manifest))
    assert len(groups) == 6
    assert all(sorted(g.styles) == ["", "bold", "outline"] for g in groups)
    assert all(len({s.path for s in g.samples}) == 3 for g in groups)


def test_a_batch_of_groups_has_ids_and_hard_pairs_weighted(manifest: Path) -> None:
    groups = groups_of(read_manifest(manifest))
    dataset = VariantGroupDataset(groups, ModelConfig(input_size=64), per_group=3, seed=1)
    images, ids, weights = collate_groups([dataset[0], dataset[1]])
    assert images.shape == (6, 1, 64, 64) and images.dtype == torch.uint8
    assert ids.tolist() == [0, 0, 0, 1, 1, 1]
    # outline against bold is line against heavy: a hard pair
    styles = dataset[0][1] + dataset[1][1]
    a, b = styles.index("outline"), styles.index("bold")
    assert weights[a, b] == HARD_PAIR_WEIGHT
    assert torch.equal(dataset[0][0], dataset[0][0])  # same seed and epoch: same views


def test_mixed_steps_lower_the_loss(manifest: Path) -> None:
    torch.manual_seed(0)
    config = ModelConfig(input_size=64)
    samples = read_manifest(manifest)
    pairs = PairDataset(samples, config, seed=0)
    a = torch.stack([pairs[i][0] for i in range(8)])
    b = torch.stack([pairs[i][1] for i in range(8)])
    groups = groups_of(samples)
    v, ids, weights = collate_groups(
        [VariantGroupDataset(groups, config, per_group=3)[i] for i in range(len(groups))])
    net = EmbeddingNet(config)
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3)
    losses = [mixed_step(net, optimizer, a, b, v, ids, weights) for _ in range(12)]
    assert np.isfinite(losses).all()
    assert np.mean(losses[-3:]) < losses[0] - 0.1
    # the groups' members were pulled together (with the variants treated as unrelated
    # images, the same steps leave the gap near 0), batch statistics as in training
    with torch.no_grad():
        z = net(to_input(v))
    similar = z @ z.T
    same = (ids[:, None] == ids[None, :]) & ~torch.eye(len(ids), dtype=torch.bool)
    assert float(similar[same].mean() - similar[ids[:, None] != ids[None, :]].mean()) > 0.5


def test_a_run_with_variants_resumes_from_its_checkpoint(manifest: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    out, weights = tmp_path / "run", tmp_path / "w" / "model.pt"
    common = ["--data", str(manifest), "--out", str(out), "--weights", str(weights),
              "--schedule", "smoke", "--batch", "4", "--variants", "3"]
    train.main([*common, "--steps", "2"])
    first = capsys.readouterr().out
    assert "6 design-variant groups (18 icons), 3 a step" in first
    assert (out / "checkpoint.pt").is_file()
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 2
    train.main([*common, "--steps", "4"])  # the same run, carried on
    assert "resumed from" in capsys.readouterr().out
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 4
    loaded = load_checkpoint(weights)
    assert loaded.meta["steps_done"] == 4 and loaded.meta["variant_groups"] == 6
    assert TrainSample("x", "y").set == ""  # rows without set or icon still load


def test_a_run_can_start_from_earlier_weights(manifest: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    first = tmp_path / "first.pt"
    common = ["--data", str(manifest), "--schedule", "smoke", "--batch", "4",
              "--variants", "0"]
    train.main([*common, "--steps", "1", "--out", str(tmp_path / "a"), "--weights",
                str(first)])
    started = load_checkpoint(first).net.state_dict()
    second = tmp_path / "second.pt"
    train.main([*common, "--steps", "1", "--out", str(tmp_path / "b"), "--weights",
                str(second), "--init", str(first), "--lr", "0"])
    assert "starting from" in capsys.readouterr().out
    loaded = load_checkpoint(second)
    assert loaded.meta["init"] == str(first)
    # with a zero learning rate the weights are the ones it started from
    for name, tensor in loaded.net.state_dict().items():
        if tensor.is_floating_point() and "running" not in name:
            assert torch.allclose(tensor, started[name], atol=1e-6), name
