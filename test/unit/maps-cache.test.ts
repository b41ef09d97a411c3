/**
 * The parsed maps a Scanner keeps between scans (src/scan/collect.ts
 * MapsCache): an unchanged maps text gives the very same objects; a changed
 * one gives what parsing it gives, with the old object kept for every
 * mapping printed the same, so that a repeated scan makes new objects only
 * for what changed (docs/performance.md section 3); the same for a
 * process's identity.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMaps } from "../../src/parse/maps.js";
import { ProcFs } from "../../src/procfs/procfs.js";
import { MapsCache } from "../../src/scan/collect.js";
import type { ProcessInfo } from "../../src/scan/process-info.js";

const procfs = new ProcFs({ root: "/nonexistent-proc" });
const LINES = [
  "55d0c0000000-55d0c0021000 r--p 00000000 08:01 1234 /usr/bin/node",
  "55d0c0021000-55d0c0400000 r-xp 00021000 08:01 1234 /usr/bin/node",
  "7f0000000000-7f0000200000 rw-p 00000000 00:00 0 ",
  "7f0000400000-7f0000600000 rw-p 00000000 00:00 0 ",
  "7f1000000000-7f1000021000 r--p 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6 (deleted)",
  "7fff00000000-7fff00021000 rw-p 00000000 00:00 0 [stack]",
];
const text = (lines: readonly string[]): string => lines.join("\n") + "\n";

test("an unchanged maps text gives the same objects, however its string was made", () => {
  const cache = new MapsCache();
  const first = cache.vmasOf(procfs, 7, text(LINES));
  cache.endScan();
  const again = cache.vmasOf(procfs, 7, [...LINES].join("\n") + "\n");
  assert.equal(again, first);
  cache.endScan();
});

test("a changed maps text: parsed anew, the unchanged mappings' objects kept, only the changed ones new", () => {
  const cache = new MapsCache();
  const before = cache.vmasOf(procfs, 7, text(LINES));
  cache.endScan();
  // A heap area grown (end moved), one unmapped, one mapped: what a runtime does between two scans.
  const changed = [LINES[0]!, LINES[1]!, "7f0000000000-7f0000300000 rw-p 00000000 00:00 0 ", "7f0000800000-7f0000a00000 rw-p 00000000 00:00 0 ", LINES[4]!, LINES[5]!];
  const after = cache.vmasOf(procfs, 7, text(changed));
  assert.deepEqual(after, parseMaps(text(changed)));
  assert.equal(after[0], before[0]);
  assert.equal(after[1], before[1]);
  assert.notEqual(after[2], before[2]);
  assert.notEqual(after[3], before[3]);
  assert.equal(after[4], before[4]);
  assert.equal(after[5], before[5]);
  cache.endScan();
  // The next scan sees the changed text as unchanged.
  assert.equal(cache.vmasOf(procfs, 7, text(changed)), after);
  cache.endScan();
});

test("a mapping printed differently in any field is not taken for the old one", () => {
  const cache = new MapsCache();
  const before = cache.vmasOf(procfs, 7, text(LINES));
  cache.endScan();
  const variants = [
    "55d0c0000000-55d0c0021000 rw-p 00000000 08:01 1234 /usr/bin/node", // perms
    "55d0c0000000-55d0c0021000 r--p 00001000 08:01 1234 /usr/bin/node", // offset
    "55d0c0000000-55d0c0021000 r--p 00000000 08:02 1234 /usr/bin/node", // device
    "55d0c0000000-55d0c0021000 r--p 00000000 08:01 1235 /usr/bin/node", // inode
    "55d0c0000000-55d0c0021000 r--p 00000000 08:01 1234 /usr/bin/node (deleted)", // name
  ];
  for (const line of variants) {
    const after = cache.vmasOf(procfs, 7, text([line, ...LINES.slice(1)]));
    assert.deepEqual(after, parseMaps(text([line, ...LINES.slice(1)])), line);
    assert.notEqual(after[0], before[0], line);
    assert.equal(after[1], before[1], line);
  }
});

test("a process not seen in a scan is forgotten: its maps are parsed anew when it comes back", () => {
  const cache = new MapsCache();
  const first = cache.vmasOf(procfs, 7, text(LINES));
  cache.endScan();
  cache.endScan();
  const back = cache.vmasOf(procfs, 7, text(LINES));
  assert.notEqual(back, first);
  assert.deepEqual(back, first);
});

test("a process's identity: last scan's object when nothing changed, its strings kept where equal, never across a reused pid", () => {
  const cache = new MapsCache();
  const info = (over: Partial<ProcessInfo> = {}): ProcessInfo => ({
    pid: 7,
    ppid: 1,
    uid: 0,
    user: "root",
    comm: ["no", "de"].join(""),
    cmdline: ["node", ["server", "js"].join(".")],
    cgroup: "/system.slice/a.service",
    vmRssBytes: 4096,
    vmSwapBytes: 0,
    startTime: 100,
    ...over,
  });
  const first = cache.infoOf(info());
  cache.endScan();
  assert.equal(cache.infoOf(info()), first);
  cache.endScan();
  // VmRSS moved: a new object, with last scan's strings and command line.
  const grown = cache.infoOf(info({ vmRssBytes: 8192 }));
  assert.notEqual(grown, first);
  assert.deepEqual(grown, info({ vmRssBytes: 8192 }));
  assert.equal(grown.cmdline, first.cmdline);
  cache.endScan();
  // A new command line is the new one.
  const exec = cache.infoOf(info({ vmRssBytes: 8192, cmdline: ["node", "other.js"] }));
  assert.deepEqual(exec.cmdline, ["node", "other.js"]);
  cache.endScan();
  // Another start time: another process under the same pid, nothing of the old one kept.
  const reused = info({ startTime: 200 });
  assert.equal(cache.infoOf(reused), reused);
});
