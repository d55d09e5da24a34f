// Stella Ops web UI: a single-page app over Core's REST API (docs/api.md, docs/ui.md), plain
// ES modules under js/ (no build step). This file routes, draws the chrome and keeps the
// live stream of stored scans open.

import { h, t, $, state, api, loadLanguage, restoreSession, saveSession, logout, expiryToast, readEvents, toast } from "./js/lib.js";
import { dashboardView } from "./js/dashboard.js";
import { scansView } from "./js/scans.js";
import { scanView } from "./js/scan.js";
import { findingView } from "./js/finding.js";
import { policyView } from "./js/policy.js";
import { mutesView } from "./js/mutes.js";
import { accessView } from "./js/access.js";
import { settingsView } from "./js/settings.js";

function loginView() {
  const err = h("p", { class: "error", role: "alert", id: "login-error" });
  const form = h("form", { class: "card login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, t("login.title")),
    h("label", { for: "username" }, t("login.user")),
    h("input", { id: "username", name: "username", autocomplete: "username", required: true }),
    h("label", { for: "password" }, t("login.password")),
    h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    err,
    h("button", { type: "submit", class: "primary" }, t("login.submit")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.textContent = "";
    const body = new URLSearchParams({ grant_type: "password", username: form.username.value, password: form.password.value });
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

const ROUTES = [
  [/^\/$/, () => dashboardView()],
  [/^\/scans$/, () => scansView()],
  [/^\/scans\/([^/]+)$/, (m) => scanView(decodeURIComponent(m[1]))],
  [/^\/scans\/([^/]+)\/findings\/([^/]+)\/([^/]+)$/, (m) => findingView(decodeURIComponent(m[1]), decodeURIComponent(m[2]), decodeURIComponent(m[3]))],
  [/^\/policy$/, () => policyView()],
  [/^\/mutes$/, () => mutesView()],
  [/^\/access$/, () => accessView()],
  [/^\/settings$/, () => settingsView()],
];

let drawing = 0;
async function render() {
  const mine = ++drawing;
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
  state.onScan = null;
  let view;
  try {
    if (route === "/login") view = loginView();
    else {
      const hit = ROUTES.map(([re, f]) => [re.exec(route), f]).find(([m]) => m);
      view = hit ? await hit[1](hit[0]) : [h("h1", {}, t("error.notFound"))];
    }
  } catch (e) {
    view = [h("h1", {}, t("error.title")), h("p", { class: "error", role: "alert" }, e.message)];
  }
  // a newer navigation won while this one waited for the API
  if (mine !== drawing) return;
  main.replaceChildren(...view.flat().filter((c) => c !== null && c !== undefined && c !== false));
  const section = `#/${route.split("/")[1] || ""}`;
  for (const a of document.querySelectorAll("#nav a")) {
    a.toggleAttribute("aria-current", a.getAttribute("href") === section);
  }
  if (signedIn) {
    expiryToast();
    live();
  }
  document.title = `Stella Ops — ${(main.querySelector("h1") || {}).textContent || ""}`;
}

/** Keeps one stream of the tenant's stored scans open while signed in: the open view takes
 * each one (`state.onScan`), the dashboard is drawn again; reconnects after a break. */
function live() {
  const key = `${state.token}|${state.tenant || ""}`;
  if (state.live && state.live.key === key) return;
  if (state.live) state.live.abort.abort();
  const abort = new AbortController();
  state.live = { key, abort };
  let redraw = 0;
  const run = async () => {
    await readEvents("/api/v1/events", (event, x) => {
      if (event !== "scan") return true;
      window.dispatchEvent(new CustomEvent("stella:scan", { detail: x }));
      if (state.onScan) state.onScan(x);
      else if ((location.hash || "#/") === "#/") {
        clearTimeout(redraw);
        redraw = setTimeout(render, 500);
      }
      return true;
    }, abort.signal).catch(() => {});
    if (!abort.signal.aborted && state.token) setTimeout(run, 5000);
  };
  run();
}

async function start() {
  restoreSession();
  // every language Core has (built in, or added by the operator), each by its own name
  const index = await fetch("/locales/index.json").then((r) => r.json()).catch(() => null);
  if (index && index.languages.length) {
    $("#lang").replaceChildren(...index.languages.map((l) => h("option", { value: l.lang }, l.name)));
  }
  const wanted = localStorage.getItem("stella.lang") || (navigator.language || "en").slice(0, 2);
  try { await loadLanguage(wanted); } catch { await loadLanguage("en"); }
  $("#lang").value = state.lang;
  $("#lang").addEventListener("change", async (e) => {
    try { await loadLanguage(e.target.value); } catch (err) { toast(err.message, true); }
    render();
  });
  $("#logout").addEventListener("click", () => {
    if (state.live) state.live.abort.abort();
    state.live = null;
    logout();
  });
  $("#tenant-select").addEventListener("change", (e) => {
    state.tenant = e.target.value;
    saveSession();
    render();
  });
  window.addEventListener("hashchange", render);
  render();
}

start();
