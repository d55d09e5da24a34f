// The findings table of a scan (search, severity and layer filters, sortable columns; only
// the rows in view exist, so thousands of findings scroll smoothly), the "why it matched"
// dialog and the mute dialog.

import { h, t, $, api, state, toast, sevOf, sevBadge, epssOf, pct, findingHref, json, SEVERITIES } from "./lib.js";

/** How a finding matched, as sentences (the explanation's fields, not its JSON). */
export function whyText(f) {
  const m = f.matchDetails || {};
  const by = m.searchedBy || {};
  const out = [];
  if (by.namespace) {
    out.push(t("why.searched", { name: by.name || f.package.name, version: by.version || f.package.version, namespace: by.namespace }));
  }
  for (const x of m.found || []) {
    out.push(t("why.found", { advisory: x.advisory, feed: x.feed }) +
      ((x.ranges || []).length ? ` ${t("why.ranges", { ranges: x.ranges.join("; ") })}` : ""));
  }
  if (m.type === "cpe") out.push(t("why.cpe"));
  if ((f.fixedVersions || []).length) out.push(t("why.fixed", { versions: f.fixedVersions.join(", ") }));
  else out.push(t("why.noFix"));
  if (f.vex) out.push(t("why.vex", { status: f.vex.status, document: f.vex.document }));
  if (f.policy) {
    out.push(f.policy.action === "muted"
      ? t("why.muted", { by: f.policy.by || "?", reason: f.policy.reason || "", until: f.policy.until || t("mutes.never") })
      : t("why.policy", { action: t(`action.${f.policy.action}`), rule: f.policy.rule || "?" }) + (f.policy.message ? ` — ${f.policy.message}` : ""));
  }
  return out;
}

export function findingsTable(all, image, scanId, isNew = () => new Set()) {
  const search = h("input", { id: "search", type: "search" });
  const sev = h("select", { id: "severity" },
    h("option", { value: "" }, t("filter.all")),
    SEVERITIES.map((k) => h("option", { value: k }, t(`sev.${k}`))));
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
  const rank = (f) => SEVERITIES.indexOf(sevOf(f));
  const keys = {
    severity: (f) => rank(f),
    id: (f) => f.vulnerabilityId,
    package: (f) => `${f.package.name} ${f.package.version}`,
    epss: (f) => -(epssOf(f) || 0),
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
  const why = (f) => {
    const b = h("button", { type: "button", class: "link", "data-why": f.vulnerabilityId }, t("scan.why"));
    b.addEventListener("click", () => {
      $("#why-title").textContent = `${f.vulnerabilityId} — ${f.package.name} ${f.package.version}`;
      $("#why-body").replaceChildren(
        f.summary ? h("p", {}, f.summary) : "",
        h("ul", {}, whyText(f).map((x) => h("li", {}, x))),
        f.package.layer ? h("p", { class: "muted" }, `${t("filter.layerLabel")}: ${f.package.layer}`) : "",
        h("p", {}, h("a", { href: findingHref(scanId, f), onclick: () => $("#why").close() }, t("scan.details"))));
      $("#why").showModal();
    });
    return b;
  };
  const row = (f) => {
    const muted = f.policy && f.policy.action === "muted";
    const mute = h("button", { type: "button", class: "small", "data-vuln": f.vulnerabilityId }, t("scan.mute"));
    mute.addEventListener("click", () => openMute(f, image));
    const epss = epssOf(f);
    const fresh = isNew().has(`${f.vulnerabilityId} ${f.package.name}`);
    return h("tr", { "data-vuln": f.vulnerabilityId },
      h("td", {}, sevBadge(sevOf(f))),
      h("td", {}, h("a", { href: findingHref(scanId, f), class: "vuln" }, f.vulnerabilityId), " ",
        f.kev ? h("span", { class: "badge kev", title: t("scan.kevTitle") }, "KEV") : null,
        fresh ? h("span", { class: "badge new" }, t("scan.new")) : null,
        why(f)),
      h("td", {}, `${f.package.name} ${f.package.version}`,
        f.package.layer ? h("span", { class: "muted", title: f.package.layer }, ` ${f.package.layer.slice(7, 19)}`) : null),
      h("td", {}, (f.fixedVersions || []).join(", ") || t("scan.noFix")),
      h("td", {}, epss != null ? pct(epss) : ""),
      h("td", {}, f.policy ? h("span", { class: muted ? "badge muted-badge" : "" }, t(`action.${f.policy.action}`)) : ""),
      h("td", {}, muted ? "" : mute));
  };
  // only the rows in view (and a margin) exist; spacers stand for the others
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
    const spacer = (n) => (n > 0 ? h("tr", { class: "spacer", "aria-hidden": "true" }, h("td", { colspan: 7, "data-h": n })) : null);
    body.replaceChildren(...[spacer(from), ...rows.slice(from, to).map(row), spacer(rows.length - to)].filter(Boolean));
    // heights through the CSSOM: the content security policy forbids style attributes
    for (const td of body.querySelectorAll("tr.spacer td")) td.style.height = `${Number(td.dataset.h) * ROW}px`;
  };
  box.addEventListener("scroll", () => draw(false), { passive: true });
  const apply = () => {
    const q = search.value.trim().toLowerCase();
    const sv = sev.value;
    const l = layer.value;
    rows = all.filter((f) => (!sv || sevOf(f) === sv) &&
      (!l || f.package.layer === l) &&
      (!q || `${f.vulnerabilityId} ${(f.aliases || []).join(" ")} ${f.package.name} ${f.package.version}`.toLowerCase().includes(q)));
    const k = keys[sortKey];
    // ties go to the riskier first: known exploited, then likelier exploited, then by id
    rows.sort((a, b) => {
      const x = k(a), y = k(b);
      if (x !== y) return (x < y ? -1 : 1) * sortDir;
      if (!!a.kev !== !!b.kev) return a.kev ? -1 : 1;
      const ea = epssOf(a) || 0, eb = epssOf(b) || 0;
      if (ea !== eb) return eb - ea;
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
  const tableEl = h("table", { id: "findings" },
    h("caption", { class: "muted" }, count),
    h("thead", {}, h("tr", {},
      th("severity", t("col.severity")), th("id", t("col.vulnerability")), th("package", t("col.package")),
      h("th", { scope: "col" }, t("col.fixed")), th("epss", "EPSS"), h("th", { scope: "col" }, t("col.policy")),
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, t("col.actions"))))),
    body);
  apply();
  return {
    redraw: apply,
    showLayer: (l) => { layer.value = l; apply(); layer.scrollIntoView({ block: "center" }); },
    parts: [
      h("div", { class: "filters" },
        h("div", {}, h("label", { for: "search" }, t("filter.search")), search),
        h("div", {}, h("label", { for: "severity" }, t("filter.severity")), sev),
        layers.size ? h("div", {}, h("label", { for: "layer" }, t("filter.layerLabel")), layer) : null),
      (box.append(tableEl), box),
    ],
  };
}

/** A purl without its version, qualifiers and subpath: the package at every version. */
export function barePurl(purl) {
  const head = purl.split(/[?#]/)[0];
  const slash = head.lastIndexOf("/") + 1;
  const at = head.indexOf("@", slash + (head[slash] === "@" ? 1 : 0));
  return at < 0 ? head : head.slice(0, at);
}

export function openMute(f, image) {
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
        ...json({
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
