/** Size formatting (render/units.ts), option parsers (cli/options.ts) and CSV output (render/table.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { UNITS, formatSize } from "../../src/render/units.js";
import { parseAddressRange, parsePid, parsePidList, parseRegex, parseUnit } from "../../src/cli/options.js";
import { renderCsv } from "../../src/render/table.js";
import { UsageError } from "../../src/errors.js";

const K = 1024;
const M = K * K;
const G = M * K;

const usageError = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test(e.message);

// ---------------------------------------------------------------- formatSize

test("formatSize human: 0, bytes, K without decimals, M/G with one decimal, 3 digits without", () => {
  assert.equal(formatSize(0), "0");
  assert.equal(formatSize(0.4), "0", "fractional PSS below half a byte");
  assert.equal(formatSize(512), "512B");
  assert.equal(formatSize(1023), "1023B");
  assert.equal(formatSize(K), "1K");
  assert.equal(formatSize(812 * K), "812K");
  assert.equal(formatSize(1.5 * M), "1.5M");
  assert.equal(formatSize(150 * M), "150M");
  assert.equal(formatSize(23.4 * G), "23.4G");
  assert.equal(formatSize(2 * K * G), "2.0T");
  assert.equal(formatSize(K * K * G), "1.0P");
  assert.equal(formatSize(4096 * K * K * G), "4096P", "P is the largest unit");
});

test("formatSize human: PSS fractions are rounded only here", () => {
  assert.equal(formatSize(4096 / 3), "1K");
  assert.equal(formatSize((100 * 4096) / 3), "133K");
  assert.equal(formatSize(-2 * M), "-2.0M");
});

test("formatSize fixed units", () => {
  assert.equal(formatSize(4096 / 3, "bytes"), "1365");
  assert.equal(formatSize(1536, "k"), "2K");
  assert.equal(formatSize(1535, "k"), "1K");
  assert.equal(formatSize(1.25 * M, "m"), "1.3M");
  assert.equal(formatSize(3 * M, "m"), "3.0M");
  assert.equal(formatSize(G, "g"), "1.00G");
  assert.equal(formatSize(0, "g"), "0.00G");
});

test("formatSize rejects NaN and infinities", () => {
  assert.throws(() => formatSize(NaN), RangeError);
  assert.throws(() => formatSize(Infinity, "bytes"), RangeError);
});

// ---------------------------------------------------------------- options

test("parsePid accepts process ids, trims spaces", () => {
  assert.equal(parsePid("1"), 1);
  assert.equal(parsePid("4194304"), 4194304);
  assert.equal(parsePid(" 42 "), 42);
});

test("parsePid rejects 0, negatives, leading zeros, junk; the message names the option", () => {
  for (const bad of ["0", "-1", "007", "12a", "", "1.5", "0x10", "12345678901"]) {
    assert.throws(() => parsePid(bad, "--pid"), usageError(/--pid/), bad);
  }
  assert.throws(() => parsePid("x"), usageError(/^PID: expected a process id, got "x"$/));
});

test("parsePidList: comma list, empty parts skipped, bad members rejected", () => {
  assert.deepEqual(parsePidList("1,22,333"), [1, 22, 333]);
  assert.deepEqual(parsePidList("5,,6,"), [5, 6]);
  assert.throws(() => parsePidList(""), usageError(/--pid/));
  assert.throws(() => parsePidList(",,"), usageError(/--pid/));
  assert.throws(() => parsePidList("1,x"), usageError(/--pid.*"x"/));
});

test("parseRegex compiles, or names the option", () => {
  assert.ok(parseRegex("^bash$", "--match").test("bash"));
  assert.throws(() => parseRegex("(", "--match"), usageError(/^--match: not a valid regular expression/));
});

test("parseUnit accepts exactly the listed units", () => {
  for (const u of UNITS) assert.equal(parseUnit(u), u);
  assert.deepEqual([...UNITS], ["human", "bytes", "k", "m", "g"]);
  for (const bad of ["K", "kb", "", "auto"]) assert.throws(() => parseUnit(bad), usageError(/--units/), bad);
});

test("parseAddressRange: hex START-END, optional 0x, single address = one byte", () => {
  assert.deepEqual(parseAddressRange("7f0000000000-7f0000100000"), { start: 0x7f0000000000, end: 0x7f0000100000 });
  assert.deepEqual(parseAddressRange("0x1000-0x2000"), { start: 0x1000, end: 0x2000 });
  assert.deepEqual(parseAddressRange(" 55d0c8A00000 - 55d0c8a28000 "), { start: 0x55d0c8a00000, end: 0x55d0c8a28000 });
  assert.deepEqual(parseAddressRange("0x7ffd1a3be000"), { start: 0x7ffd1a3be000, end: 0x7ffd1a3be001 });
});

test("parseAddressRange rejects reversed, empty, junk and unsafe addresses", () => {
  assert.throws(() => parseAddressRange("2000-1000"), usageError(/--addr: END must be above START/));
  assert.throws(() => parseAddressRange("1000-1000"), usageError(/END must be above START/));
  assert.throws(() => parseAddressRange("zz"), usageError(/--addr: expected START-END/));
  assert.throws(() => parseAddressRange(""), usageError(/--addr/));
  assert.throws(() => parseAddressRange("1000-"), usageError(/--addr/));
  assert.throws(() => parseAddressRange("ffffffffff600000-ffffffffff601000"), usageError(/too large/));
});

// ---------------------------------------------------------------- CSV

test("renderCsv: RFC 4180 quoting for commas, quotes and newlines; null is empty; a carriage return is shown, not sent", () => {
  const out = renderCsv(
    ["pid", "name", "pss", "ok"],
    [
      [1, "systemd", 1365.5, true],
      [2, "a,b", null, false],
      [3, 'say "hi"', 0, true],
      [4, "/tmp/new\nline", 7, false],
      [5, "cr\rhere", 1, true],
    ],
  );
  assert.equal(
    out,
    [
      "pid,name,pss,ok",
      "1,systemd,1365.5,true",
      '2,"a,b",,false',
      '3,"say ""hi""",0,true',
      '4,"/tmp/new\nline",7,false',
      "5,cr\\rhere,1,true",
      "",
    ].join("\n"),
  );
});

test("renderCsv: headers are escaped too; no rows gives just the header", () => {
  assert.equal(renderCsv(["a,b", "c"], []), '"a,b",c\n');
});
