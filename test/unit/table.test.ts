/**
 * The terminal side of output: safeText (render/safe-text.ts), the column
 * formatter (render/table.ts: widths, one unit per column, fitting a given
 * terminal width, streaming) and the CSV writer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { displayWidth, safeText, truncateText } from "../../src/render/safe-text.js";
import { fitNote, newFitReport, renderTable, writeTable, writeTableCsv, type Column } from "../../src/render/table.js";
import { columnUnit, formatInColumn } from "../../src/render/units.js";
import { unescapeStatusName, parseStatus } from "../../src/parse/status.js";

const K = 1024;
const M = K * K;
const G = M * K;

/** Bytes a terminal would act on: C0 controls but newline, DEL, C1, bidi controls, lone surrogates. */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;

// ---------------------------------------------------------------- safeText

test("safeText: plain names pass unchanged (the same string)", () => {
  for (const s of ["systemd", "/usr/lib/x86_64-linux-gnu/libc.so.6", "[anon:heap]", "naïve café", "日本語", "emoji 😀", ""]) assert.equal(safeText(s), s);
});

test("safeText: escapes, newlines, tabs, DEL and C1 are shown, never sent", () => {
  assert.equal(safeText("x\x1b]0;pwned\x07\x1b[2J\nline2"), "x\\x1b]0;pwned\\x07\\x1b[2J\\nline2");
  assert.equal(safeText("a\tb\rc"), "a\\tb\\rc");
  assert.equal(safeText("\x00\x7f\x80\x9b\x9f"), "\\x00\\x7f\\x80\\x9b\\x9f");
  assert.ok(!RAW_CONTROL.test(safeText("\x1b[31mred\x9b0m\x00")));
});

test("safeText: a literal backslash is escaped, so `\\n` on screen always means a newline in the name", () => {
  assert.equal(safeText("a\\nb"), "a\\\\nb");
  assert.equal(safeText("a\nb"), "a\\nb");
  assert.notEqual(safeText("a\\nb"), safeText("a\nb"));
});

test("safeText: bidi overrides and isolates, line separators and lone surrogates are shown as \\uXXXX", () => {
  assert.equal(safeText("evil\u202egnp.exe"), "evil\\u202egnp.exe");
  assert.equal(safeText("\u2066x\u2069"), "\\u2066x\\u2069");
  assert.equal(safeText("a\u2028b"), "a\\u2028b");
  assert.equal(safeText("lone \ud800 high"), "lone \\ud800 high");
  assert.equal(safeText("lone \udc00 low"), "lone \\udc00 low");
  assert.equal(safeText("pair 😀 ok"), "pair 😀 ok", "a valid surrogate pair is a character");
  assert.equal(safeText("bad \ufffd byte"), "bad \ufffd byte", "invalid UTF-8 arrives as U+FFFD, which is visible");
});

test("displayWidth: ASCII by length, wide CJK and emoji 2, combining marks 0", () => {
  assert.equal(displayWidth("abc"), 3);
  assert.equal(displayWidth("日本"), 4);
  assert.equal(displayWidth("e\u0301"), 1);
  assert.equal(displayWidth("😀"), 2);
  assert.equal(displayWidth(safeText("\x1b")), 4, "the escaped form is what is measured");
});

test("truncateText: at the end or in the middle, with an ellipsis, to the exact width", () => {
  assert.equal(truncateText("abcdefghij", 10), "abcdefghij");
  assert.equal(truncateText("abcdefghij", 6), "abcde…");
  assert.equal(truncateText("/usr/lib/python3/dist-packages/x.py", 15, "middle"), "/usr/li…es/x.py");
  assert.equal(displayWidth(truncateText("/usr/lib/python3/dist-packages/x.py", 15, "middle")), 15);
  assert.equal(displayWidth(truncateText("日本語日本語", 5)), 5);
});

// ---------------------------------------------------------------- status Name

test("unescapeStatusName: undoes exactly the kernel's escaping of newline and backslash", () => {
  assert.equal(unescapeStatusName("plain"), "plain");
  assert.equal(unescapeStatusName("a\\nb"), "a\nb");
  assert.equal(unescapeStatusName("a\\\\nb"), "a\\nb", "an escaped backslash followed by n is a backslash and n");
  assert.equal(unescapeStatusName("x\x1b]0;t\x07"), "x\x1b]0;t\x07", "other bytes arrive raw");
  const st = parseStatus("Name:\tev\\nil\\\\\nUmask:\t0022\nTgid:\t5\nPPid:\t1\nUid:\t0\t0\t0\t0\n");
  assert.equal(st.name, "ev\nil\\");
});

// ---------------------------------------------------------------- column units

test("columnUnit: the smallest unit from K up in which the largest value has at most six digits", () => {
  const fmt = (largest: number, v: number): string => formatInColumn(v, columnUnit(largest, "human"));
  assert.equal(fmt(2 * M, 24 * K), "24K");
  assert.equal(fmt(2 * M, 2 * M), "2048K");
  assert.equal(fmt(900 * M, 4 * K), "4K", "up to 976 MiB a column is exact to the page");
  assert.equal(fmt(2 * G, 2 * G), "2048M");
  assert.equal(fmt(2 * G, 300 * K), "0M", "below half a unit: a zero with the unit (not a true zero)");
  assert.equal(fmt(2 * G, 0), "0", "a true zero is 0 whatever the unit");
  assert.equal(fmt(500 * G, 500 * G), "512000M");
  assert.equal(fmt(50 * K * G, 50 * K * G), "51200G");
  assert.equal(fmt(2000 * K * G, 3 * K * G), "3T");
  assert.equal(fmt(500, 500), "500B", "a column below 1K is in bytes");
  assert.equal(fmt(4096, 4096), "4K");
  assert.equal(formatInColumn(1536, columnUnit(1536, "k")), "2K", "a fixed unit is as formatSize");
});

// ---------------------------------------------------------------- the formatter

interface R {
  readonly name: string;
  readonly pss: number | null;
  readonly rss: number;
  readonly vss: number;
}
const COLS: Column<R>[] = [
  { header: "VSS", size: (r) => r.vss, drop: 2 },
  { header: "RSS", size: (r) => r.rss, drop: 1 },
  { header: "PSS", size: (r) => r.pss },
  { header: "NAME", align: "left", cut: "middle", value: (r) => r.name },
];
const ROWS: R[] = [
  { name: "/usr/lib/x86_64-linux-gnu/libc.so.6", pss: 1.5 * M, rss: 2 * M, vss: 2 * G },
  { name: "x\x1b[2J\nevil", pss: null, rss: 4 * K, vss: 8 * K },
  { name: "日本語", pss: 0, rss: 0, vss: 4 * K },
];

test("renderTable: right-aligned sizes in one unit per column, left-aligned names, no trailing spaces, footer after a blank line", () => {
  const out = renderTable(COLS, ROWS, [{ name: "TOTAL", pss: 1.5 * M, rss: 2 * M + 4 * K, vss: 2 * G + 12 * K }]);
  assert.equal(
    out,
    [
      "  VSS    RSS    PSS  NAME",
      "2048M  2048K  1536K  /usr/lib/x86_64-linux-gnu/libc.so.6",
      "   0M     4K      -  x\\x1b[2J\\nevil",
      "   0M      0      0  日本語",
      "",
      "2048M  2052K  1536K  TOTAL",
      "",
    ].join("\n"),
  );
  assert.ok(!RAW_CONTROL.test(out));
  for (const l of out.split("\n")) assert.equal(l, l.trimEnd());
});

test("fitting a terminal: cut names first, then leave out the highest drop; the fit report says what", () => {
  const whole = renderTable(COLS, ROWS);
  const widest = Math.max(...whole.split("\n").map(displayWidth));
  // Wide enough: the same table.
  assert.equal(renderTable(COLS, ROWS, [], { width: widest }), whole);
  // A little narrower: the name is cut in the middle, no column lost.
  const fit1 = newFitReport();
  const t1 = renderTable(COLS, ROWS, [], { width: widest - 6, fit: fit1 });
  assert.deepEqual(fit1.dropped, []);
  assert.equal(fit1.cut, true);
  assert.match(t1, /\/usr\/lib\/x86_6…c\.so\.6|…/);
  for (const l of t1.split("\n")) assert.ok(displayWidth(l) <= widest - 6, `${JSON.stringify(l)} fits`);
  // Narrow: rather than cut the name below 24 columns, VSS (drop 2) goes first, then RSS.
  const fit2 = newFitReport();
  const t2 = renderTable(COLS, ROWS, [], { width: 40, fit: fit2 });
  assert.deepEqual(fit2.dropped, ["VSS"]);
  assert.match(t2.split("\n")[0]!, /^\s*RSS\s+PSS\s+NAME$/);
  for (const l of t2.split("\n")) assert.ok(displayWidth(l) <= 40, `${JSON.stringify(l)} fits 40`);
  const fit3 = newFitReport();
  const t3 = renderTable(COLS, ROWS, [], { width: 30, fit: fit3 });
  assert.deepEqual(fit3.dropped, ["VSS", "RSS"]);
  assert.match(t3.split("\n")[0]!, /^\s*PSS\s+NAME$/);
  for (const l of t3.split("\n")) assert.ok(displayWidth(l) <= 30, `${JSON.stringify(l)} fits 30`);
  assert.match(fitNote(fit3, 30)!, /terminal's 30 columns.*left out VSS, RSS.*--wide/);
  assert.equal(fitNote(newFitReport(), 80), undefined);
});

test("writeTable streams: a long table arrives in several writes, each a whole number of lines, and costs linear time", () => {
  const n = 100_000;
  const rows: R[] = Array.from({ length: n }, (_, i) => ({ name: `/lib/x${i}.so`, pss: i * 4096, rss: i * 4096, vss: i * 8192 }));
  const writes: string[] = [];
  const t0 = performance.now();
  writeTable((t) => writes.push(t), COLS, rows);
  const ms = performance.now() - t0;
  assert.ok(writes.length > 5, `${writes.length} writes`);
  for (const w of writes) assert.ok(w.endsWith("\n"));
  assert.equal(writes.join("").split("\n").length, n + 2);
  // Twice the rows must cost about twice the time (cli-table3 grew worse than linearly); generous bound for a busy machine.
  const rows2 = rows.concat(rows);
  const t1 = performance.now();
  writeTable(() => {}, COLS, rows2);
  const ms2 = performance.now() - t1;
  assert.ok(ms2 < 4 * ms + 200, `100k rows ${ms.toFixed(0)} ms, 200k rows ${ms2.toFixed(0)} ms`);
});

test("writeTable: rows past the width window that are wider only push their own line", () => {
  const rows: R[] = Array.from({ length: 3000 }, (_, i) => ({ name: i === 2999 ? "n".repeat(10) : "n", pss: 0, rss: 0, vss: 0 }));
  const cols: Column<R>[] = [
    { header: "N", align: "left", value: (r) => r.name },
    { header: "PSS", size: (r) => r.pss },
  ];
  const lines = renderTable(cols, rows).trimEnd().split("\n");
  assert.equal(lines[1], "n    0");
  assert.equal(lines[3000], "nnnnnnnnnn    0");
});

test("writeTableCsv: sizes in bytes, true text, no terminal controls but quoted newlines", () => {
  const parts: string[] = [];
  writeTableCsv((t) => parts.push(t), COLS, ROWS);
  const csv = parts.join("");
  assert.equal(csv.split("\n")[0], "vss,rss,pss,name");
  assert.match(csv, /^2147483648,2097152,1572864,\/usr\/lib\/x86_64-linux-gnu\/libc\.so\.6$/m);
  assert.match(csv, /^8192,4096,,"x\\x1b\[2J\nevil"$/m);
  assert.ok(!RAW_CONTROL.test(csv));
});
