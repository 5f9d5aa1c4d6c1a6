"""Local scaling of query parts: a plain shape that many marks contain must not crowd out
the mark that shares the query's distinctive figure."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from service.matching import CROWDING_K, crowding, crowding_penalty
from service.metadata import MarkMetadata
from service.register import Register
from tests.imagegen import make_mark, to_bytes


def test_crowding_is_the_mean_of_the_best_scores() -> None:
    scores = np.array([0.1, 0.9, 0.5] + [0.2] * 20)
    assert crowding(scores) == pytest.approx(np.sort(scores)[-CROWDING_K:].mean())
    assert crowding(np.array([0.4, 0.6])) == pytest.approx(0.5)  # fewer than k
    assert crowding(np.array([])) == 0.0


def test_only_parts_more_crowded_than_the_whole_lose() -> None:
    assert crowding_penalty(0.95, 0.80) == pytest.approx(0.15)
    assert crowding_penalty(0.70, 0.80) == 0.0


def disc_beside(figure: Image.Image) -> Image.Image:
    """A plain disc (common to many marks) beside a figure."""
    canvas = Image.new("RGB", (300, 130), "white")
    ImageDraw.Draw(canvas).ellipse((5, 10, 115, 120), fill="#222")
    canvas.paste(figure, (170, 0))
    return canvas


def test_a_common_disc_does_not_crowd_out_the_shared_figure(register: Register) -> None:
    for seed in range(14):  # every mark has the same disc beside its own figure
        register.add_mark(to_bytes(disc_beside(make_mark(seed))),
                          MarkMetadata(id=f"disc-{seed}"))
    register.add_mark(to_bytes(make_mark(9)), MarkMetadata(id="figure-9"))
    query = to_bytes(disc_beside(make_mark(9)))
    results = register.search(query, k=8)
    ids = [r.record.id for r in results]
    assert ids[0] == "disc-9"  # the same composite
    found = results[ids.index("figure-9")]  # shares only the distinctive figure
    assert found.query_part is not None and found.query_part.box[0] >= 160
    through_the_disc = [r for r in results if r.query_part is not None
                        and r.query_part.box[0] < 20]
    assert all(r.score < found.score for r in through_the_disc)
