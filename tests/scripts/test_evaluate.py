"""The evaluation script end to end on a tiny generated gallery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.embedder import Embedder
from scripts.datasets.brand_sets import brand_hash_is_even
from scripts.evaluate import (
    ALL_METHODS,
    COMPOSITES,
    ROTATION_TOLERANT,
    SERVICE,
    evaluate,
    markdown,
    read_items,
    update_model_card,
)
from tests.imagegen import make_mark


def even_brands(n: int) -> list[str]:
    names = (f"brand{i}" for i in range(1000))
    return [name for name in names if brand_hash_is_even(name)][:n]


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    rows = []
    for b, brand in enumerate(even_brands(3)):
        for s, set_name in enumerate(["set-a", "set-b"]):
            path = tmp_path / f"{brand}-{set_name}.png"
            # the same design, drawn a little differently in each set
            make_mark(b, size=120 + 16 * s).save(path)
            rows.append({"path": path.name, "brand": brand, "set": set_name})
    for d in range(10):
        path = tmp_path / f"distractor-{d}.png"
        make_mark(100 + d).save(path)
        rows.append({"path": path.name, "brand": None, "set": "other"})
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return manifest


def test_evaluate_reports_every_task_and_method(manifest: Path, embedder: Embedder) -> None:
    items = read_items(manifest)
    results = evaluate(items, embedder, transform_queries=2, seed=0, workers=0)
    assert results["gallery"] == 16 and results["brands_cross_design"] == 3
    n_transforms = 18
    for method in ALL_METHODS:
        cross = results["cross_design"][method]
        assert cross["queries"] == 6
        assert 0 <= cross["R@1"] <= cross["R@10"] <= 1 and 0 <= cross["NAR"] <= 1
        assert results["transformed"][method]["overall"]["queries"] == 2 * n_transforms
    # a resized drawing of the same mark is found by raw pixels on this easy gallery
    assert results["cross_design"]["pixels"]["R@10"] == 1.0
    # querying with the 8 rotations/reflections finds every rotated or mirrored copy
    tolerant = results["transformed"][ROTATION_TOLERANT]
    assert tolerant["overall"]["queries"] == 2 * n_transforms
    for name in ("rotate90", "rotate180", "mirror"):
        assert tolerant[name]["R@1"] == 1.0
    # the service finds the figure inside a composite query through its components
    service = results["transformed"][SERVICE]
    model = results["transformed"]["model"]
    for name in ("added_words", "frame", "second_figure"):
        assert service[name]["R@1"] >= model[name]["R@1"]
    # and the composite in the register from the figure alone
    in_register = results["composites_in_register"]
    for name in COMPOSITES:
        assert in_register[SERVICE][name]["queries"] == 2
    assert in_register[SERVICE]["second_figure"]["R@1"] >= in_register["model"][
        "second_figure"]["R@1"]
    assert "risk" in results and results["risk"]["high"] >= results["risk"]["medium"]
    table = markdown(results)
    assert "| cross-design | model |" in table and "| mirror |" in table
    assert "| cross-design | service (colour) |" in table
    assert ROTATION_TOLERANT in table and "Risk levels" in table
    assert "| second_figure |" in table and "target met" in table


def test_odd_hash_brands_are_refused(tmp_path: Path) -> None:
    odd = next(f"brand{i}" for i in range(1000) if not brand_hash_is_even(f"brand{i}"))
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(json.dumps({"path": "x.png", "brand": odd, "set": "s"}) + "\n")
    with pytest.raises(SystemExit, match="odd-hash"):
        read_items(manifest)


def test_model_card_section_replaced(tmp_path: Path) -> None:
    card = tmp_path / "card.md"
    card.write_text("# Card\n<!-- evaluation:start -->\nold\n<!-- evaluation:end -->\ntail\n")
    update_model_card(card, "| new |\n")
    assert card.read_text() == (
        "# Card\n<!-- evaluation:start -->\n| new |\n<!-- evaluation:end -->\ntail\n")
