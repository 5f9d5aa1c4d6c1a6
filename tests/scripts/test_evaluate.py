"""The evaluation's parts: the gallery's items, the evaluation-only transformations and
the model card section (end to end: tests/scripts/test_evaluate_service.py)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from models.preprocess import ink_map
from scripts.datasets.brand_sets import brand_hash_is_even
from scripts.evaluate import read_items, update_model_card
from scripts.evaluation.cases import CASES, all_transformations
from scripts.evaluation.data import cross_design_queries, mark_id_of, transform_originals
from scripts.training.augment import TRANSFORMS
from tests.imagegen import make_mark


def even_brands(n: int) -> list[str]:
    names = (f"brand{i}" for i in range(1000))
    return [name for name in names if brand_hash_is_even(name)][:n]


def test_odd_hash_brands_are_refused(tmp_path: Path) -> None:
    odd = next(f"brand{i}" for i in range(1000) if not brand_hash_is_even(f"brand{i}"))
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(json.dumps({"path": "x.png", "brand": odd, "set": "s"}) + "\n")
    with pytest.raises(SystemExit, match="odd-hash"):
        read_items(manifest)


def test_items_ids_queries_and_gallery_limit(tmp_path: Path) -> None:
    a, b = even_brands(2)
    rows = [{"path": f"gallery/{a}/s1.png", "brand": a, "set": "s1"},
            {"path": f"gallery/{a}/s2.png", "brand": a, "set": "s2"},
            {"path": f"gallery/{b}/s1.png", "brand": b, "set": "s1"},  # in one set only
            *({"path": f"distractors/d/i{n}.png", "brand": None, "set": "d"}
              for n in range(5))]
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    items = read_items(manifest)
    assert [i.mark_id for i in items[:2]] == [f"gallery/{a}/s1", f"gallery/{a}/s2"]
    assert items[0].path == str(tmp_path / f"gallery/{a}/s1.png")
    assert cross_design_queries(items) == [(0, {1}), (1, {0})]
    limited = read_items(manifest, gallery_limit=2)
    assert len(limited) == 5 and limited[-1].mark_id == "distractors/d/i1"
    # a quick run's originals are the first of the full run's
    assert transform_originals(items, 3, seed=0, limit=2) == transform_originals(
        items, 3, seed=0)[:2]
    assert mark_id_of("/abs/x.png", 7) == "external/7"
    assert mark_id_of("../x.png", 8) == "external/8"


def test_evaluation_cases_keep_the_figure_and_change_it() -> None:
    assert not set(CASES) & set(TRANSFORMS)
    names = list(all_transformations())
    assert names[:len(TRANSFORMS)] == sorted(TRANSFORMS)  # their seeds depend on it
    image = make_mark(3, size=160)
    ink = ink_map(np.asarray(image), np.array([255.0, 255.0, 255.0])) >= 40
    for name, case in CASES.items():
        out = case(image, random.Random(1))
        again = case(image, random.Random(1))
        assert out.mode == "RGB" and np.array_equal(np.asarray(out), np.asarray(again)), name
    outline = np.asarray(CASES["outline_contour"](image, random.Random(0)))
    outline_ink = ink_map(outline, np.array([255.0, 255.0, 255.0])) >= 40
    assert 0 < outline_ink.sum() < ink.sum() and not outline_ink[~ink].any()
    thick = np.asarray(CASES["thicker_3_7"](image, random.Random(0)))
    assert (ink_map(thick, np.array([255.0, 255.0, 255.0])) >= 40).sum() > ink.sum()
    turned = CASES["rotate_10_25"](image, random.Random(0))
    assert turned.size[0] > image.size[0]  # expanded: no part of the figure cut off
    for seed in range(4):  # a tile larger than the figure, on the page's ground
        tiled = CASES["tile_behind"](image, random.Random(seed))
        assert tiled.getpixel((0, 0)) == (255, 255, 255)
        tile_ink = ink_map(np.asarray(tiled), np.array([255.0, 255.0, 255.0])) >= 40
        assert tile_ink.mean() > max(0.4, 2 * ink.mean())


def test_a_tile_behind_an_app_icon_keeps_the_icons_figure() -> None:
    """An original that is a filled tile itself (a dark square with a light figure): on
    the new tile it keeps its own colours, so its figure is still drawn, not erased."""
    icon = Image.new("RGB", (160, 160), "white")
    draw = ImageDraw.Draw(icon)
    draw.rectangle((10, 10, 150, 150), fill=(30, 30, 40))
    draw.ellipse((55, 55, 105, 105), fill=(250, 250, 250))
    for seed in range(4):
        tiled = np.asarray(CASES["tile_behind"](icon, random.Random(seed)), np.float32)
        centre = tiled[tiled.shape[0] // 2, tiled.shape[1] // 2]
        dark = tiled[tiled.shape[0] // 2, tiled.shape[1] // 2 - 45]  # inside the square
        assert centre.min() > 230 and dark.max() < 60  # the light disc on its dark square


def test_model_card_section_replaced(tmp_path: Path) -> None:
    card = tmp_path / "card.md"
    card.write_text("# Card\n<!-- evaluation:start -->\nold\n<!-- evaluation:end -->\ntail\n")
    update_model_card(card, "| new |\n")
    assert card.read_text() == (
        "# Card\n<!-- evaluation:start -->\n| new |\n<!-- evaluation:end -->\ntail\n")
