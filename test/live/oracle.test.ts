/**
 * Live oracle: pagelens's page-by-page numbers against the kernel's own
 * /proc/PID/smaps_rollup, for every process on the machine that pagelens
 * read from pagemap.
 *
 * Kernel rules (reference notes §5.2-5.4): Rss must be equal; Pss within 1 kB
 * (the kernel sums fixed-point values and truncates to kB); USS equals
 * Private_Clean + Private_Dirty; Shared equals Shared_Clean + Shared_Dirty;
 * Anonymous and Swap are equal; Pss_Anon / Pss_File / Pss_Shmem within 1 kB.
 *
 * The scenario processes started here are SIGSTOPped so they cannot change
 * their own mappings. Everything else is live, and even a stopped process's
 * PSS moves as other processes map and unmap the same pages. So a pid that
 * mismatches is judged again, on its own, in a "stable window": smaps_rollup
 * read, the pid scanned, smaps_rollup read again. A window in which the kernel
 * gave the same numbers before and after is one where the process held still,
 * and there pagelens must agree. A pid fails only if it mismatched in stable
 * windows and never matched; a pid that never held still in any window (say,
 * a busy Node process allocating) is reported, not judged.
 *
 * The frozen scenario processes are judged the same way: their own page
 * tables hold still, but DAMON may page their cold memory out, and the map
 * counts of pages they share with the rest of the machine (libc, ld.so, the
 * binary) move as other processes start and exit. So their Rss, Anonymous and
 * Swap are judged in windows where smaps_rollup held still around the scan,
 * and scans of them are compared with one another only for mappings whose
 * kernel numbers (smaps) held still around both scans.
 */
import { pssShareBytes } from "../../src/accounting/kernel-pss.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { pssAgrees } from "../../src/accounting/kernel-pss.js";
import { sumRows, type MemUsage } from "../../src/accounting/usage.js";
import { parseSmaps } from "../../src/parse/smaps.js";
import { ProcFs } from "../../src/procfs/procfs.js";
import { scanSystem, type Scan, type ScannedProcess } from "../../src/scan/system-scan.js";
import { liveSkipReason, PAGE, readRollupKb, sleepSync, startScenario, vmaUsage, type KbFields, type Scenario } from "../support/scenario.js";

const skip = liveSkipReason();
const procfs = new ProcFs();
const RETRIES = 5;

interface Diff {
  readonly field: string;
  /** pagelens, in kB (fractional for PSS). */
  readonly ours: number;
  /** smaps_rollup, in kB. */
  readonly kernel: number;
}

const KERNEL_FIELDS = ["Rss", "Pss", "Private_Clean", "Private_Dirty", "Shared_Clean", "Shared_Dirty", "Anonymous", "Swap", "Pss_Anon", "Pss_File", "Pss_Shmem"];

/** Differences beyond the kernel's rounding between a pagelens total (bytes) and smaps_rollup (kB). */
/** Each pid scanned alone, the processes put together (the pagemap pass then never has two processes in flight). */
async function scanEach(pids: readonly number[]): Promise<Scan> {
  const scans: Scan[] = [];
  for (const pid of pids) scans.push(await scanSystem(procfs, { pids: [pid] }));
  return { ...scans[0]!, processes: scans.flatMap((s) => s.processes) };
}

function compare(u: MemUsage, k: KbFields): Diff[] {
  const g = (name: string): number => k[name] ?? 0;
  const out: Diff[] = [];
  const exact: [string, number, number][] = [
    ["Rss", u.rss / 1024, g("Rss")],
    ["USS=Private_Clean+Private_Dirty", u.uss / 1024, g("Private_Clean") + g("Private_Dirty")],
    ["Shared_Clean+Shared_Dirty", u.shared / 1024, g("Shared_Clean") + g("Shared_Dirty")],
    ["Anonymous", u.anon / 1024, g("Anonymous")],
    ["Swap", u.swap / 1024, g("Swap")],
  ];
  for (const [field, ours, kernel] of exact) if (Math.abs(ours - kernel) > 1e-9) out.push({ field, ours, kernel });
  // The Pss lines: pagelens adds each page's share truncated to 1/4096 byte as the kernel does, so
  // smaps_rollup prints its sum truncated to kB (accounting/kernel-pss.ts).
  const pss: [string, number][] = [
    ["Pss", u.pss],
    ["Pss_Anon", u.pssAnon],
    ["Pss_File", u.pssFile],
    ["Pss_Shmem", u.pssShmem],
  ];
  for (const [field, ours] of pss) if (!pssAgrees(ours, g(field))) out.push({ field, ours: ours / 1024, kernel: g(field) });
  return out;
}

function sameKernelNumbers(a: KbFields, b: KbFields): boolean {
  return KERNEL_FIELDS.every((f) => a[f] === b[f]);
}

/** |pagelens - kernel| in kB for the headline fields. */
function absDiffs(u: MemUsage, k: KbFields): Record<string, number> {
  const g = (name: string): number => k[name] ?? 0;
  return {
    Rss: Math.abs(u.rss / 1024 - g("Rss")),
    Pss: Math.abs(u.pss / 1024 - g("Pss")),
    USS: Math.abs(u.uss / 1024 - (g("Private_Clean") + g("Private_Dirty"))),
    Swap: Math.abs(u.swap / 1024 - g("Swap")),
  };
}

function trackMax(max: Record<string, number>, d: Record<string, number>): void {
  for (const [f, v] of Object.entries(d)) max[f] = Math.max(max[f] ?? 0, v);
}

function describe(p: ScannedProcess, diffs: readonly Diff[]): string {
  return `${p.info.pid} ${p.info.comm}: ` + diffs.map((d) => `${d.field} pagelens ${d.ours.toFixed(3)} kB vs smaps_rollup ${d.kernel} kB`).join("; ");
}

interface Outcome {
  /** Processes judged (matched at some point, or failed). */
  compared: number;
  firstMatched: number;
  retried: number[];
  gone: number[];
  /** Never held still in a comparison window: pid -> last difference seen (reported, not judged). */
  unstable: Map<number, string>;
  /** Differences seen on the first comparison (before any retry). */
  firstDiffs: Map<number, Diff[]>;
  /** Mismatched in stable windows and never matched: pid -> description. */
  failures: Map<number, string>;
  /** Largest |pagelens - kernel| in kB: on the first comparison, and on the comparison each judged pid was judged by. */
  maxFirst: Record<string, number>;
  maxFinal: Record<string, number>;
}

/** Compare every pagemap-sourced process of `scan` with its smaps_rollup, re-judging mismatches in stable windows. */
async function oracle(scan: Scan, exact: boolean): Promise<Outcome> {
  const out: Outcome = {
    compared: 0,
    firstMatched: 0,
    retried: [],
    gone: [],
    unstable: new Map(),
    firstDiffs: new Map(),
    failures: new Map(),
    maxFirst: {},
    maxFinal: {},
  };
  // Read every rollup right after the scan first, so the first comparison is as close to the scan as possible.
  const first = scan.processes.filter((p) => p.source === "pagemap").map((p) => ({ p, k: readRollupKb(p.info.pid) }));
  for (const { p, k } of first) {
    const pid = p.info.pid;
    if (k === undefined) {
      out.gone.push(pid);
      continue;
    }
    const u0 = sumRows(p.usage);
    trackMax(out.maxFirst, absDiffs(u0, k));
    const diffs0 = compare(u0, k);
    if (diffs0.length === 0) {
      out.compared++;
      out.firstMatched++;
      trackMax(out.maxFinal, absDiffs(u0, k));
      continue;
    }
    out.firstDiffs.set(pid, diffs0);
    out.retried.push(pid);
    let matched = false;
    let stableMismatch: string | undefined;
    let stableAbs: Record<string, number> | undefined;
    let last = describe(p, diffs0);
    let gone = false;
    for (let attempt = 0; attempt < RETRIES && !matched; attempt++) {
      if (attempt > 0) sleepSync(20 * attempt);
      const before = readRollupKb(pid);
      const again = await scanSystem(procfs, { pids: [pid], exact });
      const after = readRollupKb(pid);
      const q = again.processes.find((x) => x.info.pid === pid);
      if (!q || q.source !== "pagemap" || before === undefined || after === undefined) {
        gone = true;
        break;
      }
      const u = sumRows(q.usage);
      const diffs = compare(u, after);
      if (diffs.length === 0) {
        matched = true;
        trackMax(out.maxFinal, absDiffs(u, after));
        break;
      }
      last = describe(q, diffs);
      if (sameKernelNumbers(before, after)) {
        stableMismatch = last;
        stableAbs = absDiffs(u, after);
      }
    }
    if (gone && !matched) {
      out.gone.push(pid);
      continue;
    }
    if (matched) out.compared++;
    else if (stableMismatch !== undefined && pid !== process.pid) {
      out.compared++;
      out.failures.set(pid, stableMismatch);
      trackMax(out.maxFinal, stableAbs!);
    } else out.unstable.set(pid, last);
  }
  return out;
}

/** Rss, Anonymous and Swap of a frozen process, in a window where smaps_rollup held still around a scan of it alone. */
async function judgeFrozen(pid: number, exact: boolean): Promise<string | undefined> {
  const FIELDS = ["Rss", "Anonymous", "Swap"];
  for (let attempt = 0; attempt < 10; attempt++) {
    if (attempt > 0) sleepSync(20 * attempt);
    const before = readRollupKb(pid);
    const scan = await scanSystem(procfs, { pids: [pid], exact });
    const after = readRollupKb(pid);
    if (!before || !after || !FIELDS.every((f) => before[f] === after[f])) continue;
    const p = scan.processes.find((x) => x.info.pid === pid);
    if (p?.source !== "pagemap") return `pid ${pid} not read from pagemap (${p?.reason ?? "missing"})`;
    const u = sumRows(p.usage);
    const got = { Rss: u.rss / 1024, Anonymous: u.anon / 1024, Swap: u.swap / 1024 };
    const bad = FIELDS.filter((f) => got[f as keyof typeof got] !== after[f]);
    return bad.length === 0 ? undefined : `pid ${pid}: ${bad.map((f) => `${f} pagelens ${got[f as keyof typeof got]} kB vs smaps_rollup ${after[f]} kB`).join("; ")}`;
  }
  return `pid ${pid}: smaps_rollup never held still around a scan in 10 windows`;
}

/** Per-mapping kernel numbers (smaps, bytes) of a process, by start address. */
function smapsByStart(pid: number): Map<number, string> {
  const out = new Map<number, string>();
  const fields = ["Rss", "Private_Clean", "Private_Dirty", "Shared_Clean", "Shared_Dirty", "Anonymous", "Swap", "AnonHugePages"];
  for (const e of parseSmaps(fs.readFileSync(`/proc/${pid}/smaps`, "utf8"))) out.set(e.vma.start, fields.map((f) => e.fields[f] ?? 0).join(","));
  return out;
}

function summary(o: Outcome): string {
  const max = (m: Record<string, number>): string =>
    Object.entries(m)
      .map(([f, d]) => `${f} ${d.toFixed(3)} kB`)
      .join(", ");
  const unstable = [...o.unstable.entries()].map(([pid, d]) => (pid === process.pid ? `(this test process) ${d}` : d));
  return (
    `${o.compared} processes judged against smaps_rollup; ${o.firstMatched} matched on the first comparison (max |diff| then: ${max(o.maxFirst)}); ` +
    `${o.retried.length} re-judged in stable windows (${o.retried.join(" ")}); max |diff| of the judged comparisons: ${max(o.maxFinal)}; ` +
    `gone meanwhile: ${o.gone.length}; never held still (not judged): ${o.unstable.size}${unstable.length ? ` — ${unstable.join(" | ")}` : ""}`
  );
}

test("oracle: every process read from pagemap agrees with its smaps_rollup (default and exact scans)", { skip }, async (t) => {
  const scenarios: Scenario[] = [];
  t.after(async () => {
    for (const s of scenarios) await s.stop();
  });
  // A variety of known memory, frozen: forked sharing, shmem, COW, zero pages, THP split by a child.
  const start = async (mode: string, args: readonly (string | number)[]): Promise<Scenario> => {
    const s = await startScenario(mode, args);
    scenarios.push(s);
    s.freeze();
    return s;
  };
  const workload = await start("workload", [2, 16, 32]);
  const cow = await start("cow", [500, 120]);
  const shared3 = await start("shared3", [301]);
  await start("zero", [200]);
  await start("hugezero", [2]);
  const thp = await start("thp", [4, "fork"]);
  const ours = scenarios.flatMap((s) => s.allPids);

  const scanDefault = await scanSystem(procfs);
  const resDefault = await oracle(scanDefault, false);
  const scanExact = await scanSystem(procfs, { exact: true });
  const resExact = await oracle(scanExact, true);
  t.diagnostic(`default scan (${scanDefault.durationMs.toFixed(0)} ms): ${summary(resDefault)}`);
  t.diagnostic(`exact scan (${scanExact.durationMs.toFixed(0)} ms): ${summary(resExact)}`);

  // Frozen processes cannot change their own mappings: they are read from pagemap, and their Rss,
  // Anonymous and Swap match whenever the kernel's numbers held still around the scan (DAMON may page
  // them out meanwhile). Their PSS, and the USS of pages they share with others, move with other
  // processes (the kernel's own Pss of a stopped process drifts by several kB on a busy machine), so
  // those are judged in the stable windows above, and a frozen pid that never held still there is
  // reported with the others, not failed.
  for (const pid of ours) {
    for (const [name, scan, exact] of [
      ["default", scanDefault, false],
      ["exact", scanExact, true],
    ] as const) {
      const p = scan.processes.find((x) => x.info.pid === pid);
      assert.equal(p?.source, "pagemap", `${name} scan: scenario pid ${pid} should be read from pagemap (${p?.reason ?? "missing"})`);
      const bad = await judgeFrozen(pid, exact);
      assert.equal(bad, undefined, `${name} scan: frozen scenario ${bad}`);
    }
  }

  // A process the kernel refuses even to root (PID 1 on the test VM) is listed as unreadable, not dropped.
  for (const pid of [1]) {
    let refused = false;
    try {
      fs.readFileSync(`/proc/${pid}/maps`);
    } catch (err) {
      refused = (err as NodeJS.ErrnoException).code === "EACCES";
    }
    if (!refused) continue;
    const p = scanDefault.processes.find((x) => x.info.pid === pid);
    assert.equal(p?.state, "unreadable", `pid ${pid} refuses root (EACCES): it should be listed as unreadable`);
  }

  // In the whole-machine scans too, memory shared only among the frozen processes is exact per VMA.
  for (const [name, scan] of [
    ["default", scanDefault],
    ["exact", scanExact],
  ] as const) {
    const near = (got: number, want: number, what: string): void => assert.ok(Math.abs(got - want) < 1e-6, `${name} scan: ${what}: expected ${want}, got ${got}`);
    for (const pid of shared3.allPids) near(vmaUsage(scan, pid, shared3.addr("addr")).pss, 301 * pssShareBytes(PAGE, 3), `shared3 pid ${pid} PSS`);
    for (const pid of cow.allPids) {
      const u = vmaUsage(scan, pid, cow.addr("addr"));
      near(u.uss, 120 * PAGE, `cow pid ${pid} USS`);
      near(u.pss, 120 * PAGE + (380 * PAGE) / 2, `cow pid ${pid} PSS`);
    }
    const sharedMib = 32 * 1024 * 1024;
    for (const pid of workload.allPids) near(vmaUsage(scan, pid, workload.addr("shared")).pss, (sharedMib / PAGE) * pssShareBytes(PAGE, 3), `workload pid ${pid} shared-region PSS`);
    const tu = vmaUsage(scan, thp.pid, thp.addr("addr"));
    const bytes = thp.num("bytes");
    near(tu.uss, PAGE, "thp fork parent USS (one page unmapped by the child)");
    near(tu.pss, PAGE + (bytes - PAGE) / 2, "thp fork parent PSS");
  }

  const fmt = (o: Outcome): string => [...o.failures.values()].join("\n  ");
  assert.equal(resDefault.failures.size, 0, `default scan: processes that held still yet differ from smaps_rollup (never matched in ${RETRIES} retries):\n  ${fmt(resDefault)}`);
  assert.equal(resExact.failures.size, 0, `exact scan: processes that held still yet differ from smaps_rollup (never matched in ${RETRIES} retries):\n  ${fmt(resExact)}`);
  assert.ok(resDefault.compared >= ours.length, `judged only ${resDefault.compared} processes`);

  // Whole-machine, exact, one-process-at-a-time and flags-where-needed scans give identical per-VMA rows
  // for the frozen processes. Each is compared with a default scan of them taken right before it, and
  // only for mappings whose kernel numbers (smaps) held still around both: a libc page that only a frozen
  // process mapped is USS until another process maps it, and DAMON may page memory out meanwhile.
  const others: [string, () => Promise<Scan>][] = [
    ["whole machine", () => scanSystem(procfs)],
    ["exact", () => scanSystem(procfs, { pids: ours, exact: true })],
    ["one process per scan", () => scanEach(ours)],
    ["flags where needed", () => scanSystem(procfs, { pids: ours, pageFlags: "accounting" })],
  ];
  // PSS of pages shared with live processes may move between scans: compare every field but the PSS ones
  // for whole processes, and (above) the exact PSS of VMAs shared only among frozen processes.
  const stableFields = (u: MemUsage): Partial<MemUsage> => ({ rss: u.rss, uss: u.uss, shared: u.shared, anon: u.anon, file: u.file, shmem: u.shmem, swap: u.swap, thp: u.thp, zeroPage: u.zeroPage, hugetlbPrivate: u.hugetlbPrivate });
  let compared = 0;
  let moved = 0;
  for (const [name, again] of others) {
    const k0 = new Map(ours.map((pid) => [pid, smapsByStart(pid)]));
    const reference = await scanSystem(procfs, { pids: ours });
    const scan = await again();
    const k1 = new Map(ours.map((pid) => [pid, smapsByStart(pid)]));
    for (const pid of ours) {
      const a = reference.processes.find((x) => x.info.pid === pid)!;
      const b = scan.processes.find((x) => x.info.pid === pid);
      assert.ok(b, `pid ${pid} missing from the ${name} scan`);
      assert.deepEqual(
        b.vmas.map((v) => v.range),
        a.vmas.map((v) => v.range),
        `pid ${pid}: same mappings in the default and ${name} scans`,
      );
      for (const vma of a.vmas) {
        const before = k0.get(pid)!.get(vma.start);
        if (before === undefined || before !== k1.get(pid)!.get(vma.start)) {
          moved++;
          continue;
        }
        compared++;
        assert.deepEqual(stableFields(vmaUsage(scan, pid, vma.start)), stableFields(vmaUsage(reference, pid, vma.start)), `pid ${pid} VMA ${vma.range}: ${name} scan differs from the default scan`);
      }
    }
  }
  t.diagnostic(`scans of the frozen processes compared on ${compared} mappings; ${moved} left out because the kernel's numbers moved meanwhile`);
  assert.ok(compared > moved, `most mappings of frozen processes hold still (${compared} compared, ${moved} moved)`);
});
