// The images list (filter by name and verdict, updated live as scans are stored) and the
// form that scans an SBOM from this computer.

import { h, t, $, api, state } from "./lib.js";
import { imagesTable } from "./dashboard.js";

export async function scansView() {
  const data = await api("/api/v1/images");
  const filter = h("input", { id: "image-filter", type: "search" });
  const verdict = h("select", { id: "verdict-filter" },
    h("option", { value: "" }, t("filter.all")),
    ["FAIL", "WARN", "PASS"].map((v) => h("option", { value: v }, v)));
  const holder = h("div");
  let sorted = [...data.images].sort((a, b) => (b.createdAt || "").localeCompare(a.createdAt || ""));
  const draw = () => {
    const q = filter.value.toLowerCase();
    const v = verdict.value;
    holder.replaceChildren(imagesTable(sorted.filter((i) => i.image.toLowerCase().includes(q) && (!v || i.verdict === v))));
  };
  filter.addEventListener("input", draw);
  verdict.addEventListener("change", draw);
  draw();
  // a scan stored anywhere in the tenant moves its image to the top, as it happens
  state.onScan = (x) => {
    const old = sorted.find((i) => i.image === x.image);
    const row = { image: x.image, latestScanId: x.id, createdAt: x.createdAt, verdict: x.verdict, summary: x.summary, scans: (old ? old.scans : 0) + 1 };
    sorted = [row, ...sorted.filter((i) => i.image !== x.image)];
    draw();
  };
  const err = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "card", id: "upload", "aria-labelledby": "upload-title" },
    h("h2", { id: "upload-title" }, t("scans.new")),
    h("label", { for: "sbom-file" }, t("scans.file")),
    h("input", { id: "sbom-file", type: "file", required: true, accept: ".json,.xml,.spdx,.cdx" }),
    h("label", { for: "sbom-image" }, t("scans.imageName")),
    h("input", { id: "sbom-image", required: true, placeholder: "registry.example.com/app:1.0" }),
    err,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("scans.submit"))));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.textContent = "";
    const file = $("#sbom-file").files[0];
    if (!file) return;
    try {
      const image = encodeURIComponent($("#sbom-image").value.trim());
      const result = await api(`/api/v1/scan?wait=true&image=${image}`, {
        method: "POST", body: await file.arrayBuffer(), headers: { "Content-Type": "application/json" },
      });
      location.hash = `#/scans/${encodeURIComponent(result.storedId)}`;
    } catch (e) {
      err.textContent = e.message;
    }
  });
  return [
    h("h1", {}, t("nav.scans")),
    form,
    h("h2", {}, t("scans.images")),
    h("div", { class: "filters" },
      h("div", {}, h("label", { for: "image-filter" }, t("scans.filter")), filter),
      h("div", {}, h("label", { for: "verdict-filter" }, t("scans.verdict")), verdict)),
    holder,
  ];
}
