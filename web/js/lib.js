// Shared by every view: the state, element building, translations, the API client, toasts,
// dates, and reading server-sent events with the token.
// Every text from the server is set as textContent, never parsed as HTML; the content
// security policy allows no other script.

export const SESSION = "stella.session";
export const SEVERITIES = ["critical", "high", "medium", "low", "negligible", "unknown"];
export const state = { token: null, exp: 0, iat: 0, who: "", lang: "en", dir: "ltr", strings: {}, warned: false };

export const $ = (sel, root = document) => root.querySelector(sel);

/** An element: h("td", {class: "x"}, "text", child…); attributes starting with "on" are listeners. */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  return fill(e, attrs, children);
}

const SVG = "http://www.w3.org/2000/svg";
/** An SVG element, as `h` makes HTML ones. */
export function s(tag, attrs = {}, ...children) {
  return fill(document.createElementNS(SVG, tag), attrs, children);
}

function fill(e, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.setAttribute("class", v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** The translation of `key`, with {name} placeholders filled. */
export function t(key, vars = {}) {
  const str = state.strings[key] ?? key;
  return str.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? `{${k}}`));
}

/** Loads `/locales/{lang}.json` (addable without a rebuild: Core serves what it has). */
export async function loadLanguage(lang) {
  const r = await fetch(`/locales/${lang}.json`);
  if (!r.ok) throw new Error(`no translation for ${lang}`);
  state.strings = await r.json();
  state.lang = lang;
  state.dir = state.strings["lang.dir"] === "rtl" ? "rtl" : "ltr";
  document.documentElement.lang = lang;
  document.documentElement.dir = state.dir;
  localStorage.setItem("stella.lang", lang);
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
}

export function toast(text, bad = false) {
  const e = h("div", { class: bad ? "toast bad" : "toast", role: bad ? "alert" : "status" }, text);
  $("#toasts").append(e);
  setTimeout(() => e.remove(), 6000);
}

export function fmtDate(x) {
  if (!x) return "";
  const d = new Date(x);
  return isNaN(d) ? x : d.toLocaleString(state.lang);
}

export function fmtDay(x) {
  if (!x) return "";
  const d = new Date(x);
  return isNaN(d) ? x : d.toLocaleDateString(state.lang, { month: "short", day: "numeric" });
}

/** A date as an element the screenshot comparisons can mask (`.when`). */
export function when(x, short = false) {
  return h("time", { class: "when", datetime: x || "" }, short ? fmtDay(x) : fmtDate(x));
}

export function ageText(seconds) {
  if (seconds == null) return "";
  const hours = seconds / 3600;
  if (hours < 1) return t("age.minutes", { n: Math.max(1, Math.round(seconds / 60)) });
  return hours < 48 ? t("age.hours", { n: Math.round(hours) }) : t("age.days", { n: Math.round(hours / 24) });
}

export const sevOf = (f) => (f.severity || "unknown").toLowerCase();
export const sevBadge = (sev) => h("span", { class: `badge sev-${sev}` }, t(`sev.${sev}`));
export const verdictBadge = (v, id) => (v ? h("span", { class: `badge v-${v}`, id }, v) : "");
export const epssOf = (f) => (f.epss == null ? null : typeof f.epss === "object" ? f.epss.score : Number(f.epss));
export const pct = (x, digits = 1) => `${(Number(x) * 100).toFixed(digits)} %`;

/** A finding's page (route `#/scans/ID/findings/VULN/PACKAGE@VERSION`). */
export function findingHref(scanId, f) {
  const pkg = `${f.package.name}@${f.package.version || ""}`;
  return `#/scans/${encodeURIComponent(scanId)}/findings/${encodeURIComponent(f.vulnerabilityId)}/${encodeURIComponent(pkg)}`;
}

// ---- session and API ----

export function saveSession() {
  sessionStorage.setItem(SESSION, JSON.stringify({ token: state.token, exp: state.exp, iat: state.iat, who: state.who, tenant: state.tenant }));
}

export function restoreSession() {
  try {
    const x = JSON.parse(sessionStorage.getItem(SESSION) || "null");
    if (x && x.token && x.exp * 1000 > Date.now()) Object.assign(state, { iat: x.exp, ...x });
  } catch { /* no session */ }
}

export function logout() {
  state.token = null;
  state.exp = 0;
  state.tenant = null;
  state.tenants = null;
  sessionStorage.removeItem(SESSION);
  location.hash = "#/login";
}

/** An API error: the problem document's detail, and the document. */
export class ApiError extends Error {
  constructor(problem, status) {
    super((problem && problem.detail) || `${status}`);
    this.problem = problem || {};
    this.status = status;
  }
}

/** The tenant the UI acts in, when the user picked one of several. */
export function tenantHeader() {
  return state.tenant ? { "X-Stella-Tenant": state.tenant } : {};
}

/** Calls the API; a problem document becomes an ApiError with its detail; 401 logs out. */
export async function api(path, { method = "GET", body, headers = {} } = {}) {
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

export const json = (x) => ({ body: JSON.stringify(x), headers: { "Content-Type": "application/json" } });

/** Reads server-sent events from `path` with the token (EventSource cannot send one);
 * calls `on(event, data)` per event until `signal` aborts or the stream ends. */
export async function readEvents(path, on, signal) {
  const r = await fetch(path, {
    headers: { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream", ...tenantHeader() },
    signal,
  });
  if (!r.ok || !r.body) return;
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    let chunk;
    try { chunk = await reader.read(); } catch { return; }
    if (chunk.done) return;
    buf += chunk.value;
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trim());
      }
      if (!data.length) continue;
      let p;
      try { p = JSON.parse(data.join("\n")); } catch { continue; }
      if (on(event, p) === false) { reader.cancel(); return; }
    }
  }
}

/** The quota banner, from the headers every authenticated answer carries. */
export function quotaFrom(headers) {
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
export function expiryToast() {
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

/** A card: a section with a heading (the section is labelled by it). */
export function card(id, title, ...children) {
  return h("section", { class: "card", id, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, title), ...children);
}

/** A table of `cols` (header texts) and `rows` (arrays of cells). */
export function table(id, cols, rows, attrs = {}) {
  return h("table", { id, ...attrs },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows));
}
