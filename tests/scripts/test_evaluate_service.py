"""The evaluation end to end on a tiny generated gallery, through a real register."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from models.embedder import Embedder
from scripts.datasets.brand_sets import brand_hash_is_even
from scripts.evaluate import evaluate, markdown, read_items, write_outputs, write_risk
from scripts.evaluation.cases import CASES
from scripts.evaluation.metrics import mean_scores, score_ranking
from scripts.evaluation.service_run import COMPOSITE_PREFIX, open_register, similar_batched
from scripts.training.augment import TRANSFORMS
from tests.imagegen import make_mark

BRANDS, DISTRACTORS = 3, 12


def even_brands(n: int) -> list[str]:
    names = (f"brand{i}" for i in range(1000))
    return [name for name in names if brand_hash_is_even(name)][:n]


def other_drawing(seed: int) -> Image.Image:
    """The brand as another icon set draws it: the same design, larger, with an element
    of its own (so the original, not its sibling, is the closest to its own copies)."""
    base = make_mark(seed, size=144)
    extra = make_mark(seed + 500, size=144)
    mask = extra.convert("L").point(lambda v: 255 if v < 200 else 0)
    base.paste(extra.resize((48, 48)), (96, 96), mask.resize((48, 48)))
    return base


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """A manifest laid out as scripts/build_eval_set.py writes it."""
    root = tmp_path / "eval-data"
    rows = []
    for b, brand in enumerate(even_brands(BRANDS)):
        for set_name, image in (("set-a", make_mark(b)), ("set-b", other_drawing(b))):
            rel = f"gallery/{brand}/{set_name}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            image.save(root / rel)
            rows.append({"path": rel, "brand": brand, "set": set_name, "role": "gallery"})
    for d in range(DISTRACTORS):
        rel = f"distractors/other/icon{d}.png"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        make_mark(100 + d).save(root / rel)
        rows.append({"path": rel, "brand": None, "set": "other", "role": "distractor"})
    path = root / "manifest.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_evaluation_through_a_real_register(manifest: Path, embedder: Embedder,
                                            tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    items = read_items(manifest)
    assert items[0].mark_id.startswith("gallery/") and items[-1].mark_id.startswith(
        "distractors/other/icon")
    register_dir = tmp_path / "register"
    results, hits = evaluate(items, embedder, register_dir, transform_queries=2, workers=0,
                             baseline_cache=tmp_path / "baselines.npz")
    n = BRANDS * 2 + DISTRACTORS
    assert results["gallery"] == n and results["register"]["marks"] == n
    assert results["brands_cross_design"] == BRANDS
    for method in ("service", "model", "phash", "pixels"):
        cross = results["cross_design"][method]
        assert cross["queries"] == 2 * BRANDS
        assert 0 <= cross["R@1"] <= cross["R@10"] <= 1
        assert set(results["cross_design_by_set"][method]) == {"set-a", "set-b"}
        overall = results["transformed"][method]["overall"]
        assert overall["queries"] == 2 * (len(TRANSFORMS) + len(CASES))
    assert results["cross_design"]["service"]["NAR"] is None  # top-100 only
    assert results["cross_design"]["pixels"]["NAR"] is not None
    service = results["transformed"]["service"]
    assert set(CASES) <= set(service)
    # a greyscale copy is the original to the ink-based model: found first
    assert service["greyscale"]["R@1"] == 1.0
    assert service["mirror"]["R@10"] == 1.0
    # the composites were in the register for their task only
    composites = results["composites_in_register"]
    assert set(composites["service"]) == {"added_words", "frame", "second_figure"}
    assert composites["service"]["frame"]["queries"] == 2
    risk = results["identical_high_risk"]
    assert risk["both"]["queries"] == 4
    assert 0 <= risk["both"]["high"] <= risk["both"]["top10"] <= 1
    assert 0 <= risk["both"]["first"] <= risk["both"]["top10"]
    assert results["risk"]["high"] >= results["risk"]["medium"]
    assert results["timing"]["similar_ms"] > 0 and results["timing"]["search_many_ms"] > 0
    # every hit has a score, a label and its task; the service found its own copies
    assert len(hits) > 2 * BRANDS and all(isinstance(h[1], bool) for h in hits)
    assert any(relevant for _, relevant, _, task in hits if task == "transformed:greyscale")
    table = markdown(results)
    assert "| cross-design R@10 | " in table and "| greyscale | " in table
    assert "| tile_behind * |" in table and "| set-a | 3 |" in table
    assert "the original High risk" in table

    out = tmp_path / "out"
    write_outputs(out, results, hits)
    assert json.loads((out / "results.json").read_text())["gallery"] == n
    stored = json.loads((out / "hits.json").read_text())
    assert len(stored["hits"]) == len(hits) and stored["columns"][:2] == ["score", "relevant"]
    write_risk(out / "risk.json", results)
    risk_file = json.loads((out / "risk.json").read_text())
    assert set(risk_file) >= {"model_version", "high", "medium", "high_precision",
                              "medium_precision", "hits", "relevant_hits", "calibrated_on"}

    # the register is reused as it is (composites gone), and rebuilt for another gallery
    capsys.readouterr()
    with open_register(register_dir, items, embedder, workers=0) as register:
        assert register.stats()["marks"] == n
        assert not any(r.id.startswith(COMPOSITE_PREFIX)
                       for r in register.records.iter_all())
        # the batched path ranks as `similar` does
        ids = [item.mark_id for item in items[:8]]
        for mark_id, batched in zip(ids, similar_batched(register, ids, k=100), strict=True):
            single = register.similar(mark_id, k=100)
            assert batched.ids == [r.record.id for r in single] and mark_id not in batched.ids
            assert batched.scores[:10] == pytest.approx([r.score for r in single[:10]],
                                                        abs=1e-5)
    assert "reusing" in capsys.readouterr().out
    with open_register(register_dir, items[:-1], embedder, workers=0) as register:
        assert register.stats()["marks"] == n - 1
    assert "rebuilding" in capsys.readouterr().out


def test_a_foreign_folder_is_never_deleted(tmp_path: Path, embedder: Embedder,
                                           manifest: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="holds no register"):
        open_register(tmp_path / "mine", read_items(manifest), embedder, workers=0)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_metrics_of_ranked_mark_ids() -> None:
    ranking = ["d", "a", "x", "b", "y"]
    scores = score_ranking(ranking, {"a", "b"})
    assert scores.r1 == 0.0 and scores.r10 == 1.0 and scores.nar is None
    # relevant at positions 2 and 4 of 2 relevant: (1/2 + 2/4) / 2
    assert scores.ap100 == pytest.approx(0.5)
    first = score_ranking(["a"], {"a"})
    assert (first.r1, first.ap100) == (1.0, 1.0)
    missed = score_ranking(["z"] * 10 + ["a"], {"a"})
    assert missed.r10 == 0.0 and missed.ap100 == pytest.approx(1 / 11)
    assert score_ranking(["z"] * 100 + ["a"], {"a"}).ap100 == 0.0  # beyond the cut-off
    means = mean_scores([scores, first])
    assert means["R@1"] == 0.5 and means["mAP@100"] == pytest.approx(0.75)
    assert means["NAR"] is None
