/**
 * Child process of the scale suite's accuracy line (compare.ts
 * rollupAccuracy): reads the smaps_rollup of the given pids, scans them
 * through the library as `pagelens ps --pid` does, and reads their
 * smaps_rollup again, all in this one process, then prints one JSON document
 * `{ pageSize, rows: [{ pid, before, after, row }] }` (rollups in kB, rows in
 * bytes; the page size counts the row's shared pages for accounting/kernel-pss.ts).
 *
 * Why in one process: pagelens itself maps shared libraries (libc, libm,
 * libstdc++, ld.so), so while it runs every page of those that another
 * process maps has one more mapper, and that process's Pss is lower than
 * when pagelens is not running. A rollup read by another process before and
 * after a `pagelens` run misses that mapper (Chromium's processes came out
 * 2-30 kB low, PostgreSQL's up to 172 kB, every time). Read here, the
 * kernel's rollup and pagelens's scan see the same mappers: this process.
 *
 * Run as `node dist/bench/scale/rollup-check.js PID,PID,...`.
 */
import { buildPsReport, ProcFs, scanSystem } from "../../src/index.js";
import { readRollup, type Rollup } from "./compare.js";

const pids = (process.argv[2] ?? "").split(",").filter((s) => s !== "").map(Number);
if (pids.length === 0 || pids.some((p) => !Number.isInteger(p) || p <= 0)) {
  process.stderr.write("usage: rollup-check.js PID[,PID...]\n");
  process.exit(2);
}
const before = new Map<number, Rollup | undefined>(pids.map((p) => [p, readRollup(p)]));
const scan = await scanSystem(new ProcFs({ root: "/proc" }), { pids: pids.filter((p) => before.get(p) !== undefined), pageFlags: "accounting" });
const after = new Map<number, Rollup | undefined>(pids.map((p) => [p, readRollup(p)]));
const rows = new Map(buildPsReport(scan, {}).processes.map((r) => [r.pid, r]));
process.stdout.write(
  JSON.stringify({
    pageSize: scan.kernel.pageSize,
    rows: pids.map((pid) => {
      const r = rows.get(pid);
      return { pid, before: before.get(pid) ?? null, after: after.get(pid) ?? null, row: r ? { source: r.source, rss: r.rss, pss: r.pss, swap: r.swap, uss: r.uss } : null };
    }),
  }) + "\n",
);
