/**
 * /proc/PID/maps parsing. Every fixture line is written exactly as
 * fs/proc/task_mmu.c show_map_vma prints it: a name starts at column 73
 * (25 + sizeof(void*)*6 - 1 padding, then one space), and a line without a
 * name ends in "0 " with a trailing space.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { classifyVma, parseMaps, parseMapsLine } from "../../src/parse/maps.js";
import { ParseError } from "../../src/errors.js";

const MAPS = [
  "00400000-0040b000 r-xp 00000000 08:01 1234                               /usr/bin/cat",
  "55d0c8a00000-55d0c8a28000 r--p 00000000 fd:01 1835029                    /usr/bin/bash",
  "55d0c8c9b000-55d0c8cbc000 rw-p 00000000 00:00 0                          [heap]",
  "7f2b8c000000-7f2b8c021000 rw-p 00000000 00:00 0 ",
  "7f2b8d200000-7f2b8d400000 rw-s 00000000 00:01 2051                       /dev/zero (deleted)",
  "7f2b8d400000-7f2b8d600000 rw-s 00000000 00:01 32770                      /SYSV00000000 (deleted)",
  "7f2b8d600000-7f2b8d601000 rw-s 00000000 00:01 2052                       /memfd:name with space (deleted)",
  "7f2b8d800000-7f2b8da00000 rw-p 00000000 00:10 40960                      /anon_hugepage (deleted)",
  "7f2b8da00000-7f2b8da01000 r--p 00000000 08:01 131074                     /data/with space.bin",
  "7f2b8da01000-7f2b8da02000 r--p 00001000 08:01 131075                     /tmp/new\\012line",
  "7f2b8da02000-7f2b8da03000 r-xp 00000000 08:01 131076                     /tmp/gone.so (deleted)",
  "7f2b8da03000-7f2b8da04000 rw-p 00000000 00:00 0                          [anon:my buffer]",
  "7f2b8da04000-7f2b8da05000 rw-s 00000000 00:01 2053                       [anon_shmem:shared buf]",
  "7ffd1a2e6000-7ffd1a307000 rw-p 00000000 00:00 0                          [stack]",
  "7ffd1a3b8000-7ffd1a3bc000 r--p 00000000 00:00 0                          [vvar]",
  "7ffd1a3bc000-7ffd1a3be000 r--p 00000000 00:00 0                          [vvar_vclock]",
  "7ffd1a3be000-7ffd1a3c0000 r-xp 00000000 00:00 0                          [vdso]",
  "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
].join("\n") + "\n";

/** Matches a ParseError that names `file` and `line N`. */
const parseErrorAt =
  (file: string, line: number, reason?: RegExp) =>
  (e: unknown): boolean =>
    e instanceof ParseError &&
    e.file === file &&
    e.line === line &&
    e.message.includes(file) &&
    new RegExp(`\\bline ${line}\\b`).test(e.message) &&
    (reason === undefined || reason.test(e.message));

test("parseMaps returns one VMA per line with addresses, perms, offset, dev and inode", () => {
  const vmas = parseMaps(MAPS, "/proc/42/maps");
  assert.equal(vmas.length, 18);
  const bash = vmas[1]!;
  assert.equal(bash.start, 0x55d0c8a00000);
  assert.equal(bash.end, 0x55d0c8a28000);
  assert.equal(bash.range, "55d0c8a00000-55d0c8a28000");
  assert.equal(bash.perms, "r--p");
  assert.equal(bash.mayShare, false);
  assert.equal(bash.offset, 0);
  assert.equal(bash.dev, "fd:01");
  assert.equal(bash.inode, 1835029);
  assert.equal(bash.name, "/usr/bin/bash");
  assert.equal(bash.deleted, false);
  assert.equal(bash.kind, "file");

  const cat = vmas[0]!;
  assert.equal(cat.start, 0x400000);
  assert.equal(cat.end, 0x40b000);
  assert.equal(cat.name, "/usr/bin/cat");
  assert.equal(cat.inode, 1234);

  const withOffset = vmas[9]!;
  assert.equal(withOffset.offset, 0x1000);
});

test("every special name is classified", () => {
  const vmas = parseMaps(MAPS);
  const got = vmas.map((v) => [v.name, v.kind, v.deleted, v.mayShare]);
  assert.deepEqual(got, [
    ["/usr/bin/cat", "file", false, false],
    ["/usr/bin/bash", "file", false, false],
    ["[heap]", "heap", false, false],
    ["", "anon", false, false],
    ["/dev/zero (deleted)", "shmem", true, true],
    ["/SYSV00000000 (deleted)", "shmem", true, true],
    ["/memfd:name with space (deleted)", "shmem", true, true],
    ["/anon_hugepage (deleted)", "hugetlb", true, false],
    ["/data/with space.bin", "file", false, false],
    ["/tmp/new\nline", "file", false, false],
    ["/tmp/gone.so (deleted)", "file", true, false],
    ["[anon:my buffer]", "anon-named", false, false],
    ["[anon_shmem:shared buf]", "shmem", false, true],
    ["[stack]", "stack", false, false],
    ["[vvar]", "vvar", false, false],
    ["[vvar_vclock]", "vvar", false, false],
    ["[vdso]", "vdso", false, false],
    ["[vsyscall]", "vsyscall", false, false],
  ]);
});

test("a line without a name (ending in '0 ') has an empty name; the trailing space is optional", () => {
  const a = parseMapsLine("7f2b8c000000-7f2b8c021000 rw-p 00000000 00:00 0 ");
  assert.equal(a.name, "");
  assert.equal(a.inode, 0);
  assert.equal(a.kind, "anon");
  const b = parseMapsLine("7f2b8c000000-7f2b8c021000 rw-p 00000000 00:00 0");
  assert.equal(b.name, "");
  assert.equal(b.end - b.start, 0x21000);
});

test("[vsyscall] keeps its exact address text although the number is above 2^53", () => {
  const v = parseMapsLine("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]");
  assert.equal(v.range, "ffffffffff600000-ffffffffff601000");
  assert.equal(v.kind, "vsyscall");
  assert.equal(v.perms, "--xp");
  assert.ok(v.start > 2 ** 63, "start is a (rounded) number above 2^63");
  assert.ok(v.end >= v.start);
});

test("names: spaces are kept, \\012 becomes a newline, ' (deleted)' is detected", () => {
  const spaced = parseMapsLine("7f2b8da00000-7f2b8da01000 r--p 00000000 08:01 131074                     /data/with space.bin");
  assert.equal(spaced.name, "/data/with space.bin");
  const nl = parseMapsLine("7f2b8da01000-7f2b8da02000 r--p 00001000 08:01 131075                     /tmp/a\\012b\\012c");
  assert.equal(nl.name, "/tmp/a\nb\nc");
  const del = parseMapsLine("7f2b8da02000-7f2b8da03000 r-xp 00000000 08:01 131076                     /tmp/gone.so (deleted)");
  assert.equal(del.deleted, true);
  assert.equal(del.name, "/tmp/gone.so (deleted)");
  assert.equal(del.kind, "file");
});

test("classifyVma: shared-anon names need a non-zero inode; unnamed shared memory is shmem", () => {
  assert.equal(classifyVma("/dev/zero (deleted)", 2051, true), "shmem");
  assert.equal(classifyVma("/dev/zero (deleted)", 0, true), "file");
  assert.equal(classifyVma("/SYSV0001e240 (deleted)", 5, true), "shmem");
  assert.equal(classifyVma("/SYSV0001e24 (deleted)", 5, true), "file", "the SysV key is always 8 hex digits");
  assert.equal(classifyVma("/memfd:x (deleted)", 9, false), "shmem");
  assert.equal(classifyVma("/memfd:x", 9, false), "file", "memfd names always carry ' (deleted)'");
  assert.equal(classifyVma("", 0, true), "shmem");
  assert.equal(classifyVma("", 0, false), "anon");
  assert.equal(classifyVma("[uprobes]", 0, false), "special");
  assert.equal(classifyVma("[stack:1234]", 0, false), "stack");
});

test("blank lines are ignored and line numbers still count them", () => {
  const text = MAPS.split("\n").slice(0, 2).join("\n") + "\n\nnot a maps line\n";
  assert.throws(() => parseMaps(text, "/proc/42/maps"), parseErrorAt("/proc/42/maps", 4));
});

const GOOD = "7f2b8c000000-7f2b8c021000 rw-p 00000000 00:00 0 ";
function withLine3(bad: string): string {
  return [MAPS.split("\n")[1], MAPS.split("\n")[2], bad, GOOD].join("\n") + "\n";
}

test("bad address range -> ParseError naming the file and line 3", () => {
  for (const bad of [
    "7f2b8c000000_7f2b8c021000 rw-p 00000000 00:00 0 ",
    "7f2b8c00000g-7f2b8c021000 rw-p 00000000 00:00 0 ",
    "-7f2b8c021000 rw-p 00000000 00:00 0 ",
    "7f2b8c000000- rw-p 00000000 00:00 0 ",
  ]) {
    assert.throws(() => parseMaps(withLine3(bad), "/proc/7/maps"), parseErrorAt("/proc/7/maps", 3, /address range/), bad);
  }
});

test("end below start -> ParseError", () => {
  assert.throws(
    () => parseMaps(withLine3("7f2b8c021000-7f2b8c000000 rw-p 00000000 00:00 0 "), "/proc/7/maps"),
    parseErrorAt("/proc/7/maps", 3, /end before start/),
  );
});

test("bad permissions -> ParseError", () => {
  for (const perms of ["rwxq", "rw-", "wr-p", "RW-P", "rw-ps"]) {
    const bad = `7f2b8c000000-7f2b8c021000 ${perms} 00000000 00:00 0 `;
    assert.throws(() => parseMaps(withLine3(bad), "/proc/7/maps"), parseErrorAt("/proc/7/maps", 3, /permissions/), perms);
  }
});

test("bad offset, device or inode -> ParseError", () => {
  const cases: [string, RegExp][] = [
    ["7f2b8c000000-7f2b8c021000 rw-p 0000zz00 00:00 0 ", /offset/],
    ["7f2b8c000000-7f2b8c021000 rw-p 00000000 0000 0 ", /device/],
    ["7f2b8c000000-7f2b8c021000 rw-p 00000000 00:0g 0 ", /device/],
    ["7f2b8c000000-7f2b8c021000 rw-p 00000000 00:00 12a ", /inode/],
    ["7f2b8c000000-7f2b8c021000 rw-p 00000000 00:00 -1 ", /inode/],
  ];
  for (const [bad, why] of cases) {
    assert.throws(() => parseMaps(withLine3(bad), "/proc/7/maps"), parseErrorAt("/proc/7/maps", 3, why), bad);
  }
});

test("missing fields -> ParseError", () => {
  for (const bad of ["7f2b8c000000-7f2b8c021000 rw-p 00000000", "7f2b8c000000-7f2b8c021000 rw-p", "7f2b8c000000-7f2b8c021000", "garbage"]) {
    assert.throws(() => parseMaps(withLine3(bad), "/proc/7/maps"), parseErrorAt("/proc/7/maps", 3), bad);
  }
});

test("parseMapsLine without a line number still names the file", () => {
  assert.throws(
    () => parseMapsLine("zz rw-p 00000000 00:00 0 ", "/proc/9/maps"),
    (e: unknown) => e instanceof ParseError && e.line === undefined && /cannot parse \/proc\/9\/maps: bad address range/.test(e.message),
  );
});
