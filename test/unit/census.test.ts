/**
 * The page-flags census over small sparse kpageflags / kpagecgroup files in
 * a temporary directory (read through `new ProcFs({ root })`, like a saved
 * tree), a process census over a fixture tree, and the report, renderers
 * and CLI built on them. Expected counts come from the words written, never
 * from pagelens output.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ProcFs } from "../../src/procfs/procfs.js";
import { ParseError, ProcReadError } from "../../src/errors.js";
import { CENSUS_BATCH, censusPfns, findKpageEnd, FlagCounter, normalizeRanges, type Census } from "../../src/scan/census.js";
import { censusProcess } from "../../src/scan/process-census.js";
import { parseBitsSpec } from "../../src/decode/flag-filter.js";
import { KPF_ANON, KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL, KPF_HUGE, KPF_LRU, KPF_MMAP, KPF_OWNER_2, KPF_SWAPBACKED, KPF_THP, KPF_UPTODATE } from "../../src/decode/kpageflags.js";
import { buildFlagsReport, type FlagsReport } from "../../src/report/flags-report.js";
import { renderFlagsSummary, writeFlagsJson, writeFlagsTable } from "../../src/render/flags-render.js";
import { run } from "../../src/cli/run.js";
import { parseMaps, type Vma } from "../../src/parse/maps.js";
import { anonPte, flagsWord, guardPte, pte, swapPte, thpPage, writeSparseWords, anonPage, type Word } from "../support/pagemap-builder.js";
import { captureIo, FixtureTree } from "../support/fixture-tree.js";

const PS = 4096;
const ANON = flagsWord([KPF_UPTODATE, KPF_LRU, KPF_MMAP, KPF_ANON, KPF_SWAPBACKED]);
const BUDDY = flagsWord([10]);
const FILE = flagsWord([KPF_UPTODATE, KPF_LRU, KPF_MMAP]);
/** An anonymous page flagged anon-exclusive (owner_2, bit 34), as 6.12+ kernels report it. */
const ANON_EXCL = flagsWord([KPF_UPTODATE, KPF_LRU, KPF_MMAP, KPF_ANON, KPF_SWAPBACKED, KPF_OWNER_2]);
const THP_HEAD = flagsWord([KPF_UPTODATE, KPF_LRU, KPF_MMAP, KPF_ANON, KPF_SWAPBACKED, KPF_THP, KPF_COMPOUND_HEAD]);
const THP_TAIL = flagsWord([KPF_UPTODATE, KPF_LRU, KPF_MMAP, KPF_ANON, KPF_SWAPBACKED, KPF_THP, KPF_COMPOUND_TAIL]);
const HUGETLB_HEAD = flagsWord([KPF_UPTODATE, KPF_HUGE, KPF_COMPOUND_HEAD]);

/** A temp dir with kpageflags (and optionally kpagecgroup) of `words` PFNs; `set` gives non-zero words. */
function kpageDir(t: { after: (fn: () => void) => void }, words: number, flags: Iterable<readonly [number, Word]>, cgroups?: Iterable<readonly [number, Word]>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pagelens-census-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  writeSparseWords(path.join(dir, "kpageflags"), words, flags);
  if (cgroups) writeSparseWords(path.join(dir, "kpagecgroup"), words, cgroups);
  return dir;
}

function countsOf(c: Census): Map<string, number> {
  const m = new Map<string, number>();
  c.counts.forEach((lo, hi, n) => m.set(`${hi.toString(16)}:${lo.toString(16)}`, n));
  return m;
}

const key = (w: Word): string => `${w.hi.toString(16)}:${w.lo.toString(16)}`;

/** A small machine: PFNs 0..4095; 100 anon pages at 0x100, 50 buddy at 0x400, 1 file page at 0x800, the rest 0. */
function smallMachine(): [number, Word][] {
  const out: [number, Word][] = [];
  for (let i = 0; i < 100; i++) out.push([0x100 + i, ANON]);
  for (let i = 0; i < 50; i++) out.push([0x400 + i, BUDDY]);
  out.push([0x800, FILE]);
  return out;
}

test("FlagCounter counts per exact 64-bit word and keeps counting while it grows", () => {
  const c = new FlagCounter(2);
  for (let i = 0; i < 5000; i++) c.add(i >>> 0, (i * 7) >>> 0, 1);
  c.add(0, 0, 10);
  c.add(0xffffffff, 0xffffffff, 3);
  c.add(0xffffffff, 0xffffffff, 4);
  assert.equal(c.size, 5001);
  assert.equal(c.get(0, 0), 11);
  assert.equal(c.get(4999, 4999 * 7), 1);
  assert.equal(c.get(0xffffffff, 0xffffffff), 7);
  assert.equal(c.get(0xffffffff, 0), 0);
  let total = 0;
  c.forEach((_lo, _hi, n) => (total += n));
  assert.equal(total, 5000 + 10 + 7);
});

test("whole census: one count per flag word, total = file size / 8, end found", (t) => {
  const root = kpageDir(t, 4096, smallMachine());
  const c = censusPfns(new ProcFs({ root, sysRoot: null }));
  assert.equal(c.pages, 4096);
  assert.equal(c.examined, 4096);
  assert.equal(c.pfnEnd, 4096);
  assert.equal(c.beyondEnd, 0);
  assert.deepEqual(
    countsOf(c),
    new Map([
      [key({ lo: 0, hi: 0 }), 4096 - 151],
      [key(ANON), 100],
      [key(BUDDY), 50],
      [key(FILE), 1],
    ]),
  );
});

test("PFN ranges: merged when they overlap, clipped at the end of the file", (t) => {
  const root = kpageDir(t, 4096, smallMachine());
  const procfs = new ProcFs({ root, sysRoot: null });
  const c = censusPfns(procfs, {
    ranges: [
      { start: 0x150, end: 0x200 },
      { start: 0x100, end: 0x120 },
      { start: 0x110, end: 0x130 }, // overlaps the previous one: no page counted twice
      { start: 0xf00, end: 0x1100 }, // runs past the end (0x1000)
    ],
  });
  const m = countsOf(c);
  assert.equal(m.get(key(ANON)), 0x30 + (0x164 - 0x150));
  assert.equal(c.pages, 0x30 + 0xb0 + 0x100);
  assert.equal(c.pfnEnd, 0x1000);
  assert.equal(c.beyondEnd, 0x100);
  assert.deepEqual(normalizeRanges([{ start: 5, end: 9 }, { start: 1, end: 3 }, { start: 3, end: 6 }]), [{ start: 1, end: 9 }]);
});

test("cgroup filter: only pages whose kpagecgroup word is the inode (0: uncharged)", (t) => {
  const cg: [number, Word][] = [];
  for (let i = 0; i < 60; i++) cg.push([0x100 + i, { lo: 5876, hi: 0 }]);
  for (let i = 60; i < 100; i++) cg.push([0x100 + i, { lo: 35, hi: 1 }]); // inode 2^32 + 35
  const root = kpageDir(t, 4096, smallMachine(), cg);
  const procfs = new ProcFs({ root, sysRoot: null });
  const a = censusPfns(procfs, { cgroup: 5876, runs: true });
  assert.deepEqual(countsOf(a), new Map([[key(ANON), 60]]));
  assert.equal(a.pages, 60);
  assert.equal(a.examined, 4096);
  assert.equal(a.runs?.length, 1);
  const b = censusPfns(procfs, { cgroup: 2 ** 32 + 35 });
  assert.deepEqual(countsOf(b), new Map([[key(ANON), 40]]));
  const none = censusPfns(procfs, { cgroup: 0 });
  assert.equal(none.pages, 4096 - 100);
});

test("a missing kpagecgroup is a clear error", (t) => {
  const root = kpageDir(t, 4096, smallMachine());
  assert.throws(() => censusPfns(new ProcFs({ root, sysRoot: null }), { cgroup: 1 }), (e: unknown) => e instanceof ProcReadError && /kpagecgroup/.test(e.message) && /CONFIG_MEMCG/.test(e.message));
});

test("runs: contiguous equal words, never across a range gap", (t) => {
  const root = kpageDir(t, 4096, smallMachine());
  const c = censusPfns(new ProcFs({ root, sysRoot: null }), { runs: true, ranges: [{ start: 0xfe, end: 0x110 }, { start: 0x120, end: 0x130 }] });
  const r = c.runs!;
  const got = Array.from({ length: r.length }, (_, i) => [r.offset[i], r.len[i], r.lo[i]]);
  assert.deepEqual(got, [
    [0xfe, 2, 0],
    [0x100, 0x10, ANON.lo],
    [0x120, 0x10, ANON.lo],
  ]);
});

test("a saved file whose size is not a multiple of 8 is rejected, naming it", (t) => {
  const root = kpageDir(t, 16, smallMachine().filter(([p]) => p < 16));
  fs.appendFileSync(path.join(root, "kpageflags"), Buffer.alloc(4));
  assert.throws(
    () => censusPfns(new ProcFs({ root, sysRoot: null })),
    (e: unknown) => e instanceof ParseError && e.message.includes(path.join(root, "kpageflags")) && /not a multiple of 8/.test(e.message),
  );
  assert.throws(() => censusPfns(new ProcFs({ root, sysRoot: null }), { kpageflags: "nope" }), (e: unknown) => e instanceof ProcReadError && /ENOENT/.test(e.message));
});

test("findKpageEnd finds the end of a kpage file by searching", (t) => {
  for (const words of [0, 1, 4096, 65536, 65537, 300_000]) {
    const root = kpageDir(t, words, []);
    const f = new ProcFs({ root, sysRoot: null }).openU64("kpageflags");
    try {
      assert.equal(findKpageEnd(f), words, `${words} words`);
    } finally {
      f.close();
    }
  }
});

test("reader threads give the same census and the same runs as one thread", (t) => {
  // 20 batches: enough for the parallel path. Words vary so runs and keys are many.
  const words = 20 * CENSUS_BATCH + 123;
  const set: [number, Word][] = [];
  for (let pfn = 1; pfn < words; pfn += 97) set.push([pfn, { lo: (pfn % 13) << 3, hi: pfn % 3 }]);
  const cg: [number, Word][] = set.map(([pfn]) => [pfn, { lo: pfn % 2 === 0 ? 7 : 9, hi: 0 }]);
  const root = kpageDir(t, words, set, cg);
  const procfs = new ProcFs({ root, sysRoot: null });
  for (const extra of [{}, { cgroup: 7 }, { ranges: [{ start: 5, end: 3 * CENSUS_BATCH }, { start: 4 * CENSUS_BATCH + 1, end: Infinity }] }]) {
    const one = censusPfns(procfs, { runs: true, ...extra });
    const many = censusPfns(procfs, { runs: true, threads: 3, ...extra });
    assert.deepEqual(countsOf(many), countsOf(one), JSON.stringify(extra));
    assert.equal(many.pages, one.pages);
    assert.equal(many.examined, one.examined);
    assert.equal(many.pfnEnd, one.pfnEnd);
    // Threads cut runs at batch edges; the listing (which coalesces) must come out the same.
    const report = (c: Census): FlagsReport => buildFlagsReport(c, { raw: true, filters: [], pageSize: PS, list: "ranges", scope: { kind: "machine", source: "x" } });
    assert.deepEqual(report(many).list, report(one).list, JSON.stringify(extra));
  }
});

test("report: default view hides hacker bits and THP compound bits but keeps hugetlb's; rows sorted; totals", (t) => {
  const set: [number, Word][] = [];
  for (let i = 0; i < 10; i++) set.push([0x10 + i, ANON_EXCL]);
  for (let i = 0; i < 5; i++) set.push([0x20 + i, ANON]);
  set.push([0x40, THP_HEAD]);
  for (let i = 1; i < 8; i++) set.push([0x40 + i, THP_TAIL]);
  set.push([0x60, HUGETLB_HEAD]);
  const root = kpageDir(t, 128, set);
  const c = censusPfns(new ProcFs({ root, sysRoot: null }), { runs: true });
  const scope = { kind: "machine" as const, source: "k" };
  const def = buildFlagsReport(c, { raw: false, filters: [], pageSize: PS, scope });
  assert.deepEqual(
    def.rows.map((r) => [r.flags, r.pages]),
    [
      ["0x0000000000000000", 128 - 24],
      ["0x0000000000005828", 15], // owner_2 is hidden: exclusive and not alike
      ["0x0000000000405828", 8], // THP head and tails together, compound bits hidden
      ["0x0000000000028008", 1], // hugetlb keeps compound_head
    ],
  );
  assert.deepEqual(def.total, { pages: 128, bytes: 128 * PS });
  assert.deepEqual(def.rows[1]!.names, ["uptodate", "lru", "mmap", "anonymous", "swapbacked"]);
  assert.equal(def.rows[1]!.symbolic, "___U_l_____Ma_b____________");

  const raw = buildFlagsReport(c, { raw: true, filters: [], pageSize: PS, scope });
  const rawRows = new Map(raw.rows.map((r) => [r.flags, r]));
  // owner_2 on an anonymous page becomes page-types' synthetic anon_exclusive (bit 47).
  assert.equal(rawRows.get("0x0000800000005828")?.pages, 10);
  assert.ok(rawRows.get("0x0000800000005828")?.names.includes("anon_exclusive"));
  assert.equal(rawRows.get("0x0000000000415828")?.pages, 7);
  assert.equal(rawRows.get("0x000000000040d828")?.pages, 1);

  const filtered = buildFlagsReport(c, { raw: true, filters: [parseBitsSpec("anon"), parseBitsSpec("~thp")], pageSize: PS, scope, list: "ranges" });
  assert.deepEqual(filtered.total, { pages: 15, bytes: 15 * PS });
  assert.deepEqual(
    filtered.list?.map((r) => [r.offset, r.pages, r.flags]),
    [
      [0x10, 10, "0x0000800000005828"],
      [0x20, 5, "0x0000000000005828"],
    ],
  );
  const merged = buildFlagsReport(c, { raw: false, filters: [parseBitsSpec("thp")], pageSize: PS, scope, list: "ranges" });
  assert.deepEqual(
    merged.list?.map((r) => [r.offset, r.pages]),
    [[0x40, 8]],
    "head and tails differ in raw words but coalesce once compound bits are hidden",
  );
});

test("renderers: page-types-like table, tab-separated listings, JSON with sizes in bytes", (t) => {
  const root = kpageDir(t, 4096, smallMachine());
  const c = censusPfns(new ProcFs({ root, sysRoot: null }), { runs: true });
  const report = buildFlagsReport(c, { raw: false, filters: [parseBitsSpec("anon,buddy")], pageSize: PS, scope: { kind: "machine", source: "/x/kpageflags" }, list: "ranges" });
  const table = renderFlagsSummary(report);
  assert.match(table, /^\s+flags\s+page-count\s+MB\s+symbolic-flags\s+long-symbolic-flags$/m);
  assert.match(table, /^0x0000000000005828\s+100\s+0\s+___U_l_____Ma_b_+\s+uptodate,lru,mmap,anonymous,swapbacked$/m);
  assert.match(table, /^\s+total\s+150\s+0$/m);

  let out = "";
  writeFlagsTable(report, (s) => (out += s));
  assert.ok(out.startsWith("offset\tlen\tflags\n100\t64\t___U_l_____Ma_b_"), out.slice(0, 80));
  assert.match(out, /^400\t32\t__________B_+$/m);
  out = "";
  writeFlagsTable({ ...report, listEach: true }, (s) => (out += s), false);
  assert.equal(out.split("\n").filter((l) => l !== "").length, 1 + 150, "header + one line per page, no summary");

  let json = "";
  writeFlagsJson(report, (s) => (json += s));
  const doc = JSON.parse(json) as FlagsReport;
  assert.equal(doc.total.bytes, 150 * PS);
  assert.equal(doc.rows[0]!.bytes, 100 * PS);
  assert.deepEqual(doc.list?.[0], { voffset: null, offset: 0x100, pages: 100, flags: "0x0000000000005828", symbolic: "___U_l_____Ma_b____________" });
  json = "";
  writeFlagsJson({ ...report, listEach: true }, (s) => (json += s));
  assert.equal((JSON.parse(json) as FlagsReport).list?.length, 150);
  json = "";
  writeFlagsJson({ ...report, list: [] }, (s) => (json += s));
  assert.deepEqual((JSON.parse(json) as FlagsReport).list, []);
  json = "";
  writeFlagsJson({ ...report, list: null }, (s) => (json += s));
  assert.equal((JSON.parse(json) as FlagsReport).list, null);
});

/** A process with 4 anon pages, 2 pages of a THP, 2 swapped pages, a guard marker and a file page. */
function processTree(): FixtureTree {
  const t = FixtureTree.create();
  const p = t.process(100, { name: "app" });
  const heap = p.map({ start: 0x5555_0000_0000, pages: 16, name: "[heap]" });
  p.fill(heap.start, 4, (i) => anonPte(0x1000 + i));
  p.fill(heap.start + 4 * PS, 2, (i) => anonPte(0x2000 + i));
  p.set(heap.start + 8 * PS, swapPte({ type: 0, offset: 7 }));
  p.set(heap.start + 9 * PS, swapPte({ type: 0, offset: 8 }));
  p.set(heap.start + 10 * PS, guardPte());
  const lib = p.map({ start: 0x7f00_0000_0000, pages: 1, perms: "r-xp", name: "/usr/lib/libc.so.6", inode: 42, dev: "fd:01" });
  p.set(lib.start, pte({ pfn: 0x3000, file: true }));
  t.pages(0x1000, 4, () => anonPage(1, 5876));
  t.pages(0x2000, 2, (i) => thpPage(i, 1, 5876));
  t.page(0x3000, { count: 3, flags: [KPF_UPTODATE, KPF_LRU, KPF_MMAP], cgroup: 35 });
  return t;
}

test("process census: present pages by flags, swapped pages with the swap bit, markers left out", (t) => {
  const tree = processTree();
  t.after(() => tree.cleanup());
  const procfs = tree.procfs();
  const c = censusProcess(procfs, 100, { vmas: parseVmas(tree), pageSize: PS, maxSwapfiles: 23, runs: true });
  assert.equal(c.scope, "process");
  assert.equal(c.pages, 4 + 2 + 2 + 1);
  assert.equal(c.skippedNonPresent, 1, "the guard marker");
  const def = buildFlagsReport(c, { raw: false, filters: [], pageSize: PS, scope: { kind: "process", pid: 100, source: "k" }, list: "ranges" });
  assert.deepEqual(
    def.rows.map((r) => [r.flags, r.pages]),
    [
      ["0x0000000000005828", 4],
      ["0x0000000000405828", 2],
      ["0x4000000000000000", 2], // swapped out: the synthetic swap bit, even in the default view
      ["0x0000000000000828", 1], // the file page: pagemap's file bit only in raw mode
    ],
  );
  const raw = buildFlagsReport(c, { raw: true, filters: [parseBitsSpec("file")], pageSize: PS, scope: { kind: "process", pid: 100, source: "k" }, list: "ranges" });
  assert.deepEqual(raw.rows.map((r) => [r.flags, r.pages]), [["0x2000000000000828", 1]]);
  assert.deepEqual(raw.list, [{ voffset: 0x7f00_0000_0000 / PS, offset: 0x3000, pages: 1, flags: "0x2000000000000828", symbolic: raw.list![0]!.symbolic }]);
  const exclusive = buildFlagsReport(c, { raw: true, filters: [parseBitsSpec("mmap_exclusive")], pageSize: PS, scope: { kind: "process", pid: 100, source: "k" } });
  assert.equal(exclusive.total.pages, 6, "anonPte entries are exclusive in pagemap");
  const swapList = def.list!.filter((r) => r.flags === "0x4000000000000000");
  assert.deepEqual(swapList.map((r) => [r.voffset, r.offset, r.pages]), [[0x5555_0000_0000 / PS + 8, 7, 2]], "swap offsets in the offset column, coalesced");

  const inCg = censusProcess(procfs, 100, { vmas: parseVmas(tree), pageSize: PS, maxSwapfiles: 23, cgroup: 5876 });
  assert.equal(inCg.pages, 6, "cgroup filter: present pages of that memcg only, no swap");
  const ranged = censusProcess(procfs, 100, { vmas: parseVmas(tree), pageSize: PS, maxSwapfiles: 23, ranges: [{ start: 0x5555_0000_0000 / PS + 2, end: 0x5555_0000_0000 / PS + 5 }] });
  assert.equal(ranged.pages, 3, "virtual page ranges");
});

function parseVmas(tree: FixtureTree): Vma[] {
  return parseMaps(new ProcFs({ root: tree.root, sysRoot: null }).readText("100/maps"));
}

test("CLI: flags on a --root tree, describe, and clear errors for bad input", async (t) => {
  const tree = processTree();
  t.after(() => tree.cleanup());
  tree.write();
  const cli = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    const c = captureIo();
    const code = await run(["--root", tree.root, ...args], c.io);
    return { code, out: c.out(), err: c.err() };
  };

  let r = await cli("flags", "--json");
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as FlagsReport;
  const words = fs.statSync(path.join(tree.root, "kpageflags")).size / 8;
  assert.equal(doc.total.pages, words);
  assert.equal(doc.total.bytes, words * doc.pageSize);
  assert.equal(doc.scope.kind, "machine");

  r = await cli("flags", "--pid", "100", "--bits", "anon");
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^process 100 \(\/usr\/bin\/app\)/);
  assert.match(r.out, /^\s+total\s+6\s+0$/m);

  r = await cli("flags", "--describe", "anon,lru");
  assert.equal(r.code, 0);
  assert.match(r.out, /0x0000000000001020\s+_____l______a_+\s+lru,anonymous/);

  r = await cli("flags", "--bits", "anon,nosuch");
  assert.equal(r.code, 2);
  assert.match(r.err, /^pagelens: --bits: "nosuch" in "anon,nosuch" is not a flag name/);
  assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");

  r = await cli("flags", "--addr", "9,3");
  assert.equal(r.code, 2);
  assert.match(r.err, /--addr: "9,3" is an empty range/);

  const bad = path.join(tree.base, "truncated");
  fs.writeFileSync(bad, Buffer.alloc(8 * 10 + 3));
  r = await cli("flags", "--kpageflags", bad);
  assert.equal(r.code, 3);
  assert.match(r.err, new RegExp(`cannot parse ${bad}: size 83 is not a multiple of 8`));

  r = await cli("flags", "--kpageflags", path.join(tree.base, "missing"));
  assert.equal(r.code, 3, "unlike page-types, a missing --kpageflags file is an error");
  assert.match(r.err, /missing: ENOENT/);

  r = await cli("flags", "--kpageflags", bad, "--pid", "100");
  assert.equal(r.code, 2);

  r = await cli("flags", "--pid", "4242");
  assert.equal(r.code, 4);

  r = await cli("flags", "--cgroup", "@5876", "--list", "--no-summary");
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, "offset\tlen\tflags\n1000\t4\t___U_l_____Ma_b____________\n2000\t2\t___U_l_____Ma_b_______t____\n");

  r = await cli("flags", "--cgroup", tree.base);
  assert.equal(r.code, 2);
  assert.match(r.err, /--cgroup: .* (is not on a cgroup filesystem|is not a memory cgroup)/);
});
