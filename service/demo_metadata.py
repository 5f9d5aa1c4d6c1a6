"""Synthetic metadata for the demo register, so that every filter and role has something
to show: owners, Nice classes, Vienna codes, filing dates and statuses (filed marks
included, which only examiners and admins see), and a few Chinese word marks.

None of it is true: the icons are Simple Icons' brand logos, the owners and dates are
invented, deterministically (the same icon gets the same metadata on every machine), and
the Vienna code is a rough guess from the drawing's outline (a disc, a square, a
triangle, a wide word-like mark, or other figures). Do not read it as a register's data.
"""

from __future__ import annotations

import hashlib
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

OWNERS = ("Acme Holdings Ltd", "Globex GmbH", "Initech SA", "Umbrella Trading Co",
          "Stark Industries LLC", "重庆山城科技有限公司", "北京华佳实业有限公司",
          "上海东方食品有限公司", "Chongqing Mountain Foods Co", "Nordlicht AG")
#: (status, share in a thousand): most marks registered, some filed (examiners only)
STATUSES = (("registered", 600), ("published", 150), ("filed", 120), ("expired", 80),
            ("refused", 50))
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # Debian fonts-wqy-zenhei
#: Chinese word marks of the demo (invented; two pairs are homophones: 乐百氏 / 乐佰氏)
CHINESE_MARKS = (("zh-lebaishi", "乐百氏"), ("zh-lebaishi-2", "乐佰氏"), ("zh-huajia", "华佳"),
                 ("zh-longteng", "龙腾"), ("zh-shancheng", "山城"), ("zh-dongfang", "东方红"))


def _draw(slug: str, salt: str, modulus: int) -> int:
    """A number in [0, modulus) fixed by the icon's slug."""
    digest = hashlib.sha256(f"{salt}:{slug}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % modulus


def synthetic_metadata(slug: str, png: bytes | None) -> dict[str, Any]:
    """Owner, Nice classes, Vienna codes, filing date and status for one demo mark."""
    status = _status(_draw(slug, "status", 1000))
    classes = sorted({1 + _draw(slug, f"nice{i}", 45) for i in range(1 + _draw(slug, "n", 3))})
    filed = date(2001, 1, 1) + timedelta(days=_draw(slug, "filed", 25 * 365))
    return {"owner": OWNERS[_draw(slug, "owner", len(OWNERS))], "nice_classes": classes,
            "vienna_codes": [vienna_by_shape(png)] if png else [],
            "filing_date": filed.isoformat(), "status": status}


def _status(roll: int) -> str:
    """The status whose share of a thousand ``roll`` falls in."""
    for status, share in STATUSES:
        if roll < share:
            return status
        roll -= share
    return STATUSES[-1][0]


def vienna_by_shape(png: bytes) -> str:
    """A Vienna code guessed from the ink's outline (synthetic, see module doc)."""
    with Image.open(io.BytesIO(png)) as image:
        grey = np.asarray(image.convert("L"), dtype=np.float32)
    ground = np.median(np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]]))
    ink = np.abs(grey - ground) > 48
    ys, xs = np.nonzero(ink)
    if len(xs) == 0:
        return "26.13.25"  # other figures
    width, height = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    aspect = max(width, height) / max(1, min(width, height))
    fill = ink.sum() / float(width * height)
    if aspect > 2.5:
        return "27.05.01"  # letters presented in a special way (a word-like mark)
    if aspect < 1.2 and 0.70 <= fill <= 0.86:
        return "26.01.01"  # circles
    if aspect < 1.2 and fill > 0.9:
        return "26.04.01"  # squares
    if 0.42 <= fill <= 0.58:
        return "26.03.01"  # triangles (and other half-filled outlines)
    return "26.13.25"  # other figures


def chinese_word_marks(images: Path, side: int = 256) -> list[dict[str, Any]]:
    """Render the Chinese word marks (with Debian's CJK font) into ``images``; their
    metadata rows. None where the font is missing (``make fonts`` installs it)."""
    if not CJK_FONT.is_file():
        return []
    rows = []
    for slug, words in CHINESE_MARKS:
        target = images / f"{slug}.png"
        if not target.exists():
            canvas = Image.new("RGB", (side * 2, side), "white")
            draw = ImageDraw.Draw(canvas)
            draw.ellipse((16, 16, side - 16, side - 16), fill="#b3261e")  # a device beside
            font = ImageFont.truetype(str(CJK_FONT), side // 3)
            draw.text((side + 8, side // 3), words, font=font, fill="#222222")
            buf = io.BytesIO()
            canvas.save(buf, format="PNG")
            target.write_bytes(buf.getvalue())
        rows.append({"file": target.name, "id": slug, "name": words,
                     **synthetic_metadata(slug, target.read_bytes())})
    return rows
