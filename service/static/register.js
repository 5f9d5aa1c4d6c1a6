// The register tab: what the register holds, and an upload of one mark with metadata.
import * as api from "./api.js";

const LABELS = {
  marks: "Marks", marks_with_words: "Marks with words read", vectors: "Index vectors",
  model_version: "Model", index_type: "Index type", records: "Records database",
  risk_thresholds: "Risk thresholds",
  last_ingest: "Last ingest", last_reindex: "Last re-index",
};

const list = (text) => text.split(",").map((v) => v.trim()).filter(Boolean);
const WHEN = new Set(["last_ingest", "last_reindex"]);

// A figure as the page shows it: a date that has not happened yet is "never"; any other
// missing figure (the vector count, not shown to the public) is a dash.
function shown(key, value) {
  if (value === null || value === undefined) return WHEN.has(key) ? "never" : "—";
  return String(value);
}

// onChange(): the key or the register changed; onAccess(who): what the key gives, as
// GET /v1/access says (null without a usable key).
export function setUpRegister(onChange, onAccess = () => {}) {
  const $ = (id) => document.getElementById(id);
  const stats = $("register-stats");
  const alertEl = $("upload-alert");

  async function refresh() {
    try {
      const info = await api.registerInfo();
      stats.replaceChildren(...Object.entries(LABELS).flatMap(([key, label]) => [
        Object.assign(document.createElement("dt"), { textContent: label }),
        Object.assign(document.createElement("dd"), {
          textContent: shown(key, info[key]), id: `stat-${key}` }),
      ]));
    } catch (error) {
      stats.textContent = `Register unavailable: ${error.message}`;
    }
  }

  $("upload-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    alertEl.textContent = "";
    const file = $("up-image").files[0];
    const id = $("up-id").value.trim();
    if (!file || !id) {
      alertEl.textContent = "Choose the mark's image and give its id.";
      return;
    }
    const metadata = { id, nice_classes: list($("up-nice").value).map(Number),
      vienna_codes: list($("up-vienna").value) };
    for (const [key, field] of [["name", "up-name"], ["owner", "up-owner"],
      ["status", "up-status"], ["filing_date", "up-date"]]) {
      if ($(field).value) metadata[key] = $(field).value;
    }
    try {
      const record = await api.addMark(file, metadata);
      $("upload-done").textContent = `Mark ${record.id} saved.`;
      await refresh();
      onChange();
    } catch (error) {
      alertEl.textContent = error.message;
    }
  });

  async function showAccess() {
    try {
      const who = await api.whoAmI();
      $("key-status").textContent = who.key_id
        ? `Using key ${who.key_id}: ${who.role} access.` : "Public access (no key).";
      $("admin-upload").hidden = who.role !== "admin";  // only an admin may add marks
      onAccess(who);
    } catch (error) {
      api.setApiKey("");
      $("key-alert").textContent = error.message;
      $("key-status").textContent = "Public access (no key).";
      $("admin-upload").hidden = true;
      onAccess(null);
    }
  }

  $("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("key-alert").textContent = "";
    api.setApiKey($("api-key").value.trim());
    $("api-key").value = "";
    await showAccess();
    await refresh();
    onChange();
  });
  $("key-forget").addEventListener("click", async () => {
    $("key-alert").textContent = "";
    api.setApiKey("");
    await showAccess();
    await refresh();
    onChange();
  });

  document.getElementById("tab-register").addEventListener("click", refresh);
  refresh();
  showAccess();
}
