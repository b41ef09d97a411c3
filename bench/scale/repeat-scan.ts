/**
 * Child process of the scale suite's `repeat` case: scan the machine N times
 * in this one process through the library API and print, after every scan,
 * one JSON line `{"scan": i, "ms": wall ms, "rssKiB": VmRSS}`.
 *
 * Run by the bench as `node dist/bench/scale/repeat-scan.js N`; a process of
 * its own, so that its RSS is the scans' and nothing of the bench's.
 */
import * as fs from "node:fs";
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

const n = Number(process.argv[2] ?? "100");
if (!Number.isInteger(n) || n < 1) {
  process.stderr.write("usage: repeat-scan.js SCANS\n");
  process.exit(2);
}
const scanner = new Scanner(new ProcFs({ root: "/proc" }));
for (let i = 1; i <= n; i++) {
  const t0 = performance.now();
  const processes = await scanOnce(scanner);
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ scan: i, ms: Math.round(ms * 10) / 10, rssKiB: vmRssKiB(), processes }) + "\n");
}
