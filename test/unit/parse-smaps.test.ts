/**
 * /proc/PID/smaps and /proc/PID/smaps_rollup parsing, on text laid out as
 * fs/proc/task_mmu.c __show_smap prints it: "Name:" padded to 16 columns,
 * the value right-aligned in 8, " kB"; THPeligible/ProtectionKey unitless;
 * VmFlags with a trailing space.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSmaps, parseSmapsRollup } from "../../src/parse/smaps.js";
import { ParseError } from "../../src/errors.js";

const BASH_VMA = [
  "55d0c8a00000-55d0c8a28000 r--p 00000000 fd:01 1835029                    /usr/bin/bash",
  "Size:                160 kB",
  "KernelPageSize:        4 kB",
  "MMUPageSize:           4 kB",
  "Rss:                 160 kB",
  "Pss:                  32 kB",
  "Pss_Dirty:             0 kB",
  "Shared_Clean:        160 kB",
  "Shared_Dirty:          0 kB",
  "Private_Clean:         0 kB",
  "Private_Dirty:         0 kB",
  "Referenced:          160 kB",
  "Anonymous:             0 kB",
  "KSM:                   0 kB",
  "LazyFree:              0 kB",
  "AnonHugePages:         0 kB",
  "ShmemPmdMapped:        0 kB",
  "FilePmdMapped:         0 kB",
  "Shared_Hugetlb:        0 kB",
  "Private_Hugetlb:       0 kB",
  "Swap:                  0 kB",
  "SwapPss:               0 kB",
  "Locked:                0 kB",
  "THPeligible:           0",
  "VmFlags: rd mr mw me sd ",
];

const HEAP_VMA = [
  "55d0c8c9b000-55d0c8cbc000 rw-p 00000000 00:00 0                          [heap]",
  "Size:                132 kB",
  "KernelPageSize:        4 kB",
  "MMUPageSize:           4 kB",
  "Rss:                  24 kB",
  "Pss:                  24 kB",
  "Pss_Dirty:            24 kB",
  "Shared_Clean:          0 kB",
  "Shared_Dirty:          0 kB",
  "Private_Clean:         0 kB",
  "Private_Dirty:        24 kB",
  "Referenced:           24 kB",
  "Anonymous:            24 kB",
  "KSM:                   0 kB",
  "LazyFree:              0 kB",
  "AnonHugePages:         0 kB",
  "ShmemPmdMapped:        0 kB",
  "FilePmdMapped:         0 kB",
  "Shared_Hugetlb:        0 kB",
  "Private_Hugetlb:       0 kB",
  "Swap:                  8 kB",
  "SwapPss:               4 kB",
  "Locked:                0 kB",
  "THPeligible:           1",
  "ProtectionKey:         0",
  "VmFlags: rd wr mr mw me ac sd ",
];

const HUGETLB_VMA = [
  "7f2b8d800000-7f2b8da00000 rw-p 00000000 00:10 40960                      /anon_hugepage (deleted)",
  "Size:               2048 kB",
  "KernelPageSize:     2048 kB",
  "MMUPageSize:        2048 kB",
  "Rss:                   0 kB",
  "Pss:                   0 kB",
  "Pss_Dirty:             0 kB",
  "Shared_Clean:          0 kB",
  "Shared_Dirty:          0 kB",
  "Private_Clean:         0 kB",
  "Private_Dirty:         0 kB",
  "Referenced:            0 kB",
  "Anonymous:             0 kB",
  "KSM:                   0 kB",
  "LazyFree:              0 kB",
  "AnonHugePages:         0 kB",
  "ShmemPmdMapped:        0 kB",
  "FilePmdMapped:         0 kB",
  "Shared_Hugetlb:        0 kB",
  "Private_Hugetlb:    2048 kB",
  "Swap:                  0 kB",
  "SwapPss:               0 kB",
  "Locked:                0 kB",
  "THPeligible:           0",
  "VmFlags: rd wr mr mw me de ht sd ",
];

const SMAPS = [...BASH_VMA, ...HEAP_VMA, ...HUGETLB_VMA].join("\n") + "\n";

const ROLLUP =
  [
    "55d0c8a00000-7ffd1a3c0000 ---p 00000000 00:00 0                          [rollup]",
    "Rss:                1756 kB",
    "Pss:                 358 kB",
    "Pss_Dirty:           108 kB",
    "Pss_Anon:            108 kB",
    "Pss_File:            250 kB",
    "Pss_Shmem:             0 kB",
    "Shared_Clean:       1572 kB",
    "Shared_Dirty:          0 kB",
    "Private_Clean:        76 kB",
    "Private_Dirty:       108 kB",
    "Referenced:         1756 kB",
    "Anonymous:           108 kB",
    "KSM:                   0 kB",
    "LazyFree:              0 kB",
    "AnonHugePages:         0 kB",
    "ShmemPmdMapped:        0 kB",
    "FilePmdMapped:         0 kB",
    "Shared_Hugetlb:        0 kB",
    "Private_Hugetlb:    2048 kB",
    "Swap:                  8 kB",
    "SwapPss:               4 kB",
    "Locked:                0 kB",
  ].join("\n") + "\n";

const errAt =
  (file: string, line: number, reason?: RegExp) =>
  (e: unknown): boolean =>
    e instanceof ParseError &&
    e.line === line &&
    e.message.includes(file) &&
    new RegExp(`\\bline ${line}\\b`).test(e.message) &&
    (reason === undefined || reason.test(e.message));

test("parseSmaps: one entry per VMA, header parsed as a maps line", () => {
  const entries = parseSmaps(SMAPS, "/proc/42/smaps");
  assert.equal(entries.length, 3);
  assert.deepEqual(
    entries.map((e) => [e.vma.name, e.vma.kind, e.vma.start]),
    [
      ["/usr/bin/bash", "file", 0x55d0c8a00000],
      ["[heap]", "heap", 0x55d0c8c9b000],
      ["/anon_hugepage (deleted)", "hugetlb", 0x7f2b8d800000],
    ],
  );
});

test("parseSmaps: kB fields become bytes, unitless fields stay as printed", () => {
  const [bash, heap, huge] = parseSmaps(SMAPS);
  assert.equal(bash!.fields["Size"], 160 * 1024);
  assert.equal(bash!.fields["Rss"], 160 * 1024);
  assert.equal(bash!.fields["Pss"], 32 * 1024);
  assert.equal(bash!.fields["Shared_Clean"], 160 * 1024);
  assert.equal(bash!.fields["Private_Dirty"], 0);
  assert.equal(bash!.fields["THPeligible"], 0);
  assert.equal(heap!.fields["THPeligible"], 1, "unitless: not multiplied by 1024");
  assert.equal(heap!.fields["ProtectionKey"], 0);
  assert.equal(heap!.fields["Swap"], 8 * 1024);
  assert.equal(heap!.fields["SwapPss"], 4 * 1024);
  assert.equal(heap!.fields["Anonymous"], 24 * 1024);
  assert.equal(huge!.fields["KernelPageSize"], 2048 * 1024);
  assert.equal(huge!.fields["Private_Hugetlb"], 2048 * 1024);
  assert.equal(huge!.fields["Rss"], 0);
  // Each VMA keeps its own fields.
  assert.equal(Object.keys(bash!.fields).length, 23);
  assert.equal(bash!.fields["ProtectionKey"], undefined);
});

test("parseSmaps: VmFlags split into two-letter codes, trailing space dropped", () => {
  const [bash, heap, huge] = parseSmaps(SMAPS);
  assert.deepEqual(bash!.vmFlags, ["rd", "mr", "mw", "me", "sd"]);
  assert.deepEqual(heap!.vmFlags, ["rd", "wr", "mr", "mw", "me", "ac", "sd"]);
  assert.ok(huge!.vmFlags.includes("ht"));
  assert.equal(huge!.vmFlags.length, 8);
});

test("parseSmaps: a field unknown today is kept; an unknown text field is ignored", () => {
  const text = [...BASH_VMA.slice(0, 3), "FutureThing:          12 kB", "FutureText:     some words", ...BASH_VMA.slice(3)].join("\n");
  const [e] = parseSmaps(text);
  assert.equal(e!.fields["FutureThing"], 12 * 1024);
  assert.equal(e!.fields["FutureText"], undefined);
  assert.equal(e!.fields["Rss"], 160 * 1024);
});

test("parseSmaps: empty text gives no entries", () => {
  assert.deepEqual(parseSmaps(""), []);
});

test("parseSmaps: a field line before the first header -> ParseError at line 1", () => {
  const text = BASH_VMA.slice(1).join("\n") + "\n";
  assert.throws(() => parseSmaps(text, "/proc/42/smaps"), errAt("/proc/42/smaps", 1, /before the first mapping header/));
});

test("parseSmaps: a malformed mapping header -> ParseError with its line number", () => {
  // Line 26 is the [heap] header.
  const badHeap = ["55d0c8c9b000-55d0c8cbc000 rw-q 00000000 00:00 0                          [heap]", ...HEAP_VMA.slice(1)];
  const text = [...BASH_VMA, ...badHeap].join("\n");
  assert.throws(() => parseSmaps(text, "/proc/42/smaps"), errAt("/proc/42/smaps", 26, /permissions/));
  const badRange = ["55d0c8cbc000-55d0c8c9b000 rw-p 00000000 00:00 0                          [heap]", ...HEAP_VMA.slice(1)];
  assert.throws(() => parseSmaps([...BASH_VMA, ...badRange].join("\n"), "/proc/42/smaps"), errAt("/proc/42/smaps", 26, /end before start/));
});

test("parseSmaps: a line that is neither a header nor a field -> ParseError", () => {
  const lines = [...BASH_VMA];
  lines.splice(2, 0, "this is not smaps");
  assert.throws(() => parseSmaps(lines.join("\n"), "/proc/42/smaps"), errAt("/proc/42/smaps", 3, /unrecognised/));
});

test("parseSmaps: a known size field with an unreadable value -> ParseError (not silently dropped)", () => {
  // A value that is not a number must not vanish: a missing Rss would be read as 0.
  for (const bad of ["Rss:                 16O kB", "Rss:                 160 MB"]) {
    const lines = [...BASH_VMA];
    lines[4] = bad; // line 5
    assert.throws(() => parseSmaps(lines.join("\n"), "/proc/42/smaps"), errAt("/proc/42/smaps", 5), bad);
  }
});

test("parseSmapsRollup: the [rollup] header, then fields in bytes", () => {
  const f = parseSmapsRollup(ROLLUP, "/proc/42/smaps_rollup");
  assert.equal(f["Rss"], 1756 * 1024);
  assert.equal(f["Pss"], 358 * 1024);
  assert.equal(f["Pss_Anon"], 108 * 1024);
  assert.equal(f["Pss_File"], 250 * 1024);
  assert.equal(f["Pss_Shmem"], 0);
  assert.equal(f["Private_Clean"], 76 * 1024);
  assert.equal(f["Private_Hugetlb"], 2048 * 1024);
  assert.equal(f["SwapPss"], 4 * 1024);
  assert.equal(Object.keys(f).length, 22);
  assert.equal(f["Size"], undefined, "the rollup has no Size line");
});

test("parseSmapsRollup: empty text (a kernel thread) gives no fields", () => {
  assert.deepEqual(parseSmapsRollup(""), {});
});

test("parseSmapsRollup: fields without the header -> ParseError", () => {
  const text = ROLLUP.split("\n").slice(1).join("\n");
  assert.throws(() => parseSmapsRollup(text, "/proc/42/smaps_rollup"), errAt("/proc/42/smaps_rollup", 1, /rollup/));
});

test("parseSmapsRollup: a field before the header -> ParseError at line 1", () => {
  const lines = ROLLUP.split("\n");
  const text = [lines[1], lines[0], ...lines.slice(2)].join("\n");
  assert.throws(() => parseSmapsRollup(text, "/proc/42/smaps_rollup"), errAt("/proc/42/smaps_rollup", 1));
});

test("parseSmapsRollup: an unrecognised line -> ParseError with its number", () => {
  const lines = ROLLUP.split("\n");
  lines.splice(3, 0, "12345");
  assert.throws(() => parseSmapsRollup(lines.join("\n"), "/proc/42/smaps_rollup"), errAt("/proc/42/smaps_rollup", 4, /unrecognised/));
});
