"""Contrastive training pieces: paired views, the NT-Xent loss and one optimisation step.

Kept apart from the command-line script so the tests can run a real training step on
generated images.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from models.network import EmbeddingNet, ModelConfig
from models.preprocess import prepare
from scripts.datasets.manifest import iter_manifest
from scripts.evaluation.images import load_rgb
from scripts.training.augment import random_view


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Symmetric InfoNCE over a batch of positive pairs (a[i], b[i]); unit vectors in."""
    n = a.shape[0]
    z = torch.cat([a, b], dim=0)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(a.device)
    return F.cross_entropy(logits, targets)


@dataclass
class TrainSample:
    path: str
    source: str
    set: str = ""  # the icon set (variant groups never cross sets)
    icon: str = ""  # the icon's name in its set (its design and style)


def read_manifest(path: Path, exclude_sets: Callable[[dict], bool] | None = None
                  ) -> list[TrainSample]:
    """Training images listed in a data manifest (see scripts/fetch_training_data.py)."""
    return [sample_of(row, image) for row, image in iter_manifest(path)
            if exclude_sets is None or not exclude_sets(row)]


def sample_of(row: dict, image: str) -> TrainSample:
    """A manifest row (and its image's path) as a training sample."""
    return TrainSample(image, row.get("source", ""), row.get("set", ""), row.get("icon", ""))


class PairDataset(Dataset):
    """Two independently transformed views of each image, prepared for the network."""

    def __init__(self, images: Sequence[TrainSample] | Sequence[Image.Image],
                 config: ModelConfig, seed: int = 0) -> None:
        self.images = images
        self.config = config
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.images)

    def load(self, index: int) -> Image.Image:
        item = self.images[index]
        if isinstance(item, Image.Image):
            return item.convert("RGB")
        return load_rgb(item.path)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = random.Random(hash((self.seed, self.epoch, index)))
        image = self.load(index)
        views = []
        for _ in range(2):
            view = random_view(image, rng)
            views.append(torch.from_numpy(
                prepare(view, self.config.input_size, self.config.input_mode)))
        return views[0], views[1]


def to_input(batch: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, S, S) -> float in [-1, 1], exactly as the embedder does."""
    return batch.float().div(127.5).sub(1.0)


def train_step(net: EmbeddingNet, optimizer: torch.optim.Optimizer, a: torch.Tensor,
               b: torch.Tensor, temperature: float = 0.1) -> float:
    net.train()
    optimizer.zero_grad(set_to_none=True)
    loss = nt_xent(net(to_input(a)), net(to_input(b)), temperature)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
    optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def eval_loss(net: EmbeddingNet, a: torch.Tensor, b: torch.Tensor,
              temperature: float = 0.1) -> float:
    net.eval()
    return float(nt_xent(net(to_input(a)), net(to_input(b)), temperature))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
