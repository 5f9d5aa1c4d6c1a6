"""Browser tests of the search page: one real ``tmsearch serve`` over a small generated
register and one headless Chromium per session, a fresh browser context per test.

Debian's Chromium (``/usr/bin/chromium``) is driven by the ``playwright`` package; both
come from ``scripts/browser_deps.sh``, and the tests skip where either is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser.served import Server, browser_missing, chromium, serving

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if reason := browser_missing():
        pytest.skip(reason)
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("browser-register")) as running:
        yield running


@pytest.fixture
def console_errors() -> list[str]:
    """What the page logged as errors; a test that provokes some removes them."""
    return []


def _page(browser: Browser, server: Server, console_errors: list[str],
          key: str | None) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.base)
    if key is not None:  # as if the examiner had entered the key in this tab
        context.add_init_script(f"sessionStorage.setItem('tmsearch-api-key', {json.dumps(key)})")
    page = context.new_page()
    page.set_default_timeout(20_000)

    def log_error(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    page.on("console", log_error)
    page.on("pageerror", lambda exc: console_errors.append(f"uncaught: {exc}"))
    yield page
    context.close()
    assert console_errors == [], "the page logged errors"


@pytest.fixture
def page(browser: Browser, server: Server, console_errors: list[str]) -> Iterator[Page]:
    """A 1280x800 page of an examiner (their key in the tab: filed marks are shown); it
    fails the test if the page logged errors."""
    yield from _page(browser, server, console_errors, server.keys["examiner"])


@pytest.fixture
def public_page(browser: Browser, server: Server, console_errors: list[str]) -> Iterator[Page]:
    """The same page as the public sees it: no key."""
    yield from _page(browser, server, console_errors, None)


@pytest.fixture
def chinese_page(browser: Browser, server: Server) -> Iterator[Page]:
    """The page in a browser whose language is Simplified Chinese (no key: the public)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800},
                                  base_url=server.base)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
