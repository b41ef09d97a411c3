/**
 * pagelens's PSS arithmetic (src/accounting/kernel-pss.ts, wasm/kpages.ts
 * shareOf) against the kernel's, done here in BigInt as fs/proc/task_mmu.c
 * does it in u64: per page `(PAGE_SIZE << 12) / mapcount` truncated (or
 * `PAGE_SIZE << 12` for map count 1), summed, printed as `sum >> 12 >> 10`.
 * The accounting loop itself is checked against the same arithmetic in
 * test/unit/kpage-account.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { kernelPssKiB, pssAgrees, pssShareBytes } from "../../src/accounting/kernel-pss.js";

const PAGE = 4096;

/** Pages of a process, as [map count, number of pages]. */
type Pages = readonly (readonly [number, number])[];

/** The kernel's pss sum (1/4096 byte) for these pages. */
function kernelUnits(pages: Pages, pageSize = PAGE): bigint {
  let sum = 0n;
  for (const [m, n] of pages) sum += BigInt(n) * (m >= 2 ? (BigInt(pageSize) << 12n) / BigInt(m) : BigInt(pageSize) << 12n);
  return sum;
}

/** pagelens's PSS in bytes, page by page in doubles as the loop adds it. */
function ours(pages: Pages, pageSize = PAGE): number {
  let pss = 0;
  for (const [m, n] of pages) for (let i = 0; i < n; i++) pss += pssShareBytes(pageSize, m);
  return pss;
}

test("a PostgreSQL backend just past a kB boundary: the kernel prints the kB below, and so does pagelens now", () => {
  // 159,119 shared_buffers pages mapped by 205 and 206 processes and 1000 private pages: the shape of
  // the bench's backends. page/m as a fraction sums to 7104.0043 kB; the kernel's truncations take
  // 0.0044 kB and it prints 7103. pagelens truncates the same way.
  const pages: Pages = [[205, 150105], [206, 9019], [1, 1000]];
  const p = ours(pages);
  assert.equal(p * 4096, Number(kernelUnits(pages)));
  assert.equal(kernelPssKiB(p), 7103);
  assert.ok(pssAgrees(p, 7103));
  assert.equal(pssAgrees(p, 7104), false);
});

test("whatever the map counts and the order, pagelens's PSS is the kernel's sum, bit for bit", () => {
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
    const pageSize = t % 10 === 9 ? 65536 : PAGE;
    const p = ours(pages, pageSize);
    const units = kernelUnits(pages, pageSize);
    assert.equal(p * 4096, Number(units), `case ${t}`);
    assert.equal(kernelPssKiB(p), Number(units >> 22n), `case ${t}`);
    // The other order (and sums of parts) give the same bits: integers in 1/4096 byte.
    assert.equal(ours([...pages].reverse(), pageSize), p, `case ${t}: reversed`);
    const half = pages.map(([m, n]) => [m, n >> 1] as const);
    const rest = pages.map(([m, n]) => [m, n - (n >> 1)] as const);
    assert.equal(ours(half, pageSize) + ours(rest, pageSize), p, `case ${t}: in two parts`);
  }
});
