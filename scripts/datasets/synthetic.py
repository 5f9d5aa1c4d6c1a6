"""Synthetic trademark-like images: geometric devices and word marks, free of any rights.

Open icon sets have few word marks and few composite devices; these fill that gap with
random circles, polygons, stars, arcs and lines, and invented Latin words or Chinese
character strings set in the fonts the machine has. Everything is drawn from the given
random.Random, so a seed always gives the same picture.
"""

from __future__ import annotations

import math
import random
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"))
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
CJK_FONT_HINT = "apt-get install -y fonts-noto-cjk fonts-wqy-zenhei"
SUPERSAMPLE = 2

# A few hundred of the most common simplified Chinese characters.
COMMON_HANZI = "".join(dict.fromkeys(
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过"
    "家学对可里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见"
    "经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话"
    "儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真"
    "听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立"
    "马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制"
    "解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎"
    "元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武"
    "半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱"
    "党倒未持音送龙凤福寿喜乐康泰兴盛丰源鑫隆华宝晶星云川峰森"
))

_ONSETS = ("", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t",
           "v", "w", "z", "br", "cl", "dr", "fl", "gr", "kr", "pl", "pr", "st", "tr", "sh",
           "ch", "th", "x", "qu")
_VOWELS = ("a", "e", "i", "o", "u", "y", "ai", "ea", "io", "ou", "oo")
_CODAS = ("", "", "", "n", "r", "s", "x", "l", "m", "t", "ck", "nd", "rt")


def find_system_fonts(dirs: tuple[str, ...] = FONT_DIRS) -> list[str]:
    """Font files under the usual font folders, sorted so that runs are reproducible."""
    found: set[str] = set()
    for root in dirs:
        base = Path(root)
        if base.is_dir():
            found.update(str(p) for p in base.rglob("*") if p.suffix.lower() in FONT_SUFFIXES)
    return sorted(f for f in found if _font_covers(f, "Ab"))


@lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=128)
def _font_covers(path: str, text: str) -> bool:
    """Whether every character of text has a real glyph (not the .notdef box) in the font."""
    try:
        font = _font(path, 32)
        missing = bytes(font.getmask("\U000f0000"))  # private-use: no font draws it
        return all(bytes(font.getmask(ch)) != missing for ch in text)
    except OSError:
        return False


def cjk_fonts(fonts: list[str]) -> list[str]:
    """The fonts that can set common Chinese characters."""
    return [f for f in fonts if _font_covers(f, "中国人")]


def cjk_install_hint(fonts: list[str]) -> str | None:
    """What to install when no font can draw Chinese, else None."""
    return None if cjk_fonts(fonts) else f"no CJK font found; install one: {CJK_FONT_HINT}"


def pseudo_word(rng: random.Random) -> str:
    """A pronounceable invented Latin word, in a random letter case."""
    word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(1, 3)))
    word += rng.choice(_CODAS)
    style = rng.random()
    if style < 0.4:
        return word.upper()
    if style < 0.8:
        return word.capitalize()
    return word


def hanzi_word(rng: random.Random) -> str:
    """Two to four common Chinese characters."""
    return "".join(rng.choice(COMMON_HANZI) for _ in range(rng.randint(2, 4)))


def _ink_colour(rng: random.Random) -> tuple[int, int, int]:
    """Mostly black, sometimes a saturated or dark brand-like colour."""
    if rng.random() < 0.65:
        return (0, 0, 0)
    h = rng.random()
    i = int(h * 6) % 6
    v = rng.uniform(0.35, 0.85)
    f = h * 6 - int(h * 6)
    p, q, t = v * 0.1, v * (1 - 0.9 * f), v * (1 - 0.9 * (1 - f))
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return (int(r * 255), int(g * 255), int(b * 255))


def _regular_polygon(cx: float, cy: float, r: float, n: int, angle: float
                     ) -> list[tuple[float, float]]:
    return [(cx + r * math.cos(angle + 2 * math.pi * k / n),
             cy + r * math.sin(angle + 2 * math.pi * k / n)) for k in range(n)]


def _star(cx: float, cy: float, r: float, n: int, inner: float, angle: float
          ) -> list[tuple[float, float]]:
    pts = []
    for k in range(2 * n):
        rad = r if k % 2 == 0 else r * inner
        a = angle + math.pi * k / n
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    return pts


def _draw_shape(draw: ImageDraw.ImageDraw, rng: random.Random, cx: float, cy: float,
                r: float, ink: tuple[int, int, int], paper: tuple[int, int, int]) -> None:
    """One geometric element centred on (cx, cy), filled or stroked."""
    kind = rng.choice(("circle", "ring", "polygon", "star", "arc", "lines", "rect", "blob"))
    filled = rng.random() < 0.55
    width = max(2, int(r * rng.uniform(0.06, 0.22)))
    angle = rng.uniform(0, 2 * math.pi)
    box = (cx - r, cy - r, cx + r, cy + r)
    fill, outline = (ink, None) if filled else (None, ink)
    if kind == "circle":
        ry = r * rng.uniform(0.6, 1.0)
        draw.ellipse((cx - r, cy - ry, cx + r, cy + ry), fill=fill, outline=outline, width=width)
    elif kind == "ring":
        draw.ellipse(box, fill=ink)
        ri = r * rng.uniform(0.45, 0.8)
        draw.ellipse((cx - ri, cy - ri, cx + ri, cy + ri), fill=paper)
    elif kind == "polygon":
        pts = _regular_polygon(cx, cy, r, rng.randint(3, 8), angle)
        draw.polygon(pts, fill=fill, outline=outline, width=width)
    elif kind == "star":
        pts = _star(cx, cy, r, rng.randint(4, 9), rng.uniform(0.35, 0.6), angle)
        draw.polygon(pts, fill=fill, outline=outline, width=width)
    elif kind == "arc":
        start = rng.uniform(0, 360)
        end = start + rng.uniform(90, 300)
        if filled:
            draw.pieslice(box, start, end, fill=ink)
        else:
            draw.arc(box, start, end, fill=ink, width=width * 2)
    elif kind == "lines":
        n = rng.randint(1, 5)
        radial = rng.random() < 0.5
        for k in range(n):
            if radial:
                a = angle + math.pi * k / n
                dx, dy = r * math.cos(a), r * math.sin(a)
                draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=ink, width=width)
            else:
                off = (k - (n - 1) / 2) * r * 2 / max(n, 2)
                dx, dy = r * math.cos(angle), r * math.sin(angle)
                nx, ny = -math.sin(angle) * off, math.cos(angle) * off
                draw.line((cx - dx + nx, cy - dy + ny, cx + dx + nx, cy + dy + ny),
                          fill=ink, width=width)
    elif kind == "rect":
        h = r * rng.uniform(0.4, 1.0)
        # Pillow fails when the corners meet: keep the radius a little under half a side
        radius = max(0.0, min(rng.uniform(0, h), h - 2))
        draw.rounded_rectangle((cx - r, cy - h, cx + r, cy + h), radius=radius,
                               fill=fill, outline=outline, width=max(1, min(width, int(h))))
    else:  # blob: an irregular polygon of random radii
        n = rng.randint(5, 11)
        pts = [(cx + r * rng.uniform(0.4, 1.0) * math.cos(angle + 2 * math.pi * k / n),
                cy + r * rng.uniform(0.4, 1.0) * math.sin(angle + 2 * math.pi * k / n))
               for k in range(n)]
        draw.polygon(pts, fill=fill, outline=outline, width=width)


def _draw_device(draw: ImageDraw.ImageDraw, rng: random.Random, box: tuple[float, ...],
                 ink: tuple[int, int, int], paper: tuple[int, int, int]) -> None:
    """A figurative device: a few elements, sometimes repeated around a centre."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    r = min(x1 - x0, y1 - y0) / 2
    if rng.random() < 0.3:  # radial repetition, common in logos
        n = rng.randint(3, 8)
        small = r * rng.uniform(0.2, 0.4)
        orbit = r - small
        a0 = rng.uniform(0, 2 * math.pi)
        state = rng.getstate()
        for k in range(n):
            rng.setstate(state)  # the same element each time
            a = a0 + 2 * math.pi * k / n
            _draw_shape(draw, rng, cx + orbit * math.cos(a), cy + orbit * math.sin(a),
                        small, ink, paper)
        if rng.random() < 0.5:
            _draw_shape(draw, rng, cx, cy, r * 0.3, ink, paper)
        return
    for i in range(rng.randint(1, 3)):
        scale = 1.0 if i == 0 else rng.uniform(0.3, 0.7)
        jitter = r * (1 - scale)
        _draw_shape(draw, rng, cx + rng.uniform(-jitter, jitter),
                    cy + rng.uniform(-jitter, jitter), r * scale, ink, paper)


def _draw_text(draw: ImageDraw.ImageDraw, rng: random.Random, box: tuple[float, ...],
               fonts: list[str], ink: tuple[int, int, int]) -> None:
    """An invented word mark fitted into box, Chinese when a CJK font is available."""
    x0, y0, x1, y1 = box
    han = cjk_fonts(fonts)
    if han and rng.random() < 0.35:
        text, path = hanzi_word(rng), rng.choice(han)
    else:
        text = pseudo_word(rng)
        if rng.random() < 0.2:
            text += " " + pseudo_word(rng)
        path = rng.choice(fonts) if fonts else None
    ref = 100
    font = _font(path, ref) if path else ImageFont.load_default(ref)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    scale = min((x1 - x0) / max(1, right - left), (y1 - y0) / max(1, bottom - top))
    size = max(8, int(ref * scale * rng.uniform(0.8, 1.0)))
    font = _font(path, size) if path else ImageFont.load_default(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (x0 + x1) / 2 - (left + right) / 2
    y = (y0 + y1) / 2 - (top + bottom) / 2
    draw.text((x, y), text, font=font, fill=ink)


def generate_synthetic_mark(rng: random.Random, size: int, fonts: list[str]) -> Image.Image:
    """A random logo-like RGB image of size x size: device, word mark, or both."""
    big = size * SUPERSAMPLE
    paper = (255, 255, 255)
    ink = _ink_colour(rng)
    image = Image.new("RGB", (big, big), paper)
    draw = ImageDraw.Draw(image)
    m = big * rng.uniform(0.06, 0.14)
    layout = rng.choices(("device", "word", "stacked", "side", "badge"),
                         weights=(4, 2, 2, 1, 1))[0]
    if layout == "device":
        _draw_device(draw, rng, (m, m, big - m, big - m), ink, paper)
    elif layout == "word":
        _draw_text(draw, rng, (m, big * 0.3, big - m, big * 0.7), fonts, ink)
    elif layout == "stacked":
        split = big * rng.uniform(0.6, 0.72)
        _draw_device(draw, rng, (m, m, big - m, split - m / 2), ink, paper)
        _draw_text(draw, rng, (m, split, big - m, big - m), fonts, ink)
    elif layout == "side":
        split = big * rng.uniform(0.35, 0.45)
        _draw_device(draw, rng, (m, big / 2 - split / 2, split, big / 2 + split / 2), ink, paper)
        _draw_text(draw, rng, (split + m / 2, big * 0.38, big - m, big * 0.62), fonts, ink)
    else:  # badge: the word in paper colour on a solid shape
        r = big / 2 - m
        c = big / 2
        if rng.random() < 0.5:
            draw.ellipse((c - r, c - r, c + r, c + r), fill=ink)
        else:
            draw.rounded_rectangle((m, big * 0.25, big - m, big * 0.75),
                                   radius=rng.uniform(0, big * 0.2), fill=ink)
        _draw_text(draw, rng, (c - r * 0.72, c - r * 0.35, c + r * 0.72, c + r * 0.35),
                   fonts, paper)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def make_synthetic_image(seed: str, size: int, fonts: tuple[str, ...]) -> Image.Image:
    """Picklable entry point for worker processes: one mark from a string seed."""
    return generate_synthetic_mark(random.Random(seed), size, list(fonts))
