"""Multi-positive contrastive loss (SupCon, Khosla et al. 2020) with weighted pairs.

Every image in the batch that shares a group (a design drawn in several styles,
scripts/datasets/variants.py, or two views of one image) is a positive of every other;
the rest are negatives. A pair's weight (a line drawing against its filled version
counts twice) scales its term, so the hard redraws an examiner must see through pull
harder than near-identical styles.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from models.network import EmbeddingNet
from scripts.training.contrastive import to_input


def supcon(z: torch.Tensor, groups: torch.Tensor, weights: torch.Tensor | None = None,
           temperature: float = 0.1) -> torch.Tensor:
    """Loss of unit vectors ``z`` (N, D) with group labels (N,); ``weights`` (N, N) per
    positive pair (default 1). Anchors without a positive do not count."""
    n = z.shape[0]
    logits = z @ z.T / temperature
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positive = (groups[:, None] == groups[None, :]) & ~self_mask
    w = positive.float() if weights is None else weights * positive.float()
    per_anchor = -(w * log_prob.masked_fill(~positive, 0.0)).sum(1) / w.sum(1).clamp(min=1e-9)
    has_positive = positive.any(dim=1)
    if not has_positive.any():
        return z.sum() * 0.0
    return per_anchor[has_positive].mean()


def supcon_step(net: EmbeddingNet, optimizer: torch.optim.Optimizer, images: torch.Tensor,
                groups: torch.Tensor, weights: torch.Tensor | None = None,
                temperature: float = 0.1) -> float:
    """One optimisation step on a batch of prepared uint8 images and their groups
    (gradients clipped as in ``contrastive.train_step``)."""
    net.train()
    x = to_input(images).contiguous(memory_format=torch.channels_last)
    loss = supcon(F.normalize(net(x), dim=1), groups, weights, temperature)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
    optimizer.step()
    return float(loss.detach())


def mixed_step(net: EmbeddingNet, optimizer: torch.optim.Optimizer, a: torch.Tensor,
               b: torch.Tensor, variants: torch.Tensor, variant_groups: torch.Tensor,
               variant_weights: torch.Tensor, temperature: float = 0.1) -> float:
    """One step on the union of a pair batch (two views of each image, positives of each
    other, as NT-Xent has them) and a variant batch (the members of each design group
    positives of each other, weighted): one softmax over all, so every image is a
    negative for every other group."""
    pairs = a.shape[0]
    images = torch.cat([a, b, variants])
    own = torch.arange(pairs, device=variant_groups.device)
    groups = torch.cat([own, own, pairs + variant_groups])
    weights = torch.ones(len(images), len(images), device=variant_weights.device)
    weights[2 * pairs:, 2 * pairs:] = variant_weights
    return supcon_step(net, optimizer, images, groups, weights, temperature)
