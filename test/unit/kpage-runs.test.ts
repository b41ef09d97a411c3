/**
 * The runs a lookup reads (src/scan/kpage-lookup.ts kpageRuns, and the same
 * rule in WebAssembly, wasm/kpages.ts nextRuns): every set PFN covered once,
 * short holes read through, never across a 64 Ki-PFN block, windows filled
 * without splitting a run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GAP, KpageTable, kpageRuns, PfnSet } from "../../src/scan/kpage-lookup.js";
import { WINDOW } from "../../src/scan/kpage-index.js";

/** A deterministic pseudo-random PFN set: clusters, singles, block edges, a far block. */
function sampleSet(seed: number): PfnSet {
  let x = seed;
  const rnd = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  const set = new PfnSet();
  for (let k = 0; k < 400; k++) set.addRun(rnd(4 * 65536), 1 + rnd(k % 7 === 0 ? 3000 : 40));
  set.addRun(65536 - 5, 10); // across a block edge
  set.addRun(2 ** 33 + 100, 70); // a far block
  return set;
}

test("wasm runs of the whole set equal kpageRuns, window by window", () => {
  for (const seed of [1, 2, 3]) {
    const set = sampleSet(seed);
    const js = kpageRuns(set);
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
    const want: [number, number][] = [];
    for (let i = 0; i < js.n; i++) want.push([js.start[i]!, js.len[i]!]);
    assert.deepEqual(got, want, `seed ${seed}`);
    // Every set PFN lies in exactly one run, and no run crosses a block.
    let covered = 0;
    for (const [s, l] of got) {
      assert.equal(Math.floor(s / 65536), Math.floor((s + l - 1) / 65536), `run at ${s} stays in its block`);
      for (let p = s; p < s + l; p++) if (table.has(p)) covered++;
    }
    assert.equal(covered, set.size);
  }
});
