// Drives the admin console in Debian's Chromium for ConsoleBrowserTest, which starts the coordinator,
// passes what to check in the environment, and checks the coordinator's side of it over gRPC afterwards.
// Exits 0 when every check passed; prints what it saw, one line per step.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name}: not set`);
  return value;
};
const url = env("CONSOLE_URL");
const mode = env("CONSOLE_MODE"); // "auth": token required; "open": auth.mode none
const shots = env("SCREENSHOT_DIR");
mkdirSync(shots, { recursive: true });
const STEP_TIMEOUT = 20_000;

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const failedRequests = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(STEP_TIMEOUT);
  // Anything the page asks of another origin would be a CDN or font it must not need.
  page.on("request", (request) => {
    if (!request.url().startsWith(url) && !request.url().startsWith("data:")) failedRequests.push(request.url());
  });
  page.on("pageerror", (error) => console.log(`page error: ${error.message}`));
  await page.goto(url);

  if (mode === "auth") {
    await page.locator("#login").waitFor({ state: "visible" });
    check(await page.locator("#console").isHidden(), "without a token the console stays hidden");
    await page.fill("#token", env("WRONG_TOKEN"));
    await page.click("#login button[type=submit]");
    await page.locator("#login-error", { hasText: "Refused (401)" }).waitFor();
    check(true, `a wrong token is refused: ${await page.textContent("#login-error")}`);
    await page.screenshot({ path: join(shots, "login-refused.png") });
    await page.fill("#token", env("USER_TOKEN"));
    await page.click("#login button[type=submit]");
    await page.locator("#login-error", { hasText: "Refused (403)" }).waitFor();
    check(true, `a token without the admin role is refused: ${await page.textContent("#login-error")}`);
    check(await page.locator("#console").isHidden(), "after refusals the console stays hidden");
    await page.fill("#token", env("ADMIN_TOKEN"));
    await page.click("#login button[type=submit]");
  }
  await page.locator("#console").waitFor({ state: "visible" });
  check(true, "the console opens");

  // Overview: the figures the API reports, and the charts once the ring has a sample.
  const figure = (key) => page.locator(`[data-figure="${key}"] dd`);
  await figure("version").waitFor();
  check((await figure("version").textContent()) === env("EXPECT_VERSION"), "overview shows the version");
  check((await figure("available").textContent()) === "2 of 2", "overview shows both sidecars available");
  await page.waitForFunction(() => document.querySelector('[data-figure="calls"] dd')?.textContent !== "–",
    null, { timeout: 30_000 });
  check(Number(await figure("calls").textContent()) >= 0, `overview shows calls/s: ${await figure("calls").textContent()}`);
  check(await page.locator("#chart-calls canvas").count() === 1, "the calls chart is drawn");
  check(await page.locator("#chart-latency canvas").count() === 1, "the latency chart is drawn");

  // Sidecars: both, by backend.
  const drainAddr = env("DRAIN_ADDR");
  const row = page.locator("#sidecars-body tr", { hasText: drainAddr });
  await row.waitFor();
  check((await row.textContent()).includes("healthy"), `sidecar ${drainAddr} shows healthy`);
  check(await page.locator("#sidecars-body table[data-backend]").count() === 2, "sidecars of both backends shown");

  // Routes: the active version, the canary's weights, the history.
  await page.locator("#routes-version").waitFor();
  check((await page.textContent("#routes-version")) === env("EXPECT_ROUTES_VERSION"),
    `routes show version ${env("EXPECT_ROUTES_VERSION")}`);
  const aliases = await page.textContent("#routes-aliases");
  check(aliases.includes(env("EXPECT_ROUTES_TEXT")), `routes show the canary's weights: ${env("EXPECT_ROUTES_TEXT")}`);
  check(await page.locator("#routes-history tbody tr").count() >= 1, "routes show the versions kept");

  // Tenants: usage against quota and refusals.
  const tenantsTable = page.locator("#tenants-table");
  await tenantsTable.waitFor();
  for (const tenant of env("EXPECT_TENANTS").split(",")) {
    check((await tenantsTable.textContent()).includes(tenant), `tenants show ${tenant}`);
  }
  if (process.env.EXPECT_REFUSAL) {
    const limited = page.locator("#tenants-table tr", { hasText: process.env.EXPECT_REFUSAL.split("=")[0] });
    check((await limited.textContent()).includes(process.env.EXPECT_REFUSAL.split("=")[1]),
      `tenants show the refusal ${process.env.EXPECT_REFUSAL}`);
  }

  // Recent calls: the trace ids, and the filters.
  await page.locator("#calls-table").waitFor();
  check((await page.textContent("#calls-source")).includes(env("EXPECT_CALLS_SOURCE")),
    `recent calls come ${await page.textContent("#calls-source")}`);
  for (const trace of env("EXPECT_TRACES").split(",")) {
    await page.locator("#calls-table code", { hasText: trace }).waitFor();
    check(true, `recent calls show trace id ${trace}`);
  }
  await page.screenshot({ path: join(shots, "console.png"), fullPage: true });
  const filterTenant = env("FILTER_TENANT");
  await page.fill('#calls-filter input[name="tenant"]', filterTenant);
  await page.click("#calls-filter button[type=submit]");
  await page.waitForFunction((tenant) => {
    const rows = [...document.querySelectorAll("#calls-table tbody tr")];
    return rows.length > 0 && rows.every((r) => r.children[2].textContent === tenant);
  }, filterTenant);
  check(true, `the tenant filter shows only ${filterTenant}'s calls`);

  // Drain: the button of the sidecar's row.
  await row.locator("button", { hasText: "Drain" }).click();
  await row.locator("button", { hasText: "Undrain" }).waitFor();
  check((await row.textContent()).includes("draining"), `sidecar ${drainAddr} shows draining after the click`);
  await page.screenshot({ path: join(shots, "drained.png"), fullPage: true });

  if (mode === "auth") {
    // Rollback, confirmed in the browser's dialog.
    let asked = "";
    page.once("dialog", async (dialog) => { asked = dialog.message(); await dialog.accept(); });
    await page.click("#rollback");
    await page.waitForFunction((version) => document.querySelector("#routes-version")?.textContent === version,
      env("EXPECT_ROLLBACK_TO"));
    check(asked.includes("Roll the routes back"), `the rollback asked first: ${asked}`);
    check((await page.textContent("#routes-aliases")).includes(env("EXPECT_ROLLBACK_TEXT")),
      `routes show version ${env("EXPECT_ROLLBACK_TO")} after the rollback: ${env("EXPECT_ROLLBACK_TEXT")}`);
    await page.screenshot({ path: join(shots, "rolled-back.png"), fullPage: true });
  }
  check(failedRequests.length === 0, `no request left the coordinator (${failedRequests.join(", ") || "none"})`);
} finally {
  await browser.close();
}
