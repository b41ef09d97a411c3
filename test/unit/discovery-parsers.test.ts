/**
 * Discovery's fast parsers (docs/performance.md, section 7) against the
 * straightforward algorithms they replace, on the kernel's own formats and
 * on thousands of mutated lines built to break them: every input must give
 * the same value, or the same error, both ways.
 *
 * The references below are the previous implementations, kept here verbatim
 * as the specification of what the fast ones must return.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { parseMaps, parseMapsLine, type Vma } from "../../src/parse/maps.js";
import { parseStatus, parseStatusFields, unescapeStatusName } from "../../src/parse/status.js";
import { parseStatStartTime } from "../../src/parse/stat.js";
import { memoryCgroupOf, memoryCgroupPath, parseCgroupFile, parseKernelConfig, parseKernelConfigByLine } from "../../src/parse/kernel-config.js";
import { ProcFs } from "../../src/procfs/procfs.js";
import { ParseError } from "../../src/errors.js";
import { rng } from "../support/rng.js";


/** Characters that matter to the formats: separators, digits, hex, line breaks JavaScript's `.` and `\s` treat specially. */
const ALPHABET = ["0", "1", "9", "a", "f", "g", "A", "-", ":", " ", "  ", "\t", "\r", "\n", "\u2028", "\u00a0", "\ufeff", "(", ")", "\\", "r", "w", "x", "s", "p", "/", ",", "memory", "é"];

/** `text` with 1-3 random edits (replace, insert or delete a character). */
function mutate(text: string, next: () => number): string {
  let t = text;
  const edits = 1 + Math.floor(next() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(next() * (t.length + 1));
    const ch = ALPHABET[Math.floor(next() * ALPHABET.length)]!;
    const op = next();
    if (op < 0.4) t = t.slice(0, at) + ch + t.slice(at + 1);
    else if (op < 0.8) t = t.slice(0, at) + ch + t.slice(at);
    else t = t.slice(0, at) + t.slice(at + 1);
  }
  return t;
}

/** The value, or the error's class and message. */
function outcome<T>(f: () => T): { value: T } | { error: string } {
  try {
    return { value: f() };
  } catch (err) {
    return { error: `${(err as Error).constructor.name}: ${(err as Error).message}` };
  }
}

// ---------------------------------------------------------------- maps

const MAPS_LINES = [
  "00400000-0040b000 r-xp 00000000 08:01 1234                               /usr/bin/cat",
  "55d0c8c9b000-55d0c8cbc000 rw-p 00000000 00:00 0                          [heap]",
  "7f2b8c000000-7f2b8c021000 rw-p 00000000 00:00 0 ",
  "7f2b8c000000-7f2b8c021000 rw-p 00000000 00:00 0",
  "7f2b8d200000-7f2b8d400000 rw-s 00000000 00:01 2051                       /dev/zero (deleted)",
  "7f2b8d600000-7f2b8d601000 rw-s 00000000 00:01 2052                       /memfd:name with space (deleted)",
  "7f2b8da01000-7f2b8da02000 r--p 00001000 08:01 131075                     /tmp/new\\012line",
  "7f2b8da03000-7f2b8da04000 rw-p 00000000 00:00 0                          [anon:my buffer]",
  "7f2b8da04000-7f2b8da05000 rw-s 00000000 00:01 2053                       [anon_shmem:shared buf]",
  "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
  "7f2b8da05000-7f2b8da06000 r--s 123456789abcdef0 103:02 18446744073709551615 /dev/mem",
  "7f2b8da06000-7f2b8da07000 r--p 00000000 fd:01 42      name with trailing spaces   ",
];

test("parseMaps: the one-match fast path gives parseMapsLine's Vma on every line the kernel prints", () => {
  const text = MAPS_LINES.join("\n") + "\n";
  const fast = parseMaps(text, "/proc/1/maps");
  assert.deepEqual(
    fast,
    MAPS_LINES.map((l, i) => parseMapsLine(l, "/proc/1/maps", i + 1)),
  );
  assert.equal(fast.length, MAPS_LINES.length);
});

test("parseMaps: 20 000 mutated lines give the same Vma or the same error as parseMapsLine", () => {
  const next = rng(0x5eed);
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 20_000; i++) {
    const line = mutate(MAPS_LINES[i % MAPS_LINES.length]!, next);
    // Through parseMaps as line 2 of a file (the fast path runs at an offset into the text), against parseMapsLine on the lines alone.
    const text = `${MAPS_LINES[0]}\n${line}\n${MAPS_LINES[2]}`;
    const got = outcome(() => parseMaps(text, "/proc/5/maps"));
    const want = outcome(() => {
      const vmas: Vma[] = [];
      let lineNo = 0;
      for (const l of text.split("\n")) {
        lineNo++;
        if (l !== "") vmas.push(parseMapsLine(l, "/proc/5/maps", lineNo));
      }
      return vmas;
    });
    assert.deepEqual(got, want, JSON.stringify(line));
    if ("value" in want) accepted++;
    else rejected++;
  }
  // The mutations must exercise both sides.
  assert.ok(accepted > 2000 && rejected > 2000, `accepted ${accepted}, rejected ${rejected}`);
});

// ---------------------------------------------------------------- status

/** The previous parseStatus: a dictionary of every line, then the fields from it. */
function statusReference(text: string, file = "status") {
  const raw: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    raw[key] = key === "Name" ? line.slice(colon + 1).replace(/^\t/, "") : line.slice(colon + 1).trim();
  }
  const num = (key: string): number => {
    const v = raw[key];
    if (v === undefined || !/^-?[0-9]+$/.test(v)) throw new ParseError(file, undefined, `missing or bad ${key}: field`);
    return Number(v);
  };
  const uidText = raw["Uid"];
  if (uidText === undefined || !/^[0-9]+(\s+[0-9]+)*$/.test(uidText)) throw new ParseError(file, undefined, "missing or bad Uid: field");
  const rss = raw["VmRSS"];
  const swap = raw["VmSwap"];
  return {
    name: unescapeStatusName(raw["Name"] ?? ""),
    ppid: num("PPid"),
    tgid: num("Tgid"),
    uids: uidText.split(/\s+/).map(Number),
    threads: raw["Threads"] === undefined ? undefined : Number(raw["Threads"]),
    vmRssBytes: rss === undefined ? undefined : Number(rss.replace(/\s*kB$/, "")) * 1024,
    vmSwapBytes: swap === undefined ? undefined : Number(swap.replace(/\s*kB$/, "")) * 1024,
    kthread: raw["Kthread"] === "1",
    raw,
  };
}

const STATUS = [
  "Name:\t wei:rd\\\\name\\n ",
  "Umask:\t0022",
  "State:\tS (sleeping)",
  "Tgid:\t5642",
  "Pid:\t5642",
  "PPid:\t5639",
  "Uid:\t1000\t1001\t1002\t1003",
  "Gid:\t100\t100\t100\t100",
  "Kthread:\t0",
  "VmRSS:\t    1760 kB",
  "VmSwap:\t       8 kB",
  "Threads:\t3",
  "Cpus_allowed_list:\t0-1",
  "",
].join("\n");

test("parseStatusFields and parseStatus agree with a dictionary of every line, on 20 000 mutated status files", () => {
  const next = rng(0xc0ffee);
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    let text = mutate(STATUS, next);
    // Now and then a duplicated key (the last one counts) or a key at the very start.
    if (i % 7 === 0) text += `PPid:\t${i}\n`;
    if (i % 11 === 0) text = `Tgid:\t${i}\n` + text;
    const want = outcome(() => statusReference(text, "/proc/3/status"));
    const got = outcome(() => parseStatus(text, "/proc/3/status"));
    assert.deepEqual(got, want, JSON.stringify(text));
    const { raw: _raw, ...fields } = "value" in want ? want.value : { raw: undefined };
    assert.deepEqual(outcome(() => parseStatusFields(text, "/proc/3/status")), "value" in want ? { value: fields } : want, JSON.stringify(text));
    if ("value" in want) accepted++;
  }
  assert.ok(accepted > 5000 && accepted < 19_000, `accepted ${accepted}`);
});

// ---------------------------------------------------------------- stat

/** The previous parseStatStartTime: split everything after the last ")". */
function startTimeReference(text: string): number | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const f = text.slice(close + 1).trim().split(/\s+/);
  const v = f[19];
  return v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : undefined;
}

const STAT = "5642 (a) b) c) S 5639 5642 5639 34816 5642 4194304 112 0 0 0 0 0 0 0 20 0 1 0 987654321 3133440 440 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

test("parseStatStartTime agrees with splitting every field, on 20 000 mutated stat lines", () => {
  assert.equal(parseStatStartTime(STAT), 987654321);
  const next = rng(0xbeef);
  let found = 0;
  for (let i = 0; i < 20_000; i++) {
    const text = mutate(STAT, next);
    const want = startTimeReference(text);
    assert.equal(parseStatStartTime(text), want, JSON.stringify(text));
    if (want !== undefined) found++;
  }
  assert.ok(found > 2000 && found < 19_000, `found ${found}`);
});

// ---------------------------------------------------------------- cgroup

const CGROUPS = ["12:pids:/a\n11:cpu,cpuacct:/b\n4:memory:/docker/abc\n0::/user.slice\n", "0::/system.slice/x.service\n", "5:cpuset,memory,blkio:/m\n1:name=systemd:/s\n", "3:memory,cpu:/first\n2:cpu,memory:/second\n0::/u\n0::/v\n"];

test("memoryCgroupOf gives memoryCgroupPath(parseCgroupFile(text)) on 20 000 mutated cgroup files", () => {
  for (const text of CGROUPS) assert.equal(memoryCgroupOf(text), memoryCgroupPath(parseCgroupFile(text)));
  assert.equal(memoryCgroupOf(CGROUPS[0]!), "/docker/abc");
  assert.equal(memoryCgroupOf(CGROUPS[1]!), "/system.slice/x.service");
  const next = rng(0xfeed);
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 20_000; i++) {
    const text = mutate(CGROUPS[i % CGROUPS.length]!, next);
    const want = memoryCgroupPath(parseCgroupFile(text));
    assert.equal(memoryCgroupOf(text), want, JSON.stringify(text));
    seen.add(want);
  }
  assert.ok(seen.has(undefined) && seen.size > 100, `${seen.size} distinct answers`);
});

// ---------------------------------------------------------------- kernel config

const CONFIG = [
  "#",
  "# Automatically generated file; DO NOT EDIT.",
  'CONFIG_CC_VERSION_TEXT="gcc (Debian 14.2.0-19) 14.2.0"',
  "CONFIG_MEMCG=y",
  "CONFIG_A=m",
  "# CONFIG_A is not set",
  "CONFIG_HZ=250",
  'CONFIG_LOCALVERSION=""',
  "# CONFIG_MEM_SOFT_DIRTY is not set",
  "CONFIG_PAGE_MAPCOUNT=y",
  "CONFIG_AB=\"x\"y\"",
  "# CONFIG_NO_PAGE_MAPCOUNT is not set",
  "",
].join("\n");
const CONFIG_KEYS = ["CONFIG_CC_VERSION_TEXT", "CONFIG_MEMCG", "CONFIG_A", "CONFIG_AB", "CONFIG_B", "CONFIG_HZ", "CONFIG_LOCALVERSION", "CONFIG_MEM_SOFT_DIRTY", "CONFIG_PAGE_MAPCOUNT", "CONFIG_NO_PAGE_MAPCOUNT", "CONFIG_ABSENT", "CONFIG_", "CONFIG_A=", "MEMCG", "", "# CONFIG_A"];

test("parseKernelConfig answers get, has, size and iteration as a map filled line by line, on 20 000 mutated configs", () => {
  const next = rng(0xc0f1);
  let defined = 0;
  for (let i = 0; i < 20_000; i++) {
    let text = mutate(CONFIG, next);
    if (i % 5 === 0) text += `CONFIG_MEMCG=${i}\n`;
    if (i % 9 === 0) text = `# CONFIG_HZ is not set\n` + text;
    const want = parseKernelConfigByLine(text);
    const got = parseKernelConfig(text);
    for (const key of [...CONFIG_KEYS, ...want.keys()]) {
      assert.equal(got.get(key), want.get(key), `${JSON.stringify(key)} in ${JSON.stringify(text)}`);
      assert.equal(got.has(key), want.has(key));
      if (want.get(key) !== undefined) defined++;
    }
    if (i % 10 === 0) {
      assert.deepEqual([...got], [...want], JSON.stringify(text));
      assert.equal(got.size, want.size);
    }
  }
  assert.ok(defined > 100_000, `${defined} answers defined`);
});

// ---------------------------------------------------------------- paths

test("ProcFs.pidPath is path(pid, name) for every kind of root", () => {
  for (const root of ["/proc", "/proc/", "/", "fixtures/proc", "./x/../proc", "/a//b", "/a/./b", ".", "/tmp/procfs tree"]) {
    const procfs = new ProcFs({ root, sysRoot: null });
    for (const pid of [1, 42, 4194304]) for (const name of ["status", "maps", "cmdline"]) assert.equal(procfs.pidPath(pid, name), procfs.path(pid, name), `${root} ${pid} ${name}`);
    assert.equal(procfs.pidPath(1, "maps"), path.join(root, "1", "maps"));
  }
});
