"""The orientation descriptor: edges that survive redrawing, turns that need no network."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from models.descriptor import (
    REFRAMES,
    SMALL_TURNS,
    descriptor_dim,
    dihedral,
    orientation_histogram,
    turned_descriptors,
)
from models.preprocess import canonical_view, prepare

CELLS = 6


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


def _disc() -> Image.Image:
    disc = Image.new("RGB", (160, 160), "white")
    ImageDraw.Draw(disc).ellipse([20, 20, 140, 140], fill=(200, 20, 20))
    return disc


def _describe(image: Image.Image) -> np.ndarray:
    return orientation_histogram(prepare(image, 128, "ink+grey"), CELLS)


def test_prepared_input_has_ink_and_grey() -> None:
    prepared = prepare(_star(), 128, "ink+grey")
    assert prepared.shape == (2, 128, 128) and prepared.dtype == np.uint8
    assert prepared[0, 0, 0] == 0 and prepared[1, 0, 0] == 255  # no ink, white ground
    assert _describe(_star()).shape == (descriptor_dim(CELLS),)


def test_outline_drawing_matches_its_filled_original_better_than_another_shape() -> None:
    filled, outline = _describe(_star()), _describe(_star(outline=7))
    assert float(filled @ filled) > 0.999
    assert float(filled @ outline) > float(filled @ _describe(_disc())) + 0.2


def test_thicker_strokes_keep_the_descriptor_close() -> None:
    thin = _star(outline=3)
    thick = thin.filter(ImageFilter.MinFilter(7))  # dark ink grows on white
    assert float(_describe(thin) @ _describe(thick)) > float(_describe(thin) @ _describe(_disc()))
    assert float(_describe(thin) @ _describe(thick)) > 0.7


def test_contrast_reversal_and_recolouring_do_not_matter() -> None:
    star = _star()
    inverted = Image.eval(star, lambda v: 255 - v)
    blue = _star(fill=(20, 20, 200))
    assert float(_describe(star) @ _describe(inverted)) > 0.95
    assert float(_describe(star) @ _describe(blue)) > 0.95


def test_a_figure_inside_a_filled_tile_is_seen() -> None:
    """The ink map of a black star on a yellow tile is all ink; the grey keeps the star."""
    def ink_only(image: Image.Image) -> np.ndarray:
        return orientation_histogram(prepare(image, 128, "ink"), CELLS)

    def tile(figure: bool) -> Image.Image:
        image = Image.new("RGB", (160, 160), "white")
        ImageDraw.Draw(image).rectangle([10, 10, 150, 150], fill=(250, 220, 0))
        if figure:
            star = _star(fill=(0, 0, 0), size=100)
            mask = Image.fromarray((np.asarray(star.convert("L")) < 128).astype(np.uint8) * 255)
            image.paste(star, (30, 30), mask)
        return image
    assert float(ink_only(tile(True)) @ ink_only(tile(False))) > 0.999  # the ink map is blind
    assert float(_describe(tile(True)) @ _describe(tile(False))) < 0.9


def test_dihedral_turns_are_the_descriptors_of_turned_images() -> None:
    image = _star(fill=(20, 20, 200)).crop((0, 0, 160, 120)).resize((160, 160))
    prepared = prepare(image, 128, "ink+grey")
    assert len(dihedral(prepared)) == 7
    turned = turned_descriptors(prepared, CELLS)
    for transpose in (Image.Transpose.ROTATE_90, Image.Transpose.FLIP_LEFT_RIGHT):
        expected = _describe(image.transpose(transpose))
        assert max(float(t @ expected) for t in turned) > 0.95


def test_small_rotations_are_undone_by_a_turn() -> None:
    prepared = prepare(_star(), 128, "ink+grey")
    maps = turned_descriptors(prepared, CELLS)
    assert len(maps) == 7 + len(SMALL_TURNS)
    assert all(abs(float(np.linalg.norm(m)) - 1.0) < 1e-4 for m in maps)
    image = _star().crop((0, 20, 160, 160))
    rotated = image.rotate(20, Image.Resampling.BILINEAR, expand=True, fillcolor="white")
    original = _describe(image)
    as_drawn = float(_describe(rotated) @ original)
    best_turn = max(float(m @ original)
                    for m in turned_descriptors(prepare(rotated, 128, "ink+grey"), CELLS))
    assert best_turn > as_drawn


def test_an_empty_image_has_a_zero_descriptor() -> None:
    assert not _describe(Image.new("RGB", (64, 64), "white")).any()


def _badge(size: int = 200) -> Image.Image:
    """An asymmetric device: a bar, a disc and a triangle, with a white margin."""
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([20, 30, 120, 60], fill=(20, 20, 160))
    draw.ellipse([110, 90, 180, 160], fill=(20, 20, 160))
    draw.polygon([(25, 180), (60, 90), (95, 180)], fill=(20, 20, 160))
    return image


def cut_sides(image: Image.Image) -> str:
    return canonical_view(image).cut


def test_the_sides_a_mark_runs_off_are_the_cut_ones() -> None:
    assert cut_sides(_badge()) == ""  # drawn on its ground
    assert cut_sides(_badge().crop((40, 45, 200, 200))) == "lt"
    assert cut_sides(_badge().crop((0, 0, 150, 170))) == "rb"
    assert cut_sides(_badge().crop((20, 30, 181, 181))) == ""  # a tight crop of the whole


def test_a_cut_copy_is_matched_through_the_whole_it_was_cut_from() -> None:
    original = _describe(_badge())
    cut = _badge().crop((0, 0, 150, 200))  # the right quarter cut off
    prepared = prepare(cut, 128, "ink+grey")
    as_cut = float(orientation_histogram(prepared, CELLS) @ original)
    plain = turned_descriptors(prepared, CELLS)
    reframed = turned_descriptors(prepared, CELLS, cut_sides(cut))
    assert len(reframed) == len(plain) + len(REFRAMES)
    assert max(float(m @ original) for m in reframed[len(plain):]) > as_cut + 0.05
