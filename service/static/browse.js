// Browsing the register without a logo: the marks that pass the Search tab's filters and
// words, a page at a time, newest filing first (GET /v1/marks). Examiners list marks by
// class, code, owner and dates alone as often as they search by a drawing.
import { t } from "./i18n.js";
import { filtersText, renderMarks } from "./results.js";

export const PER_PAGE = 20;
const FILTERS = ["nice_classes", "vienna_codes", "status", "filed_from", "filed_to", "owner"];

// The filters of a listing as the summary names them (the API's listing does not echo
// them, unlike a search).
function filtersOf(options) {
  return Object.fromEntries(FILTERS.map((name) => [name, options[name]])
    .filter(([, value]) => value && value.length));
}

// results, summary: the Search tab's outcome; pager: the nav with #page-prev,
// #page-info and #page-next; onPage(n) lists page n; onOpen(mark) opens its record.
export function createListing({ results, summary, pager, onOpen, onPage }) {
  const prev = pager.querySelector("#page-prev");
  const next = pager.querySelector("#page-next");
  const info = pager.querySelector("#page-info");
  let shown = null; // {body, options} of the listing on screen

  // The summary and the page line in the page's language (again after a switch).
  function say() {
    if (!shown) return;
    const { body, options } = shown;
    const parts = [body.total
      ? t(body.total === 1 ? "{total} mark" : "{total} marks",
        { total: body.total.toLocaleString() })
      : t("No marks found"), t("page {page} of {pages}", { page: body.page, pages: body.pages }),
    t("newest filing first")];
    if (options.text) parts.push(t("words “{text}”", { text: options.text }));
    const filters = filtersText(filtersOf(options));
    if (filters) parts.push(t("filters: {filters}", { filters }));
    summary.textContent = parts.join(" · ");
    info.textContent = t("Page {page} of {pages}", { page: body.page, pages: body.pages });
  }

  function show(body, options) {
    shown = { body, options };
    results.setAttribute("aria-label", "Marks of the register");
    renderMarks(results, body.marks, onOpen);
    prev.disabled = body.page <= 1;
    next.disabled = body.page >= body.pages;
    pager.hidden = false;
    say();
  }

  function hide() {
    shown = null;
    pager.hidden = true;
    results.setAttribute("aria-label", "Similar marks");
  }

  prev.addEventListener("click", () => shown && onPage(shown.body.page - 1));
  next.addEventListener("click", () => shown && onPage(shown.body.page + 1));
  return { show, hide, say };
}
