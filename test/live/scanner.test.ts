/**
 * Live: a Scanner scanning the same processes again and again (what `top`
 * and `serve` will do) keeps its memory flat: the process's RSS after scan
 * 30 is within 5% of its RSS after scan 5 (garbage collected before each
 * reading, so what is measured is what is kept), and the kpage WebAssembly
 * memory does not grow after the first scan. The processes are the ones
 * running when the test starts plus a workload scenario, frozen: an
 * unchanged machine as far as the scans can see (processes that exit drop
 * out, and none are added).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ProcFs } from "../../src/procfs/procfs.js";
import { Scanner } from "../../src/scan/scanner.js";
import { liveSkipReason, startScenario, vmaUsage } from "../support/scenario.js";

const skip = liveSkipReason();

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function rssAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().rss;
}

test("Scanner: 30 scans leave RSS flat (scan 30 within 5% of scan 5) and give the same numbers each time", { skip }, async (t) => {
  const s = await startScenario("workload", [4, 16, 64]);
  t.after(() => s.stop());
  s.freeze();
  const procfs = new ProcFs();
  const pids = [...new Set([...procfs.listPids(), ...s.allPids])];
  const scanner = new Scanner(procfs);
  let rss5 = 0;
  let wasm1 = 0;
  let first: unknown[] | undefined;
  const rss: number[] = [];
  for (let i = 1; i <= 30; i++) {
    const scan = await scanner.scan({ pids });
    // The scenario's own regions: their numbers depend on no other process (library pages' PSS does).
    const child = s.children[0]!;
    const usage = [vmaUsage(scan, child, s.addr(`private.${child}`)), vmaUsage(scan, child, s.addr("shared"))];
    if (!first) first = usage;
    else assert.deepEqual(usage, first, `scan ${i}: a frozen process's numbers are unchanged`);
    if (i === 1) wasm1 = scanner.kpageBytes;
    if (i % 5 === 0) rss.push(rssAfterGc());
    if (i === 5) rss5 = rss[rss.length - 1]!;
  }
  const rss30 = rss[rss.length - 1]!;
  t.diagnostic(`RSS after scans 5, 10, ..., 30 (MiB): ${rss.map((r) => (r / 2 ** 20).toFixed(1)).join(", ")}`);
  assert.ok(rss30 <= rss5 * 1.05, `RSS grew from ${(rss5 / 2 ** 20).toFixed(1)} MiB (scan 5) to ${(rss30 / 2 ** 20).toFixed(1)} MiB (scan 30)`);
  assert.ok(scanner.kpageBytes <= wasm1 * 1.25 + 2 ** 20, `kpage memory ${wasm1} -> ${scanner.kpageBytes} bytes`);
});
