/**
 * Live: pagelens against processes whose memory is known exactly.
 *
 * Each test starts one memscenario mode, stops it (SIGSTOP) so nothing moves,
 * scans only its pids and checks the usage row of the VMA at the address the
 * program printed, to the page. Expected values are computed from the
 * scenario's parameters (and, for the THP quirk, cross-checked against the
 * kernel's smaps for that VMA) — never taken from pagelens's output.
 * Every check runs on three scans: default (exclusive anonymous pages settled
 * from pagemap bits), `exact: true` (every page looked up) and `threads: true`.
 */
import { pssShareBytes } from "../../src/accounting/kernel-pss.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { ProcFs } from "../../src/procfs/procfs.js";
import { scanSystem, type Scan } from "../../src/scan/system-scan.js";
import * as path from "node:path";
import { sumRows, usageRow, type MemUsage } from "../../src/accounting/usage.js";
import { liveSkipReason, makeTempDir, MiB, onExit, PAGE, processIn, readRollupKb, readSmapsVmaKb, removeTempDir, runCli, scenarioFor, startScenario, vmaUsage, type KbFields, type Scenario } from "../support/scenario.js";

const skip = liveSkipReason();
const procfs = new ProcFs();

/**
 * Scan the scenario's processes three ways: default (exclusive anonymous pages
 * settled from pagemap bits), exact (every page looked up) and with kpageflags
 * read only where accounting needs them (what `pagelens ps` does).
 */
async function scans(s: Scenario): Promise<{ name: string; scan: Scan }[]> {
  const pids = s.allPids;
  return [
    { name: "default", scan: await scanSystem(procfs, { pids }) },
    { name: "exact", scan: await scanSystem(procfs, { pids, exact: true }) },
    { name: "flags where needed", scan: await scanSystem(procfs, { pids, pageFlags: "accounting" }) },
  ];
}

type Expect = Partial<Record<keyof MemUsage, number>>;

/** Compare selected usage fields of one VMA; PSS-like fields to within 1e-6 byte (fractions are exact). */
function checkVma(scan: Scan, label: string, pid: number, start: number, expect: Expect, expectEnd?: number): void {
  const u = vmaUsage(scan, pid, start);
  if (expectEnd !== undefined) assert.equal(u.vmaEnd, expectEnd, `${label}: VMA at 0x${start.toString(16)} should end at 0x${expectEnd.toString(16)}`);
  const diffs: string[] = [];
  for (const [k, want] of Object.entries(expect) as [keyof MemUsage, number][]) {
    const got = u[k];
    if (Math.abs(got - want) > 1e-6) diffs.push(`${k}: expected ${want} (${(want / PAGE).toFixed(3)} pages), got ${got} (${(got / PAGE).toFixed(3)} pages)`);
  }
  assert.deepEqual(diffs, [], `${label}, pid ${pid}, VMA 0x${start.toString(16)}:\n  ${diffs.join("\n  ")}`);
}

test("private: N written private pages are RSS = PSS = USS = N pages of that VMA", { skip }, async (t) => {
  const N = 1000;
  const s = await scenarioFor(t, "private", [N]);
  s.freeze();
  const addr = s.addr("addr");
  const want: Expect = { rss: N * PAGE, pss: N * PAGE, uss: N * PAGE, shared: 0, anon: N * PAGE, pssAnon: N * PAGE, zeroPage: 0, swap: 0, thp: 0 };
  for (const { name, scan } of await scans(s)) checkVma(scan, `private ${N} (${name})`, s.pid, addr, want, addr + N * PAGE);

  // The same through the CLI's maps report.
  const r = runCli(["maps", String(s.pid), "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { mappings: { start: string; rss: number; pss: number; uss: number; kernel: { privateDirty: number } | null }[] };
  const row = doc.mappings.find((m) => parseInt(m.start, 16) === addr);
  assert.ok(row, `maps --json has no mapping at 0x${addr.toString(16)}`);
  assert.equal(row.rss, N * PAGE);
  assert.equal(row.pss, N * PAGE);
  assert.equal(row.uss, N * PAGE);
  assert.equal(row.kernel?.privateDirty, N * PAGE, "the kernel's Private_Dirty of the mapping (smaps)");
});

test("cow: after fork without writes both processes map N pages with count 2", { skip }, async (t) => {
  const N = 1000;
  const s = await scenarioFor(t, "cow", [N]);
  s.freeze();
  const addr = s.addr("addr");
  const [child] = s.children;
  const want: Expect = { rss: N * PAGE, pss: (N * PAGE) / 2, uss: 0, shared: N * PAGE, anon: N * PAGE };
  for (const { name, scan } of await scans(s)) {
    checkVma(scan, `cow ${N} parent (${name})`, s.pid, addr, want, addr + N * PAGE);
    checkVma(scan, `cow ${N} child (${name})`, child!, addr, want, addr + N * PAGE);
  }
});

test("cow with writes: the child rewrites M of N pages: M private on each side", { skip }, async (t) => {
  const N = 1000;
  const M = 300;
  const s = await scenarioFor(t, "cow", [N, M]);
  s.freeze();
  const addr = s.addr("addr");
  const [child] = s.children;
  const want: Expect = { rss: N * PAGE, uss: M * PAGE, shared: (N - M) * PAGE, pss: M * PAGE + ((N - M) * PAGE) / 2 };
  for (const { name, scan } of await scans(s)) {
    checkVma(scan, `cow ${N} ${M} parent (${name})`, s.pid, addr, want);
    checkVma(scan, `cow ${N} ${M} child (${name})`, child!, addr, want);
  }
});

test("shared3: a MAP_SHARED region mapped by three processes has PSS N/3 pages in each", { skip }, async (t) => {
  const N = 1000; // not a multiple of 3: the exact PSS is fractional
  const s = await scenarioFor(t, "shared3", [N]);
  s.freeze();
  const addr = s.addr("addr");
  assert.equal(s.children.length, 2);
  const want: Expect = { rss: N * PAGE, pss: N * pssShareBytes(PAGE, 3), uss: 0, shared: N * PAGE, shmem: N * PAGE, pssShmem: N * pssShareBytes(PAGE, 3), anon: 0, file: 0 };
  for (const { name, scan } of await scans(s))
    for (const pid of s.allPids) checkVma(scan, `shared3 ${N} pid ${pid} (${name})`, pid, addr, want, addr + N * PAGE);
});

test("zero: N pages only read map the zero page: RSS 0, zeroPage N pages", { skip }, async (t) => {
  const N = 1000;
  const s = await scenarioFor(t, "zero", [N]);
  s.freeze();
  const addr = s.addr("addr");
  const k = readSmapsVmaKb(s.pid, addr);
  assert.equal(k?.["Rss"], 0, "scenario check: the kernel counts no Rss for zero-page PTEs");
  const want: Expect = { rss: 0, pss: 0, uss: 0, shared: 0, zeroPage: N * PAGE, unmanaged: 0 };
  for (const { name, scan } of await scans(s)) checkVma(scan, `zero ${N} (${name})`, s.pid, addr, want, addr + N * PAGE);
});

test("hugezero: a read-only MADV_HUGEPAGE range maps zero pages (huge or not): RSS 0", { skip }, async (t) => {
  const s = await scenarioFor(t, "hugezero", [4]);
  s.freeze();
  const addr = s.addr("addr");
  const bytes = s.num("bytes");
  assert.equal(readSmapsVmaKb(s.pid, addr)?.["Rss"], 0, "scenario check: smaps Rss of the range");
  for (const { name, scan } of await scans(s)) checkVma(scan, `hugezero (${name})`, s.pid, addr, { rss: 0, pss: 0, uss: 0, zeroPage: bytes, unmanaged: 0 }, addr + bytes);
});

test("thp: a written MADV_HUGEPAGE region is one private THP per 2 MiB", { skip }, async (t) => {
  const s = await scenarioFor(t, "thp", [4]);
  s.freeze();
  const addr = s.addr("addr");
  const bytes = s.num("bytes");
  const k = readSmapsVmaKb(s.pid, addr);
  if (!k || !(k["AnonHugePages"]! > 0)) {
    t.skip(`the kernel gave no THP for the MADV_HUGEPAGE region (AnonHugePages ${k?.["AnonHugePages"]} kB; THP mode ${fs.readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8").trim()})`);
    return;
  }
  const want: Expect = { rss: bytes, pss: bytes, uss: bytes, shared: 0, anon: bytes, thp: k["AnonHugePages"]! * 1024 };
  for (const { name, scan } of await scans(s)) checkVma(scan, `thp 4 (${name})`, s.pid, addr, want, addr + bytes);
});

test("thp partial share: the child unmaps one 4 KiB page of the first THP; the parent's USS follows kpagecount, not PM_MMAP_EXCLUSIVE", { skip }, async (t) => {
  const s = await scenarioFor(t, "thp", [4, "fork"]);
  s.freeze();
  const addr = s.addr("addr");
  const bytes = s.num("bytes");
  const [child] = s.children;
  const k = readSmapsVmaKb(s.pid, addr);
  if (!k || !(k["AnonHugePages"]! >= 2048)) {
    t.skip(`the kernel gave no THP for the MADV_HUGEPAGE region (AnonHugePages ${k?.["AnonHugePages"]} kB)`);
    return;
  }
  // The kernel's view of the parent's VMA (§2.4): one page private, everything else shared with the child.
  assert.equal(k["Private_Dirty"]! + k["Private_Clean"]!, 4, "scenario check: parent's smaps Private_* for the THP VMA");
  assert.equal(k["Shared_Dirty"]! + k["Shared_Clean"]!, bytes / 1024 - 4, "scenario check: parent's smaps Shared_* for the THP VMA");
  const parentWant: Expect = { rss: bytes, uss: PAGE, shared: bytes - PAGE, pss: PAGE + (bytes - PAGE) / 2, anon: bytes };
  // The child's VMA now starts one page later; every page in it is mapped twice.
  const childWant: Expect = { rss: bytes - PAGE, uss: 0, shared: bytes - PAGE, pss: (bytes - PAGE) / 2 };
  for (const { name, scan } of await scans(s)) {
    // The default scan is the one that could be fooled by PM_MMAP_EXCLUSIVE: make sure it really used the shortcut.
    if (name === "default" && scan.kernel.mapcount === "precise" && !scan.kernel.ksmActive)
      assert.equal(scan.trustedExclusive, true, "the default scan should settle exclusive pages from pagemap bits here");
    checkVma(scan, `thp fork parent (${name})`, s.pid, addr, parentWant, addr + bytes);
    checkVma(scan, `thp fork child (${name})`, child!, addr + PAGE, childWant, addr + bytes);
  }
});

/**
 * Run `body` with one free 2 MiB huge page: /proc/sys/vm/nr_hugepages is raised by one if needed and
 * restored afterwards, after the scenario started by `body` has stopped, even if the test fails.
 * Returns a reason to skip instead when no huge page can be had.
 */
async function withHugePage(body: (started: (s: Scenario) => void) => Promise<void>): Promise<string | undefined> {
  const file = "/proc/sys/vm/nr_hugepages";
  const old = Number(fs.readFileSync(file, "utf8").trim());
  const freeNow = (): number => Number(/^HugePages_Free:\s+(\d+)/m.exec(fs.readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  let raised = false;
  const restore = (): void => {
    if (raised) fs.writeFileSync(file, `${old}\n`);
    raised = false;
  };
  onExit(restore); // should this process die before the finally below
  const scenarios: Scenario[] = [];
  try {
    if (freeNow() < 1) {
      try {
        fs.writeFileSync(file, `${old + 1}\n`);
        raised = true;
      } catch (err) {
        return `cannot raise ${file}: ${(err as Error).message}`;
      }
      if (freeNow() < 1) return `the kernel could not reserve a 2 MiB huge page (${file} = ${fs.readFileSync(file, "utf8").trim()})`;
    }
    await body((s) => scenarios.push(s));
    return undefined;
  } finally {
    for (const s of scenarios) await s.stop();
    restore();
  }
}

test("hugetlb: one private 2 MiB MAP_HUGETLB page is hugetlbPrivate, not RSS", { skip }, async (t) => {
  const why = await withHugePage(async (started) => {
    const s = await startScenario("hugetlb");
    started(s);
    s.freeze();
    const addr = s.addr("addr");
    const H = 2 * MiB;
    assert.equal(readSmapsVmaKb(s.pid, addr)?.["Private_Hugetlb"], 2048, "scenario check: smaps Private_Hugetlb");
    const want: Expect = { rss: 0, pss: 0, uss: 0, shared: 0, hugetlbPrivate: H, hugetlbShared: 0, hugetlbPss: H };
    for (const { name, scan } of await scans(s)) {
      checkVma(scan, `hugetlb (${name})`, s.pid, addr, want, addr + H);
      // The process's RSS leaves hugetlb out, as smaps_rollup's Rss does.
      assert.equal(sumRows(processIn(scan, s.pid).usage).rss, (readRollupKb(s.pid)?.["Rss"] ?? NaN) * 1024, `hugetlb (${name}): process RSS vs smaps_rollup Rss`);
    }
  });
  if (why) t.skip(why);
});

test("hugetlb shared: a MAP_SHARED huge page mapped by parent and child is hugetlbShared with PSS 1 MiB each", { skip }, async (t) => {
  const why = await withHugePage(async (started) => {
    const s = await startScenario("hugetlb", ["shared"]);
    started(s);
    s.freeze();
    const addr = s.addr("addr");
    const H = 2 * MiB;
    for (const pid of s.allPids) assert.equal(readSmapsVmaKb(pid, addr)?.["Shared_Hugetlb"], 2048, `scenario check: pid ${pid} smaps Shared_Hugetlb`);
    const want: Expect = { rss: 0, pss: 0, uss: 0, hugetlbPrivate: 0, hugetlbShared: H, hugetlbPss: H / 2 };
    for (const { name, scan } of await scans(s)) for (const pid of s.allPids) checkVma(scan, `hugetlb shared pid ${pid} (${name})`, pid, addr, want, addr + H);
  });
  if (why) t.skip(why);
});

test("file: one file mapped twice (shared and private) by one process: map count 2, PSS N/2 in each VMA", { skip }, async (t) => {
  const N = 64;
  const dir = makeTempDir("pagelens-file-");
  t.after(() => removeTempDir(dir));
  const file = path.join(dir, "data.bin");
  const buf = Buffer.alloc(N * PAGE);
  for (let i = 0; i < N; i++) buf.writeUInt32LE(i * 2654435761 >>> 0, i * PAGE);
  fs.writeFileSync(file, buf);
  const s = await scenarioFor(t, "file", [file, N]);
  s.freeze();
  for (const key of ["shared", "private"]) {
    const addr = s.addr(key);
    const k = readSmapsVmaKb(s.pid, addr);
    assert.equal(k?.["Rss"], (N * PAGE) / 1024, `scenario check: smaps Rss of the ${key} file mapping`);
    const want: Expect = { rss: N * PAGE, pss: (N * PAGE) / 2, uss: 0, shared: N * PAGE, file: N * PAGE, pssFile: (N * PAGE) / 2, anon: 0, shmem: 0 };
    for (const { name, scan } of await scans(s)) checkVma(scan, `file ${key} (${name})`, s.pid, addr, want, addr + N * PAGE);
  }
});

test("guard: MADV_GUARD_INSTALL on M of N written pages: guard M pages, RSS N-M", { skip }, async (t) => {
  const N = 100;
  const M = 30;
  const s = await scenarioFor(t, "guard", [N, M]);
  if (s.num("guard_supported") !== 1) {
    t.skip(`MADV_GUARD_INSTALL refused: ${s.getAll("guard_error").join(" ") || "unsupported"} (needs Linux 6.13)`);
    return;
  }
  s.freeze();
  const addr = s.addr("addr");
  assert.equal(readSmapsVmaKb(s.pid, addr)?.["Rss"], ((N - M) * PAGE) / 1024, "scenario check: smaps Rss");
  const want: Expect = { rss: (N - M) * PAGE, uss: (N - M) * PAGE, pss: (N - M) * PAGE, guard: M * PAGE, swap: 0, migration: 0 };
  for (const { name, scan } of await scans(s)) checkVma(scan, `guard ${N} ${M} (${name})`, s.pid, addr, want, addr + N * PAGE);
});

test("vmas: 20000 one-page mappings each hold exactly one private page", { skip }, async (t) => {
  const N = 20000;
  const s = await scenarioFor(t, "vmas", [N]);
  s.freeze();
  const first = s.addr("first");
  const stride = s.num("stride");
  for (const { name, scan } of await scans(s)) {
    const p = processIn(scan, s.pid);
    const byStart = new Map(p.vmas.map((v, i) => [v.start, i]));
    const bad: string[] = [];
    t.diagnostic(`vmas ${N} (${name}): scanned ${p.vmas.length} VMAs in ${scan.durationMs.toFixed(0)} ms`);
    for (let i = 0; i < N; i++) {
      const start = first + i * stride;
      if (!byStart.has(start)) {
        bad.push(`no VMA at 0x${start.toString(16)}`);
        continue;
      }
      const i2 = byStart.get(start)!;
      const u = { ...usageRow(p.usage, i2), vmaEnd: p.vmas[i2]!.end };
      if (u.vmaEnd !== start + PAGE || u.rss !== PAGE || u.uss !== PAGE || u.pss !== PAGE) bad.push(`0x${start.toString(16)}: end 0x${u.vmaEnd.toString(16)} rss ${u.rss} uss ${u.uss} pss ${u.pss}`);
      if (bad.length > 5) break;
    }
    assert.deepEqual(bad, [], `vmas ${N} (${name}): first differences`);
  }
});

test("workload 3 64 128: each child has USS >= 64 MiB and PSS 128 MiB / 4 of the shared region", { skip }, async (t) => {
  const NPROC = 3;
  const PRIV = 64 * MiB;
  const SHARED = 128 * MiB;
  const s = await scenarioFor(t, "workload", [NPROC, 64, 128]);
  s.freeze();
  const shared = s.addr("shared");
  assert.equal(s.children.length, NPROC);
  for (const { name, scan } of await scans(s)) {
    for (const pid of s.allPids) {
      const u = vmaUsage(scan, pid, shared);
      assert.equal(u.rss, SHARED, `workload (${name}) pid ${pid}: shared-region RSS`);
      assert.ok(Math.abs(u.pss - SHARED / (NPROC + 1)) <= PAGE, `workload (${name}) pid ${pid}: shared-region PSS ${u.pss}, expected ${SHARED / (NPROC + 1)} within one page`);
      assert.equal(u.uss, 0, `workload (${name}) pid ${pid}: shared-region USS`);
    }
    for (const child of s.children) {
      const row = processIn(scan, child);
      let uss = 0;
      for (let i = 0; i < row.vmas.length; i++) uss += vmaUsage(scan, child, row.vmas[i]!.start).uss;
      assert.ok(uss >= PRIV, `workload (${name}) child ${child}: USS ${uss} < ${PRIV}`);
      const priv = vmaUsage(scan, child, s.addr(`private.${child}`));
      assert.ok(priv.uss >= PRIV, `workload (${name}) child ${child}: private mapping USS ${priv.uss} < ${PRIV}`);
    }
  }
});

const KSM = "/sys/kernel/mm/ksm";

/**
 * KSM for one test: its knobs saved now and restored at the end (also should this process die first),
 * ksmd sped up on start(), and on cleanup() run until its counters are back where they were, since
 * they only drop when ksmd prunes the freed stable nodes: left stale, pages_shared/pages_sharing would
 * claim KSM is in use after the test is gone.
 */
function ksmControl(): {
  counters(): number;
  start(): void;
  stop(): void;
  waitMerged(pid: number, addr: number, pages: number): Promise<KbFields | undefined>;
  cleanup(stopScenarios: () => Promise<void>): Promise<void>;
} {
  const knobs = ["run", "pages_to_scan", "sleep_millisecs"] as const;
  const saved = Object.fromEntries(knobs.map((k) => [k, fs.readFileSync(`${KSM}/${k}`, "utf8").trim()]));
  const counters = (): number => Number(fs.readFileSync(`${KSM}/pages_shared`, "utf8")) + Number(fs.readFileSync(`${KSM}/pages_sharing`, "utf8"));
  const before = counters();
  let restored = false;
  const restoreKnobs = (): void => {
    if (restored) return;
    restored = true;
    for (const k of ["run", "sleep_millisecs", "pages_to_scan"] as const) fs.writeFileSync(`${KSM}/${k}`, `${saved[k]}\n`);
  };
  onExit(restoreKnobs);
  return {
    counters,
    start(): void {
      fs.writeFileSync(`${KSM}/pages_to_scan`, "5000\n");
      fs.writeFileSync(`${KSM}/sleep_millisecs`, "10\n");
      fs.writeFileSync(`${KSM}/run`, "1\n");
    },
    stop(): void {
      fs.writeFileSync(`${KSM}/run`, "0\n");
    },
    /** smaps of the VMA at `addr` once `pages` pages are merged, or as far as ksmd got in 15 s. */
    async waitMerged(pid, addr, pages): Promise<KbFields | undefined> {
      const until = Date.now() + 15_000;
      let k = readSmapsVmaKb(pid, addr);
      while ((k?.["KSM"] ?? 0) < (pages * PAGE) / 1024 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        k = readSmapsVmaKb(pid, addr);
      }
      return k;
    },
    async cleanup(stopScenarios): Promise<void> {
      try {
        await stopScenarios();
        fs.writeFileSync(`${KSM}/run`, "1\n");
        const until = Date.now() + 5000;
        while (counters() > before && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      } finally {
        restoreKnobs();
      }
    },
  };
}

test("ksm: N identical MADV_MERGEABLE pages merged into one KSM page: RSS N, PSS 1 page, USS 0", { skip }, async (t) => {
  if (!fs.existsSync(`${KSM}/run`)) {
    t.skip("no /sys/kernel/mm/ksm (kernel built without CONFIG_KSM)");
    return;
  }
  const N = 128; // below max_page_sharing (256): one KSM page
  const ksm = ksmControl();
  const s = await startScenario("ksm", [N]);
  t.after(() => ksm.cleanup(() => s.stop()));
  ksm.start();
  const addr = s.addr("addr");
  const k = await ksm.waitMerged(s.pid, addr, N);
  if ((k?.["KSM"] ?? 0) < (N * PAGE) / 1024) {
    t.skip(`KSM merged only ${k?.["KSM"]} kB of ${(N * PAGE) / 1024} kB within 15 s`);
    return;
  }
  s.freeze();
  assert.equal(k?.["Pss"], 4, "scenario check: smaps Pss of the merged VMA is one page");
  const want: Expect = { rss: N * PAGE, pss: PAGE, uss: 0, shared: N * PAGE, ksm: N * PAGE, anon: N * PAGE };
  for (const { name, scan } of await scans(s)) {
    assert.equal(scan.trustedPids.includes(s.pid), false, `${name}: pagemap exclusivity must not be trusted for a process with KSM pages`);
    checkVma(scan, `ksm ${N} (${name})`, s.pid, addr, want, addr + N * PAGE);
  }
});

test("ksm per process: with KSM merged, a KSM page mapped once is still counted as KSM, and a process without KSM keeps the exclusive-page shortcut", { skip }, async (t) => {
  if (!fs.existsSync(`${KSM}/run`)) {
    t.skip("no /sys/kernel/mm/ksm (kernel built without CONFIG_KSM)");
    return;
  }
  if (!fs.existsSync("/proc/self/ksm_stat") || !/ksm_mergeable/.test(fs.readFileSync("/proc/self/ksm_stat", "utf8"))) {
    t.skip("no ksm_mergeable line in /proc/PID/ksm_stat: the shortcut stays off for every process once KSM has merged");
    return;
  }
  const N = 64;
  const ksm = ksmControl();
  const merged = await startScenario("ksm", [N]);
  const plain = await startScenario("private", [256]);
  t.after(() =>
    ksm.cleanup(async () => {
      await merged.stop();
      await plain.stop();
    }),
  );
  ksm.start();
  const addr = merged.addr("addr");
  let k = await ksm.waitMerged(merged.pid, addr, N);
  if ((k?.["KSM"] ?? 0) < (N * PAGE) / 1024) {
    t.skip(`KSM merged only ${k?.["KSM"]} kB of ${(N * PAGE) / 1024} kB within 15 s`);
    return;
  }
  // Stop ksmd (merged pages stay merged), then write a different byte into all pages but the last through
  // /proc/PID/mem: each write breaks that mapping of the KSM page (copy on write), so the last page is left
  // a KSM page mapped once, which pagemap shows as PM_MMAP_EXCLUSIVE exactly like a private page.
  ksm.stop();
  const mem = fs.openSync(`/proc/${merged.pid}/mem`, "r+");
  try {
    for (let i = 0; i < N - 1; i++) fs.writeSync(mem, Buffer.from([0x10 + (i % 200)]), 0, 1, addr + i * PAGE + 100);
  } finally {
    fs.closeSync(mem);
  }
  merged.freeze();
  plain.freeze();
  k = readSmapsVmaKb(merged.pid, addr);
  assert.equal(k?.["KSM"], PAGE / 1024, "scenario check: one KSM page left, mapped once");
  assert.ok(ksm.counters() > 0, "scenario check: KSM's counters say it has merged pages");
  const pids = [merged.pid, plain.pid];
  const def = await scanSystem(procfs, { pids });
  const exact = await scanSystem(procfs, { pids, exact: true });
  assert.equal(def.kernel.ksmActive, true, "the kernel's KSM counters are non-zero");
  if (def.kernel.mapcount === "precise") assert.equal(def.trustedPids.includes(plain.pid), true, "the process without KSM keeps the shortcut");
  assert.equal(def.trustedPids.includes(merged.pid), false, "the process with a KSM mapping is looked up page by page");
  const want: Expect = { rss: N * PAGE, uss: N * PAGE, ksm: PAGE, anon: N * PAGE };
  for (const [name, scan] of [["default", def], ["exact", exact]] as const) {
    checkVma(scan, `ksm mapped once (${name})`, merged.pid, addr, want, addr + N * PAGE);
    checkVma(scan, `private 256 (${name})`, plain.pid, plain.addr("addr"), { rss: 256 * PAGE, uss: 256 * PAGE, pss: 256 * PAGE, ksm: 0 });
  }
  for (const pid of pids) assert.deepEqual(Array.from(processIn(def, pid).usage), Array.from(processIn(exact, pid).usage), `pid ${pid}: default equals --exact`);
});
