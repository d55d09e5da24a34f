// Tokens and quota: the session's token (who, scopes, tenant, expiry), today's quota for the
// token and its tenant with the reset time, and for admins every client's and user's limit
// and an offline token to download.

import { h, t, api, state, toast, card, table, when, json } from "./lib.js";
import { bar } from "./charts.js";

/** The claims of a JWT, read (not verified: Core verified it; this only shows them). */
function claims(token) {
  try {
    const b = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(b))));
  } catch { return {}; }
}

export async function accessView() {
  const quota = await api("/api/v1/quota").catch(() => null);
  const c = claims(state.token || "");
  const scopes = (c.scope || "").split(" ").filter(Boolean);
  const exp = c.exp ? new Date(c.exp * 1000).toISOString() : null;
  const left = c.exp ? c.exp * 1000 - Date.now() : 0;
  const out = [
    h("h1", {}, t("nav.access")),
    h("div", { class: "grid two" },
      card("my-token", t("access.token"),
        h("dl", { class: "facts" },
          h("dt", {}, t("access.subject")), h("dd", {}, c.sub || state.who || "?"),
          h("dt", {}, t("access.scopes")), h("dd", { id: "my-scopes" }, scopes.length ? scopes.map((x) => h("span", { class: "chip" }, x)) : "—"),
          h("dt", {}, t("nav.tenant")), h("dd", {}, state.tenant || c.tenant || "default"),
          h("dt", {}, t("access.expires")), h("dd", { class: left < 10 * 60 * 1000 ? "soon" : "" }, exp ? when(exp) : "—"))),
      card("my-quota", t("access.quota"),
        quota
          ? [h("div", { class: "big" }, `${quota.used} / ${quota.limit}`),
            h("div", { class: "meter" }, bar(quota.used, quota.limit, quota.remaining < quota.limit * 0.4 ? "warn" : "")),
            h("p", {}, t("access.remaining", { n: quota.remaining }), " ", t("access.resets"), " ", when(quota.resetAt)),
            quota.tenant
              ? h("p", { id: "tenant-quota" }, t("access.tenantQuota", { id: quota.tenant.id, used: quota.tenant.used, limit: quota.tenant.limit }))
              : null]
          : h("p", { class: "muted" }, t("access.noQuota")))),
  ];
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
        const r = await api("/api/v1/token/offline", { method: "POST", ...json({ expiresDays: Number(days.value), clientId: client.value }) });
        const blob = new Blob([r.access_token || JSON.stringify(r)], { type: "text/plain" });
        link.replaceChildren(h("a", { href: URL.createObjectURL(blob), download: `stella-offline-${client.value}.token`, id: "offline-download" }, t("settings.download")));
      } catch (e) { toast(e.message, true); }
    });
    out.push(card("clients", t("settings.clients"),
      h("div", { class: "table-wrap" }, table("principals", [t("settings.kind"), t("settings.name"), t("settings.scopes"), t("settings.limit")],
        principals.principals.map((p) => h("tr", {},
          h("td", {}, p.kind), h("td", {}, p.name), h("td", {}, (p.scopes || []).join(", ")), h("td", { class: "num" }, String(p.maxScansPerDay)))))),
      h("h3", {}, t("settings.offline")),
      h("p", { class: "muted" }, t("access.offlineWhy")),
      h("div", { class: "filters" },
        h("div", {}, h("label", { for: "offline-client" }, t("settings.client")), client),
        h("div", {}, h("label", { for: "offline-days" }, t("settings.days")), days),
        h("div", {}, issue)),
      link));
  }
  return out;
}
