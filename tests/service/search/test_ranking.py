"""The one ranking (service/search/ranking.py): rows, evidence, local scaling, words, colour;
and in a register: an identical figure inside a composite mark is High risk, an exact
copy ranks above a merely similar mark, a word-only match stays below a device match."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from models.descriptor import REFRAMES
from models.embedder import Embedder
from models.signals import EMBEDDING, ORIENTATION, Signal
from service.marks.colour import SearchMode
from service.marks.metadata import MarkMetadata
from service.register import Register
from service.search.query import SearchOptions
from service.search.ranking import (
    COLOUR_WEIGHT,
    CROWDING_FLOOR,
    TURN_PENALTY,
    WORDS_WEIGHT,
    QueryRow,
    crowding_penalties,
    query_rows,
    row_evidence,
    shape_score,
    with_colour,
    with_words,
)
from service.search.risk import RiskLevel, RiskThresholds
from service.settings import Settings
from tests.imagegen import make_mark, to_bytes

EMB = Signal(EMBEDDING, 0, 4, 0.5, 0.8)
HOG = Signal(ORIENTATION, 4, 8, 0.5, 0.6)


def test_scores_stay_in_the_unit_interval() -> None:
    assert shape_score(1.7) == 1.0 and shape_score(-3.0) == 0.0 and shape_score(0.4) == 0.4
    for shape in (0.0, 0.3, 1.0):
        for similarity in (0.0, 0.5, 0.9, 1.0):
            assert 0.0 <= with_words(shape, similarity) <= 1.0
            assert with_words(shape, similarity) >= shape  # words never lower a score
        for colour in (None, -0.2, 0.0, 1.0, 1.3):
            for mode in SearchMode:
                assert 0.0 <= with_colour(shape, colour, mode) <= 1.0


def test_identical_words_alone_score_the_words_weight_below_a_close_device() -> None:
    assert with_words(0.0, 1.0) == pytest.approx(WORDS_WEIGHT)
    assert with_words(0.3, 0.4) == 0.3  # unlike words: noise, no lift
    close_device = 0.9
    assert with_words(0.0, 1.0) < close_device


def test_colour_weight_per_mode() -> None:
    assert with_colour(0.9, 0.1, SearchMode.shape) == 0.9
    assert with_colour(0.9, 0.1, SearchMode.colour) == pytest.approx(0.5)
    w = COLOUR_WEIGHT[SearchMode.composite]
    assert with_colour(0.9, 0.1, SearchMode.composite) == pytest.approx((1 - w) * 0.9 + w * 0.1)
    assert with_colour(0.9, None, SearchMode.colour) == 0.9  # no signature: shape only


def test_evidence_is_one_for_an_identical_image_and_zero_at_the_centre() -> None:
    row = QueryRow(0, HOG)
    scores = np.sqrt(0.5) * np.array([1.0, 0.6, 0.8])  # cosines, as the index scores them
    ev = row_evidence(row, scores, np.array([False, False, True]))
    assert ev[0] == pytest.approx(1.0) and ev[1] == pytest.approx(0.0)
    assert ev[2] < 0.5  # 0.5 on a whole mark, less on a component
    turned = row_evidence(QueryRow(0, HOG, TURN_PENALTY), scores[:1], np.array([False]))
    assert turned[0] == pytest.approx(1.0 - TURN_PENALTY)


def test_a_generic_part_pays_for_its_crowding_a_distinctive_one_does_not() -> None:
    rows = [QueryRow(0, EMB), QueryRow(1, EMB), QueryRow(2, EMB)]
    whole = [True, False, False]
    # the whole query is unusual (0.2); part 1 is a disc that matches every disc (0.9);
    # part 2 a distinctive figure (0.5, below the floor)
    penalties = crowding_penalties([0.2, 0.9, 0.5], rows, whole)
    assert penalties[0] == 0.0 and penalties[2] == 0.0
    assert penalties[1] == pytest.approx(0.9 - CROWDING_FLOOR)


def test_query_rows_per_signal_and_turns(embedder: Embedder) -> None:
    image = make_mark(3)
    prepared = [embedder.prepare(image), embedder.prepare(image.crop((0, 0, 64, 64)))]
    stored = embedder.embed_prepared(prepared)
    matrix, meta = query_rows(stored, [True, False], prepared, embedder.layout)
    assert matrix.shape == (len(meta), embedder.dim)
    untuned = [(m.view, m.signal.name) for m in meta if not m.turned]
    assert sorted(untuned) == sorted((v, s.name) for v in (0, 1)
                                     for s in embedder.layout.signals)
    turned = [m for m in meta if m.turned]
    assert turned and all(m.view == 0 and m.signal.name == ORIENTATION for m in turned)
    assert np.linalg.norm(matrix, axis=1) == pytest.approx(np.ones(len(meta)), abs=1e-4)
    # a query cut off at its right side also tries the wholes it may be cut from
    cut_matrix, cut_meta = query_rows(stored, [True, False], prepared, embedder.layout, "r")
    assert len(cut_meta) == len(meta) + len(REFRAMES)
    assert all(m.turned for m in cut_meta[len(meta):])


# -- in a register -------------------------------------------------------------------

def _device(seed: int) -> Image.Image:
    return make_mark(seed, 160)


def _with_word(figure: Image.Image, word: str) -> Image.Image:
    """The figure with an invented word beside it, as an applicant would file it."""
    image = Image.new("RGB", (figure.width + 330, figure.height), "white")
    image.paste(figure, (0, 0))
    ImageDraw.Draw(image).text((figure.width + 20, figure.height // 2 - 30), word,
                               font=ImageFont.load_default(size=56), fill=(0, 0, 0))
    return image


@pytest.fixture
def calibrated(settings: Settings, embedder: Embedder) -> Register:
    register = Register(settings, embedder)
    register.risk = RiskThresholds.for_model(embedder.weights_path, embedder.version)
    for seed in range(30):
        register.add_mark(to_bytes(_device(seed)), MarkMetadata(id=f"device-{seed}"))
    yield register
    register.close()


def test_the_shipped_thresholds_are_calibrated_and_not_pinned(calibrated: Register) -> None:
    risk = calibrated.risk
    assert risk.calibrated, risk.source
    assert 0.5 < risk.high < 0.99 and risk.medium < risk.high


@pytest.mark.parametrize("seed", [4, 11, 17])
def test_identical_figure_with_added_words_is_first_and_high_risk(calibrated: Register,
                                                                  seed: int) -> None:
    query = to_bytes(_with_word(_device(seed), "Velmora"))
    top = calibrated.search(query, k=5)[0]
    assert top.record.id == f"device-{seed}"
    assert top.risk is RiskLevel.high, top.score
    assert 0.0 <= top.score <= 1.0


def test_exact_copy_ranks_above_a_merely_similar_mark(calibrated: Register) -> None:
    original = _device(7)
    similar = original.rotate(8, Image.Resampling.BILINEAR, fillcolor="white")
    calibrated.add_mark(to_bytes(similar), MarkMetadata(id="similar-7"))
    results = calibrated.search(to_bytes(original), k=3)
    assert [r.record.id for r in results[:2]] == ["device-7", "similar-7"]
    assert results[0].score == pytest.approx(1.0, abs=1e-3)
    assert results[0].score > results[1].score


def test_a_mark_scores_the_same_at_any_k(calibrated: Register) -> None:
    """A card at k = 1 and the explanation, which searches at the largest k, show one
    number for the same pair."""
    query = to_bytes(_with_word(_device(3), "Mendarix"))
    wide = calibrated.search(query, k=25)
    for result in wide[:4]:
        narrow = calibrated.search(query, k=wide.index(result) + 1)
        assert narrow[-1].record.id == result.record.id
        assert narrow[-1].score == pytest.approx(result.score, abs=1e-6)


def test_a_word_only_match_cannot_outrank_the_identical_device(calibrated: Register) -> None:
    # a register mark that shares only the query's word, with another figure
    calibrated.add_mark(to_bytes(_with_word(_device(90), "Velmora")),
                        MarkMetadata(id="word-only"))
    results = calibrated.search(to_bytes(_with_word(_device(12), "Velmora")), k=5,
                                options=SearchOptions(text="Velmora"))
    ids = [r.record.id for r in results]
    assert ids[0] == "device-12"
    word_only = results[ids.index("word-only")]  # found by its words, ranked below
    assert word_only.words is not None and word_only.words.similarity == 1.0
    assert word_only.score < results[0].score
    assert word_only.risk is not RiskLevel.high


def test_the_ranked_score_is_the_shown_and_levelled_score(calibrated: Register) -> None:
    results = calibrated.search(to_bytes(_with_word(_device(5), "Orbexa")), k=10)
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    for r in results:
        assert r.risk is calibrated.risk.level(r.score)
        assert 0.0 <= r.shape_score <= 1.0 and 0.0 <= r.score <= 1.0


def test_explanation_shows_the_result_card_score(calibrated: Register) -> None:
    query = to_bytes(_with_word(_device(5), "Orbexa"))
    top = calibrated.search(query, k=3)[0]
    explained = calibrated.explain(top.record.id, data=query)
    assert explained.score == pytest.approx(top.score)


def test_the_report_csv_carries_the_same_score_and_level(calibrated: Register) -> None:
    import csv
    import io

    from service.reports.batch import run_report, write_csv

    query = to_bytes(_with_word(_device(9), "Quarnel"))
    shown = calibrated.search(query, k=5)
    report = run_report(calibrated, [("q.png", query)], 5, SearchOptions())
    buffer = io.StringIO()
    write_csv(report, buffer)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert [row["mark_id"] for row in rows] == [r.record.id for r in shown]
    for row, result in zip(rows, shown, strict=True):
        assert float(row["score"]) == pytest.approx(result.score, abs=1e-4)
        assert row["risk"] == result.risk.value
        assert 0.0 <= float(row["score"]) <= 1.0
