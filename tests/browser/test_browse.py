"""Browsing the register without a logo (issue 18.8): Search with no logo lists the marks
that pass the filters and words, newest filing first, a page at a time; each listed mark
opens its record. The expected marks come from the register's metadata (served.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.served import NICE_CLASSES, OWNERS, SEEDS, STATUSES, mark_id, metadata

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is missing (scripts/browser_deps.sh)"
)
expect = sync_api.expect

LISTING = re.compile(r"/v1/marks\?")


def listed(page: Page, action: Callable[[], Any]) -> dict[str, Any]:
    """Run ``action``, which lists marks; wait until the page shows them and return the
    API's answer."""
    with page.expect_response(lambda r: LISTING.search(r.url) is not None) as answer:
        action()
    expect(page.locator("#results")).to_have_attribute("aria-busy", "false")
    return answer.value.json()


def newest_first(seeds: Iterable[int]) -> list[str]:
    """The ids of ``seeds``' marks in the listing's order (their filing dates differ)."""
    return [mark_id(s) for s in sorted(seeds, key=lambda s: str(metadata(s)["filing_date"]),
                                       reverse=True)]


def card_ids(page: Page) -> list[str]:
    return page.get_by_test_id("result").evaluate_all("cards => cards.map(c => c.dataset.id)")


def test_without_a_logo_search_lists_the_filtered_marks(page: Page) -> None:
    searches: list[str] = []
    page.on("request", lambda r: r.url.endswith("/v1/search") and searches.append(r.url))
    page.goto("/")
    expect(page.locator("#browse-hint")).to_be_visible()
    page.get_by_label("Nice classes", exact=True).fill("9")
    page.get_by_label("Owner").fill("globex")
    page.get_by_label("Filed to").fill("2015-12-31")

    body = listed(page, page.get_by_role("button", name="Search", exact=True).click)

    wanted = [s for s in SEEDS if 9 in NICE_CLASSES[s % len(NICE_CLASSES)]
              and OWNERS[s % len(OWNERS)] == "Globex GmbH"
              and str(metadata(s)["filing_date"]) <= "2015-12-31"]
    assert len(wanted) == 3
    assert card_ids(page) == newest_first(wanted) == [m["id"] for m in body["marks"]]
    assert body["total"] == 3 and body["pages"] == 1
    expect(page.locator("#alert")).to_be_empty()  # no "choose a logo" error
    summary = page.locator("#summary")
    expect(summary).to_contain_text("3 marks · page 1 of 1 · newest filing first")
    expect(summary).to_contain_text("filters: Nice 9; filed to 2015-12-31; owner globex")
    expect(page.locator("#page-info")).to_have_text("Page 1 of 1")
    expect(page.get_by_role("button", name="Previous")).to_be_disabled()
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    expect(page.get_by_role("button", name="More results")).to_be_hidden()
    first = page.get_by_test_id("result").first
    expect(first.locator("[data-field=owner]")).to_have_text("Globex GmbH")
    expect(first.locator("[data-field=filing_date]")).to_have_text("2014-08-15")
    expect(first.locator(".score")).to_have_count(0)  # nothing was compared
    assert "page=1" in page.url and "nice_classes=9" in page.url
    assert searches == []  # no image search was made

    page.get_by_label("Nice classes", exact=True).fill("")
    page.get_by_label("Owner").fill("")
    page.get_by_label("Filed to").fill("")
    page.get_by_label("Words of the query").fill("mark 7")  # part of the name, any case
    body = listed(page, page.get_by_role("button", name="Search", exact=True).click)
    assert card_ids(page) == [mark_id(7)] and body["total"] == 1
    expect(summary).to_contain_text("1 mark · page 1 of 1 · newest filing first · words “mark 7”")


def test_a_listing_pages_forward_and_back(page: Page) -> None:
    page.goto("/")
    # a date every register mark has; the mark a later test uploads has none
    page.get_by_label("Filed from").fill("2000-01-01")
    body = listed(page, page.get_by_role("button", name="Search", exact=True).click)
    everything = newest_first(SEEDS)
    assert body["total"] == len(SEEDS) == 30 and body["pages"] == 2
    assert card_ids(page) == everything[:20]
    expect(page.locator("#summary")).to_contain_text("30 marks · page 1 of 2")
    expect(page.locator("#page-info")).to_have_text("Page 1 of 2")
    previous = page.get_by_role("button", name="Previous")
    following = page.get_by_role("button", name="Next")
    expect(previous).to_be_disabled()

    body = listed(page, following.click)
    assert body["page"] == 2
    assert card_ids(page) == everything[20:]  # the other ten, none twice
    expect(page.locator("#page-info")).to_have_text("Page 2 of 2")
    expect(page.locator("#summary")).to_contain_text("30 marks · page 2 of 2")
    expect(following).to_be_disabled()
    expect(previous).to_be_enabled()
    assert "page=2" in page.url and "filed_from=2000-01-01" in page.url

    listed(page, page.reload)  # the link alone lists the same page
    assert card_ids(page) == everything[20:]
    expect(page.get_by_label("Filed from")).to_have_value("2000-01-01")
    expect(page.locator("#image-needed")).to_be_hidden()
    listed(page, page.go_back)
    assert card_ids(page) == everything[:20]
    listed(page, following.click)
    listed(page, previous.click)
    assert card_ids(page) == everything[:20]


def test_a_listed_mark_opens_its_record(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Words of the query").fill("mark 3")
    listed(page, page.get_by_role("button", name="Search", exact=True).click)
    target = mark_id(3)
    page.locator(f"[data-testid=result][data-id='{target}']").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    fields = dialog.locator("#record-fields")
    expect(fields).to_contain_text(target)
    expect(fields).to_contain_text(str(metadata(3)["filing_date"]))
    expect(fields).not_to_contain_text("Score")  # a listing compares nothing
    expect(dialog.get_by_role("button", name="Explain similarity")).to_be_hidden()
    page.wait_for_function("document.getElementById('record-image').naturalWidth > 0")

    with page.expect_response(re.compile(r"/similar\?")) as answer:
        dialog.get_by_role("button", name="Similar to this").click()
    assert answer.value.ok
    expect(page.locator("#summary")).to_contain_text(f"similar to {target}")
    expect(page.locator("#pager")).to_be_hidden()
    expect(page.get_by_test_id("result").first.locator(".score")).to_be_visible()


def test_a_bad_filter_is_explained(page: Page, console_errors: list[str]) -> None:
    page.goto("/")
    page.get_by_label("Nice classes", exact=True).fill("nine")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#alert")).to_contain_text(
        "Invalid input: invalid filter nice_classes: 'nine' is not a whole number")
    expect(page.get_by_test_id("result")).to_have_count(0)
    expect(page.locator("#pager")).to_be_hidden()
    assert len(console_errors) == 1 and "status of 422" in console_errors[0]
    console_errors.clear()  # the refused request, logged by the browser, was the point


def test_the_public_lists_no_filed_marks(public_page: Page) -> None:
    public_page.goto("/")
    body = listed(public_page,
                  public_page.get_by_role("button", name="Search", exact=True).click)
    published = [s for s in SEEDS if STATUSES[s % len(STATUSES)] != "filed"]
    assert body["total"] == len(published) == 24
    statuses = public_page.locator("[data-testid=result] [data-field=status]").all_inner_texts()
    assert len(statuses) == 20 and "filed" not in statuses


def test_a_listing_in_chinese(chinese_page: Page) -> None:
    """The public's page in Chinese: 24 published marks on two pages, in the terms Chinese
    examiners use."""
    page = chinese_page
    page.goto("/")
    expect(page.locator("#browse-hint")).to_contain_text("未选择图样时")
    search = page.get_by_role("button", name="检索", exact=True)
    listed(page, search.click)
    summary = page.locator("#summary")
    expect(summary).to_have_text("共 24 件商标 · 第 1 页，共 2 页 · 按申请日从新到旧排列")
    expect(page.locator("#page-info")).to_have_text("第 1 页，共 2 页")
    expect(page.get_by_role("button", name="上一页")).to_be_disabled()
    first = page.get_by_test_id("result").first
    expect(first).to_contain_text("申请人/注册人")
    expect(first).to_contain_text("维也纳分类")
    expect(first).to_contain_text("申请日")

    listed(page, page.get_by_role("button", name="下一页").click)
    expect(page.locator("#page-info")).to_have_text("第 2 页，共 2 页")
    expect(page.get_by_test_id("result")).to_have_count(4)
    expect(page.get_by_role("button", name="下一页")).to_be_disabled()

    page.get_by_label("已注册").check()
    body = listed(page, search.click)
    registered = [s for s in SEEDS if metadata(s)["status"] == "registered"]
    assert body["total"] == len(registered) == 6
    assert card_ids(page) == newest_first(registered)
    expect(summary).to_have_text(
        "共 6 件商标 · 第 1 页，共 1 页 · 按申请日从新到旧排列 · 筛选：法律状态 已注册")
    statuses = page.locator("[data-testid=result] [data-field=status]").all_inner_texts()
    assert statuses == ["已注册"] * 6
    page.get_by_test_id("result").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#record-fields")).to_contain_text("申请号")
    expect(dialog.locator("#record-fields")).to_contain_text("尼斯分类")
