/**
 * /proc/kpageflags decoding against the conventions of tools/mm/page-types.c:
 * letters and long names, well_known_flags (default view) and
 * expand_overloaded_flags (raw view). The expected tables below are copied by
 * hand from page-types.c's page_flag_names[], not derived from the module.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  PAGE_FLAGS,
  expandOverloadedFlags,
  flagByName,
  flagInfo,
  flagLetters,
  flagNames,
  flagsHex,
  hasBit,
  wellKnownFlags,
} from "../../src/decode/kpageflags.js";

/** Split a 64-bit flag word into (lo, hi). */
function halves(v: bigint): [number, number] {
  return [Number(v & 0xffffffffn), Number(v >> 32n)];
}
function join(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
const B = (bit: number): bigint => 1n << BigInt(bit);

/** page-types.c page_flag_names[] (6.12+): "letter:name" by bit. */
const PAGE_TYPES: Record<number, string> = {
  0: "L:locked",
  1: "E:error",
  2: "R:referenced",
  3: "U:uptodate",
  4: "D:dirty",
  5: "l:lru",
  6: "A:active",
  7: "S:slab",
  8: "W:writeback",
  9: "I:reclaim",
  10: "B:buddy",
  11: "M:mmap",
  12: "a:anonymous",
  13: "s:swapcache",
  14: "b:swapbacked",
  15: "H:compound_head",
  16: "T:compound_tail",
  17: "G:huge",
  18: "u:unevictable",
  19: "X:hwpoison",
  20: "n:nopage",
  21: "x:ksm",
  22: "t:thp",
  23: "o:offline",
  24: "z:zero_page",
  25: "i:idle_page",
  26: "g:pgtable",
  32: "r:reserved",
  33: "m:mlocked",
  34: "d:owner_2",
  35: "P:private",
  36: "p:private_2",
  37: "O:owner_private",
  38: "h:arch",
  40: "f:softdirty",
  41: "H:arch_2",
  47: "d:anon_exclusive",
  48: "I:readahead",
  50: "A:slub_frozen",
  51: "E:slub_debug",
  61: "F:file",
  62: "w:swap",
  63: "1:mmap_exclusive",
};

test("every page-types bit has the same letter and long name", () => {
  for (const [bitText, spec] of Object.entries(PAGE_TYPES)) {
    const bit = Number(bitText);
    const [letter, name] = spec.split(":");
    const info = flagInfo(bit);
    assert.ok(info, `bit ${bit} is named`);
    assert.equal(info.letter, letter, `letter of bit ${bit}`);
    assert.equal(info.name, name, `name of bit ${bit}`);
    assert.equal(flagByName(name!)?.bit, bit, `flagByName(${name})`);
  }
});

test("the flag table is in bit order with unique bits and names; stable = 0-26", () => {
  const bits = PAGE_FLAGS.map((f) => f.bit);
  assert.deepEqual(bits, [...bits].sort((a, b) => a - b));
  assert.equal(new Set(bits).size, bits.length);
  assert.equal(new Set(PAGE_FLAGS.map((f) => f.name)).size, PAGE_FLAGS.length);
  for (const f of PAGE_FLAGS) assert.equal(f.cls === "stable", f.bit <= 26, `class of bit ${f.bit}`);
  assert.equal(flagInfo(27), undefined);
  assert.equal(flagInfo(45), undefined);
});

test("0x5828 (anon, LRU, mapped) -> letters U l M a b in their page-types positions", () => {
  const [lo, hi] = halves(0x5828n);
  const s = flagLetters(lo, hi);
  assert.equal(s, "___U_l_____Ma_b____________");
  assert.equal(s.length, 27, "default view: bits 0-26");
  for (const c of ["U", "l", "M", "a", "b"]) assert.ok(s.includes(c), c);
  assert.deepEqual(flagNames(lo, hi), ["uptodate", "lru", "mmap", "anonymous", "swapbacked"]);
});

test("raw letters cover the hacker and synthetic bits too", () => {
  // 0x402005828 from a measured sweep: bit 34 (anon_exclusive via owner_2) and IDLE.
  const [lo, hi] = expandOverloadedFlags(...halves(0x402005828n));
  const raw = flagLetters(lo, hi, true);
  assert.equal(raw.length, PAGE_FLAGS.length);
  assert.ok(raw.includes("i"), "idle");
  const at = (bit: number): string => raw.charAt(PAGE_FLAGS.findIndex((f) => f.bit === bit));
  assert.equal(at(47), "d", "anon_exclusive");
  assert.equal(at(34), "_", "owner_2 was moved to anon_exclusive");
  assert.equal(at(12), "a");
  assert.equal(at(63), "_");
  // The default view leaves them out.
  assert.equal(flagLetters(lo, hi).length, 27);
});

test("unnamed bits that are set show as '?' and as bit<N>", () => {
  const [lo, hi] = halves(B(28) | B(3) | B(45));
  const s = flagLetters(lo, hi);
  assert.equal(s.split("?").length - 1, 2);
  assert.equal(s.charAt(3), "U");
  assert.deepEqual(flagNames(lo, hi), ["uptodate", "bit28", "bit45"]);
});

test("flagsHex prints 16 hex digits; hasBit reads both halves", () => {
  const [lo, hi] = halves(0x402415828n);
  assert.equal(flagsHex(lo, hi), "0x0000000402415828");
  assert.equal(flagsHex(...halves(B(63))), "0x8000000000000000");
  assert.equal(hasBit(lo, hi, 34), true);
  assert.equal(hasBit(lo, hi, 33), false);
  assert.equal(hasBit(lo, hi, 16), true);
  assert.equal(hasBit(...halves(B(63)), 63), true);
  assert.equal(hasBit(...halves(B(31)), 31), true);
});

test("wellKnownFlags hides compound head/tail on THP and hacker bits", () => {
  // A THP tail from the measured sweep: 0x402415828 = tail + THP + idle + anon page + bit 34.
  const [lo, hi] = wellKnownFlags(...halves(0x402415828n));
  assert.equal(join(lo, hi), 0x2405828n, "tail bit and bit 34 hidden");
  const [hlo, hhi] = wellKnownFlags(...halves(B(15) | B(22) | B(12) | B(11)));
  assert.equal(join(hlo, hhi), B(22) | B(12) | B(11), "THP head loses H");
});

test("wellKnownFlags keeps compound head/tail on hugetlb pages", () => {
  const head = B(17) | B(15) | B(11) | B(3);
  const tail = B(17) | B(16) | B(11) | B(3);
  assert.equal(join(...wellKnownFlags(...halves(head))), head);
  assert.equal(join(...wellKnownFlags(...halves(tail))), tail);
});

test("wellKnownFlags hides exactly bits 32-47 and keeps the synthetic 48-63", () => {
  const all = B(32) | B(33) | B(34) | B(40) | B(47) | B(48) | B(61) | B(63);
  assert.equal(join(...wellKnownFlags(...halves(all))), B(48) | B(61) | B(63));
});

test("expandOverloadedFlags: owner_2 on an anon page becomes anon_exclusive (47)", () => {
  const [lo, hi] = expandOverloadedFlags(...halves(0x5828n | B(34)));
  assert.equal(join(lo, hi), 0x5828n | B(47));
  // Not anon (a page-cache page): owner_2 stays.
  const file = B(3) | B(5) | B(11) | B(34);
  assert.equal(join(...expandOverloadedFlags(...halves(file))), file);
});

test("expandOverloadedFlags: reclaim without writeback is readahead (48); with writeback it stays reclaim", () => {
  const ra = B(3) | B(5) | B(9);
  assert.equal(join(...expandOverloadedFlags(...halves(ra))), B(3) | B(5) | B(48));
  const wb = B(3) | B(8) | B(9);
  assert.equal(join(...expandOverloadedFlags(...halves(wb))), wb);
});

test("expandOverloadedFlags: SLUB overloads active -> slub_frozen (50), error -> slub_debug (51)", () => {
  const slab = B(7) | B(6) | B(1) | B(15);
  assert.equal(join(...expandOverloadedFlags(...halves(slab))), B(7) | B(15) | B(50) | B(51));
  // Active on a non-slab page is just active.
  const lru = B(5) | B(6);
  assert.equal(join(...expandOverloadedFlags(...halves(lru))), lru);
});

test("expandOverloadedFlags ORs pagemap soft-dirty/file/swap/exclusive into 40/61/62/63", () => {
  const pm = (bits: bigint): number => Number(bits >> 32n);
  const base = B(3) | B(5) | B(11);
  assert.equal(join(...expandOverloadedFlags(...halves(base), pm(B(61)))), base | B(61));
  assert.equal(join(...expandOverloadedFlags(...halves(base), pm(B(56)))), base | B(63));
  assert.equal(join(...expandOverloadedFlags(...halves(base), pm(B(62)))), base | B(62));
  assert.equal(join(...expandOverloadedFlags(...halves(base), pm(B(55)))), base | B(40));
  // A present, file, exclusive entry: both at once; the present bit itself adds nothing.
  assert.equal(join(...expandOverloadedFlags(...halves(base), pm(B(63) | B(61) | B(56)))), base | B(61) | B(63));
  // No pagemap entry: nothing added.
  assert.equal(join(...expandOverloadedFlags(...halves(base))), base);
});
