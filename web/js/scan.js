// A scan of an image: verdict and what it could not check, the image's scans as a timeline,
// the difference to any other scan of it, where the findings come from (per layer), and the
// findings table.

import { h, t, api, state, when, card, table, sevOf, sevBadge, verdictBadge, readEvents, toast, json, SEVERITIES } from "./lib.js";
import { timeline, legend, bar } from "./charts.js";
import { findingsTable } from "./findings.js";

/** A stored scan, kept while its page and its findings' pages are open (results never change). */
export async function loadScan(id) {
  if (state.scan && state.scan.id === id) return state.scan.data;
  const data = await api(`/api/v1/scans/${encodeURIComponent(id)}`);
  if (!data.state) state.scan = { id, data };
  return data;
}

export async function scanView(id) {
  state.scanId = id;
  const sc = await loadScan(id);
  if (sc.state) {
    // queued or running: follow its events, then show it
    const status = h("p", { role: "status", id: "progress" }, t(`state.${sc.state}`));
    follow(id, status);
    return [h("h1", {}, t("scan.running")), status];
  }
  const image = sc.target && sc.target.reference;
  const verdict = sc.verdict ? sc.verdict.status : "";
  const findings = sc.findings || [];
  const rescan = h("button", { type: "button", id: "rescan", class: "primary" }, t("scan.rescan"));
  rescan.addEventListener("click", async () => {
    rescan.disabled = true;
    try {
      const r = await api("/api/v1/images/rescan", { method: "POST", ...json({ image }) });
      location.hash = `#/scans/${encodeURIComponent(r.storedId)}`;
    } catch (e) {
      toast(e.message, true);
      rescan.disabled = false;
    }
  });
  const summary = h("div", { class: "summary" },
    SEVERITIES.filter((k) => sc.summary && sc.summary[k] !== undefined).map((k) =>
      h("span", {}, sevBadge(k), " ", String(sc.summary[k]))));
  let newKeys = new Set();
  const tbl = findingsTable(findings, image, id, () => newKeys);
  const history = image ? await api(`/api/v1/scans?image=${encodeURIComponent(image)}`).catch(() => null) : null;
  const scans = history ? history.scans : [];
  const pos = scans.findIndex((x) => x.id === id);
  const diffHolder = h("div");
  const showDiff = async (against) => {
    diffHolder.replaceChildren(await diffPanel(id, against, (keys) => { newKeys = keys; }));
    tbl.redraw();
  };
  await showDiff(pos > 0 ? scans[pos - 1].id : null);
  // what the scan could not check (no advisories for a namespace, an end-of-life release)
  // is said above everything else: a PASS must not hide it
  const warnings = sc.warnings || [];
  const missing = (sc.coverage || []).filter((c) => c.status === "missing");
  const warningBanner = warnings.length
    ? h("div", { class: "scan-warnings", id: "scan-warnings", role: "alert" },
      h("strong", {}, missing.length ? t("scan.notCovered", { n: missing.map((c) => c.namespace).join(", ") }) : t("scan.warnings")),
      h("ul", {}, warnings.map((w) => h("li", {}, w.split("\n")[0]))))
    : null;
  const newer = h("p", { class: "notice", id: "newer", role: "status", hidden: true });
  state.onScan = (x) => {
    if (x.image !== image || x.id === id) return;
    newer.hidden = false;
    newer.replaceChildren(t("scan.newer", { verdict: x.verdict }), " ",
      h("a", { href: `#/scans/${encodeURIComponent(x.id)}` }, t("scan.openNewer")));
  };
  return [
    h("h1", {}, image || id),
    newer,
    warningBanner,
    h("p", { class: "verdict-line" },
      verdictBadge(verdict, "verdict"), " ",
      h("span", { class: "muted" }, when(sc.createdAt)), " ",
      h("span", { id: "reasons" }, (sc.verdict && sc.verdict.reasons || []).join("; "))),
    summary,
    h("div", { class: "actions" }, rescan),
    scans.length > 1 ? timelineCard(scans, id, showDiff) : null,
    diffHolder,
    layersCard(findings, tbl),
    h("h2", { id: "findings-title" }, t("scan.findings")),
    tbl.parts,
  ];
}

function timelineCard(scans, id, showDiff) {
  const others = scans.filter((x) => x.id !== id);
  const pos = scans.findIndex((x) => x.id === id);
  const pick = h("select", { id: "compare" }, [...others].reverse().map((x) =>
    h("option", { value: x.id, selected: pos > 0 && x.id === scans[pos - 1].id }, `${new Date(x.createdAt).toLocaleString(state.lang)} — ${x.verdict || "?"}`)));
  pick.addEventListener("change", () => showDiff(pick.value));
  const list = h("ol", { class: "plain history", id: "history", reversed: true }, [...scans].reverse().map((x) => h("li", {},
    x.id === id ? h("strong", { "aria-current": "page" }, when(x.createdAt)) : h("a", { href: `#/scans/${encodeURIComponent(x.id)}` }, when(x.createdAt)),
    " ", verdictBadge(x.verdict))));
  return card("timeline", t("image.timeline", { n: scans.length }),
    timeline(scans, id, (x) => `#/scans/${encodeURIComponent(x.id)}`),
    legend(),
    h("div", { class: "filters" }, h("div", {}, h("label", { for: "compare" }, t("image.compareWith")), pick)),
    h("details", {}, h("summary", {}, t("image.allScans")), list));
}

/** Which layer brought which findings: counts per layer, each row filters the table to it. */
function layersCard(findings, tbl) {
  const by = new Map();
  for (const f of findings) {
    const l = f.package.layer;
    if (!l) continue;
    const e = by.get(l) || { layer: l, n: 0, sev: {}, pkgs: new Set() };
    e.n += 1;
    e.sev[sevOf(f)] = (e.sev[sevOf(f)] || 0) + 1;
    e.pkgs.add(f.package.name);
    by.set(l, e);
  }
  if (!by.size) return null;
  const rows = [...by.values()].sort((a, b) => b.n - a.n || (a.layer < b.layer ? -1 : 1));
  const max = Math.max(...rows.map((r) => r.n));
  return card("layers", t("layers.title"),
    h("p", { class: "muted" }, t("layers.why", { n: rows.length })),
    h("div", { class: "table-wrap" }, table("layers-table", [t("layers.layer"), t("layers.findings"), ...["critical", "high"].map((k) => t(`sev.${k}`)), t("layers.packages"), ""],
      rows.map((r) => {
        const only = h("button", { type: "button", class: "small", "data-layer": r.layer }, t("layers.show"));
        only.addEventListener("click", () => tbl.showLayer(r.layer));
        return h("tr", {},
          h("td", { class: "mono", title: r.layer }, r.layer.slice(7, 19)),
          h("td", {}, bar(r.n, max), " ", String(r.n)),
          h("td", { class: "num" }, String(r.sev.critical || 0)), h("td", { class: "num" }, String(r.sev.high || 0)),
          h("td", { class: "clip" }, [...r.pkgs].sort().slice(0, 4).join(", ") + (r.pkgs.size > 4 ? ` +${r.pkgs.size - 4}` : "")),
          h("td", {}, only));
      }))));
}

/** Reads a queued scan's events until it is done, then shows it. */
async function follow(id, status) {
  await readEvents(`/api/v1/scans/${encodeURIComponent(id)}/events`, (_, p) => {
    status.textContent = [t(`state.${p.state}`), p.step].filter(Boolean).join(": ");
    if (p.state === "done" || p.state === "failed") {
      if (location.hash === `#/scans/${encodeURIComponent(id)}`) window.dispatchEvent(new Event("hashchange"));
      return false;
    }
    return true;
  });
}

/** What changed between this scan and another of the image (by default the one before). */
async function diffPanel(id, against, onNew) {
  const panel = card("diff", t("diff.title"));
  try {
    const q = against ? `?against=${encodeURIComponent(against)}` : "";
    const d = await api(`/api/v1/scans/${encodeURIComponent(id)}/diff${q}`);
    onNew(new Set(d.new.map((f) => `${f.vulnerabilityId} ${f.package.name}`)));
    const list = (items) => h("ul", {}, items.map((f) =>
      h("li", {}, sevBadge(sevOf(f)), " ", `${f.vulnerabilityId} — ${f.package.name} ${f.package.version || ""}`)));
    panel.append(...[
      h("p", {}, t("diff.summary", { new: d.new.length, fixed: d.fixed.length, unchanged: d.unchanged }), " ",
        h("span", { class: "muted" }, t("diff.since"), " ", when(d.base.createdAt))),
      d.new.length ? h("details", { open: d.new.length <= 10 }, h("summary", {}, t("diff.new")), list(d.new)) : null,
      d.fixed.length ? h("details", {}, h("summary", {}, t("diff.fixed")), list(d.fixed)) : null].filter(Boolean));
  } catch (e) {
    onNew(new Set());
    panel.append(h("p", { class: "muted" }, e.status === 404 ? t("diff.first") : e.message));
  }
  return panel;
}
