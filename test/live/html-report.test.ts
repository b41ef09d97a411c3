/**
 * Live: the HTML report and serve's web view in real headless Chromium
 * (Debian `chromium`, driven by playwright-core), against processes with
 * known memory: memscenario `workload 2 64 30` (each child writes 64 MiB of
 * private memory and reads a 30 MiB shared region mapped by three processes,
 * frozen with SIGSTOP so nothing moves; no swap is on, so nothing is paged
 * out) and test/support/c/hostile.c started with a name full of markup and
 * control characters.
 *
 * Checked: the page loads with no console errors and opens in under 2 s; the
 * treemap and the table show the child's PSS as the kernel's smaps_rollup
 * has it, and its USS (64 MiB and the runtime); sorting and filtering; the
 * address map shows the private and shared regions and zooms down to
 * single pages; the hostile name is shown as text and runs nothing. One
 * browser for the whole file. Screenshots go to test-artifacts/.
 * Skipped unless root with kpagecount, a C compiler and Chromium.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { safeText } from "../../src/render/safe-text.js";
import { liveSkipReason, makeTempDir, MiB, readRollupKb, REPO_ROOT, runCli, startScenario, type Scenario } from "../support/scenario.js";
import { startHostile, type Hostile } from "../support/hostile.js";
import { get, sampleValue, startServeCli, type Child } from "../support/serve.js";

const CHROMIUM = [process.env["PAGELENS_CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p): p is string => p !== undefined && fs.existsSync(p));
const skip = liveSkipReason() ?? (CHROMIUM ? undefined : "no Chromium (Debian package chromium, or PAGELENS_CHROMIUM=/path)");
const ARTIFACTS = path.join(REPO_ROOT, "test-artifacts");

/** Markup, a script, control characters, a bidi override: all must show as text. */
const HOSTILE_ARGV0 = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">\x1b[2J\u202e\nx';
const HOSTILE_COMM = "<b>c\x1b[31m";

const T0 = performance.now();
/** Progress on stderr with PAGELENS_TEST_TRACE=1 (where a slow run spends its time). */
function trace(what: string): void {
  if (process.env["PAGELENS_TEST_TRACE"]) process.stderr.write(`# ${((performance.now() - T0) / 1000).toFixed(1)} s: ${what}\n`);
}

interface Row {
  pid: number;
  pss: number;
  uss: number;
}

/** Errors the page reported: console errors and uncaught exceptions. */
function watch(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return errors;
}

async function shot(page: Page, name: string, full = false): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: full });
}

/** The treemap's value for `pid` (the chart's own data, as drawn). */
function treemapValue(page: Page, pid: number): Promise<number | undefined> {
  return page.evaluate((p) => {
    const w = window as unknown as { pagelens: { charts: { treemap: { getOption(): { series: { data: { pid?: number; value: number }[] }[] } } } } };
    return w.pagelens.charts.treemap.getOption().series[0]!.data.find((d) => d.pid === p)?.value;
  }, pid);
}

function tablePids(page: Page): Promise<number[]> {
  return page.$$eval("#ps-table tbody tr", (rows) => rows.map((r) => Number((r as HTMLElement).dataset["pid"])));
}

describe("the HTML report and the web view in Chromium", { skip }, () => {
  let browser: Browser;
  let work: Scenario;
  let hostile: Hostile;
  let dir: string;
  let child: number;
  let rollupPss: number;

  before(async () => {
    dir = makeTempDir("pagelens-html-");
    hostile = await startHostile(dir, HOSTILE_ARGV0, HOSTILE_COMM);
    trace("hostile started");
    work = await startScenario("workload", [2, 64, 30]);
    trace("workload started");
    work.freeze();
    child = work.children[0]!;
    rollupPss = readRollupKb(child)!["Pss"]! * 1024;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 30_000 });
    trace("browser launched");
  });

  after(async () => {
    await browser?.close();
    // A stopped process would not see SIGTERM until continued.
    work?.thaw();
    await work?.stop();
    hostile?.kill();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("pagelens report: one file that opens offline, with the workload's figures, sorting, filtering, the address map down to pages, and inert names", async () => {
    const file = path.join(dir, "report.html");
    const r = runCli(["report", "-o", file, "--address-maps", "60"], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const html = fs.readFileSync(file, "utf8");
    assert.ok(html.length < 5 * MiB, `report is ${html.length} bytes`);
    // Self-contained: no URL is fetched (the CSP forbids it too).
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/i);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors = watch(page);
    const requests: string[] = [];
    page.on("request", (q) => {
      if (!q.url().startsWith("file:")) requests.push(q.url());
    });
    const t0 = performance.now();
    await page.goto(`file://${file}`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 10_000 });
    const openMs = performance.now() - t0;
    console.log(`# report: ${(html.length / MiB).toFixed(2)} MiB, opened in ${openMs.toFixed(0)} ms`);
    assert.ok(openMs < 2000, `opened in ${openMs.toFixed(0)} ms`);
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [], "the page fetched something");

    // The child's PSS, as the kernel has it, in the table and in the treemap.
    const data = JSON.parse(runCli(["report", "--json", "-o", "-", "--address-maps", "0"]).stdout) as { ps: { processes: Row[] } };
    const row = data.ps.processes.find((p) => p.pid === child)!;
    assert.ok(Math.abs(row.pss - rollupPss) <= 64 * 1024, `PSS ${row.pss} vs smaps_rollup ${rollupPss}`);
    const cell = Number(await page.getAttribute(`#ps-table tr[data-pid='${child}'] td[data-key='pss']`, "data-value"));
    assert.ok(Math.abs(cell - rollupPss) <= 64 * 1024, `table PSS ${cell} vs smaps_rollup ${rollupPss}`);
    assert.match((await page.textContent(`#ps-table tr[data-pid='${child}'] td[data-key='pss']`))!, /^7\d\.\d MiB$/);
    const tmPss = (await treemapValue(page, child))!;
    assert.ok(Math.abs(tmPss - rollupPss) <= 64 * 1024, `treemap PSS ${tmPss} vs smaps_rollup ${rollupPss}`);
    // 64 MiB private + a third of 30 MiB shared, plus the C runtime.
    assert.ok(tmPss >= 74 * MiB && tmPss < 78 * MiB, `treemap PSS ${tmPss}`);
    await shot(page, "report.png");
    await page.click("button[data-metric='uss']");
    const tmUss = (await treemapValue(page, child))!;
    assert.ok(tmUss >= 64 * MiB && tmUss < 66 * MiB, `treemap USS ${tmUss}`);
    assert.equal(await page.getAttribute("#treemap", "data-metric"), "uss");

    // Sorting: by pid ascending, then descending; by PSS, largest first (the default).
    const byPss = await page.$$eval("#ps-table tbody td[data-key='pss']", (tds) => tds.map((t) => Number((t as HTMLElement).dataset["value"])));
    assert.deepEqual(byPss, [...byPss].sort((a, b) => b - a));
    await page.click("#ps-table th[data-key='pid']");
    const up = await tablePids(page);
    assert.deepEqual(up, [...up].sort((a, b) => a - b));
    await page.click("#ps-table th[data-key='pid']");
    const down = await tablePids(page);
    assert.deepEqual(down, [...up].reverse());
    // Filtering: by pid, by name.
    await page.fill("#ps-filter", String(child));
    assert.deepEqual(await tablePids(page), [child]);
    await page.fill("#ps-filter", "memscenario");
    const named = await tablePids(page);
    for (const p of work.allPids) assert.ok(named.includes(p), `filter memscenario: ${p} missing`);
    assert.ok(!named.includes(hostile.pid));
    await page.fill("#ps-filter", "");

    // The address map of the child: 64 MiB private, the 30 MiB region shared, then single pages.
    await page.selectOption("#am-select", String(child));
    const am = (k: string): Promise<number> => page.getAttribute("#addrmap", k).then(Number);
    assert.equal(await am("data-pid"), child);
    assert.ok((await am("data-private-bytes")) >= 64 * MiB, `private ${await am("data-private-bytes")}`);
    assert.ok((await am("data-shared-bytes")) >= 30 * MiB, `shared ${await am("data-shared-bytes")}`);
    assert.ok(Math.abs((await am("data-present-bytes")) - Number(readRollupKb(child)!["Rss"]) * 1024) <= 64 * 1024, "present = smaps_rollup Rss");
    // Charts below the fold draw when they come near the screen.
    await page.locator("#address-map").scrollIntoViewIfNeeded();
    await page.waitForFunction(() => (window as unknown as { pagelens: { charts: { addressMap: { getOption(): { series?: unknown[] } | undefined } } } }).pagelens.charts.addressMap.getOption()?.series?.length === 3);
    await shot(page, "address-map.png");
    const privateAddr = work.addr(`private.${child}`);
    await page.evaluate((a) => (window as unknown as { pagelens: { page: { addressMap: { zoomAddress(a: number, n: number): void } } } }).pagelens.page.addressMap.zoomAddress(a, 16), privateAddr);
    await page.waitForFunction(() => Number(document.getElementById("addrmap")?.dataset["pageCells"]) > 0, undefined, { timeout: 5000 });
    assert.equal(await am("data-view-pages"), 16);
    const cells = await am("data-page-cells");
    assert.ok(cells >= 16 && cells <= 17, `page cells drawn: ${cells}`);
    await shot(page, "address-map-pages.png");

    // The hostile process: its name is text, escaped where it holds controls, and ran nothing.
    await page.fill("#ps-filter", String(hostile.pid));
    const shown = await page.textContent(`#ps-table tr[data-pid='${hostile.pid}'] td[data-key='command']`);
    assert.ok(shown?.startsWith("<script>window.__pwned=1</script>"), `shown: ${JSON.stringify(shown)}`);
    assert.ok(shown?.includes(safeText("\x1b[2J\u202e\nx")), `shown: ${JSON.stringify(shown)}`);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.equal(await page.$$eval("img", (imgs) => imgs.length), 0);
    assert.equal(await page.$$eval("script", (s) => s.length), 2, "only the data and the page script");
    assert.deepEqual(errors, []);
    await page.close();
  });

  it("pagelens serve: / shows the same page, live, from the server's shared scans", async () => {
    let srv: { child: Child; url: string } | undefined;
    try {
      srv = await startServeCli([], ["--interval", "2", "--page-refresh", "1", "--address-maps", "60"]);
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors = watch(page);
      const t0 = Date.now();
      await page.goto(`${srv.url}/`);
      await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
      const cell = Number(await page.getAttribute(`#ps-table tr[data-pid='${child}'] td[data-key='pss']`, "data-value"));
      assert.ok(Math.abs(cell - rollupPss) <= 64 * 1024, `live table PSS ${cell} vs smaps_rollup ${rollupPss}`);
      assert.ok(Math.abs((await treemapValue(page, child))! - rollupPss) <= 64 * 1024);
      await page.selectOption("#am-select", String(child));
      assert.ok(Number(await page.getAttribute("#addrmap", "data-private-bytes")) >= 64 * MiB);
      // It asks every second, redraws for each new scan, and the requests share scans: at most one per --interval.
      await page.waitForFunction(() => Number(document.body.dataset["fetches"]) >= 6 && Number(document.body.dataset["updates"]) >= 3, undefined, { timeout: 30_000 });
      const fetches = Number(await page.getAttribute("body", "data-fetches"));
      const updates = Number(await page.getAttribute("body", "data-updates"));
      assert.ok(updates < fetches, `${updates} redraws for ${fetches} fetches: a fetch of the same scan must not redraw`);
      const elapsed = (Date.now() - t0) / 1000;
      const scans = sampleValue((await get(`${srv.url}/metrics`)).body, "pagelens_scans_total")!;
      assert.ok(scans <= elapsed / 2 + 2, `${scans} scans in ${elapsed.toFixed(1)} s`);
      // The selected process stays selected across refreshes.
      assert.equal(Number(await page.getAttribute("#addrmap", "data-pid")), child);
      assert.match((await page.textContent("#status"))!, /^Live: refreshed/);
      await shot(page, "serve.png");
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      await srv?.child.stop();
    }
  });
});
