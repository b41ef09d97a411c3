/**
 * The pure helpers over a scan's plain value (src/scan/scan-data.ts): ranks
 * from the flat rank index, with the block directory and with the search a
 * sparse (hostile) block list falls back to; dense blocks; run slices across
 * chunks.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  forEachRunSlice,
  BLOCK_WORDS,
  kpageDenseBlock,
  kpageRankOf,
  NO_KPAGES,
  rankBasesOf,
  RUN_CHUNK,
  type KpageValues,
  type RunChunk,
} from "../../src/scan/scan-data.js";

/** Values for a sorted list of PFNs, count = rank + 1 and flagsLo = PFN & 0xffff, built the slow way. */
function valuesOf(pfns: readonly number[]): KpageValues {
  const blocks = [...new Set(pfns.map((p) => Math.floor(p / 65536)))];
  const bitmaps = new Uint32Array(blocks.length * BLOCK_WORDS);
  for (const p of pfns) {
    const s = blocks.indexOf(Math.floor(p / 65536));
    const o = p % 65536;
    bitmaps[s * BLOCK_WORDS + (o >>> 5)]! |= 1 << (o & 31);
  }
  const { bases, size } = rankBasesOf(bitmaps);
  assert.equal(size, pfns.length);
  return {
    ...NO_KPAGES,
    size,
    blocks: Uint32Array.from(blocks),
    bitmaps,
    bases,
    count: Uint32Array.from(pfns, (_, i) => i + 1),
    flagsLo: Uint32Array.from(pfns, (p) => p % 65536),
    flagsHi: new Uint32Array(size),
  };
}

describe("kpage values by rank", () => {
  const cases: [string, number[]][] = [
    ["dense blocks (a directory)", [0, 1, 31, 32, 33, 65535, 65536, 3 * 65536 + 7, 3 * 65536 + 4000]],
    ["a block near 2^24 (the search)", [5, 6, 65536 * 5 + 1, (2 ** 24 - 1) * 65536 + 12, (2 ** 24 - 1) * 65536 + 65535]],
  ];
  for (const [name, pfns] of cases) {
    it(`${name}: every looked-up PFN has its rank, every other none`, () => {
      const k = valuesOf(pfns);
      pfns.forEach((p, i) => assert.equal(kpageRankOf(k, p), i, `PFN ${p}`));
      for (const p of [2, 30, 34, 65534, 65537, 3 * 65536 + 8, 7 * 65536, (2 ** 24 - 2) * 65536, 2 ** 41]) if (!pfns.includes(p)) assert.equal(kpageRankOf(k, p), -1, `PFN ${p}`);
      const dense = { count: new Uint32Array(65536), flagsLo: new Uint32Array(65536) };
      for (const b of k.blocks) {
        assert.ok(kpageDenseBlock(k, b, dense));
        const inBlock = pfns.filter((p) => Math.floor(p / 65536) === b);
        for (const p of inBlock) assert.equal(dense.count[p % 65536], pfns.indexOf(p) + 1);
        assert.equal(dense.count.reduce((n, c) => n + (c > 0 ? 1 : 0), 0), inBlock.length);
      }
      assert.equal(kpageDenseBlock(k, 2, dense), false);
    });
  }
});

describe("run slices", () => {
  it("a range across chunks is visited chunk by chunk, in order, each run once", () => {
    const n = 2 * RUN_CHUNK + 10;
    const chunks: RunChunk[] = [];
    for (let at = 0; at < n; at += RUN_CHUNK) {
      const m = Math.min(RUN_CHUNK, n - at);
      chunks.push({ pfn: Float64Array.from({ length: m }, (_, i) => at + i), len: new Uint32Array(m).fill(1), vma: new Uint32Array(m), bits: new Uint8Array(m) });
    }
    const runs = { length: n, chunks, pages: n };
    for (const [start, end] of [
      [0, n],
      [RUN_CHUNK - 3, RUN_CHUNK + 3],
      [5, 5],
      [2 * RUN_CHUNK, n],
    ] as const) {
      const seen: number[] = [];
      forEachRunSlice(runs, start, end, (cols, from, to) => {
        for (let i = from; i < to; i++) seen.push(cols.pfn[i]!);
      });
      assert.deepEqual(seen, Array.from({ length: end - start }, (_, i) => start + i), `[${start}, ${end})`);
    }
  });
});
