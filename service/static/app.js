// Search page: upload a logo, show similar marks. Talks only to the public API.
"use strict";
const form = document.getElementById("search-form");
const statusEl = document.getElementById("status");
const results = document.getElementById("results");
const preview = document.getElementById("preview");

function setStatus(text, isError) {
  statusEl.textContent = text;
  statusEl.classList.toggle("error", Boolean(isError));
}

document.getElementById("image").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (!file) return;
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
});

function card(result) {
  const el = document.createElement("article");
  el.className = "card";
  el.dataset.testid = "result";
  const img = document.createElement("img");
  img.src = result.thumbnail_url;
  img.alt = result.name || result.id;
  img.loading = "lazy";
  const score = document.createElement("div");
  score.className = "score";
  score.textContent = result.score.toFixed(3);
  const name = document.createElement("div");
  name.textContent = result.name || "";
  const id = document.createElement("div");
  id.className = "id";
  id.textContent = result.id;
  el.append(img, score, name, id);
  return el;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  setStatus("Searching…");
  results.replaceChildren();
  try {
    const response = await fetch("/v1/search", { method: "POST", body: new FormData(form) });
    const body = await response.json();
    if (!response.ok) {
      setStatus(body.detail || `Search failed (${response.status})`, true);
      return;
    }
    results.replaceChildren(...body.results.map(card));
    setStatus(`${body.results.length} marks in ${body.took_ms} ms`);
  } catch (err) {
    setStatus(`Search failed: ${err}`, true);
  }
});

fetch("/healthz").then((r) => r.json()).then((h) => {
  document.getElementById("register-info").textContent =
    `${h.marks} marks · model ${h.model_version}` + (h.needs_reindex ? " · needs reindex" : "");
}).catch(() => {});
