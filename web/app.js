// Stella Ops web UI: a small single-page app over Core's REST API (docs/api.md).
// Every text from the server is set as textContent, never parsed as HTML; the content
// security policy allows no other script.

const SESSION = "stella.session";
const SEVERITIES = ["critical", "high", "medium", "low", "negligible", "unknown"];
const state = { token: null, exp: 0, iat: 0, who: "", lang: "en", strings: {}, warned: false };

// ---- helpers ----

const $ = (sel, root = document) => root.querySelector(sel);

/** An element: h("td", {class: "x"}, "text", child…); attributes starting with "on" are listeners. */
function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** The translation of `key`, with {name} placeholders filled. */
function t(key, vars = {}) {
  const s = state.strings[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? `{${k}}`));
}

async function loadLanguage(lang) {
  const r = await fetch(`/locales/${lang}.json`);
  if (!r.ok) throw new Error(`no translation for ${lang}`);
  state.strings = await r.json();
  state.lang = lang;
  document.documentElement.lang = lang;
  localStorage.setItem("stella.lang", lang);
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
}

function toast(text, bad = false) {
  const e = h("div", { class: bad ? "toast bad" : "toast", role: bad ? "alert" : "status" }, text);
  $("#toasts").append(e);
  setTimeout(() => e.remove(), 6000);
}

function fmtDate(s) {
  if (!s) return "";
  const d = new Date(s);
  return isNaN(d) ? s : d.toLocaleString(state.lang);
}

function ageText(seconds) {
  if (seconds == null) return "";
  const hours = seconds / 3600;
  return hours < 48 ? t("age.hours", { n: Math.round(hours) }) : t("age.days", { n: Math.round(hours / 24) });
}

// ---- session and API ----

function saveSession() {
  sessionStorage.setItem(SESSION, JSON.stringify({ token: state.token, exp: state.exp, iat: state.iat, who: state.who, tenant: state.tenant }));
}

function restoreSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION) || "null");
    if (s && s.token && s.exp * 1000 > Date.now()) Object.assign(state, { iat: s.exp, ...s });
  } catch { /* no session */ }
}

function logout() {
  state.token = null;
  state.exp = 0;
  state.tenant = null;
  state.tenants = null;
  sessionStorage.removeItem(SESSION);
  location.hash = "#/login";
}

/** An API error: the problem document's detail, and the document. */
class ApiError extends Error {
  constructor(problem, status) {
    super((problem && problem.detail) || `${status}`);
    this.problem = problem || {};
    this.status = status;
  }
}

/** Calls the API; a problem document becomes an ApiError with its detail; 401 logs out. */
async function api(path, { method = "GET", body, headers = {} } = {}) {
  const r = await fetch(path, {
    method,
    body,
    headers: { Authorization: `Bearer ${state.token}`, ...tenantHeader(), ...headers },
  });
  quotaFrom(r.headers);
  if (r.status === 401) {
    logout();
    throw new Error(t("error.session"));
  }
  const ct = r.headers.get("content-type") || "";
  const data = ct.includes("json") ? await r.json() : await r.text();
  if (!r.ok) throw new ApiError(typeof data === "object" ? data : null, r.status);
  // where a new scan is stored (its id in Core, which the result's own scanId is not)
  const loc = r.headers.get("content-location");
  if (loc && data && typeof data === "object") {
    Object.defineProperty(data, "storedId", { value: decodeURIComponent(loc.split("/").pop()) });
  }
  return data;
}

/** The tenant the UI acts in, when the user picked one of several. */
function tenantHeader() {
  return state.tenant ? { "X-Stella-Tenant": state.tenant } : {};
}

/** The tenant picker: shown when the user belongs to more than one tenant. */
async function tenantPicker() {
  const pick = $("#tenant");
  if (!state.tenants) {
    const list = await api("/api/v1/tenants").catch(() => null);
    state.tenants = list ? list.tenants : [];
    if (!state.tenant && list) state.tenant = list.current;
  }
  pick.hidden = state.tenants.length < 2;
  const select = $("#tenant-select");
  select.replaceChildren(...state.tenants.map((x) => h("option", { value: x.id }, x.name)));
  select.value = state.tenant || "";
}

/** The quota banner, from the headers every authenticated answer carries. */
function quotaFrom(headers) {
  const limit = headers.get("x-stella-quota-limit");
  const remaining = headers.get("x-stella-quota-remaining");
  if (limit === null || remaining === null) return;
  const used = Number(limit) - Number(remaining);
  const banner = $("#quota");
  const warn = headers.get("x-stella-quota-warning") !== null;
  banner.hidden = false;
  banner.className = warn ? "warn" : "";
  banner.textContent = t(warn ? "quota.warning" : "quota.banner", { used, limit, remaining });
}

/** Warns, in red, 10 minutes before the session's token expires, also while the page sits
 * open (a timer, not only when a view is drawn); at expiry the login is shown. */
function expiryToast() {
  const left = state.exp * 1000 - Date.now();
  const ahead = 10 * 60 * 1000;
  const warn = () => {
    if (state.warned || !state.token) return;
    state.warned = true;
    toast(t("session.expires", { when: fmtDate(new Date(state.exp * 1000).toISOString()) }), true);
  };
  if (left > 0 && left < ahead) warn();
  if (!state.expiryTimer && left > 0) {
    state.expiryTimer = setTimeout(warn, Math.max(0, left - ahead));
    setTimeout(() => { if (state.token && state.exp * 1000 <= Date.now()) { logout(); } }, left + 1000);
  }
}

// ---- views ----

function loginView() {
  const err = h("p", { class: "error", role: "alert", id: "login-error" });
  const form = h(
    "form",
    { class: "card login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, t("login.title")),
    h("label", { for: "username" }, t("login.user")),
    h("input", { id: "username", name: "username", autocomplete: "username", required: true }),
    h("label", { for: "password" }, t("login.password")),
    h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    err,
    h("button", { type: "submit", class: "primary" }, t("login.submit")),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.textContent = "";
    const body = new URLSearchParams({
      grant_type: "password",
      username: form.username.value,
      password: form.password.value,
    });
    const r = await fetch("/connect/token", { method: "POST", body });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      err.textContent = t("login.failed");
      return;
    }
    state.token = data.access_token;
    state.iat = Math.floor(Date.now() / 1000);
    state.exp = state.iat + (data.expires_in || 0);
    state.who = form.username.value;
    saveSession();
    location.hash = "#/";
  });
  return [form];
}

async function dashboardView() {
  const [feeds, quota, criticals, images, stats] = await Promise.all([
    api("/api/v1/feeds").catch(() => null),
    api("/api/v1/quota").catch(() => null),
    api("/api/v1/criticals").catch(() => null),
    api("/api/v1/images").catch(() => ({ images: [] })),
    api("/api/v1/stats?days=30").catch(() => null),
  ]);
  const age = feeds ? feeds.ageSeconds : null;
  const fresh = age == null ? "bad" : age < 36 * 3600 ? "ok" : age < 7 * 86400 ? "warn" : "bad";
  const tiles = h(
    "div",
    { class: "grid" },
    h("section", { class: `card tile-${fresh}`, id: "feed-age", "aria-labelledby": "feed-age-title" },
      h("h2", { id: "feed-age-title" }, t("dash.feeds")),
      h("div", { class: "big" }, age == null ? "?" : ageText(age)),
      h("div", { class: "muted" }, t(`dash.fresh.${fresh}`))),
    h("section", { class: "card", "aria-labelledby": "quota-title" },
      h("h2", { id: "quota-title" }, t("dash.quota")),
      h("div", { class: "big" }, quota ? `${quota.used} / ${quota.limit}` : "?"),
      h("div", { class: "muted" }, quota ? t("dash.remaining", { n: quota.remaining }) : "")),
    h("section", { class: "card", "aria-labelledby": "crit-title" },
      h("h2", { id: "crit-title" }, t("dash.criticals")),
      (criticals && criticals.images && criticals.images.length)
        ? h("ul", {}, criticals.images.map((i) =>
          h("li", {}, h("a", { href: `#/scans/${encodeURIComponent(i.scanId)}` }, i.image),
            " ", t("dash.newCount", { n: (i.newCriticals || []).length }))))
        : h("div", { class: "muted" }, t("dash.none"))),
  );
  const recent = [...images.images].sort((a, b) => (b.createdAt || "").localeCompare(a.createdAt || "")).slice(0, 10);
  return [
    h("h1", {}, t("nav.dashboard")),
    tiles,
    stats ? charts(stats) : null,
    h("h2", {}, t("dash.recent")),
    imagesTable(recent),
  ];
}

/** A bar whose length is `part` of `whole` (set through the CSSOM: no style attributes). */
function bar(part, whole, cls) {
  const b = h("span", { class: `bar ${cls || ""}`, "aria-hidden": "true" });
  b.style.width = `${whole ? Math.max(part ? 2 : 0, (100 * part) / whole) : 0}%`;
  return b;
}

/** Scans over time, findings by severity, the most vulnerable images: tables with bars, so a
 * screen reader reads the numbers and everyone else sees the shape. */
function charts(s) {
  const maxDay = Math.max(1, ...s.days.map((d) => d.scans));
  const days = s.days; // oldest first
  const total = Object.values(s.severity).reduce((a, b) => a + b, 0);
  return h("div", { class: "grid charts" },
    h("section", { class: "card", id: "scans-over-time", "aria-labelledby": "sot-title" },
      h("h2", { id: "sot-title" }, t("dash.overTime")),
      h("table", { class: "bars" },
        h("caption", { class: "sr-only" }, t("dash.overTime")),
        h("tbody", {}, days.slice(-14).map((d) => h("tr", {},
          h("th", { scope: "row" }, d.day.slice(5)), h("td", {}, bar(d.scans, maxDay)), h("td", { class: "num" }, String(d.scans))))))),
    h("section", { class: "card", id: "by-severity", "aria-labelledby": "sev-title" },
      h("h2", { id: "sev-title" }, t("dash.bySeverity")),
      h("p", { class: "muted" }, t("dash.latestOf", { n: s.images })),
      h("table", { class: "bars" },
        h("tbody", {}, SEVERITIES.filter((k) => s.severity[k] !== undefined).map((k) => h("tr", {},
          h("th", { scope: "row" }, h("span", { class: `badge sev-${k}` }, t(`sev.${k}`))),
          h("td", {}, bar(s.severity[k], total, `sev-${k}`)), h("td", { class: "num" }, String(s.severity[k]))))))),
    h("section", { class: "card", id: "most-vulnerable", "aria-labelledby": "mv-title" },
      h("h2", { id: "mv-title" }, t("dash.mostVulnerable")),
      s.mostVulnerable.length
        ? h("table", {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("scans.image")), h("th", { scope: "col" }, t("sev.critical")),
            h("th", { scope: "col" }, t("sev.high")), h("th", { scope: "col" }, t("dash.total")))),
          h("tbody", {}, s.mostVulnerable.map((i) => h("tr", {},
            h("td", {}, h("a", { href: `#/scans/${encodeURIComponent(i.scanId)}` }, i.image), " ",
              h("span", { class: `badge v-${i.verdict}` }, i.verdict)),
            h("td", { class: "num" }, String(i.summary.critical || 0)), h("td", { class: "num" }, String(i.summary.high || 0)),
            h("td", { class: "num" }, String(Object.values(i.summary).reduce((a, b) => a + b, 0)))))))
        : h("p", { class: "muted" }, t("scans.empty"))));
}

function imagesTable(list) {
  if (!list.length) return h("p", { class: "muted" }, t("scans.empty"));
  const n = (i, k) => String((i.summary || {})[k] || 0);
  return h("table", { id: "images" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("scans.image")), h("th", { scope: "col" }, t("scans.verdict")),
      h("th", { scope: "col" }, t("sev.critical")), h("th", { scope: "col" }, t("sev.high")),
      h("th", { scope: "col" }, t("scans.latest")), h("th", { scope: "col" }, t("scans.count")))),
    h("tbody", {}, list.map((i) => h("tr", {},
      h("td", {}, h("a", { href: `#/scans/${encodeURIComponent(i.latestScanId)}` }, i.image)),
      h("td", {}, i.verdict ? h("span", { class: `badge v-${i.verdict}` }, i.verdict) : ""),
      h("td", { class: "num" }, n(i, "critical")), h("td", { class: "num" }, n(i, "high")),
      h("td", {}, fmtDate(i.createdAt)),
      h("td", { class: "num" }, String(i.scans))))));
}

async function scansView() {
  const data = await api("/api/v1/images");
  const filter = h("input", { id: "image-filter", type: "search" });
  const verdict = h("select", { id: "verdict-filter" },
    h("option", { value: "" }, t("filter.all")),
    ["FAIL", "WARN", "PASS"].map((v) => h("option", { value: v }, v)));
  const holder = h("div");
  const sorted = [...data.images].sort((a, b) => (b.createdAt || "").localeCompare(a.createdAt || ""));
  const draw = () => {
    const q = filter.value.toLowerCase();
    const v = verdict.value;
    holder.replaceChildren(imagesTable(sorted.filter((i) => i.image.toLowerCase().includes(q) && (!v || i.verdict === v))));
  };
  filter.addEventListener("input", draw);
  verdict.addEventListener("change", draw);
  draw();
  // scan an SBOM from this computer
  const err = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "card", id: "upload", "aria-labelledby": "upload-title" },
    h("h2", { id: "upload-title" }, t("scans.new")),
    h("label", { for: "sbom-file" }, t("scans.file")),
    h("input", { id: "sbom-file", type: "file", required: true, accept: ".json,.xml,.spdx,.cdx" }),
    h("label", { for: "sbom-image" }, t("scans.imageName")),
    h("input", { id: "sbom-image", required: true, placeholder: "registry.example.com/app:1.0" }),
    err,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("scans.submit"))));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.textContent = "";
    const file = $("#sbom-file").files[0];
    if (!file) return;
    try {
      const image = encodeURIComponent($("#sbom-image").value.trim());
      const result = await api(`/api/v1/scan?wait=true&image=${image}`, {
        method: "POST", body: await file.arrayBuffer(), headers: { "Content-Type": "application/json" },
      });
      location.hash = `#/scans/${encodeURIComponent(result.storedId)}`;
    } catch (e) {
      err.textContent = e.message;
    }
  });
  return [
    h("h1", {}, t("nav.scans")),
    form,
    h("h2", { style: false }, t("scans.images")),
    h("div", { class: "filters" },
      h("div", {}, h("label", { for: "image-filter" }, t("scans.filter")), filter),
      h("div", {}, h("label", { for: "verdict-filter" }, t("scans.verdict")), verdict)),
    holder,
  ];
}

async function scanView(id) {
  state.scanId = id;
  const s = await api(`/api/v1/scans/${encodeURIComponent(id)}`);
  if (s.state) {
    // queued or running: follow its events (server-sent, read with the token), then show it
    const status = h("p", { role: "status", id: "progress" }, t(`state.${s.state}`));
    follow(id, status);
    return [h("h1", {}, t("scan.running")), status];
  }
  const image = s.target && s.target.reference;
  const verdict = s.verdict ? s.verdict.status : "";
  const findings = s.findings || [];
  const rescan = h("button", { type: "button", id: "rescan", class: "primary" }, t("scan.rescan"));
  rescan.addEventListener("click", async () => {
    rescan.disabled = true;
    try {
      const r = await api("/api/v1/images/rescan", {
        method: "POST", body: JSON.stringify({ image }), headers: { "Content-Type": "application/json" },
      });
      location.hash = `#/scans/${encodeURIComponent(r.storedId)}`;
    } catch (e) {
      toast(e.message);
      rescan.disabled = false;
    }
  });
  const summary = h("div", { class: "summary" },
    SEVERITIES.filter((k) => s.summary && s.summary[k] !== undefined).map((k) =>
      h("span", {}, h("span", { class: `badge sev-${k}` }, t(`sev.${k}`)), " ", String(s.summary[k]))));
  let newKeys = new Set();
  const table = findingsTable(findings, image, () => newKeys);
  const diff = await diffPanel(id, (keys) => { newKeys = keys; });
  table.redraw();
  // every scan of this image, newest first
  const history = image ? await api(`/api/v1/scans?image=${encodeURIComponent(image)}`).catch(() => null) : null;
  const scans = history ? [...history.scans].reverse() : [];
  const historyList = scans.length > 1
    ? h("details", { id: "history" }, h("summary", {}, t("scan.history", { n: scans.length })),
      h("ul", {}, scans.map((x) => h("li", {}, x.id === id
        ? h("strong", { "aria-current": "page" }, fmtDate(x.createdAt))
        : h("a", { href: `#/scans/${encodeURIComponent(x.id)}` }, fmtDate(x.createdAt))))))
    : null;
  // what the scan could not check (no advisories for a namespace, an end-of-life release)
  // is said above everything else: a PASS must not hide it
  const warnings = s.warnings || [];
  const missing = (s.coverage || []).filter((c) => c.status === "missing");
  const warningBanner = warnings.length
    ? h("div", { class: "scan-warnings", id: "scan-warnings", role: "alert" },
      h("strong", {}, missing.length ? t("scan.notCovered", { n: missing.map((c) => c.namespace).join(", ") }) : t("scan.warnings")),
      h("ul", {}, warnings.map((w) => h("li", {}, w.split("\n")[0]))))
    : null;
  return [
    h("h1", {}, image || id),
    warningBanner,
    h("p", {},
      h("span", { class: `badge v-${verdict}`, id: "verdict" }, verdict), " ",
      h("span", { class: "muted" }, fmtDate(s.createdAt)), " ",
      (s.verdict && s.verdict.reasons || []).join("; ")),
    summary,
    h("div", { class: "actions" }, rescan),
    historyList,
    diff,
    table.parts,
  ];
}

/** Reads a queued scan's events (`/scans/{id}/events`) until it is done, then shows it. */
async function follow(id, status) {
  const r = await fetch(`/api/v1/scans/${encodeURIComponent(id)}/events`, {
    headers: { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream", ...tenantHeader() },
  });
  if (!r.ok || !r.body) return;
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
      if (!data) continue;
      let p;
      try { p = JSON.parse(data); } catch { continue; }
      status.textContent = [t(`state.${p.state}`), p.step].filter(Boolean).join(": ");
      if (p.state === "done" || p.state === "failed") {
        reader.cancel();
        if (location.hash === `#/scans/${encodeURIComponent(id)}`) render();
        return;
      }
    }
  }
}

/** What changed since the image's previous scan: new and fixed findings. */
async function diffPanel(id, onNew) {
  const panel = h("section", { class: "card", id: "diff", "aria-labelledby": "diff-title" },
    h("h2", { id: "diff-title" }, t("diff.title")));
  try {
    const d = await api(`/api/v1/scans/${encodeURIComponent(id)}/diff`);
    onNew(new Set(d.new.map((f) => `${f.vulnerabilityId} ${f.package.name}`)));
    const list = (items) => h("ul", {}, items.map((f) =>
      h("li", {}, h("span", { class: `badge sev-${(f.severity || "unknown").toLowerCase()}` }, t(`sev.${(f.severity || "unknown").toLowerCase()}`)),
        " ", `${f.vulnerabilityId} — ${f.package.name} ${f.package.version || ""}`)));
    panel.append(
      h("p", {}, t("diff.summary", { new: d.new.length, fixed: d.fixed.length, unchanged: d.unchanged }), " ",
        h("span", { class: "muted" }, t("diff.since", { when: fmtDate(d.base.createdAt) }))),
      d.new.length ? h("details", { open: d.new.length <= 10 }, h("summary", {}, t("diff.new")), list(d.new)) : null,
      d.fixed.length ? h("details", {}, h("summary", {}, t("diff.fixed")), list(d.fixed)) : null);
  } catch (e) {
    panel.append(h("p", { class: "muted" }, e.status === 404 ? t("diff.first") : e.message));
  }
  return panel;
}

/** The findings: search, severity filter, sortable columns; rows drawn as they scroll in. */
function findingsTable(all, image, isNew = () => new Set()) {
  const search = h("input", { id: "search", type: "search" });
  const sev = h("select", { id: "severity" },
    h("option", { value: "" }, t("filter.all")),
    SEVERITIES.map((k) => h("option", { value: k }, t(`sev.${k}`))));
  // the per-layer view: findings of one layer (image scans name each package's layer)
  const layers = new Map();
  for (const f of all) {
    if (f.package.layer) layers.set(f.package.layer, (layers.get(f.package.layer) || 0) + 1);
  }
  const layer = h("select", { id: "layer" },
    h("option", { value: "" }, t("filter.allLayers")),
    [...layers].map(([l, n], i) => h("option", { value: l }, t("filter.layer", { n: i + 1, digest: l.slice(7, 19), count: n }))));
  const count = h("span", { class: "muted", role: "status", id: "count" });
  const body = h("tbody");
  let sortKey = "severity";
  let sortDir = 1;
  let rows = [];

  const rank = (f) => SEVERITIES.indexOf((f.severity || "unknown").toLowerCase());
  const keys = {
    severity: (f) => rank(f),
    id: (f) => f.vulnerabilityId,
    package: (f) => `${f.package.name} ${f.package.version}`,
    epss: (f) => -(f.epss ? f.epss.score ?? f.epss : 0),
  };
  const headers = {};
  const th = (key, label) => {
    const b = h("button", { type: "button" }, label);
    const cell = h("th", { scope: "col", "aria-sort": "none" }, b);
    b.addEventListener("click", () => {
      sortDir = sortKey === key ? -sortDir : 1;
      sortKey = key;
      apply();
    });
    headers[key] = cell;
    return cell;
  };
  // the match explanation opens in a dialog: rows keep one height, so only those in view exist
  const why = (f) => {
    const b = h("button", { type: "button", class: "link", "data-why": f.vulnerabilityId }, t("scan.why"));
    b.addEventListener("click", () => {
      const d = $("#why");
      $("#why-title").textContent = `${f.vulnerabilityId} — ${f.package.name} ${f.package.version}`;
      $("#why-body").replaceChildren(
        f.summary ? h("p", {}, f.summary) : "",
        f.fixedVersions && f.fixedVersions.length ? h("p", {}, `${t("col.fixed")}: ${f.fixedVersions.join(", ")}`) : "",
        f.package.layer ? h("p", {}, `${t("filter.layerLabel")}: ${f.package.layer}`) : "",
        h("pre", {}, JSON.stringify(f.matchDetails || {}, null, 2)));
      d.showModal();
    });
    return b;
  };
  const row = (f) => {
    const muted = f.policy && f.policy.action === "muted";
    const mute = h("button", { type: "button", class: "small", "data-vuln": f.vulnerabilityId }, t("scan.mute"));
    mute.addEventListener("click", () => openMute(f, image));
    const epss = f.epss ? (typeof f.epss === "object" ? f.epss.score : f.epss) : null;
    const fresh = isNew().has(`${f.vulnerabilityId} ${f.package.name}`);
    return h("tr", { "data-vuln": f.vulnerabilityId },
      h("td", {}, h("span", { class: `badge sev-${(f.severity || "unknown").toLowerCase()}` }, t(`sev.${(f.severity || "unknown").toLowerCase()}`))),
      h("td", {}, f.vulnerabilityId, " ", f.kev ? h("span", { class: "badge kev", title: t("scan.kevTitle") }, "KEV") : null,
        fresh ? h("span", { class: "badge new" }, t("scan.new")) : null,
        why(f)),
      h("td", {}, `${f.package.name} ${f.package.version}`,
        f.package.layer ? h("span", { class: "muted", title: f.package.layer }, ` ${f.package.layer.slice(7, 19)}`) : null),
      h("td", {}, (f.fixedVersions || []).join(", ") || t("scan.noFix")),
      h("td", {}, epss != null ? `${(Number(epss) * 100).toFixed(1)} %` : ""),
      h("td", {}, f.policy ? h("span", { class: muted ? "badge muted-badge" : "" }, t(`action.${f.policy.action}`)) : ""),
      h("td", {}, muted ? "" : mute));
  };
  // only the rows in view (and a margin) exist; spacers stand for the others, so scrolling
  // through thousands of findings costs the same as through forty
  const ROW = 37;
  const box = h("div", { class: "scroll" });
  let first = -1;
  let last = -1;
  const draw = (force) => {
    const from = Math.max(0, Math.floor(box.scrollTop / ROW) - 15);
    const to = Math.min(rows.length, Math.ceil((box.scrollTop + (box.clientHeight || 600)) / ROW) + 15);
    if (!force && from === first && to === last) return;
    first = from;
    last = to;
    const spacer = (n) => (n > 0 ? h("tr", { class: "spacer", "aria-hidden": "true", style: false },
      h("td", { colspan: 7, "data-h": n })) : null);
    const top = spacer(from);
    const bottom = spacer(rows.length - to);
    body.replaceChildren(...[top, ...rows.slice(from, to).map(row), bottom].filter(Boolean));
    // heights through the CSSOM: the content security policy forbids style attributes
    for (const td of body.querySelectorAll("tr.spacer td")) td.style.height = `${Number(td.dataset.h) * ROW}px`;
  };
  box.addEventListener("scroll", () => draw(false), { passive: true });
  const apply = () => {
    const q = search.value.trim().toLowerCase();
    const s = sev.value;
    const l = layer.value;
    rows = all.filter((f) => (!s || (f.severity || "unknown").toLowerCase() === s) &&
      (!l || f.package.layer === l) &&
      (!q || `${f.vulnerabilityId} ${(f.aliases || []).join(" ")} ${f.package.name} ${f.package.version}`.toLowerCase().includes(q)));
    const k = keys[sortKey];
    // ties (the same severity, most of all) go to the riskier first: known exploited, then
    // the likelier to be exploited (EPSS), then by id, so the order is stable
    const epss = (f) => (f.epss ? f.epss.score ?? f.epss : 0);
    rows.sort((a, b) => {
      const x = k(a), y = k(b);
      if (x !== y) return (x < y ? -1 : 1) * sortDir;
      if (!!a.kev !== !!b.kev) return a.kev ? -1 : 1;
      if (epss(a) !== epss(b)) return epss(b) - epss(a);
      return a.vulnerabilityId < b.vulnerabilityId ? -1 : a.vulnerabilityId > b.vulnerabilityId ? 1 : 0;
    });
    for (const [key, cell] of Object.entries(headers)) {
      cell.setAttribute("aria-sort", key === sortKey ? (sortDir > 0 ? "ascending" : "descending") : "none");
    }
    count.textContent = t("scan.count", { shown: rows.length, all: all.length });
    box.scrollTop = 0;
    draw(true);
  };
  search.addEventListener("input", apply);
  sev.addEventListener("change", apply);
  layer.addEventListener("change", apply);
  const table = h("table", { id: "findings" },
    h("caption", { class: "muted" }, count),
    h("thead", {}, h("tr", {},
      th("severity", t("col.severity")), th("id", t("col.vulnerability")), th("package", t("col.package")),
      h("th", { scope: "col" }, t("col.fixed")), th("epss", "EPSS"), h("th", { scope: "col" }, t("col.policy")),
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, t("col.actions"))))),
    body);
  apply();
  return {
    redraw: apply,
    parts: [
      h("div", { class: "filters" },
        h("div", {}, h("label", { for: "search" }, t("filter.search")), search),
        h("div", {}, h("label", { for: "severity" }, t("filter.severity")), sev),
        layers.size ? h("div", {}, h("label", { for: "layer" }, t("filter.layerLabel")), layer) : null),
      (box.append(table), box),
    ],
  };
}

/** A purl without its version, qualifiers and subpath: the package at every version. */
function barePurl(purl) {
  const head = purl.split(/[?#]/)[0];
  const slash = head.lastIndexOf("/") + 1;
  const at = head.indexOf("@", slash + (head[slash] === "@" ? 1 : 0));
  return at < 0 ? head : head.slice(0, at);
}

function openMute(f, image) {
  const d = $("#mute");
  const form = $("#mute-form");
  $("#mute-what").textContent = t("mute.what", { id: f.vulnerabilityId, pkg: f.package.name, image: image || "" });
  $("#mute-error").textContent = "";
  form.reason.value = "";
  const until = new Date(Date.now() + 90 * 86400 * 1000);
  form.until.value = until.toISOString().slice(0, 10);
  $("#mute-cancel").onclick = () => d.close();
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      const made = await api("/api/v1/policy/mute", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          vulnerability: f.vulnerabilityId,
          // every version of this package (a purl without a version), not its neighbours
          package: f.package.purl ? barePurl(f.package.purl) : undefined,
          until: form.until.value,
          reason: form.reason.value,
          scanId: state.scanId || undefined,
        }),
      });
      d.close();
      toast(made.matches && made.matches.warning ? made.matches.warning : t("mute.done", { id: f.vulnerabilityId }));
    } catch (e) {
      $("#mute-error").textContent = e.message;
    }
  };
  d.showModal();
  form.reason.focus();
}

/** The policy editor: YAML with the error at its line, versions, diffs, activation. */
async function policyView() {
  let active = null;
  try {
    active = await api("/api/v1/policy");
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  const history = await api("/api/v1/policy/history");
  const { mutes } = await api("/api/v1/policy/mutes");
  const text = h("textarea", { id: "policy-yaml", rows: 18, spellcheck: "false", "aria-describedby": "policy-error" });
  // with none set, the built-in default decides: the editor starts from it
  text.value = (active && active.yaml)
    || await api("/api/v1/policy/default").catch(() => "version: 1\nrules: []\n");
  const gutter = h("div", { class: "gutter", "aria-hidden": "true" });
  const err = h("p", { id: "policy-error", class: "error", role: "alert" });
  const comment = h("input", { id: "policy-comment" });
  const lines = (bad) => {
    const n = text.value.split("\n").length;
    gutter.replaceChildren(...Array.from({ length: n }, (_, i) =>
      h("div", { class: i + 1 === bad ? "bad" : "" }, String(i + 1))));
  };
  text.addEventListener("input", () => lines(0));
  text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });
  lines(0);
  const body = () => JSON.stringify({
    yaml: text.value, rego: (active && active.rego) || {}, comment: comment.value || undefined,
  });
  const failed = (e) => {
    const where = e.problem && e.problem.error;
    if (where && where.line) {
      err.textContent = t("policy.errorAt", { line: where.line, column: where.column || 1, message: where.message });
      lines(where.line);
      // put the caret on the line
      const before = text.value.split("\n").slice(0, where.line - 1).join("\n").length + (where.line > 1 ? 1 : 0);
      text.focus();
      text.setSelectionRange(before + (where.column || 1) - 1, before + (where.column || 1) - 1);
    } else {
      err.textContent = e.message;
    }
  };
  const check = h("button", { type: "button", id: "policy-check" }, t("policy.check"));
  check.addEventListener("click", async () => {
    err.textContent = "";
    try {
      await api("/api/v1/policy/validate", { method: "POST", body: body(), headers: { "Content-Type": "application/json" } });
      lines(0);
      toast(t("policy.valid"));
    } catch (e) { failed(e); }
  });
  const save = h("button", { type: "button", id: "policy-save", class: "primary" }, t("policy.save"));
  save.addEventListener("click", async () => {
    err.textContent = "";
    try {
      const v = await api("/api/v1/policy", { method: "PUT", body: body(), headers: { "Content-Type": "application/json" } });
      toast(t("policy.saved", { version: v.version }));
      render();
    } catch (e) { failed(e); }
  });
  const diff = h("pre", { id: "policy-diff", hidden: true });
  const rows = [...history.versions].reverse().map((v) => {
    const isActive = v.version === history.active;
    const activate = h("button", { type: "button", class: "small" }, t("policy.activate"));
    activate.addEventListener("click", async () => {
      try {
        await api("/api/v1/policy/activate", { method: "POST", body: JSON.stringify({ version: v.version }), headers: { "Content-Type": "application/json" } });
        toast(t("policy.activated", { version: v.version }));
        render();
      } catch (e) { toast(e.message); }
    });
    const show = h("button", { type: "button", class: "small" }, t("policy.diff"));
    show.addEventListener("click", async () => {
      const from = history.active && history.active !== v.version ? history.active : Math.max(1, v.version - 1);
      const d = await api(`/api/v1/policy/history?from=${from}&to=${v.version}`);
      diff.hidden = false;
      diff.textContent = `${t("policy.diffOf", { from, to: v.version })}\n${typeof d.diff === "string" ? d.diff : JSON.stringify(d.diff, null, 2)}`;
    });
    return h("tr", { "data-version": v.version },
      h("td", {}, String(v.version), isActive ? h("span", { class: "badge v-PASS" }, t("policy.active")) : null),
      h("td", {}, v.author || ""), h("td", {}, fmtDate(v.created)), h("td", {}, v.comment || ""),
      h("td", {}, isActive ? "" : activate, " ", v.version > 1 ? show : null));
  });
  return [
    h("h1", {}, t("nav.policy")),
    h("section", { class: "card", "aria-labelledby": "editor-title" },
      h("h2", { id: "editor-title" }, active ? t("policy.editing", { version: active.version }) : t("policy.none")),
      h("label", { for: "policy-yaml" }, t("policy.yaml")),
      h("div", { class: "editor" }, gutter, text),
      err,
      h("label", { for: "policy-comment" }, t("policy.comment")), comment,
      active && Object.keys(active.rego || {}).length
        ? h("p", { class: "muted" }, t("policy.rego", { names: Object.keys(active.rego).join(", ") })) : null,
      h("div", { class: "actions" }, check, save)),
    h("h2", { id: "mutes-title" }, t("mutes.title")),
    mutes.length
      ? h("div", { class: "scroll" }, h("table", { id: "mutes", "aria-labelledby": "mutes-title" },
        h("thead", {}, h("tr", {}, [t("mutes.what"), t("mutes.package"), t("mutes.until"), t("mutes.by"), t("mutes.reason"), ""].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, mutes.map((m) => {
          const un = h("button", { type: "button", class: "small", "data-unmute": m.id }, t("mutes.unmute"));
          un.addEventListener("click", async () => {
            try {
              await api(`/api/v1/policy/mute/${encodeURIComponent(m.id)}`, { method: "DELETE" });
              toast(t("mutes.unmuted", { id: m.vulnerability }));
              render();
            } catch (e) { toast(e.message, true); }
          });
          const soon = m.until && (new Date(m.until) - Date.now()) < 14 * 86400 * 1000;
          return h("tr", { "data-mute": m.id },
            h("td", {}, m.vulnerability), h("td", {}, m.package || t("mutes.any")),
            h("td", { class: soon ? "soon" : "" }, m.until || t("mutes.never")),
            h("td", {}, m.by || ""), h("td", {}, m.reason), h("td", {}, un));
        }))))
      : h("p", { class: "muted" }, t("mutes.none")),
    h("h2", {}, t("policy.history")),
    h("table", { id: "policy-history" },
      h("thead", {}, h("tr", {}, [t("policy.version"), t("policy.author"), t("policy.created"), t("policy.commentCol"), ""].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows)),
    diff,
  ];
}

/** Settings: feeds (sources, last update, update now), clients and offline tokens. */
async function settingsView() {
  const feeds = await api("/api/v1/feeds");
  const sources = Object.entries(feeds.sources || {});
  const run = h("button", { type: "button", id: "feeds-update", class: "primary" }, t("settings.updateNow"));
  run.addEventListener("click", async () => {
    try {
      const before = (await api("/api/v1/jobs/runs?job=feeds&limit=1")).runs[0];
      await api("/api/v1/jobs/feeds/run", { method: "POST" });
      toast(t("settings.updating"));
      run.disabled = true;
      // the job's real outcome, once it has one
      for (let i = 0; i < 600; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        const latest = (await api("/api/v1/jobs/runs?job=feeds&limit=1")).runs[0];
        if (latest && (!before || latest.id !== before.id) && latest.outcome !== "running") {
          toast(latest.outcome === "ok" ? t("settings.updated") : t("settings.updateFailed", { why: (latest.errors || []).join("; ") || latest.outcome }), latest.outcome !== "ok");
          break;
        }
      }
      run.disabled = false;
    } catch (e) { toast(e.message, true); run.disabled = false; }
  });
  const out = [
    h("h1", {}, t("nav.settings")),
    h("section", { class: "card", "aria-labelledby": "feeds-title" },
      h("h2", { id: "feeds-title" }, t("settings.feeds")),
      h("p", {}, t("settings.db", { built: fmtDate(feeds.built), age: ageText(feeds.ageSeconds), n: feeds.vulnerabilities })),
      sources.length
        ? h("table", {},
          h("thead", {}, h("tr", {}, [t("settings.source"), t("settings.outcome"), t("settings.lastAttempt"), t("settings.lastSuccess")].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, sources.map(([name, s]) => h("tr", {},
            h("td", {}, name), h("td", {}, s.outcome || ""), h("td", {}, fmtDate(s.lastAttempt)), h("td", {}, fmtDate(s.lastSuccess))))))
        : h("p", { class: "muted" }, t("settings.noSources")),
      h("div", { class: "actions" }, run)),
  ];
  // clients and offline tokens need the admin scope; others do not see them
  let principals = null;
  try { principals = await api("/api/v1/principals"); } catch { /* not an admin */ }
  if (principals) {
    const days = h("input", { id: "offline-days", type: "number", min: 1, max: 90, value: 30 });
    const client = h("select", { id: "offline-client" },
      principals.principals.filter((p) => p.kind === "client").map((p) => h("option", { value: p.name }, p.name)));
    const issue = h("button", { type: "button", id: "offline-issue" }, t("settings.issue"));
    const link = h("p");
    issue.addEventListener("click", async () => {
      try {
        const r = await api("/api/v1/token/offline", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ expiresDays: Number(days.value), clientId: client.value }),
        });
        const blob = new Blob([r.access_token || JSON.stringify(r)], { type: "text/plain" });
        link.replaceChildren(h("a", { href: URL.createObjectURL(blob), download: `stella-offline-${client.value}.token`, id: "offline-download" }, t("settings.download")));
      } catch (e) { toast(e.message); }
    });
    out.push(h("section", { class: "card", "aria-labelledby": "clients-title" },
      h("h2", { id: "clients-title" }, t("settings.clients")),
      h("table", { id: "principals" },
        h("thead", {}, h("tr", {}, [t("settings.kind"), t("settings.name"), t("settings.scopes"), t("settings.limit")].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, principals.principals.map((p) => h("tr", {},
          h("td", {}, p.kind), h("td", {}, p.name), h("td", {}, (p.scopes || []).join(", ")), h("td", {}, String(p.maxScansPerDay)))))),
      h("h2", {}, t("settings.offline")),
      h("div", { class: "filters" },
        h("div", {}, h("label", { for: "offline-client" }, t("settings.client")), client),
        h("div", {}, h("label", { for: "offline-days" }, t("settings.days")), days),
        h("div", {}, issue)),
      link));
    const audit = await api("/api/v1/audit?limit=1000").catch(() => null);
    if (audit) {
      const entries = [...audit.entries].reverse().slice(0, 50);
      out.push(h("section", { class: "card", "aria-labelledby": "audit-title" },
        h("h2", { id: "audit-title" }, t("settings.audit")),
        h("table", { id: "audit" },
          h("thead", {}, h("tr", {}, [t("settings.when"), t("settings.who"), t("settings.action"), t("settings.detail")].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, entries.map((e) => h("tr", {},
            h("td", {}, fmtDate(e.at)), h("td", {}, e.who), h("td", {}, e.action), h("td", {}, e.detail)))))));
    }
  }
  return out;
}

// ---- routing ----

async function render() {
  const main = $("#main");
  const route = location.hash.replace(/^#/, "") || "/";
  const signedIn = !!state.token;
  $("#nav").hidden = !signedIn;
  $("#logout").hidden = !signedIn;
  $("#who").textContent = signedIn ? state.who : "";
  if (signedIn) await tenantPicker();
  else $("#tenant").hidden = true;
  if (!signedIn && route !== "/login") {
    location.hash = "#/login";
    return;
  }
  let view;
  try {
    if (route === "/login") view = loginView();
    else if (route === "/") view = await dashboardView();
    else if (route === "/scans") view = await scansView();
    else if (route.startsWith("/scans/")) view = await scanView(decodeURIComponent(route.slice(7)));
    else if (route === "/policy") view = await policyView();
    else if (route === "/settings") view = await settingsView();
    else view = [h("h1", {}, t("error.notFound"))];
  } catch (e) {
    view = [h("p", { class: "error", role: "alert" }, e.message)];
  }
  main.replaceChildren(...view.flat().filter((c) => c !== null && c !== undefined && c !== false));
  for (const a of document.querySelectorAll("#nav a")) {
    a.toggleAttribute("aria-current", a.getAttribute("href") === `#${route}`);
  }
  if (signedIn) expiryToast();
  document.title = `Stella Ops — ${(main.querySelector("h1") || {}).textContent || ""}`;
}

async function start() {
  restoreSession();
  const wanted = localStorage.getItem("stella.lang") || (navigator.language || "en").slice(0, 2);
  await loadLanguage(["en", "de"].includes(wanted) ? wanted : "en");
  $("#lang").value = state.lang;
  $("#lang").addEventListener("change", async (e) => {
    await loadLanguage(e.target.value);
    render();
  });
  $("#logout").addEventListener("click", logout);
  $("#tenant-select").addEventListener("change", (e) => {
    state.tenant = e.target.value;
    saveSession();
    render();
  });
  window.addEventListener("hashchange", render);
  render();
}

start();
