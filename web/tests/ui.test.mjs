// The web UI in a real browser (Debian's Chromium, driven by playwright-core) against a real
// Core: log in, scan an SBOM, open it, mute a finding, scan again and see it pass; keyboard
// and language checks on the way. Screenshots go to OUT_DIR (kept as test artifacts).
// Usage: node ui.test.mjs URL USER PASSWORD SBOM_FILE OUT_DIR
// Exit 0 when every step held; otherwise the failing step is printed and the exit code is 1.

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [url, user, password, sbom, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let step = "start";
const shot = (page, name) => page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
function check(cond, what) {
  if (!cond) throw new Error(`${step}: ${what}`);
}

let page;
try {
  const context = await browser.newContext({ locale: "en-US" });
  page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // answers the test provokes (a wrong password) are logged as failed loads, not script errors
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  page.on("response", (r) => {
    if (r.status() === 404) errors.push(`404 for ${r.url()}`);
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
  console.log(`first load: ${bytes} bytes, interactive in ${loadMs} ms`);
  await shot(page, "01-login");

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

  step = "scan an SBOM";
  await page.click("nav a[href='#/scans']");
  await page.waitForSelector("#upload");
  await page.setInputFiles("#sbom-file", sbom);
  await page.fill("#sbom-image", "ui/app:1");
  await page.click("#upload button[type=submit]");
  await page.waitForSelector("#findings");
  check((await page.textContent("#verdict")) === "FAIL", "the policy fails the scan");
  check((await page.textContent("h1")) === "ui/app:1", "the scan detail names the image");
  await shot(page, "03-scan-fail");

  step = "filter and sort the findings";
  await page.fill("#search", "CVE-2099-1111");
  check((await page.locator("#findings tbody tr[data-vuln]").count()) === 1, "search finds one row");
  await page.fill("#search", "");
  await page.selectOption("#severity", "critical");
  check((await page.locator("#findings tbody tr[data-vuln]").count()) === 0, "no critical findings");
  await page.selectOption("#severity", "");
  await page.click("#findings th:nth-child(2) button");
  check((await page.getAttribute("#findings th:nth-child(2)", "aria-sort")) === "ascending", "sorted by id");

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
  await shot(page, "05-scan-pass");

  step = "German";
  await page.selectOption("#lang", "de");
  await page.waitForFunction(() => document.querySelector("nav a")?.textContent === "Übersicht");
  // the view is drawn again in German
  await page.waitForFunction(() => document.querySelector("#findings th button")?.textContent === "Schweregrad");
  check((await page.textContent("#verdict")) === "PASS", "the same scan, translated");
  await shot(page, "06-german");

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
