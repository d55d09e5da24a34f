// A finding's page: the vulnerability as every source states it (aliases, each severity with
// its CVSS vector decoded), EPSS with its percentile, KEV, fixed versions, and why it matched
// as sentences.

import { h, t, api, card, table, sevOf, sevBadge, epssOf, pct, when } from "./lib.js";
import { loadScan } from "./scan.js";
import { whyText, openMute } from "./findings.js";

// CVSS base metrics by version: metric → [name, {value: meaning}] (FIRST's specifications)
const V3 = {
  AV: ["Attack vector", { N: "Network", A: "Adjacent", L: "Local", P: "Physical" }],
  AC: ["Attack complexity", { L: "Low", H: "High" }],
  PR: ["Privileges required", { N: "None", L: "Low", H: "High" }],
  UI: ["User interaction", { N: "None", R: "Required" }],
  S: ["Scope", { U: "Unchanged", C: "Changed" }],
  C: ["Confidentiality", { N: "None", L: "Low", H: "High" }],
  I: ["Integrity", { N: "None", L: "Low", H: "High" }],
  A: ["Availability", { N: "None", L: "Low", H: "High" }],
};
const V2 = {
  AV: ["Access vector", { N: "Network", A: "Adjacent network", L: "Local" }],
  AC: ["Access complexity", { L: "Low", M: "Medium", H: "High" }],
  Au: ["Authentication", { N: "None", S: "Single", M: "Multiple" }],
  C: ["Confidentiality", { N: "None", P: "Partial", C: "Complete" }],
  I: ["Integrity", { N: "None", P: "Partial", C: "Complete" }],
  A: ["Availability", { N: "None", P: "Partial", C: "Complete" }],
};
const NLH = { N: "None", L: "Low", H: "High" };
const V4 = {
  AV: ["Attack vector", { N: "Network", A: "Adjacent", L: "Local", P: "Physical" }],
  AC: ["Attack complexity", { L: "Low", H: "High" }],
  AT: ["Attack requirements", { N: "None", P: "Present" }],
  PR: ["Privileges required", NLH],
  UI: ["User interaction", { N: "None", P: "Passive", A: "Active" }],
  VC: ["Confidentiality (vulnerable system)", NLH],
  VI: ["Integrity (vulnerable system)", NLH],
  VA: ["Availability (vulnerable system)", NLH],
  SC: ["Confidentiality (subsequent systems)", NLH],
  SI: ["Integrity (subsequent systems)", NLH],
  SA: ["Availability (subsequent systems)", NLH],
  E: ["Exploit maturity", { X: "Not defined", A: "Attacked", P: "Proof of concept", U: "Unreported" }],
};

/** A CVSS vector as [metric, value] pairs in words; unknown parts are shown as written. */
export function decodeCvss(vector) {
  const parts = vector.split("/");
  let table = V2;
  if (/^CVSS:3/.test(parts[0])) table = V3;
  else if (/^CVSS:4/.test(parts[0])) table = V4;
  return parts.filter((p) => !p.startsWith("CVSS:")).map((p) => {
    const [k, v] = p.split(":");
    const m = table[k];
    return m ? [m[0], (m[1] && m[1][v]) || v] : [k, v];
  });
}

export async function findingView(scanId, vuln, pkg) {
  const sc = await loadScan(scanId);
  const f = (sc.findings || []).find((x) => x.vulnerabilityId === vuln && `${x.package.name}@${x.package.version || ""}` === pkg);
  if (!f) throw new Error(t("finding.notInScan", { id: vuln, pkg }));
  const v = await api(`/api/v1/vulnerabilities/${encodeURIComponent(vuln)}`).catch(() => null);
  const epss = v && v.epss ? v.epss : epssOf(f) != null ? { score: epssOf(f) } : null;
  const image = sc.target && sc.target.reference;
  const mute = h("button", { type: "button", id: "finding-mute" }, t("scan.mute"));
  mute.addEventListener("click", () => openMute(f, image));
  const facts = [
    [t("col.package"), `${f.package.name} ${f.package.version}${f.package.purl ? ` (${f.package.purl})` : ""}`],
    [t("col.fixed"), (f.fixedVersions || []).join(", ") || t("scan.noFix")],
    [t("finding.aliases"), [...new Set([...(f.aliases || []), ...((v && v.aliases) || [])])].join(", ") || "—"],
    [t("finding.published"), v && v.published ? when(v.published) : f.published ? when(f.published) : "—"],
    [t("finding.modified"), v && v.modified ? when(v.modified) : "—"],
    [t("finding.sources"), v ? v.sources.join(", ") : "—"],
    f.package.layer ? [t("filter.layerLabel"), h("span", { class: "mono" }, f.package.layer)] : null,
  ].filter(Boolean);
  const sevRows = v ? v.severities : (f.cvss || []).map((c) => ({ kind: c.type, value: c.vector, source: c.source }));
  return [
    h("p", {}, h("a", { href: `#/scans/${encodeURIComponent(scanId)}` }, `← ${image || scanId}`)),
    h("h1", {}, vuln, " ", h("span", { class: "muted" }, f.package.name)),
    h("p", { class: "verdict-line" }, sevBadge(sevOf(f)), f.score != null ? ` ${t("finding.score", { score: f.score })}` : "",
      f.severitySource ? h("span", { class: "muted" }, ` ${t("finding.ratedBy", { source: f.severitySource })}`) : "",
      " ", f.kev ? h("span", { class: "badge kev" }, "KEV") : null,
      f.policy ? h("span", { class: "badge muted-badge" }, t(`action.${f.policy.action}`)) : null),
    h("p", { id: "finding-summary" }, (v && v.summary) || f.summary || t("finding.noSummary")),
    h("div", { class: "grid two" },
      card("facts", t("finding.facts"), h("dl", { class: "facts" }, facts.map(([k, x]) => [h("dt", {}, k), h("dd", {}, x)]))),
      card("exploit", t("finding.exploit"),
        h("dl", { class: "facts" },
          h("dt", {}, "EPSS"),
          h("dd", { id: "epss" }, epss ? t("finding.epss", { score: pct(epss.score, 2), percentile: epss.percentile != null ? pct(epss.percentile, 0) : "?" }) : t("finding.noEpss")),
          h("dt", {}, "CISA KEV"),
          h("dd", { id: "kev" }, v && v.kev
            ? t("finding.kev", { added: v.kev.dateAdded, due: v.kev.dueDate || "—" }) + (v.kev.ransomware ? ` ${t("finding.ransomware")}` : "")
            : f.kev ? t("finding.kevYes") : t("finding.kevNo"))))),
    card("why-matched", t("finding.why"), h("ul", {}, whyText(f).map((x) => h("li", {}, x)))),
    card("severities", t("finding.severities"),
      sevRows.length
        ? h("div", { class: "table-wrap" }, table("severity-table", [t("finding.source"), t("finding.kind"), t("finding.rating"), t("finding.scoreCol")],
          sevRows.map((x) => h("tr", { class: x.chosen ? "chosen" : "" },
            h("td", {}, x.source, x.distro ? h("span", { class: "muted" }, ` (${t("finding.distro")})`) : "", x.chosen ? h("span", { class: "badge new" }, t("finding.chosen")) : ""),
            h("td", {}, x.kind),
            h("td", {}, /^CVSS:|^AV:/.test(x.value)
              ? h("details", {}, h("summary", { class: "mono" }, x.value),
                h("dl", { class: "facts cvss" }, decodeCvss(x.value).map(([k, y]) => [h("dt", {}, k), h("dd", {}, y)])))
              : x.value),
            h("td", { class: "num" }, x.score != null ? String(x.score) : x.level || "")))))
        : h("p", { class: "muted" }, t("finding.noSeverity"))),
    h("div", { class: "actions" }, f.policy && f.policy.action === "muted" ? null : mute),
  ];
}
