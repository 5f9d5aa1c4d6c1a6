"""The demo register's synthetic metadata: every filter and role has something to show,
deterministically, and the Chinese word marks are rendered where the CJK font is."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from service.demo import write_demo_folder
from service.demo_metadata import CJK_FONT, synthetic_metadata, vienna_by_shape
from service.marks.metadata import parse_metadata


def _png(draw: str) -> bytes:
    image = Image.new("RGB", (200, 200), "white")
    pen = ImageDraw.Draw(image)
    if draw == "disc":
        pen.ellipse((20, 20, 180, 180), fill="black")
    elif draw == "square":
        pen.rectangle((20, 20, 180, 180), fill="black")
    elif draw == "triangle":
        pen.polygon([(20, 180), (180, 180), (100, 20)], fill="black")
    elif draw == "word":
        pen.rectangle((10, 90, 190, 110), fill="black")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(("drawing", "code"), [("disc", "26.01.01"), ("square", "26.04.01"),
                                                ("triangle", "26.03.01"),
                                                ("word", "27.05.01")])
def test_vienna_codes_follow_the_outline(drawing: str, code: str) -> None:
    assert vienna_by_shape(_png(drawing)) == code


def test_metadata_is_synthetic_valid_and_the_same_every_time() -> None:
    rows = [synthetic_metadata(f"icon-{i}", _png("disc")) for i in range(400)]
    assert rows == [synthetic_metadata(f"icon-{i}", _png("disc")) for i in range(400)]
    statuses = Counter(r["status"] for r in rows)
    assert set(statuses) == {"registered", "published", "filed", "expired", "refused"}
    assert statuses["registered"] > statuses["filed"] > 0  # filed: examiners only
    assert len({r["owner"] for r in rows}) > 5
    assert all(1 <= c <= 45 for r in rows for c in r["nice_classes"])
    for row in rows[:50]:
        parse_metadata({"id": "x", **row})  # what the register accepts


def test_the_demo_folder_carries_the_metadata(tmp_path: Path) -> None:
    metadata = write_demo_folder(tmp_path / "demo", limit=8)
    rows = [json.loads(line) for line in metadata.read_text(encoding="utf-8").splitlines()]
    icons = [r for r in rows if not r["id"].startswith("zh-")]
    assert len(icons) == 8 and all(r["owner"] and r["nice_classes"] and r["vienna_codes"]
                                   and r["filing_date"] for r in icons)
    chinese = [r for r in rows if r["id"].startswith("zh-")]
    if CJK_FONT.is_file():
        assert {r["name"] for r in chinese} >= {"乐百氏", "乐佰氏"}
        assert all((tmp_path / "demo" / "images" / r["file"]).is_file() for r in chinese)
    else:
        assert chinese == []
