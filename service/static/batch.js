// The batch pre-check tab: submit many logos (or a zip), follow the job's progress, show
// each logo's top matches with risk levels, and offer the CSV and PDF reports.
import * as api from "./api.js";

const MAX_BYTES = 10 * 1024 * 1024;
const POLL_MS = 500;

function matchRow(result, open) {
  const row = document.createElement("li");
  row.dataset.testid = "batch-match";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "batch-open";
  button.setAttribute("aria-label", `Open mark ${result.id}: ${result.risk} risk`);
  const thumb = document.createElement("img");
  api.showImage(thumb, result.thumbnail_url);
  thumb.alt = `Mark ${result.id}`;
  thumb.width = 48;
  thumb.height = 48;
  const risk = document.createElement("span");
  risk.className = `risk risk-${result.risk}`;
  risk.textContent = `${result.risk} risk`;
  const text = document.createElement("span");
  text.textContent = ` ${result.score.toFixed(3)} · ${result.id} ${result.name ?? ""} `;
  button.append(thumb, text, risk);
  button.addEventListener("click", () => open(result));
  row.append(button);
  return row;
}

// One logo's section: the logo itself (when it was uploaded as a file; a zip's members
// stay on the server), then its matches, each opening the mark's record.
function querySection(query, file, onOpen) {
  const section = document.createElement("section");
  section.className = "batch-query";
  section.dataset.testid = "batch-query";
  const title = document.createElement("h3");
  if (file) {
    const logo = document.createElement("img");
    logo.className = "batch-logo";
    logo.alt = `Query ${query.name}`;
    logo.src = URL.createObjectURL(file);
    logo.width = 64;
    logo.height = 64;
    title.append(logo);
  }
  title.append(document.createTextNode(query.name));
  section.append(title);
  if (query.error) {
    const error = document.createElement("p");
    error.className = "notice";
    error.textContent = `Could not check this logo: ${query.error}`;
    section.append(error);
    return section;
  }
  const list = document.createElement("ol");
  const explainWith = file ? { file } : null;  // explain needs the query's image
  list.append(...query.results.map((r) => matchRow(r, (result) => onOpen(result, explainWith))));
  if (!query.results.length) list.append(Object.assign(document.createElement("li"),
    { textContent: "No match." }));
  section.append(list);
  return section;
}

export function setUpBatch({ form, readOptions, onOpen }) {
  const $ = (id) => document.getElementById(id);
  const alertEl = $("batch-alert");
  const progress = $("batch-progress");
  const bar = $("batch-bar");
  const downloads = $("batch-downloads");
  const results = $("batch-results");
  const button = $("batch-button");

  function fail(message) {
    alertEl.textContent = message;
    button.disabled = false;
    bar.hidden = true;
  }

  async function follow(id) {
    for (;;) {
      const job = await api.report(id);
      bar.max = job.total;
      bar.value = job.done;
      progress.textContent = `Checked ${job.done} of ${job.total} logos…`;
      if (job.status === "failed") return fail(`The pre-check failed: ${job.error}`);
      if (job.status === "done") return job;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    alertEl.textContent = "";
    const files = [...$("batch-images").files];
    const archive = $("batch-archive").files[0];
    if (!files.length && !archive) return fail("Choose one or more logos, or a zip of logos.");
    const tooBig = files.find((f) => f.size > MAX_BYTES);
    if (tooBig) return fail(`${tooBig.name} is larger than 10 MB.`);
    const notImage = files.find((f) => f.type && !f.type.startsWith("image/"));
    if (notImage) return fail(`${notImage.name} is not an image.`);
    button.disabled = true;
    downloads.hidden = true;
    results.replaceChildren();
    bar.hidden = false;
    bar.value = 0;
    try {
      const k = Number($("batch-k").value) || 5;
      const started = await api.submitReport(files, archive, k, readOptions());
      const job = await follow(started.id);
      if (!job) return;
      const failed = job.queries.filter((q) => q.error).length;
      progress.textContent = `Checked ${job.total} logos (${failed} failed) with `
        + `${job.options}; model ${job.model_version}.`;
      const byName = new Map(files.map((f) => [f.name, f]));
      results.replaceChildren(...job.queries.map(
        (q) => querySection(q, byName.get(q.name), onOpen)));
      await api.linkDownload($("batch-csv"), job.csv_url, `tmsearch-${job.id}-report.csv`);
      await api.linkDownload($("batch-pdf"), job.pdf_url, `tmsearch-${job.id}-report.pdf`);
      downloads.hidden = false;
      button.disabled = false;
      bar.hidden = true;
    } catch (error) {
      fail(error.message);
    }
  });
}
