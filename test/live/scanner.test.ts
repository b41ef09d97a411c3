/**
 * Live: a Scanner scanning the same processes again and again (what `top`
 * and `serve` will do) keeps its memory flat: the process's RSS after scan
 * 30 is within 5% of its RSS after scan 5 (garbage collected before each
 * reading, so what is measured is what is kept; V8's one-time enlargement of
 * its young generation allowed for, see rssAfterGc), and the kpage WebAssembly
 * memory does not grow after the first scan. The processes are the ones
 * running when the test starts plus a workload scenario, frozen: an
 * unchanged machine as far as the scans can see (processes that exit drop
 * out, and none are added).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ProcFs } from "../../src/procfs/procfs.js";
import { Scanner } from "../../src/scan/scanner.js";
import { liveSkipReason, startScenario, vmaUsage } from "../support/scenario.js";

const skip = liveSkipReason();

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/**
 * RSS after full garbage collections, and the young generation's resident
 * size then. V8 doubles the young generation (its semi-spaces) once enough
 * objects have survived scavenges since it last grew, up to a fixed maximum
 * (--max-semi-space-size, 16 MiB a semi-space on 64-bit Node 20): a one-time
 * step whose timing depends on how much a scan allocates, not on what the
 * scanner keeps. Measured (30 scans of this machine): a scanner allocating
 * ~6 MB a scan reached 2 x 16 MiB at scan 30, one allocating more (every
 * kpage read through a promise) by scan 5; RSS less that step was flat in both
 * (85.9 -> 107.1 MiB from scan 5 to 30, of which the young generation's
 * resident part 10.8 -> 30.5 MiB).
 */
function rssAfterGc(): { rss: number; young: number } {
  gc();
  gc();
  // Its resident part (physical_space_size): the doubled semi-spaces are committed at once but touched as allocation reaches them.
  const young = getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.physical_space_size ?? 0;
  return { rss: process.memoryUsage().rss, young };
}

test("Scanner: 30 scans leave RSS flat (scan 30 within 5% of scan 5) and give the same numbers each time", { skip }, async (t) => {
  const s = await startScenario("workload", [4, 16, 64]);
  t.after(() => s.stop());
  s.freeze();
  const procfs = new ProcFs();
  const pids = [...new Set([...procfs.listPids(), ...s.allPids])];
  const scanner = new Scanner(procfs);
  let at5 = { rss: 0, young: 0 };
  let wasm1 = 0;
  let first: unknown[] | undefined;
  const rss: { rss: number; young: number }[] = [];
  for (let i = 1; i <= 30; i++) {
    const scan = await scanner.scan({ pids });
    // The scenario's own regions: their numbers depend on no other process (library pages' PSS does).
    const child = s.children[0]!;
    const usage = [vmaUsage(scan, child, s.addr(`private.${child}`)), vmaUsage(scan, child, s.addr("shared"))];
    if (!first) first = usage;
    else assert.deepEqual(usage, first, `scan ${i}: a frozen process's numbers are unchanged`);
    if (i === 1) wasm1 = scanner.kpageBytes;
    if (i % 5 === 0) rss.push(rssAfterGc());
    if (i === 5) at5 = rss[rss.length - 1]!;
  }
  const at30 = rss[rss.length - 1]!;
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
  t.diagnostic(`RSS after scans 5, 10, ..., 30 (MiB): ${rss.map((r) => mib(r.rss)).join(", ")}; V8's young generation then: ${rss.map((r) => mib(r.young)).join(", ")}`);
  // Whatever V8 added to its young generation meanwhile (see rssAfterGc) is allowed for, exactly; nothing else may grow.
  const grown = Math.max(0, at30.young - at5.young);
  assert.ok(
    at30.rss <= at5.rss * 1.05 + grown,
    `RSS grew from ${mib(at5.rss)} MiB (scan 5) to ${mib(at30.rss)} MiB (scan 30), more than 5% and V8's young generation growth (${mib(grown)} MiB)`,
  );
  assert.ok(scanner.kpageBytes <= wasm1 * 1.25 + 2 ** 20, `kpage memory ${wasm1} -> ${scanner.kpageBytes} bytes`);
});
