/**
 * Live: `pagelens libs` and `pagelens shares` against processes built to
 * share memory in known ways (test/support/c/sharing.c, compiled here with
 * the tiny shared library it also contains):
 *
 *  - lib: three processes dlopen() the library and read every page of its
 *    mappings: libs shows the path with count 3; its executable segment
 *    (T pages, from the ELF program headers) has RSS 3T and PSS T pages;
 *  - shm: N pages of MAP_SHARED anonymous memory among three processes:
 *    every pair shares exactly N pages as shmem, through /dev/zero (deleted);
 *  - cow: a parent writes N private pages and forks two children that do not
 *    write: every pair shares exactly those N pages copy-on-write.
 *
 * Expected figures come from the parameters, the program's own report of
 * its layout, and (for the library's relocated pages) the kernel's smaps
 * "Anonymous" count; never from pagelens's output. Processes are SIGSTOPped
 * while scanned. Skipped unless root with kpagecount and a C compiler.
 */
import { pssShareBytes } from "../../src/accounting/kernel-pss.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { LibsReport } from "../../src/report/libs-report.js";
import type { PairRow, SharedMapping, SharesReport } from "../../src/report/shares-report.js";
import { buildSharesReport } from "../../src/report/shares-report.js";
import { ProcFs } from "../../src/procfs/procfs.js";
import { scanSystem } from "../../src/scan/system-scan.js";
import { liveSkipReason, makeTempDir, onExit, PAGE, REPO_ROOT, runCli, Scenario } from "../support/scenario.js";

const skip = liveSkipReason();
const SOURCE = path.join(REPO_ROOT, "test", "support", "c", "sharing.c");
const TMPFS_MAGIC = 0x01021994;

let built: { bin: string; so: string; dir: string } | undefined;

/** Compile the program and the library (once) into a private temp directory. */
function build(): { bin: string; so: string; dir: string } {
  if (built) return built;
  const dir = makeTempDir("pagelens-sharing-");
  const bin = path.join(dir, "sharing");
  const so = path.join(dir, "libpagelens-share.so");
  for (const args of [
    ["-O2", "-Wall", "-o", bin, SOURCE, "-ldl"],
    ["-O2", "-Wall", "-shared", "-fPIC", "-DSHARING_LIB", "-o", so, SOURCE],
  ]) {
    const r = spawnSync("cc", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`cc ${args.join(" ")} failed:\n${r.stderr}`);
  }
  fs.chmodSync(bin, 0o755);
  built = { bin, so, dir };
  return built;
}

/** Start `sharing MODE ARGS` and wait for READY; stopped after the test, killed at exit whatever happens. */
async function start(t: { after: (fn: () => Promise<void>) => void }, mode: string, args: readonly string[]): Promise<Scenario> {
  const { bin } = build();
  const proc = spawn(bin, [mode, ...args], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, SHARING_TIMEOUT: "300" } });
  const s = new Scenario(mode, args, proc);
  s.binaryPath = bin;
  onExit(() => s.killNow());
  await new Promise<void>((resolve, reject) => {
    proc.once("spawn", () => resolve());
    proc.once("error", reject);
  });
  t.after(() => s.stop());
  await s.ready(60_000);
  assert.equal(s.children.length, 2, "two children");
  s.freeze();
  return s;
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function json<T>(args: readonly string[]): T {
  const r = runCli(args);
  assert.equal(r.code, 0, `pagelens ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

function near(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-3, `${what}: expected ${expected} (${expected / PAGE} pages), got ${actual} (${actual / PAGE} pages)`);
}

function pairOf(r: SharesReport, a: number, b: number): PairRow {
  const p = r.pairs.find((x) => x.a.pid === Math.min(a, b) && x.b.pid === Math.max(a, b));
  assert.ok(p, `pair ${a}-${b} shares something`);
  return p;
}

function pairsOf(pids: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < pids.length; i++) for (let j = i + 1; j < pids.length; j++) out.push([pids[i]!, pids[j]!]);
  return out;
}

function mapping(ms: readonly SharedMapping[], pred: (m: SharedMapping) => boolean, what: string): SharedMapping {
  const m = ms.find(pred);
  assert.ok(m, `${what} among ${ms.map((x) => `${x.name}@${x.start}`).join(", ")}`);
  return m;
}

/** Pages of the readable VMAs named `file` in a process, and how many of them are anonymous (COW copies: relocations), from the kernel's smaps. */
function libPagesFromSmaps(pid: number, file: string): { pages: number; anonPages: number } {
  const lines = fs.readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n");
  let pages = 0;
  let anonKb = 0;
  let inLib = false;
  for (const line of lines) {
    const h = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (h) {
      inLib = h[4] === file && h[3]![0] === "r";
      if (inLib) pages += (parseInt(h[2]!, 16) - parseInt(h[1]!, 16)) / PAGE;
      continue;
    }
    const m = /^Anonymous:\s+(\d+) kB$/.exec(line);
    if (inLib && m) anonKb += Number(m[1]);
  }
  return { pages, anonPages: (anonKb * 1024) / PAGE };
}

const onTmpfs = (p: string): boolean => Number(fs.statfsSync(p).type) === TMPFS_MAGIC;

test("libs: a library mapped by three processes: count 3, and its text segment's RSS 3T, PSS T, USS 0", { skip }, async (t) => {
  const { so, dir } = build();
  const s = await start(t, "lib", [so]);
  const pids = [...s.allPids].sort((a, b) => a - b);
  const T = s.num("text_pages");
  const V = s.num("vma_pages");
  assert.ok(T >= 40, "the library's 40 pages of code are in its executable segment");
  const path = ["--path", `^${escapeRegex(so)}$`];

  const x = json<LibsReport>(["libs", ...path, "--perms", "x", "--json"]);
  assert.equal(x.libraries.length, 1);
  const text = x.libraries[0]!;
  assert.equal(text.name, so);
  assert.equal(text.count, 3);
  assert.deepEqual(text.perms, ["r-xp"]);
  assert.deepEqual(text.processes.map((p) => p.pid).sort((a, b) => a - b), pids);
  assert.equal(text.rss, 3 * T * PAGE);
  near(text.pss, 3 * T * pssShareBytes(PAGE, 3), "text PSS");
  assert.equal(text.uss, 0);
  for (const p of text.processes) {
    assert.equal(p.rss, T * PAGE, `pid ${p.pid} text RSS`);
    near(p.pss, T * pssShareBytes(PAGE, 3), `pid ${p.pid} text PSS`);
  }

  // The whole library: every readable page was read by all three. Pages the loader wrote
  // (relocations) are private anonymous copies; every other page is mapped three times.
  const all = json<LibsReport>(["libs", ...path, "--json"]);
  const lib = all.libraries[0]!;
  assert.equal(lib.count, 3);
  let rss = 0;
  let pss = 0;
  let uss = 0;
  for (const pid of pids) {
    const k = libPagesFromSmaps(pid, so);
    if (pid === s.pid) assert.equal(k.pages, V, "the program read as many pages as smaps lists");
    rss += k.pages * PAGE;
    uss += k.anonPages * PAGE;
    pss += k.anonPages * PAGE + (k.pages - k.anonPages) * pssShareBytes(PAGE, 3);
  }
  assert.equal(lib.rss, rss);
  assert.equal(lib.uss, uss);
  near(lib.pss, pss, "library PSS");

  // The table names it with its three processes under it.
  const table = runCli(["libs", ...path]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`^.* 3  ${escapeRegex(so)}$`, "m"));
  for (const pid of pids) assert.match(table.stdout, new RegExp(`\\[${pid}\\]$`, "m"));

  // shares: every pair shares the library's non-relocated pages, as page cache.
  const k = libPagesFromSmaps(s.pid, so);
  const r = json<SharesReport>(["shares", "--pid", pids.join(","), "--json"]);
  const kind = onTmpfs(dir) ? "shmem" : "file";
  for (const [a, b] of pairsOf(pids)) {
    const m = mapping(pairOf(r, a, b).mappings, (m) => m.name === so, `the library in pair ${a}-${b}`);
    assert.equal(m.bytes, (k.pages - k.anonPages) * PAGE, `pair ${a}-${b} through the library`);
    assert.equal(m[kind], m.bytes, `the library's pages are ${kind} pages`);
  }
});

test("shares: a MAP_SHARED anonymous segment among three processes: each pair shares exactly N pages as shmem", { skip }, async (t) => {
  const N = 1000;
  const { dir } = build();
  const s = await start(t, "shm", [String(N)]);
  const pids = [...s.allPids].sort((a, b) => a - b);
  const addr = s.addr("addr");
  const r = json<SharesReport>(["shares", "--pid", pids.join(","), "--json"]);
  assert.deepEqual(r.processes.map((p) => p.pid).sort((a, b) => a - b), pids);
  // Nothing else these processes map is shmem unless their program or libraries live on tmpfs.
  const exact = !onTmpfs(dir) && !onTmpfs("/usr/lib");
  for (const [a, b] of pairsOf(pids)) {
    const p = pairOf(r, a, b);
    if (exact) assert.equal(p.shmem, N * PAGE, `pair ${a}-${b} shmem`);
    else assert.ok(p.shmem >= N * PAGE);
    const m = mapping(p.mappings, (m) => m.name === "/dev/zero (deleted)", `the segment in pair ${a}-${b}`);
    assert.deepEqual([m.bytes, m.shmem, m.kind], [N * PAGE, N * PAGE, "shmem"]);
  }
  const trio = r.groups.find((g) => g.processes.length === 3);
  assert.ok(trio, "the three form a group");
  assert.equal(mapping(trio.mappings, (m) => m.name === "/dev/zero (deleted)", "the segment in the group").shmem, N * PAGE);
  for (const p of r.processes) assert.ok(p.withSelected >= N * PAGE, `pid ${p.pid} shares the segment with the others`);

  // libs: each process's share of the segment is N pages of RSS and N/3 of PSS.
  const l = json<LibsReport>(["libs", "--path", "^/dev/zero \\(deleted\\)$", "--perms", "rw-s", "--json"]);
  const seg = l.libraries[0]!;
  for (const pid of pids) {
    const row = seg.processes.find((p) => p.pid === pid);
    assert.ok(row, `pid ${pid} maps the segment`);
    assert.equal(row.rss, N * PAGE);
    near(row.pss, N * pssShareBytes(PAGE, 3), `pid ${pid} segment PSS`);
  }
  void addr;
});

test("shares: a parent writes N pages and forks two children that do not write: each pair shares those N pages copy-on-write", { skip }, async (t) => {
  const N = 1000;
  const s = await start(t, "cow", [String(N)]);
  const pids = [...s.allPids].sort((a, b) => a - b);
  const addr = s.addr("addr");
  const check = (r: SharesReport, how: string): void => {
    for (const [a, b] of pairsOf(pids)) {
      const p = pairOf(r, a, b);
      const m = mapping(p.mappings, (m) => m.start === addr, `the region at 0x${addr.toString(16)} in pair ${a}-${b} (${how})`);
      assert.deepEqual([m.name, m.bytes, m.cow, m.kind], ["[anon]", N * PAGE, N * PAGE, "cow"], `pair ${a}-${b} (${how})`);
      assert.ok(p.cow >= N * PAGE);
    }
    const trio = r.groups.find((g) => g.processes.length === 3);
    assert.ok(trio);
    assert.equal(mapping(trio.mappings, (m) => m.start === addr, "the region in the group").cow, N * PAGE);
  };
  check(json<SharesReport>(["shares", "--pid", pids.join(","), "--json"]), "CLI");
  // The same from the library, scanning only these processes, with every page looked up.
  const scan = await scanSystem(new ProcFs(), { pids, exact: true });
  check(buildSharesReport(scan), "exact scan of the three");

  // A parent and its children all map the program: libs counts 3.
  const l = json<LibsReport>(["libs", "--path", `^${escapeRegex(build().bin)}$`, "--summary", "--json"]);
  assert.equal(l.libraries[0]!.count, 3);
});
