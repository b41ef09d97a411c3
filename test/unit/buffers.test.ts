/**
 * Buffers kept between reads or scans are bounded: a long-running process
 * (serve, top) must not hold the largest file or the largest scan it ever
 * saw for the rest of its life.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProcFs, TEXT_BUF_KEEP, textBufferBytes } from "../../src/procfs/procfs.js";
import { KPAGE_WASM_KEEP_BYTES, KpageIndex, KpageWasm, type StoreColumns } from "../../src/scan/kpage-index.js";

test("the procfs text buffer reads a file larger than it keeps, then lets the excess go", (t) => {
  const root = mkdtempSync(join(tmpdir(), "pagelens-buf-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const big = "x".repeat(3 * TEXT_BUF_KEEP + 17);
  const mid = "y".repeat(TEXT_BUF_KEEP / 2 + 3);
  writeFileSync(join(root, "big"), big);
  writeFileSync(join(root, "mid"), mid);
  writeFileSync(join(root, "small"), "z\n");
  const procfs = new ProcFs({ root });
  assert.equal(procfs.readText("big"), big);
  assert.ok(textBufferBytes() <= TEXT_BUF_KEEP, `kept ${textBufferBytes()} bytes after a ${big.length}-byte file`);
  assert.equal(procfs.readText("mid"), mid);
  assert.ok(textBufferBytes() <= TEXT_BUF_KEEP);
  assert.equal(procfs.readText("small"), "z\n");
  assert.equal(procfs.readText("big"), big, "read again after the shrink");
  assert.ok(textBufferBytes() <= TEXT_BUF_KEEP);
});

/** A run store of one-page runs at the given PFNs. */
function store(pfns: readonly number[]): StoreColumns {
  return {
    length: pfns.length,
    forEachChunk(start, end, fn) {
      const n = end - start;
      const cols = { pfn: new Float64Array(pfns.slice(start, end)), len: new Uint32Array(n).fill(1), bits: new Uint8Array(n) };
      fn(cols, 0, n);
    },
  };
}

test("a reused kpages instance grown by one large scan is let go once the scans are small again", () => {
  const reuse = new KpageWasm();
  // One PFN in each of 3000 blocks of 64 Ki PFNs: a bitmap and rank bases per block, ~50 MiB.
  const spread = Array.from({ length: 3000 }, (_, i) => i * 65536 + 5);
  const large = KpageIndex.fromStore(store(spread), false, true, reuse);
  assert.equal(large.views!.size, 3000);
  const grown = reuse.bytes;
  assert.ok(grown > KPAGE_WASM_KEEP_BYTES, `the large scan grew the memory to ${grown} bytes`);
  // The next scan still runs on the grown instance (the large index was in use until now)...
  const small1 = KpageIndex.fromStore(store([7, 8, 9]), false, true, reuse);
  assert.equal(small1.views!.size, 3);
  assert.equal(reuse.bytes, grown);
  // ...and the one after starts on a fresh instance sized for itself.
  const small2 = KpageIndex.fromStore(store([70000, 70001]), false, true, reuse);
  assert.equal(small2.views!.size, 2);
  assert.ok(reuse.bytes <= KPAGE_WASM_KEEP_BYTES, `kept ${reuse.bytes} bytes after small scans`);
  assert.equal(small2.views!.pages[1]![(70000 - 65536) >>> 5]! & 0b11 << ((70000 - 65536) & 31), 0b11 << ((70000 - 65536) & 31));
  // Steady small scans keep the one instance.
  const kept = reuse.bytes;
  KpageIndex.fromStore(store([1, 2]), false, true, reuse);
  assert.equal(reuse.bytes, kept);
});
