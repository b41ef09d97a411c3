/**
 * Accounting over hand-built run columns and a tiny fake kpage table,
 * checked against the smaps rules (fs/proc/task_mmu.c smaps_account) as
 * restated in the reference notes §5.3.
 */
import { pssShareBytes } from "../../src/accounting/kernel-pss.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { accountSwap, countSwapRefs } from "../../src/accounting/account.js";
import { accountEntries, type KpagePages, type RunSource } from "../../src/scan/kpage-account.js";
import { NF, U, USAGE_FIELDS, addUsage, sumRows, usageRow, zeroUsage, type MemUsage } from "../../src/accounting/usage.js";
import { E_HUGE_RUN, EntryStore, type RunColumns } from "../../src/scan/entry-store.js";
import { KpageTable, PfnSet } from "../../src/scan/kpage-lookup.js";
import { PFN_BLOCK_SHIFT } from "../../src/scan/wasm-abi.js";

const PS = 4096;
const TABLE_PAGE = 1 << PFN_BLOCK_SHIFT;

// kpageflags bits, written out by number (uapi kernel-page-flags.h).
const DIRTY = 1 << 4;
const LRU = 1 << 5;
const MMAP = 1 << 11;
const ANON = 1 << 12;
const SWAPBACKED = 1 << 14;
const HEAD = 1 << 15;
const TAIL = 1 << 16;
const HUGE = 1 << 17;
const KSM = 1 << 21;
const THP = 1 << 22;
const ZERO = 1 << 24;
const UPTODATE = 1 << 3;

/**
 * A kpagecount + kpageflags table (a real KpageTable): PFN -> [count, flagsLo].
 * The 8 PFNs after each listed one are looked up too and read as 0/0, so a
 * run may run past the listed PFNs, as on a machine with holes.
 */
function fakeKpage(values: Record<number, [number, number]>): KpagePages {
  const set = new PfnSet();
  for (const pfnText of Object.keys(values)) set.addRun(Number(pfnText), 9);
  const table = KpageTable.forSet(set, false);
  for (const [pfnText, [count, flags]] of Object.entries(values)) {
    const r = table.rankOf(Number(pfnText));
    table.count[r] = count;
    table.flagsLo[r] = flags;
  }
  return table;
}

/** A run record: `len` pages from `pfn` in VMA row `vma` (len defaults to 1). */
type Run = [pfn: number, vma: number, len?: number, bits?: number];

/** Run columns from plain arrays, delivered in chunks of `chunk` records at a non-zero offset, as a chunked store does. */
function runs(list: Run[], chunk = 3): RunSource {
  return {
    forEachChunk(start, end, fn) {
      for (let s = start; s < end; s += chunk) {
        const e = Math.min(end, s + chunk);
        const off = 5;
        const n = off + e - s;
        const cols: RunColumns = { pfn: new Float64Array(n), len: new Uint32Array(n), vma: new Uint32Array(n), bits: new Uint8Array(n) };
        for (let i = s; i < e; i++) {
          const [pfn, vma, len = 1, bits = 0] = list[i]!;
          cols.bits[off + i - s] = bits;
          cols.pfn[off + i - s] = pfn;
          cols.vma[off + i - s] = vma;
          cols.len[off + i - s] = len;
        }
        fn(cols, off, n);
      }
    },
  };
}

/** Account single pages `pfns` (one record each) in rows `vmas`. */
function run(pfns: number[], vmas: number[], kpage: KpagePages, rows = 2, start = 0, end = pfns.length): Float64Array {
  const usage = new Float64Array(rows * NF);
  accountEntries(
    runs(pfns.map((p, i) => [p, vmas[i]!])),
    start,
    end,
    kpage,
    usage,
    PS,
  );
  return usage;
}

/** The non-zero fields of a row, for exact comparison. */
function nonZero(u: MemUsage): Partial<MemUsage> {
  return Object.fromEntries(Object.entries(u).filter(([, v]) => v !== 0)) as Partial<MemUsage>;
}

test("a private anon page (count 1): rss, pss, uss, anon, pssAnon", () => {
  const u = run([100], [0], fakeKpage({ 100: [1, UPTODATE | LRU | MMAP | ANON | SWAPBACKED] }));
  assert.deepEqual(nonZero(usageRow(u, 0)), { rss: PS, pss: PS, uss: PS, anon: PS, pssAnon: PS });
  assert.deepEqual(nonZero(usageRow(u, 1)), {});
});

test("the zero page goes to zeroPage, not rss (4 KiB zero page and huge zero page)", () => {
  const u = run(
    [0x3b34, 0x200000, 0x200001],
    [0, 0, 0],
    fakeKpage({
      0x3b34: [0, ZERO], // 4 KiB zero page: kpagecount 0, ZERO_PAGE (+RESERVED, a high bit)
      0x200000: [0, ZERO | THP | HEAD], // huge zero page head
      0x200001: [0, ZERO | THP | TAIL],
    }),
  );
  assert.deepEqual(nonZero(usageRow(u, 0)), { zeroPage: 3 * PS });
});

test("the zero page is recognised by its flag even with a non-zero count", () => {
  const u = run([7], [0], fakeKpage({ 7: [5, ZERO] }));
  assert.deepEqual(nonZero(usageRow(u, 0)), { zeroPage: PS });
});

test("hugetlb pages go to hugetlbPrivate / hugetlbShared and hugetlbPss, not rss", () => {
  const u = run(
    [0x40000, 0x40001, 0x40200],
    [1, 1, 1],
    fakeKpage({
      0x40000: [1, HUGE | HEAD | MMAP | ANON | SWAPBACKED],
      0x40001: [1, HUGE | TAIL | MMAP | ANON | SWAPBACKED],
      0x40200: [2, HUGE | HEAD | MMAP | SWAPBACKED],
    }),
  );
  assert.deepEqual(nonZero(usageRow(u, 1)), { hugetlbPrivate: 2 * PS, hugetlbShared: PS, hugetlbPss: 2 * PS + PS / 2 });
  assert.deepEqual(nonZero(usageRow(u, 0)), {});
});

test("count 0 without the zero-page flag is unmanaged (PFN map / device memory)", () => {
  const u = run([0xfee00, 0xfee01], [0, 0], fakeKpage({ 0xfee00: [0, 0] })); // 0xfee01 not in the table at all
  assert.deepEqual(nonZero(usageRow(u, 0)), { unmanaged: 2 * PS });
});

test("count 3 gives PSS page/3 truncated to 1/4096 byte, as the kernel's fixed point does", () => {
  const u = run([500], [0], fakeKpage({ 500: [3, UPTODATE | LRU | MMAP] }));
  const r = usageRow(u, 0);
  // (4096 << 12) / 3 = 5592405 units of 1/4096 byte.
  assert.equal(r.pss, 5592405 / 4096);
  assert.equal(r.pss, pssShareBytes(PS, 3));
  assert.equal(r.pssFile, pssShareBytes(PS, 3));
  assert.equal(r.rss, PS);
  assert.equal(r.shared, PS);
  assert.equal(r.uss, 0);
  assert.equal(r.file, PS);
});

test("five pages mapped five times: the kernel's fixed point, 1/4096 byte short of 4 KiB (and not truncated to kB per VMA)", () => {
  const pfns = [1, 2, 3, 4, 5];
  const kp = fakeKpage(Object.fromEntries(pfns.map((p) => [p, [5, MMAP | LRU]])) as Record<number, [number, number]>);
  const r = usageRow(run(pfns, [0, 0, 0, 0, 0], kp), 0);
  // (4096 << 12) / 5 = 3355443 units (of 3355443.2), five times: 16777215 units of 1/4096 byte.
  assert.equal(r.pss, 16777215 / 4096, `pss ${r.pss}`);
  assert.equal(r.rss, 5 * PS);
});

test("anon / shmem / file split by ANON and SWAPBACKED", () => {
  const kp = fakeKpage({
    1: [1, MMAP | ANON | SWAPBACKED], // anon
    2: [2, MMAP | SWAPBACKED], // shmem (swapbacked, not anon)
    3: [4, MMAP | LRU], // page cache
    4: [1, MMAP | ANON], // anon, not swapbacked (MADV_FREE lazy-free): still anon
  });
  const r = usageRow(run([1, 2, 3, 4], [0, 0, 0, 0], kp), 0);
  assert.deepEqual(nonZero(r), {
    rss: 4 * PS,
    pss: PS + PS / 2 + PS / 4 + PS,
    uss: 2 * PS,
    shared: 2 * PS,
    anon: 2 * PS,
    pssAnon: 2 * PS,
    shmem: PS,
    pssShmem: PS / 2,
    file: PS,
    pssFile: PS / 4,
  });
});

test("KSM is counted alongside; THP only for runs the walk marked as PMD-sized", () => {
  const kp = fakeKpage({
    10: [128, MMAP | ANON | SWAPBACKED | KSM],
    11: [1, MMAP | ANON | SWAPBACKED | THP | TAIL | DIRTY],
    12: [1, MMAP | ANON | SWAPBACKED | THP | TAIL],
  });
  const usage = new Float64Array(NF);
  accountEntries(runs([[10, 0], [11, 0, 1, E_HUGE_RUN], [12, 0]]), 0, 3, kp, usage, PS);
  const r = usageRow(usage, 0);
  assert.equal(r.ksm, PS);
  // Page 12 is in a large folio but not PMD-mapped (an mTHP): not THP, as in smaps AnonHugePages.
  assert.equal(r.thp, PS);
  assert.equal(r.pss, PS / 128 + 2 * PS); // 128 divides 4096 << 12: no truncation
  assert.equal(r.shared, PS);
  assert.equal(r.uss, 2 * PS);
});

test("entries go to their own VMA row; the same PFN twice counts twice", () => {
  const kp = fakeKpage({ 9: [2, MMAP | LRU] });
  const u = run([9, 9], [0, 1], kp);
  assert.equal(usageRow(u, 0).pss, PS / 2);
  assert.equal(usageRow(u, 1).pss, PS / 2);
  assert.equal(sumRows(u).pss, PS);
  assert.equal(sumRows(u).rss, 2 * PS);
});

test("only entries [start, end) are accounted", () => {
  const kp = fakeKpage({ 1: [1, ANON], 2: [1, ANON], 3: [1, ANON], 4: [1, ANON], 5: [1, ANON] });
  const u = run([1, 2, 3, 4, 5], [0, 0, 1, 1, 1], kp, 2, 1, 4);
  assert.equal(usageRow(u, 0).rss, PS);
  assert.equal(usageRow(u, 1).rss, 2 * PS);
});

test("a run record covers len consecutive PFNs, each looked up on its own", () => {
  const kp = fakeKpage({ 1000: [1, MMAP | ANON | SWAPBACKED], 1001: [2, MMAP | ANON | SWAPBACKED], 1002: [0, ZERO], 1003: [3, MMAP | LRU] });
  const usage = new Float64Array(NF);
  accountEntries(runs([[1000, 0, 4]]), 0, 1, kp, usage, PS);
  assert.deepEqual(nonZero(usageRow(usage, 0)), {
    rss: 3 * PS,
    pss: PS + PS / 2 + pssShareBytes(PS, 3),
    uss: PS,
    shared: 2 * PS,
    anon: 2 * PS,
    pssAnon: PS + PS / 2,
    file: PS,
    pssFile: pssShareBytes(PS, 3),
    zeroPage: PS,
  });
});

test("a run crossing a kpage table page boundary reads both pages; a missing page is unmanaged", () => {
  // PFNs 65534..65537: the first two in table page 0, the other two in page 1, which holds no values.
  const kp = fakeKpage({ [TABLE_PAGE - 2]: [1, MMAP | ANON], [TABLE_PAGE - 1]: [1, MMAP | ANON] });
  const usage = new Float64Array(NF);
  accountEntries(runs([[TABLE_PAGE - 2, 0, 4]]), 0, 1, kp, usage, PS);
  assert.deepEqual(nonZero(usageRow(usage, 0)), { rss: 2 * PS, pss: 2 * PS, uss: 2 * PS, anon: 2 * PS, pssAnon: 2 * PS, unmanaged: 2 * PS });
});

test("a 512-page run (PMD-mapped THP) is accounted page by page", () => {
  const values: Record<number, [number, number]> = {};
  for (let k = 0; k < 512; k++) values[0x32c200 + k] = [k === 0 ? 1 : 2, MMAP | ANON | SWAPBACKED | THP | (k === 0 ? HEAD : TAIL)];
  const usage = new Float64Array(NF);
  accountEntries(runs([[0x32c200, 0, 512, E_HUGE_RUN]]), 0, 1, fakeKpage(values), usage, PS);
  const r = usageRow(usage, 0);
  assert.equal(r.rss, 512 * PS);
  assert.equal(r.uss, PS);
  assert.equal(r.shared, 511 * PS);
  assert.equal(r.pss, PS + (511 * PS) / 2);
  assert.equal(r.thp, 512 * PS);
});

test("accountEntries reads a real EntryStore the same way", () => {
  const store = new EntryStore();
  store.push(100, 1, 0, 0);
  store.push(0x3b34, 1, 0, 0);
  store.push(0x1_0000_0005, 2, 1, 0); // PFNs above 2^32
  const usage = new Float64Array(2 * NF);
  const kp = fakeKpage({
    100: [3, MMAP | LRU],
    0x3b34: [0, ZERO],
    0x1_0000_0005: [1, MMAP | ANON | SWAPBACKED],
    0x1_0000_0006: [1, MMAP | ANON | SWAPBACKED],
  });
  accountEntries(store, 0, store.length, kp, usage, PS);
  assert.deepEqual(nonZero(usageRow(usage, 0)), { rss: PS, pss: pssShareBytes(PS, 3), shared: PS, file: PS, pssFile: pssShareBytes(PS, 3), zeroPage: PS });
  assert.deepEqual(nonZero(usageRow(usage, 1)), { rss: 2 * PS, pss: 2 * PS, uss: 2 * PS, anon: 2 * PS, pssAnon: 2 * PS });
});

test("countSwapRefs counts references per slot", () => {
  const refs = countSwapRefs([0x41, 0x41, 0x81, 0x41]);
  assert.equal(refs.get(0x41), 3);
  assert.equal(refs.get(0x81), 1);
  assert.equal(refs.size, 2);
});

test("accountSwap gives each entry page/refs of its slot, truncated to 1/4096 byte as the kernel's SwapPss", () => {
  const slots = [0x41, 0x41, 0x81, 0x101, 0x101, 0x101];
  const vmas = [0, 1, 1, 0, 0, 1];
  const refs = countSwapRefs(slots);
  const usage = new Float64Array(2 * NF);
  accountSwap(slots, vmas, 0, slots.length, refs, usage, PS);
  assert.equal(usage[0 * NF + U.swapPss]!, PS / 2 + 2 * pssShareBytes(PS, 3));
  assert.equal(usage[1 * NF + U.swapPss]!, PS / 2 + PS + pssShareBytes(PS, 3));
  // Three thirds lose 1/4096 byte to the truncation.
  assert.equal(sumRows(usage).swapPss, 3 * PS - 1 / 4096);
  // accountSwap only writes swapPss.
  assert.equal(sumRows(usage).swap, 0);
});

test("accountSwap: only [start, end); a slot missing from refs counts a full page", () => {
  const usage = new Float64Array(NF);
  accountSwap([0x41, 0x81, 0xc1], [0, 0, 0], 1, 3, new Map([[0x81, 4]]), usage, PS);
  assert.equal(usage[U.swapPss], PS / 4 + PS);
});

test("usage helpers: field order, usageRow, sumRows, addUsage, zeroUsage", () => {
  assert.equal(NF, USAGE_FIELDS.length);
  assert.equal(U.rss, 0);
  assert.equal(USAGE_FIELDS[U.hugetlbPss], "hugetlbPss");
  const t = new Float64Array(2 * NF);
  t[U.rss] = 10;
  t[NF + U.rss] = 5;
  t[NF + U.softDirty] = 7;
  assert.equal(usageRow(t, 1).rss, 5);
  assert.equal(usageRow(t, 1).softDirty, 7);
  const s = sumRows(t);
  assert.equal(s.rss, 15);
  assert.equal(s.softDirty, 7);
  const z = zeroUsage();
  assert.ok(Object.values(z).every((v) => v === 0));
  assert.equal(Object.keys(z).length, NF);
  const a = addUsage(zeroUsage(), s);
  addUsage(a, s);
  assert.equal(a.rss, 30);
});

test("PfnSet.addRun sets exactly the PFNs of each run, whatever its alignment, and counts each PFN once", () => {
  const runs: [number, number][] = [
    [0, 1], [5, 3], [31, 2], [32, 32], [60, 100], [65530, 12], [65536 * 3 + 7, 200], [70, 5], [2 ** 32 - 3, 6], [2 ** 40 + 17, 40],
  ];
  const set = new PfnSet();
  const want = new Set<number>();
  for (const [pfn, len] of runs) {
    set.addRun(pfn, len);
    for (let p = pfn; p < pfn + len; p++) want.add(p);
  }
  assert.equal(set.size, want.size);
  const table = KpageTable.forSet(set, false);
  for (const p of want) assert.ok(table.has(p), `PFN ${p} is in the set`);
  for (const p of [4, 8, 30, 160, 65529, 65542, 2 ** 32 - 4, 2 ** 32 + 3, 2 ** 40 + 16, 2 ** 40 + 57]) assert.ok(!table.has(p), `PFN ${p} is not`);
  // Ranks follow PFN order.
  const sorted = [...want].sort((a, b) => a - b);
  sorted.forEach((p, r) => assert.equal(table.rankOf(p), r));
});
