/**
 * Live: `pagelens flags` on this machine (root only). The expected numbers
 * come from the kernel directly (the length of /proc/kpageflags read here,
 * a child process with a known number of touched anonymous pages), never
 * from pagelens itself.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { once } from "node:events";
import { runCli } from "../support/scenario.js";
import type { FlagsReport } from "../../src/report/flags-report.js";
import { PAGE_FLAGS } from "../../src/decode/kpageflags.js";

function skipReason(): string | undefined {
  if (process.platform !== "linux") return "needs Linux";
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "needs root (/proc/kpageflags is mode 0400)";
  if (!fs.existsSync("/proc/kpageflags")) return "no /proc/kpageflags (CONFIG_PROC_PAGE_MONITOR)";
  return undefined;
}
const skip = skipReason();

/** Words in /proc/kpageflags, by reading it to the end (stat says 0 for /proc files). */
function kpageflagsWords(): number {
  const fd = fs.openSync("/proc/kpageflags", "r");
  const buf = Buffer.alloc(1 << 20);
  let bytes = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, bytes);
      if (n === 0) break;
      bytes += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return bytes / 8;
}

function json(args: string[]): FlagsReport {
  const r = runCli(["flags", "--json", ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as FlagsReport;
}

test("whole-machine census counts every PFN of /proc/kpageflags", { skip }, () => {
  const words = kpageflagsWords();
  const doc = json([]);
  assert.equal(doc.total.pages, words);
  assert.equal(doc.examined, words);
  assert.equal(doc.pfnEnd, words);
  assert.equal(doc.total.bytes, words * doc.pageSize);
  assert.equal(doc.rows.reduce((s, r) => s + r.pages, 0), words);
  // Rows are distinct and sorted by page count, largest first.
  assert.equal(new Set(doc.rows.map((r) => r.flags)).size, doc.rows.length);
  for (let i = 1; i < doc.rows.length; i++) assert.ok(doc.rows[i - 1]!.pages >= doc.rows[i]!.pages);
  // A machine that runs this test has free pages.
  assert.ok(doc.rows.some((r) => r.names.includes("buddy")));
});

test("--bits on a saved slice of this machine's kpageflags matches a count made here", { skip }, (t) => {
  // One sweep saved to a file makes the check exact: live sweeps a moment apart may differ by churn.
  const words = 0x8000;
  const buf = Buffer.alloc(words * 8);
  const fd = fs.openSync("/proc/kpageflags", "r");
  try {
    assert.equal(fs.readSync(fd, buf, 0, buf.length, 0), buf.length);
  } finally {
    fs.closeSync(fd);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pagelens-flags-live-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "kpageflags");
  fs.writeFileSync(file, buf);
  const BUDDY = 1 << 10;
  const ANON = 1 << 12;
  const SWAPBACKED = 1 << 14;
  let buddy = 0;
  let anonNotSwapbacked = 0;
  let buddyUpperHalf = 0;
  for (let i = 0; i < words; i++) {
    const lo = buf.readUInt32LE(i * 8);
    if (lo & BUDDY) buddy++;
    if (lo & BUDDY && i >= words / 2) buddyUpperHalf++;
    if ((lo & (ANON | SWAPBACKED)) === ANON) anonNotSwapbacked++;
  }
  assert.equal(json(["--kpageflags", file]).total.pages, words);
  assert.equal(json(["--kpageflags", file, "--bits", "buddy"]).total.pages, buddy);
  assert.equal(json(["--kpageflags", file, "--bits", "~buddy"]).total.pages, words - buddy);
  assert.equal(json(["--kpageflags", file, "--bits", "anon,~swapbacked"]).total.pages, anonNotSwapbacked);
  assert.equal(json(["--kpageflags", file, "--bits", "buddy", "--addr", `${words / 2},`]).total.pages, buddyUpperHalf);
  // The live file over the same PFNs: every one counted.
  assert.equal(json(["--addr", `0,${words}`]).total.pages, words);
});

test("--pid counts a child's touched anonymous memory with the anonymous flag", { skip }, async (t) => {
  const MB = 48;
  // Buffer.alloc(n, 1) writes every byte: all pages are present, private and anonymous.
  const child = spawn(process.execPath, ["-e", `globalThis.keep = Buffer.alloc(${MB} << 20, 1); console.log("ready"); setTimeout(() => {}, 120000);`], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => {
    child.kill("SIGKILL");
  });
  const [line] = (await once(child.stdout!, "data")) as [Buffer];
  assert.match(line.toString(), /ready/);
  const pid = child.pid!;
  const pages = (MB << 20) / 4096;
  const doc = json(["--pid", String(pid), "--bits", "anon"]);
  assert.equal(doc.scope.kind, "process");
  assert.equal(doc.scope.pid, pid);
  assert.ok(doc.total.pages >= pages, `expected at least ${pages} anonymous pages, got ${doc.total.pages}`);
  for (const r of doc.rows) assert.ok(r.names.includes("anonymous"), r.flags);
  // Without the filter the census includes the anonymous pages and more (binary, libraries).
  const all = json(["--pid", String(pid)]);
  assert.ok(all.total.pages >= doc.total.pages);
  // The listing covers exactly the pages counted.
  const listed = json(["--pid", String(pid), "--bits", "anon", "--list"]);
  assert.equal(listed.list!.reduce((s, r) => s + r.pages, 0), listed.total.pages);
});

test("--describe anon,lru decodes names into the page-types line", { skip: process.platform !== "linux" ? "needs Linux" : undefined }, () => {
  const r = runCli(["flags", "--describe", "anon,lru"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\s*flags\s+symbolic-flags\s+long-symbolic-flags$/m);
  assert.match(r.stdout, /^0x0000000000001020\s+_____l______a_+\s+lru,anonymous$/m);
  const j = runCli(["flags", "--describe", "anon,lru", "--json"]);
  assert.deepEqual(JSON.parse(j.stdout), { flags: "0x0000000000001020", symbolic: "_____l______a".padEnd(PAGE_FLAGS.length, "_"), names: ["lru", "anonymous"] });
});

test("--cgroup PATH counts the pages of this test's own memory cgroup", { skip }, (t) => {
  // v1: the memory hierarchy's line; v2: the unified "0::" line.
  const lines = fs.readFileSync("/proc/self/cgroup", "utf8").split("\n");
  const v1 = lines.find((l) => /^\d+:memory:/.test(l));
  const v2 = lines.find((l) => l.startsWith("0::"));
  const candidates = [
    ...(v1 ? [`/sys/fs/cgroup/memory${v1.split(":")[2]}`] : []),
    ...(v2 ? [`/sys/fs/cgroup${v2.split(":")[2]}`] : []),
  ];
  const dir = candidates.find((d) => fs.existsSync(`${d}/memory.stat`));
  if (dir === undefined) {
    t.skip("no memory cgroup directory found for this process");
    return;
  }
  const doc = json(["--cgroup", dir]);
  assert.equal(doc.scope.cgroup, Number(fs.statSync(dir, { bigint: true }).ino));
  assert.ok(doc.total.pages > 0, "this test process's own pages are charged to its memcg");
  assert.ok(doc.examined > doc.total.pages);
});
