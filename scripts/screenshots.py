"""Screenshots of the search page for the README, taken from the offline demo register.

The demo register is built once into ``--data-dir`` (``tmsearch --data-dir DIR demo``; a
rerun reuses it), served by a real ``tmsearch serve`` on 127.0.0.1 and shown in Debian's
headless Chromium driven by playwright, as the browser tests do (tests/browser/served.py;
``make browser-deps`` installs both). The query is the demo's Firefox logo with an
invented word beside it, so that the figure, the words and the risk levels all show.
Saved into ``--out`` (docs/screenshots/), each PNG under 300 KB:

- search-page.png: a search with its results, English, 1280x800;
- search-page-zh.png: the same search in Simplified Chinese;
- record.png: a result's record with the explanation heat maps;
- search-phone.png: the same search on a phone (390x844);
- browse.png: browsing without a logo (a Vienna code and a status, a page of marks);
- batch.png: the batch pre-check of three logos;
- report-page.png: the first page of its PDF report, in Chromium's PDF viewer.

Run: ``.venv/bin/python -m scripts.screenshots`` (about three minutes the first time on
two cores, for the demo register; under a minute after).
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parent.parent
TMSEARCH = Path(sys.executable).parent / "tmsearch"
CHROMIUM = Path("/usr/bin/chromium")
HOST = "127.0.0.1"
MAX_BYTES = 300 * 1024
WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
A4 = {"width": 660, "height": 934}
PDF_DRAWN_S = 3  # Chromium's PDF viewer gives the page no signal that it has drawn
QUERY_WORD = "Vulpera"  # invented: no demo mark carries it
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf")
BATCH_ICONS = ("firefox", "gitlab", "spotify")  # demo slugs; the query stands for the first


def clean_env() -> dict[str, str]:
    """This machine's TMSEARCH_* settings must not change the demo's server."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TMSEARCH_")}


def build_demo(data_dir: Path) -> Path:
    """The demo register in ``data_dir`` (made once); returns its rendered icons' folder."""
    subprocess.run([str(TMSEARCH), "--data-dir", str(data_dir), "--device", "cpu", "demo"],
                   check=True, env=clean_env())
    return data_dir / "demo-src" / "images"


def make_query(icons: Path, target: Path) -> Path:
    """The Firefox logo with an invented word beside it, as an applicant might file it."""
    with Image.open(icons / "firefox.png") as logo:
        canvas = Image.new("RGB", (640, 256), "white")
        canvas.paste(logo.convert("RGB"), (0, 0))
    font = ImageFont.truetype(str(FONT), 76) if FONT.is_file() else ImageFont.load_default()
    ImageDraw.Draw(canvas).text((276, 128), QUERY_WORD, fill=(40, 40, 40), font=font,
                                anchor="lm")
    canvas.save(target)
    return target


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextmanager
def serving(data_dir: Path, log: Path) -> Iterator[str]:
    """``tmsearch serve`` on ``data_dir`` until the block ends; yields its base URL."""
    port = _free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(TMSEARCH), "--data-dir", str(data_dir), "--device", "cpu", "serve",
             "--host", HOST, "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=clean_env())
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"tmsearch serve exited ({proc.returncode}); see {log}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"tmsearch serve not ready after 120 s; see {log}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def save(page: Page, target: Path) -> None:
    """A screenshot of the viewport, reduced to a 256-colour palette if it is too big."""
    png = page.screenshot()
    if len(png) > MAX_BYTES:
        with Image.open(io.BytesIO(png)) as shot:
            out = io.BytesIO()
            shot.convert("RGB").quantize(256, dither=Image.Dither.NONE).save(
                out, "PNG", optimize=True)
            png = out.getvalue()
    target.write_bytes(png)
    print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: "
          f"{len(png) // 1024} KB")


def settle(page: Page) -> None:
    """Wait until the outcome is drawn and the thumbnails in view have arrived."""
    page.locator("#results[aria-busy=false]").wait_for()
    page.wait_for_load_state("networkidle")
    page.wait_for_function("""() => [...document.querySelectorAll('#results img')]
        .filter((img) => img.getBoundingClientRect().top < innerHeight)
        .every((img) => img.complete && img.naturalWidth > 0)""")


def search(page: Page, query: Path, button: str) -> None:
    page.goto("/")
    page.set_input_files("#image", query)
    page.locator("#preview").wait_for()
    page.get_by_role("button", name=button, exact=True).click()
    page.get_by_test_id("result").first.wait_for()
    settle(page)


def open_page(browser: Browser, base: str, viewport: dict[str, int], locale: str) -> Page:
    context = browser.new_context(viewport=viewport, locale=locale, base_url=base)
    page = context.new_page()
    page.set_default_timeout(60_000)
    return page


def shoot_search(browser: Browser, base: str, query: Path, out: Path) -> None:
    """The English search, its record with the explanation, and the Chinese search."""
    page = open_page(browser, base, WIDE, "en-GB")
    search(page, query, "Search")
    page.evaluate("window.scrollTo(0, 0)")
    save(page, out / "search-page.png")

    page.set_viewport_size({"width": 1280, "height": 1000})  # the record and its heat maps
    page.get_by_test_id("result").nth(1).click()
    page.wait_for_function("document.getElementById('record-image').naturalWidth > 0")
    page.get_by_role("button", name="Explain similarity").click()
    page.wait_for_function("document.getElementById('explain-image').naturalWidth > 0")
    page.locator("#explain-figure").scroll_into_view_if_needed()
    save(page, out / "record.png")
    page.context.close()

    page = open_page(browser, base, WIDE, "zh-CN")
    search(page, query, "检索")
    page.evaluate("window.scrollTo(0, 0)")
    save(page, out / "search-page-zh.png")
    page.context.close()


def shoot_phone(browser: Browser, base: str, query: Path, out: Path) -> None:
    """On a phone the results follow the form; the page brings them into view."""
    page = open_page(browser, base, PHONE, "en-GB")
    search(page, query, "Search")
    page.locator("#summary").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -72)")  # the Search button shows above them
    settle(page)
    save(page, out / "search-phone.png")
    page.context.close()


def shoot_browse(browser: Browser, base: str, out: Path) -> None:
    """No logo: the register's registered marks with a circle (Vienna 26.01), page 1."""
    page = open_page(browser, base, WIDE, "en-GB")
    page.goto("/")
    page.get_by_label("Vienna codes").fill("26.01")
    page.get_by_label("registered").check()
    page.get_by_role("button", name="Search", exact=True).click()
    page.locator("#pager").wait_for()
    settle(page)
    page.evaluate("""() => { window.scrollTo(0, 0);
        document.querySelector('.query-fields').scrollTop = 0; }""")
    save(page, out / "browse.png")
    page.context.close()


def shoot_batch(browser: Browser, base: str, query: Path, icons: Path, out: Path) -> None:
    page = open_page(browser, base, WIDE, "en-GB")
    page.goto("/")
    page.get_by_role("tab", name="Batch pre-check").click()
    logos = [query, *(icons / f"{slug}.png" for slug in BATCH_ICONS[1:])]
    page.get_by_label("Logos", exact=True).set_input_files(logos)
    page.get_by_label("Matches per logo").fill("3")
    page.get_by_role("button", name="Run pre-check").click()
    page.get_by_role("status").filter(has_text="Checked 3 logos").wait_for(timeout=300_000)
    page.wait_for_load_state("networkidle")
    save(page, out / "batch.png")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    pdf = query.parent / "screenshot-report.pdf"
    download.value.save_as(pdf)
    page.context.close()

    page = open_page(browser, base, A4, "en-GB")
    page.goto(f"{pdf.resolve().as_uri()}#toolbar=0&navpanes=0&view=Fit")
    page.wait_for_timeout(PDF_DRAWN_S * 1000)
    save(page, out / "report-page.png")
    page.context.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "screenshots-demo",
                        help="where the demo register is built (kept for reruns)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    if not CHROMIUM.is_file():
        raise SystemExit(f"{CHROMIUM} is missing: run `make browser-deps` (as root)")
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    icons = build_demo(args.data_dir)
    query = make_query(icons, args.data_dir / "screenshot-query.png")
    with serving(args.data_dir, args.data_dir / "screenshots-serve.log") as base, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox"])
        try:
            shoot_search(browser, base, query, args.out)
            shoot_phone(browser, base, query, args.out)
            shoot_browse(browser, base, args.out)
            shoot_batch(browser, base, query, icons, args.out)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
