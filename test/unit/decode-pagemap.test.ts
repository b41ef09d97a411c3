/**
 * pagemap entry decoding (Documentation/admin-guide/mm/pagemap.rst,
 * fs/proc/task_mmu.c PM_*). Expected bit positions are written out by hand
 * from the kernel layout, not taken from the module's constants.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  classifyNonPresent,
  decodePagemapEntry,
  encodePagemapEntry,
  pfnOf,
  PM_EXCLUSIVE_BIT,
  PM_FILE_BIT,
  PM_FRAME_BITS,
  PM_FRAME_HI_MASK,
  PM_GUARD_BIT,
  PM_PRESENT_BIT,
  PM_PRESENT_HI,
  PM_SOFT_DIRTY_BIT,
  PM_SOFT_DIRTY_HI,
  PM_SWAP_BIT,
  PM_UFFD_WP_BIT,
  swapOffsetOf,
  swapTypeOf,
  type PagemapEntry,
} from "../../src/decode/pagemap.js";
import { E_EXCLUSIVE, E_FILE, E_PAGEMAP_MASK, E_SOFT_DIRTY, E_UFFD_WP } from "../../src/scan/wasm-abi.js";

/** Split a 64-bit entry given as a BigInt literal into (lo, hi). */
function halves(v: bigint): { lo: number; hi: number } {
  return { lo: Number(v & 0xffffffffn), hi: Number(v >> 32n) };
}

const FLAG_BITS: [keyof PagemapEntry, bigint][] = [
  ["softDirty", 1n << 55n],
  ["exclusive", 1n << 56n],
  ["uffdWp", 1n << 57n],
  ["guard", 1n << 58n],
  ["file", 1n << 61n],
  ["swapped", 1n << 62n],
  ["present", 1n << 63n],
];

test("each flag lands on its kernel bit and decodes back alone", () => {
  for (const [name, bit] of FLAG_BITS) {
    const e = encodePagemapEntry({ [name]: true });
    assert.deepEqual(e, halves(bit), name);
    const d = decodePagemapEntry(e.lo, e.hi);
    for (const [other] of FLAG_BITS) assert.equal(d[other], other === name, `${name}: ${other}`);
  }
});

test("round trip: present entry with every flag combination", () => {
  const names = ["file", "exclusive", "softDirty", "uffdWp", "guard"] as const;
  for (let mask = 0; mask < 1 << names.length; mask++) {
    const want: Partial<Record<(typeof names)[number], boolean>> = {};
    names.forEach((n, i) => (want[n] = (mask & (1 << i)) !== 0));
    const { lo, hi } = encodePagemapEntry({ present: true, pfn: 0x32c2ff, ...want });
    const d = decodePagemapEntry(lo, hi);
    assert.equal(d.present, true);
    assert.equal(d.swapped, false);
    assert.equal(d.pfn, 0x32c2ff);
    assert.equal(d.swapType, undefined);
    assert.equal(d.swapOffset, undefined);
    for (const n of names) assert.equal(d[n], want[n], `mask ${mask} ${n}`);
  }
});

test("a measured present anon entry: 0x81000000_0032c200 = present | exclusive | PFN 0x32c200", () => {
  const { lo, hi } = halves(0x810000000032c200n);
  const d = decodePagemapEntry(lo, hi);
  assert.deepEqual(d, {
    present: true,
    swapped: false,
    file: false,
    exclusive: true,
    softDirty: false,
    uffdWp: false,
    guard: false,
    pfn: 0x32c200,
    swapType: undefined,
    swapOffset: undefined,
  });
});

test("pfnOf: PFNs above 2^32 and up to bit 54 are exact; flag bits are masked off", () => {
  for (const pfn of [0n, 1n, 0xffffffffn, 0x100000000n, 0x123456789an, (1n << 40n) - 1n, (1n << 53n) - 1n]) {
    const { lo, hi } = halves(pfn | (1n << 63n) | (1n << 61n) | (1n << 56n) | (1n << 55n));
    assert.equal(pfnOf(lo, hi), Number(pfn), pfn.toString(16));
    const enc = encodePagemapEntry({ present: true, pfn: Number(pfn) });
    assert.deepEqual(enc, halves(pfn | (1n << 63n)), `encode ${pfn.toString(16)}`);
    assert.equal(decodePagemapEntry(enc.lo, enc.hi).pfn, Number(pfn));
  }
  // lo may arrive as a signed int32 (e.g. from `| 0` arithmetic): still read as unsigned.
  assert.equal(pfnOf(-1, 0x80000001), 0x1ffffffff);
});

test("a present entry with PFN hidden (no CAP_SYS_ADMIN) decodes PFN 0", () => {
  const { lo, hi } = halves(1n << 63n);
  assert.equal(decodePagemapEntry(lo, hi).pfn, 0);
});

test("swap type is bits 0-4, offset bits 5-54 (also above 2^32)", () => {
  const cases: [number, bigint][] = [
    [0, 0n],
    [1, 0x1234n],
    [22, 0xabcdefn],
    [3, (1n << 40n) + 3n],
    [31, (1n << 47n) + 7n],
    [5, (1n << 49n) + 7n], // beyond what encode's float frame holds exactly: decode only
  ];
  for (const [type, offset] of cases) {
    const raw = (1n << 62n) | (offset << 5n) | BigInt(type);
    const { lo, hi } = halves(raw);
    assert.equal(swapTypeOf(lo), type);
    assert.equal(swapOffsetOf(lo, hi), Number(offset));
    const d = decodePagemapEntry(lo, hi);
    assert.equal(d.present, false);
    assert.equal(d.swapped, true);
    assert.equal(d.pfn, undefined);
    assert.equal(d.swapType, type);
    assert.equal(d.swapOffset, Number(offset));
    if (offset < 1n << 48n) assert.deepEqual(encodePagemapEntry({ swapped: true, swapType: type, swapOffset: Number(offset) }), { lo, hi }, `encode ${type}/${offset}`);
  }
});

test("the measured guard marker 0x440000000000009f: bit 62 + bit 58, type 31, offset 4", () => {
  const { lo, hi } = halves(0x440000000000009fn);
  const d = decodePagemapEntry(lo, hi);
  assert.equal(d.swapped, true);
  assert.equal(d.guard, true);
  assert.equal(d.present, false);
  assert.equal(d.swapType, 31);
  assert.equal(d.swapOffset, 4);
  assert.equal(classifyNonPresent(lo, 23), "marker");
});

test("classifyNonPresent: types below MAX_SWAPFILES are swap, 31 is a marker, the rest migration/device", () => {
  const lo = (type: number, offset = 0x77): number => halves((BigInt(offset) << 5n) | BigInt(type)).lo;
  // MAX_SWAPFILES = 32 - 4 (device) - 3 (migration) - 1 (hwpoison) - 1 (marker) = 23
  assert.equal(classifyNonPresent(lo(0), 23), "swap");
  assert.equal(classifyNonPresent(lo(22), 23), "swap");
  assert.equal(classifyNonPresent(lo(23), 23), "migration-or-device");
  assert.equal(classifyNonPresent(lo(27), 23), "migration-or-device");
  assert.equal(classifyNonPresent(lo(30), 23), "migration-or-device");
  assert.equal(classifyNonPresent(lo(31), 23), "marker");
  // A kernel without device-private/hwpoison: MAX_SWAPFILES = 27, so 26 is swap there.
  assert.equal(classifyNonPresent(lo(26), 27), "swap");
  assert.equal(classifyNonPresent(lo(26), 23), "migration-or-device");
  // Only the type bits matter, not the offset.
  assert.equal(classifyNonPresent(lo(31, 0xffffff), 23), "marker");
  assert.equal(classifyNonPresent(lo(2, 0xffffff), 23), "swap");
});

test("an all-zero entry (pte_none) decodes to nothing", () => {
  assert.deepEqual(decodePagemapEntry(0, 0), {
    present: false,
    swapped: false,
    file: false,
    exclusive: false,
    softDirty: false,
    uffdWp: false,
    guard: false,
    pfn: undefined,
    swapType: undefined,
    swapOffset: undefined,
  });
  assert.deepEqual(encodePagemapEntry({}), { lo: 0, hi: 0 });
});

test("a soft-dirty hole (VM_SOFTDIRTY VMA, nothing mapped) is neither present nor swapped", () => {
  const { lo, hi } = halves(1n << 55n);
  const d = decodePagemapEntry(lo, hi);
  assert.equal(d.softDirty, true);
  assert.equal(d.present, false);
  assert.equal(d.swapped, false);
  assert.equal(d.swapType, undefined);
});

test("encode returns unsigned halves (usable directly in a Uint32Array)", () => {
  const e = encodePagemapEntry({ present: true, file: true, exclusive: true, pfn: 0xfffffffff });
  assert.ok(e.hi > 0 && e.lo > 0);
  assert.equal(e.hi, 0xa100000f);
  assert.equal(e.lo, 0xffffffff);
});

test("the pagemap bits have one spelling: the halves and the walk's compact bits agree with pagemap-bits.ts", () => {
  // Bit numbers as Documentation/admin-guide/mm/pagemap.rst gives them.
  assert.deepEqual([PM_PRESENT_BIT, PM_SWAP_BIT, PM_FILE_BIT, PM_GUARD_BIT, PM_UFFD_WP_BIT, PM_EXCLUSIVE_BIT, PM_SOFT_DIRTY_BIT, PM_FRAME_BITS], [63, 62, 61, 58, 57, 56, 55, 55]);
  assert.equal(PM_PRESENT_HI >>> 0, 0x80000000);
  assert.equal(PM_SOFT_DIRTY_HI, 1 << 23);
  assert.equal(PM_FRAME_HI_MASK, 0x7fffff);
  // The walk keeps bits 55-61 shifted down by 55 (scan/wasm-abi.ts, which asc compiles and so cannot import them).
  assert.equal(E_SOFT_DIRTY, 1 << (PM_SOFT_DIRTY_BIT - 55));
  assert.equal(E_EXCLUSIVE, 1 << (PM_EXCLUSIVE_BIT - 55));
  assert.equal(E_UFFD_WP, 1 << (PM_UFFD_WP_BIT - 55));
  assert.equal(E_FILE, 1 << (PM_FILE_BIT - 55));
  assert.equal(E_PAGEMAP_MASK, E_SOFT_DIRTY | E_EXCLUSIVE | E_UFFD_WP | E_FILE);
});
