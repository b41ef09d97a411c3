/**
 * Live: swap entries in the page tables.
 *
 * The machine has no swap, so this test makes a 256 MiB swap file in
 * /var/tmp (fallocate, or dd if that fails; chmod 600; mkswap; swapon), runs
 * memscenario `pageout N` (N written pages, then MADV_PAGEOUT), and checks
 * that pagelens counts exactly N swapped pages for that VMA, that no page of
 * it is counted resident, and that the process's swap agrees with
 * smaps_rollup; then the same after a fork, where each slot is shared by two
 * PTEs and swapPss halves. The swap file is always turned off and deleted afterwards —
 * in t.after, and again at process exit should that fail. If swapon is
 * refused the test skips and says why.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { sumRows } from "../../src/accounting/usage.js";
import { ProcFs } from "../../src/procfs/procfs.js";
import { scanSystem } from "../../src/scan/system-scan.js";
import { makeSwap } from "../support/swap.js";
import { liveSkipReason, PAGE, processIn, readRollupKb, readSmapsVmaKb, runCli, startScenario, vmaUsage, type Scenario } from "../support/scenario.js";

const skip = liveSkipReason();
const procfs = new ProcFs();

test("swap: MADV_PAGEOUT of N written pages gives exactly N swap entries in that VMA", { skip }, async (t) => {
  const swap = makeSwap();
  if ("skip" in swap) {
    t.skip(swap.skip);
    return;
  }
  // Stop the scenarios before the swap file goes (swapoff would have to read their pages back in).
  const started: Scenario[] = [];
  t.after(async () => {
    try {
      for (const sc of started) await sc.stop();
    } finally {
      swap.cleanup();
    }
  });
  const start = async (args: readonly (string | number)[]): Promise<Scenario> => {
    const sc = await startScenario("pageout", args);
    started.push(sc);
    return sc;
  };

  const N = 1000;
  const s = await start([N]);
  s.freeze();
  const addr = s.addr("addr");
  // Scenario checks: the program saw its own pagemap swap bits, and the kernel's smaps agrees.
  assert.equal(s.num("swapped"), N, `MADV_PAGEOUT left ${N - s.num("swapped")} of ${N} pages in memory`);
  const k = readSmapsVmaKb(s.pid, addr);
  assert.equal(k?.["Swap"], (N * PAGE) / 1024, "scenario check: smaps Swap of the VMA");

  for (const opts of [{}, { exact: true }]) {
    const label = JSON.stringify(opts);
    const scan = await scanSystem(procfs, { pids: [s.pid], ...opts });
    assert.ok(scan.kernel.swapAreas.length >= 1, `${label}: the scan sees the swap area`);
    const u = vmaUsage(scan, s.pid, addr);
    assert.equal(u.vmaEnd, addr + N * PAGE, `${label}: VMA end`);
    assert.equal(u.swap, N * PAGE, `${label}: swap of the VMA (pages: ${u.swap / PAGE})`);
    assert.equal(u.swapPss, N * PAGE, `${label}: every slot is referenced once, so swapPss = swap`);
    assert.equal(u.rss, 0, `${label}: nothing of the VMA is resident`);
    assert.equal(u.migration, 0, `${label}: swap entries are not migration entries`);
    const total = sumRows(processIn(scan, s.pid).usage);
    const rollup = readRollupKb(s.pid);
    assert.equal(total.swap, (rollup?.["Swap"] ?? NaN) * 1024, `${label}: process swap vs smaps_rollup Swap`);
    assert.equal(total.rss, (rollup?.["Rss"] ?? NaN) * 1024, `${label}: process rss vs smaps_rollup Rss`);
  }

  // A forked child inherits the swap entries: two PTEs per slot, so each side's swapPss is half.
  const f = await start([N, "fork"]);
  f.freeze();
  const faddr = f.addr("addr");
  assert.equal(f.num("swapped"), N, `MADV_PAGEOUT left ${N - f.num("swapped")} of ${N} pages in memory`);
  const scan = await scanSystem(procfs, { pids: f.allPids });
  for (const pid of f.allPids) {
    const u = vmaUsage(scan, pid, faddr);
    assert.equal(u.swap, N * PAGE, `pageout fork pid ${pid}: swap of the VMA`);
    assert.equal(u.swapPss, (N * PAGE) / 2, `pageout fork pid ${pid}: swapPss of the VMA (slots shared by two PTEs)`);
    assert.equal(readSmapsVmaKb(pid, faddr)?.["SwapPss"], (N * PAGE) / 2 / 1024, `scenario check: pid ${pid} smaps SwapPss`);
  }

  // Four page tables per slot (a parent and 3 children), seen from one process at a time: the
  // single-process views must divide by the slot's reference count (4), not by the one entry they
  // scanned. The kernel's smaps_rollup is the reference.
  const q = await start([N, "fork", 3]);
  q.freeze();
  const qaddr = q.addr("addr");
  assert.equal(q.num("swapped"), N, `MADV_PAGEOUT left ${N - q.num("swapped")} of ${N} pages in memory`);
  assert.equal(q.allPids.length, 4);
  const quarter = (N * PAGE) / 4;
  for (const pid of q.allPids) {
    const rollup = readRollupKb(pid);
    assert.equal(readSmapsVmaKb(pid, qaddr)?.["SwapPss"], quarter / 1024, `scenario check: pid ${pid} smaps SwapPss is a quarter`);
    // Library: a scan of this process alone, and one of all four.
    for (const pids of [[pid], q.allPids]) {
      const u = vmaUsage(await scanSystem(procfs, { pids }), pid, qaddr);
      assert.equal(u.swap, N * PAGE, `pid ${pid}, scan of ${pids.length}: swap of the VMA`);
      assert.equal(u.swapPss, quarter, `pid ${pid}, scan of ${pids.length}: swapPss of the VMA is a quarter of its swap`);
    }
    // CLI: maps PID and ps --pid PID, against smaps_rollup's SwapPss for the whole process.
    const maps = runCli(["maps", String(pid), "--json"]);
    assert.equal(maps.code, 0, maps.stderr);
    const m = JSON.parse(maps.stdout) as { mappings: { start: string; swapPss: number }[]; totals: { swapPss: number } };
    assert.equal(m.mappings.find((x) => parseInt(x.start, 16) === qaddr)?.swapPss, quarter, `maps ${pid}: SwapPss of the VMA`);
    assert.equal(Math.floor(m.totals.swapPss / 1024), rollup?.["SwapPss"], `maps ${pid}: total SwapPss vs smaps_rollup`);
    const ps = runCli(["ps", "--pid", String(pid), "--json"]);
    assert.equal(ps.code, 0, ps.stderr);
    const row = (JSON.parse(ps.stdout) as { processes: { pid: number; swapPss: number }[] }).processes[0]!;
    assert.equal(Math.floor(row.swapPss / 1024), rollup?.["SwapPss"], `ps --pid ${pid}: SwapPss vs smaps_rollup`);
  }
});
