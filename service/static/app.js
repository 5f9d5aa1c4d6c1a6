// The search page: a query logo (or a mark of the register) plus options in, similar
// marks out; without a logo, the register's marks that pass the filters, page by page.
// It talks only to the public API and keeps the search in the URL.
import * as api from "./api.js";
import { setUpBatch } from "./batch.js";
import { PER_PAGE, createListing } from "./browse.js";
import { setUpRegister } from "./register.js";
import { createCropper, matchAspect } from "./crop.js";
import { createRecordPanel } from "./record.js";
import { filtersText, renderResults } from "./results.js";
import { MAX_K, fromUrlQuery, readForm, toUrlQuery, writeForm } from "./state.js";
import { setUpTabs } from "./tabs.js";
import { setUpWatches } from "./watches.js";
import { setUpLanguageSwitch, t } from "./i18n.js";

const MAX_UPLOAD_BYTES = 10 * 1024 * 1024; // the service's default limit
const MORE_STEP = 20;
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/bmp",
  "image/tiff", "image/webp", "image/svg+xml"]);
const IMAGE_NAME = /\.(png|jpe?g|gif|bmp|tiff?|webp|svg)$/i;

const $ = (id) => document.getElementById(id);
const form = $("search-form");
const fileInput = $("image");
const preview = $("preview");
const alertEl = $("alert");
const summary = $("summary");
const resultsEl = $("results");
const moreButton = $("more");

const state = {
  file: null, // the chosen query image
  similar: null, // the id of the mark a "similar to" search starts from
  pendingCrop: null, // a crop from the URL, waiting for the image it applies to
  shown: null, // the query of the results on screen ({file} or {id}), for explanations;
  // null for a listing
  searchSeq: 0, // only the latest search may show its results
};
let previewUrl = null;

const cropper = createCropper({ img: preview, box: $("crop-box"), onChange: showCrop });
const record = createRecordPanel({ onSimilar: searchSimilarTo, explainQuery: () => state.shown });
const listing = createListing({ results: resultsEl, summary, pager: $("pager"),
  onOpen: record.open, onPage: (page) => runSearch({ browse: page }) });

function showAlert(message) {
  alertEl.textContent = message;
  const { top, bottom } = alertEl.getBoundingClientRect();
  if (top < 0 || bottom > window.innerHeight) alertEl.scrollIntoView({ block: "nearest" });
}

function clearAlert() {
  alertEl.textContent = "";
}

function showCrop(crop) {
  $("crop-info").textContent = crop
    ? `Crop: ${crop.w} × ${crop.h} px at (${crop.x}, ${crop.y})`
    : "Whole image";
  $("crop-clear").disabled = !crop;
}

// The query is either the chosen logo or a mark of the register: show which.
function showSource() {
  $("similar-source").hidden = !state.similar;
  $("preview-area").hidden = Boolean(state.similar) || !state.file;
  $("browse-hint").hidden = Boolean(state.similar) || Boolean(state.file);
  if (state.similar) {
    $("similar-id").textContent = state.similar;
    api.showImage($("similar-thumb"), api.markUrl(state.similar, "/thumbnail"));
  }
}

function fileProblem(file) {
  if (!IMAGE_TYPES.has(file.type) && !IMAGE_NAME.test(file.name)) {
    return `“${file.name}” is not an image we can search with (${file.type || "unknown type"}):`
      + " choose a PNG, JPEG, GIF, BMP, TIFF, WebP or SVG file.";
  }
  if (file.size > MAX_UPLOAD_BYTES) {
    const mb = (file.size / 1024 / 1024).toFixed(1);
    return `“${file.name}” is ${mb} MB; the limit is 10 MB.`;
  }
  return null;
}

function chooseFile(file) {
  const problem = fileProblem(file);
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = null;
  cropper.clear();
  if (problem) {
    fileInput.value = "";
    state.file = null;
    preview.removeAttribute("src");
    showSource();
    showAlert(problem);
    return;
  }
  clearAlert();
  state.file = file;
  state.similar = null;
  previewUrl = URL.createObjectURL(file);
  preview.src = previewUrl;
  $("image-needed").hidden = true;
  showSource();
}

function showSummary(body, query) {
  const count = body.results.length;
  const parts = [count ? t(count === 1 ? "{count} result" : "{count} results", { count })
    : t("No marks found"), `${body.took_ms} ms`, t("mode {mode}", { mode: body.mode })];
  if (body.rotation_tolerant) parts.push(t("rotation tolerant"));
  if (query.id) parts.push(t("similar to {id}", { id: query.id }));
  if (body.query_text) parts.push(t("words “{text}”", { text: body.query_text }));
  const filters = filtersText(body.filters);
  if (filters) parts.push(t("filters: {filters}", { filters }));
  summary.textContent = parts.join(" · ");
}

function saveUrl(options, push, page) {
  const url = `${location.pathname}${toUrlQuery(options, state.similar, page)}`;
  if (url === `${location.pathname}${location.search}`) return;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

// On a phone the results are below the form, on a laptop above where the Search button
// was clicked: bring the new ones into view.
function revealResults() {
  const top = summary.getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight * 0.75) summary.scrollIntoView({ block: "start" });
}

function setBusy(busy) {
  resultsEl.setAttribute("aria-busy", String(busy));
  if (busy) summary.textContent = "Searching…";
}

// What Search runs: the page ``browse`` of a listing when asked (the pager, a listing's
// link), else the "similar to" mark, the chosen logo, or without either a listing.
function queryOf(browse) {
  if (browse) return { browse };
  if (state.similar) return { id: state.similar };
  if (state.file) return { file: state.file };
  return { browse: 1 };
}

function fetchOutcome(query, options) {
  if (query.browse) return api.listMarks(options, query.browse, PER_PAGE);
  if (query.id) return api.searchSimilar(query.id, options);
  return api.searchByImage(query.file, options);
}

function showOutcome(body, query, options) {
  state.shown = query.browse ? null : query;
  if (query.browse) {
    listing.show(body, options);
    moreButton.hidden = true;
    return;
  }
  listing.hide();
  renderResults(resultsEl, body.results, record.open);
  showSummary(body, query);
  moreButton.hidden = body.results.length < options.k || options.k >= MAX_K;
}

// more: a "More results" search, which keeps the scroll and focuses the first new card;
// browse: a listing's page. Resolves to false when the search failed.
async function runSearch({ push = true, more = false, browse = null } = {}) {
  const options = { ...readForm(form), crop: cropper.get() };
  const query = queryOf(browse);
  const seq = ++state.searchSeq;
  const scrollY = window.scrollY;
  const shownBefore = resultsEl.children.length;
  const summaryBefore = summary.textContent;
  clearAlert();
  setBusy(true);
  try {
    const body = await fetchOutcome(query, options);
    if (seq !== state.searchSeq) return true;
    if (query.browse > body.pages) { // a link to a page past the end: the last page
      return runSearch({ push: false, browse: body.pages });
    }
    showOutcome(body, query, options);
    saveUrl(options, push, query.browse ?? null);
    if (more) {
      window.scrollTo(0, scrollY);
      resultsEl.children[shownBefore]?.focus({ preventScroll: true });
    } else {
      revealResults();
    }
    return true;
  } catch (err) {
    if (seq !== state.searchSeq) return false;
    showAlert(err.message);
    // a failed "More" leaves the results it had; other results would pass for this one's
    if (more) {
      summary.textContent = summaryBefore;
    } else {
      resultsEl.replaceChildren();
      moreButton.hidden = true;
      listing.hide();
      summary.textContent = "";
    }
    return false;
  } finally {
    if (seq === state.searchSeq) setBusy(false);
  }
}

function searchSimilarTo(id) {
  tabs.select($("tab-search")); // from a batch's or a watch's record too
  state.similar = id;
  showSource();
  $("image-needed").hidden = true;
  runSearch();
}

async function searchMore() {
  const { k } = readForm(form);
  form.elements.k.value = String(Math.min(k + MORE_STEP, MAX_K));
  // on failure k goes back, so that trying again asks for the same number
  if (!(await runSearch({ push: false, more: true }))) form.elements.k.value = String(k);
}

// On load and on back/forward: the URL's search goes into the form and runs when it can.
function applyUrl() {
  const { options, similar, page, hasOptions } = fromUrlQuery(location.search);
  writeForm(form, options);
  state.similar = page ? null : similar;
  if (state.file) cropper.set(options.crop);
  else state.pendingCrop = options.crop;
  showSource();
  $("image-needed").hidden = !hasOptions || Boolean(page) || Boolean(similar)
    || Boolean(state.file);
  if (page || similar || state.file) {
    runSearch({ push: false, browse: page });
  } else {
    resultsEl.replaceChildren();
    summary.textContent = "";
    moreButton.hidden = true;
    listing.hide();
  }
}

async function showRegister() {
  const info = $("register-info");
  try {
    const register = await api.registerInfo(); // counts what this key may see
    info.textContent = t("Register: {marks} marks · model {model}", {
      marks: register.marks.toLocaleString(), model: register.model_version })
      + (register.needs_reindex ? t(" · the index needs rebuilding (tmsearch reindex)") : "");
  } catch (err) {
    info.textContent = t("Register: unavailable ({error})", { error: err.message });
  }
}

function setUpDropzone(zone) {
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    const file = event.dataTransfer.files[0];
    if (!file) return;
    fileInput.files = event.dataTransfer.files;
    chooseFile(file);
  });
  // a file dropped beside the zone would make the browser leave the page to show it
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}

fileInput.addEventListener("change", () => {
  if (fileInput.files[0]) chooseFile(fileInput.files[0]);
});
preview.addEventListener("load", () => {
  matchAspect($("crop-stage"), preview);
  $("crop-help").textContent = "Drag on the logo to search with a part of it.";
  cropper.set(state.pendingCrop);
  state.pendingCrop = null;
});
preview.addEventListener("error", () => {
  if (!preview.getAttribute("src")) return;
  $("crop-help").textContent = "This browser cannot preview the file; the search still works,"
    + " without a crop.";
});
$("crop-clear").addEventListener("click", () => cropper.clear());
$("similar-clear").addEventListener("click", () => {
  state.similar = null;
  showSource();
  fileInput.focus();
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  runSearch();
});
moreButton.addEventListener("click", searchMore);
window.addEventListener("popstate", applyUrl);

const tabs = setUpTabs(document.querySelector("[role=tablist]"));
// the batch uses the Search tab's filters and options (not its crop or k)
setUpBatch({ form: $("batch-form"), readOptions: () => readForm(form), onOpen: record.open });
const watches = setUpWatches({ tabs, onOpen: record.open });
setUpDropzone($("dropzone"));
setUpRegister(showRegister, watches.setAccess);
showRegister();
applyUrl();
setUpLanguageSwitch($("language"), () => {
  showRegister();
  listing.say();
  watches.say();
});
