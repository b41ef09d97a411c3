/** The word-file encoding of captures: exact round trips, first read kept, gaps refused, the end of file kept. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CaptureMissingError } from "../../src/capture/errors.js";
import { MAX_WORD_INDEX, WordRecorder, WordTable } from "../../src/capture/words.js";

function words(values: bigint[]): Uint8Array {
  const b = new Uint8Array(values.length * 8);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, v), true));
  return b;
}

function readBack(t: WordTable, index: number, count: number): bigint[] {
  const b = new Uint8Array(count * 8);
  const got = t.read(index, count, b, 0, "cap", "file");
  const dv = new DataView(b.buffer);
  return Array.from({ length: got }, (_, i) => dv.getBigUint64(i * 8, true));
}

describe("capture word files", () => {
  it("round-trip: runs with steps 0, 1, 32, negative, carries across 2^32, and random words", () => {
    const vals: bigint[] = [];
    for (let i = 0n; i < 700n; i++) vals.push((1n << 63n) | (0xfffff000n + i)); // present, PFN crossing 2^32
    for (let i = 0n; i < 50n; i++) vals.push(0n);
    for (let i = 0n; i < 40n; i++) vals.push((1n << 62n) | ((1000n + i) << 5n) | 1n); // swap entries, step 32
    for (let i = 0n; i < 30n; i++) vals.push(0x8000_0000_0000_0000n + 5000n - i); // negative step
    let x = 12345n;
    for (let i = 0; i < 300; i++) {
      x = (x * 6364136223846793005n + 1442695040888963407n) & 0xffff_ffff_ffff_ffffn;
      vals.push(x);
    }
    const r = new WordRecorder();
    r.record(1000, vals.length, vals.length, words(vals), 0);
    const t = WordTable.decode(r.encodeMember(), "cap");
    assert.deepEqual(readBack(t, 1000, vals.length), vals.map((v) => BigInt.asUintN(64, v)));
    assert.deepEqual(readBack(t, 1500, 10), vals.slice(500, 510));
    assert.equal(t.end, MAX_WORD_INDEX);
  });

  it("keeps the first read of a word, and refuses words never read", () => {
    const r = new WordRecorder();
    r.record(10, 4, 4, words([1n, 2n, 3n, 4n]), 0);
    r.record(12, 4, 4, words([99n, 99n, 5n, 6n]), 0);
    r.record(100, 2, 2, words([7n, 8n]), 0);
    const t = WordTable.decode(r.encodeMember(), "cap");
    assert.deepEqual(readBack(t, 10, 6), [1n, 2n, 3n, 4n, 5n, 6n]);
    assert.throws(() => readBack(t, 15, 2), CaptureMissingError);
    assert.throws(() => readBack(t, 50, 1), CaptureMissingError);
    assert.deepEqual(readBack(t, 100, 2), [7n, 8n]);
  });

  it("a short read records the end of the file: reads there return 0 words, as pread does", () => {
    const r = new WordRecorder();
    r.record(0, 8, 5, words([1n, 1n, 1n, 1n, 1n, 0n, 0n, 0n]), 0);
    const t = WordTable.decode(r.encodeMember(), "cap");
    assert.equal(t.end, 5);
    assert.deepEqual(readBack(t, 3, 8), [1n, 1n]);
    assert.deepEqual(readBack(t, 5, 8), []);
  });

  it("a word read at an odd byte offset of its buffer is kept exactly", () => {
    const buf = new Uint8Array(8 * 3 + 4);
    buf.set(words([5n, 6n, 0xdead_beef_0000_0001n]), 4);
    const r = new WordRecorder();
    r.record(7, 3, 3, buf, 4);
    assert.deepEqual(readBack(WordTable.decode(r.encodeMember(), "cap"), 7, 3), [5n, 6n, 0xdead_beef_0000_0001n]);
  });
});
