"""Composite marks: splitting into figure / words / frame, and searching by component."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from service.marks.colour import SearchMode
from service.marks.components import split_components
from service.marks.metadata import MarkMetadata
from service.register import Register
from service.search.query import SearchOptions
from tests.imagegen import make_mark, to_bytes

FONT = Path("/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf")


def _font(size: int = 60) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size) if FONT.is_file() else ImageFont.load_default(size)


def figure(size: int = 130, colour: str = "#c22") -> Image.Image:
    """A filled figure: a disc with a square notch (one connected element)."""
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((5, 5, size - 5, size - 5), fill=colour)
    draw.rectangle((size // 2, size // 3, size - 5, size // 2), fill="white")
    return image


def with_word(fig: Image.Image, word: str = "ACME") -> Image.Image:
    canvas = Image.new("RGB", (fig.width + 300, fig.height + 20), "white")
    canvas.paste(fig, (10, 10))
    ImageDraw.Draw(canvas).text((fig.width + 40, fig.height // 3), word, font=_font(),
                                fill="#222")
    return canvas


def framed(fig: Image.Image) -> Image.Image:
    canvas = Image.new("RGB", (fig.width + 100, fig.height + 100), "white")
    canvas.paste(fig, (50, 50))
    ImageDraw.Draw(canvas).rectangle((8, 8, canvas.width - 9, canvas.height - 9),
                                     outline="black", width=7)
    return canvas


def test_figure_and_word_are_split_with_boxes() -> None:
    parts = split_components(with_word(figure()))
    assert sorted(p.kind for p in parts) == ["figure", "words"]
    fig = next(p for p in parts if p.kind == "figure")
    x, y, w, h = fig.box
    assert x <= 16 and y <= 16 and 115 <= w <= 135 and 115 <= h <= 135
    words = next(p for p in parts if p.kind == "words")
    assert words.box[0] > 140  # right of the figure


def test_frame_is_found_and_the_figure_inside_it() -> None:
    parts = split_components(framed(figure()))
    kinds = [p.kind for p in parts]
    assert kinds == ["figure", "frame"]  # figures first, the frame last
    x, y, w, h = next(p for p in parts if p.kind == "figure").box
    assert 45 <= x <= 60 and 45 <= y <= 60


def test_a_figure_drawn_in_pieces_stays_one_figure_beside_words() -> None:
    pieces = make_mark(6, 120)  # three separate shapes: one device
    parts = split_components(with_word(pieces, "MIRALO"))
    assert [p.kind for p in parts] == ["figure", "words"]
    x, y, w, h = parts[0].box
    assert x <= 20 and w >= 80  # spans the pieces, not one of them


def test_words_on_one_line_are_one_verbal_element() -> None:
    image = Image.new("RGB", (760, 150), "white")
    image.paste(figure(), (10, 10))
    ImageDraw.Draw(image).text((170, 45), "ACME    CORP", font=_font(), fill="#222")
    words = [p for p in split_components(image) if p.kind == "words"]
    assert len(words) == 1 and words[0].box[2] > 380


def test_two_devices_are_figures_of_their_own() -> None:
    canvas = Image.new("RGB", (330, 140), "white")
    canvas.paste(figure(), (5, 5))
    canvas.paste(figure(colour="#22c").rotate(90), (190, 5))
    parts = split_components(canvas)
    assert [p.kind for p in parts] == ["figure", "figure"]
    assert parts[0].box[0] < 40 and parts[1].box[0] > 170


def test_a_thin_device_beside_a_solid_one_is_still_a_figure_of_its_own() -> None:
    canvas = Image.new("RGB", (330, 160), "white")
    draw = ImageDraw.Draw(canvas)
    draw.ellipse((5, 5, 150, 150), outline="#123", width=3)  # little ink, much room
    draw.line((30, 80, 125, 80), fill="#123", width=3)
    draw.rectangle((185, 10, 325, 150), fill="#c22")  # solid: most of the ink
    figures = [p for p in split_components(canvas) if p.kind == "figure"]
    assert len(figures) == 2 and figures[0].box[0] < 20 <= 180 < figures[1].box[0] + 10


def test_devices_one_above_the_other_are_cut_apart() -> None:
    canvas = Image.new("RGB", (140, 300), "white")
    canvas.paste(make_mark(3, 130), (5, 0))  # a device in pieces
    canvas.paste(figure(120), (10, 170))
    figures = [p for p in split_components(canvas) if p.kind == "figure"]
    assert any(f.box[1] >= 165 for f in figures)  # the lower device alone
    assert any(f.box[1] + f.box[3] <= 135 for f in figures)  # the upper one alone


def test_single_element_mark_has_no_components() -> None:
    assert split_components(figure()) == []
    assert split_components(Image.new("RGB", (64, 64), "white")) == []


def test_boxes_are_in_the_original_pixels_of_a_large_image() -> None:
    big = with_word(figure()).resize((1720, 600))
    fig = next(p for p in split_components(big) if p.kind == "figure")
    assert fig.box[2] > 400  # scaled back from the analysis size


@pytest.fixture
def composite_register(register: Register) -> Register:
    for seed in range(15):
        register.add_mark(to_bytes(make_mark(seed + 200)), MarkMetadata(id=f"other-{seed}"))
    register.add_mark(to_bytes(with_word(figure())), MarkMetadata(id="acme-composite"))
    register.add_mark(to_bytes(framed(figure(colour="#135"))), MarkMetadata(id="framed"))
    return register


def test_figure_alone_finds_the_composite_marks_that_contain_it(
    composite_register: Register,
) -> None:
    shape_only = SearchOptions(mode=SearchMode.shape)  # the query is green, the marks are not
    results = composite_register.search(to_bytes(figure(colour="#080")), k=3, options=shape_only)
    top_two = {r.record.id for r in results[:2]}
    assert top_two == {"acme-composite", "framed"}
    for result in results[:2]:
        assert result.component is not None and result.component.kind == "figure"
        assert result.score >= 0.9  # as the figure scores, less the component margin
        assert result.query_part is None  # the query was a single figure


def test_composite_query_finds_a_mark_sharing_only_its_figure(register: Register) -> None:
    for seed in range(15):
        register.add_mark(to_bytes(make_mark(seed + 300)), MarkMetadata(id=f"other-{seed}"))
    register.add_mark(to_bytes(figure()), MarkMetadata(id="figure-only"))
    query = with_word(figure(colour="#226"), "ZORBLAX")
    (top, *_) = register.search(to_bytes(query), k=3)
    assert top.record.id == "figure-only"
    assert top.query_part is not None and top.query_part.kind == "figure"
    assert top.component is None  # matched the whole of the registered mark


def test_components_survive_update_and_remove(composite_register: Register) -> None:
    reg = composite_register
    before = reg.get("acme-composite")
    # the figure has a vector of its own; the words are kept as text, not as a shape
    assert [c.kind for c in before.components] == ["figure"] and before.text == "ACME"
    reg.add_mark(to_bytes(figure()), MarkMetadata(id="acme-composite"))  # now single
    after = reg.get("acme-composite")
    assert after.components == []
    ids = set(reg.store.ids().tolist())
    assert not ids & set(before.all_vector_ids())
    assert ids == set(reg.records.vector_ids())
    reg.remove(["framed"])
    assert set(reg.store.ids().tolist()) == set(reg.records.vector_ids())
    reg.reindex()
    assert set(reg.store.ids().tolist()) == set(reg.records.vector_ids())


def _tile(figure_colour: str | None, shape: str = "rounded") -> Image.Image:
    """A filled tile (rounded square or disc) with a figure of another colour inside."""
    image = Image.new("RGB", (200, 200), "white")
    draw = ImageDraw.Draw(image)
    if shape == "rounded":
        draw.rounded_rectangle((10, 10, 190, 190), 30, fill="#fc0")
    else:
        draw.ellipse((10, 10, 190, 190), fill="#fc0")
    if figure_colour is not None:
        draw.polygon([(60, 140), (100, 50), (140, 140)], fill=figure_colour)
    return image


@pytest.mark.parametrize("shape", ["rounded", "disc"])
@pytest.mark.parametrize("colour", ["black", "white"])
def test_a_filled_tile_is_a_container_and_its_figure_a_component(shape: str,
                                                                 colour: str) -> None:
    parts = split_components(_tile(colour, shape))
    assert [p.kind for p in parts] == ["figure", "frame"]
    x, y, w, h = parts[0].box
    assert abs(x - 60) <= 3 and abs(y - 50) <= 3 and abs(w - 81) <= 4 and abs(h - 91) <= 4
    # the crop's ground is the tile's colour, so the figure is ink in its own polarity
    crop = parts[0].crop(_tile(colour, shape))
    assert crop.getpixel((0, 0)) == (255, 204, 0)


def test_a_plain_tile_or_a_frame_is_no_container() -> None:
    assert split_components(_tile(None)) == []
    assert [p.kind for p in split_components(framed(figure()))] == ["figure", "frame"]


def test_an_antialiased_rounded_tile_gives_the_figure_box_not_the_tile() -> None:
    """A rendered SVG tile (skill-icons style: dark rounded square, drawn smooth) has an
    anti-aliased rim at its corners; the figure's box must still be the figure's."""
    big = Image.new("RGB", (640, 640), "white")
    draw = ImageDraw.Draw(big)
    draw.rounded_rectangle((52, 52, 588, 588), 120, fill="#242938")
    draw.polygon([(200, 460), (320, 180), (440, 460)], fill="#e23")
    image = big.resize((160, 160), Image.Resampling.LANCZOS)
    parts = split_components(image)
    assert [p.kind for p in parts] == ["figure", "frame"]
    x, y, w, h = parts[0].box
    assert abs(x - 50) <= 3 and abs(y - 45) <= 3 and abs(w - 60) <= 4 and abs(h - 70) <= 4
    assert parts[1].box[2] > 1.6 * w  # the tile is the frame, far larger than the figure


def _tile_with_short_word(word: str, below: bool) -> Image.Image:
    """An app-icon tile (a dark rounded square with a light figure) and a short word in
    small letters beside or below it: the tile's ink dwarfs the word's (a few %)."""
    tile = Image.new("RGB", (160, 160), "white")
    draw = ImageDraw.Draw(tile)
    draw.rounded_rectangle((5, 5, 155, 155), 30, fill="#242938")
    draw.polygon([(50, 120), (80, 40), (110, 120)], fill="#eee")
    canvas = Image.new("RGB", (160 + (0 if below else 90), 160 + (40 if below else 0)),
                       "white")
    canvas.paste(tile, (0, 0))
    at = (50, 166) if below else (170, 66)
    ImageDraw.Draw(canvas).text(at, word, font=_font(24), fill="#222")
    return canvas


@pytest.mark.parametrize("word, below", [("EEX", False), ("qbl", True), ("Ab", False)])
def test_a_short_word_beside_a_solid_tile_is_a_verbal_element(word: str, below: bool) -> None:
    """The identical device with a word added must be searchable by its figure: the word
    is split off though it holds only a few % of the ink and as few as two letters."""
    image = _tile_with_short_word(word, below)
    parts = split_components(image)
    assert [p.kind for p in parts] == ["figure", "words"]
    x, y, w, h = parts[0].box
    assert x <= 6 and y <= 6 and 148 <= w <= 152 and 148 <= h <= 152  # the whole tile
    wx, wy, _, _ = parts[1].box
    assert (wy > 155) if below else (wx > 160)


def test_a_small_mark_beside_a_figure_inside_its_box_is_no_word() -> None:
    """Two dots inside the figure's own box (a face's eyes drawn apart) stay the figure's."""
    image = Image.new("RGB", (200, 200), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, 190, 190), outline="black", width=12)
    draw.ellipse((60, 70, 72, 82), fill="black")
    draw.ellipse((128, 70, 140, 82), fill="black")
    assert all(p.kind != "words" for p in split_components(image))
