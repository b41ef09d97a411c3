/**
 * The page-class rule (src/accounting/page-class.ts) is one source compiled
 * twice: by tsc for the reports and by asc into the WebAssembly accounting
 * loop. These tests check its bits against decode/kpageflags.ts, its classes
 * against the smaps rules, and that the compiled loop sums every combination
 * of the flags it reads exactly as the TypeScript rule classes it.
 */
import { pssShareBytes } from "../../src/accounting/kernel-pss.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as pc from "../../src/accounting/page-class.js";
import { NF, U } from "../../src/accounting/usage.js";
import * as kf from "../../src/decode/kpageflags.js";
import { E_HUGE_RUN, E_SHMEM_VMA } from "../../src/scan/entry-store.js";
import { accountEntries, type RunSource } from "../../src/scan/kpage-account.js";
import { KpageTable, PfnSet } from "../../src/scan/kpage-lookup.js";

const PS = 4096;

test("the rule's kpageflags bits are decode/kpageflags.ts's", () => {
  assert.equal(pc.F_ANON, kf.F_ANON);
  assert.equal(pc.F_SWAPBACKED, kf.F_SWAPBACKED);
  assert.equal(pc.F_HUGE, kf.F_HUGE);
  assert.equal(pc.F_KSM, kf.F_KSM);
  assert.equal(pc.F_THP, kf.F_THP);
  assert.equal(pc.F_ZERO_PAGE, kf.F_ZERO_PAGE);
});

test("pageClass: zero page, then hugetlb whatever its map count, then map count 0, then anon / shmem / file", () => {
  assert.equal(pc.pageClass(0, pc.F_ZERO_PAGE), pc.PAGE_ZERO);
  assert.equal(pc.pageClass(5, pc.F_ZERO_PAGE | pc.F_HUGE | pc.F_ANON), pc.PAGE_ZERO);
  assert.equal(pc.pageClass(0, pc.F_HUGE), pc.PAGE_HUGETLB);
  assert.equal(pc.pageClass(2, pc.F_HUGE | pc.F_ANON), pc.PAGE_HUGETLB);
  assert.equal(pc.pageClass(0, pc.F_ANON), pc.PAGE_UNMANAGED);
  assert.equal(pc.pageClass(0, 0), pc.PAGE_UNMANAGED);
  assert.equal(pc.pageClass(1, pc.F_ANON | pc.F_SWAPBACKED), pc.PAGE_ANON);
  assert.equal(pc.pageClass(3, pc.F_SWAPBACKED), pc.PAGE_SHMEM);
  assert.equal(pc.pageClass(1, 0), pc.PAGE_FILE);
  assert.equal(pc.pageClass(2, pc.SHMEM_MAPPING_FLAGS), pc.PAGE_SHMEM);
  for (const c of [pc.PAGE_ZERO, pc.PAGE_HUGETLB, pc.PAGE_UNMANAGED]) assert.ok(c < pc.PAGE_MEMORY);
  for (const c of [pc.PAGE_ANON, pc.PAGE_SHMEM, pc.PAGE_FILE]) assert.ok(c >= pc.PAGE_MEMORY);
});

test("the WebAssembly loop sums every combination of the rule's flags and map counts as pageClass classes it", () => {
  const bits = [pc.F_ZERO_PAGE, pc.F_HUGE, pc.F_ANON, pc.F_SWAPBACKED, pc.F_KSM, pc.F_THP];
  const cases: { flags: number; count: number }[] = [];
  for (let m = 0; m < 1 << bits.length; m++)
    for (const count of [0, 1, 2, 3]) cases.push({ flags: bits.reduce((f, b, i) => (m & (1 << i) ? f | b : f), 0), count });
  // One page per case, each at its own PFN (spaced so no run reads another's values), in its own VMA row.
  const pfnOf = (i: number): number => 1000 + 16 * i;
  const set = new PfnSet();
  cases.forEach((_, i) => set.add(pfnOf(i)));
  const table = KpageTable.forSet(set, false);
  cases.forEach((c, i) => {
    const r = table.rankOf(pfnOf(i));
    table.count[r] = c.count;
    table.flagsLo[r] = c.flags;
  });
  for (const mode of ["plain", "huge run", "shmem mapping"] as const) {
    const hugeRun = mode === "huge run";
    // A shmem mapping's pages had no flags read (a partial lookup): the rule classes them by SHMEM_MAPPING_FLAGS.
    table.partialFlags = mode === "shmem mapping";
    const source: RunSource = {
      forEachChunk(start, end, fn) {
        const n = end - start;
        const cols = { pfn: new Float64Array(n), len: new Uint32Array(n).fill(1), vma: new Uint32Array(n), bits: new Uint8Array(n) };
        for (let i = 0; i < n; i++) {
          cols.pfn[i] = pfnOf(start + i);
          cols.vma[i] = start + i;
          cols.bits[i] = hugeRun ? E_HUGE_RUN : mode === "shmem mapping" ? E_SHMEM_VMA : 0;
        }
        fn(cols, 0, n);
      },
    };
    const usage = new Float64Array(cases.length * NF);
    accountEntries(source, 0, cases.length, table, usage, PS);
    cases.forEach(({ flags: read, count }, i) => {
      const flags = mode === "shmem mapping" ? pc.SHMEM_MAPPING_FLAGS : read;
      const want = new Float64Array(NF);
      const cls = pc.pageClass(count, flags);
      const share = pssShareBytes(PS, count);
      if (cls === pc.PAGE_ZERO) want[U.zeroPage] = PS;
      else if (cls === pc.PAGE_UNMANAGED) want[U.unmanaged] = PS;
      else if (cls === pc.PAGE_HUGETLB) {
        want[count >= 2 ? U.hugetlbShared : U.hugetlbPrivate] = PS;
        want[U.hugetlbPss] = share;
      } else {
        want[U.rss] = PS;
        want[U.pss] = share;
        if (count === 1) want[U.uss] = PS;
        else want[U.shared] = PS;
        const [k, p] = cls === pc.PAGE_ANON ? [U.anon, U.pssAnon] : cls === pc.PAGE_SHMEM ? [U.shmem, U.pssShmem] : [U.file, U.pssFile];
        want[k] = PS;
        want[p] = share;
        if (pc.isKsmPage(flags)) want[U.ksm] = PS;
        if (hugeRun && pc.isThpPage(flags)) want[U.thp] = PS;
      }
      const got = [...usage.subarray(i * NF, (i + 1) * NF)];
      assert.deepEqual(got, [...want], `flags 0x${read.toString(16)}, count ${count}, ${mode}`);
    });
  }
});
