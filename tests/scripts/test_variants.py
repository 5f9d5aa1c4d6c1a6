"""Design-variant groups and the multi-positive loss that trains on them."""

from __future__ import annotations

import numpy as np
import torch

from models.network import EmbeddingNet, ModelConfig
from models.preprocess import prepare
from scripts.datasets.variants import (
    HARD_PAIR_WEIGHT,
    design_and_style,
    pair_weight,
    variant_groups,
)
from scripts.training.supcon import supcon, supcon_step
from tests.imagegen import make_design

NAMES = [
    ("ph", "arrow-left"), ("ph", "arrow-left-bold"), ("ph", "arrow-left-thin"),
    ("ph", "arrow-left-fill"), ("ph", "house-duotone"), ("ph", "house"),
    ("ph", "line-chart"), ("ph", "light-bulb"), ("ph", "acorn"),
    ("mdi", "home-outline"), ("mdi", "home"), ("ic", "outline-home"), ("ic", "twotone-home"),
    ("tabler", "star-filled"), ("tabler", "star"), ("ph", "star"),
]


def test_style_affixes_come_off_and_design_words_stay() -> None:
    assert design_and_style("arrow-left-bold") == ("arrow-left", "bold")
    assert design_and_style("outline-home") == ("home", "outline")
    assert design_and_style("line-chart") == ("line-chart", "")  # a chart, not a style
    assert design_and_style("light-bulb") == ("light-bulb", "")
    assert design_and_style("fill") == ("fill", "")  # nothing left: the name is the design


def test_groups_are_per_set_and_need_two_styles() -> None:
    groups = variant_groups(NAMES)
    assert set(groups) == {("ph", "arrow-left"), ("ph", "house"), ("mdi", "home"),
                           ("ic", "home"), ("tabler", "star")}
    assert [style for _, style in groups[("ph", "arrow-left")]] == ["", "bold", "fill", "thin"]
    assert ("ph", "star") not in groups  # one style in ph; tabler's star is another hand


def test_line_against_filled_and_thin_against_bold_weigh_more() -> None:
    assert pair_weight("outline", "fill") == HARD_PAIR_WEIGHT
    assert pair_weight("thin", "bold") == HARD_PAIR_WEIGHT
    assert pair_weight("regular", "rounded") == 1.0


def test_supcon_prefers_groups_together() -> None:
    torch.manual_seed(0)
    base = torch.nn.functional.normalize(torch.randn(4, 16), dim=1)
    together = torch.cat([base, base + 0.01 * torch.randn(4, 16)])
    groups = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    apart = together[torch.tensor([0, 1, 2, 3, 1, 2, 3, 0])]
    z = torch.nn.functional.normalize
    assert supcon(z(together, dim=1), groups) < supcon(z(apart, dim=1), groups)
    single = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])  # no positives: no loss, no error
    assert float(supcon(z(together, dim=1), single)) == 0.0


def test_a_training_step_on_variant_groups_lowers_the_loss() -> None:
    torch.manual_seed(0)
    config = ModelConfig(input_size=64)
    net = EmbeddingNet(config)
    styles = ("fill", "thin", "bold")
    images = [prepare(make_design(d, s), 64, "ink") for d in range(8) for s in styles]
    x = torch.from_numpy(np.stack(images))
    groups = torch.tensor([d for d in range(8) for _ in styles])
    kinds = [s for _ in range(8) for s in styles]
    weights = torch.tensor([[pair_weight(a, b) for b in kinds] for a in kinds])
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3)
    losses = [supcon_step(net, optimizer, x, groups, weights) for _ in range(15)]
    assert np.isfinite(losses).all()
    assert np.mean(losses[-3:]) < losses[0] - 0.1
