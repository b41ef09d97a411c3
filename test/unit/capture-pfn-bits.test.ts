/**
 * The page frames a capture records kpage words for (src/capture/pfn-bits.ts)
 * against the page-table walk a replay runs (src/scan/pagemap-walk.ts): every
 * PFN the walk sends to a lookup must be in the capture's set, or a replay of
 * `ps` would be refused; the set leaves out the exclusive pages a trusting
 * walk settles alone, or the capture would be no cheaper. And the runs read
 * cover every hole a lookup reads through.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NF } from "../../src/accounting/usage.js";
import { PfnBits, type PagemapSeen } from "../../src/capture/pfn-bits.js";
import { PM_SWAP_HI, type PagemapEntry } from "../../src/decode/pagemap.js";
import { pagemapWords } from "../support/pagemap-builder.js";
import { EntryStore, SwapStore } from "../../src/scan/entry-store.js";
import { walkPagemap, type WalkTarget } from "../../src/scan/pagemap-walk.js";
import { rng } from "../support/rng.js";

/** Pagemap words mixing holes, swap entries, exclusive/shared/file pages, contiguous stretches and 512-page huge runs. */
function pagemap(seed: number, blocks: number): Uint32Array {
  const r = rng(seed);
  const list: Partial<PagemapEntry>[] = [];
  while (list.length < blocks * 512) {
    const kind = r();
    // Runs of any length, but stopping at a 2 MiB boundary now and then, where a huge page may start.
    const n = r() < 0.3 ? 512 - (list.length % 512) : 1 + Math.floor(r() * 300);
    if (list.length % 512 === 0 && r() < 0.3) {
      // A huge page: 512 contiguous frames from a 512-aligned one, exclusive anonymous.
      const base = 512 * (1 + Math.floor(r() * 5000));
      for (let i = 0; i < 512; i++) list.push({ present: true, pfn: base + i, exclusive: true });
    } else if (kind < 0.15) for (let i = 0; i < n; i++) list.push({});
    else if (kind < 0.2) for (let i = 0; i < n; i++) list.push({ swapped: true, swapType: 0, swapOffset: 1000 + i });
    else if (kind < 0.3 && list.length % 512 === 0) {
      // A huge page: 512 contiguous frames from a 512-aligned one, exclusive anonymous.
      const base = 512 * (1 + Math.floor(r() * 5000));
      for (let i = 0; i < 512; i++) list.push({ present: true, pfn: base + i, exclusive: true });
    } else {
      const exclusive = r() < 0.6;
      const file = r() < 0.3;
      let pfn = 1 + Math.floor(r() * 3_000_000);
      for (let i = 0; i < n; i++) list.push({ present: true, pfn: r() < 0.8 ? pfn++ : (pfn = 1 + Math.floor(r() * 3_000_000)), exclusive: exclusive && r() < 0.95, file });
    }
  }
  return pagemapWords(list);
}

/** The PFNs the walk stores for a lookup. */
function walked(u32: Uint32Array, firstVpn: number, trust: boolean): Set<number> {
  const t: WalkTarget = { store: new EntryStore(), swaps: new SwapStore(), usage: new Float64Array(NF), trustExclusive: trust, maxSwapfiles: 23, pageSize: 4096, pfnHidden: false };
  walkPagemap(u32, u32.length / 2, firstVpn, 0, t);
  const out = new Set<number>();
  t.store.forEachChunk(0, t.store.length, (c, from, to) => {
    for (let i = from; i < to; i++) for (let k = 0; k < c.len[i]!; k++) out.add(c.pfn[i]! + k);
  });
  return out;
}

function setOf(bits: PfnBits): Set<number> {
  const out = new Set<number>();
  const runs = bits.runs(0, 1 << 30);
  for (let i = 0; i < runs.length; i += 2) for (let p = runs[i]!; p < runs[i + 1]!; p++) out.add(p);
  return out;
}

for (const seed of [1, 2, 3, 4, 5]) {
  for (const trust of [true, false]) {
    test(`seed ${seed}, trusted ${trust}: every PFN the walk looks up is kept, read whole or in pieces`, () => {
      const u32 = pagemap(seed, 24);
      const n = u32.length / 2;
      const firstVpn = 512 * 1000 + (seed % 2 === 0 ? 0 : 37 * seed); // aligned, and not
      const want = walked(u32, firstVpn, trust);
      const whole = new PfnBits();
      const seen: PagemapSeen = { swapped: false, hidden: false };
      whole.addLookedUp(u32, n, firstVpn, trust, { huge: false }, seen);
      // In windows of odd sizes, the 2 MiB block state carried across calls, as take.ts reads.
      const pieces = new PfnBits();
      const block = { huge: false };
      for (let at = 0; at < n; ) {
        const len = Math.min(n - at, 1 + ((at * 7919 + seed) % 1500));
        pieces.addLookedUp(u32.subarray(2 * at, 2 * (at + len)), len, firstVpn + at, trust, block, seen);
        at += len;
      }
      const got = setOf(whole);
      const inPieces = setOf(pieces);
      for (const p of want) assert.ok(got.has(p), `PFN ${p} looked up by the walk, not kept`);
      // In pieces a 2 MiB block cut by a window is kept whole when it might be a huge page: more, never less.
      for (const p of got) assert.ok(inPieces.has(p), `PFN ${p} kept whole, not in pieces`);
      let swapped = false;
      for (let i = 0; i < n; i++) if ((u32[2 * i + 1]! & PM_SWAP_HI) !== 0) swapped = true;
      assert.equal(seen.swapped, swapped);
      assert.ok(!seen.hidden);
      // Not exact: the exclusive anonymous pages a trusting walk settles alone are left out, and only they.
      const present = walked(u32, firstVpn, false);
      if (trust) assert.ok(got.size < present.size, `kept ${got.size} of ${present.size}`);
      else assert.equal(got.size, present.size);
    });
  }
}

test("runs read through holes up to the gap, cut at maxRun without leaving the cut unread", () => {
  const bits = new PfnBits();
  const u32 = pagemapWords([100, 110, 127, 200, 201, 202].map((pfn) => ({ present: true, pfn })));
  bits.addLookedUp(u32, 6, 1, false, { huge: false }, { swapped: false, hidden: false });
  assert.deepEqual(bits.runs(16, 1 << 20), [100, 128, 200, 203]);
  assert.deepEqual(bits.runs(8, 1 << 20), [100, 101, 110, 111, 127, 128, 200, 203]);
  // Cut at 20 words: the second piece starts where the first ended, so the hole 111-126 is still read.
  assert.deepEqual(bits.runs(16, 20), [100, 111, 111, 128, 200, 203]);
});
