// The page in English and Simplified Chinese. English is written in the page and the
// scripts; ZH gives the Chinese, with the terms Chinese examiners use (商标, 尼斯分类,
// 维也纳分类, 图形要素, 文字要素, 近似度, 风险等级, 商标监测, 预警). Elements marked
// translate="no" hold data (names, ids) and are left as they are. The choice is remembered in this
// browser; the browser's language decides the first time.

const ZH = {
  "tmsearch — trademark image search": "tmsearch — 商标图形检索",
  "Trademark image search": "商标图形检索",
  "Register: loading…": "商标库：加载中…",
  "Search": "检索",
  "Batch pre-check": "批量预检",
  "Register": "商标库",
  "Query logo": "检索图样",
  "Choose a logo or drop it here": "选择图样，或拖放到此处",
  "PNG, JPEG, GIF, BMP, TIFF, WebP or SVG, at most 10 MB. The page's link keeps the search options, not the logo.":
    "PNG、JPEG、GIF、BMP、TIFF、WebP 或 SVG，不超过 10 MB。页面链接只保存检索选项，不保存图样。",
  "This link holds the search options only: an image cannot travel in a link. Choose the logo to search with these options.":
    "此链接只包含检索选项，图样无法通过链接传递。请选择图样，按这些选项检索。",
  "Marks similar to": "近似商标：",
  "Search with a logo instead": "改用图样检索",
  "Drag on the logo to search with a part of it.": "在图样上拖动，可只检索其中一部分。",
  "Whole image": "整幅图样",
  "Clear crop": "清除裁剪",
  "Options": "选项",
  "Mode": "检索方式",
  "Composite": "综合",
  "Shape": "形状",
  "Colour": "颜色",
  "Composite: shape first, colour breaks near-ties. Shape: colour-blind. Colour: colour weighs as much as shape.":
    "综合：以形状为主，颜色用于区分相近结果。形状：不考虑颜色。颜色：颜色与形状同等重要。",
  "Rotation tolerant (rotations and mirror images)": "允许旋转（旋转与镜像）",
  "Words of the query": "检索文字要素",
  "Results": "结果数",
  "Filters": "筛选",
  "Nice classes": "尼斯分类",
  "Vienna codes": "维也纳分类",
  "Status": "法律状态",
  "filed": "已申请",
  "published": "已公告",
  "registered": "已注册",
  "expired": "已失效",
  "refused": "已驳回",
  "Filed from": "申请日起",
  "Filed to": "申请日止",
  "Owner": "申请人/注册人",
  "More results": "更多结果",
  "Check many logos at once (files or a zip, up to 200) against the register with the filters of the Search tab; download the report as CSV or PDF.":
    "一次预检多个图样（文件或 zip，最多 200 个），使用“检索”页的筛选条件；报告可下载为 CSV 或 PDF。",
  "Logos": "图样",
  "Or a zip of logos": "或图样的 zip 压缩包",
  "Matches per logo": "每个图样的结果数",
  "Run pre-check": "开始预检",
  "Download CSV": "下载 CSV",
  "Download PDF": "下载 PDF",
  "Your access": "访问权限",
  "Agents, examiners and administrators: use your API key to keep trademark watches (the Watches tab); examiners and administrators also see unpublished (filed) marks, and administrators add marks. It is kept in this browser tab only. Without a key the page shows published marks.":
    "代理人、审查员和管理员：使用 API 密钥可进行商标监测（“商标监测”页）；审查员和管理员还可查看未公告（已申请）的商标，管理员还可添加商标。密钥只保存在本浏览器标签页中。不使用密钥时只显示已公告的商标。",
  "API key": "API 密钥",
  "Use key": "使用密钥",
  "Forget key": "清除密钥",
  "Add or replace a mark": "添加或替换商标",
  "For administrators: the mark is searchable as soon as it is added.": "仅限管理员：商标添加后即可检索。",
  "Mark image": "商标图样",
  "Mark id": "商标编号",
  "Mark name": "商标名称",
  "Holder": "注册人",
  "Classes (Nice)": "类别（尼斯分类）",
  "Codes (Vienna)": "图形要素编码（维也纳分类）",
  "Mark status": "商标状态",
  "(none)": "（无）",
  "Mark filing date": "申请日期",
  "Add mark": "添加商标",
  "Mark": "商标",
  "Outlined: the figure that matched.": "方框：匹配的图形要素。",
  "Similar to this": "查找近似商标",
  "Explain similarity": "解释近似度",
  "Where the similarity rests: query (left) and this mark (right); warmer is more important.":
    "近似所依据的区域：左为检索图样，右为本商标；颜色越暖越重要。",
  // attributes
  "Tasks": "任务",
  "The query logo": "检索图样",
  "read from the logo when empty": "留空时从图样中识别",
  "e.g. 9, 42": "例如 9, 42",
  "e.g. 26, 03.01": "例如 26, 03.01",
  "part of the name": "名称的一部分",
  "Similar marks": "近似商标",
  "e.g. TM-001234": "例如 TM-001234",
  "e.g. 26.01.03": "例如 26.01.03",
  "Close": "关闭",
  "Heat maps of the regions the similarity rests on: query left, this mark right":
    "近似所依据区域的热力图：左为检索图样，右为本商标",
  // written by the scripts
  "high risk": "高风险", "medium risk": "中风险", "low risk": "低风险",
  "High risk": "高风险", "Medium risk": "中风险", "Low risk": "低风险",
  "Register: {marks} marks · model {model}": "商标库：{marks} 件商标 · 模型 {model}",
  "Register: unavailable ({error})": "商标库：不可用（{error}）",
  " · the index needs rebuilding (tmsearch reindex)": " · 索引需要重建（tmsearch reindex）",
  "Request failed (HTTP {status})": "请求失败（HTTP {status}）",
  "Unauthorized": "未授权", "Forbidden": "无权访问", "Headers too large": "请求头过大",
  "Internal error": "服务内部错误",
  "Nice": "尼斯分类", "Match": "匹配", "figure": "图形要素", "whole mark": "整体商标",
  "{part} ↔ query's figure": "{part} ↔ 检索图样的图形要素",
  "words “{query}” ≈ “{mark}” ({similarity})": "文字要素“{query}”≈“{mark}”（{similarity}）",
  "{count} result": "{count} 个结果", "{count} results": "{count} 个结果",
  "No marks found": "未找到商标", "mode {mode}": "检索方式 {mode}",
  "rotation tolerant": "允许旋转", "similar to {id}": "与 {id} 近似",
  "words “{text}”": "文字要素“{text}”", "filters: {filters}": "筛选：{filters}",
  "Not found": "未找到",
  "The index needs rebuilding": "索引需要重建",
  "Too large": "文件过大",
  "Not a supported image": "不支持的图像",
  "Invalid input": "输入无效",
  "The service is busy; try again in a moment": "服务繁忙，请稍后再试",
  "Request failed": "请求失败",
  "Marks": "商标数", "Marks with words read": "已识别文字要素的商标", "Index vectors": "索引向量数",
  "Model": "模型", "Index type": "索引类型", "Records database": "记录数据库",
  "Risk thresholds": "风险等级阈值", "Last ingest": "最近导入", "Last re-index": "最近重建索引",
  "never": "从未",
  "Public access (no key).": "公开访问（未使用密钥）。",
  "Choose one or more logos, or a zip of logos.": "请选择一个或多个图样，或图样的 zip 压缩包。",
  "No match.": "无匹配。",
  "Language": "语言",
  "Searching…": "检索中…",
  // browsing the register without a logo
  "No logo? Search lists the register's marks that pass the filters and words, newest filing first.":
    "未选择图样时，点击“检索”将列出商标库中符合筛选条件和文字要素的商标，按申请日从新到旧排列。",
  "Marks of the register": "商标库中的商标",
  "Pages": "分页", "Previous": "上一页", "Next": "下一页",
  "Page {page} of {pages}": "第 {page} 页，共 {pages} 页",
  "page {page} of {pages}": "第 {page} 页，共 {pages} 页",
  "{total} mark": "共 {total} 件商标", "{total} marks": "共 {total} 件商标",
  "newest filing first": "按申请日从新到旧排列",
  "Vienna": "维也纳分类", "Filed": "申请日", "status": "法律状态",
  "filed from": "申请日起", "filed to": "申请日止", "owner": "申请人/注册人",
  // the record of a mark
  "Id": "商标编号", "Name": "商标名称", "Application no.": "申请号",
  "Registration no.": "注册号", "Filing date": "申请日", "Last updated": "更新时间",
  "Score": "近似度", "Risk": "风险等级",
  // trademark watch (商标监测) and its alerts (预警)
  "Watches": "商标监测", "Trademark watch": "商标监测",
  "Watch new filings for marks like yours: every filing that looks like a watched mark, at the watch's risk level and in its classes, raises an alert.":
    "监测新申请商标：凡与被监测商标近似、达到监测所设风险等级并属于其类别的新申请，都会产生预警。",
  "Your watches": "我的监测", "No watches yet.": "尚无监测。", "New watch": "新建监测",
  "Watch name": "监测名称", "Images of the marks to protect": "被监测商标的图样",
  "Or register marks to protect (ids)": "或商标库中被监测商标的编号",
  "e.g. TM-001234, TM-005678": "例如 TM-001234, TM-005678",
  "Only filings in Nice classes": "仅限以下尼斯分类的申请",
  "any; e.g. 9, 42": "不限；例如 9, 42",
  "Only filings with Vienna code prefixes": "仅限以下维也纳分类（前缀）的申请",
  "any; e.g. 26.01": "不限；例如 26.01",
  "Alert from": "预警的最低风险等级", "Create watch": "创建监测",
  "Alerts": "预警", "Alerts of": "所属监测", "All watches": "全部监测",
  "Alert status": "处理状态", "Any status": "全部状态",
  "New": "未读", "Seen": "已读", "Dismissed": "已忽略",
  "Refresh alerts": "刷新预警", "Pages of alerts": "预警分页",
  "“{name}” is not an image.": "“{name}”不是图像文件。",
  "“{name}” is larger than 10 MB.": "“{name}”超过 10 MB。",
  "alerts from score {score}": "近似度达到 {score} 即预警",
  "alerts at {risk} or higher": "{risk}及以上即预警",
  "protects {marks}": "被监测商标：{marks}", "owner {owner}": "所有者 {owner}",
  "CSV of alerts": "预警 CSV", "PDF of alerts": "预警 PDF", "Delete": "删除",
  "Delete the watch “{name}” and its alerts?": "删除监测“{name}”及其全部预警？",
  "Watch “{name}” deleted.": "监测“{name}”已删除。",
  "Give the watch a name and one or more images or register mark ids.":
    "请填写监测名称，并选择至少一个图样或填写商标库中的商标编号。",
  "Watch “{name}” created.": "监测“{name}”已创建。",
  "New filing": "新申请商标", "New filing {id}": "新申请商标 {id}",
  "Watched mark": "被监测商标", "Watched mark {id}": "被监测商标 {id}",
  "Watch": "监测", "Raised": "预警时间",
  "Mark seen": "标为已读", "Dismiss": "忽略", "Mark as new": "标为未读",
  "Open record": "查看商标详情",
  "{total} alert": "共 {total} 条预警", "{total} alerts": "共 {total} 条预警",
  "No alerts": "无预警",
};

const KEY = "tmsearch-lang";
const TEXT_ATTRS = ["placeholder", "aria-label", "title", "alt"];

export function language() {
  const chosen = localStorage.getItem(KEY);
  if (chosen === "zh" || chosen === "en") return chosen;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

// ``text`` (English, as written in the page) in the page's language; {name} parts are
// filled from ``values`` after the lookup.
export function t(text, values = {}) {
  const base = language() === "zh" ? (ZH[text] ?? text) : text;
  return base.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

// Every element of ``root`` whose text (or a text attribute) is a known English string
// shows it in the page's language. The English is kept on the element to switch back;
// text a script has changed since is taken as the element's new English.
export function translatePage(root = document.body) {
  const zh = language() === "zh";
  document.documentElement.lang = zh ? "zh-CN" : "en";
  const elements = root.nodeType === Node.ELEMENT_NODE ? [root, ...root.querySelectorAll("*")]
    : [];
  if (root === document.body) elements.push(document.querySelector("title"));
  for (const el of elements) {
    if (!el || el.closest("[translate=no]")) continue; // data: a watch named "New"
    if (el.children.length === 0) {
      swap(el, "en", el.textContent.replace(/\s+/g, " ").trim(), zh,
        (text) => { el.textContent = text; });
    }
    for (const attr of TEXT_ATTRS) {
      const shown = el.getAttribute(attr);
      if (shown === null) continue;
      const store = `en${attr.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())}`;
      swap(el, store, shown, zh, (text) => el.setAttribute(attr, text));
    }
  }
}

// Show one text of ``el`` (its content, or an attribute kept under ``dataset[store]``) in
// the page's language, writing only when it changes (the watcher sees every write).
function swap(el, store, shown, zh, write) {
  const english = pick(el.dataset[store], shown);
  if (!(english in ZH)) return;
  el.dataset[store] = english;
  const wanted = zh ? ZH[english] : english;
  if (shown !== wanted) write(wanted);
}

// The English of an element: what it kept, unless a script wrote other text since.
function pick(kept, shown) {
  return kept !== undefined && (shown === kept || shown === ZH[kept]) ? kept : shown;
}

// Text the scripts add later (results, figures, messages) is translated as it comes.
function watch() {
  new MutationObserver((changes) => {
    for (const change of changes) {
      const target = change.type === "characterData" ? change.target.parentElement
        : change.target;
      if (target) translatePage(target);
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
}

// The switch in the header: remembered, applied at once.
export function setUpLanguageSwitch(select, onChange) {
  select.value = language();
  select.addEventListener("change", () => {
    localStorage.setItem(KEY, select.value);
    translatePage();
    onChange();
  });
  translatePage();
  watch();
}
