/**
 * The scale bench's Pss check (src/accounting/kernel-pss.ts) against the
 * kernel's own arithmetic, done here in BigInt as fs/proc/task_mmu.c does it
 * in u64: per page `(PAGE_SIZE << 12) / mapcount` truncated (or `PAGE_SIZE
 * << 12` for map count 1), summed, printed as `sum >> 12 >> 10`. pagelens's
 * value is the exact sum of PAGE_SIZE / mapcount in double precision, as
 * wasm/kpages.ts adds it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { kernelPssRangeKiB, pssAgrees } from "../../src/accounting/kernel-pss.js";

const PAGE = 4096;

/** Pages of a process, as [map count, number of pages]. */
type Pages = readonly (readonly [number, number])[];

/** What smaps_rollup prints as Pss (kB) for these pages. */
function kernelPrinted(pages: Pages): number {
  let sum = 0n;
  for (const [m, n] of pages) sum += BigInt(n) * (m >= 2 ? (BigInt(PAGE) << 12n) / BigInt(m) : BigInt(PAGE) << 12n);
  return Number(sum >> 22n);
}

/** pagelens's exact PSS in bytes: page / map count per page, in doubles. */
function exactPss(pages: Pages): number {
  let pss = 0;
  for (const [m, n] of pages) for (let i = 0; i < n; i++) pss += m >= 2 ? 1 / m : 1;
  return pss * PAGE;
}

const sharedPages = (pages: Pages): number => pages.reduce((s, [m, n]) => s + (m >= 2 ? n : 0), 0);

test("a PostgreSQL backend: exact PSS just past a kB boundary, the kernel prints the kB below; that is agreement", () => {
  // 159,119 shared_buffers pages mapped by 205 and 206 processes and 1000 private pages: the shape of
  // the bench's backends (about 159,300 shared pages each). The exact PSS is 7104.0043 kB; each
  // shared page's share truncates by 16/205 or 164/206 of 1/4096 byte, 0.0044 kB in all, so the
  // kernel's sum stays below 7104 and it prints 7103.
  const pages: Pages = [[205, 150105], [206, 9019], [1, 1000]];
  const p = exactPss(pages);
  const k = kernelPrinted(pages);
  assert.equal(k, 7103);
  assert.ok(p / 1024 - k > 1 + 1e-6, `the old |P - printed| < 1 kB rule rejects it: ${p / 1024} vs ${k}`);
  assert.ok(pssAgrees(p, sharedPages(pages), k));
});

test("a printed Pss above floor(exact) or below floor(exact - largest truncation) is rejected", () => {
  const pages: Pages = [[3, 1000], [1, 10]];
  const p = exactPss(pages); // 1000/3 + 10 pages: 1373.33 kB
  const k = kernelPrinted(pages);
  assert.equal(k, Math.floor(p / 1024));
  assert.ok(pssAgrees(p, sharedPages(pages), k));
  // The kernel never prints more than floor(exact): the old rule accepted k + 1 (within 1 kB).
  assert.ok(Math.abs(p / 1024 - (k + 1)) < 1);
  assert.equal(pssAgrees(p, sharedPages(pages), k + 1), false);
  // 1000 shared pages can lose less than 1000/4096 byte: never a whole kB.
  assert.equal(pssAgrees(p, sharedPages(pages), k - 1), false);
});

test("whatever the map counts, the kernel's printed Pss is inside the interval, and the interval is at most one kB wider than exact", () => {
  // A fixed pseudo-random sequence (no flaky seeds): mixes of private pages and pages with map counts
  // 2..300, including counts that divide 4096 << 12 (no truncation) and ones that do not.
  let x = 0x2545f491;
  const rnd = (n: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  for (let t = 0; t < 300; t++) {
    const pages: [number, number][] = [[1, rnd(3000)]];
    for (let g = rnd(6); g >= 0; g--) pages.push([2 + rnd(299), rnd(60000)]);
    const p = exactPss(pages);
    const k = kernelPrinted(pages);
    const { low, high } = kernelPssRangeKiB(p, sharedPages(pages));
    assert.ok(low <= k && k <= high, `case ${t} ${JSON.stringify(pages)}: kernel ${k} outside ${low}..${high} (exact ${p / 1024})`);
    assert.ok(high - low <= 1, `case ${t}: interval ${low}..${high}`);
    assert.equal(high, Math.floor(p / 1024 + 1e-6));
  }
});
