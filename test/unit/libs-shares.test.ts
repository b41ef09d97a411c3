/**
 * `pagelens libs` and `pagelens shares` on a fixture machine whose sharing is
 * known page by page (see buildTree), plus the page-owner index on hand-built
 * run records (runs that cross table pages, a page mapped twice by one
 * process). Expected figures are counted from what the tree holds.
 */
import { NO_OBJECTS, NO_REFS } from "../../src/scan/scan-data.js";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildPageOwners, type OwnerSource } from "../../src/analysis/page-owners.js";
import { run } from "../../src/cli/run.js";
import { KPF_ANON, KPF_KSM, KPF_LRU, KPF_MMAP, KPF_SWAPBACKED, KPF_UPTODATE } from "../../src/decode/kpageflags.js";
import { buildLibsReport, isPermsPattern, matchPerms, type LibRow, type LibsReport } from "../../src/report/libs-report.js";
import { buildSharesReport, type PairRow, type SharesReport } from "../../src/report/shares-report.js";
import { renderLibsTable } from "../../src/render/libs-render.js";
import { mappingLabel, renderSharesTable } from "../../src/render/shares-render.js";
import { EntryStore } from "../../src/scan/entry-store.js";
import { scanSystem, type Scan } from "../../src/scan/system-scan.js";
import { captureIo, FixtureTree } from "../support/fixture-tree.js";
import { anonPage, anonPte, filePage, hugetlbPage, page, PAGE_SIZE, PMD_PAGES, pte, shmemPage, swapPte, zeroPage } from "../support/pagemap-builder.js";

const P = PAGE_SIZE;

/**
 * PSS sums the kernel's fixed-point shares (each shared page's truncated to 1/4096 byte,
 * accounting/kernel-pss.ts): compare to a sum of exact fractions within 1/4096 byte for each of
 * the at most 32 shared pages of this machine.
 */
function near(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 32 / 4096, `${what}: expected ${expected}, got ${actual}`);
}

// The machine:
//  - libfoo.so: text 4 pages (LIB..LIB+3) mapped by pids 10, 11, 12; pid 30 maps only the first
//    (so LIB has 4 mappers, LIB+1..3 have 3); a 1-page rw-p data VMA per pid 10-12, private anon.
//  - a 2-page MAP_SHARED anonymous segment (/dev/zero (deleted)) mapped by 10, 11, 12.
//  - pids 10 and 11: an unnamed anonymous VMA with two read-faulted zero-page PTEs each.
//  - fork: parent 20, children 21 and 22: [heap] of 4 pages, the first 3 shared copy-on-write
//    by all three, the 4th private to each; pid 22 also has one swapped-out heap page.
//  - one KSM page, mapped by 20 and 30 from unnamed anonymous VMAs.
const LIB = 0x1000;
const SHM = 0x2000;
const COW = 0x3000;
const KSM = 0x4000;
const ZERO = 0x3b34;
const PRIVATE = 0x5000;
const LIB_PATH = "/usr/lib/libfoo.so";
const LIB_TEXT = 0x7f00_0000_0000;
const SHM_ADDR = 0x7f10_0000_0000;
const KSM_ADDR = 0x7f20_0000_0000;
const HEAP = 0x5555_6000_0000;

function buildTree(options: { kpage?: boolean } = {}): FixtureTree {
  const t = FixtureTree.create({ kpage: options.kpage });
  for (const pid of [10, 11, 12]) {
    const p = t.process(pid, { name: `app${pid}`, uid: 1000, cmdline: [`/usr/bin/app${pid}`] });
    if (pid !== 12) {
      const z = p.map({ start: 0x5555_0000_0000, pages: 4, name: "" });
      p.fill(z.start, 2, () => pte({ pfn: ZERO }));
    }
    // smaps fields (kB) are what an unprivileged reader gets instead of page data.
    const text = p.map({ start: LIB_TEXT, pages: 4, perms: "r-xp", dev: "fd:01", inode: 777, name: LIB_PATH, smaps: { Rss: 16, Pss: 5, Shared_Clean: 16 } });
    p.fill(text.start, 4, (i) => pte({ pfn: LIB + i, file: true }));
    const data = p.map({ start: LIB_TEXT + 4 * P, pages: 1, perms: "rw-p", offset: 0x4000, dev: "fd:01", inode: 777, name: LIB_PATH, smaps: { Rss: 4, Pss: 4, Private_Dirty: 4, Anonymous: 4 } });
    p.set(data.start, anonPte(PRIVATE + pid));
    t.page(PRIVATE + pid, anonPage(1));
    const shm = p.map({ start: SHM_ADDR, pages: 2, perms: "rw-s", dev: "00:01", inode: 4242, name: "/dev/zero (deleted)" });
    p.fill(shm.start, 2, (i) => pte({ pfn: SHM + i, file: true }));
  }
  t.page(LIB, filePage(4));
  t.pages(LIB + 1, 3, () => filePage(3));
  t.pages(SHM, 2, () => shmemPage(3));
  t.page(ZERO, zeroPage());

  for (const pid of [20, 21, 22]) {
    const p = t.process(pid, { name: "forker", uid: 1001, ppid: pid === 20 ? 1 : 20, cmdline: ["forker", pid === 20 ? "--parent" : "--child"] });
    const heap = p.map({ start: HEAP, pages: 8, name: "[heap]" });
    p.fill(heap.start, 3, (i) => pte({ pfn: COW + i }));
    p.set(heap.start + 3 * P, anonPte(PRIVATE + pid));
    t.page(PRIVATE + pid, anonPage(1));
    if (pid === 22) p.set(heap.start + 5 * P, swapPte({ type: 0, offset: 9 }));
    if (pid === 20) {
      const k = p.map({ start: KSM_ADDR, pages: 1, name: "" });
      p.set(k.start, pte({ pfn: KSM }));
    }
  }
  t.pages(COW, 3, () => anonPage(3));

  const p30 = t.process(30, { name: "other", uid: 0, cmdline: ["/usr/sbin/other"] });
  const text = p30.map({ start: LIB_TEXT, pages: 4, perms: "r-xp", dev: "fd:01", inode: 777, name: LIB_PATH });
  p30.set(text.start, pte({ pfn: LIB, file: true }));
  const k = p30.map({ start: KSM_ADDR, pages: 1, name: "" });
  p30.set(k.start, pte({ pfn: KSM }));
  t.page(KSM, page({ count: 2, flags: [KPF_UPTODATE, KPF_LRU, KPF_MMAP, KPF_ANON, KPF_SWAPBACKED, KPF_KSM] }));
  return t;
}

const lib = (r: LibsReport, name: string): LibRow => {
  const l = r.libraries.find((x) => x.name === name);
  assert.ok(l, `${name} is in the report (have: ${r.libraries.map((x) => x.name).join(", ")})`);
  return l;
};

const pair = (r: SharesReport, a: number, b: number): PairRow => {
  const p = r.pairs.find((x) => x.a.pid === Math.min(a, b) && x.b.pid === Math.max(a, b));
  assert.ok(p, `pair ${a}-${b} is in the report`);
  return p;
};

describe("libs and shares on a fixture machine", () => {
  let tree: FixtureTree;
  let scan: Scan;
  before(async () => {
    tree = buildTree();
    scan = await scanSystem(tree.procfs());
  });
  after(() => tree.cleanup());

  it("page owners: every looked-up PFN lists its mappers, sorted by process; exclusive pages are absent", () => {
    const owners = buildPageOwners(scan.processes, scan);
    const pidsOf = (pfn: number): number[] => [...owners.mappersOf(pfn)].map((id) => scan.processes[owners.mappingProc[id]!]!.info.pid);
    assert.deepEqual(pidsOf(LIB), [10, 11, 12, 30]);
    assert.deepEqual(pidsOf(LIB + 3), [10, 11, 12]);
    assert.deepEqual(pidsOf(SHM + 1), [10, 11, 12]);
    assert.deepEqual(pidsOf(ZERO), [10, 10, 11, 11], "two PTEs of the zero page in each of 10 and 11: one entry per PTE");
    assert.deepEqual(pidsOf(KSM), [20, 30]);
    assert.equal(owners.mapperCount(PRIVATE + 10), 0, "a private anonymous page settled from pagemap is not in the index");
    // The mapping id names the VMA: LIB is in the r-xp libfoo VMA of each process.
    for (const id of owners.mappersOf(LIB)) {
      const p = scan.processes[owners.mappingProc[id]!]!;
      const v = p.vmas[owners.mappingVma[id]!]!;
      assert.equal(v.name, LIB_PATH);
      assert.equal(v.perms, "r-xp");
      assert.equal(owners.mappingId(owners.mappingProc[id]!, owners.mappingVma[id]!), id);
    }
    // 13 libfoo + 6 shm + 4 zero + 9 heap + 2 KSM entries, on 4 + 2 + 1 + 3 + 1 PFNs.
    assert.equal(owners.entries, 34);
    assert.equal(owners.pfns, 11);
    let visited = 0;
    owners.forEachPfn(4, (pfn, ids, from, to) => {
      visited++;
      assert.ok(to - from >= 4);
      assert.ok(pfn === LIB || pfn === ZERO, `PFN 0x${pfn.toString(16)} has 4 mappers`);
      void ids;
    });
    assert.equal(visited, 2);
  });

  it("libs: each name sums its VMAs over the processes that map it, PSS exactly", () => {
    const r = buildLibsReport(scan);
    const foo = lib(r, LIB_PATH);
    assert.equal(foo.count, 4);
    // Text: LIB has 4 mappers, LIB+1..3 have 3; data: one private page in each of 10, 11, 12.
    assert.equal(foo.rss, 16 * P);
    near(foo.pss, (4 * (1 / 4) + 3 * 3 * (1 / 3) + 3) * P, "libfoo PSS");
    assert.equal(foo.uss, 3 * P);
    assert.deepEqual(foo.perms, ["r-xp", "rw-p"]);
    assert.equal(foo.kind, "file");
    const p30 = foo.processes.find((x) => x.pid === 30)!;
    assert.equal(p30.rss, P);
    assert.equal(p30.pss, P / 4);
    assert.equal(p30.vmas, 1);
    assert.equal(foo.processes[foo.processes.length - 1]!.pid, 30, "process rows: largest PSS first");
    const shm = lib(r, "/dev/zero (deleted)");
    assert.deepEqual([shm.count, shm.rss, shm.uss, shm.deleted, shm.kind], [3, 6 * P, 0, true, "shmem"]);
    near(shm.pss, 2 * P, "shared segment PSS");
    const heap = lib(r, "[heap]");
    assert.deepEqual([heap.count, heap.rss, heap.uss, heap.swap], [3, 12 * P, 3 * P, P]);
    near(heap.pss, 6 * P, "[heap] PSS");
    assert.equal(heap.processes.find((x) => x.pid === 22)!.swap, P);
    assert.equal(r.libraries.find((x) => x.name === "[anon]"), undefined, "unnamed anonymous memory only with --all");
    assert.equal(r.totals.names, r.libraries.length);
    near(r.totals.pss, r.libraries.reduce((a, l) => a + l.pss, 0), "total PSS");
  });

  it("libs: --all adds [anon]; --perms and --path filter VMAs and names; sort, reverse, top", () => {
    const all = buildLibsReport(scan, { all: true });
    const anon = lib(all, "[anon]");
    // Zero-page PTEs are not memory; the KSM page counts once in each of 20 and 30.
    assert.deepEqual([anon.count, anon.rss], [4, 2 * P]);
    near(anon.pss, P, "[anon] PSS");

    const x = buildLibsReport(scan, { perms: "x" });
    assert.deepEqual(x.libraries.map((l) => l.name), [LIB_PATH]);
    const fooX = lib(x, LIB_PATH);
    assert.deepEqual([fooX.count, fooX.rss, fooX.uss], [4, 13 * P, 0]);
    near(fooX.pss, 4 * P, "libfoo text PSS");
    assert.deepEqual(lib(buildLibsReport(scan, { perms: "r-xp" }), LIB_PATH).rss, 13 * P);
    const rw = lib(buildLibsReport(scan, { perms: "rw-p", path: /libfoo/ }), LIB_PATH);
    assert.deepEqual([rw.count, rw.rss, rw.pss, rw.uss], [3, 3 * P, 3 * P, 3 * P]);
    assert.deepEqual(buildLibsReport(scan, { perms: "s" }).libraries.map((l) => l.name), ["/dev/zero (deleted)"]);

    const byName = buildLibsReport(scan, { sort: "name" }).libraries.map((l) => l.name);
    assert.deepEqual(byName, ["/dev/zero (deleted)", LIB_PATH, "[heap]"]);
    assert.deepEqual(buildLibsReport(scan, { sort: "name", reverse: true }).libraries.map((l) => l.name), [...byName].reverse());
    assert.deepEqual(buildLibsReport(scan, { sort: "count" }).libraries.map((l) => l.name)[0], LIB_PATH);
    assert.deepEqual(buildLibsReport(scan, { sort: "pss" }).libraries.map((l) => l.name), [LIB_PATH, "[heap]", "/dev/zero (deleted)"]);
    const top = buildLibsReport(scan, { top: 1 });
    assert.equal(top.libraries.length, 1);
    assert.equal(top.totals.names, 3, "totals cover every name, not only the ones shown");
    assert.equal(buildLibsReport(scan, { path: /^nothing$/ }).libraries.length, 0);
  });

  it("shares: pairs by kind and mapping, groups, per-process figures", () => {
    const r = buildSharesReport(scan);
    assert.deepEqual(r.processes.map((p) => p.pid).sort((a, b) => a - b), [10, 11, 12, 20, 21, 22, 30]);
    for (const [a, b] of [[10, 11], [10, 12], [11, 12]] as const) {
      const p = pair(r, a, b);
      assert.deepEqual([p.bytes, p.file, p.shmem, p.cow, p.ksm], [6 * P, 4 * P, 2 * P, 0, 0], `pair ${a}-${b}`);
      assert.deepEqual(p.mappings.map((m) => [m.name, m.kind, m.bytes]), [[LIB_PATH, "file", 4 * P], ["/dev/zero (deleted)", "shmem", 2 * P]]);
    }
    for (const a of [10, 11, 12]) assert.deepEqual([pair(r, a, 30).bytes, pair(r, a, 30).file], [P, P]);
    for (const [a, b] of [[20, 21], [20, 22], [21, 22]] as const) {
      const p = pair(r, a, b);
      assert.deepEqual([p.bytes, p.cow], [3 * P, 3 * P]);
      assert.deepEqual(p.mappings.map((m) => [m.name, m.kind, m.start]), [["[heap]", "cow", null]]);
    }
    const k = pair(r, 20, 30);
    assert.deepEqual([k.bytes, k.ksm], [P, P]);
    assert.deepEqual(k.mappings.map((m) => [m.name, m.start, m.kind]), [["[anon]", KSM_ADDR, "ksm"]]);
    assert.equal(r.pairs.length, 3 + 3 + 3 + 1, "no other pair shares anything (the zero page is not memory)");
    assert.deepEqual(r.pairs.slice(0, 3).map((p) => p.bytes), [6 * P, 6 * P, 6 * P], "most bytes first");

    const groups = r.groups.map((g) => [g.processes.map((p) => p.pid).join(","), g.bytes]);
    assert.deepEqual(groups, [
      ["10,11,12", 5 * P],
      ["20,21,22", 3 * P],
      ["10,11,12,30", P],
      ["20,30", P],
    ]);
    assert.deepEqual(r.withinSelection, { bytes: 10 * P, file: 4 * P, shmem: 2 * P, cow: 3 * P, ksm: P, hugetlb: 0 });
    const p10 = r.processes.find((p) => p.pid === 10)!;
    assert.deepEqual([p10.shared, p10.withSelected, p10.withOthers], [6 * P, 6 * P, 0]);
  });

  it("shares: a chosen selection tells sharing inside it from sharing with the rest", () => {
    const r = buildSharesReport(scan, { pids: [10, 11] });
    assert.deepEqual(r.processes.map((p) => p.pid), [10, 11]);
    assert.equal(r.pairs.length, 1);
    assert.equal(pair(r, 10, 11).bytes, 6 * P);
    const p10 = r.processes[0]!;
    // Every page 10 shares with 11 is also mapped by 12 (and LIB by 30), outside the selection.
    assert.deepEqual([p10.shared, p10.withSelected, p10.withOthers], [6 * P, 6 * P, 6 * P]);

    const s = buildSharesReport(scan, { pids: [30, 10, 999] });
    assert.deepEqual(s.missing, [999]);
    assert.ok(s.notes.some((n) => n.includes("999")));
    const p30 = s.processes.find((p) => p.pid === 30)!;
    assert.deepEqual([p30.shared, p30.withSelected, p30.withOthers], [2 * P, P, 2 * P]);
    assert.deepEqual(s.groups.map((g) => [g.processes.map((p) => p.pid), g.bytes]), [[[10, 30], P]]);

    // --limit keeps the pairs and groups with the most bytes, the same ones and the same figures as without it.
    const all = buildSharesReport(scan);
    const lim = buildSharesReport(scan, { limit: 2 });
    assert.deepEqual([lim.pairs.length, lim.pairCount, lim.groups.length, lim.groupCount, lim.limit], [2, 10, 2, 4, 2]);
    assert.deepEqual(lim.pairs, all.pairs.slice(0, 2));
    assert.deepEqual(lim.groups, all.groups.slice(0, 2));
    assert.deepEqual(lim.processes, all.processes, "per-process figures do not depend on the limit");
    assert.deepEqual(lim.withinSelection, all.withinSelection);
    const unl = buildSharesReport(scan, { limit: 0 });
    assert.deepEqual([unl.pairs.length, unl.groups.length], [10, 4]);
    assert.deepEqual(unl.pairs, all.pairs);
    const limTable = renderSharesTable(lim, { unit: "k", groups: true });
    assert.match(limTable, /Pairs sharing pages, most first \(the first 2 of 10\):/);
    assert.match(limTable, /\(8 more pairs not shown: --limit N shows the first N, --limit 0 all\)/);
    assert.match(limTable, /\(2 more groups not shown/);

    const top2 = buildSharesReport(scan, { top: 2 });
    assert.equal(top2.processes.length, 2);
    const forkers = buildSharesReport(scan, { command: /^forker/ });
    assert.deepEqual(forkers.processes.map((p) => p.pid).sort(), [20, 21, 22]);
  });

  it("renders the tables", () => {
    const libs = renderLibsTable(buildLibsReport(scan), "k");
    assert.match(libs, /^ *RSS +PSS +USS +SWAP +PROCS +NAME \/ COMMAND \[PID\]$/m);
    assert.match(libs, /^ *64K +28K +12K +0K +4 +\/usr\/lib\/libfoo\.so$/m);
    assert.match(libs, /^ *4K +1K +0K +0K +\/usr\/sbin\/other \[30\]$/m);
    assert.match(libs, /TOTAL: 3 name\(s\)/);
    const summary = renderLibsTable(buildLibsReport(scan), "k", true);
    assert.doesNotMatch(summary, /\[30\]/);
    // --limit: processes listed per name, the rest counted in a row.
    const limited = renderLibsTable(buildLibsReport(scan), "k", false, false, 1);
    assert.match(limited, /^ *64K +28K +12K +0K +4 +\/usr\/lib\/libfoo\.so$/m);
    assert.match(limited, /^ +\.\.\. and 3 more process\(es\) \(--limit 0 lists all\)$/m);
    assert.equal(renderLibsTable(buildLibsReport(scan), "k", false, false, 0), libs, "--limit 0 lists all");

    const shares = renderSharesTable(buildSharesReport(scan), { unit: "k", groups: true });
    assert.match(shares, /^ *10 +11 +24K +16K +8K +0K +0K +libfoo\.so 16K, \/dev\/zero \(deleted\) 8K$/m);
    assert.match(shares, /^ *20 +30 +4K +0K +0K +0K +4K +\[anon 0x7f2000000000\] 4K$/m);
    assert.match(shares, /^ *20K +12K +8K +0K +0K +10,11,12 +libfoo\.so 12K, \/dev\/zero \(deleted\) 8K$/m);
    assert.match(shares, /Shared within the selection \(distinct pages\): 40K: file 16K, shmem 8K, cow 12K, ksm 4K/);
    assert.equal(mappingLabel({ name: "/memfd:pool (deleted)", start: null }), "/memfd:pool (deleted)");
    assert.equal(mappingLabel({ name: "/usr/lib/x86_64-linux-gnu/libc.so.6", start: null }), "libc.so.6");
  });

  it("the CLI: libs and shares --json on --root, and their errors", async () => {
    const cli = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
      const c = captureIo();
      const code = await run(["--root", tree.root, ...args], c.io);
      return { code, out: c.out(), err: c.err() };
    };
    const l = await cli("libs", "--json", "--perms", "x");
    assert.equal(l.code, 0, l.err);
    const doc = JSON.parse(l.out) as LibsReport;
    assert.equal(doc.schemaVersion, 1);
    assert.deepEqual(doc.filters, { path: null, perms: "x", all: false });
    assert.deepEqual(doc.libraries.map((x) => [x.name, x.count, x.rss]), [[LIB_PATH, 4, 13 * P]]);
    near(doc.libraries[0]!.pss, 4 * P, "libfoo text PSS (JSON)");
    const s = await cli("shares", "--json", "--pid", "20,21,22");
    assert.equal(s.code, 0, s.err);
    const sd = JSON.parse(s.out) as SharesReport;
    assert.deepEqual(sd.pairs.map((p) => [p.a.pid, p.b.pid, p.cow]), [[20, 21, 3 * P], [20, 22, 3 * P], [21, 22, 3 * P]]);
    assert.equal(sd.groups[0]!.bytes, 3 * P);
    const t = await cli("shares", "--groups", "--units", "k");
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /Groups:/);
    const sl = await cli("shares", "--json", "--limit", "1");
    const sld = JSON.parse(sl.out) as SharesReport;
    assert.deepEqual([sld.pairs.length, sld.pairCount, sld.limit], [1, 10, 1]);
    const sc = await cli("shares", "--csv");
    assert.equal(sc.code, 0, sc.err);
    assert.match(sc.out.split("\n")[0]!, /^pidA,pidB,bytes,file,shmem,cow,ksm,hugetlb,through,commandA,commandB$/);
    assert.equal(sc.out.trimEnd().split("\n").length, 1 + 10);
    const lc = await cli("libs", "--csv", "--perms", "x");
    assert.equal(lc.code, 0, lc.err);
    assert.equal(lc.out.trimEnd().split("\n").length, 1 + 4, "one row per process of libfoo's text");
    assert.equal((await cli("shares", "--limit", "x")).code, 2);
    assert.equal((await cli("libs", "--limit", "-1")).code, 2);

    assert.equal((await cli("libs", "--perms", "rwz")).code, 2);
    assert.equal((await cli("libs", "--path", "(")).code, 2);
    assert.equal((await cli("libs", "--top", "0")).code, 2);
    assert.equal((await cli("shares", "--pid", "999")).code, 4);
    assert.equal((await cli("shares", "--pid", "10", "--top", "3")).code, 2);
  });
});

describe("hugetlb sharing", () => {
  it("a shared hugetlb segment: libs shows it although it has no RSS; shares counts it as hugetlb", async () => {
    const t = FixtureTree.create();
    try {
      const HUGE = 0x40000;
      const SEG = "/SYSV00001234 (deleted)";
      for (const pid of [40, 41]) {
        const p = t.process(pid, { name: `db${pid}` });
        const m = p.map({ start: 0x7f30_0000_0000, pages: PMD_PAGES, perms: "rw-s", dev: "00:10", inode: 98_304, name: SEG });
        p.fill(m.start, PMD_PAGES, (i) => pte({ pfn: HUGE + i, file: true }));
      }
      t.pages(HUGE, PMD_PAGES, (i) => hugetlbPage(i, 2));
      const scan = await scanSystem(t.procfs());
      const seg = lib(buildLibsReport(scan), SEG);
      assert.deepEqual([seg.count, seg.rss, seg.hugetlb], [2, 0, 2 * PMD_PAGES * P]);
      near(seg.hugetlbPss, PMD_PAGES * P, "hugetlb PSS");
      assert.match(renderLibsTable(buildLibsReport(scan), "m"), /^ *0\.0M +0\.0M +0\.0M +0\.0M +4\.0M +2 +\/SYSV00001234 \(deleted\)$/m);
      const r = buildSharesReport(scan);
      const p = pair(r, 40, 41);
      assert.deepEqual([p.bytes, p.hugetlb], [PMD_PAGES * P, PMD_PAGES * P]);
      assert.deepEqual(p.mappings.map((m) => [m.name, m.kind]), [[SEG, "hugetlb"]]);
    } finally {
      t.cleanup();
    }
  });
});

describe("libs and shares without page data (no root)", () => {
  let tree: FixtureTree;
  before(() => {
    tree = buildTree({ kpage: false });
    tree.write();
  });
  after(() => tree.cleanup());

  it("libs falls back to each process's smaps; shares refuses with exit 5", async () => {
    const c = captureIo();
    const code = await run(["--root", tree.root, "libs", "--json", "--path", "libfoo"], c.io);
    assert.equal(code, 0, c.err());
    const doc = JSON.parse(c.out()) as LibsReport;
    const foo = doc.libraries[0]!;
    assert.equal(foo.name, LIB_PATH);
    // smaps of pids 10-12: text Rss 16 kB / Pss 5 kB, data Rss 4 kB / Pss 4 kB; pid 30's mapping has no smaps fields.
    assert.equal(foo.rss, 3 * 20 * 1024);
    assert.equal(foo.pss, 3 * 9 * 1024);
    assert.ok(foo.processes.every((p) => p.source === "smaps"));
    assert.ok(doc.notes.some((n) => n.includes("smaps")));
    const s = captureIo();
    assert.equal(await run(["--root", tree.root, "shares"], s.io), 5);
    assert.match(s.err(), /run as root/);
  });
});

describe("page-owner index on hand-built runs", () => {
  it("handles runs across table pages, one process mapping a page twice, and processes without page data", () => {
    const PAGE = 1 << 16;
    const store = new EntryStore();
    // Process 0: a run crossing from table page 0 into page 1, and the same PFNs again from a second VMA.
    store.push(PAGE - 2, 4, 0, 0);
    store.push(PAGE - 1, 1, 1, 0);
    // Process 2: one PFN far up (table page 300).
    store.push(300 * PAGE + 5, 1, 0, 0);
    const procs: OwnerSource[] = [
      { vmas: { length: 2 }, source: "pagemap", runs: { start: 0, end: 2 }, refs: { start: 0, end: 0 } },
      { vmas: { length: 3 }, source: "smaps_rollup", runs: { start: 0, end: 0 }, refs: { start: 0, end: 0 } },
      { vmas: { length: 1 }, source: "pagemap", runs: { start: 2, end: 3 }, refs: { start: 0, end: 0 } },
    ];
    const o = buildPageOwners(procs, { runs: store.view(), objects: NO_OBJECTS, refs: NO_REFS });
    assert.deepEqual([...o.firstMapping], [0, 2, 5, 6]);
    assert.deepEqual([...o.mappersOf(PAGE - 2)], [0]);
    assert.deepEqual([...o.mappersOf(PAGE - 1)], [0, 1], "mapped from both VMAs of process 0");
    assert.deepEqual([...o.mappersOf(PAGE)], [0]);
    assert.deepEqual([...o.mappersOf(PAGE + 1)], [0]);
    assert.equal(o.mapperCount(PAGE + 2), 0);
    assert.deepEqual([...o.mappersOf(300 * PAGE + 5)], [5]);
    assert.equal(o.mappingProc[5], 2);
    assert.equal(o.mappingVma[5], 0);
    assert.equal(o.entries, 6);
    assert.equal(o.pfns, 5);
    const seen: number[] = [];
    o.forEachPfn(1, (pfn) => seen.push(pfn));
    assert.deepEqual(seen, [PAGE - 2, PAGE - 1, PAGE, PAGE + 1, 300 * PAGE + 5], "ascending PFN order");
  });
});

describe("permission patterns", () => {
  it("positional patterns compare each place; letter sets require all letters", () => {
    assert.equal(matchPerms("r-xp", "r-xp"), true);
    assert.equal(matchPerms("r-xs", "r-xp"), false);
    assert.equal(matchPerms("r-xp", "??x?"), true);
    assert.equal(matchPerms("rw-p", "??x?"), false);
    assert.equal(matchPerms("r-xp", "x"), true);
    assert.equal(matchPerms("rw-p", "x"), false);
    assert.equal(matchPerms("rw-s", "rws"), true);
    assert.equal(matchPerms("rw-p", "rws"), false);
    assert.equal(matchPerms("---p", "p"), true);
    for (const ok of ["x", "r-xp", "??x?", "rw", "s", "rwxsp"]) assert.equal(isPermsPattern(ok), true, ok);
    for (const bad of ["", "z", "r-x", "rwxpp?", "xr-p"]) assert.equal(isPermsPattern(bad), false, bad);
  });
});
