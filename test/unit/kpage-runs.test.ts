/**
 * The runs a lookup reads (wasm/kpages.ts nextRuns over a KpageIndex):
 * every set PFN covered exactly once, holes of at most GAP PFNs read
 * through and longer ones not, never across a 64 Ki-PFN block, windows
 * filled without splitting a run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GAP, KpageTable, PfnSet } from "../../src/scan/kpage-lookup.js";
import { WINDOW } from "../../src/scan/kpage-index.js";

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
