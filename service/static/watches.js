// The Watches tab (issue 19): trademark watches over new filings, for the keys that may
// keep them (agent, examiner, admin). It lists the key's watches (admins: everyone's),
// makes and deletes them, and lists their alerts, each filing beside the watched mark it
// looks like, to mark seen or dismiss, open with the explanation, or download per watch.
import * as api from "./api.js";
import { language, t } from "./i18n.js";
import { riskBadge } from "./results.js";

const PER_PAGE = 20;
const KEEPS_WATCHES = new Set(["agent", "examiner", "admin"]);
const STATUS_LABEL = { new: "New", seen: "Seen", dismissed: "Dismissed" };
const RISK_LEVEL = { high: "high risk", medium: "medium risk", low: "low risk" };
// what each alert's buttons set, shown when the alert is not already so
const ACTIONS = [["seen", "Mark seen"], ["dismissed", "Dismiss"], ["new", "Mark as new"]];
const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
const IMAGE_NAME = /\.(png|jpe?g|gif|bmp|tiff?|webp|svg)$/i;

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

// Text from the service (names, ids, labels): never taken for one of the page's words.
function data(tag, className, text) {
  const el = element(tag, className, text);
  el.translate = false;
  return el;
}

function button(text, onClick, className = "") {
  const el = element("button", className, t(text));
  el.type = "button";
  el.addEventListener("click", onClick);
  return el;
}

const commaList = (text) => text.split(",").map((v) => v.trim()).filter(Boolean).join(",");

function fileProblem(file) {
  if (!file.type.startsWith("image/") && !IMAGE_NAME.test(file.name)) {
    return t("“{name}” is not an image.", { name: file.name });
  }
  if (file.size > MAX_UPLOAD_BYTES) return t("“{name}” is larger than 10 MB.", { name: file.name });
  return null;
}

function levelText(watch) {
  if (watch.min_score !== null && watch.min_score !== undefined) {
    return t("alerts from score {score}", { score: watch.min_score });
  }
  return t("alerts at {risk} or higher", { risk: t(RISK_LEVEL[watch.min_risk || "medium"]) });
}

// tabs: setUpTabs's answer; onOpen(result, query, {explainNow}): the record dialog.
export function setUpWatches({ tabs, onOpen }) {
  const tab = $("tab-watches");
  const panel = $("panel-watches");
  const errorEl = $("watch-error");
  const done = $("watch-done");
  const list = $("watch-list");
  const alertList = $("watch-alerts");
  const summary = $("alert-summary");
  const pager = $("alert-pager");
  const filterWatch = $("alert-watch");
  const filterStatus = $("alert-status");
  const explainFile = $("watch-explain-file");
  const state = { keyId: null, role: "public", watches: [], page: 1, body: null, seq: 0,
    waiting: null }; // waiting: the alert whose uploaded watched image is being chosen
  // the images this page uploaded, by watch id and label: an explanation needs the image
  // of an uploaded watched mark, which the service keeps only as its search rows
  const uploaded = new Map();
  const imageKey = (watchId, label) => `${watchId}\u0000${label}`;

  function fail(error) {
    errorEl.textContent = error?.message ?? String(error);
  }

  function clearMessages() {
    errorEl.textContent = "";
    done.textContent = "";
  }

  // -- watches --------------------------------------------------------------------------
  function watchItem(watch) {
    const item = element("li", "watch-item");
    item.dataset.testid = "watch";
    item.dataset.id = String(watch.id);
    const head = element("div", "watch-head");
    head.append(data("strong", "watch-name", watch.name));
    const facts = [t("protects {marks}", { marks: watch.marks.map((m) => m.label).join(", ") }),
      levelText(watch)];
    if (watch.nice_classes.length) facts.push(`${t("Nice")} ${watch.nice_classes.join(", ")}`);
    if (watch.vienna_codes.length) facts.push(`${t("Vienna")} ${watch.vienna_codes.join(", ")}`);
    if (state.keyId && watch.owner !== state.keyId) {
      facts.push(t("owner {owner}", { owner: watch.owner }));
    }
    const links = element("div", "watch-actions");
    for (const [kind, text] of [["csv", "CSV of alerts"], ["pdf", "PDF of alerts"]]) {
      const link = element("a", "", t(text));
      link.href = api.watchExportUrl(watch.id, kind);
      link.addEventListener("click", async (event) => {
        event.preventDefault(); // a plain link cannot send the key
        clearMessages();
        try {
          await api.download(api.watchExportUrl(watch.id, kind),
            `tmsearch-watch-${watch.id}-alerts.${kind}`);
        } catch (error) {
          fail(error);
        }
      });
      links.append(link);
    }
    links.append(button("Delete", () => remove(watch)));
    item.append(head, element("p", "hint", facts.join(" · ")), links);
    return item;
  }

  function showWatches() {
    list.replaceChildren(...state.watches.map(watchItem));
    $("watch-none").hidden = state.watches.length > 0;
    const chosen = filterWatch.value;
    const names = [...new Set(state.watches.map((w) => w.name))];
    filterWatch.replaceChildren(Object.assign(element("option", "", t("All watches")),
      { value: "" }), ...names.map((name) => Object.assign(data("option", "", name),
      { value: name })));
    filterWatch.value = names.includes(chosen) ? chosen : "";
  }

  async function remove(watch) {
    clearMessages();
    if (!window.confirm(t("Delete the watch “{name}” and its alerts?", { name: watch.name }))) {
      return;
    }
    try {
      await api.deleteWatch(watch.id);
      done.textContent = t("Watch “{name}” deleted.", { name: watch.name });
      await refresh();
    } catch (error) {
      fail(error);
    }
  }

  async function create(event) {
    event.preventDefault();
    clearMessages();
    const name = $("w-name").value.trim();
    const files = [...$("w-images").files];
    const markIds = commaList($("w-marks").value);
    if (!name || (!files.length && !markIds)) {
      fail(t("Give the watch a name and one or more images or register mark ids."));
      return;
    }
    const problem = files.map(fileProblem).find(Boolean);
    if (problem) {
      fail(problem);
      return;
    }
    const submit = $("w-create");
    submit.disabled = true;
    try {
      const watch = await api.createWatch({ name, files, markIds,
        niceClasses: commaList($("w-nice").value), viennaCodes: commaList($("w-vienna").value),
        minRisk: $("w-risk").value });
      const byName = new Map(files.map((file) => [file.name, file]));
      for (const mark of watch.marks) {
        if (!mark.mark_id && byName.has(mark.label)) {
          uploaded.set(imageKey(watch.id, mark.label), byName.get(mark.label));
        }
      }
      $("watch-form").reset();
      done.textContent = t("Watch “{name}” created.", { name: watch.name });
      await refresh();
    } catch (error) {
      fail(error);
    } finally {
      submit.disabled = false;
    }
  }

  // -- alerts ---------------------------------------------------------------------------
  function watchedMark(alert) {
    const watch = state.watches.find((w) => w.id === alert.watch_id);
    return watch?.marks.find((m) => m.label === alert.watched_mark) ?? null;
  }

  // What the explanation compares the filing with: the watched register mark, or the
  // uploaded image (null when this page does not have it).
  function queryOf(alert) {
    const mark = watchedMark(alert);
    if (mark?.mark_id) return { id: mark.mark_id };
    const file = uploaded.get(imageKey(alert.watch_id, alert.watched_mark));
    return file ? { file } : null;
  }

  function open(alert, explainNow) {
    const query = queryOf(alert);
    if (explainNow && !query) { // ask for the watched image once; kept for this page
      state.waiting = alert;
      explainFile.value = "";
      explainFile.click();
      return;
    }
    onOpen({ id: alert.mark_id, name: null, image_url: api.markUrl(alert.mark_id, "/image"),
      score: alert.score, shape_score: alert.shape_score, risk: alert.risk,
      match: { component: alert.matched === "figure" ? "figure" : "whole" } }, query,
    { explainNow });
  }

  function figure(caption, name, content) {
    const fig = element("figure", "alert-mark");
    fig.append(content, element("figcaption", "", caption), data("span", "mark-id", name));
    return fig;
  }

  function thumbnail(id, alt) {
    const img = element("img", "alert-thumb");
    img.alt = alt;
    img.width = 96;
    img.height = 96;
    api.showImage(img, api.markUrl(id, "/thumbnail"));
    return img;
  }

  async function setStatus(alert, status) {
    clearMessages();
    try {
      await api.setAlertStatus(alert.id, status);
      await loadAlerts();
    } catch (error) {
      fail(error);
    }
  }

  function alertItem(alert) {
    const item = element("li", `alert-card alert-${alert.status}`);
    item.dataset.testid = "watch-alert";
    item.dataset.id = String(alert.id);
    item.dataset.mark = alert.mark_id;
    const mark = watchedMark(alert);
    const watched = mark?.mark_id ? thumbnail(mark.mark_id, t("Watched mark {id}",
      { id: mark.mark_id })) : data("div", "alert-label", alert.watched_mark);
    const pair = element("div", "alert-pair");
    pair.append(figure(t("New filing"), alert.mark_id, thumbnail(alert.mark_id,
      t("New filing {id}", { id: alert.mark_id }))), element("span", "alert-vs", "↔"),
    figure(t("Watched mark"), alert.watched_mark, watched));

    const facts = element("dl", "facts");
    const fact = (label, field, value) => {
      const dd = element("dd", "", "");
      dd.dataset.field = field;
      dd.append(value);
      facts.append(element("dt", "", t(label)), dd);
    };
    fact("Score", "score", alert.score.toFixed(3));
    fact("Risk", "risk", riskBadge(alert.risk));
    fact("Watch", "watch", data("span", "", alert.watch));
    fact("Match", "match", t(alert.matched === "figure" ? "figure" : "whole mark"));
    fact("Raised", "created_at", new Date(alert.created_at).toLocaleString(
      language() === "zh" ? "zh-CN" : "en"));
    fact("Alert status", "status", t(STATUS_LABEL[alert.status] ?? alert.status));

    const actions = element("div", "watch-actions");
    for (const [status, text] of ACTIONS) {
      if (alert.status !== status) actions.append(button(text, () => setStatus(alert, status)));
    }
    actions.append(button("Open record", () => open(alert, false)),
      button("Explain similarity", () => open(alert, true), "primary"));
    item.append(pair, facts, actions);
    return item;
  }

  function showAlerts() {
    const body = state.body;
    if (!body) return;
    alertList.replaceChildren(...body.alerts.map(alertItem));
    summary.textContent = [body.total
      ? t(body.total === 1 ? "{total} alert" : "{total} alerts", { total: body.total })
      : t("No alerts"), t("page {page} of {pages}", { page: body.page, pages: body.pages })]
      .join(" · ");
    pager.hidden = body.pages <= 1;
    $("alert-page-info").textContent = t("Page {page} of {pages}",
      { page: body.page, pages: body.pages });
    $("alert-prev").disabled = body.page <= 1;
    $("alert-next").disabled = body.page >= body.pages;
  }

  async function loadAlerts(page = state.page) {
    const seq = ++state.seq;
    try {
      let body = await api.alerts({ watch: filterWatch.value, status: filterStatus.value },
        page, PER_PAGE);
      if (body.page > body.pages) { // the last page emptied (marked, deleted): go back
        body = await api.alerts({ watch: filterWatch.value, status: filterStatus.value },
          body.pages, PER_PAGE);
      }
      if (seq !== state.seq) return;
      state.page = body.page;
      state.body = body;
      showAlerts();
    } catch (error) {
      if (seq === state.seq) fail(error);
    }
  }

  async function refresh() {
    if (!KEEPS_WATCHES.has(state.role)) return;
    try {
      state.watches = await api.watches();
      showWatches();
      await loadAlerts();
    } catch (error) {
      fail(error);
    }
  }

  // Whoever the page acts as (the Register tab's key): the tab for those who keep
  // watches; another key's watches and images never stay on the page.
  function setAccess(who) {
    const role = who?.role ?? "public";
    const keyId = who?.key_id ?? null;
    if (keyId !== state.keyId) {
      uploaded.clear();
      state.watches = [];
      state.body = null;
      state.page = 1;
      list.replaceChildren();
      alertList.replaceChildren();
      summary.textContent = "";
      pager.hidden = true;
      clearMessages();
    }
    state.role = role;
    state.keyId = keyId;
    tabs.setAvailable(tab, KEEPS_WATCHES.has(role));
    if (!panel.hidden) refresh();
  }

  $("watch-form").addEventListener("submit", create);
  for (const filter of [filterWatch, filterStatus]) {
    filter.addEventListener("change", () => loadAlerts(1));
  }
  $("alert-refresh").addEventListener("click", () => {
    clearMessages();
    refresh();
  });
  $("alert-prev").addEventListener("click", () => loadAlerts(state.page - 1));
  $("alert-next").addEventListener("click", () => loadAlerts(state.page + 1));
  explainFile.addEventListener("change", () => {
    const alert = state.waiting;
    const file = explainFile.files[0];
    state.waiting = null;
    if (!alert || !file) return;
    uploaded.set(imageKey(alert.watch_id, alert.watched_mark), file);
    open(alert, true);
  });
  tab.addEventListener("tabselect", () => {
    clearMessages();
    refresh();
  });

  // the page's texts again after a language switch (what came from the API is kept)
  function say() {
    if (!KEEPS_WATCHES.has(state.role)) return;
    showWatches();
    showAlerts();
  }

  return { setAccess, say };
}
