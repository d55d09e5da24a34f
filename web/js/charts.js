// Charts drawn as SVG (no library): risk over time as stacked areas, a scan timeline as
// stacked columns, bars inside tables. Each chart is an image with a text alternative and
// its numbers in a table beside it, so a screen reader reads what everyone else sees.

import { h, s, t, fmtDay } from "./lib.js";

const STACK = ["critical", "high", "medium", "low", "unknown"];

/** A bar whose length is `part` of `whole` (set through the CSSOM: no style attributes). */
export function bar(part, whole, cls) {
  const b = h("span", { class: `bar ${cls || ""}`, "aria-hidden": "true" });
  b.style.width = `${whole ? Math.max(part ? 2 : 0, (100 * part) / whole) : 0}%`;
  return b;
}

const total = (by) => STACK.reduce((a, k) => a + ((by || {})[k] || 0), 0);

/** Open findings per day, stacked by severity: `points` is [{day, severity: {k: n}}]. */
export function riskChart(points, label) {
  // drawn at about the width it will show at, so its text stays at the page's size
  const W = Math.round(Math.min(1200, Math.max(320, window.innerWidth - 96))), H = 200, L = 40, R = 8, T = 10, B = 26;
  const max = Math.max(1, ...points.map((p) => total(p.severity)));
  const x = (i) => L + (points.length < 2 ? 0 : (i * (W - L - R)) / (points.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": label });
  // grid lines at 0, ½ and the top
  for (const v of [0, Math.round(max / 2), max]) {
    svg.append(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid-line" }),
      s("text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, String(v)));
  }
  let below = points.map(() => 0);
  for (const k of STACK) {
    const above = points.map((p, i) => below[i] + ((p.severity || {})[k] || 0));
    if (above.every((v, i) => v === below[i])) continue;
    const top = above.map((v, i) => `${x(i)},${y(v)}`);
    const bottom = below.map((v, i) => `${x(i)},${y(v)}`).reverse();
    svg.append(s("polygon", { points: [...top, ...bottom].join(" "), class: `area sev-${k}` },
      s("title", {}, t(`sev.${k}`))));
    below = above;
  }
  const ticks = points.length <= 1 ? [0] : [0, Math.floor((points.length - 1) / 2), points.length - 1];
  for (const i of ticks) {
    const p = points[i];
    if (!p) continue;
    svg.append(s("text", { x: x(i), y: H - 8, class: "axis", "text-anchor": i === 0 ? "start" : i === points.length - 1 ? "end" : "middle" }, fmtDay(p.day)));
  }
  return svg;
}

/** The legend of the severity colours. */
export function legend(keys = STACK) {
  return h("ul", { class: "legend", "aria-hidden": "true" },
    keys.map((k) => h("li", {}, h("span", { class: `swatch sev-${k}` }), t(`sev.${k}`))));
}

/** An image's scans as columns (counts stacked by severity, the verdict as a dot beneath),
 * oldest on the left; each column links to its scan. */
export function timeline(scans, currentId, href) {
  const shown = scans.slice(-60);
  const W = Math.round(Math.min(1200, Math.max(320, window.innerWidth - 96))), H = 150, T = 8, B = 28, gap = 4;
  const col = Math.min(36, (W - gap) / Math.max(1, shown.length) - gap);
  const max = Math.max(1, ...shown.map((x) => total(x.summary)));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart timeline", role: "img", "aria-label": t("image.timelineLabel", { n: scans.length }) });
  shown.forEach((x, i) => {
    const left = gap + i * (col + gap);
    const link = s("a", { href: href(x), "aria-label": `${fmtDay(x.createdAt)} ${x.verdict || ""}` },
      s("title", {}, `${new Date(x.createdAt).toLocaleString()} — ${x.verdict || ""} — ${total(x.summary)}`));
    let base = H - B;
    const h0 = H - T - B;
    for (const k of STACK) {
      const n = (x.summary || {})[k] || 0;
      if (!n) continue;
      const hh = (n / max) * h0;
      link.append(s("rect", { x: left, y: base - hh, width: col, height: Math.max(1, hh), class: `sev-${k}` }));
      base -= hh;
    }
    if (!total(x.summary)) link.append(s("rect", { x: left, y: H - B - 2, width: col, height: 2, class: "empty-col" }));
    link.append(s("circle", { cx: left + col / 2, cy: H - B + 10, r: 5, class: `dot v-${x.verdict || "none"}` }));
    if (x.id === currentId) link.append(s("rect", { x: left - 2, y: T - 4, width: col + 4, height: H - T - B + 22, class: "current-col" }));
    svg.append(link);
  });
  return svg;
}
