"""The embedding network: a torchvision CNN trunk, GeM pooling and a 256-d projection.

The architecture is described by :class:`ModelConfig`, which travels inside every weights
file, so a checkpoint always rebuilds the network that made it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
import torchvision.models as tvm
from torch import nn

InputMode = Literal["ink", "rgb"]


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network and prepare its input."""

    arch: str = "mobilenet_v3_small"
    dim: int = 256
    input_size: int = 128
    input_mode: InputMode = "ink"  # ink: distance from the background colour, 1 channel
    gem_p: float = 3.0

    @property
    def in_channels(self) -> int:
        return 1 if self.input_mode == "ink" else 3

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class GeM(nn.Module):
    """Generalised-mean pooling: between average (p=1) and max pooling, learnable p."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.avg_pool2d(x.clamp(min=self.eps).pow(self.p), x.shape[-2:])
        return pooled.pow(1.0 / self.p).flatten(1)


def _trunk(arch: str, in_channels: int) -> tuple[nn.Module, int]:
    """A torchvision model without its classifier, its first conv taking ``in_channels``."""
    model = getattr(tvm, arch)(weights=None)
    if arch.startswith(("mobilenet", "efficientnet", "regnet")) and hasattr(model, "features"):
        trunk = model.features
    elif arch.startswith(("resnet", "resnext", "wide_resnet")):
        trunk = nn.Sequential(*list(model.children())[:-2])
    else:
        raise ValueError(f"unsupported backbone architecture: {arch}")
    first = next(m for m in trunk.modules() if isinstance(m, nn.Conv2d))
    if first.in_channels != in_channels:
        replacement = nn.Conv2d(
            in_channels,
            first.out_channels,
            first.kernel_size,
            first.stride,
            first.padding,
            bias=first.bias is not None,
        )
        _replace_module(trunk, first, replacement)
    with torch.no_grad():
        channels = trunk(torch.zeros(1, in_channels, 64, 64)).shape[1]
    return trunk, int(channels)


def _replace_module(root: nn.Module, old: nn.Module, new: nn.Module) -> None:
    for name, child in root.named_children():
        if child is old:
            setattr(root, name, new)
            return
        _replace_module(child, old, new)


class EmbeddingNet(nn.Module):
    """Image batch (N, C, S, S) in [-1, 1] -> L2-normalised embeddings (N, dim)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.trunk, channels = _trunk(config.arch, config.in_channels)
        self.pool = GeM(config.gem_p)
        self.proj = nn.Linear(channels, config.dim)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.pool(self.trunk(x))), dim=1)
