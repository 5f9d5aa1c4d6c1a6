// Result cards: one per mark, focusable, opening the mark's record on click or Enter;
// a search's results with their score and risk, a listing's marks with their facts.
import { t } from "./i18n.js";
import * as api from "./api.js";

const RISK_LABEL = { high: "High risk", medium: "Medium risk", low: "Low risk" };
const FILTER_LABELS = { nice_classes: "Nice", vienna_codes: "Vienna", status: "status",
  filed_from: "filed from", filed_to: "filed to", owner: "owner" };

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

export function riskBadge(risk) {
  const known = risk in RISK_LABEL ? risk : "low";
  return element("span", `risk risk-${known}`, RISK_LABEL[known]);
}

// "figure ↔ query's figure · words “acme” ≈ “ACME” (1.00)": what the similarity rests
// on, in the result and, when only a part of it matched, in the query.
export function matchText(match) {
  if (!match) return "";
  const part = t(match.component === "figure" ? "figure" : "whole mark");
  const parts = [match.query_part === "figure" ? t("{part} ↔ query's figure", { part }) : part];
  const words = match.words;
  if (words) {
    parts.push(t("words “{query}” ≈ “{mark}” ({similarity})", { query: words.query,
      mark: words.mark, similarity: words.similarity.toFixed(2) }));
  }
  return parts.join(" · ");
}

// "Nice 9, 42; owner Acme": the filters of a search or a listing, by the API's names.
export function filtersText(filters) {
  return Object.entries(filters || {})
    .map(([name, value]) => `${t(FILTER_LABELS[name] || name)} ${[].concat(value)
      .map((each) => (name === "status" ? t(each) : each)).join(", ")}`)
    .join("; ");
}

export function joinList(values) {
  return values && values.length ? values.join(", ") : "—";
}

function fact(list, label, field, value) {
  const dd = element("dd", "", value || "—");
  dd.dataset.field = field;
  list.append(element("dt", "", label), dd);
}

// A card's frame: the mark's thumbnail; a click or Enter opens the mark's record.
function frame(mark, onOpen) {
  const el = element("article", "card");
  el.dataset.testid = "result";
  el.dataset.id = mark.id;
  el.tabIndex = 0;
  el.setAttribute("aria-haspopup", "dialog");

  const thumb = element("img", "thumb");
  api.showImage(thumb, mark.thumbnail_url);
  thumb.alt = "";
  thumb.loading = "lazy";
  thumb.width = 160;
  thumb.height = 160;
  el.append(thumb);

  el.addEventListener("click", () => onOpen(mark));
  el.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      onOpen(mark);
    }
  });
  return el;
}

function names(mark) {
  const name = element("h3", "name", mark.name || mark.id);
  const id = element("p", "mark-id", mark.id);
  id.dataset.field = "id";
  return [name, id];
}

function card(result, onOpen) {
  const el = frame(result, onOpen);
  const head = element("div", "card-head");
  const score = element("span", "score", result.score.toFixed(3));
  score.title = `Score in this mode; shape alone ${result.shape_score.toFixed(3)}`;
  score.dataset.field = "score";
  head.append(score, riskBadge(result.risk));

  const facts = element("dl", "facts");
  fact(facts, "Owner", "owner", result.owner);
  fact(facts, "Nice", "nice_classes", joinList(result.nice_classes));
  fact(facts, "Status", "status", result.status);
  fact(facts, "Match", "match", matchText(result.match));
  el.append(head, ...names(result), facts);
  return el;
}

// A mark of a listing (browsing without a logo): no score, its classes, codes and date.
function listedCard(mark, onOpen) {
  const el = frame(mark, onOpen);
  const facts = element("dl", "facts");
  fact(facts, "Owner", "owner", mark.owner);
  fact(facts, "Nice", "nice_classes", joinList(mark.nice_classes));
  fact(facts, "Vienna", "vienna_codes", joinList(mark.vienna_codes));
  fact(facts, "Status", "status", mark.status);
  fact(facts, "Filed", "filing_date", mark.filing_date);
  el.append(...names(mark), facts);
  return el;
}

export function renderResults(container, results, onOpen) {
  container.replaceChildren(...results.map((result) => card(result, onOpen)));
}

export function renderMarks(container, marks, onOpen) {
  container.replaceChildren(...marks.map((mark) => listedCard(mark, onOpen)));
}
