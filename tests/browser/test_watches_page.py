"""The Watches tab (issue 19): an agent's key watches an uploaded logo from the page, an
admin files a redrawn copy through the API, and the alert shows in the tab (the filing
beside the watched mark, score and risk) to mark seen, explain and download; the same in
Chinese with a watched register mark; the public has no such tab.

Each test removes the watch and the marks it filed, so the session's register is as the
other browser tests expect it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.browser.served import Server
from tests.service.watch.test_watches import PROTECTED, _png, _redrawn

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is missing (scripts/browser_deps.sh)"
)
expect = sync_api.expect


class Api:
    """The service as an admin's script sees it (the marks the tests file, the cleanup)."""

    def __init__(self, server: Server) -> None:
        self.http = httpx.Client(base_url=server.base, timeout=60, headers={
            "Authorization": f"Bearer {server.keys['admin']}"})

    def key(self, role: str) -> str:
        made = self.http.post("/v1/keys", json={"role": role, "name": f"watch page ({role})"})
        assert made.status_code == 201, made.text
        return made.json()["key"]

    def file(self, mark_id: str, data: bytes, **metadata: Any) -> None:
        made = self.http.post("/v1/marks", files={"image": ("m.png", data, "image/png")},
                              data={"metadata": json.dumps({"id": mark_id, **metadata})})
        assert made.status_code == 201, made.text

    def alerts(self, key: str) -> list[dict[str, Any]]:
        answer = self.http.get("/v1/alerts", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200, answer.text
        return answer.json()["alerts"]

    def clean(self, mark_ids: list[str]) -> None:
        for watch in self.http.get("/v1/watches").json():
            self.http.delete(f"/v1/watches/{watch['id']}")
        for mark_id in mark_ids:
            self.http.delete(f"/v1/marks/{mark_id.replace('/', '%2F')}")


@pytest.fixture
def api(server: Server) -> Iterator[Api]:
    client = Api(server)
    yield client
    client.http.close()


def _open(browser: Browser, server: Server, key: str, errors: list[str],
          locale: str = "en-US") -> Page:
    """A 1280x800 page in ``locale`` whose tab holds ``key`` (as if entered on the
    Register tab); what it logs as errors goes to ``errors``."""
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 800},
                                  base_url=server.base, accept_downloads=True)
    context.add_init_script(f"sessionStorage.setItem('tmsearch-api-key', {json.dumps(key)})")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    return page


def _alert_card(page: Page, mark_id: str):  # noqa: ANN202 - a playwright Locator
    return page.locator(f"[data-testid=watch-alert][data-mark='{mark_id}']")


def test_an_agent_watches_a_logo_and_works_its_alert(browser: Browser, server: Server,
                                                     api: Api, tmp_path: Path) -> None:
    from pypdf import PdfReader

    agent_key, errors = api.key("agent"), []
    logo = tmp_path / "ours.png"
    logo.write_bytes(_png(PROTECTED))
    page = _open(browser, server, agent_key, errors)
    try:
        page.goto("/")
        tab = page.get_by_role("tab", name="Watches")
        expect(tab).to_be_visible()  # once the page knows the key's role
        tab.click()
        expect(page.locator("#watch-none")).to_be_visible()
        page.get_by_role("button", name="Create watch").click()
        expect(page.locator("#watch-error")).to_contain_text("Give the watch a name")

        page.get_by_label("Watch name").fill("Ours")
        page.get_by_label("Images of the marks to protect").set_input_files(logo)
        page.get_by_label("Only filings in Nice classes").fill("9, 42")
        page.get_by_role("button", name="Create watch").click()
        expect(page.locator("#watch-done")).to_have_text("Watch “Ours” created.")
        watch = page.get_by_test_id("watch")
        expect(watch).to_have_count(1)
        expect(watch).to_contain_text("protects ours.png")
        expect(watch).to_contain_text("alerts at medium risk or higher · Nice 9, 42")
        expect(page.locator("#alert-summary")).to_contain_text("No alerts")

        api.file("WATCH/COPY-1", _redrawn(PROTECTED), name="Copycat", nice_classes=[9])
        page.get_by_role("button", name="Refresh alerts").click()
        card = _alert_card(page, "WATCH/COPY-1")
        expect(card).to_have_count(1)
        (alert,) = api.alerts(agent_key)
        expect(card.locator("[data-field=score]")).to_have_text(f"{alert['score']:.3f}")
        expect(card.locator("[data-field=risk]")).to_have_text(
            f"{alert['risk'].capitalize()} risk")
        expect(card.locator("[data-field=status]")).to_have_text("New")
        expect(card.locator(".alert-label")).to_have_text("ours.png")  # the uploaded mark
        filing = card.get_by_role("img", name="New filing WATCH/COPY-1")
        expect(filing).to_be_visible()
        page.wait_for_function("() => [...document.querySelectorAll('.alert-thumb')]"
                               ".every((img) => img.naturalWidth > 0)")
        expect(page.locator("#alert-summary")).to_contain_text("1 alert · page 1 of 1")

        card.get_by_role("button", name="Mark seen").click()
        expect(card.locator("[data-field=status]")).to_have_text("Seen")
        assert api.alerts(agent_key)[0]["status"] == "seen"
        page.get_by_label("Alert status").select_option("new")
        expect(page.locator("#alert-summary")).to_contain_text("No alerts")
        page.get_by_label("Alert status").select_option(label="Any status")
        expect(card).to_have_count(1)

        card.get_by_role("button", name="Explain similarity").click()  # the image uploaded
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("WATCH/COPY-1")
        expect(dialog.locator("#record-fields")).to_contain_text("Copycat")
        expect(dialog.locator("#explain-figure")).to_be_visible(timeout=60_000)
        page.locator("#record-close").click()

        with page.expect_download() as csv_download:
            watch.get_by_role("link", name="CSV of alerts").click()
        rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text())))
        assert [(r["mark_id"], r["name"], r["status"]) for r in rows] == \
            [("WATCH/COPY-1", "Copycat", "seen")]
        with page.expect_download() as pdf_download:
            watch.get_by_role("link", name="PDF of alerts").click()
        text = PdfReader(pdf_download.value.path()).pages[0].extract_text()
        assert "Ours" in text and "WATCH/COPY-1" in text

        # another day: the page no longer holds the image; it asks for it to explain
        page.reload()
        page.get_by_role("tab", name="Watches").click()
        with page.expect_file_chooser() as chooser:
            _alert_card(page, "WATCH/COPY-1").get_by_role(
                "button", name="Explain similarity").click()
        chooser.value.set_files(logo)
        expect(page.locator("#explain-figure")).to_be_visible(timeout=60_000)
        page.locator("#record-close").click()

        page.once("dialog", lambda d: d.accept())  # "Delete the watch ... and its alerts?"
        page.get_by_test_id("watch").get_by_role("button", name="Delete").click()
        expect(page.locator("#watch-done")).to_have_text("Watch “Ours” deleted.")
        expect(page.locator("#watch-none")).to_be_visible()
        expect(page.get_by_test_id("watch-alert")).to_have_count(0)
        assert api.alerts(agent_key) == []
    finally:
        page.context.close()
        api.clean(["WATCH/COPY-1"])
    assert errors == [], "the page logged errors"


def test_a_watch_of_a_register_mark_in_chinese(browser: Browser, server: Server,
                                               api: Api) -> None:
    agent_key, errors = api.key("agent"), []
    api.file("WATCH/OURS", _png(PROTECTED), name="我们的商标")
    page = _open(browser, server, agent_key, errors, locale="zh-CN")
    try:
        page.goto("/")
        page.get_by_role("tab", name="商标监测").click()
        expect(page.get_by_role("heading", name="商标监测", exact=True)).to_be_visible()
        page.get_by_label("监测名称").fill("我的监测")
        page.get_by_label("或商标库中被监测商标的编号").fill("WATCH/OURS")
        page.get_by_label("预警的最低风险等级").select_option("low")
        page.get_by_role("button", name="创建监测").click()
        expect(page.locator("#watch-done")).to_have_text("监测“我的监测”已创建。")
        expect(page.get_by_test_id("watch")).to_contain_text("低风险及以上即预警")

        api.file("WATCH/COPY-2", _redrawn(PROTECTED), name="乐百氏")
        page.get_by_role("button", name="刷新预警").click()
        card = _alert_card(page, "WATCH/COPY-2")
        expect(card).to_have_count(1)
        (alert,) = api.alerts(agent_key)
        risk = {"high": "高风险", "medium": "中风险", "low": "低风险"}[alert["risk"]]
        expect(card).to_contain_text("近似度")
        expect(card).to_contain_text("风险等级")
        expect(card.locator("[data-field=score]")).to_have_text(f"{alert['score']:.3f}")
        expect(card.locator("[data-field=risk]")).to_have_text(risk)
        expect(card.locator("[data-field=status]")).to_have_text("未读")
        watched = card.get_by_role("img", name="被监测商标 WATCH/OURS")  # its thumbnail
        expect(watched).to_be_visible()
        page.wait_for_function("() => [...document.querySelectorAll('.alert-thumb')]"
                               ".every((img) => img.naturalWidth > 0)")
        expect(page.locator("#alert-summary")).to_contain_text("共 1 条预警 · 第 1 页，共 1 页")

        card.get_by_role("button", name="标为已读").click()
        expect(card.locator("[data-field=status]")).to_have_text("已读")
        card.get_by_role("button", name="忽略").click()
        expect(card.locator("[data-field=status]")).to_have_text("已忽略")
        assert api.alerts(agent_key)[0]["status"] == "dismissed"

        card.get_by_role("button", name="解释近似度").click()  # with the register mark's id
        dialog = page.get_by_role("dialog")
        expect(dialog.locator("#record-fields")).to_contain_text("乐百氏")
        expect(dialog.locator("#explain-figure")).to_be_visible(timeout=60_000)
        page.locator("#record-close").click()

        page.get_by_label("语言").select_option("en")  # the tab's texts follow the switch
        expect(card.locator("[data-field=status]")).to_have_text("Dismissed")
        expect(page.get_by_role("tab", name="Watches")).to_be_visible()
    finally:
        page.context.close()
        api.clean(["WATCH/COPY-2", "WATCH/OURS"])
    assert errors == [], "the page logged errors"


def test_the_public_has_no_watches_tab(public_page: Page) -> None:
    public_page.goto("/")
    expect(public_page.locator("#key-status")).to_have_text("Public access (no key).")
    expect(public_page.get_by_role("tab", name="Register")).to_be_visible()
    expect(public_page.locator("#tab-watches")).to_be_hidden()
    expect(public_page.locator("#panel-watches")).to_be_hidden()
