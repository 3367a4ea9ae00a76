// Real-browser check of a JupyterLab server: headless Debian chromium driven by playwright-core.
// Logs in through the login page, opens one notebook per kernel, runs its cell with Shift+Enter
// and waits until the output shows the expected text. Screenshots go to SHOT_DIR.
//   node tests/browser/notebook.mjs URL PASSWORD kernel=code=expect [kernel=code=expect ...]
// The password may also come from the JUPYTER_PASSWORD environment variable (pass "-").
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [url, passwordArg, ...checks] = process.argv.slice(2);
const password = passwordArg === "-" ? process.env.JUPYTER_PASSWORD : passwordArg;
const shotDir = process.env.SHOT_DIR || ".cache/browser";
mkdirSync(shotDir, { recursive: true });
const base = url.endsWith("/") ? url : `${url}/`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = false;
let page;
try {
  // The demo's certificate is self-signed: the test trusts it the way a user clicks through.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  page = await context.newPage();
  page.setDefaultTimeout(90_000);
  await page.goto(`${base}login`);
  await page.fill("input[type=password]", password);
  await Promise.all([page.waitForURL(/\/lab/), page.click("button[type=submit], #login_submit")]);
  await page.waitForSelector("#jp-main-dock-panel");
  console.log("logged in");

  // JupyterLab's news prompt and update check are off by default (jupyterlab_news, jupyterlab_check_for_updates):
  // the settings the page loads say so, and no news prompt appears once JupyterLab has started.
  const notifications = await page.request.get(
    `${base}lab/api/settings/@jupyterlab/apputils-extension:notification`);
  if (!notifications.ok()) throw new Error(`notification settings answered ${notifications.status()}`);
  // overrides.json replaces the schema's defaults (jupyterlab_server); no user setting overrides them here.
  const { schema, settings } = await notifications.json();
  const effective = Object.fromEntries(["fetchNews", "checkForUpdates"].map(
    (key) => [key, key in (settings || {}) ? settings[key] : schema.properties[key].default]));
  if (effective.fetchNews !== "false" || effective.checkForUpdates !== false) {
    throw new Error(`news/update settings are ${JSON.stringify(effective)}, expected fetchNews "false", checkForUpdates false`);
  }
  await page.waitForTimeout(5_000);
  const prompts = await page.getByText(/official Jupyter news/i).count();
  if (prompts > 0) throw new Error("JupyterLab shows the Jupyter news prompt");
  console.log("no news prompt, no update check");

  for (const check of checks) {
    const [kernel, code, expect] = check.split("=");
    const name = `browser-check-${kernel}.ipynb`;
    const xsrf = (await context.cookies()).find((c) => c.name === "_xsrf")?.value ?? "";
    const notebook = {
      type: "notebook", format: "json",
      content: {
        nbformat: 4, nbformat_minor: 5,
        metadata: { kernelspec: { name: kernel, display_name: kernel, language: kernel } },
        cells: [{ cell_type: "code", id: "c1", metadata: {}, source: code, outputs: [], execution_count: null }],
      },
    };
    const put = await page.request.put(`${base}api/contents/${name}`, {
      data: notebook, headers: { "X-XSRFToken": xsrf },
    });
    if (!put.ok()) throw new Error(`creating ${name} answered ${put.status()}`);
    await page.goto(`${base}lab/tree/${name}`);
    const cell = page.locator(".jp-Notebook .jp-Cell").first();
    await cell.waitFor();
    // Wait until the kernel has started (status bar "... | Idle") before running the cell.
    await page.locator(".jp-StatusBar-TextItem", { hasText: "Idle" }).first().waitFor({ timeout: 120_000 });
    const output = page.locator(".jp-Notebook .jp-Cell").first().locator(".jp-OutputArea-output");
    let shown = false;
    for (let attempt = 0; attempt < 3 && !shown; attempt += 1) {
      await cell.locator(".jp-InputArea-editor").click();
      await page.keyboard.press("Shift+Enter");
      shown = await output.filter({ hasText: expect }).first()
        .waitFor({ timeout: Number(process.env.CELL_TIMEOUT_MS || 60_000) })
        .then(() => true, () => false);
    }
    if (!shown) throw new Error(`kernel ${kernel}: no output containing ${JSON.stringify(expect)}`);
    const text = (await output.first().innerText()).trim();
    await page.screenshot({ path: `${shotDir}/${kernel}.png` });
    console.log(`kernel ${kernel}: ${code} -> ${text}`);
    await page.request.delete(`${base}api/contents/${name}`, { headers: { "X-XSRFToken": xsrf } });
  }
} catch (err) {
  failed = true;
  console.error(`browser check failed: ${err.message}`);
  if (page) await page.screenshot({ path: `${shotDir}/failure.png` }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
