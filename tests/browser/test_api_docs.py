"""The API docs work offline: Swagger UI at /docs loads every file from the server
itself (a browser that may reach nothing else renders it)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse

from tests.browser.served import Server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route


def _offline_page(browser: Browser, server: Server, outside: list[str]):  # noqa: ANN202
    context = browser.new_context(base_url=server.base)
    own = urlparse(server.base).netloc

    def only_the_server(route: Route) -> None:
        if urlparse(route.request.url).netloc == own:
            route.continue_()
        else:  # a CDN: the docs would be blank without internet
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


def test_swagger_ui_renders_offline(browser: Browser, server: Server) -> None:
    outside: list[str] = []
    context, page = _offline_page(browser, server, outside)
    try:
        page.goto("/docs")
        page.locator(".opblock-summary-path", has_text="/v1/search").first.wait_for()
        assert page.locator(".opblock").count() > 10  # every operation is listed
        assert outside == []
    finally:
        context.close()


def test_redoc_is_not_served_half_offline(server: Server) -> None:
    import httpx

    assert httpx.get(f"{server.base}/redoc").status_code == 404  # it needed a CDN
