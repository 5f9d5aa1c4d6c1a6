// A search's options, kept in one plain object and moved between the form's controls,
// the API's fields and the page's URL (so a search can be shared as a link).
export const DEFAULT_K = 20;
export const MAX_K = 1000;
const DEFAULT_MODE = "composite";
const MODES = ["composite", "shape", "colour"];
const TEXT_FIELDS = ["text", "nice_classes", "vienna_codes", "filed_from", "filed_to", "owner"];
const LIST_FIELDS = new Set(["nice_classes", "vienna_codes"]);
const SEARCH_ONLY = new Set(["k", "mode", "rotation_tolerant"]);
const MAX_PAGE = 1_000_000; // the API's limit

// "9, 42," -> "9,42": what the API expects, and a tidy URL.
function commaList(value) {
  return value.split(",").map((part) => part.trim()).filter(Boolean).join(",");
}

function clampK(value) {
  const k = Number.parseInt(value, 10);
  return Number.isFinite(k) ? Math.min(Math.max(k, 1), MAX_K) : DEFAULT_K;
}

export function readForm(form) {
  const { elements } = form;
  const options = {
    mode: elements.mode.value,
    rotation_tolerant: elements.rotation_tolerant.checked,
    status: [...form.querySelectorAll("input[name=status]:checked")].map((box) => box.value),
    k: clampK(elements.k.value),
    crop: null,
  };
  for (const name of TEXT_FIELDS) {
    const value = elements[name].value.trim();
    options[name] = LIST_FIELDS.has(name) ? commaList(value) : value;
  }
  return options;
}

export function writeForm(form, options) {
  const { elements } = form;
  elements.mode.value = options.mode;
  elements.rotation_tolerant.checked = options.rotation_tolerant;
  elements.k.value = String(options.k);
  for (const box of form.querySelectorAll("input[name=status]")) {
    box.checked = options.status.includes(box.value);
  }
  for (const name of TEXT_FIELDS) elements[name].value = options[name];
}

// The API's search fields (form fields of POST /v1/search, query of .../similar).
export function apiFields(options) {
  const fields = [
    ["k", String(options.k)],
    ["mode", options.mode],
    ["rotation_tolerant", String(options.rotation_tolerant)],
  ];
  if (options.status.length) fields.push(["status", options.status.join(",")]);
  for (const name of TEXT_FIELDS) {
    if (options[name]) fields.push([name, options[name]]);
  }
  return fields;
}

// The fields of a listing without a logo (query of GET /v1/marks): the filters and the
// words; the search's mode, rotation and k do not apply to a list.
export function listFields(options) {
  return apiFields(options).filter(([name]) => !SEARCH_ONLY.has(name));
}

export function cropFields(crop) {
  if (!crop) return [];
  return [["crop_x", crop.x], ["crop_y", crop.y], ["crop_w", crop.w], ["crop_h", crop.h]]
    .map(([name, value]) => [name, String(value)]);
}

// The URL leaves defaults out so that shared links stay short. ``page``: the page of a
// listing without a logo (null for a search), so that a listing can be shared too.
export function toUrlQuery(options, similar, page = null) {
  const params = new URLSearchParams();
  if (page) params.set("page", String(page));
  else if (similar) params.set("similar", similar);
  for (const [name, value] of apiFields(options)) {
    const isDefault = (name === "mode" && value === DEFAULT_MODE)
      || (name === "rotation_tolerant" && value === "false")
      || (name === "k" && value === String(DEFAULT_K));
    if (!isDefault) params.set(name, value);
  }
  if (options.crop && !similar && !page) {
    const { x, y, w, h } = options.crop;
    params.set("crop", `${x},${y},${w},${h}`);
  }
  const query = params.toString();
  return query ? `?${query}` : "";
}

function parseCrop(value) {
  const numbers = (value || "").split(",").map(Number);
  if (numbers.length !== 4 || !numbers.every((n) => Number.isInteger(n) && n >= 0)) return null;
  const [x, y, w, h] = numbers;
  return w > 0 && h > 0 ? { x, y, w, h } : null;
}

function parsePage(value) {
  const page = Number(value);
  return value && Number.isInteger(page) && page >= 1 ? Math.min(page, MAX_PAGE) : null;
}

// -> {options, similar, page, hasOptions}: hasOptions says the link carries a search;
// page, a listing's page (null when the link is a search's).
export function fromUrlQuery(query) {
  const params = new URLSearchParams(query);
  const mode = params.get("mode");
  const options = {
    mode: MODES.includes(mode) ? mode : DEFAULT_MODE,
    rotation_tolerant: params.get("rotation_tolerant") === "true",
    status: commaList(params.get("status") || "").split(",").filter(Boolean),
    k: clampK(params.get("k") ?? DEFAULT_K),
    crop: parseCrop(params.get("crop")),
  };
  for (const name of TEXT_FIELDS) {
    const value = (params.get(name) || "").trim();
    options[name] = LIST_FIELDS.has(name) ? commaList(value) : value;
  }
  return { options, similar: params.get("similar") || null, page: parsePage(params.get("page")),
    hasOptions: params.size > 0 };
}
