"""Batches of design-variant groups for the multi-positive loss.

A design drawn by one set in several styles (scripts/datasets/variants.py) is a group of
positives: the line drawing and the silhouette of one icon, its thin and bold cuts. Each
item of :class:`VariantGroupDataset` is one such group, a few of its members drawn at
random, each through its own random view (scripts/training/augment.py), so the network learns to
see through the redraw and through the copying at once. :func:`collate_groups` stacks
the groups of a batch with their group ids and pair weights (hard pairs, line against
filled or thin against bold, weigh more).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from models.network import ModelConfig
from models.preprocess import prepare
from scripts.datasets.variants import pair_weight, variant_groups
from scripts.evaluation.images import load_rgb
from scripts.training.augment import random_view
from scripts.training.contrastive import TrainSample


@dataclass(frozen=True)
class VariantGroup:
    """One design's members: their samples and styles, same order."""

    samples: tuple[TrainSample, ...]
    styles: tuple[str, ...]


def groups_of(samples: Sequence[TrainSample], min_size: int = 2) -> list[VariantGroup]:
    """The design-variant groups among ``samples`` (icons of one set whose names differ
    by a style affix), in a stable order; synthetic marks have no variants."""
    by_key = {(s.set, s.icon): s for s in samples if s.source != "synthetic" and s.icon}
    found = variant_groups(by_key, min_size)
    return [VariantGroup(tuple(by_key[(key[0], name)] for name, _ in members),
                         tuple(style for _, style in members))
            for key, members in sorted(found.items())]


class VariantGroupDataset(Dataset):
    """Item ``i``: ``per_group`` members of group ``i`` (all of them when it has fewer),
    each as a random view prepared for the network, and their styles."""

    def __init__(self, groups: Sequence[VariantGroup], config: ModelConfig,
                 per_group: int = 2, seed: int = 0) -> None:
        self.groups = groups
        self.config = config
        self.per_group = per_group
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, tuple[str, ...]]:
        rng = random.Random(hash((self.seed, self.epoch, index, "variants")))
        group = self.groups[index]
        picks = rng.sample(range(len(group.samples)), min(self.per_group, len(group.samples)))
        views = [prepare(random_view(load_rgb(group.samples[n].path), rng),
                         self.config.input_size, self.config.input_mode) for n in picks]
        return torch.from_numpy(np.stack(views)), tuple(group.styles[n] for n in picks)


def collate_groups(batch: Sequence[tuple[torch.Tensor, tuple[str, ...]]]
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images (N, C, S, S) uint8, group ids (N,), pair weights (N, N))."""
    images = torch.cat([views for views, _ in batch])
    groups = torch.tensor([g for g, (views, _) in enumerate(batch) for _ in range(len(views))])
    styles = [style for _, group_styles in batch for style in group_styles]
    weights = torch.tensor([[pair_weight(a, b) for b in styles] for a in styles])
    return images, groups, weights
