"""Brand-set rules, the hash split, and icon -> SVG -> PNG, offline and fast."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from scripts.datasets.brand_sets import (
    brand_hash_is_even,
    brand_key,
    is_brand_set,
    is_distractor_holdout,
    is_non_commercial,
    looks_like_brand_icon,
    normalise_brand_name,
)
from scripts.datasets.iconify import icon_to_svg, is_animated, visible_icons
from scripts.datasets.render import BlankImageError, render_svg_image, svg_to_png


def _expected_even(normalised: str) -> bool:
    return int(hashlib.sha1(normalised.encode()).hexdigest(), 16) % 2 == 0


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("GitHub", "github"),
        ("Node.js", "nodejs"),
        ("Café Olé", "cafeole"),
        ("Société Générale", "societegenerale"),
        ("1Password", "1password"),
        ("  A-B_C  ", "abc"),
        ("中文", ""),
    ],
)
def test_normalise_brand_name(raw: str, normalised: str) -> None:
    assert normalise_brand_name(raw) == normalised


@pytest.mark.parametrize("name", ["github", "GitHub", "Node.js", "nodejs", "Café", "x", ""])
def test_hash_rule_matches_sha1_parity(name: str) -> None:
    assert brand_hash_is_even(name) == _expected_even(normalise_brand_name(name))


def test_hash_rule_known_values() -> None:
    # parity of the SHA-1 integer is the parity of its last hex digit
    for name, norm in [("GitHub", "github"), ("Node.js", "nodejs"), ("Café", "cafe")]:
        digest = hashlib.sha1(norm.encode()).hexdigest()
        assert brand_hash_is_even(name) is (int(digest[-1], 16) % 2 == 0)
    # both parities occur, so the split is not degenerate
    parities = {brand_hash_is_even(f"brand{i}") for i in range(20)}
    assert parities == {True, False}


def test_is_brand_set() -> None:
    assert is_brand_set("some-logos", {"category": "Logos", "name": "Some logos"})
    assert not is_brand_set("mdi", {"category": "Material", "name": "Material Design"})
    assert is_brand_set("simple-icons", {"category": "Anything"})
    assert is_brand_set("fa7-brands", {})
    assert is_brand_set("logos", {"set": "logos", "source": "iconify"})  # a manifest row
    assert not is_brand_set("synthetic", {"set": "synthetic", "source": "synthetic"})


def test_brand_key_and_brand_icons_in_general_sets() -> None:
    assert brand_key("github-icon") == "github"
    assert brand_key("brand-github-filled") == "github"
    assert brand_key("facebook-logo-1-block") == "facebook"
    assert brand_key("python-wordmark") == "python"
    assert brand_key("nodejs-dark") == "nodejs"
    keys = {"github"}
    assert looks_like_brand_icon("github-fill", keys)
    assert looks_like_brand_icon("logo-foo", keys)
    assert not looks_like_brand_icon("home", keys)


def test_holdout_and_licences() -> None:
    share = sum(is_distractor_holdout("mdi", f"icon-{i}") for i in range(5000)) / 5000
    assert 0.07 < share < 0.13
    assert is_distractor_holdout("mdi", "home") == is_distractor_holdout("mdi", "home")
    assert is_non_commercial({"spdx": "CC-BY-NC-4.0"})
    assert not is_non_commercial({"spdx": "CC-BY-4.0", "title": "CC BY 4.0"})
    assert not is_non_commercial(None)


TINY_SET = {
    "prefix": "tiny",
    "width": 24,
    "height": 24,
    "icons": {
        "square": {"body": '<path fill="currentColor" d="M4 4h16v16H4z"/>'},
        "wide": {"body": '<rect x="0" y="0" width="48" height="24" fill="#f00"/>', "width": 48},
        "gone": {"body": '<path d="M0 0h1v1z"/>', "hidden": True},
        "blank": {"body": '<path fill="none" d="M4 4h16v16H4z"/>'},
        "spin": {"body": '<path d="M0 0h9v9z"><animate attributeName="d"/></path>'},
    },
    "aliases": {"box": {"parent": "square"}},
}


def test_icon_to_svg() -> None:
    svg = icon_to_svg(TINY_SET, "square", size=64, margin=4)
    assert svg is not None
    assert 'width="64"' in svg and 'viewBox="0 0 24 24"' in svg
    assert 'color="#000000"' in svg and "M4 4h16v16H4z" in svg
    assert 'viewBox="0 0 48 24"' in (icon_to_svg(TINY_SET, "wide", 64) or "")
    assert icon_to_svg(TINY_SET, "gone", 64) is None
    assert icon_to_svg(TINY_SET, "box", 64) is None  # aliases are not resolved
    assert visible_icons(TINY_SET) == ["square", "wide", "blank", "spin"]
    assert is_animated(TINY_SET, "spin") and not is_animated(TINY_SET, "square")


def test_render_svg_to_png() -> None:
    png = svg_to_png(icon_to_svg(TINY_SET, "square", size=64, margin=4) or "")
    with Image.open(io.BytesIO(png)) as img:
        assert img.size == (64, 64)
    image = render_svg_image(icon_to_svg(TINY_SET, "square", size=64, margin=4) or "")
    assert image.mode == "RGB" and image.size == (64, 64)
    assert image.getpixel((32, 32)) == (0, 0, 0)  # ink in the middle
    assert image.getpixel((1, 1)) == (255, 255, 255)  # white margin
    wide = render_svg_image(icon_to_svg(TINY_SET, "wide", size=64) or "")
    assert wide.getpixel((32, 32))[0] > 200 and wide.getpixel((32, 2)) == (255, 255, 255)
    with pytest.raises(BlankImageError):
        render_svg_image(icon_to_svg(TINY_SET, "blank", size=64) or "")
