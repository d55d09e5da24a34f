// Settings: the DB and each feed (last outcome, attempt, success; update now), and for
// admins the audit log.

import { h, t, api, toast, card, table, when, ageText } from "./lib.js";

export async function settingsView() {
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
    card("feeds", t("settings.feeds"),
      h("p", {}, t("settings.db", { built: "", age: ageText(feeds.ageSeconds), n: feeds.vulnerabilities }), " ", when(feeds.built)),
      sources.length
        ? h("div", { class: "table-wrap" }, table("feed-table", [t("settings.source"), t("settings.outcome"), t("settings.lastAttempt"), t("settings.lastSuccess")],
          sources.map(([name, x]) => h("tr", {},
            h("td", {}, name), h("td", {}, x.outcome || ""), h("td", {}, when(x.lastAttempt)), h("td", {}, when(x.lastSuccess))))))
        : h("p", { class: "muted" }, t("settings.noSources")),
      h("div", { class: "actions" }, run)),
    h("p", {}, h("a", { href: "#/access" }, t("settings.accessMoved"))),
  ];
  const audit = await api("/api/v1/audit?limit=1000").catch(() => null);
  if (audit) {
    const entries = [...audit.entries].reverse().slice(0, 50);
    out.push(card("audit-card", t("settings.audit"),
      h("div", { class: "table-wrap" }, table("audit", [t("settings.when"), t("settings.who"), t("settings.action"), t("settings.detail")],
        entries.map((e) => h("tr", {},
          h("td", {}, when(e.at)), h("td", {}, e.who), h("td", {}, e.action), h("td", { class: "clip" }, e.detail)))))));
  }
  return out;
}
