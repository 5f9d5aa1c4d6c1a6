"""The page in Simplified Chinese and English: the browser's language by default, a
switch that is remembered, trademark terms as Chinese examiners use them, and errors in
the reader's language (from the API's stable error codes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.sync_api import expect

from tests.browser.served import Server

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_a_chinese_browser_gets_the_chinese_page(chinese_page: Page, server: Server) -> None:
    page = chinese_page
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("商标图形检索")
    expect(page.get_by_role("tab", name="检索", exact=True)).to_be_visible()
    expect(page.get_by_role("tab", name="批量预检")).to_be_visible()
    expect(page.get_by_label("尼斯分类", exact=True)).to_be_visible()  # the examiners' terms
    expect(page.get_by_label("维也纳分类", exact=True)).to_be_visible()
    expect(page.locator("#register-info")).to_contain_text("件商标")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    page.set_input_files("#image", server.image(3))
    page.get_by_role("button", name="检索", exact=True).click()
    first = page.get_by_test_id("result").first
    expect(first).to_contain_text("高风险")  # the same mark: high risk, in Chinese


def test_errors_are_said_in_the_readers_language(chinese_page: Page) -> None:
    page = chinese_page
    page.goto("/")
    page.set_input_files("#image", files=[{"name": "broken.png", "mimeType": "image/png",
                                           "buffer": b"\x89PNG but not really"}])
    page.get_by_role("button", name="检索", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("不支持的图像")


def test_the_switch_is_remembered(chinese_page: Page) -> None:
    page = chinese_page
    page.goto("/")
    page.get_by_label("语言").select_option("en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trademark image search")
    expect(page.get_by_role("tab", name="Batch pre-check")).to_be_visible()
    page.reload()
    expect(page.get_by_role("tab", name="Batch pre-check")).to_be_visible()
    page.get_by_label("Language").select_option("zh")
    expect(page.get_by_role("tab", name="批量预检")).to_be_visible()


def test_an_english_browser_gets_the_english_page(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trademark image search")
    expect(page.get_by_label("Nice classes", exact=True)).to_be_visible()
