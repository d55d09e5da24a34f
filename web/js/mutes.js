// The mutes: who muted what, why and until when; those expiring within 14 days first and
// marked; unmute; and (for admins) the history of mutes and unmutes from the audit log.

import { h, t, api, toast, card, table, when } from "./lib.js";

const SOON = 14 * 86400 * 1000;

export async function mutesView() {
  const { mutes } = await api("/api/v1/policy/mutes");
  const audit = await api("/api/v1/audit?limit=1000").catch(() => null);
  const now = Date.now();
  const left = (m) => (m.until ? new Date(m.until) - now : Infinity);
  const sorted = [...mutes].sort((a, b) => left(a) - left(b) || a.vulnerability.localeCompare(b.vulnerability));
  const soon = sorted.filter((m) => left(m) < SOON).length;
  const rows = sorted.map((m) => {
    const un = h("button", { type: "button", class: "small", "data-unmute": m.id }, t("mutes.unmute"));
    un.addEventListener("click", async () => {
      un.disabled = true;
      try {
        await api(`/api/v1/policy/mute/${encodeURIComponent(m.id)}`, { method: "DELETE" });
        toast(t("mutes.unmuted", { id: m.vulnerability }));
        window.dispatchEvent(new Event("hashchange"));
      } catch (e) { toast(e.message, true); un.disabled = false; }
    });
    const isSoon = left(m) < SOON;
    return h("tr", { "data-mute": m.id },
      h("td", {}, m.vulnerability), h("td", { class: "clip" }, m.package || t("mutes.any")),
      h("td", { class: isSoon ? "soon" : "" }, m.until || t("mutes.never"), isSoon ? h("span", { class: "sr-only" }, ` ${t("mutes.soon")}`) : ""),
      h("td", {}, m.by || ""), h("td", {}, m.created ? when(m.created) : ""), h("td", {}, m.reason), h("td", {}, un));
  });
  const history = audit
    ? [...audit.entries].filter((e) => /^policy\.(mute|unmute)$/.test(e.action)).reverse().slice(0, 100)
    : null;
  return [
    h("h1", {}, t("mutes.title")),
    h("p", { class: "muted", id: "mutes-summary" }, t("mutes.summary", { n: mutes.length, soon })),
    mutes.length
      ? h("div", { class: "scroll" }, table("mutes", [t("mutes.what"), t("mutes.package"), t("mutes.until"), t("mutes.by"), t("mutes.created"), t("mutes.reason"), ""], rows))
      : h("p", { class: "muted" }, t("mutes.none")),
    history
      ? card("mute-history", t("mutes.history"),
        history.length
          ? h("div", { class: "table-wrap" }, table("mute-history-table", [t("settings.when"), t("settings.who"), t("settings.action"), t("settings.detail")],
            history.map((e) => h("tr", {}, h("td", {}, when(e.at)), h("td", {}, e.who), h("td", {}, e.action === "policy.mute" ? t("mutes.muted") : t("mutes.unmutedCol")), h("td", { class: "clip" }, e.detail)))))
          : h("p", { class: "muted" }, t("mutes.noHistory")))
      : null,
  ];
}
