"""The watch check on generated vectors (no model): a score that words lift to a watch's
level alerts even when the row that gives the mark its best shape is not scanned (it
cannot reach the level by shape alone), new risk levels rebuild which rows are
scanned, and a batch of filings raises the alerts its filings raise one by one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from service.search.risk import RiskThresholds
from service.watch.checker import Filing, WatchChecker
from service.watch.store import Watch, WatchedMark
from tests.service.watch.test_watched_index import LAYOUT, _query, _stored, _unit

RISK = RiskThresholds(high=0.9, medium=0.6)


class _Store:
    """The watch store as the checker reads it: a version and the stored queries."""

    def __init__(self, plans: list[tuple[Watch, WatchedMark, object]]) -> None:
        self._plans = plans

    def version(self) -> str:
        return "1"

    def plans(self, known: set[int] | None = None) -> list:
        return [p for p in self._plans if p[1].id not in (known or set())]

    def watched_mark_ids(self) -> set[int]:
        return {p[1].id for p in self._plans}


def _watch(n: int, **level: object) -> tuple[Watch, WatchedMark]:
    watch = Watch(n, f"w{n}", "cli", [], [], level.get("min_risk"), level.get("min_score"),
                  "2026-12-07")
    return watch, WatchedMark(n, f"m{n}.png", None, f"hash{n}", "test@1")


def _checker(queries: list, levels: list[dict]) -> tuple[WatchChecker, list]:
    plans = [(*_watch(n, **level), query)
             for n, (query, level) in enumerate(zip(queries, levels, strict=True))]
    risk = {"now": RISK}
    return WatchChecker(_Store(plans), LAYOUT, "test@1", lambda: risk["now"]), [risk]


def _filing(vector: np.ndarray, text: str) -> Filing:
    return Filing("filing", "h", vector[None, :], [], None, text, [], [])


def test_words_lift_a_mark_whose_best_row_is_not_scanned() -> None:
    rng = np.random.default_rng(0)
    ours = dataclasses.replace(_query(rng), text="zorbax")
    queries = [ours, _query(rng)]
    # ours at "high": its embedding row (0.7 at most) is not scanned; the other watch at
    # score 0.3 makes the scan's floor low, so ours' weaker descriptor row is a hit
    checker, _ = _checker(queries, [{"min_risk": "high"}, {"min_score": 0.3}])
    _, index = checker.index()
    assert index.signals[0].projection().scanned == 1  # the other mark's only
    hog = LAYOUT.signals[1]
    noise = np.zeros(LAYOUT.dim)
    noise[hog.start:hog.stop] = _unit(rng.normal(size=hog.stop - hog.start))
    vector = _stored(rng, ours.rows[0], ours.rows[1] + 0.9 * noise)  # descriptor: weaker
    best = ours.best(ours.evidence(vector[None, :], np.array([False]), LAYOUT, 0.0))
    _, hits = index.hits(vector[None, :], checker.need(0.3), np.zeros(1), np.zeros(1))
    understated = hits.values[hits.numbers == 0]
    assert best[1] == 0 and len(understated) == 1 and understated[0] < best[0] - 0.1
    shape_alone = [d for d in checker.check([_filing(vector, "")]) if d.watch_id == 0]
    with_words = [d for d in checker.check([_filing(vector, "zorbax")]) if d.watch_id == 0]
    assert shape_alone == []  # shape alone stays below "high"
    assert len(with_words) == 1 and with_words[0].score >= RISK.high
    assert with_words[0].shape_score == pytest.approx(min(max(best[0], 0.0), 1.0), abs=1e-6)


def test_new_risk_levels_rebuild_the_rows_scanned() -> None:
    rng = np.random.default_rng(1)
    checker, (risk,) = _checker([_query(rng) for _ in range(4)], [{"min_risk": "high"}] * 4)
    _, before = checker.index()
    assert before.signals[0].projection().scanned == 0  # 0.7 cannot reach 0.9
    risk["now"] = RiskThresholds(high=0.6, medium=0.4)
    _, after = checker.index()
    assert after is not before and after.signals[0].projection().scanned == 4


def test_a_batch_alerts_as_its_filings_checked_one_by_one() -> None:
    rng = np.random.default_rng(2)
    texts = ["zorbax", "", "quill", "", "", "zorbax"]
    queries = [dataclasses.replace(_query(rng, views=2), text=text,
                                   colours=_unit(rng.random((2, 4))).astype(np.float32))
               for text in texts]
    plans = [(*_watch(n, min_score=0.45), query) for n, query in enumerate(queries)]
    watch, mark, query = plans[1]
    plans[1] = (watch, dataclasses.replace(mark, mark_id="f1"), query)  # a register mark
    checker = WatchChecker(_Store(plans), LAYOUT, "test@1", lambda: RISK)
    palette = _unit(rng.random((3, 4)))
    filings = []
    for n, (target, text, colour) in enumerate([
            (0, "zorbax", None), (1, "", palette[0]), (2, "quil", palette[1]),
            (3, "zorbax", None), (4, "", palette[2]), (1, "", None)]):
        near = queries[target]
        whole = _stored(rng, near.rows[0], near.rows[1])
        figure = _stored(rng, _unit(rng.normal(size=LAYOUT.dim)))
        figures = [figure, _stored(rng, near.rows[0])] if n % 2 else [figure]
        filings.append(Filing(f"f{n}", f"h{n}", np.stack([whole, *figures]),
                              ["figure"] * len(figures), colour, text, [], []))
    one_by_one = [d for f in filings for d in checker.check([f])]
    together = checker.check(filings)
    assert sorted(together) == sorted(one_by_one)
    assert len({(d.watch_id, d.mark_id) for d in together}) == len(together)  # once each
    assert {d.mark_id for d in together} >= {"f0", "f2", "f3", "f4", "f5"}
    assert not [d for d in together if d.mark_id == "f1" and d.watch_id == 1]  # itself
    assert any(d.watch_id == 1 and d.mark_id == "f5" for d in together)  # a copy of it
