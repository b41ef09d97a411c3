/**
 * Live: reading pagemap only where PAGEMAP_SCAN says something is there
 * (src/scan/pagemap-pass.ts, src/native/pagemap-scan.ts) gives bit-identical
 * results to reading every mapped page's entry.
 *
 * The memscenario `sparse` process is built to break it: a 64 GiB
 * reservation holding pages at its very first and last page, on both sides
 * of 2 MiB and 1 GiB boundaries, 6000 pages two apart (more regions than one
 * call returns, so the walk resumes from walk_end; and again with a vector
 * of 2 regions), a PMD-mapped THP, zero pages, guard markers, an 8 GiB
 * PROT_NONE cage with pages still present, and (with a swap file) swapped
 * pages. The run store, the swap store and every usage row must be equal
 * with the ioctl off, always and auto, and the numbers must be the ones the
 * program built.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProcFs } from "../../src/procfs/procfs.js";
import { addUsage, NF, usageRow, zeroUsage, type MemUsage } from "../../src/accounting/usage.js";
import { EntryStore, SwapStore } from "../../src/scan/entry-store.js";
import { newPassStats, runPagemapPass, type PagemapParams, type PagemapScanMode, type PagemapTarget } from "../../src/scan/pagemap-pass.js";
import { probeKernel } from "../../src/kernel/features.js";
import { parseMaps } from "../../src/parse/maps.js";
import { scanSystem, type Scan, type ScannedProcess } from "../../src/scan/system-scan.js";
import { PagemapBuffer, readPagemap } from "../../src/scan/read-pagemap.js";
import { collectEntries, type PageEntries } from "../../src/report/pages-report.js";
import { PagemapRuns } from "../../src/report/address-map.js";
import { makeSwap } from "../support/swap.js";
import { liveSkipReason, PAGE, processIn, startScenario, vmaUsage, type Scenario } from "../support/scenario.js";

const skip = liveSkipReason();
const procfs = new ProcFs();

/** Everything a pass produced, as plain arrays. */
/** Usage summed over the mappings inside [start, end) (madvise and mlock split a reservation into several). */
function rangeUsage(p: ScannedProcess, start: number, end: number): MemUsage {
  const rows: number[] = [];
  p.vmas.forEach((v, i) => {
    if (v.start >= start && v.end <= end) rows.push(i);
  });
  assert.ok(rows.length > 0, "mappings in the range");
  const sum = zeroUsage();
  for (const i of rows) addUsage(sum, usageRow(p.usage, i));
  return sum;
}

async function pass(target: PagemapTarget, mode: PagemapScanMode, capacity?: number) {
  const kernel = probeKernel(procfs);
  const params: PagemapParams = { pageSize: kernel.pageSize, maxSwapfiles: kernel.maxSwapfiles, trustExclusive: true, pagemapScan: mode, scanCapacity: capacity };
  const store = new EntryStore();
  const swaps = new SwapStore();
  const stats = newPassStats();
  const [o] = (await runPagemapPass(procfs, [target], params, store, swaps, undefined, stats)).outcomes;
  assert.equal(o?.status, "ok", `${mode}: pass status ${o?.status} ${o?.reason ?? ""}`);
  const runs: number[] = [];
  store.forEachChunk(0, store.length, (c, from, to) => {
    for (let i = from; i < to; i++) runs.push(c.pfn[i]!, c.len[i]!, c.vma[i]!, c.bits[i]!);
  });
  return { usage: Array.from(o!.usage), runs, swaps: [...swaps.slots], swapVmas: [...swaps.vmas], stats };
}

test("PAGEMAP_SCAN: reads narrowed to what is there give bit-identical stores and numbers", { skip }, async (t) => {
  const swap = makeSwap();
  const started: Scenario[] = [];
  t.after(async () => {
    try {
      for (const sc of started) await sc.stop();
    } finally {
      if (!("skip" in swap)) swap.cleanup();
    }
  });
  const s = await startScenario("sparse", [64]);
  started.push(s);
  s.freeze();
  const addr = s.addr("addr");
  const bytes = s.num("bytes");
  const vmas = parseMaps(procfs.readText(`${s.pid}/maps`), `${s.pid}/maps`);
  const target: PagemapTarget = { pid: s.pid, vmas, residentPages: 0 };

  const off = await pass(target, "off");
  assert.ok(off.runs.length > 0 && off.stats.scanCalls === 0, "off: no ioctl, something stored");
  for (const [mode, capacity] of [["always", undefined], ["always", 2], ["auto", undefined]] as const) {
    const label = `${mode}${capacity ? `, ${capacity} regions a call` : ""}`;
    const got = await pass(target, mode, capacity);
    if (got.stats.scanUnavailable) {
      t.diagnostic(`PAGEMAP_SCAN unavailable: ${got.stats.scanUnavailable}`);
      return;
    }
    assert.ok(got.stats.scanCalls > 0, `${label}: the ioctl was used`);
    if (capacity) assert.ok(got.stats.scanCalls > 1000, `${label}: resumed from walk_end (${got.stats.scanCalls} calls)`);
    else assert.ok(got.stats.scanCalls >= 2, `${label}: more regions than one call holds (${got.stats.scanCalls} calls)`);
    assert.ok(got.stats.entriesRead * 50 < off.stats.entriesRead, `${label}: read ${got.stats.entriesRead} of ${off.stats.entriesRead} entries`);
    assert.deepEqual(got.runs, off.runs, `${label}: run store`);
    assert.deepEqual(got.swaps, off.swaps, `${label}: swap slots`);
    assert.deepEqual(got.swapVmas, off.swapVmas, `${label}: swap VMAs`);
    assert.deepEqual(got.usage, off.usage, `${label}: usage rows`);
  }

  // The single-process reader (pages, the HTML report's address maps): holes left out give the same
  // entries and the same runs as reading every mapped page's entry, for far fewer reads.
  // Only the process's own anonymous mappings: a library page's exclusive bit moves whenever another
  // process maps or unmaps it between the two reads.
  const kernel = probeKernel(procfs);
  const ownVmas = vmas.filter((v) => v.name === "" && !v.mayShare);
  const readAll = (skipHoles: boolean) => {
    const entries: PageEntries = { vpn: [], lo: [], hi: [], vma: [] };
    const runs = new PagemapRuns(kernel.maxSwapfiles);
    let read = 0;
    readPagemap(procfs, s.pid, ownVmas, kernel.pageSize, new PagemapBuffer(), (u32, count, vpn, v) => {
      read += count;
      collectEntries(entries, u32, count, vpn, v);
      runs.add(u32, count, vpn);
    }, { skipHoles });
    return { entries, runs: [runs.vpn, runs.len, runs.pfn, runs.bits], read };
  };
  const whole = readAll(false);
  const narrowed = readAll(true);
  assert.ok(narrowed.read * 50 < whole.read, `readPagemap skipping holes read ${narrowed.read} of ${whole.read} entries`);
  assert.ok(whole.entries.vpn.length > 6000, "the scenario's entries were read");
  assert.deepEqual(narrowed.entries, whole.entries, "readPagemap: the same entries with holes left out");
  assert.deepEqual(narrowed.runs, whole.runs, "readPagemap: the same address-map runs with holes left out");

  // The whole scan, with its lookups and accounting: equal, and the numbers the program built.
  const scans: Scan[] = [];
  for (const pagemapScan of ["off", "auto", "always"] as const) scans.push(await scanSystem(procfs, { pids: [s.pid], pagemapScan }));
  scans.push(await scanSystem(procfs, { pids: [s.pid], exact: true }));
  // The scenario's own mappings (private: their numbers depend on no other process; a library page's
  // PSS moves whenever another process maps or unmaps it between two scans).
  const own = (sc: Scan): number[][] => {
    const p = processIn(sc, s.pid);
    const rows: number[][] = [];
    p.vmas.forEach((v, i) => {
      if (v.name === "" && !v.mayShare) rows.push(Array.from(p.usage.subarray(i * NF, (i + 1) * NF)));
    });
    return rows;
  };
  const rows = scans.map(own);
  for (let k = 1; k < rows.length; k++) assert.deepEqual(rows[k], rows[0], `scan ${k}: usage rows of the process's anonymous mappings equal to the scan without the ioctl`);
  const u = rangeUsage(processIn(scans[1]!, s.pid), addr, addr + bytes);
  assert.equal(u.rss, s.num("pages") * PAGE, `reservation rss (${u.rss / PAGE} pages)`);
  assert.equal(u.uss, u.rss, "all private");
  assert.equal(u.thp, 2 * 1024 * 1024, "one PMD-mapped THP");
  assert.equal(u.zeroPage, 16 * PAGE, "16 zero pages");
  if (s.num("guard_supported") === 1) assert.equal(u.guard, 8 * PAGE, "8 guard markers");
  const none = rangeUsage(processIn(scans[1]!, s.pid), s.addr("none"), s.addr("none") + 8 * 1024 ** 3);
  assert.equal(none.rss, 5 * PAGE, "the PROT_NONE cage keeps its 5 pages");
  const out = vmaUsage(scans[1]!, s.pid, s.addr("out"));
  assert.equal(out.swap + out.rss, 64 * PAGE, "the paged-out mapping: every page resident or swapped");
  if ("skip" in swap) t.diagnostic(`no swap: ${swap.skip}`);
  else assert.ok(out.swap > 0, "some pages swapped");
});
