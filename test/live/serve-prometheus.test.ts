/**
 * Live: a real Prometheus server (Debian's prometheus package) scrapes a
 * real `pagelens serve` on this machine, every second, over loopback.
 *
 *  - a program of ours (test/support/c/alloc.c) holds N MiB of fresh private
 *    anonymous memory: the PSS Prometheus has stored for its pid is N MiB
 *    plus the little its binary and libc add (< 2 MiB);
 *  - the exposition passes `promtool check metrics`;
 *  - every PromQL expression of dashboards/pagelens.json returns data from
 *    that Prometheus (template variables: every instance, a 1m rate window).
 *
 * The test installs nothing: .ci/run installs prometheus; without
 * /usr/bin/prometheus the test skips and says so. Every process it starts is
 * stopped by pid in t.after, and the temp directories are removed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { liveSkipReason, makeTempDir, MiB, REPO_ROOT, removeTempDir } from "../support/scenario.js";
import { freePort, get, startChild, startServeCli, type Child } from "../support/serve.js";

const PROMETHEUS = "/usr/bin/prometheus";
const PROMTOOL = "/usr/bin/promtool";
const skip = liveSkipReason() ?? (fs.existsSync(PROMETHEUS) && fs.existsSync(PROMTOOL) ? undefined : `no ${PROMETHEUS} / ${PROMTOOL} (Debian package prometheus; .ci/run installs it)`);

const N_MIB = 256;

interface Vector {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function query(base: string, expr: string): Promise<Vector[]> {
  const r = await get(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`, 30_000);
  const doc = JSON.parse(r.body) as { status: string; error?: string; data?: { resultType: string; result: Vector[] | [number, string] } };
  assert.equal(doc.status, "success", `${expr}: ${doc.error ?? r.body}`);
  const res = doc.data!.result;
  if (doc.data!.resultType === "scalar") return [{ metric: {}, value: res as [number, string] }];
  return res as Vector[];
}

/** Query until the result is not empty (Prometheus needs a scrape or two first). */
async function queryUntil(base: string, expr: string, ms: number): Promise<Vector[]> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await query(base, expr);
    if (v.length > 0 || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
}

function dashboardExprs(): string[] {
  const d = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "dashboards", "pagelens.json"), "utf8")) as { panels: { targets?: { expr: string }[] }[] };
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

async function stopAll(children: Child[]): Promise<void> {
  for (const c of children.reverse()) await c.stop();
}

test("Prometheus scrapes serve: a known process's PSS, promtool, and every dashboard query", { skip, timeout: 600_000 }, async (t) => {
  const dir = makeTempDir("pagelens-prometheus-");
  const children: Child[] = [];
  t.after(async () => {
    await stopAll(children);
    removeTempDir(dir);
  });

  const alloc = path.join(dir, "alloc");
  const cc = spawnSync("cc", ["-O2", "-o", alloc, path.join(REPO_ROOT, "test", "support", "c", "alloc.c")], { encoding: "utf8" });
  assert.equal(cc.status, 0, cc.stderr);
  const holder = startChild(alloc, [String(N_MIB)]);
  children.push(holder);
  await holder.waitFor(/READY/, 60_000);

  // One scan serves the whole test: Prometheus's scrapes every second share it.
  const serve = await startServeCli([], ["--interval", "600", "--scan-timeout", "300"]);
  children.push(serve.child);
  const ps = JSON.parse((await get(`${serve.url}/api/ps`)).body) as { processes: { pid: number; pss: number }[] };
  const mine = ps.processes.find((p) => p.pid === holder.pid);
  assert.ok(mine, `alloc (pid ${holder.pid}) is in serve's ps`);

  const exposition = (await get(`${serve.url}/metrics`)).body;
  const check = spawnSync(PROMTOOL, ["check", "metrics"], { input: exposition, encoding: "utf8" });
  assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);

  const port = await freePort();
  const target = new URL(serve.url).host;
  fs.writeFileSync(
    path.join(dir, "prometheus.yml"),
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: pagelens\n    static_configs:\n      - targets: ['${target}']\n`,
  );
  const prom = startChild(PROMETHEUS, [
    `--config.file=${path.join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${path.join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ]);
  children.push(prom);
  const base = `http://127.0.0.1:${port}`;
  const readyBy = Date.now() + 60_000;
  for (;;) {
    const ok = await get(`${base}/-/ready`, 2000).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    assert.ok(!prom.hasExited && Date.now() < readyBy, `prometheus did not become ready: ${prom.err.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }

  const up = await queryUntil(base, `up{job="pagelens"} == 1`, 30_000);
  assert.equal(up.length, 1, "Prometheus scrapes pagelens successfully");
  const v = await queryUntil(base, `pagelens_process_pss_bytes{pid="${holder.pid}"}`, 30_000);
  assert.equal(v.length, 1, `one PSS series for pid ${holder.pid}`);
  const pss = Number(v[0]!.value[1]);
  assert.equal(pss, mine.pss, "Prometheus stored serve's figure");
  assert.ok(pss >= N_MIB * MiB && pss < (N_MIB + 2) * MiB, `PSS of alloc ${N_MIB}: ${(pss / MiB).toFixed(2)} MiB`);
  assert.match(v[0]!.metric["command"] ?? "", /alloc 256$/);
  assert.equal(v[0]!.metric["user"], "root");
  t.diagnostic(`alloc ${N_MIB} MiB: PSS in Prometheus ${(pss / MiB).toFixed(3)} MiB`);

  // rate() needs two samples in its window: a few scrapes.
  await new Promise((r) => setTimeout(r, 4000));
  const failures: string[] = [];
  for (const raw of dashboardExprs()) {
    const expr = raw.replaceAll("$instance", ".+").replaceAll("$__rate_interval", "1m");
    const res = await queryUntil(base, expr, 10_000);
    if (res.length === 0) failures.push(expr);
  }
  assert.deepEqual(failures, [], "every dashboard query returns data");
  const scans = await query(base, "pagelens_scans_total");
  t.diagnostic(`dashboard: ${dashboardExprs().length} queries answered; serve scanned ${scans[0]?.value[1]} time(s) for all the scrapes`);
  assert.equal(scans[0]?.value[1], "1", "every scrape was served from the one scan");
});
