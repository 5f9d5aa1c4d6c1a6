// Result cards: one per mark, focusable, opening the mark's record on click or Enter.
import { t } from "./i18n.js";
import * as api from "./api.js";

const RISK_LABEL = { high: "High risk", medium: "Medium risk", low: "Low risk" };

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

export function joinList(values) {
  return values && values.length ? values.join(", ") : "—";
}

function fact(list, label, field, value) {
  const dd = element("dd", "", value || "—");
  dd.dataset.field = field;
  list.append(element("dt", "", label), dd);
}

function card(result, onOpen) {
  const el = element("article", "card");
  el.dataset.testid = "result";
  el.dataset.id = result.id;
  el.tabIndex = 0;
  el.setAttribute("aria-haspopup", "dialog");

  const thumb = element("img", "thumb");
  api.showImage(thumb, result.thumbnail_url);
  thumb.alt = "";
  thumb.loading = "lazy";
  thumb.width = 160;
  thumb.height = 160;

  const head = element("div", "card-head");
  const score = element("span", "score", result.score.toFixed(3));
  score.title = `Score in this mode; shape alone ${result.shape_score.toFixed(3)}`;
  score.dataset.field = "score";
  head.append(score, riskBadge(result.risk));

  const name = element("h3", "name", result.name || result.id);
  const id = element("p", "mark-id", result.id);
  id.dataset.field = "id";

  const facts = element("dl", "facts");
  fact(facts, "Owner", "owner", result.owner);
  fact(facts, "Nice", "nice_classes", joinList(result.nice_classes));
  fact(facts, "Status", "status", result.status);
  fact(facts, "Match", "match", matchText(result.match));

  el.append(thumb, head, name, id, facts);
  el.addEventListener("click", () => onOpen(result));
  el.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      onOpen(result);
    }
  });
  return el;
}

export function renderResults(container, results, onOpen) {
  container.replaceChildren(...results.map((result) => card(result, onOpen)));
}
