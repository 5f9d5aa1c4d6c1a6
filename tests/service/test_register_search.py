"""Search semantics of the register: filters inside the search, crops, rotation
tolerance, and search by a mark already in the register."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from service.marks.filters import parse_filters
from service.marks.metadata import MarkMetadata
from service.marks.views import Crop
from service.register import Register
from service.search.query import SearchOptions
from service.storage.stored_marks import MarkNotFound
from tests.imagegen import make_mark, to_bytes


def _fill(register: Register, n: int = 40) -> None:
    """Marks mark-0..n-1; every 10th is class 9, owned by Rare Ltd, filed in 2021."""
    for seed in range(n):
        rare = seed % 10 == 3
        meta = MarkMetadata(
            id=f"mark-{seed}",
            nice_classes=[9] if rare else [25],
            vienna_codes=["26.01.03"] if rare else ["03.01.01"],
            owner="Rare Ltd" if rare else "Common plc",
            filing_date="2021-06-01" if rare else "2015-01-01",
            status="registered",
        )
        register.add_mark(to_bytes(make_mark(seed)), meta)


@pytest.mark.parametrize("fields", [
    {"nice_classes": "9"}, {"vienna_codes": "26.01"}, {"owner": "rare"},
    {"filed_from": "2020-01-01"},
])
def test_selective_filter_still_returns_k_results(register: Register, fields: dict) -> None:
    _fill(register)
    query = to_bytes(make_mark(0))  # mark-0 itself is filtered out
    rare = {"mark-3", "mark-13", "mark-23", "mark-33"}
    unfiltered = [r.record.id for r in register.search(query, k=4)]
    assert unfiltered[0] == "mark-0" and set(unfiltered) != rare
    options = SearchOptions(filters=parse_filters(**fields))
    results = register.search(query, k=4, options=options)
    assert sorted(r.record.id for r in results) == ["mark-13", "mark-23", "mark-3", "mark-33"]
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_filter_that_matches_nothing_returns_nothing(register: Register) -> None:
    _fill(register, 12)
    options = SearchOptions(filters=parse_filters(nice_classes="1"))
    assert register.search(to_bytes(make_mark(1)), k=5, options=options) == []


def test_crop_searches_with_the_figure_of_a_composite(register: Register) -> None:
    _fill(register, 20)
    composite = Image.new("RGB", (300, 128), "white")
    composite.paste(make_mark(7), (0, 0))
    composite.paste(make_mark(11), (172, 0))
    data = to_bytes(composite)
    left = register.search(data, k=1, options=SearchOptions(crop=Crop(0, 0, 128, 128)))
    right = register.search(data, k=1, options=SearchOptions(crop=Crop(172, 0, 128, 128)))
    assert left[0].record.id == "mark-7" and left[0].score > 0.99
    assert right[0].record.id == "mark-11" and right[0].score > 0.99


@pytest.mark.parametrize("turn", [Image.Transpose.ROTATE_90, Image.Transpose.FLIP_LEFT_RIGHT,
                                  Image.Transpose.TRANSPOSE])
def test_rotation_tolerant_search_finds_turned_and_mirrored_copies(
    register: Register, turn: Image.Transpose
) -> None:
    _fill(register, 20)
    query = to_bytes(make_mark(5).transpose(turn))
    tolerant = register.search(query, k=3, options=SearchOptions(rotation_tolerant=True))
    assert tolerant[0].record.id == "mark-5"
    assert tolerant[0].score == pytest.approx(1.0, abs=1e-3)
    plain = register.search(query, k=3)
    assert plain[0].score < tolerant[0].score
    assert len({r.record.id for r in tolerant}) == 3  # one result per mark, not per view


def test_similar_leaves_out_the_mark_and_honours_filters(register: Register) -> None:
    _fill(register, 40)
    results = register.similar("mark-3", k=5)
    ids = [r.record.id for r in results]
    assert len(ids) == 5 and "mark-3" not in ids
    filtered = register.similar("mark-3", k=3, options=SearchOptions(
        filters=parse_filters(nice_classes="9")))
    assert sorted(r.record.id for r in filtered) == ["mark-13", "mark-23", "mark-33"]
    with pytest.raises(MarkNotFound):
        register.similar("no-such-mark")


def test_a_copy_cut_out_of_a_mark_tries_the_whole_it_came_from(
        register: Register, monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(register, 20)
    original = Image.new("RGB", (200, 200), "white")  # one element: an arrow with a notch
    ImageDraw.Draw(original).polygon(
        [(20, 70), (115, 70), (115, 25), (185, 100), (115, 175), (115, 130), (60, 130),
         (40, 160), (20, 160)], fill=(20, 20, 160))
    register.add_mark(to_bytes(original), MarkMetadata(id="whole"))
    cut = to_bytes(original.crop((0, 0, 150, 200)))  # its right quarter cut off

    def score_of_whole() -> float:
        return next(r.score for r in register.search(cut, k=25) if r.record.id == "whole")

    assert register.search(cut, k=1)[0].record.id == "whole"
    with_wholes = score_of_whole()
    monkeypatch.setattr("models.descriptor.REFRAMES", ())  # the cut copy as drawn only
    assert with_wholes > score_of_whole() + 0.1
