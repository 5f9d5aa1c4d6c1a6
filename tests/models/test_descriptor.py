"""The contour descriptor: edges that survive redrawing, turns that need no network."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from models.descriptor import SMALL_TURNS, contour_map, dihedral_maps, turned_maps
from models.preprocess import prepare

SIDE = 16


def _star(outline: int | None = None, fill: tuple[int, int, int] = (200, 20, 20),
          size: int = 160) -> Image.Image:
    """A filled five-pointed star, or only its outline ``outline`` px wide."""
    image = Image.new("RGB", (size, size), "white")
    c, r_out, r_in = size / 2, size * 0.42, size * 0.17
    points = []
    for i in range(10):
        r = r_out if i % 2 == 0 else r_in
        a = np.pi / 2 + i * np.pi / 5
        points.append((c + r * np.cos(a), c - r * np.sin(a)))
    draw = ImageDraw.Draw(image)
    if outline is None:
        draw.polygon(points, fill=fill)
    else:
        draw.polygon(points, outline=fill, width=outline)
    return image


def _map(image: Image.Image) -> np.ndarray:
    return contour_map(prepare(image, 128, "ink+edges"), SIDE)


def test_prepared_input_has_ink_and_edges() -> None:
    prepared = prepare(_star(), 128, "ink+edges")
    assert prepared.shape == (2, 128, 128) and prepared.dtype == np.uint8
    assert set(np.unique(prepared[1])) <= {0, 255} and prepared[1].any()


def test_outline_drawing_matches_its_filled_original_better_than_another_shape() -> None:
    filled, outline = _map(_star()), _map(_star(outline=7))
    disc = Image.new("RGB", (160, 160), "white")
    ImageDraw.Draw(disc).ellipse([20, 20, 140, 140], fill=(200, 20, 20))
    assert float(filled @ filled) > 0.999
    assert float(filled @ outline) > 0.7
    assert float(filled @ outline) > float(filled @ _map(disc)) + 0.2


def test_thicker_strokes_keep_the_contour_close() -> None:
    thin = _star(outline=3)
    thick = thin.filter(ImageFilter.MinFilter(7))  # dark ink grows on white
    assert float(_map(thin) @ _map(thick)) > 0.8


def test_a_figure_inside_a_filled_tile_is_seen() -> None:
    """The ink map of a black star on a yellow tile is all ink; the edges keep the star."""
    def tile(figure: bool) -> Image.Image:
        image = Image.new("RGB", (160, 160), "white")
        draw = ImageDraw.Draw(image)
        draw.rectangle([10, 10, 150, 150], fill=(250, 220, 0))
        if figure:
            star = _star(fill=(0, 0, 0), size=100)
            mask = Image.fromarray((np.asarray(star.convert("L")) < 128).astype(np.uint8) * 255)
            image.paste(star, (30, 30), mask)
        return image
    assert float(_map(tile(True)) @ _map(tile(False))) < 0.8


def test_dihedral_maps_are_the_maps_of_turned_images() -> None:
    image = _star(fill=(20, 20, 200))
    image = image.crop((0, 0, 160, 120)).resize((160, 160))  # not symmetric any more
    turned = dihedral_maps(_map(image), SIDE)
    expected = _map(image.transpose(Image.Transpose.ROTATE_90))
    assert len(turned) == 7
    assert max(float(t @ expected) for t in turned) > 0.95


def test_turned_maps_cover_dihedral_and_small_rotations() -> None:
    prepared = prepare(_star(), 128, "ink+edges")
    maps = turned_maps(prepared, SIDE)
    assert len(maps) == 7 + len(SMALL_TURNS)
    assert all(abs(float(np.linalg.norm(m)) - 1.0) < 1e-4 for m in maps)
    rotated = prepare(_star().rotate(20, Image.Resampling.BILINEAR, expand=True,
                                     fillcolor="white"), 128, "ink+edges")
    original = contour_map(prepared, SIDE)
    as_drawn = float(contour_map(rotated, SIDE) @ original)
    best_turn = max(float(m @ original) for m in turned_maps(rotated, SIDE))
    assert best_turn > as_drawn


def test_an_empty_image_has_a_zero_map() -> None:
    blank = prepare(Image.new("RGB", (64, 64), "white"), 128, "ink+edges")
    assert not contour_map(blank, SIDE).any()
