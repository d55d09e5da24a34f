// The web UI in a real browser (Debian's Chromium, driven by playwright-core) against a real
// Core: log in, scan an SBOM, open it, mute a finding, scan again and see it pass; keyboard
// and language checks on the way. Screenshots go to OUT_DIR (kept as test artifacts).
// Usage: node ui.test.mjs URL USER PASSWORD SBOM_FILE OUT_DIR
// Exit 0 when every step held; otherwise the failing step is printed and the exit code is 1.

import { chromium } from "playwright-core";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { PNG } from "pngjs";
import { createRequire } from "node:module";
import { join } from "node:path";

const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

const [url, user, password, sbom, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let step = "start";
// expected images, committed; STELLA_UPDATE_SCREENSHOTS=1 writes them anew (deliberately)
const expectedDir = new URL("./screenshots/", import.meta.url).pathname;
const update = !!process.env.STELLA_UPDATE_SCREENSHOTS;
const WIDTHS = [["phone", 375, 740], ["tablet", 768, 1000], ["desktop", 1280, 900]];

/** Dates, ages and counters that differ from run to run are made constant first; then the
 * page is compared with the committed image at each width (at most 1 % of pixels may differ
 * by more than a little: antialiasing, not layout). */
async function compare(page, name) {
  await page.evaluate(() => {
    for (const e of document.querySelectorAll(".when")) e.textContent = "1/1/2026, 00:00";
    for (const e of document.querySelectorAll("#scan-warnings li")) e.textContent = e.textContent.replace(/\d+ days ago \([^)]*\)/, "N days ago");
    const q = document.querySelector("#quota");
    if (q) q.textContent = "quota";
    for (const e of document.querySelectorAll("#toasts .toast")) e.remove();
  });
  const failures = [];
  for (const [label, width, height] of WIDTHS) {
    await page.setViewportSize({ width, height });
    await page.waitForTimeout(150);
    const file = join(expectedDir, `${name}-${label}.png`);
    const got = await page.screenshot({ fullPage: true, animations: "disabled", mask: [page.locator("svg .axis"), page.locator("#compare")] });
    writeFileSync(join(out, `cmp-${name}-${label}.png`), got);
    if (update || !existsSync(file)) {
      if (!update) failures.push(`${name}-${label}: no expected image (run with STELLA_UPDATE_SCREENSHOTS=1 and commit web/tests/screenshots)`);
      else { mkdirSync(expectedDir, { recursive: true }); writeFileSync(file, got); }
      continue;
    }
    const a = PNG.sync.read(readFileSync(file));
    const b = PNG.sync.read(got);
    if (a.width !== b.width || Math.abs(a.height - b.height) > 2) {
      failures.push(`${name}-${label}: ${b.width}×${b.height}, expected ${a.width}×${a.height}`);
      continue;
    }
    let differ = 0;
    const rows = Math.min(a.height, b.height);
    for (let i = 0; i < a.width * rows * 4; i += 4) {
      const d = Math.max(Math.abs(a.data[i] - b.data[i]), Math.abs(a.data[i + 1] - b.data[i + 1]), Math.abs(a.data[i + 2] - b.data[i + 2]));
      if (d > 40) differ++;
    }
    const share = differ / (a.width * rows);
    if (share > 0.01) failures.push(`${name}-${label}: ${(share * 100).toFixed(2)} % of pixels differ (see ${out}/cmp-${name}-${label}.png)`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  check(failures.length === 0, `screenshots: ${failures.join("; ")}`);
  console.log(`screenshots ${name}: ${update ? "written" : "match"} at ${WIDTHS.map((w) => w[1]).join(", ")} px`);
}

/** Nothing may stick out sideways at a phone's width (the page scrolls down, not across). */
async function fitsPhone(page, name) {
  await page.setViewportSize({ width: 375, height: 740 });
  await page.waitForTimeout(100);
  const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await page.setViewportSize({ width: 1280, height: 900 });
  check(over <= 1, `${name}: ${over} px wider than a 375 px phone`);
}
const shot = (page, name) => page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
function check(cond, what) {
  if (!cond) throw new Error(`${step}: ${what}`);
}

/** axe-core's WCAG 2 A/AA rules on the page as it is; serious or critical violations fail. */
async function accessible(page, name) {
  await page.addScriptTag({ path: axePath });
  const r = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
  }));
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `${name}: accessibility: ${bad.map((v) => `${v.id} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`).join("; ")}`);
  console.log(`accessibility ${name}: ${r.passes.length} rules pass, ${r.violations.length} minor findings`);
}

let page;
try {
  // axe-core is injected as a script: the test's context may, the site's CSP stays as served
  const context = await browser.newContext({ locale: "en-US", bypassCSP: true, viewport: { width: 1280, height: 900 }, timezoneId: "UTC" });
  page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // answers the test provokes (a wrong password) are logged as failed loads, not script errors
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  page.on("response", (r) => {
    // the page's own files must all be there (API answers may be 404: a first scan's diff)
    if (r.status() === 404 && !r.url().includes("/api/")) errors.push(`404 for ${r.url()}`);
  });

  step = "first load";
  let bytes = 0;
  page.on("response", async (r) => {
    const len = Number(r.headers()["content-length"] || 0);
    bytes += len;
  });
  const t0 = Date.now();
  await page.goto(url + "/");
  await page.waitForSelector("#login-title");
  const loadMs = Date.now() - t0;
  check(page.url().includes("/ui/#/login"), `redirected to the login, not ${page.url()}`);
  check(!(await page.isVisible("#nav")), "no navigation while logged out");
  console.log(`first load: ${bytes} bytes, interactive in ${loadMs} ms`);
  await shot(page, "01-login");
  await compare(page, "login");

  step = "wrong password";
  await page.fill("#username", user);
  await page.fill("#password", "not the password");
  await page.click("form.login button[type=submit]");
  await page.waitForSelector("#login-error:not(:empty)");

  step = "log in (keyboard only)";
  await page.fill("#password", password);
  await page.focus("#password");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#feed-age");
  check((await page.textContent("h1")) === "Dashboard", "the dashboard is shown");
  check(await page.isVisible("#quota"), "the quota banner is shown");
  await shot(page, "02-dashboard");
  await accessible(page, "dashboard");

  step = "scan an SBOM";
  await page.click("nav a[href='#/scans']");
  await page.waitForSelector("#upload");
  await page.setInputFiles("#sbom-file", sbom);
  await page.fill("#sbom-image", "ui/app:1");
  await page.click("#upload button[type=submit]");
  await page.waitForSelector("#findings");
  check((await page.textContent("#verdict")) === "FAIL", "the policy fails the scan");
  check((await page.textContent("h1")) === "ui/app:1", "the scan detail names the image");
  check((await page.textContent("#diff")).includes("first scan"), "the first scan has nothing to compare with");
  // Alpine 3.17 is past its end of life: said above the verdict, not hidden
  check((await page.textContent("#scan-warnings")).includes("end of life"), "the scan's warnings are shown");
  await shot(page, "03-scan-fail");
  await accessible(page, "scan");

  step = "filter and sort the findings";
  // same severity: riskier first, then by id (no KEV or EPSS here), a stable order
  check((await page.getAttribute("#findings tbody tr[data-vuln]", "data-vuln")) === "CVE-2023-46853", "ties are ordered");
  await page.fill("#search", "CVE-2099-1111");
  check((await page.locator("#findings tbody tr[data-vuln]").count()) === 1, "search finds one row");
  await page.fill("#search", "");
  await page.selectOption("#severity", "critical");
  check((await page.locator("#findings tbody tr[data-vuln]").count()) === 0, "no critical findings");
  await page.selectOption("#severity", "");
  await page.click("#findings th:nth-child(2) button");
  check((await page.getAttribute("#findings th:nth-child(2)", "aria-sort")) === "ascending", "sorted by id");

  step = "the match explanation";
  await page.click("#findings tbody tr[data-vuln='CVE-2023-46853'] button[data-why]");
  await page.waitForSelector("#why[open]");
  check((await page.textContent("#why-body")).includes("alpine:3.17"), "it names the namespace searched");
  await page.keyboard.press("Escape");
  await page.waitForSelector("#why", { state: "hidden" });

  step = "mute the finding that fails it";
  await page.click("#findings tbody tr[data-vuln='CVE-2023-46853'] button[data-vuln]");
  await page.waitForSelector("#mute[open]");
  await page.fill("#mute-reason", "not reachable in this image");
  await shot(page, "04-mute-dialog");
  await page.click("#mute-ok");
  await page.waitForSelector("#mute", { state: "hidden" });
  await page.waitForSelector(".toast");

  step = "scan again: it passes";
  await page.click("#rescan");
  await page.waitForFunction(() => document.querySelector("#verdict")?.textContent === "PASS");
  const muted = await page.textContent("#findings tbody tr[data-vuln='CVE-2023-46853']");
  check(muted.includes("muted"), "the muted finding is marked");
  check((await page.textContent("#diff")).includes("0 new, 0 fixed, 2 unchanged"), "compared with the scan before");
  check((await page.locator("#history li").count()) === 2, "both scans of the image are listed");
  check((await page.locator("#timeline svg a").count()) === 2, "the timeline draws both scans");
  check((await page.locator("#compare option").count()) === 1, "the other scan can be compared with");
  check(!(await page.textContent("main")).includes("null"), "no stray null on the scan page");
  await fitsPhone(page, "scan");
  await compare(page, "scan");
  const scanUrl = page.url();

  step = "a finding's page: sources, ratings, why it matched";
  await page.click("#findings tbody tr[data-vuln='CVE-2023-46853'] a.vuln");
  await page.waitForSelector("#why-matched");
  check((await page.textContent("h1")).includes("CVE-2023-46853"), "the page names the vulnerability");
  const why = await page.textContent("#why-matched");
  check(why.includes("alpine:3.17") && why.includes("was looked up in"), `why it matched, in words: ${why}`);
  check((await page.textContent("#facts")).includes("memcached"), "the package");
  check((await page.textContent("#facts")).includes("Sources"), "the sources");
  check(await page.isVisible("#severities"), "every source's rating");
  await accessible(page, "finding");
  await fitsPhone(page, "finding");
  await compare(page, "finding");
  await page.goto(scanUrl);
  await page.waitForSelector("#findings");

  step = "a queued scan: progress, then the result";
  // large enough that the page meets it queued or running and follows its events
  const big = JSON.parse(readFileSync(sbom, "utf8"));
  for (let i = 0; i < 20000; i++) {
    big.components.push({ type: "library", "bom-ref": `c${i}`, name: `m${i}`, version: "1.0-r0",
      purl: `pkg:apk/alpine/m${i}@1.0-r0?distro=alpine-3.17.3` });
  }
  const queued = await page.evaluate(async (sbomText) => {
    const token = JSON.parse(sessionStorage.getItem("stella.session")).token;
    const r = await fetch("/api/v1/scan?image=ui/queued:1", {
      method: "POST", body: sbomText, headers: { Authorization: `Bearer ${token}` },
    });
    return (await r.json()).id;
  }, JSON.stringify(big));
  await page.goto(`${url}/ui/#/scans/${queued}`);
  const followed = await page.waitForSelector("#progress", { timeout: 5000 }).then(() => true, () => false);
  await page.waitForFunction(() => document.querySelector("h1")?.textContent === "ui/queued:1"
    && document.querySelector("#findings"), null, { timeout: 60000 });
  console.log(`queued scan: ${followed ? "followed its progress" : "already done when opened"}`);
  await shot(page, "05-scan-pass");

  step = "the images list updates live as scans are stored";
  await page.click("nav a[href='#/scans']");
  await page.waitForSelector("#images");
  await page.evaluate(async (sbomText) => {
    const token = JSON.parse(sessionStorage.getItem("stella.session")).token;
    await fetch("/api/v1/scan?wait=true&image=ui/live:1", { method: "POST", body: sbomText, headers: { Authorization: `Bearer ${token}` } });
  }, readFileSync(sbom, "utf8"));
  await page.waitForSelector("#images tr[data-image='ui/live:1']", { timeout: 10000 });
  check(await page.isVisible("#upload"), "without a reload (the form is still there)");

  step = "the images list filters by verdict";
  await page.selectOption("#verdict-filter", "FAIL");
  check((await page.locator("#images tbody tr").count()) === 0 || !(await page.isVisible("#images")), "no failing image after the mute");
  await page.selectOption("#verdict-filter", "PASS");
  check((await page.textContent("#images")).includes("ui/app:1"), "the passing image");

  step = "switch tenants: each team sees its own images only";
  check(await page.isVisible("#tenant"), "the tenant picker is shown to someone in two tenants");
  check((await page.inputValue("#tenant-select")) === "default", "it starts in the default tenant");
  await page.selectOption("#tenant-select", "team-b");
  await page.waitForFunction(() => document.querySelector("#upload") && !document.querySelector("#images"));
  check(!(await page.textContent("main")).includes("ui/app:1"), "team B does not see the default tenant's image");
  await page.setInputFiles("#sbom-file", sbom);
  await page.fill("#sbom-image", "ui/team-b:1");
  await page.click("#upload button[type=submit]");
  await page.waitForFunction(() => document.querySelector("h1")?.textContent === "ui/team-b:1" && document.querySelector("#findings"));
  check(!(await page.textContent("main")).includes("null"), "no stray null on the page");
  check((await page.textContent("#verdict")) !== "FAIL", "team B's policy is its own (the default one): the default tenant's deny rule does not apply");
  await shot(page, "05b-team-b");
  // a scan of the default tenant opened while acting in team B is not found
  await page.goto(`${url}/ui/#/scans/${queued}`);
  await page.waitForFunction(() => /there is no scan/.test(document.querySelector("main")?.textContent || ""));
  await page.selectOption("#tenant-select", "default");
  await page.click("nav a[href='#/scans']");
  await page.waitForSelector("#images");
  const ours = await page.textContent("#images");
  check(ours.includes("ui/app:1") && !ours.includes("ui/team-b:1"), "back in the default tenant: its images, not team B's");

  step = "the dashboard charts the scans";
  await page.click("nav a[href='#/']");
  await page.waitForSelector("#most-vulnerable");
  check((await page.textContent("#most-vulnerable")).includes("ui/app:1"), "the scanned image is listed");
  const today = Number(await page.textContent("#scans-over-time tbody tr:last-child td.num"));
  check(today >= 3, `today's scans are counted (${today})`);
  check((await page.textContent("#by-severity")).includes("unknown"), "findings by severity");
  check((await page.locator("#risk svg polygon").count()) >= 1, "open findings over time are charted");
  check(await page.isVisible("#hot"), "what to fix first");
  await fitsPhone(page, "dashboard");
  await shot(page, "06-dashboard-charts");
  await accessible(page, "dashboard with charts");

  step = "edit the policy with an error, see it at its line, fix it";
  await page.click("nav a[href='#/policy']");
  await page.waitForSelector("#policy-yaml");
  const yaml = await page.inputValue("#policy-yaml");
  check(yaml.includes("no-memcached-cve"), "the editor holds the active policy");
  // the draft's verdict on a stored image, beside the active one's
  await page.waitForSelector("#preview-verdict");
  await page.fill("#policy-yaml", yaml.replace("action: deny", "action: denyy"));
  // checked as you type, no button pressed
  await page.waitForSelector("#policy-error:not(:empty)");
  check((await page.textContent("#policy-error")).includes("Line 4"), "the error appears while typing");
  check((await page.locator(".hl .tk-key").count()) > 3, "the YAML is highlighted");
  await page.click("#policy-save");
  await page.waitForSelector("#policy-error:not(:empty)");
  const message = await page.textContent("#policy-error");
  check(message.includes("Line 4"), `the error names its line: ${message}`);
  check((await page.textContent(".gutter .bad")) === "4", "the gutter marks line 4");
  await shot(page, "06-policy-error");
  await accessible(page, "policy");
  await page.fill("#policy-yaml", yaml.replace("action: deny", "action: warn"));
  await page.waitForFunction(() => document.querySelector("#policy-error")?.textContent === "" && document.querySelector("#preview-verdict"));
  await fitsPhone(page, "policy");
  await page.fill("#policy-comment", "warn instead of failing");
  await page.click("#policy-save");
  await page.waitForSelector("#policy-history tr[data-version='2'] .badge");
  check((await page.textContent("#policy-error")) === "", "no error once fixed");
  await shot(page, "07-policy-saved");

  step = "the mutes: listed with who and why, and unmuted";
  await page.click("nav a[href='#/mutes']");
  await page.waitForSelector("#mutes");
  check((await page.textContent("#mutes-summary")).includes("1 active"), "how many mutes");
  check((await page.textContent("#mute-history")).includes("muted"), "the history of mutes");
  await accessible(page, "mutes");
  check((await page.textContent("#mutes")).includes("CVE-2023-46853"), "the mute is listed");
  check((await page.textContent("#mutes")).includes("not reachable in this image"), "with its reason");
  await page.click("#mutes button[data-unmute]");
  await page.waitForFunction(() => !document.querySelector("#mutes"));
  await accessible(page, "mutes after unmute");

  step = "tokens and quota: the session, today's quota, clients, an offline token";
  await page.click("nav a[href='#/access']");
  await page.waitForSelector("#principals");
  check((await page.textContent("#my-scopes")).includes("admin"), "the session's scopes");
  check(/\d+ \/ \d+/.test(await page.textContent("#my-quota")), "today's quota");
  check((await page.textContent("#principals")).includes("ann"), "clients and users are listed");
  await accessible(page, "tokens and quota");
  await fitsPhone(page, "tokens and quota");
  await page.selectOption("#offline-client", "admin");
  await page.fill("#offline-days", "7");
  await page.click("#offline-issue");
  await page.waitForSelector("#offline-download");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#offline-download")]);
  const token = readFileSync(await download.path(), "utf8");
  check(token.split(".").length === 3, "a JWT was downloaded");

  step = "settings: feeds, the audit log";
  await page.click("nav a[href='#/settings']");
  await page.waitForSelector("#audit");
  const audit = await page.textContent("#audit");
  check(audit.includes("user:ann") && audit.includes("mute"), "the audit log shows who muted");
  check(audit.includes("policy.unmute"), "and who unmuted");
  await accessible(page, "settings");
  await shot(page, "08-settings");

  step = "dark mode follows the operating system, contrast intact";
  await page.emulateMedia({ colorScheme: "dark" });
  await page.click("nav a[href='#/']");
  await page.waitForSelector("#most-vulnerable");
  const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  check(bg === "rgb(13, 17, 23)", `a dark background (${bg})`);
  await accessible(page, "dark dashboard");
  await shot(page, "08b-dark");
  await page.emulateMedia({ colorScheme: "light" });
  await page.click("nav a[href='#/settings']");
  await page.waitForSelector("#audit");

  step = "German";
  await page.selectOption("#lang", "de");
  await page.waitForFunction(() => document.querySelector("nav a")?.textContent === "Übersicht");
  // the view is drawn again in German
  await page.waitForFunction(() => document.querySelector("#feeds-title")?.textContent === "Feeds"
    && document.querySelector("#feeds-update")?.textContent === "Jetzt aktualisieren");
  await shot(page, "09-german");
  // German labels are longer: nothing may stick out or be clipped on a phone
  await page.click("nav a[href='#/scans']");
  await page.waitForSelector("#upload");
  await fitsPhone(page, "German scans list");

  step = "right to left: the layout mirrors";
  await page.evaluate(() => { document.documentElement.dir = "rtl"; });
  const [brand, right] = await Promise.all([page.locator(".brand").boundingBox(), page.locator(".top .right").boundingBox()]);
  check(brand.x > right.x, "the brand moves to the right, the controls to the left");
  await fitsPhone(page, "right-to-left scans list");
  await shot(page, "10-rtl");
  await page.evaluate(() => { document.documentElement.dir = "ltr"; });

  step = "no script errors";
  check(errors.length === 0, `the page reported errors: ${errors.join("; ")}`);
  console.log("ui test: every step held");
} catch (e) {
  console.error(`ui test failed at ${e.message || e}`);
  if (page) {
    console.error(`page text: ${(await page.textContent("main").catch(() => "")) || ""}`);
    await shot(page, "failed").catch(() => {});
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
