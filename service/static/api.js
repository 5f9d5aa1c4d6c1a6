// The service's HTTP API. Every failure becomes an ApiError whose message can be shown
// as it is: the service's own {"detail": ...} prefixed with what the status means.
import { language, t } from "./i18n.js";
import { apiFields, cropFields, listFields } from "./state.js";

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// What each error means, by the service's stable code (the status where there is none),
// said in the page's language; the service's own detail follows it.
const CODE_MEANING = {
  not_found: "Not found",
  index_mismatch: "The index needs rebuilding",
  reindex_running: "The index needs rebuilding",
  too_large: "Too large",
  unsupported_image: "Not a supported image",
  invalid_image: "Invalid input",
  invalid_query: "Invalid input",
  invalid_metadata: "Invalid input",
  invalid_request: "Invalid input",
  invalid_watch: "Invalid input",
  rate_limited: "The service is busy; try again in a moment",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  headers_too_large: "Headers too large",
  internal_error: "Internal error",
};
const STATUS_CODE = { 401: "unauthorized", 403: "forbidden", 404: "not_found",
  409: "index_mismatch", 413: "too_large", 415: "unsupported_image", 422: "invalid_request",
  429: "rate_limited", 431: "headers_too_large", 500: "internal_error",
  503: "rate_limited" };

// The service's handlers send a string; FastAPI's own validation sends [{loc, msg}].
function detailText(detail) {
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).at(-1) ?? "field"}: ${d.msg}`).join("; ");
  }
  return typeof detail === "string" ? detail : "";
}

async function failure(response) {
  let detail = "";
  let code = STATUS_CODE[response.status];
  try {
    const body = await response.json();
    detail = detailText(body.detail);
    code = body.code ?? code;
  } catch {
    // a proxy's HTML error page or an empty body: the status alone has to do
  }
  const english = CODE_MEANING[code];
  const meaning = english ? t(english) : t("Request failed (HTTP {status})",
    { status: response.status });
  if (english && english !== meaning) {  // another language: its meaning, then the detail
    return new ApiError(detail ? `${meaning}：${detail}` : meaning, response.status);
  }
  if (detail && detail.toLowerCase().startsWith(meaning.toLowerCase())) {
    // the service already says it ("not a supported image: ..."): one prefix, not two
    return new ApiError(detail[0].toUpperCase() + detail.slice(1), response.status);
  }
  return new ApiError(detail ? `${meaning}: ${detail}` : meaning, response.status);
}

// An examiner's or administrator's API key, kept for this browser tab only (never in
// the URL or in localStorage); without one the page acts as the public role.
const KEY_ITEM = "tmsearch-api-key";

export function apiKey() {
  return sessionStorage.getItem(KEY_ITEM) || "";
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_ITEM, key);
  else sessionStorage.removeItem(KEY_ITEM);
}

function withKey(init = {}) {
  const key = apiKey();
  if (!key) return init;
  return { ...init, headers: { ...(init.headers || {}), Authorization: `Bearer ${key}` } };
}

async function request(url, init) {
  let response;
  try {
    response = await fetch(url, withKey(init));
  } catch {
    throw new ApiError("Network error: the service could not be reached.", 0);
  }
  if (!response.ok) throw await failure(response);
  return response;
}

async function getJson(url) {
  return (await request(url)).json();
}

// Ids may contain "/": encoded as %2F the whole id stays one path parameter.
export function markUrl(id, suffix = "") {
  return `/v1/marks/${encodeURIComponent(id)}${suffix}`;
}

// <img> elements cannot send a key: with one, images come through fetch as blob URLs
// (the marks a key unlocks are invisible without it).
const blobUrls = new WeakMap();

export async function showImage(img, url) {
  if (!apiKey()) {
    img.src = url;
    return;
  }
  try {
    const blob = await (await request(url)).blob();
    if (blobUrls.has(img)) URL.revokeObjectURL(blobUrls.get(img));
    const objectUrl = URL.createObjectURL(blob);
    blobUrls.set(img, objectUrl);
    img.src = objectUrl;
  } catch {
    img.removeAttribute("src");
    img.alt = `${img.alt || "image"} (unavailable)`;
  }
}

// A download link; with a key the file is fetched with it and linked as a blob.
export async function linkDownload(anchor, url, filename) {
  anchor.download = filename;
  if (!apiKey()) {
    anchor.href = url;
    return;
  }
  const blob = await (await request(url)).blob();
  if (blobUrls.has(anchor)) URL.revokeObjectURL(blobUrls.get(anchor));
  const objectUrl = URL.createObjectURL(blob);
  blobUrls.set(anchor, objectUrl);
  anchor.href = objectUrl;
}

export function whoAmI() {
  return getJson("/v1/access");
}

export function mark(id) {
  return getJson(markUrl(id));
}

export async function searchByImage(file, options) {
  const form = new FormData();
  form.append("image", file);
  for (const [name, value] of [...apiFields(options), ...cropFields(options.crop)]) {
    form.append(name, value);
  }
  return (await request("/v1/search", { method: "POST", body: form })).json();
}

export function searchSimilar(id, options) {
  return getJson(`${markUrl(id, "/similar")}?${new URLSearchParams(apiFields(options))}`);
}

// Browsing without a logo: one page of the marks that pass the filters and words,
// -> {marks, total, page, per_page, pages}.
export function listMarks(options, page, perPage) {
  const params = new URLSearchParams(listFields(options));
  params.set("page", String(page));
  params.set("per_page", String(perPage));
  return getJson(`/v1/marks?${params}`);
}

// query: {file} (an uploaded query) or {id} (a mark in the register); resolves to a PNG.
export async function explain(resultId, query) {
  const form = new FormData();
  form.append("result_id", resultId);
  if (query.file) form.append("image", query.file);
  else form.append("query_id", query.id);
  return (await request("/v1/explain", { method: "POST", body: form })).blob();
}

// Batch pre-check: a background job on the server; poll its progress.
export async function submitReport(files, archive, k, options) {
  const body = new FormData();
  for (const file of files) body.append("images", file);
  if (archive) body.append("archive", archive);
  body.append("k", String(k));
  body.append("language", language()); // the PDF in the page's language
  for (const [name, value] of apiFields(options)) {
    if (name !== "k") body.append(name, value); // the batch has its own k
  }
  return (await request("/v1/reports", { method: "POST", body })).json();
}

export function report(id) {
  return getJson(`/v1/reports/${encodeURIComponent(id)}`);
}

export function registerInfo() {
  return getJson("/v1/register");
}

export async function addMark(file, metadata) {
  const body = new FormData();
  body.append("image", file);
  body.append("metadata", JSON.stringify(metadata));
  return (await request("/v1/marks", { method: "POST", body })).json();
}

// Trademark watch (agent, examiner and admin keys): the key's watches and their alerts.
export function watches() {
  return getJson("/v1/watches");
}

// spec: {name, files, markIds, niceClasses, viennaCodes, minRisk} (lists as typed).
export async function createWatch(spec) {
  const body = new FormData();
  body.append("name", spec.name);
  for (const file of spec.files) body.append("images", file);
  for (const [name, value] of [["mark_ids", spec.markIds], ["nice_classes", spec.niceClasses],
    ["vienna_codes", spec.viennaCodes], ["min_risk", spec.minRisk]]) {
    if (value) body.append(name, value);
  }
  return (await request("/v1/watches", { method: "POST", body })).json();
}

export async function deleteWatch(id) {
  return (await request(`/v1/watches/${encodeURIComponent(id)}`, { method: "DELETE" })).json();
}

// -> {alerts, total, page, per_page, pages}; filters: {watch, status} (names, "" for any).
export function alerts(filters, page, perPage) {
  const params = new URLSearchParams({ page: String(page), per_page: String(perPage) });
  for (const name of ["watch", "status"]) {
    if (filters[name]) params.set(name, filters[name]);
  }
  return getJson(`/v1/alerts?${params}`);
}

export async function setAlertStatus(id, status) {
  return (await request(`/v1/alerts/${encodeURIComponent(id)}`, {
    method: "PATCH", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ status }) })).json();
}

export function watchExportUrl(id, kind) {
  const url = `/v1/watches/${encodeURIComponent(id)}/alerts.${kind}`;
  return kind === "pdf" ? `${url}?language=${language()}` : url;
}

// Save what ``url`` answers as ``filename``: fetched with the key (a plain link could not
// send it), handed to the browser as a download.
export async function download(url, filename) {
  const blob = await (await request(url)).blob();
  const objectUrl = URL.createObjectURL(blob);
  const anchor = Object.assign(document.createElement("a"), { href: objectUrl,
    download: filename });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(objectUrl), 60_000);
}
