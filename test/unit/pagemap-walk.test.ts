/**
 * The pagemap hot loop (src/scan/pagemap-walk.ts) over hand-built entries:
 * what is settled on the spot, what goes to the entry store for a kpage
 * lookup, and how non-present entries are classified.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { walkPagemap, type WalkTarget } from "../../src/scan/pagemap-walk.js";
import { E_EXCLUSIVE, E_FILE, E_HUGE_RUN, E_SOFT_DIRTY, E_UFFD_WP, EntryStore, SwapStore } from "../../src/scan/entry-store.js";
import type { PagemapEntry } from "../../src/decode/pagemap.js";
import { pagemapWords as entries } from "../support/pagemap-builder.js";
import { NF, usageRow, type MemUsage } from "../../src/accounting/usage.js";

const PS = 4096;
const MAX_SWAPFILES = 23;

function target(opts: { trust?: boolean; rows?: number } = {}): WalkTarget {
  return {
    store: new EntryStore(),
    swaps: new SwapStore(),
    usage: new Float64Array((opts.rows ?? 2) * NF),
    trustExclusive: opts.trust ?? true,
    maxSwapfiles: MAX_SWAPFILES,
    pageSize: PS,
    pfnHidden: false,
  };
}


/** Raw 64-bit entries given as BigInts. */
function raw(list: bigint[]): Uint32Array {
  const u32 = new Uint32Array(list.length * 2);
  list.forEach((v, i) => {
    u32[2 * i] = Number(v & 0xffffffffn);
    u32[2 * i + 1] = Number(v >> 32n);
  });
  return u32;
}

/** The store's records as [pfn, len, vma, bits]. */
function stored(t: WalkTarget): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  t.store.forEachChunk(0, t.store.length, (c, from, to) => {
    for (let i = from; i < to; i++) out.push([c.pfn[i]!, c.len[i]!, c.vma[i]!, c.bits[i]!]);
  });
  return out;
}

function nonZero(u: MemUsage): Partial<MemUsage> {
  return Object.fromEntries(Object.entries(u).filter(([, v]) => v !== 0)) as Partial<MemUsage>;
}

const anonExcl = (pfn: number): Partial<PagemapEntry> => ({ present: true, exclusive: true, pfn });

/** 512 entries of a PMD-mapped THP: identical flags, consecutive PFNs from `pfn0`. */
function thpRun(pfn0: number, extra: Partial<PagemapEntry> = {}): Partial<PagemapEntry>[] {
  return Array.from({ length: 512 }, (_, k) => ({ ...anonExcl(pfn0 + k), ...extra }));
}

test("trusted exclusive anon pages are settled without a store push", () => {
  const t = target();
  const u32 = entries([anonExcl(0x1000), anonExcl(0x2345), anonExcl(0x777)]);
  walkPagemap(u32, 3, 0x7f0000001, 1, t);
  assert.equal(t.store.length, 0);
  assert.deepEqual(nonZero(usageRow(t.usage, 1)), { rss: 3 * PS, pss: 3 * PS, uss: 3 * PS, anon: 3 * PS, pssAnon: 3 * PS });
  assert.deepEqual(nonZero(usageRow(t.usage, 0)), {});
  assert.equal(t.pfnHidden, false);
});

test("without trustExclusive every present page goes to the store", () => {
  const t = target({ trust: false });
  walkPagemap(entries([anonExcl(0x1000), anonExcl(0x2345)]), 2, 0x7f0000001, 0, t);
  assert.deepEqual(stored(t), [
    [0x1000, 1, 0, E_EXCLUSIVE],
    [0x2345, 1, 0, E_EXCLUSIVE],
  ]);
  assert.deepEqual(nonZero(usageRow(t.usage, 0)), {});
});

test("file pages and non-exclusive pages go to the store with their bits", () => {
  const t = target();
  const u32 = entries([
    { present: true, file: true, exclusive: true, pfn: 0x10 }, // exclusive file page: kpageflags decides
    { present: true, file: true, pfn: 0x11 }, // shared file page
    { present: true, pfn: 0x12 }, // anon COW-shared after fork
    { present: true, pfn: 0x13, softDirty: true, uffdWp: true },
  ]);
  walkPagemap(u32, 4, 0x400, 1, t);
  // Consecutive PFNs, but different bits: one record each.
  assert.deepEqual(stored(t), [
    [0x10, 1, 1, E_FILE | E_EXCLUSIVE],
    [0x11, 1, 1, E_FILE],
    [0x12, 1, 1, 0],
    [0x13, 1, 1, E_SOFT_DIRTY | E_UFFD_WP],
  ]);
  const r = usageRow(t.usage, 1);
  assert.equal(r.rss, 0, "stored pages are accounted after the lookup, not here");
  assert.equal(r.softDirty, PS);
  assert.equal(r.uffdWp, PS);
});

test("a PFN above 2^32 is stored exactly", () => {
  const t = target();
  walkPagemap(entries([{ present: true, file: true, pfn: 0x1_2345_6789 }]), 1, 0, 0, t);
  assert.deepEqual(stored(t), [[0x1_2345_6789, 1, 0, E_FILE]]);
  assert.equal(t.store.pages, 1);
});

test("a 2 MiB-aligned run of 512 contiguous PFNs at a 512-aligned PFN is pushed with E_HUGE_RUN", () => {
  const t = target();
  const list = [anonExcl(0x9999), ...thpRun(0x32c200), anonExcl(0x8888)];
  // The run starts at index 1 whose virtual page number is 512-aligned.
  walkPagemap(entries(list), list.length, 0x7f0000000 - 1, 0, t);
  assert.deepEqual(stored(t), [[0x32c200, 512, 0, E_EXCLUSIVE | E_HUGE_RUN]]);
  assert.equal(t.store.pages, 512);
  // The two lone pages around it are trusted.
  assert.deepEqual(nonZero(usageRow(t.usage, 0)), { rss: 2 * PS, pss: 2 * PS, uss: 2 * PS, anon: 2 * PS, pssAnon: 2 * PS });
});

test("a run whose PFN is not 512-aligned is not a huge run: all trusted", () => {
  const t = target();
  walkPagemap(entries(thpRun(0x32c201)), 512, 0x7f0000000, 0, t);
  assert.equal(t.store.length, 0);
  assert.equal(usageRow(t.usage, 0).uss, 512 * PS);
});

test("a run that is not virtually 2 MiB-aligned is not a huge run", () => {
  const t = target();
  walkPagemap(entries(thpRun(0x32c200)), 512, 0x7f0000001, 0, t);
  assert.equal(t.store.length, 0);
  assert.equal(usageRow(t.usage, 0).rss, 512 * PS);
});

test("a run broken by a non-contiguous PFN or a different flag is not a huge run", () => {
  const gap = thpRun(0x32c200);
  gap[511] = anonExcl(0x50000);
  const t1 = target();
  walkPagemap(entries(gap), 512, 0x7f0000000, 0, t1);
  assert.equal(t1.store.length, 0);
  assert.equal(usageRow(t1.usage, 0).rss, 512 * PS);

  const flag = thpRun(0x32c200);
  flag[300] = { ...anonExcl(0x32c200 + 300), softDirty: true };
  const t2 = target();
  walkPagemap(entries(flag), 512, 0x7f0000000, 0, t2);
  assert.equal(t2.store.length, 0);
  assert.equal(usageRow(t2.usage, 0).rss, 512 * PS);
});

test("a run cut short by the end of the batch is not a huge run", () => {
  const t = target();
  const list = thpRun(0x32c200);
  walkPagemap(entries(list), 511, 0x7f0000000, 0, t);
  assert.equal(t.store.length, 0);
  assert.equal(usageRow(t.usage, 0).rss, 511 * PS);
});

test("a huge run is followed by normal processing of the next entry", () => {
  const t = target();
  const list = [...thpRun(0x32c200), { present: true, file: true, pfn: 0x42 }];
  walkPagemap(entries(list), list.length, 0x7f0000000, 0, t);
  assert.deepEqual(stored(t), [
    [0x32c200, 512, 0, E_EXCLUSIVE | E_HUGE_RUN],
    [0x42, 1, 0, E_FILE],
  ]);
  assert.equal(usageRow(t.usage, 0).rss, 0);
});

test("consecutive entries with consecutive PFNs and equal bits form one record", () => {
  const t = target();
  const f = (pfn: number): Partial<PagemapEntry> => ({ present: true, file: true, pfn });
  walkPagemap(entries([f(0x500), f(0x501), f(0x502), f(0x1_0000_0000), f(0x1_0000_0001)]), 5, 0x100, 1, t);
  assert.deepEqual(stored(t), [
    [0x500, 3, 1, E_FILE],
    [0x1_0000_0000, 2, 1, E_FILE],
  ]);
  assert.equal(t.store.pages, 5);
});

test("a record is split by a PFN gap, a hole, a trusted page, a hidden PFN or a swap entry", () => {
  const t = target();
  const f = (pfn: number): Partial<PagemapEntry> => ({ present: true, file: true, pfn });
  // Each interruption sits between PFNs that would otherwise continue the record.
  const list: Partial<PagemapEntry>[] = [
    f(0x600),
    f(0x602), // PFN gap
    {}, // hole (pte_none)
    f(0x603),
    anonExcl(0x9000), // settled on the spot
    f(0x604),
    { present: true, file: true, pfn: 0 }, // PFN hidden
    f(0x605),
    { swapped: true, swapType: 0, swapOffset: 5 },
    f(0x606),
    f(0x607),
  ];
  walkPagemap(entries(list), list.length, 0x100, 0, t);
  assert.deepEqual(
    stored(t).map(([pfn, len]) => [pfn, len]),
    [
      [0x600, 1],
      [0x602, 1],
      [0x603, 1],
      [0x604, 1],
      [0x605, 1],
      [0x606, 2],
    ],
  );
  assert.equal(usageRow(t.usage, 0).uss, PS);
  assert.equal(t.pfnHidden, true);
});

test("a pending record is flushed before a huge run", () => {
  const t = target();
  const list = [
    { present: true, file: true, pfn: 0x500 },
    { present: true, file: true, pfn: 0x501 },
    ...thpRun(0x32c200),
  ];
  walkPagemap(entries(list), list.length, 0x7f0000000 - 2, 0, t);
  assert.deepEqual(stored(t), [
    [0x500, 2, 0, E_FILE],
    [0x32c200, 512, 0, E_EXCLUSIVE | E_HUGE_RUN],
  ]);
});

test("swap entries with type < maxSwapfiles are swap and go to the swap store", () => {
  const t = target();
  const u32 = entries([
    { swapped: true, swapType: 0, swapOffset: 0x1234 },
    { swapped: true, swapType: MAX_SWAPFILES - 1, swapOffset: 7 },
  ]);
  walkPagemap(u32, 2, 0x100, 1, t);
  assert.deepEqual(t.swaps.slots, [0x1234 * 32 + 0, 7 * 32 + (MAX_SWAPFILES - 1)]);
  assert.deepEqual(t.swaps.vmas, [1, 1]);
  assert.deepEqual(nonZero(usageRow(t.usage, 1)), { swap: 2 * PS });
  assert.equal(t.store.length, 0);
});

test("types from maxSwapfiles to 30 are migration/device entries, not swap", () => {
  const t = target();
  const u32 = entries([
    { swapped: true, swapType: MAX_SWAPFILES, swapOffset: 0x32c200 },
    { swapped: true, swapType: 30, swapOffset: 0x32c201 },
  ]);
  walkPagemap(u32, 2, 0x100, 0, t);
  assert.equal(t.swaps.length, 0);
  assert.deepEqual(nonZero(usageRow(t.usage, 0)), { migration: 2 * PS });
});

test("type 31 is a PTE marker: neither swap nor migration; a uffd-wp marker counts as uffdWp", () => {
  const t = target();
  // PTE_MARKER_UFFD_WP (offset 1) is reported with PM_UFFD_WP (bit 57).
  const u32 = entries([{ swapped: true, swapType: 31, swapOffset: 1, uffdWp: true }]);
  walkPagemap(u32, 1, 0x100, 0, t);
  assert.equal(t.swaps.length, 0);
  assert.deepEqual(nonZero(usageRow(t.usage, 0)), { uffdWp: PS });
});

test("the guard bit is counted (measured entry 0x440000000000009f)", () => {
  const t = target();
  walkPagemap(raw([0x440000000000009fn, 0x440000000000009fn, 0n]), 3, 0x100, 0, t);
  assert.equal(t.swaps.length, 0);
  assert.deepEqual(nonZero(usageRow(t.usage, 0)), { guard: 2 * PS });
});

test("present with PFN 0 (no CAP_SYS_ADMIN) sets pfnHidden and is neither stored nor trusted", () => {
  const t = target();
  walkPagemap(entries([anonExcl(0), { present: true, file: true, pfn: 0 }]), 2, 0x100, 0, t);
  assert.equal(t.pfnHidden, true);
  assert.equal(t.store.length, 0);
  assert.deepEqual(nonZero(usageRow(t.usage, 0)), {});
});

test("pte_none entries are skipped, soft-dirty holes too: a hole of a VM_SOFTDIRTY mapping is no page", () => {
  // pagemap_pte_hole reports PM_SOFT_DIRTY alone for every hole of such a
  // mapping; PAGEMAP_SCAN may leave those holes unread, so counting them would
  // make the numbers depend on how the pagemap was read.
  const t = target();
  walkPagemap(raw([0n, 0n, 1n << 55n, (1n << 55n) | (1n << 62n) | 0x20n]), 4, 0x100, 0, t);
  assert.equal(t.store.length, 0);
  assert.equal(t.swaps.length, 1);
  assert.deepEqual(nonZero(usageRow(t.usage, 0)), { softDirty: PS, swap: PS });
  assert.equal(t.pfnHidden, false);
});

test("only the first `count` entries of the buffer are read", () => {
  const t = target();
  const u32 = entries([{ present: true, file: true, pfn: 1 }, { present: true, file: true, pfn: 2 }, { present: true, file: true, pfn: 3 }]);
  walkPagemap(u32, 2, 0x100, 0, t);
  assert.deepEqual(stored(t), [[1, 2, 0, E_FILE]]);
});

test("usage accumulates across calls on the same row", () => {
  const t = target();
  walkPagemap(entries([anonExcl(5)]), 1, 0x100, 0, t);
  walkPagemap(entries([anonExcl(6), { swapped: true, swapType: 1, swapOffset: 9 }]), 2, 0x101, 0, t);
  assert.deepEqual(nonZero(usageRow(t.usage, 0)), { rss: 2 * PS, pss: 2 * PS, uss: 2 * PS, anon: 2 * PS, pssAnon: 2 * PS, swap: PS });
});

test("more entries than one WebAssembly input batch: walked a batch at a time, the same pages counted", () => {
  // 70 000 entries (past the 65 536 of a batch) in a plain array, not read into wasm memory:
  // exclusive anon pages, a long file run across the batch edge, and swap entries.
  const n = 70000;
  const list: Partial<PagemapEntry>[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 1000 === 7) list.push({ swapped: true, swapType: 0, swapOffset: i });
    else if (i >= 60000 && i < 69000) list.push({ present: true, file: true, pfn: 0x100000 + i });
    else list.push({ present: true, exclusive: true, pfn: 0x200000 + 3 * i });
  }
  const t = target({ trust: true });
  walkPagemap(entries(list), n, 0x7f0000000 + 5, 1, t);
  const u = usageRow(t.usage, 1);
  const swaps = list.filter((e) => e.swapped).length;
  const file = 9000 - list.slice(60000, 69000).filter((e) => e.swapped).length;
  assert.equal(u.swap, swaps * PS);
  assert.equal(u.rss, (n - swaps - file) * PS, "trusted pages");
  assert.equal(t.swaps.length, swaps);
  // The file pages are stored; the run is cut at the swap entries and at the batch edge, never lost.
  assert.equal(t.store.pages, file);
  const recs = stored(t);
  assert.ok(recs.every(([pfn, len]) => pfn >= 0x100000 + 60000 && pfn + len <= 0x100000 + 69000));
});
