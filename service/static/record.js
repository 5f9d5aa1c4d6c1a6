// One mark's record in a dialog: the full image (with the matched figure outlined), all
// its metadata, a "similar to this" search and an explanation of the similarity.
import * as api from "./api.js";
import { matchAspect, placeBox } from "./crop.js";
import { joinList, matchText, riskBadge } from "./results.js";

const $ = (id) => document.getElementById(id);

function row(list, label, value) {
  const dd = document.createElement("dd");
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value || "—";
  const dt = document.createElement("dt");
  dt.textContent = label;
  list.append(dt, dd);
}

function fillFields(list, record, result) {
  list.replaceChildren();
  row(list, "Id", record.id);
  row(list, "Name", record.name);
  row(list, "Owner", record.owner);
  row(list, "Application no.", record.application_number);
  row(list, "Registration no.", record.registration_number);
  row(list, "Nice classes", joinList(record.nice_classes));
  row(list, "Vienna codes", joinList(record.vienna_codes));
  row(list, "Status", record.status);
  row(list, "Filing date", record.filing_date);
  row(list, "Last updated", new Date(record.updated_at).toLocaleString());
  if (result.score === undefined) return; // a listed mark: nothing was compared
  row(list, "Score", `${result.score.toFixed(3)} (shape alone ${result.shape_score.toFixed(3)})`);
  row(list, "Risk", riskBadge(result.risk));
  row(list, "Match", matchText(result.match));
}

// explainQuery() gives the query of the results on screen: {file} or {id}, or null.
export function createRecordPanel({ onSimilar, explainQuery }) {
  const dialog = $("record");
  const image = $("record-image");
  const matchBox = $("record-match-box");
  const alert = $("record-alert");
  const explainButton = $("record-explain");
  const explainFigure = $("explain-figure");
  const explainImage = $("explain-image");
  let current = null; // the result shown; replaced (not mutated) on each open
  let currentQuery = null; // the query it was found with: {file} or {id}, or null
  let explainUrl = null;

  function imageLoaded() {
    matchAspect(image.parentElement, image);
    showMatchBox();
  }

  function showMatchBox() {
    const box = current?.match?.component === "figure" ? current.match.box : null;
    matchBox.hidden = !box || !image.naturalWidth;
    $("record-match-note").hidden = matchBox.hidden;
    if (!matchBox.hidden) {
      const [x, y, w, h] = box;
      placeBox(matchBox, image, { x, y, w, h });
    }
  }

  function resetExplanation() {
    explainFigure.hidden = true;
    explainImage.removeAttribute("src");
    if (explainUrl) URL.revokeObjectURL(explainUrl);
    explainUrl = null;
  }

  async function explain() {
    const shown = current;
    explainButton.disabled = true;
    explainButton.textContent = "Explaining…";
    try {
      const png = await api.explain(shown.id, currentQuery);
      if (shown !== current) return;
      resetExplanation();
      explainUrl = URL.createObjectURL(png);
      explainImage.src = explainUrl;
      explainFigure.hidden = false;
    } catch (err) {
      if (shown === current) alert.textContent = err.message;
    } finally {
      explainButton.disabled = false;
      explainButton.textContent = "Explain similarity";
    }
  }

  // ``query``: what found it, when not the results on screen (a batch pre-check's logo, a
  // watched mark); ``explainNow``: show the explanation at once (a watch's alert)
  async function open(result, query = undefined, { explainNow = false } = {}) {
    current = result;
    currentQuery = query === undefined ? explainQuery() : query;
    $("record-title").textContent = result.name || result.id;
    $("record-fields").replaceChildren();
    alert.textContent = "";
    image.alt = `Mark ${result.id}`;
    api.showImage(image, result.image_url);
    matchBox.hidden = true;
    $("record-match-note").hidden = true;
    resetExplanation();
    explainButton.hidden = !currentQuery;
    if (!dialog.open) dialog.showModal();
    if (explainNow && currentQuery) explain();
    try {
      const record = await api.mark(result.id);
      if (result === current) fillFields($("record-fields"), record, result);
    } catch (err) {
      if (result === current) alert.textContent = err.message;
    }
  }

  $("record-close").addEventListener("click", () => dialog.close());
  // a click on the backdrop lands on the dialog itself, outside its inner box
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  $("record-similar").addEventListener("click", () => {
    dialog.close();
    onSimilar(current.id);
  });
  explainButton.addEventListener("click", explain);
  image.addEventListener("load", imageLoaded);
  new ResizeObserver(showMatchBox).observe(image);
  dialog.addEventListener("close", resetExplanation);
  return { open };
}
