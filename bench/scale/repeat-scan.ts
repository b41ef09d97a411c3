/**
 * Child process of the scale suite's `repeat` case: scan the machine N times
 * in this one process through the library API and print, after every scan,
 * one JSON line `{"scan": i, "ms": wall ms, "rssKiB": VmRSS, ...}`, with what
 * makes up the RSS: V8's young and old generations (resident KiB:
 * `newSpaceKiB`, `oldSpaceKiB`), memory outside V8's heap (`externalKiB`:
 * typed arrays' backing stores, the WebAssembly memories) and the malloc
 * heap's resident part (`brkKiB`, the [heap] mapping). Nothing here forces a
 * garbage collection beyond what the scanner's options do (its collection is
 * inside `scan()` and in `ms`): the numbers are what a caller would see.
 *
 * Run by the bench as `node dist/bench/scale/repeat-scan.js N [HOLD [collect]]`;
 * a process of its own, so that its RSS is the scans' and nothing of the
 * bench's. HOLD is the Scanner's holdYoungGenerationAfter and `collect` sets
 * its collectBeforeScan (the bench passes 5 and collect, as `pagelens serve`
 * scans); without them V8 sizes its heap as it likes.
 */
import * as fs from "node:fs";
import * as v8 from "node:v8";
import { buildPsReport, ProcFs, Scanner } from "../../src/index.js";

/**
 * One scan as the CLI's `pagelens ps` does it (scan + report), through the
 * library's Scanner, which keeps its buffers, WebAssembly instances and
 * indexes from one scan to the next: what a long-running caller would use.
 */
async function scanOnce(scanner: Scanner): Promise<number> {
  const scan = await scanner.scan({ pageFlags: "accounting" });
  return buildPsReport(scan, { sort: "pss", reverse: false, all: false }).processes.length;
}

function vmRssKiB(): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1] ?? NaN);
}

/** Rss of the [heap] mapping (malloc's main arena), KiB. */
function brkKiB(): number {
  const smaps = fs.readFileSync("/proc/self/smaps", "utf8");
  const at = smaps.search(/ \[heap\]\n/);
  return at < 0 ? 0 : Number(/^Rss:\s+(\d+) kB/m.exec(smaps.slice(at))?.[1] ?? 0);
}

function spaceKiB(name: string): number {
  return Math.round((v8.getHeapSpaceStatistics().find((s) => s.space_name === name)?.physical_space_size ?? 0) / 1024);
}

const n = Number(process.argv[2] ?? "100");
const hold = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const collect = process.argv[4];
if (!Number.isInteger(n) || n < 1 || (hold !== undefined && !(Number.isInteger(hold) && hold >= 0)) || (collect !== undefined && collect !== "collect")) {
  process.stderr.write("usage: repeat-scan.js SCANS [HOLD_YOUNG_GENERATION_AFTER [collect]]\n");
  process.exit(2);
}
const scanner = new Scanner(new ProcFs({ root: "/proc" }), { holdYoungGenerationAfter: hold, collectBeforeScan: collect === "collect" });
for (let i = 1; i <= n; i++) {
  const t0 = performance.now();
  const processes = await scanOnce(scanner);
  const ms = performance.now() - t0;
  const rssKiB = vmRssKiB();
  const parts = { newSpaceKiB: spaceKiB("new_space"), oldSpaceKiB: spaceKiB("old_space"), externalKiB: Math.round(process.memoryUsage().external / 1024), brkKiB: brkKiB() };
  process.stdout.write(JSON.stringify({ scan: i, ms: Math.round(ms * 10) / 10, rssKiB, processes, ...parts }) + "\n");
}
