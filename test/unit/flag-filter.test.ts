/**
 * page-types' --bits / --describe / --addr syntax (tools/mm/page-types.c
 * parse_bits_mask, parse_flag_names, bit_mask_ok, parse_addr_range): each
 * form of the usage text, name prefixes, numbers, and the inputs pagelens
 * rejects where page-types would silently match nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { matchesFilter, matchesFilters, parseBitsSpec, parseCNumber, parseFlagList, resolveFlagToken } from "../../src/decode/flag-filter.js";
import { parseAddrSpec } from "../../src/cli/commands/flags.js";
import { UsageError } from "../../src/errors.js";

// kpageflags bits by number (uapi kernel-page-flags.h), low half.
const LRU = 1 << 5;
const ACTIVE = 1 << 6;
const BUDDY = 1 << 10;
const MMAP = 1 << 11;
const ANON = 1 << 12;
const SWAPBACKED = 1 << 14;
const HEAD = 1 << 15;
const TAIL = 1 << 16;
const THP = 1 << 22;
const ZERO = 1 << 24;
const IDLE = 1 << 25;
// High half: bit N is 1 << (N - 32).
const MLOCKED_HI = 1 << 1; // 33
const SWAP_HI = 1 << 30; // 62 (page-types synthetic)

function word(spec: string): { lo: number; hi: number } {
  return parseFlagList(spec);
}

test("names, unique prefixes and numbers resolve to bits", () => {
  assert.deepEqual(word("anonymous"), { lo: ANON, hi: 0 });
  // "anon" prefixes anonymous (stable) and anon_exclusive (raw-only): the stable bit wins, as with page-types' first match.
  assert.deepEqual(word("anon"), { lo: ANON, hi: 0 });
  assert.deepEqual(word("zero"), { lo: ZERO, hi: 0 });
  assert.deepEqual(word("idle"), { lo: IDLE, hi: 0 });
  assert.deepEqual(word("bud"), { lo: BUDDY, hi: 0 });
  assert.deepEqual(word("mlock"), { lo: 0, hi: MLOCKED_HI });
  assert.deepEqual(word("compound_h"), { lo: HEAD, hi: 0 });
  // Any prefix of "compound" means head|tail (page-types parse_flag_name).
  assert.deepEqual(word("compound"), { lo: HEAD | TAIL, hi: 0 });
  assert.deepEqual(word("comp"), { lo: HEAD | TAIL, hi: 0 });
  // An exact name beats a longer name it prefixes: "swap" is the synthetic bit 62, not swapcache.
  assert.deepEqual(word("swap"), { lo: 0, hi: SWAP_HI });
  assert.deepEqual(word("0x10"), { lo: 0x10, hi: 0 });
  assert.deepEqual(word("16"), { lo: 16, hi: 0 });
  assert.deepEqual(word("010"), { lo: 8, hi: 0 }, "strtoll base 0: a leading 0 is octal");
  assert.deepEqual(word("0x8000000000000001"), { lo: 1, hi: 0x80000000 });
  assert.deepEqual(word("0x10,anon"), { lo: 0x10 | ANON, hi: 0 });
  assert.deepEqual(word("lru, anon"), { lo: LRU | ANON, hi: 0 }, "spaces around items are ignored");
});

test("bad names and numbers are usage errors naming the option and the item", () => {
  assert.throws(() => word("bogus"), (e: unknown) => e instanceof UsageError && /--describe: "bogus"/.test(e.message) && /not a flag name or number/.test(e.message));
  assert.throws(() => resolveFlagToken("a", "--bits", "a"), (e: unknown) => e instanceof UsageError && /ambiguous/.test(e.message) && /active/.test(e.message) && /anonymous/.test(e.message));
  assert.throws(() => resolveFlagToken("s", "--bits", "s"), /ambiguous/);
  assert.throws(() => word("12abc"), /not a flag name or number/, "no trailing junk after a number (strtoll would take 12)");
  assert.throws(() => word("0x1ffffffffffffffff"), /64 bits/);
  assert.throws(() => word(""), /empty/);
  assert.throws(() => word("anon=lru"), /belongs in --bits/);
  assert.throws(() => word("~anon"), /"~" is not allowed/);
});

test("parseCNumber reads like strtoll(…, 0) but only whole numbers", () => {
  assert.equal(parseCNumber("0"), 0n);
  assert.equal(parseCNumber("0x1F"), 31n);
  assert.equal(parseCNumber("017"), 15n);
  assert.equal(parseCNumber("42"), 42n);
  assert.equal(parseCNumber("08"), undefined);
  assert.equal(parseCNumber("-1"), undefined);
  assert.equal(parseCNumber("1e3"), undefined);
});

test("bit1,bit2: any of the bits is set", () => {
  const f = parseBitsSpec("anon,thp");
  assert.equal(f.anyOf, true);
  assert.equal(matchesFilter(f, ANON | LRU, 0), true);
  assert.equal(matchesFilter(f, THP, 0), true);
  assert.equal(matchesFilter(f, LRU | MMAP, 0), false);
  assert.equal(f.spec, "anon,thp");
});

test("bit1,bit2=bit1: mask and value", () => {
  const f = parseBitsSpec("anon,swapbacked=anon");
  assert.equal(f.anyOf, false);
  assert.equal(matchesFilter(f, ANON | LRU, 0), true);
  assert.equal(matchesFilter(f, ANON | SWAPBACKED, 0), false);
  assert.equal(matchesFilter(f, LRU, 0), false);
  // "=" with an empty value: both bits clear.
  const none = parseBitsSpec("anon,swapbacked=");
  assert.equal(matchesFilter(none, LRU, 0), true);
  assert.equal(matchesFilter(none, ANON, 0), false);
});

test("bit1,~bit2: set and clear, the same as bit1,bit2=bit1", () => {
  const f = parseBitsSpec("anon,~swapbacked");
  const g = parseBitsSpec("anon,swapbacked=anon");
  for (const lo of [0, ANON, SWAPBACKED, ANON | SWAPBACKED, ANON | LRU, LRU]) assert.equal(matchesFilter(f, lo, 0), matchesFilter(g, lo, 0), `flags 0x${lo.toString(16)}`);
  const onlyClear = parseBitsSpec("~buddy");
  assert.equal(matchesFilter(onlyClear, LRU, 0), true);
  assert.equal(matchesFilter(onlyClear, BUDDY, 0), false);
});

test("=bit1,bit2: exactly these bits, every other bit clear (high half too)", () => {
  const f = parseBitsSpec("=lru,active");
  assert.equal(matchesFilter(f, LRU | ACTIVE, 0), true);
  assert.equal(matchesFilter(f, LRU | ACTIVE | IDLE, 0), false);
  assert.equal(matchesFilter(f, LRU | ACTIVE, MLOCKED_HI), false);
  assert.equal(matchesFilter(f, LRU, 0), false);
  const zero = parseBitsSpec("=");
  assert.equal(matchesFilter(zero, 0, 0), true, '"=" alone selects pages with no flag at all');
  assert.equal(matchesFilter(zero, BUDDY, 0), false);
});

test("filters on high-half bits and 64-bit numbers", () => {
  const f = parseBitsSpec("mlocked");
  assert.equal(matchesFilter(f, 0, MLOCKED_HI), true);
  assert.equal(matchesFilter(f, 0xffffffff, 0), false);
  const top = parseBitsSpec("0x8000000000000000");
  assert.equal(matchesFilter(top, 0, 0x80000000), true);
  assert.equal(matchesFilter(top, 0, 0x40000000), false);
});

test("several filters must all hold", () => {
  const fs = [parseBitsSpec("anon"), parseBitsSpec("~thp"), parseBitsSpec("lru,mmap")];
  assert.equal(matchesFilters(fs, ANON | LRU, 0), true);
  assert.equal(matchesFilters(fs, ANON | LRU | THP, 0), false);
  assert.equal(matchesFilters(fs, ANON, 0), false);
  assert.equal(matchesFilters([], 0, 0), true, "no filter: everything matches");
});

test("bad --bits specs are usage errors", () => {
  const bad = (spec: string, re: RegExp): void => assert.throws(() => parseBitsSpec(spec), (e: unknown) => e instanceof UsageError && /^--bits: /.test(e.message) && re.test(e.message), spec);
  bad("", /empty/);
  bad("nosuchflag", /"nosuchflag" in "nosuchflag" is not a flag name/);
  bad("0", /names no flag bits/);
  bad("anon=lru", /outside the mask/);
  bad("anon,~lru=anon", /"~" is not allowed/);
  bad("=anon=lru", /more than one "="/);
  bad("anon,~", /"~" without a flag name/);
  // Empty items are ignored, as page-types does.
  assert.equal(parseBitsSpec("anon,,").maskLo, ANON);
});

test("page-types addr-spec: N, N+M, N,M, N, and ,M", () => {
  assert.deepEqual(parseAddrSpec("5"), { start: 5, end: 6 });
  assert.deepEqual(parseAddrSpec("0x100+0x10"), { start: 0x100, end: 0x110 });
  assert.deepEqual(parseAddrSpec("0x100,0x180"), { start: 0x100, end: 0x180 });
  assert.deepEqual(parseAddrSpec("0x100,"), { start: 0x100, end: Infinity });
  assert.deepEqual(parseAddrSpec("0x100+"), { start: 0x100, end: Infinity });
  assert.deepEqual(parseAddrSpec(",64"), { start: 0, end: 64 });
  assert.deepEqual(parseAddrSpec("+64"), { start: 0, end: 64 });
  assert.deepEqual(parseAddrSpec("010,020"), { start: 8, end: 16 }, "octal like strtoll");
});

test("bad addr-specs are usage errors naming --addr", () => {
  for (const [spec, re] of [
    ["", /empty/],
    ["zz", /"zz" in "zz" is not a page number/],
    ["10,5", /empty range/],
    ["10,10", /empty range/],
    ["10+0", /empty range/],
    ["1,2,3", /not a page number/],
    ["0x20000000000000", /too large/],
  ] as const)
    assert.throws(() => parseAddrSpec(spec), (e: unknown) => e instanceof UsageError && e.message.startsWith("--addr: ") && re.test(e.message), spec);
});
