// The policy editor: YAML with syntax highlighting and line numbers, checked as you type
// (the error at its line), a live preview of the draft's verdict on a stored image beside
// the active policy's, versions with diffs and activation.

import { h, t, api, toast, card, table, when, json, verdictBadge, state } from "./lib.js";

/** One YAML line as highlighted spans (comments, keys, strings, numbers, actions). */
export function highlightLine(line) {
  const out = [];
  let rest = line;
  const key = /^(\s*(?:-\s+)?)([A-Za-z_][\w.-]*)(\s*:)(?=\s|$)/.exec(rest);
  if (key) {
    out.push(key[1], h("span", { class: "tk-key" }, key[2]), key[3]);
    rest = rest.slice(key[0].length);
  }
  const re = /("(?:[^"\\]|\\.)*"?|'(?:[^']|'')*'?)|(\s#.*$|^#.*$)|\b(deny|warn|ignore|true|false|null)\b|(-?\b\d+(?:\.\d+)?\b)/g;
  let at = 0;
  let m;
  while ((m = re.exec(rest))) {
    if (m.index > at) out.push(rest.slice(at, m.index));
    const cls = m[1] ? "tk-str" : m[2] ? "tk-comment" : m[3] ? "tk-word" : "tk-num";
    out.push(h("span", { class: cls }, m[0]));
    at = m.index + m[0].length;
  }
  if (at < rest.length) out.push(rest.slice(at));
  return out;
}

export async function policyView() {
  let active = null;
  try {
    active = await api("/api/v1/policy");
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  const [history, images] = await Promise.all([
    api("/api/v1/policy/history"),
    api("/api/v1/images").catch(() => ({ images: [] })),
  ]);
  const text = h("textarea", { id: "policy-yaml", rows: 18, spellcheck: "false", "aria-describedby": "policy-error", autocapitalize: "off", autocomplete: "off" });
  text.value = (active && active.yaml)
    || await api("/api/v1/policy/default").catch(() => "version: 1\nrules: []\n");
  const gutter = h("div", { class: "gutter", "aria-hidden": "true" });
  const hl = h("pre", { class: "hl", "aria-hidden": "true" });
  const err = h("p", { id: "policy-error", class: "error", role: "alert" });
  const status = h("span", { id: "policy-status", class: "muted", role: "status" });
  const comment = h("input", { id: "policy-comment" });
  let bad = 0;
  const paint = () => {
    const lines = text.value.split("\n");
    gutter.replaceChildren(...lines.map((_, i) => h("div", { class: i + 1 === bad ? "bad" : "" }, String(i + 1))));
    hl.replaceChildren(...lines.map((l, i) => h("div", { class: i + 1 === bad ? "line bad" : "line" }, highlightLine(l), "\n")));
    hl.scrollTop = text.scrollTop;
    gutter.scrollTop = text.scrollTop;
  };
  text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; hl.scrollTop = text.scrollTop; hl.scrollLeft = text.scrollLeft; });
  const body = () => JSON.stringify({ yaml: text.value, rego: (active && active.rego) || {}, comment: comment.value || undefined });
  const located = (e, focus) => {
    const where = e.problem && e.problem.error;
    if (where && where.line) {
      err.textContent = t("policy.errorAt", { line: where.line, column: where.column || 1, message: where.message });
      bad = where.line;
      paint();
      if (focus) {
        const before = text.value.split("\n").slice(0, where.line - 1).join("\n").length + (where.line > 1 ? 1 : 0);
        text.focus();
        text.setSelectionRange(before + (where.column || 1) - 1, before + (where.column || 1) - 1);
      }
    } else {
      err.textContent = e.message;
    }
  };
  // checked as you type: the newest answer wins, older ones are dropped
  let seq = 0;
  let timer = 0;
  const check = async (focus = false) => {
    const mine = ++seq;
    try {
      await api("/api/v1/policy/validate", { method: "POST", body: body(), headers: { "Content-Type": "application/json" } });
      if (mine !== seq) return true;
      err.textContent = "";
      bad = 0;
      paint();
      status.textContent = t("policy.valid");
      return true;
    } catch (e) {
      if (mine !== seq) return false;
      status.textContent = "";
      located(e, focus);
      return false;
    }
  };
  // the preview: the draft on a stored image, beside the active policy's verdict
  const pick = h("select", { id: "preview-image" },
    h("option", { value: "" }, t("policy.previewPick")),
    [...images.images].sort((a, b) => a.image.localeCompare(b.image)).map((i) => h("option", { value: i.image }, i.image)));
  if (state.previewImage) pick.value = state.previewImage;
  else if (images.images.length) pick.value = images.images[0].image;
  const out = h("div", { id: "preview", "aria-live": "polite" });
  let pseq = 0;
  const preview = async () => {
    const image = pick.value;
    state.previewImage = image;
    if (!image) { out.replaceChildren(h("p", { class: "muted" }, t("policy.previewNone"))); return; }
    const mine = ++pseq;
    try {
      const p = await api(`/api/v1/policy/preview?image=${encodeURIComponent(image)}`, { method: "POST", body: body(), headers: { "Content-Type": "application/json" } });
      if (mine !== pseq) return;
      const actions = Object.entries(p.draft.actions || {}).map(([k, n]) => `${t(`action.${k}`)}: ${n}`).join(" · ");
      out.replaceChildren(...[
        h("p", {}, t("policy.previewDraft"), " ", verdictBadge(p.draft.verdict.status, "preview-verdict"), " ",
          t("policy.previewActive"), " ", verdictBadge(p.active.verdict.status, "preview-active")),
        h("p", { class: "muted" }, t("policy.previewOf", { n: p.findings }), " ", actions),
        (p.draft.verdict.reasons || []).length ? h("ul", {}, p.draft.verdict.reasons.slice(0, 8).map((r) => h("li", {}, r))) : null,
        p.changed.length
          ? h("details", { open: p.changed.length <= 8 }, h("summary", {}, t("policy.previewChanged", { n: p.changed.length })),
            h("ul", { id: "preview-changed" }, p.changed.slice(0, 200).map((c) => h("li", {}, `${c.vulnerabilityId} ${c.package}: ${t(`action.${c.was}`)} → ${t(`action.${c.now}`)}`, c.rule ? ` (${c.rule})` : ""))))
          : h("p", { class: "muted" }, t("policy.previewSame"))].filter(Boolean));
    } catch (e) {
      if (mine !== pseq) return;
      out.replaceChildren(h("p", { class: "muted" }, e.message));
    }
  };
  pick.addEventListener("change", preview);
  text.addEventListener("input", () => {
    paint();
    status.textContent = "";
    clearTimeout(timer);
    timer = setTimeout(async () => { if (await check()) preview(); }, 400);
  });
  paint();
  const checkBtn = h("button", { type: "button", id: "policy-check" }, t("policy.check"));
  checkBtn.addEventListener("click", async () => { if (await check(true)) toast(t("policy.valid")); });
  const save = h("button", { type: "button", id: "policy-save", class: "primary" }, t("policy.save"));
  save.addEventListener("click", async () => {
    err.textContent = "";
    try {
      const v = await api("/api/v1/policy", { method: "PUT", body: body(), headers: { "Content-Type": "application/json" } });
      toast(t("policy.saved", { version: v.version }));
      window.dispatchEvent(new Event("hashchange"));
    } catch (e) { located(e, true); }
  });
  const diff = h("pre", { id: "policy-diff", hidden: true });
  const rows = [...history.versions].reverse().map((v) => {
    const isActive = v.version === history.active;
    const activate = h("button", { type: "button", class: "small" }, t("policy.activate"));
    activate.addEventListener("click", async () => {
      try {
        await api("/api/v1/policy/activate", { method: "POST", ...json({ version: v.version }) });
        toast(t("policy.activated", { version: v.version }));
        window.dispatchEvent(new Event("hashchange"));
      } catch (e) { toast(e.message, true); }
    });
    const show = h("button", { type: "button", class: "small" }, t("policy.diff"));
    show.addEventListener("click", async () => {
      const from = history.active && history.active !== v.version ? history.active : Math.max(1, v.version - 1);
      const d = await api(`/api/v1/policy/history?from=${from}&to=${v.version}`);
      diff.hidden = false;
      diff.textContent = `${t("policy.diffOf", { from, to: v.version })}\n${typeof d.diff === "string" ? d.diff : JSON.stringify(d.diff, null, 2)}`;
    });
    return h("tr", { "data-version": v.version },
      h("td", {}, String(v.version), isActive ? h("span", { class: "badge v-PASS" }, t("policy.active")) : null),
      h("td", {}, v.author || ""), h("td", {}, when(v.created)), h("td", {}, v.comment || ""),
      h("td", {}, isActive ? "" : activate, " ", v.version > 1 ? show : null));
  });
  setTimeout(preview, 0);
  return [
    h("h1", {}, t("nav.policy")),
    h("div", { class: "grid editor-grid" },
      h("section", { class: "card", "aria-labelledby": "editor-title" },
        h("h2", { id: "editor-title" }, active ? t("policy.editing", { version: active.version }) : t("policy.none")),
        h("label", { for: "policy-yaml" }, t("policy.yaml")),
        h("div", { class: "editor" }, gutter, h("div", { class: "code" }, hl, text)),
        err, status,
        h("label", { for: "policy-comment" }, t("policy.comment")), comment,
        active && Object.keys(active.rego || {}).length
          ? h("p", { class: "muted" }, t("policy.rego", { names: Object.keys(active.rego).join(", ") })) : null,
        h("div", { class: "actions" }, checkBtn, save)),
      card("preview-card", t("policy.preview"),
        h("label", { for: "preview-image" }, t("policy.previewOn")), pick, out)),
    h("h2", {}, t("policy.history")),
    h("div", { class: "table-wrap" }, table("policy-history", [t("policy.version"), t("policy.author"), t("policy.created"), t("policy.commentCol"), ""], rows)),
    diff,
  ];
}
