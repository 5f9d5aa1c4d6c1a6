"""The search page in a real browser against a real server (see conftest.py)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.served import NICE_CLASSES, SEEDS, STATUSES, Server, mark_id
from tests.imagegen import make_mark, to_bytes

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is missing (scripts/browser_deps.sh)"
)
expect = sync_api.expect

SEARCH_CALLS = re.compile(r"/v1/search$|/similar\?")


def searched(page: Page, action: Callable[[], Any]) -> dict[str, Any]:
    """Run ``action``, which starts a search; wait until the page shows its outcome and
    return the API's answer."""
    with page.expect_response(lambda r: SEARCH_CALLS.search(r.url) is not None) as answer:
        action()
    expect(page.locator("#results")).to_have_attribute("aria-busy", "false")
    return answer.value.json()


def click_search(page: Page) -> dict[str, Any]:
    return searched(page, page.get_by_role("button", name="Search", exact=True).click)


def card_ids(page: Page) -> list[str]:
    return page.get_by_test_id("result").evaluate_all("cards => cards.map(c => c.dataset.id)")


def field_texts(page: Page, field: str) -> list[str]:
    return page.locator(f"[data-testid=result] [data-field={field}]").all_inner_texts()


# Chromium does not hand multipart bodies with files to the driver, so the page's
# fetch is watched from inside: the text fields of each form it posts.
WATCH_FORMS = """
    window.sentForms = [];
    const fetchFirst = window.fetch;
    window.fetch = (url, init) => {
        if (init && init.body instanceof FormData) {
            window.sentForms.push(Object.fromEntries(
                [...init.body].filter(([, value]) => typeof value === "string")));
        }
        return fetchFirst(url, init);
    };
"""


def last_form(page: Page) -> dict[str, str]:
    return page.evaluate("window.sentForms.at(-1)")


def test_upload_finds_the_registered_mark(page: Page, server: Server) -> None:
    page.goto("/")
    expect(page.locator("#register-info")).to_contain_text(f"{len(SEEDS)} marks")
    page.set_input_files("#image", server.image(3))
    expect(page.locator("#preview")).to_be_visible()

    body = click_search(page)

    cards = page.get_by_test_id("result")
    assert 0 < cards.count() == len(body["results"]) == 20
    assert card_ids(page)[0] == mark_id(3)
    top = cards.first
    expect(top.locator("[data-field=score]")).to_have_text("1.000")
    expect(top.locator(".risk")).to_have_text("High risk")
    expect(top).to_contain_text("Acme Ltd")
    expect(top.locator("[data-field=match]")).to_have_text("whole mark")
    expect(page.locator("#summary")).to_contain_text(re.compile(r"20 results · [\d.]+ ms"))


def test_dropped_logo_is_searched(page: Page, server: Server) -> None:
    page.goto("/")
    png = base64.b64encode(server.image(4).read_bytes()).decode()
    dropped = page.evaluate_handle(
        """(data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "dropped.png", { type: "image/png" }));
            return transfer;
        }""", png)
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": dropped})
    expect(page.locator("#preview")).to_be_visible()

    click_search(page)
    assert card_ids(page)[0] == mark_id(4)


def drag(page: Page, selector: str, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag across an element, from and to fractions of its displayed size."""
    target = page.locator(selector)
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"],
                    steps=5)
    page.mouse.up()


def test_crop_is_sent_in_the_images_pixels(page: Page, server: Server, tmp_path: Path) -> None:
    query = tmp_path / "big.png"
    query.write_bytes(to_bytes(make_mark(7, size=512)))  # shown smaller than it is
    page.add_init_script(WATCH_FORMS)
    page.goto("/")
    page.set_input_files("#image", query)
    expect(page.locator("#preview")).to_be_visible()
    whole = click_search(page)["results"]

    drag(page, "#preview", (0.25, 0.25), (0.75, 0.75))
    expect(page.locator("#crop-info")).to_contain_text("Crop:")
    cropped = click_search(page)["results"]
    crop = [int(last_form(page).get(f"crop_{c}", -1)) for c in "xywh"]
    assert crop == pytest.approx([128, 128, 256, 256], abs=3)
    assert [(r["id"], r["score"]) for r in cropped] != [(r["id"], r["score"]) for r in whole]
    assert re.search(r"crop=\d+%2C\d+%2C\d+%2C\d+", page.url)

    page.get_by_role("button", name="Clear crop").click()
    expect(page.locator("#crop-info")).to_have_text("Whole image")
    click_search(page)
    assert "crop_x" not in last_form(page)
    assert "crop=" not in page.url


def test_filters_narrow_the_results(page: Page, server: Server) -> None:
    page.goto("/")
    page.set_input_files("#image", server.image(1))
    page.get_by_label("Results").fill("30")
    assert len(click_search(page)["results"]) == len(SEEDS)

    page.get_by_label("Nice classes", exact=True).fill("42")
    click_search(page)
    with_42 = [s for s in SEEDS if 42 in NICE_CLASSES[s % 4]]
    nice = field_texts(page, "nice_classes")
    assert len(nice) == len(with_42) < len(SEEDS)
    assert all("42" in text.split(", ") for text in nice)
    expect(page.locator("#summary")).to_contain_text("filters: Nice 42")
    assert "nice_classes=42" in page.url

    page.get_by_label("registered").check()
    click_search(page)
    registered = [s for s in with_42 if STATUSES[s % len(STATUSES)] == "registered"]
    assert sorted(card_ids(page)) == sorted(mark_id(s) for s in registered)
    assert set(field_texts(page, "status")) == {"registered"}


def test_more_results_keeps_the_scroll(page: Page, server: Server) -> None:
    page.add_init_script(WATCH_FORMS)
    page.goto("/")
    page.set_input_files("#image", server.image(2))
    click_search(page)
    assert page.get_by_test_id("result").count() == 20
    more = page.get_by_role("button", name="More results")
    more.scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0

    searched(page, more.click)
    assert last_form(page)["k"] == "40"
    assert page.get_by_test_id("result").count() == len(SEEDS)
    expect(more).to_be_hidden()  # fewer than k came back: there are no more
    assert abs(page.evaluate("window.scrollY") - scrolled) < 5
    assert "k=40" in page.url


def test_record_opens_and_similar_search_is_shareable(page: Page, server: Server) -> None:
    page.goto("/")
    page.set_input_files("#image", server.image(3))
    click_search(page)
    dialog = page.get_by_role("dialog")

    page.get_by_test_id("result").nth(1).click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    top = page.get_by_test_id("result").first
    top.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#record-fields")).to_contain_text(mark_id(3))
    expect(dialog.locator("#record-fields")).to_contain_text("Acme Ltd")
    page.wait_for_function("document.getElementById('record-image').naturalWidth > 0")

    body = searched(page, dialog.get_by_role("button", name="Similar to this").click)
    expect(dialog).to_be_hidden()
    ids = card_ids(page)
    assert ids == [r["id"] for r in body["results"]] and mark_id(3) not in ids
    assert "similar=EU%2F000003" in page.url
    expect(page.locator("#summary")).to_contain_text(f"similar to {mark_id(3)}")

    searched(page, page.go_back)  # back to the logo's search, run again
    assert card_ids(page)[0] == mark_id(3)
    searched(page, page.go_forward)
    assert card_ids(page) == ids

    searched(page, page.reload)  # the link alone runs the same search
    assert card_ids(page) == ids
    expect(page.locator("#similar-id")).to_have_text(mark_id(3))


def test_explanation_in_the_record(page: Page, server: Server) -> None:
    page.goto("/")
    page.set_input_files("#image", server.image(5))
    click_search(page)
    page.get_by_test_id("result").nth(1).click()
    with page.expect_response(re.compile(r"/v1/explain$")) as answer:
        page.get_by_role("button", name="Explain similarity").click()
    assert answer.value.headers["content-type"] == "image/png"
    page.wait_for_function("document.getElementById('explain-image').naturalWidth > 0")
    expect(page.locator("#explain-figure")).to_be_visible()


def test_shared_link_restores_the_options(page: Page, server: Server) -> None:
    page.goto("/?mode=shape&rotation_tolerant=true&nice_classes=9,42&status=registered,expired"
              "&owner=Acme&k=7")
    expect(page.get_by_label("Mode")).to_have_value("shape")
    expect(page.get_by_label("Rotation tolerant")).to_be_checked()
    expect(page.get_by_label("Nice classes", exact=True)).to_have_value("9,42")
    expect(page.get_by_label("registered")).to_be_checked()
    expect(page.get_by_label("expired")).to_be_checked()
    expect(page.get_by_label("filed", exact=True)).not_to_be_checked()
    expect(page.get_by_label("Owner")).to_have_value("Acme")
    expect(page.get_by_label("Results")).to_have_value("7")
    notice = page.locator("#image-needed")
    expect(notice).to_be_visible()  # the image cannot travel in a link

    page.set_input_files("#image", server.image(0))
    expect(notice).to_be_hidden()
    body = click_search(page)
    assert body["mode"] == "shape" and body["rotation_tolerant"] is True
    assert body["filters"] == {"nice_classes": [9, 42], "status": ["registered", "expired"],
                               "owner": "Acme"}
    assert 0 < len(body["results"]) <= 7


def alert_shows(page: Page, text: str) -> None:
    expect(page.get_by_role("alert").first).to_contain_text(text)


def test_bad_input_is_explained(page: Page, server: Server, console_errors: list[str]) -> None:
    uploads: list[str] = []
    page.on("request", lambda r: r.url.endswith("/v1/search") and uploads.append(r.url))
    page.goto("/")
    file_input = page.locator("#image")

    file_input.set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a logo"})
    alert_shows(page, "“notes.txt” is not an image")
    # made in the page: 10 MB through the driver would take seconds
    page.evaluate("""(size) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(size)], "huge.png", { type: "image/png" }));
        const input = document.querySelector("#image");
        input.files = transfer.files;
        input.dispatchEvent(new Event("change"));
    }""", 10 * 1024 * 1024 + 1)
    alert_shows(page, "the limit is 10 MB")
    assert uploads == []  # refused before uploading
    # with no logo left, Search lists the register's marks instead of uploading anything
    with page.expect_response(re.compile(r"/v1/marks\?")):
        page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#page-info")).to_have_text("Page 1 of 2")
    assert uploads == []

    # what only the service can tell: the page shows its detail
    file_input.set_input_files(
        {"name": "broken.png", "mimeType": "image/png", "buffer": b"\x89PNG but not really"})
    click_search(page)
    alert_shows(page, "Not a supported image: expected PNG")  # said once, not twice
    expect(page.get_by_test_id("result")).to_have_count(0)

    file_input.set_input_files(server.image(6))
    page.get_by_label("Nice classes", exact=True).fill("nine")
    click_search(page)
    alert_shows(page, "Invalid input: invalid filter nice_classes: 'nine' is not a whole number")
    # the browser logs each failed request; those two were the point of this test
    assert len(console_errors) == 2
    assert all("status of 415" in e or "status of 422" in e for e in console_errors)
    console_errors.clear()


def test_busy_or_unreachable_service(page: Page, server: Server,
                                     console_errors: list[str]) -> None:
    page.goto("/")
    page.set_input_files("#image", server.image(8))
    page.route("**/v1/search", lambda route: route.fulfill(
        status=503, json={"detail": "too many searches at once"}))
    click_search(page)
    alert_shows(page, "The service is busy; try again in a moment: too many searches at once")

    page.unroute("**/v1/search")
    page.route("**/v1/search", lambda route: route.abort())
    page.get_by_role("button", name="Search", exact=True).click()
    alert_shows(page, "Network error: the service could not be reached.")
    # the browser logs each failed request; those two were the point of this test
    assert len(console_errors) == 2
    assert "status of 503" in console_errors[0] and "ERR_FAILED" in console_errors[1]
    console_errors.clear()


def test_phone_layout_does_not_scroll_sideways(page: Page, server: Server) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    page.set_input_files("#image", server.image(9))
    click_search(page)
    scroll_width = "document.scrollingElement.scrollWidth"
    assert page.evaluate(scroll_width) <= 390 + 1
    page.get_by_test_id("result").first.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.wait_for_function("document.getElementById('record-image').naturalWidth > 0")
    assert page.evaluate(scroll_width) <= 390 + 1
    dialog_box = page.get_by_role("dialog").bounding_box()
    assert dialog_box is not None and dialog_box["width"] <= 390
    page.locator("#record-close").click()
    page.get_by_role("tab", name="Register").click()
    expect(page.locator("#stat-risk_thresholds")).to_be_visible()
    page.wait_for_load_state("networkidle")  # the tab's refresh has drawn the figures again
    label_top, label_height, figure_top, figure_width = page.evaluate("""() => {
        const figure = document.getElementById("stat-risk_thresholds");
        const a = figure.previousElementSibling.getBoundingClientRect();
        const b = figure.getBoundingClientRect();
        return [a.top, a.height, b.top, b.width]; }""")  # one moment for both boxes
    assert figure_top >= label_top + label_height - 1  # under its label
    assert figure_width >= 300  # the whole width, not a squeezed column beside a label


def test_batch_pre_check_downloads_csv_and_pdf(page: Page, server: Server) -> None:
    import csv
    import io

    from pypdf import PdfReader

    page.goto("/")
    page.get_by_role("tab", name="Search").focus()
    page.keyboard.press("ArrowRight")  # tabs are keyboard-usable
    expect(page.get_by_role("tab", name="Batch pre-check")).to_have_attribute(
        "aria-selected", "true")
    expect(page.locator("#search-form")).to_be_hidden()
    page.get_by_label("Logos", exact=True).set_input_files([server.image(3), server.image(5),
                                                server.image(7)])
    page.get_by_label("Matches per logo").fill("2")
    page.get_by_role("button", name="Run pre-check").click()
    sections = page.get_by_test_id("batch-query")
    expect(sections).to_have_count(3, timeout=60_000)
    expect(page.get_by_role("status").filter(has_text="Checked 3 logos")).to_be_visible()
    first = sections.first
    expect(first.get_by_test_id("batch-match")).to_have_count(2)
    expect(first).to_contain_text(mark_id(3))
    expect(first).to_contain_text("high risk")
    logo = first.get_by_role("img", name="Query mark-3.png")  # the logo beside its matches
    expect(logo).to_be_visible()
    assert logo.evaluate("img => img.naturalWidth") > 0
    first.get_by_role("button", name=f"Open mark {mark_id(3)}:").click()  # a match opens
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(mark_id(3))
    dialog.get_by_role("button", name="Explain similarity").click()  # with the batch logo
    expect(dialog.locator("#explain-figure")).to_be_visible(timeout=60_000)
    page.locator("#record-close").click()

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text())))
    assert len(rows) == 6 and rows[0]["mark_id"] == mark_id(3)
    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Download PDF").click()
    pages = PdfReader(pdf_download.value.path()).pages
    assert len(pages) == 3  # one section per query
    assert all(f"Query {n} of 3" in p.extract_text() for n, p in enumerate(pages, start=1))


def test_batch_without_logos_says_so(page: Page, server: Server) -> None:
    page.goto("/")
    page.get_by_role("tab", name="Batch pre-check").click()
    page.get_by_role("button", name="Run pre-check").click()
    expect(page.locator("#batch-alert")).to_contain_text("Choose one or more logos")


def test_the_public_never_sees_filed_marks(public_page: Page, server: Server) -> None:
    """Mark 5 is filed: the examiner's page finds it first; the public's page shows the
    published ones only, counts only those, and says it has public access."""
    public_page.goto("/")
    public_page.set_input_files("#image", server.image(5))
    answer = click_search(public_page)
    assert answer["results"] and mark_id(5) not in [r["id"] for r in answer["results"]]
    assert all(r["status"] != "filed" for r in answer["results"])
    public_page.get_by_role("tab", name="Register").click()
    filed = sum(1 for seed in SEEDS if seed % 5 == 0)
    expect(public_page.locator("#stat-marks")).to_have_text(str(len(SEEDS) - filed))
    expect(public_page.locator("#key-status")).to_have_text("Public access (no key).")
    expect(public_page.locator("#stat-vectors")).to_have_text("—")  # not "never"
    expect(public_page.get_by_role("button", name="Add mark")).to_be_hidden()


def test_a_wrong_key_is_refused_and_forgotten(public_page: Page, console_errors: list[str]
                                              ) -> None:
    public_page.goto("/")
    public_page.get_by_role("tab", name="Register").click()
    public_page.get_by_label("API key").fill("tms_00000000_" + "x" * 43)
    public_page.get_by_role("button", name="Use key").click()
    expect(public_page.locator("#key-alert")).to_contain_text("unknown or revoked API key")
    expect(public_page.locator("#key-status")).to_have_text("Public access (no key).")
    console_errors.clear()  # the refused request is logged by the browser


def test_register_view_and_admin_upload(page: Page, server: Server, tmp_path: Path) -> None:
    """Runs last in this file: it adds a mark to the session's register."""
    page.goto("/")
    page.get_by_role("tab", name="Register").click()
    expect(page.locator("#stat-marks")).to_have_text(str(len(SEEDS)))
    expect(page.locator("#stat-index_type")).not_to_be_empty()
    expect(page.locator("#stat-last_ingest")).not_to_have_text("never")
    expect(page.locator("#key-status")).to_contain_text("examiner access")
    expect(page.get_by_role("button", name="Add mark")).to_be_hidden()  # not theirs to do
    before = page.locator("#stat-last_ingest").inner_text()
    page.get_by_label("API key").fill(server.keys["admin"])
    page.get_by_role("button", name="Use key").click()
    expect(page.locator("#key-status")).to_contain_text("admin access")
    page.get_by_role("button", name="Add mark").click()
    expect(page.locator("#upload-alert")).to_contain_text("give its id")

    logo = tmp_path / "new.png"
    logo.write_bytes(to_bytes(make_mark(4242)))
    page.get_by_label("Mark image").set_input_files(logo)
    page.get_by_label("Mark id").fill("NEW/4242")
    page.get_by_label("Mark name").fill("Brand new")
    page.get_by_label("Classes (Nice)").fill("45")
    page.get_by_label("Mark status").select_option("filed")
    page.get_by_role("button", name="Add mark").click()
    expect(page.get_by_role("status").filter(has_text="Mark NEW/4242 saved")).to_be_visible()
    expect(page.locator("#stat-marks")).to_have_text(str(len(SEEDS) + 1))
    expect(page.locator("#register-info")).to_contain_text(f"{len(SEEDS) + 1} marks")
    expect(page.locator("#stat-last_ingest")).not_to_have_text(before)  # the upload counts

    page.get_by_role("tab", name="Search").click()
    page.set_input_files("#image", logo)
    answer = click_search(page)
    assert answer["results"][0]["id"] == "NEW/4242"
    assert answer["results"][0]["nice_classes"] == [45]



@pytest.mark.parametrize("viewport", [(1280, 800), (1366, 650), (390, 844)])
def test_the_search_button_covers_no_field(page: Page, viewport: tuple[int, int]) -> None:
    """The button stays in reach, but no field, label or hint of the form is under it
    (the mode select and its hint were, in the first view of a laptop)."""
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    page.goto("/")
    for scroll in (0, 300, 600):
        page.evaluate(f"window.scrollTo(0, {scroll})")
        covered = page.evaluate("""() => {
            const bar = document.querySelector('#search-form .actions').getBoundingClientRect();
            // what a scrolling fields area hides is not under the bar: clip to it
            const area = document.querySelector('#search-form .query-fields');
            const clip = getComputedStyle(area).overflowY === 'auto'
              ? area.getBoundingClientRect() : { top: -Infinity, bottom: Infinity };
            const hit = (r) => {
              const top = Math.max(r.top, clip.top), bottom = Math.min(r.bottom, clip.bottom);
              return r.width > 0 && bottom > top && bottom > bar.top + 1
                && top < bar.bottom - 1 && r.right > bar.left && r.left < bar.right;
            };
            return [...document.querySelectorAll(
                '#search-form fieldset input, #search-form fieldset select, '
                + '#search-form fieldset label, #search-form fieldset .hint')]
              .filter((e) => hit(e.getBoundingClientRect())).map((e) => e.id || e.textContent);
        }""")
        assert covered == [], (viewport, scroll, covered)
