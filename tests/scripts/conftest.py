"""Fixtures of the training scripts' tests: a small training set on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.imagegen import make_design, make_mark

STYLES = ("fill", "outline", "bold")


@pytest.fixture()
def manifest(tmp_path: Path) -> Path:
    """A training manifest: 6 designs of one set in 3 styles each, 90 icons drawn in one
    style only and synthetic marks (neither has variants)."""
    rows = []
    for design in range(6):
        for style in STYLES:
            name = f"shape{design}" if style == "fill" else f"shape{design}-{style}"
            path = tmp_path / "icons" / "ph" / f"{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            make_design(design, style, 96).save(path)
            rows.append({"path": f"icons/ph/{name}.png", "source": "iconify", "set": "ph",
                         "icon": name, "license": "MIT"})
    for n in range(90):
        path = tmp_path / "icons" / "mdi" / f"mark{n}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        make_mark(100 + n, size=64).save(path)
        rows.append({"path": f"icons/mdi/mark{n}.png", "source": "iconify", "set": "mdi",
                     "icon": f"mark{n}", "license": "Apache-2.0"})
    for n in range(4):
        path = tmp_path / "synthetic" / f"{n:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        make_mark(n).save(path)
        rows.append({"path": f"synthetic/{n:06d}.png", "source": "synthetic",
                     "set": "synthetic", "icon": f"{n:06d}", "license": "CC0-1.0"})
    out = tmp_path / "manifest.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return out
