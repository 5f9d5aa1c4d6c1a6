"""Canonical input: crop to the ink, centre on a square, colour-blind ink map."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from models.preprocess import canonical_square, ink_extent, ink_map, prepare
from tests.imagegen import make_mark


def test_extent_ignores_specks() -> None:
    ink = np.zeros((100, 100), np.uint8)
    ink[30:60, 40:70] = 255
    ink[2, 2] = 255  # a speck far from the mark
    assert ink_extent(ink) == (40, 30, 70, 60)


def test_blank_image_has_no_extent() -> None:
    assert ink_extent(np.zeros((10, 10), np.uint8)) is None
    out = prepare(Image.new("RGB", (50, 50), "white"), 32, "ink")
    assert out.shape == (1, 32, 32) and out.max() == 0


def test_scaled_and_moved_copy_gives_nearly_the_same_input() -> None:
    mark = make_mark(7, size=128)
    canvas = Image.new("RGB", (400, 300), "white")
    canvas.paste(mark.resize((64, 64)), (300, 200))
    a = prepare(mark, 64, "ink").astype(np.float32)
    b = prepare(canvas, 64, "ink").astype(np.float32)
    assert np.abs(a - b).mean() < 12  # out of 255; resampling differences only


def test_ink_map_is_blind_to_colour_and_polarity() -> None:
    def draw(ink: tuple[int, int, int], ground: tuple[int, int, int]) -> Image.Image:
        image = Image.new("RGB", (96, 96), ground)
        ImageDraw.Draw(image).ellipse([20, 30, 70, 80], fill=ink)
        return image

    dark_on_white = prepare(draw((0, 0, 0), (255, 255, 255)), 48, "ink").astype(int)
    white_on_black = prepare(draw((255, 255, 255), (0, 0, 0)), 48, "ink").astype(int)
    red_on_white = prepare(draw((230, 20, 20), (255, 255, 255)), 48, "ink")
    assert np.array_equal(dark_on_white, white_on_black)
    assert red_on_white.max() >= 230


def test_canonical_square_is_square_and_keeps_background() -> None:
    image = Image.new("RGB", (200, 80), (10, 20, 200))
    ImageDraw.Draw(image).rectangle([50, 20, 150, 60], fill=(255, 255, 0))
    square, background = canonical_square(image)
    assert square.shape[0] == square.shape[1]
    assert tuple(np.round(background).astype(int)) == (10, 20, 200)
    assert tuple(square[0, 0]) == (10, 20, 200)
    assert ink_map(square, background).max() > 200


def test_rgb_mode_has_three_channels() -> None:
    assert prepare(make_mark(1), 40, "rgb").shape == (3, 40, 40)


def test_ink_map_fast_path_equals_the_plain_formula() -> None:
    """The OpenCV kernels give exactly the per-pixel max channel distance (background
    truncated to whole levels, as the network was trained with)."""
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    for background in (np.array([250.5, 3.0, 128.0]), np.array([0.0, 255.0, 17.9])):
        plain = np.abs(rgb.astype(np.int16) - background.astype(np.int16)).max(axis=2)
        assert np.array_equal(ink_map(rgb, background), plain.astype(np.uint8))
        assert np.array_equal(ink_map(rgb.astype(np.float32), background), plain)
