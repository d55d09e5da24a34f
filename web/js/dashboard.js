// The portfolio dashboard: feed freshness per source, quota, new criticals, risk over time
// (charts), what to fix first (known and likely exploited), the most vulnerable images.

import { h, t, api, card, table, when, ageText, sevBadge, verdictBadge, pct, findingHref, SEVERITIES } from "./lib.js";
import { bar, riskChart, legend } from "./charts.js";

export async function dashboardView() {
  const [feeds, quota, criticals, images, stats] = await Promise.all([
    api("/api/v1/feeds").catch(() => null),
    api("/api/v1/quota").catch(() => null),
    api("/api/v1/criticals").catch(() => null),
    api("/api/v1/images").catch(() => ({ images: [] })),
    api("/api/v1/stats?days=30").catch(() => null),
  ]);
  const age = feeds ? feeds.ageSeconds : null;
  const freshness = (a) => (a == null ? "bad" : a < 36 * 3600 ? "ok" : a < 7 * 86400 ? "warn" : "bad");
  const fresh = freshness(age);
  const now = Date.now();
  const sources = Object.entries((feeds && feeds.sources) || {});
  const verdicts = (stats && stats.verdicts) || {};
  const newCrit = (criticals && criticals.images) || [];
  const tiles = h("div", { class: "grid tiles" },
    h("section", { class: `card tile tile-${fresh}`, id: "feed-age", "aria-labelledby": "feed-age-title" },
      h("h2", { id: "feed-age-title" }, t("dash.feeds")),
      h("div", { class: "big" }, age == null ? "?" : ageText(age)),
      h("div", { class: "muted" }, t(`dash.fresh.${fresh}`)),
      sources.length
        ? h("ul", { class: "plain sources", id: "feed-sources" }, sources.map(([name, x]) => {
          const a = x.lastSuccess ? (now - new Date(x.lastSuccess)) / 1000 : null;
          return h("li", {}, h("span", { class: `dot-inline f-${freshness(a)}`, "aria-hidden": "true" }), `${name}: `,
            a == null ? t("dash.never") : ageText(a), x.outcome && x.outcome !== "ok" ? ` (${x.outcome})` : "");
        }))
        : null),
    h("section", { class: "card tile", "aria-labelledby": "quota-title" },
      h("h2", { id: "quota-title" }, t("dash.quota")),
      h("div", { class: "big" }, quota ? `${quota.used} / ${quota.limit}` : "?"),
      h("div", { class: "muted" }, quota ? t("dash.remaining", { n: quota.remaining }) : ""),
      quota ? h("div", { class: "meter" }, bar(quota.used, quota.limit, quota.remaining < quota.limit * 0.4 ? "warn" : "")) : null,
      h("a", { href: "#/access" }, t("dash.quotaMore"))),
    h("section", { class: `card tile ${newCrit.length ? "tile-bad" : "tile-ok"}`, "aria-labelledby": "crit-title" },
      h("h2", { id: "crit-title" }, t("dash.criticals")),
      h("div", { class: "big" }, String(newCrit.reduce((a, i) => a + (i.newCriticals || []).length, 0))),
      newCrit.length
        ? h("ul", { class: "plain" }, newCrit.slice(0, 5).map((i) =>
          h("li", {}, h("a", { href: `#/scans/${encodeURIComponent(i.scanId)}` }, i.image),
            " ", t("dash.newCount", { n: (i.newCriticals || []).length }))))
        : h("div", { class: "muted" }, t("dash.none"))),
    h("section", { class: "card tile", id: "portfolio", "aria-labelledby": "portfolio-title" },
      h("h2", { id: "portfolio-title" }, t("dash.portfolio")),
      h("div", { class: "big" }, String(stats ? stats.images : images.images.length)),
      h("div", { class: "verdicts" }, ["FAIL", "WARN", "PASS"].map((v) =>
        h("span", {}, verdictBadge(v), " ", String(verdicts[v] || 0))))),
  );
  const recent = [...images.images].sort((a, b) => (b.createdAt || "").localeCompare(a.createdAt || "")).slice(0, 10);
  return [
    h("h1", {}, t("nav.dashboard")),
    tiles,
    stats ? riskCard(stats) : null,
    stats ? hotCard(stats.hot || []) : null,
    stats ? charts(stats) : null,
    h("h2", {}, t("dash.recent")),
    imagesTable(recent),
  ];
}

function riskCard(st) {
  const points = st.risk || [];
  const last = points[points.length - 1];
  const first = points.find((p) => p.images > 0) || points[0];
  const sum = (p) => (p ? Object.values(p.severity || {}).reduce((a, b) => a + b, 0) : 0);
  const delta = sum(last) - sum(first);
  return card("risk", t("dash.risk"),
    h("p", { class: "muted" }, t("dash.riskNow", { n: sum(last), images: last ? last.images : 0 }), " ",
      delta ? h("strong", { class: delta > 0 ? "up" : "down" }, t(delta > 0 ? "dash.riskUp" : "dash.riskDown", { n: Math.abs(delta) })) : t("dash.riskFlat")),
    riskChart(points, t("dash.riskLabel", { n: sum(last) })),
    legend(),
    h("details", {}, h("summary", {}, t("dash.riskTable")),
      table("risk-table", [t("dash.day"), ...["critical", "high", "medium", "low", "unknown"].map((k) => t(`sev.${k}`))],
        [...points].reverse().filter((p) => p.images).map((p) => h("tr", {}, h("td", {}, p.day),
          ["critical", "high", "medium", "low", "unknown"].map((k) => h("td", { class: "num" }, String((p.severity || {})[k] || 0))))))));
}

function hotCard(hot) {
  return card("hot", t("dash.hot"),
    h("p", { class: "muted" }, t("dash.hotWhy")),
    hot.length
      ? h("div", { class: "table-wrap" }, table("hot-table", [t("col.vulnerability"), t("col.severity"), "EPSS", t("col.package"), t("scans.image")],
        hot.map((x) => h("tr", {},
          h("td", {}, h("a", { href: findingHref(x.scanId, x) }, x.vulnerabilityId), " ",
            x.kev ? h("span", { class: "badge kev", title: t("scan.kevTitle") }, "KEV") : null),
          h("td", {}, sevBadge((x.severity || "unknown").toLowerCase())),
          h("td", { class: "num" }, x.epss != null ? pct(x.epss) : ""),
          h("td", {}, `${x.package.name} ${x.package.version}`),
          h("td", {}, h("a", { href: `#/scans/${encodeURIComponent(x.scanId)}` }, x.image))))))
      : h("p", { class: "muted", id: "hot-none" }, t("dash.hotNone")));
}

/** Scans over time, findings by severity, the most vulnerable images. */
function charts(st) {
  const maxDay = Math.max(1, ...st.days.map((d) => d.scans));
  const totalSev = Object.values(st.severity).reduce((a, b) => a + b, 0);
  return h("div", { class: "grid charts" },
    card("scans-over-time", t("dash.overTime"),
      h("table", { class: "bars" },
        h("caption", { class: "sr-only" }, t("dash.overTime")),
        h("tbody", {}, st.days.slice(-14).map((d) => h("tr", {},
          h("th", { scope: "row" }, d.day.slice(5)), h("td", {}, bar(d.scans, maxDay)), h("td", { class: "num" }, String(d.scans))))))),
    card("by-severity", t("dash.bySeverity"),
      h("p", { class: "muted" }, t("dash.latestOf", { n: st.images })),
      h("table", { class: "bars" },
        h("tbody", {}, SEVERITIES.filter((k) => st.severity[k] !== undefined).map((k) => h("tr", {},
          h("th", { scope: "row" }, sevBadge(k)),
          h("td", {}, bar(st.severity[k], totalSev, `sev-${k}`)), h("td", { class: "num" }, String(st.severity[k]))))))),
    card("most-vulnerable", t("dash.mostVulnerable"),
      st.mostVulnerable.length
        ? table("", [t("scans.image"), t("sev.critical"), t("sev.high"), t("dash.total")],
          st.mostVulnerable.map((i) => h("tr", {},
            h("td", {}, h("a", { href: `#/scans/${encodeURIComponent(i.scanId)}` }, i.image), " ", verdictBadge(i.verdict)),
            h("td", { class: "num" }, String(i.summary.critical || 0)), h("td", { class: "num" }, String(i.summary.high || 0)),
            h("td", { class: "num" }, String(Object.values(i.summary).reduce((a, b) => a + b, 0))))))
        : h("p", { class: "muted" }, t("scans.empty"))));
}

export function imagesTable(list) {
  if (!list.length) return h("p", { class: "muted" }, t("scans.empty"));
  const n = (i, k) => String((i.summary || {})[k] || 0);
  return h("div", { class: "table-wrap" }, table("images",
    [t("scans.image"), t("scans.verdict"), t("sev.critical"), t("sev.high"), t("scans.latest"), t("scans.count")],
    list.map((i) => h("tr", { "data-image": i.image },
      h("td", {}, h("a", { href: `#/scans/${encodeURIComponent(i.latestScanId)}` }, i.image)),
      h("td", {}, verdictBadge(i.verdict)),
      h("td", { class: "num" }, n(i, "critical")), h("td", { class: "num" }, n(i, "high")),
      h("td", {}, when(i.createdAt)),
      h("td", { class: "num" }, String(i.scans))))));
}
