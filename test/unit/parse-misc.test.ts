/**
 * The small text parsers: /proc/PID/status, /proc/PID/cmdline, /proc/meminfo,
 * /proc/swaps, the kernel config, osrelease, /proc/PID/cgroup and passwd.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCmdline, parseStatus } from "../../src/parse/status.js";
import { parseMeminfo, parseSwaps } from "../../src/parse/meminfo.js";
import { memoryCgroupPath, parseCgroupFile, parseKernelConfig, parseOsRelease, versionAtLeast } from "../../src/parse/kernel-config.js";
import { parsePasswd } from "../../src/procfs/users.js";
import { ParseError } from "../../src/errors.js";

const errAt =
  (file: string, line: number | undefined, reason?: RegExp) =>
  (e: unknown): boolean =>
    e instanceof ParseError &&
    e.line === line &&
    e.message.includes(file) &&
    (line === undefined ? !/\bline \d/.test(e.message) : new RegExp(`\\bline ${line}\\b`).test(e.message)) &&
    (reason === undefined || reason.test(e.message));

// ---------------------------------------------------------------- status

const STATUS_USER = [
  "Name:\tcat",
  "Umask:\t0022",
  "State:\tR (running)",
  "Tgid:\t5642",
  "Ngid:\t0",
  "Pid:\t5642",
  "PPid:\t5639",
  "TracerPid:\t0",
  "Uid:\t1000\t1001\t1002\t1003",
  "Gid:\t100\t100\t100\t100",
  "FDSize:\t256",
  "Groups:\t ",
  "VmPeak:\t    3060 kB",
  "VmSize:\t    3060 kB",
  "VmHWM:\t    1760 kB",
  "VmRSS:\t    1760 kB",
  "RssAnon:\t     112 kB",
  "RssFile:\t    1648 kB",
  "RssShmem:\t       0 kB",
  "Threads:\t3",
  "SigQ:\t0/96365",
  "Cpus_allowed_list:\t0-1",
  "",
].join("\n");

const STATUS_KTHREAD = [
  "Name:\tkthreadd",
  "Umask:\t0000",
  "State:\tS (sleeping)",
  "Tgid:\t2",
  "Ngid:\t0",
  "Pid:\t2",
  "PPid:\t0",
  "TracerPid:\t0",
  "Uid:\t0\t0\t0\t0",
  "Gid:\t0\t0\t0\t0",
  "Kthread:\t1",
  "Threads:\t1",
  "",
].join("\n");

test("parseStatus: user process", () => {
  const s = parseStatus(STATUS_USER, "/proc/5642/status");
  assert.equal(s.name, "cat");
  assert.equal(s.tgid, 5642);
  assert.equal(s.ppid, 5639);
  assert.deepEqual(s.uids, [1000, 1001, 1002, 1003]);
  assert.equal(s.threads, 3);
  assert.equal(s.vmRssBytes, 1760 * 1024);
  assert.equal(s.raw["State"], "R (running)");
  assert.equal(s.raw["SigQ"], "0/96365");
});

test("parseStatus: kernel thread has no VmRSS", () => {
  const s = parseStatus(STATUS_KTHREAD);
  assert.equal(s.name, "kthreadd");
  assert.equal(s.ppid, 0);
  assert.equal(s.vmRssBytes, undefined);
  assert.deepEqual(s.uids, [0, 0, 0, 0]);
});

test("parseStatus: a Name containing ':' is kept whole", () => {
  const s = parseStatus(STATUS_USER.replace("Name:\tcat", "Name:\tkworker:a:b"));
  assert.equal(s.name, "kworker:a:b");
});

test("parseStatus: missing or bad PPid/Tgid/Uid -> ParseError naming the file and field", () => {
  const noPpid = STATUS_USER.replace("PPid:\t5639\n", "");
  assert.throws(() => parseStatus(noPpid, "/proc/5642/status"), errAt("/proc/5642/status", undefined, /PPid/));
  const badTgid = STATUS_USER.replace("Tgid:\t5642", "Tgid:\tfoo");
  assert.throws(() => parseStatus(badTgid, "/proc/5642/status"), errAt("/proc/5642/status", undefined, /Tgid/));
  const badUid = STATUS_USER.replace("Uid:\t1000\t1001\t1002\t1003", "Uid:\troot");
  assert.throws(() => parseStatus(badUid, "/proc/5642/status"), errAt("/proc/5642/status", undefined, /Uid/));
  assert.throws(() => parseStatus("", "/proc/5642/status"), ParseError);
});

test("parseCmdline: NUL-separated, trailing NUL dropped, empty args kept, kernel thread empty", () => {
  assert.deepEqual(parseCmdline("bash\0-c\0echo hi\0"), ["bash", "-c", "echo hi"]);
  assert.deepEqual(parseCmdline("a\0\0b\0"), ["a", "", "b"]);
  assert.deepEqual(parseCmdline(""), []);
  // A process that rewrote its argv (setproctitle): one string, no trailing NUL.
  assert.deepEqual(parseCmdline("postgres: checkpointer"), ["postgres: checkpointer"]);
});

// ---------------------------------------------------------------- meminfo

const MEMINFO = [
  "MemTotal:       24684092 kB",
  "MemFree:        19066624 kB",
  "MemAvailable:   19021864 kB",
  "Buffers:            2320 kB",
  "Cached:          1225864 kB",
  "SwapCached:            0 kB",
  "Active(anon):       1580 kB",
  "Inactive(anon):  5250304 kB",
  "Shmem:           1057432 kB",
  "VmallocTotal:   34359738367 kB",
  "AnonHugePages:         0 kB",
  "HugePages_Total:       4",
  "HugePages_Free:        3",
  "HugePages_Rsvd:        0",
  "HugePages_Surp:        0",
  "Hugepagesize:       2048 kB",
  "Hugetlb:            8192 kB",
  "DirectMap4k:       26624 kB",
  "DirectMap2M:     2070528 kB",
  "DirectMap1G:    25165824 kB",
  "",
].join("\n");

test("parseMeminfo: kB fields in bytes, HugePages_* as plain counts", () => {
  const m = parseMeminfo(MEMINFO);
  assert.equal(m["MemTotal"], 24684092 * 1024);
  assert.equal(m["MemAvailable"], 19021864 * 1024);
  assert.equal(m["Active(anon)"], 1580 * 1024);
  assert.equal(m["Inactive(anon)"], 5250304 * 1024);
  assert.equal(m["HugePages_Total"], 4);
  assert.equal(m["HugePages_Free"], 3);
  assert.equal(m["Hugepagesize"], 2048 * 1024);
  assert.equal(m["Hugetlb"], 8192 * 1024);
  assert.equal(m["DirectMap1G"], 25165824 * 1024);
  assert.equal(m["VmallocTotal"], 34359738367 * 1024);
});

test("parseMeminfo: a malformed line -> ParseError with its line number", () => {
  const lines = MEMINFO.split("\n");
  lines[2] = "MemAvailable:   lots kB";
  assert.throws(() => parseMeminfo(lines.join("\n"), "/proc/meminfo"), errAt("/proc/meminfo", 3, /unrecognised/));
  const lines2 = MEMINFO.split("\n");
  lines2[1] = "MemFree 19066624 kB";
  assert.throws(() => parseMeminfo(lines2.join("\n"), "/proc/meminfo"), errAt("/proc/meminfo", 2));
});

test("parseMeminfo: no MemTotal -> ParseError naming the file", () => {
  const text = MEMINFO.split("\n").slice(1).join("\n");
  assert.throws(() => parseMeminfo(text, "/proc/meminfo"), errAt("/proc/meminfo", undefined, /MemTotal/));
  assert.throws(() => parseMeminfo("", "/proc/meminfo"), errAt("/proc/meminfo", undefined, /MemTotal/));
});

// ---------------------------------------------------------------- swaps

// mm/swapfile.c swap_show: "%*s%s\t%lu\t%s%lu\t%s%d\n", the name padded to 40 columns.
const SWAPS_HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority";
const SWAP_PARTITION = "/dev/dm-1                               partition\t8388604\t\t1024\t\t-2";
const SWAP_FILE = "/swap\\040file                           file\t\t2097148\t\t0\t\t-3";

test("parseSwaps: header, a partition and a file with an escaped space", () => {
  const areas = parseSwaps([SWAPS_HEADER, SWAP_PARTITION, SWAP_FILE, ""].join("\n"));
  assert.deepEqual(areas, [
    { filename: "/dev/dm-1", type: "partition", sizeBytes: 8388604 * 1024, usedBytes: 1024 * 1024, priority: -2 },
    { filename: "/swap file", type: "file", sizeBytes: 2097148 * 1024, usedBytes: 0, priority: -3 },
  ]);
});

test("parseSwaps: only the header (no swap) gives no areas; empty text too", () => {
  assert.deepEqual(parseSwaps(SWAPS_HEADER + "\n"), []);
  assert.deepEqual(parseSwaps(""), []);
});

test("parseSwaps: seq_file_path escapes tab, newline and backslash too (\\011 \\012 \\134)", () => {
  // swap_show calls seq_file_path(swap, file, " \t\n\\"): all four are printed as octal escapes.
  const line = "/var/a\\011b\\012c\\134d                   file\t\t1024\t\t0\t\t-4";
  const [area] = parseSwaps([SWAPS_HEADER, line].join("\n"));
  assert.equal(area!.filename, "/var/a\tb\nc\\d");
});

test("parseSwaps: missing header -> ParseError at line 1; bad line -> its number", () => {
  assert.throws(() => parseSwaps(SWAP_PARTITION + "\n", "/proc/swaps"), errAt("/proc/swaps", 1, /header/));
  const bad = "/dev/dm-2                               partition\tbig\t\t0\t\t-2";
  assert.throws(() => parseSwaps([SWAPS_HEADER, SWAP_PARTITION, bad].join("\n"), "/proc/swaps"), errAt("/proc/swaps", 3, /unrecognised/));
});

// ---------------------------------------------------------------- kernel config, osrelease

test("parseKernelConfig: y/m/values, quoted strings unquoted, 'is not set' is n", () => {
  const cfg = parseKernelConfig(
    [
      "#",
      "# Automatically generated file; DO NOT EDIT.",
      "# Linux/x86 6.18.0 Kernel Configuration",
      "#",
      'CONFIG_CC_VERSION_TEXT="gcc (Debian 14.2.0-19) 14.2.0"',
      "CONFIG_MEMCG=y",
      "CONFIG_ZRAM=m",
      "CONFIG_HZ=250",
      'CONFIG_LOCALVERSION=""',
      "# CONFIG_MEM_SOFT_DIRTY is not set",
      "CONFIG_PAGE_MAPCOUNT=y",
      "# CONFIG_NO_PAGE_MAPCOUNT is not set",
      "",
    ].join("\n"),
  );
  assert.equal(cfg.get("CONFIG_CC_VERSION_TEXT"), "gcc (Debian 14.2.0-19) 14.2.0");
  assert.equal(cfg.get("CONFIG_MEMCG"), "y");
  assert.equal(cfg.get("CONFIG_ZRAM"), "m");
  assert.equal(cfg.get("CONFIG_HZ"), "250");
  assert.equal(cfg.get("CONFIG_LOCALVERSION"), "");
  assert.equal(cfg.get("CONFIG_MEM_SOFT_DIRTY"), "n");
  assert.equal(cfg.get("CONFIG_NO_PAGE_MAPCOUNT"), "n");
  assert.equal(cfg.get("CONFIG_PAGE_MAPCOUNT"), "y");
  assert.equal(cfg.get("CONFIG_ABSENT"), undefined);
  assert.equal(cfg.size, 8);
});

test("parseOsRelease and versionAtLeast", () => {
  const v = parseOsRelease("6.18.44-fc-v657\n");
  assert.deepEqual(v, { major: 6, minor: 18, release: "6.18.44-fc-v657" });
  assert.equal(versionAtLeast(v, 6, 15), true);
  assert.equal(versionAtLeast(v, 6, 18), true);
  assert.equal(versionAtLeast(v, 6, 19), false);
  assert.equal(versionAtLeast(v, 5, 30), true);
  assert.equal(versionAtLeast(v, 7, 0), false);
  assert.equal(versionAtLeast(parseOsRelease("4.19.0"), 5, 3), false);
  assert.equal(parseOsRelease("not a version"), undefined);
  assert.equal(versionAtLeast(undefined, 2, 6), false);
});

// ---------------------------------------------------------------- cgroup

test("parseCgroupFile: v1 hierarchies and the v2 line; memoryCgroupPath prefers v1 memory", () => {
  const lines = parseCgroupFile(
    [
      "9:name=systemd:/",
      "8:pids:/",
      "4:memory:/process_api/577de540d0fdc26a55e01b9705f87874",
      "2:cpu,cpuacct:/user.slice",
      "0::/user.slice/user-1000.slice/session-2.scope",
      "",
    ].join("\n"),
  );
  assert.equal(lines.length, 5);
  assert.deepEqual(lines[3], { id: 2, controllers: ["cpu", "cpuacct"], path: "/user.slice" });
  assert.deepEqual(lines[4], { id: 0, controllers: [], path: "/user.slice/user-1000.slice/session-2.scope" });
  assert.equal(memoryCgroupPath(lines), "/process_api/577de540d0fdc26a55e01b9705f87874");
});

test("parseCgroupFile: pure v2; a path containing ':' is kept whole", () => {
  const lines = parseCgroupFile("0::/system.slice/foo:bar.service\n");
  assert.deepEqual(lines, [{ id: 0, controllers: [], path: "/system.slice/foo:bar.service" }]);
  assert.equal(memoryCgroupPath(lines), "/system.slice/foo:bar.service");
  assert.equal(memoryCgroupPath(parseCgroupFile("")), undefined);
});

// ---------------------------------------------------------------- passwd

test("parsePasswd: uid -> name; comments, short and NIS lines skipped", () => {
  const m = parsePasswd(
    [
      "root:x:0:0:root:/root:/bin/bash",
      "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
      "# a comment",
      "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash",
      "+@netgroup:::::",
      "broken:x",
      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
      "",
    ].join("\n"),
  );
  assert.equal(m.get(0), "root");
  assert.equal(m.get(1), "daemon");
  assert.equal(m.get(1000), "alice");
  assert.equal(m.get(65534), "nobody");
  assert.equal(m.size, 4);
});

test("ksm_stat: fields read; ksm_mergeable: no proves no KSM page, anything else does not", async () => {
  const { parseKsmStat, mayMapKsmPages } = await import("../../src/parse/ksm-stat.js");
  const none = "ksm_rmap_items 0\nksm_zero_pages 0\nksm_merging_pages 0\nksm_process_profit 0\nksm_merge_any: no\nksm_mergeable: no\n";
  assert.deepEqual(parseKsmStat(none), { rmapItems: 0, mergingPages: 0, zeroPages: 0, mergeAny: false, mergeable: false });
  assert.equal(mayMapKsmPages(parseKsmStat(none)), false);
  assert.equal(mayMapKsmPages(parseKsmStat(none.replace("ksm_mergeable: no", "ksm_mergeable: yes"))), true);
  assert.equal(mayMapKsmPages(parseKsmStat(none.replace("ksm_merge_any: no", "ksm_merge_any: yes"))), true);
  assert.equal(mayMapKsmPages(parseKsmStat(none.replace("ksm_merging_pages 0", "ksm_merging_pages 3"))), true);
  // An older kernel without ksm_mergeable: a forked child can map KSM pages with no rmap item of its own.
  assert.equal(mayMapKsmPages(parseKsmStat("ksm_rmap_items 0\nksm_merging_pages 0\n")), true);
  assert.equal(mayMapKsmPages(parseKsmStat("")), true);
});
