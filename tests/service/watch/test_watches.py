"""Trademark watch on a real register: new filings checked as they are written, alerts
once per (watch, mark, image), filters and levels, a period checked again, and the score
an alert carries equal to the one a search with the watched mark gives the filing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from service.marks.metadata import MarkMetadata
from service.register import Register
from service.watch.store import AlertQuery, WatchError
from service.watch.watches import WatchSpec
from tests.imagegen import make_mark, to_bytes

PROTECTED = 7  # the seed of the watched mark


def _png(seed: int, size: int = 160) -> bytes:
    return to_bytes(make_mark(seed, size=size))


def _redrawn(seed: int) -> bytes:
    """The watched mark scaled down, moved and recoloured: a redrawn copy of it."""
    grey = make_mark(seed, size=160).convert("L").resize((120, 120))
    mark = Image.composite(Image.new("RGB", grey.size, "white"),
                           Image.new("RGB", grey.size, (200, 30, 30)),
                           grey.point(lambda v: 255 if v > 240 else 0))
    canvas = Image.new("RGB", (200, 180), "white")
    canvas.paste(mark, (50, 20))
    return to_bytes(canvas)


def _with_others(register: Register, seeds: range = range(20, 32)) -> None:
    for seed in seeds:
        register.add_mark(_png(seed), MarkMetadata(id=f"other-{seed}"))


def _alerts(register: Register, **query: object) -> list:
    return register.watches.store.alerts(AlertQuery(**query))[0]  # type: ignore[arg-type]


def test_a_redrawn_copy_filed_after_the_watch_raises_one_alert(register: Register) -> None:
    _with_others(register)
    watch = register.watches.add(WatchSpec("ours", "cli", [("ours.png", _png(PROTECTED))]))
    register.add_mark(_redrawn(PROTECTED), MarkMetadata(id="copycat", nice_classes=[9]))
    register.add_mark(_png(99), MarkMetadata(id="unrelated"))
    alerts = _alerts(register)
    assert [a.mark_id for a in alerts] == ["copycat"]
    alert = alerts[0]
    assert alert.watch_id == watch.id and alert.watched_mark == "ours.png"
    assert alert.status == "new" and alert.matched == "whole"
    # the score is the one a search with the watched mark gives the filing
    found = {r.record.id: r for r in register.search(_png(PROTECTED), k=50)}
    assert alert.score == pytest.approx(found["copycat"].score, abs=1e-4)
    assert alert.risk == found["copycat"].risk.value


def test_one_alert_per_mark_until_its_image_changes(register: Register) -> None:
    register.watches.add(WatchSpec("ours", "cli", [("ours.png", _png(PROTECTED))],
                                   min_risk="low"))
    register.add_mark(_redrawn(PROTECTED), MarkMetadata(id="copycat"))
    register.add_mark(_redrawn(PROTECTED), MarkMetadata(id="copycat", name="again"))
    assert len(_alerts(register)) == 1  # the same image again: no second alert
    register.add_mark(_png(PROTECTED), MarkMetadata(id="copycat"))
    assert len(_alerts(register)) == 2  # a new image is a new filing to check
    assert register.watches.run() == 0  # checking everything again raises nothing twice


def test_classes_and_level_decide_which_filings_alert(register: Register) -> None:
    _with_others(register)
    register.watches.add(WatchSpec("class 9", "cli", [("a.png", _png(PROTECTED))],
                                   nice_classes=[9]))
    register.watches.add(WatchSpec("exact only", "cli", [("a.png", _png(PROTECTED))],
                                   min_score=0.999))
    register.add_mark(_redrawn(PROTECTED), MarkMetadata(id="in-25", nice_classes=[25]))
    register.add_mark(_redrawn(PROTECTED), MarkMetadata(id="in-9", nice_classes=[9, 42]))
    register.add_mark(_png(PROTECTED), MarkMetadata(id="exact", nice_classes=[1]))
    by_watch = {(a.watch, a.mark_id) for a in _alerts(register)}
    assert ("class 9", "in-9") in by_watch and ("class 9", "in-25") not in by_watch
    assert ("exact only", "exact") in by_watch
    assert not {m for w, m in by_watch if w == "exact only"} - {"exact"}


def test_a_register_mark_can_be_watched_and_a_period_checked_again(register: Register
                                                                   ) -> None:
    register.add_mark(_png(PROTECTED), MarkMetadata(id="ours"))
    register.add_mark(_redrawn(PROTECTED), MarkMetadata(id="earlier-copy"))
    _with_others(register)
    watch = register.watches.add(WatchSpec("ours", "cli", mark_ids=["ours"]))
    assert watch.marks[0].mark_id == "ours"
    assert _alerts(register) == []  # made after the copy was filed
    assert register.watches.run(since="2000-01-01") == 1
    assert [a.mark_id for a in _alerts(register)] == ["earlier-copy"]  # never itself
    assert register.watches.run() == 0
    assert register.watches.run(since="2999-01-01") == 0


def test_alerts_on_filed_marks_are_hidden_from_those_who_may_not_see_them(
        register: Register) -> None:
    register.watches.add(WatchSpec("ours", "key-1", [("ours.png", _png(PROTECTED))]))
    register.add_mark(_redrawn(PROTECTED), MarkMetadata(id="secret", status="filed"))
    assert [a.mark_id for a in _alerts(register, owner="key-1")] == ["secret"]
    assert _alerts(register, owner="key-1", include_unpublished=False) == []
    assert _alerts(register, owner="key-2") == []


def test_status_and_removal(register: Register) -> None:
    watch = register.watches.add(WatchSpec("ours", "cli", [("o.png", _png(PROTECTED))]))
    register.add_mark(_redrawn(PROTECTED), MarkMetadata(id="copycat"))
    (alert,) = _alerts(register)
    seen = register.watches.store.set_status(alert.id, "seen", AlertQuery())
    assert seen.status == "seen" and _alerts(register, status="new") == []
    with pytest.raises(WatchError):
        register.watches.store.set_status(alert.id, "archived", AlertQuery())
    register.watches.remove(watch)
    assert register.watches.list() == [] and _alerts(register) == []
    register.add_mark(_png(PROTECTED), MarkMetadata(id="later"))
    assert _alerts(register) == []  # the removed watch no longer checks filings


@pytest.mark.parametrize("spec, message", [
    (WatchSpec("", "cli", [("a.png", b"")]), "name"),
    (WatchSpec("none", "cli"), "1 to 20 marks"),
    (WatchSpec("bad level", "cli", mark_ids=["m"], min_risk="severe"), "low, medium or high"),
    (WatchSpec("bad class", "cli", mark_ids=["m"], nice_classes=[46]), "1..45"),
    (WatchSpec("missing", "cli", mark_ids=["nope"]), "no mark with id 'nope'"),
])
def test_bad_watches_are_refused_and_change_nothing(register: Register, spec: WatchSpec,
                                                    message: str) -> None:
    register.add_mark(_png(1), MarkMetadata(id="m"))
    with pytest.raises(WatchError, match=message):
        register.watches.add(spec)
    assert register.watches.list() == []


def test_names_are_unique_per_owner(register: Register) -> None:
    register.watches.add(WatchSpec("ours", "a", [("o.png", _png(1))]))
    register.watches.add(WatchSpec("ours", "b", [("o.png", _png(1))]))
    with pytest.raises(WatchError, match="exists already"):
        register.watches.add(WatchSpec("ours", "a", [("o.png", _png(2))]))


def test_folder_ingest_checks_every_new_file(register: Register, tmp_path: Path) -> None:
    register.watches.add(WatchSpec("ours", "cli", [("o.png", _png(PROTECTED))]))
    folder = tmp_path / "filings"
    folder.mkdir()
    (folder / "copy.png").write_bytes(_redrawn(PROTECTED))
    for seed in range(40, 46):
        (folder / f"other-{seed}.png").write_bytes(_png(seed))
    summary = register.ingest_folder(folder)
    assert summary.added == 7
    assert [a.mark_id for a in _alerts(register)] == ["copy"]


def _with_words(seed: int) -> bytes:
    """The watched figure beside a large word: a composite mark the register splits."""
    from PIL import ImageDraw, ImageFont

    canvas = Image.new("RGB", (420, 170), "white")
    canvas.paste(make_mark(seed, size=160), (0, 5))
    ImageDraw.Draw(canvas).text((190, 50), "ZORBAX", font=ImageFont.load_default(size=60),
                                fill=(0, 0, 0))
    return to_bytes(canvas)


def _turned(seed: int) -> bytes:
    return to_bytes(make_mark(seed, size=160).rotate(90))


@pytest.mark.parametrize("filing", [_with_words, _turned])
def test_the_alert_scores_as_the_search_does_on_figures_and_turns(register: Register, filing
                                                                  ) -> None:
    _with_others(register)
    register.watches.add(WatchSpec("ours", "cli", [("o.png", _png(PROTECTED))],
                                   min_score=0.3))
    register.add_mark(filing(PROTECTED), MarkMetadata(id="filing"))
    alerts = {a.mark_id: a for a in _alerts(register)}
    found = {r.record.id: r for r in register.search(_png(PROTECTED), k=50)}
    assert "filing" in alerts and "filing" in found
    assert alerts["filing"].score == pytest.approx(found["filing"].score, abs=1e-4)
    assert alerts["filing"].shape_score == pytest.approx(found["filing"].shape_score, abs=1e-4)


def test_marks_planned_by_another_model_are_planned_again(register: Register) -> None:
    """After a re-index to a new model, watched marks planned with the old one raise
    nothing until they are planned again from the image the watch keeps."""
    from sqlalchemy import text

    register.watches.add(WatchSpec("ours", "cli", [("o.png", _png(PROTECTED))]))
    with register.records.transaction() as conn:
        conn.execute(text("UPDATE watched_marks SET model_version = 'an-older-model'"))
        conn.execute(text("UPDATE meta SET value = '99' WHERE key = 'watches_version'"))
    register.add_mark(_redrawn(PROTECTED), MarkMetadata(id="unseen"))
    assert _alerts(register) == []
    assert register.watches.replan() == 1 and register.watches.replan() == 0
    register.add_mark(_redrawn(PROTECTED), MarkMetadata(id="seen"))
    assert [a.mark_id for a in _alerts(register)] == ["seen"]
    assert register.watches.run() == 1  # the one filed while the plan was stale


def test_watches_made_in_bulk_are_planned_as_one_by_one(register: Register) -> None:
    """add_many plans every image in one batch; each plan (rows and crowding penalties),
    wherever it sits in the batch, and so each alert, is that of the image planned alone."""
    _with_others(register)
    images = {"a.png": _png(41), "b.png": _png(42), "ours.png": _png(PROTECTED)}
    bulk = register.watches.add_many([
        WatchSpec("bulk-a", "cli", [("a.png", images["a.png"]), ("b.png", images["b.png"])],
                  mark_ids=["other-20"]),
        WatchSpec("bulk-b", "cli", [("ours.png", images["ours.png"])]),  # last in the batch
    ])
    assert [w.name for w in bulk] == ["bulk-a", "bulk-b"]
    assert [m.label for m in bulk[0].marks] == ["other-20", "a.png", "b.png"]
    searcher = register.watches.searcher
    alone = {label: searcher.stored_query(data) for label, data in images.items()}
    alone["other-20"] = searcher.stored_query(register.image("other-20")[0], "other-20")
    planned = {mark.label: query for _, mark, query in register.watches.store.plans()}
    assert planned.keys() == alone.keys()
    for label, query in planned.items():
        assert np.allclose(query.rows, alone[label].rows, atol=1e-5), label
        assert np.allclose(query.penalties, alone[label].penalties, atol=1e-5), label
    one = register.watches.add(WatchSpec("one", "cli", [("ours.png", images["ours.png"])]))
    register.add_mark(_redrawn(PROTECTED), MarkMetadata(id="copycat"))
    by_watch = {a.watch_id: a.score for a in _alerts(register)}
    assert by_watch[one.id] == pytest.approx(by_watch[bulk[1].id], abs=1e-5)


def test_a_bad_spec_in_a_bulk_import_makes_no_watch(register: Register) -> None:
    with pytest.raises(WatchError, match="min risk"):
        register.watches.add_many([WatchSpec("good", "cli", [("a.png", _png(1))]),
                                   WatchSpec("bad", "cli", [("b.png", _png(2))],
                                             min_risk="severe")])
    assert register.watches.list() == []
