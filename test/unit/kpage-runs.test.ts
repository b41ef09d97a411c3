/**
 * The rank index a scan builds in WebAssembly from its run store, and the
 * runs a lookup reads (wasm/kpages.ts nextRuns over a KpageIndex):
 * every set PFN covered exactly once, holes of at most GAP PFNs read
 * through and longer ones not, never across a 64 Ki-PFN block, windows
 * filled without splitting a run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GAP, KpageTable, PfnSet } from "../../src/scan/kpage-lookup.js";
import { WINDOW } from "../../src/scan/kpage-index.js";
import { E_SHMEM_VMA, EntryStore } from "../../src/scan/entry-store.js";

const BLOCK = 65536;

/** A deterministic pseudo-random PFN set: clusters, singles, block edges, a far block. */
function sampleSet(seed: number): PfnSet {
  let x = seed;
  const rnd = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  const set = new PfnSet();
  for (let k = 0; k < 400; k++) set.addRun(rnd(4 * BLOCK), 1 + rnd(k % 7 === 0 ? 3000 : 40));
  set.addRun(BLOCK - 5, 10); // across a block edge
  set.addRun(2 ** 33 + 100, 70); // a far block
  return set;
}

/** The runs by the rule, from the set's PFNs in order. */
function expectedRuns(set: PfnSet, table: KpageTable): [number, number][] {
  const pfns: number[] = [];
  table.forEachKnown((pfn) => pfns.push(pfn));
  assert.equal(pfns.length, set.size);
  const runs: [number, number][] = [];
  let start = -1;
  let last = -1;
  for (const p of pfns) {
    if (start >= 0 && Math.floor(p / BLOCK) === Math.floor(start / BLOCK) && p - last <= GAP) {
      last = p;
      continue;
    }
    if (start >= 0) runs.push([start, last - start + 1]);
    start = p;
    last = p;
  }
  if (start >= 0) runs.push([start, last - start + 1]);
  return runs;
}

test("the runs of a set: short holes read through, long ones and block edges not, windows never split a run", () => {
  for (const seed of [1, 2, 3]) {
    const set = sampleSet(seed);
    const table = KpageTable.indexed(set, false);
    const index = table.index!;
    index.runsReset();
    const got: [number, number][] = [];
    for (let n = index.nextRuns(0, GAP); n > 0; n = index.nextRuns(0, GAP)) {
      const win = index.windows[0]!;
      let words = 0;
      for (let k = 0; k < n; k++) {
        got.push([win.start[k]!, win.len[k]!]);
        words += win.len[k]!;
      }
      assert.ok(n === 1 || words <= WINDOW, "a window holds at most WINDOW words unless one run alone exceeds it");
    }
    assert.deepEqual(got, expectedRuns(set, table), `seed ${seed}`);
  }
});

test("the index built from a run store holds the same set and ranks as one built in JavaScript, and the flags subset", () => {
  const store = new EntryStore();
  const js = new PfnSet();
  const jsSubset = new PfnSet();
  let x = 7;
  const rnd = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  for (let k = 0; k < 3000; k++) {
    const pfn = k === 0 ? BLOCK - 3 : k === 1 ? 2 ** 34 + 9 : rnd(6 * BLOCK);
    const len = k === 0 ? 8 : 1 + rnd(k % 5 === 0 ? 700 : 6);
    const bits = k % 3 === 0 ? E_SHMEM_VMA : 0;
    store.push(pfn, len, k % 4, bits);
    js.addRun(pfn, len);
    if (bits === 0) jsSubset.addRun(pfn, len);
  }
  const { table, subsetSize } = KpageTable.fromStore(store, false, true);
  const want = KpageTable.forSet(js, false);
  assert.equal(table.size, js.size);
  assert.equal(subsetSize, jsSubset.size);
  want.forEachKnown((pfn, _c, _l, _h, _g, rank) => assert.equal(table.rankOf(pfn), rank, `rank of PFN ${pfn}`));
  for (const pfn of [BLOCK - 4, 2 ** 34 + 8, 2 ** 34 + 9 + 700, 6 * BLOCK + 800]) assert.equal(table.rankOf(pfn), want.rankOf(pfn), `PFN ${pfn}`);
  // The subset's runs (what kpageflags is read for) cover exactly the subset.
  const index = table.index!;
  index.runsReset(true);
  let covered = 0;
  const subsetTable = KpageTable.forSet(jsSubset, false);
  for (let n = index.nextRuns(0, GAP); n > 0; n = index.nextRuns(0, GAP)) {
    const win = index.windows[0]!;
    for (let k = 0; k < n; k++) for (let p = win.start[k]!; p < win.start[k]! + win.len[k]!; p++) if (subsetTable.has(p)) covered++;
  }
  assert.equal(covered, jsSubset.size);
});
