"""The ranking: how index hits become one score per earlier mark, in [0, 1].

Every number a user sees (the result card, the explanation, the CSV and the PDF) and the
one the risk levels are calibrated on is the score made here. In order:

1. **Query rows.** Each view of the query (the whole image, each figure, and in
   rotation-tolerant searches their 8 rotations and mirrors) sends one row per signal of
   the stored vector (models/signals.py: the CNN embedding and the orientation descriptor).
   The whole query also sends its *turned* descriptor rows (the 7 other rotations by 90
   degrees and mirrors, rotations by +-10 and +-20 degrees and, when its ink runs off one
   to three sides of the image, the larger wholes it may have been cut from), which cost
   no network pass; a turned row's evidence is ``TURN_PENALTY`` lower, so a turn is
   tried, not preferred.
2. **Evidence.** A row's inner products become evidence on a common scale
   (``Signal.evidence``: 1 for an identical image, 0 for a typical query's 100th best
   match). A match on one of a mark's figure components has ``COMPONENT_MARGIN`` less
   evidence than the same match on a whole mark. A query part is scored by local
   scaling (as in CSLS, Conneau et al. 2018): its *crowding*, the mean of its
   ``CROWDING_K`` best evidences, says how generic it is; the amount by which a part is
   more crowded than the whole query (same signal), or than ``CROWDING_FLOOR`` when the
   whole is less crowded than that, is taken off. A distinctive figure keeps its
   evidence, so an identical figure inside a composite mark scores as the figure does;
   a disc that matches every disc does not.
3. **Shape score.** A mark's evidence is its best over rows and vectors, clipped to
   [0, 1]: the shape score.
4. **Colour** weighs in as the search mode says (``COLOUR_WEIGHT``; colour-blind in
   ``shape`` mode).
5. **Words.** When both marks have words and they are alike (similarity ``s`` >=
   ``MIN_WORDS_SIMILARITY``), the score becomes ``1 - (1 - score) * (1 - WORDS_WEIGHT *
   s)``: words add to the shape, never lower it, and identical words alone score
   ``WORDS_WEIGHT``, so a word-only match cannot outrank a near-identical device.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.signals import Signal, VectorLayout
from service.marks.colour import SearchMode

Score = float | np.ndarray  # one mark's score, or many marks' at once

#: evidence a match on a mark's figure component has less than one on a whole mark
COMPONENT_MARGIN = 0.05
#: best evidences of a query row whose mean is its crowding
CROWDING_K = 10
#: crowding a query part may have without penalty, whatever the whole's
CROWDING_FLOOR = 0.8
#: evidence a turned descriptor row (rotation, mirror) has less than the query as drawn
TURN_PENALTY = 0.13
#: share of the shape score the colour signature takes, per mode
COLOUR_WEIGHT = {SearchMode.shape: 0.0, SearchMode.colour: 0.5, SearchMode.composite: 0.15}
#: the score identical words give on their own (and how much alike words add)
WORDS_WEIGHT = 0.8
#: word similarity below this is noise (unrelated words share a bigram or two)
MIN_WORDS_SIMILARITY = 0.5


@dataclass(frozen=True)
class QueryRow:
    """One row of a query sent to the index: which view, which signal, what penalty."""

    view: int  # index into the query's views
    signal: Signal
    turn_penalty: float = 0.0

    @property
    def turned(self) -> bool:
        return self.turn_penalty > 0.0


def query_rows(stored: np.ndarray, whole_views: list[bool], model_inputs: list[np.ndarray],
               layout: VectorLayout, cut: str = "") -> tuple[np.ndarray, list[QueryRow]]:
    """A query's index rows from its views' stored-form vectors.

    ``whole_views[i]`` says whether view ``i`` shows the whole query; the first whole view
    also sends the turned descriptor rows (from its prepared input ``model_inputs[i]``;
    with ``cut``, the sides its ink runs off, also the wholes it may be cut from).
    """
    rows: list[np.ndarray] = []
    meta: list[QueryRow] = []
    for signal in layout.signals:
        rows.append(signal.query(stored))
        meta += [QueryRow(i, signal) for i in range(len(stored))]
    orientation = layout.orientation
    first_whole = next((i for i, whole in enumerate(whole_views) if whole), None)
    if orientation is not None and first_whole is not None:
        turned = layout.turned_queries(model_inputs[first_whole], cut)
        rows.append(turned)
        meta += [QueryRow(first_whole, orientation, TURN_PENALTY)] * len(turned)
    return np.concatenate(rows).astype(np.float32), meta


def crowding(evidence: np.ndarray) -> float:
    """Mean of the best ``CROWDING_K`` evidences of one query row (any order)."""
    if evidence.size == 0:
        return 0.0
    k = min(CROWDING_K, evidence.size)
    return float(np.partition(evidence, evidence.size - k)[evidence.size - k:].mean())


def crowding_penalties(crowds: list[float], rows: list[QueryRow], whole: list[bool]
                       ) -> list[float]:
    """Per row: how much more crowded a part's row is than the whole query's most crowded
    untuned row of the same signal, or than ``CROWDING_FLOOR`` (0 for rows of the
    whole)."""
    whole_crowd: dict[str, float] = {}
    for crowd, row in zip(crowds, rows, strict=True):
        if whole[row.view] and not row.turned:
            name = row.signal.name
            whole_crowd[name] = max(whole_crowd.get(name, -np.inf), crowd)
    return [0.0 if whole[row.view] else
            max(0.0, crowd - max(whole_crowd.get(row.signal.name, crowd), CROWDING_FLOOR))
            for crowd, row in zip(crowds, rows, strict=True)]


def row_evidence(row: QueryRow, scores: np.ndarray, on_component: np.ndarray) -> np.ndarray:
    """Evidence of one row's hits before local scaling: the signal's scale, the turn
    penalty and the component margin."""
    return (row.signal.evidence(scores) - row.turn_penalty
            - np.where(on_component, COMPONENT_MARGIN, 0.0))


def shape_score(evidence: float) -> float:
    """A mark's best evidence -> its shape score in [0, 1]."""
    return float(min(max(evidence, 0.0), 1.0))


def with_colour(shape: Score, colour: Score | None, mode: SearchMode) -> Score:
    """The score in ``mode``; a mark without a stored colour signature scores on shape.
    Arrays score many marks at once (the watch check), with the same arithmetic."""
    weight = COLOUR_WEIGHT[mode]
    if colour is None or weight == 0.0:
        return shape
    if isinstance(colour, np.ndarray):
        return (1.0 - weight) * shape + weight * np.clip(colour, 0.0, 1.0)
    return (1.0 - weight) * shape + weight * min(max(colour, 0.0), 1.0)


def final_score(shape: float, colour: float | None, words: float | None,
                mode: SearchMode) -> float:
    """The score of a mark from its shape score, its colour agreement and its words'
    similarity (None: no words to compare), in [0, 1]."""
    score = with_colour(shape, colour, mode)
    return score if words is None else with_words(score, words)


def with_words(score: float, similarity: float) -> float:
    """The score with alike words added (see the module docstring), in [0, 1]."""
    if similarity < MIN_WORDS_SIMILARITY:
        return score
    return 1.0 - (1.0 - score) * (1.0 - WORDS_WEIGHT * min(similarity, 1.0))


