"""The embedder: load weights once, prepare images one way, embed batches on a device.

Everything that turns a mark image into a vector goes through :class:`Embedder`, so the
ingest path, the query path and re-indexing can never disagree about preprocessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from models.checkpoint import DEFAULT_WEIGHTS, load_checkpoint
from models.network import ModelConfig
from models.preprocess import prepare
from models.signals import VectorLayout


def resolve_device(choice: str = "auto") -> torch.device:
    """``auto`` takes CUDA when present; asking for CUDA without one is an error."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but no CUDA device is available")
    return torch.device(choice)


class Embedder:
    """A loaded embedding model. Create one per process and share it."""

    def __init__(
        self, weights: Path | None = None, device: str = "auto", batch_size: int = 64
    ) -> None:
        loaded = load_checkpoint(weights)
        self.weights_path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
        self.config: ModelConfig = loaded.config
        self.layout = VectorLayout.of(self.config)
        self.version: str = loaded.version
        self.meta = loaded.meta
        self.device = resolve_device(device)
        self.batch_size = batch_size
        # channels-last convolutions are ~20 % faster on CPU for this trunk, and folding
        # each batch norm into its convolution another ~35 % (same outputs to 1e-6)
        net = fuse_batch_norms(loaded.net.eval())
        self.net = net.to(self.device, memory_format=torch.channels_last)

    @property
    def dim(self) -> int:
        """Length of the stored vectors (the embedding and, when the model has one, the
        orientation descriptor: models/signals.py)."""
        return self.config.vector_dim

    def prepare(self, image: Image.Image) -> np.ndarray:
        """Image -> uint8 (C, S, S). Pure function of the image: safe in worker processes."""
        return prepare(image, self.config.input_size, self.config.input_mode)

    def embed_prepared(self, batch: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Prepared uint8 arrays -> float32 (N, dim) unit vectors in stored form."""
        arrays = np.stack(batch) if not isinstance(batch, np.ndarray) else batch
        return self.layout.stored(self.embed_network(arrays), arrays)

    def embed_network(self, arrays: np.ndarray) -> np.ndarray:
        """The CNN embeddings alone: float32 (N, config.dim) unit vectors."""
        out = np.empty((len(arrays), self.config.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(arrays), self.batch_size):
                channels = arrays[start : start + self.batch_size, : self.config.in_channels]
                chunk = torch.from_numpy(np.ascontiguousarray(channels))
                x = chunk.to(self.device, non_blocking=True).float().div_(127.5).sub_(1.0)
                x = x.contiguous(memory_format=torch.channels_last)
                out[start : start + len(chunk)] = self.net(x).float().cpu().numpy()
        return out

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.empty((0, self.dim), dtype=np.float32)
        return self.embed_prepared([self.prepare(im) for im in images])


def fuse_batch_norms(net: nn.Module) -> nn.Module:
    """Fold every eval-mode ``BatchNorm2d`` that follows a ``Conv2d`` in a sequence into
    the convolution (in place; the module's structure and methods are kept)."""
    for module in list(net.modules()):
        if not isinstance(module, nn.Sequential):
            continue
        children = list(module.named_children())
        for (name, conv), (bn_name, bn) in zip(children, children[1:], strict=False):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                setattr(module, name, fuse_conv_bn_eval(conv, bn))
                setattr(module, bn_name, nn.Identity())
    return net
