/**
 * Live: `pagelens groups` against processes and a memory cgroup the tests
 * build, as root.
 *
 *  - tree: a parent writes N private pages, then forks two children that do
 *    not write. The N pages are then mapped three times (kpagecount 3): in
 *    no member's USS, but in the tree's group USS. Checked against what was
 *    built (N pages, plus a bounded number of small COW pages such as the
 *    stack), and exactly against an independent reader of pagemap and
 *    kpagecount written here (not pagelens's code).
 *  - cgroup: a process joins a memory cgroup the test creates, then writes
 *    M MiB; a second one joins it, writes K MiB and is moved back out (its
 *    pages stay charged to the test cgroup). `--by cgroup` shows the first;
 *    `--charges` shows about M + K MiB charged to the test cgroup's inode, K
 *    of them mapped only by a process outside it; the kernel's own
 *    memory.stat of the cgroup is read here to compare.
 *
 * The cgroup is created under the memory hierarchy's root
 * (/sys/fs/cgroup/memory/<name> on v1, /sys/fs/cgroup/<name> on v2) and
 * removed afterwards: processes moved out and killed, directory removed.
 * Everything skips cleanly without root or without a memory controller.
 */
import { pssShareBytes } from "../../src/accounting/kernel-pss.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ProcFs } from "../../src/procfs/procfs.js";
import { scanSystem } from "../../src/scan/system-scan.js";
import { buildGroupsReport, type GroupRow, type GroupsReport } from "../../src/report/groups-report.js";
import { compileC, liveSkipReason, makeTempDir, MiB, onExit, PAGE, runCli, Scenario, sleepSync, startProgram, vmaUsage } from "../support/scenario.js";

const skip = liveSkipReason();
const procfs = new ProcFs();

// ---------------------------------------------------------------------------
// the test program

const SOURCE = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static long psz;
static pid_t parent_pid;
static pid_t kids[2];
static int nkids;

static void die(const char *what) { fprintf(stderr, "groupscenario: %s: %s\n", what, strerror(errno)); exit(1); }

static void finish(int sig) {
  (void)sig;
  if (getpid() != parent_pid) _exit(0);
  for (int i = 0; i < nkids; i++) kill(kids[i], SIGKILL);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {}
  _exit(0);
}

/* n pages between PROT_NONE guards, so the VMA is exactly the region; no THP. */
static char *guarded(size_t n) {
  char *p = mmap(NULL, (n + 2) * (size_t)psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  if (mprotect(p + psz, n * (size_t)psz, PROT_READ | PROT_WRITE) != 0) die("mprotect");
  madvise(p + psz, n * (size_t)psz, MADV_NOHUGEPAGE);
  return p + psz;
}

static void write_pages(char *p, size_t n) {
  for (size_t i = 0; i < n; i++) memset(p + i * (size_t)psz, (int)(i % 251) + 1, (size_t)psz);
}

static void wait_stdin(void) {
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {}
}

int main(int argc, char **argv) {
  psz = sysconf(_SC_PAGESIZE);
  parent_pid = getpid();
  signal(SIGTERM, finish);
  signal(SIGINT, finish);
  signal(SIGHUP, finish);
  signal(SIGALRM, finish);
  alarm(300);
  if (argc < 3) { fprintf(stderr, "usage: groupscenario tree N | alloc MIB\n"); return 2; }
  if (strcmp(argv[1], "tree") == 0) {
    size_t n = (size_t)atol(argv[2]);
    char *p = guarded(n);
    write_pages(p, n);
    printf("addr=%p\npages=%zu\n", (void *)p, n);
    fflush(stdout);
    for (int k = 0; k < 2; k++) {
      int fds[2];
      if (pipe(fds) != 0) die("pipe");
      pid_t c = fork();
      if (c < 0) die("fork");
      if (c == 0) {
        signal(SIGTERM, SIG_DFL);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(3);
        if (getppid() != parent_pid) _exit(0);
        if (write(fds[1], "x", 1) != 1) _exit(4);
        for (;;) pause();
      }
      kids[nkids++] = c;
      char b;
      if (read(fds[0], &b, 1) != 1) die("child did not start");
      close(fds[0]);
      close(fds[1]);
      printf("child=%d\n", (int)c);
    }
  } else if (strcmp(argv[1], "alloc") == 0) {
    size_t n = (size_t)atol(argv[2]) * 1024 * 1024 / (size_t)psz;
    char *p = guarded(n);
    write_pages(p, n);
    printf("addr=%p\npages=%zu\n", (void *)p, n);
  } else {
    fprintf(stderr, "groupscenario: unknown mode %s\n", argv[1]);
    return 2;
  }
  printf("READY\n");
  fflush(stdout);
  wait_stdin();
  finish(0);
  return 0;
}
`;

let sourceFile: string | undefined;

function groupscenario(): string {
  if (!sourceFile) {
    sourceFile = path.join(makeTempDir("pagelens-groups-"), "groupscenario.c");
    fs.writeFileSync(sourceFile, SOURCE);
  }
  return compileC(sourceFile);
}

/** Start the program (through `sh -c PREFIX; exec ...` when a prefix is given) and wait for READY. */
async function start(t: { after: (fn: () => Promise<void> | void) => void }, args: readonly string[], shellPrefix?: string): Promise<Scenario> {
  const s = await startProgram(groupscenario(), args, { prefix: shellPrefix });
  t.after(() => s.stop());
  return s;
}

function cliJson(args: readonly string[]): GroupsReport {
  const r = runCli(["groups", ...args, "--json"]);
  assert.equal(r.code, 0, `pagelens groups ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as GroupsReport;
}

function groupWith(report: GroupsReport, pid: number): GroupRow {
  const g = report.groups.find((x) => x.pids.includes(pid) && !x.rest);
  assert.ok(g, `a group holds pid ${pid}`);
  return g;
}

// ---------------------------------------------------------------------------
// an independent group-USS oracle: pagemap + kpagecount read here

const KPF_ZERO_PAGE = 24n;
const KPF_HUGE = 17n;

function readWord(fd: number, index: number): bigint {
  const b = Buffer.alloc(8);
  const n = fs.readSync(fd, b, 0, 8, index * 8);
  return n === 8 ? b.readBigUInt64LE(0) : 0n;
}

/** Pages (memory use, as RSS counts it) every mapping of which comes from `pids`, and pages also mapped elsewhere. */
function oracleGroupPages(pids: readonly number[]): { unique: number; outside: number } {
  const mappings = new Map<bigint, number>();
  for (const pid of pids) {
    const maps = fs.readFileSync(`/proc/${pid}/maps`, "utf8").trim().split("\n");
    const fd = fs.openSync(`/proc/${pid}/pagemap`, "r");
    try {
      for (const line of maps) {
        const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
        if (!m || line.endsWith("[vsyscall]")) continue;
        const first = Number(BigInt(`0x${m[1]}`) / BigInt(PAGE));
        const last = Number(BigInt(`0x${m[2]}`) / BigInt(PAGE));
        const buf = Buffer.alloc((last - first) * 8);
        const got = fs.readSync(fd, buf, 0, buf.length, first * 8);
        for (let off = 0; off + 8 <= got; off += 8) {
          const e = buf.readBigUInt64LE(off);
          if ((e >> 63n) !== 1n) continue;
          const pfn = e & ((1n << 55n) - 1n);
          if (pfn !== 0n) mappings.set(pfn, (mappings.get(pfn) ?? 0) + 1);
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  const counts = fs.openSync("/proc/kpagecount", "r");
  const flags = fs.openSync("/proc/kpageflags", "r");
  let unique = 0;
  let outside = 0;
  try {
    for (const [pfn, m] of mappings) {
      const c = Number(readWord(counts, Number(pfn)));
      const f = readWord(flags, Number(pfn));
      if (c === 0 || ((f >> KPF_ZERO_PAGE) & 1n) === 1n || ((f >> KPF_HUGE) & 1n) === 1n) continue;
      if (m >= c) unique++;
      else outside++;
    }
  } finally {
    fs.closeSync(counts);
    fs.closeSync(flags);
  }
  return { unique, outside };
}

// ---------------------------------------------------------------------------

test("tree: a parent's N pages shared with its two forked children are in the tree's group USS and in no member's USS", { skip }, async (t) => {
  const N = 2000;
  const s = await start(t, ["tree", String(N)]);
  s.freeze();
  const parent = s.pid;
  const kids = s.children;
  assert.equal(kids.length, 2);
  const pids = [parent, ...kids];
  const addr = s.addr("addr");

  // Library pages of the three are also mapped by short-lived processes elsewhere, whose coming and
  // going moves a page between "unique" and "shared outside": use a scan the independent reader
  // (below) saw unchanged before and after.
  let scan = await scanSystem(procfs, { pids });
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = oracleGroupPages(pids);
    scan = await scanSystem(procfs, { pids });
    const after = oracleGroupPages(pids);
    if (before.unique === after.unique && before.outside === after.outside) break;
  }
  // What was built: every member maps the N pages (count 3), none has them in its USS.
  for (const pid of pids) {
    const u = vmaUsage(scan, pid, addr);
    assert.equal(u.rss, N * PAGE, `pid ${pid} maps the N pages`);
    assert.equal(u.uss, 0, `pid ${pid}: the N pages are in no member's USS`);
    // A third of each page, truncated to 1/4096 byte as the kernel does (accounting/kernel-pss.ts).
    assert.equal(u.pss, N * pssShareBytes(PAGE, 3), `pid ${pid}: each holds a third of them`);
  }
  const report = buildGroupsReport(scan, { by: "tree", rootPids: [parent] });
  const tree = report.groups.find((g) => g.key === `tree:${parent}`)!;
  assert.deepEqual([...tree.pids].sort((a, b) => a - b), [...pids].sort((a, b) => a - b));
  const sharedInside = tree.groupUss! - tree.uss;
  // The N pages, plus the few pages the parent had written before fork (stack, libc data, heap), COW-shared too.
  assert.ok(sharedInside >= N * PAGE, `group USS - members' USS = ${sharedInside / PAGE} pages, at least the N = ${N} shared ones`);
  assert.ok(sharedInside <= (N + 256) * PAGE, `group USS - members' USS = ${sharedInside / PAGE} pages, at most N + 256`);
  assert.ok(tree.sharedOutside! > 0, "libc is shared with the rest of the machine");

  // Exactly what an independent pagemap + kpagecount reader finds (the processes are stopped).
  const oracle = oracleGroupPages(pids);
  t.diagnostic(`tree of ${pids.length}: members' USS ${tree.uss / PAGE} pages, group USS ${tree.groupUss! / PAGE} pages (oracle ${oracle.unique}), shared outside ${tree.sharedOutside! / PAGE} pages (oracle ${oracle.outside}), N = ${N}`);
  assert.equal(tree.groupUss, oracle.unique * PAGE, "group USS against the independent reader");
  assert.equal(tree.sharedOutside, oracle.outside * PAGE, "shared-outside against the independent reader");

  // The parent alone: the N pages are shared with processes outside its group.
  const alone = buildGroupsReport(scan, { pids: [parent] }).groups.find((g) => g.key === "pids")!;
  assert.ok(alone.sharedOutside! >= N * PAGE);
  assert.ok(alone.groupUss! + N * PAGE <= tree.groupUss!, "the tree's group USS holds the parent's own and the N shared pages");
  // Against the independent reader: the parent's library pages are also mapped by short-lived
  // processes elsewhere on the machine, whose coming and going moves a page between "unique" and
  // "shared outside". Judge a scan only when the reader saw the same before and after it.
  let judged = false;
  for (let attempt = 0; attempt < 5 && !judged; attempt++) {
    const before = oracleGroupPages([parent]).unique;
    const again = await scanSystem(procfs, { pids });
    const after = oracleGroupPages([parent]).unique;
    if (before !== after) continue;
    const a = buildGroupsReport(again, { pids: [parent] }).groups.find((g) => g.key === "pids")!;
    assert.equal(a.groupUss, after * PAGE, "the parent's group USS against the independent reader");
    judged = true;
  }
  assert.ok(judged, "the machine never held still for five scans");

  // The same through the CLI, scanning the whole machine.
  // The CLI is a later scan by another process, itself a Node process mapping libc: library pages
  // may move between "unique" and "shared outside". The anonymous part cannot, and must match.
  const cli = cliJson(["--by", "tree", "--root-pid", String(parent)]);
  const ct = cli.groups.find((g) => g.key === `tree:${parent}`)!;
  assert.equal(ct.groupUssAnon, tree.groupUssAnon);
  // Members' USS includes library pages only they mapped, which the CLI process may map too.
  assert.ok(Math.abs(ct.uss - tree.uss) <= 64 * PAGE, `CLI members' USS ${ct.uss} vs ${tree.uss}`);
  assert.ok(Math.abs(ct.groupUss! - tree.groupUss!) <= 64 * PAGE, `CLI group USS ${ct.groupUss} vs ${tree.groupUss}`);
  assert.ok(Math.abs(ct.sharedOutside! - tree.sharedOutside!) <= 64 * PAGE, `CLI shared-outside ${ct.sharedOutside} vs ${tree.sharedOutside}`);
  assert.ok(cli.groups.some((g) => g.rest), "an everything-else row");
  const byCommand = cliJson(["--by", "command"]);
  const cmd = byCommand.groups.find((g) => g.key === "groupscenario")!;
  assert.deepEqual([...cmd.pids].sort((a, b) => a - b), [...pids].sort((a, b) => a - b));
  assert.equal(cmd.groupUssAnon, tree.groupUssAnon, "the same three processes by name");
  // Default trees: the three are in one tree (that of the test runner's ancestor under PID 1).
  const byTree = cliJson(["--by", "tree"]);
  const g = groupWith(byTree, parent);
  for (const k of kids) assert.ok(g.pids.includes(k));
  // (Unless the runner is PID 1 itself, whose children each root a tree.)
  if (process.pid !== 1) assert.ok(g.pids.includes(process.pid), "the test runner is in the same tree");
  assert.ok(g.groupUss! >= tree.groupUss! - 64 * PAGE, "a larger tree holds at least the pages only the smaller one maps (a later scan: library pages may have moved)");
  // Every process is in exactly one group of a partition.
  for (const by of ["user", "unit", "cgroup"]) {
    const r = cliJson(["--by", by]);
    const seen = r.groups.flatMap((x) => x.pids);
    assert.equal(new Set(seen).size, seen.length, `--by ${by}: no process in two groups`);
    for (const pid of pids) assert.ok(seen.includes(pid), `--by ${by} holds pid ${pid}`);
  }
});

// ---------------------------------------------------------------------------
// memory cgroups

interface Hierarchy {
  readonly version: 1 | 2;
  readonly mount: string;
}

/** The memory hierarchy as /proc/self/mountinfo shows it (read here, independently of pagelens). */
function memoryHierarchy(): Hierarchy | undefined {
  const lines = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n");
  for (const l of lines) {
    const f = l.split(" ");
    const dash = f.indexOf("-");
    if (dash > 0 && f[dash + 1] === "cgroup" && (f[dash + 3] ?? "").split(",").includes("memory") && f[3] === "/") return { version: 1, mount: f[4]! };
  }
  for (const l of lines) {
    const f = l.split(" ");
    const dash = f.indexOf("-");
    if (dash > 0 && f[dash + 1] === "cgroup2" && f[3] === "/") {
      let ctl = "";
      let sub = "";
      try {
        ctl = fs.readFileSync(path.join(f[4]!, "cgroup.controllers"), "utf8");
        sub = fs.readFileSync(path.join(f[4]!, "cgroup.subtree_control"), "utf8");
      } catch {
        continue;
      }
      // A child of the root gets the memory controller only if the root hands it down; the test does not change that.
      if (ctl.split(/\s+/).includes("memory") && sub.split(/\s+/).includes("memory")) return { version: 2, mount: f[4]! };
    }
  }
  return undefined;
}

/** This process's memory cgroup path. */
function ownCgroup(h: Hierarchy): string {
  const lines = fs.readFileSync("/proc/self/cgroup", "utf8").split("\n");
  const line = h.version === 1 ? lines.find((l) => l.split(":")[1]?.split(",").includes("memory")) : lines.find((l) => l.startsWith("0::"));
  return line?.split(":").slice(2).join(":") ?? "/";
}

function cgroupSkip(): string | undefined {
  if (skip) return skip;
  return memoryHierarchy() ? undefined : "no memory cgroup controller mounted (v1 memory hierarchy, or v2 with memory enabled for children)";
}

/** Move every process of a cgroup to `to`, kill them, and remove the directory (retrying while the kernel lets go). */
function removeCgroup(dir: string, to: string): void {
  if (!fs.existsSync(dir)) return;
  for (let attempt = 0; attempt < 50; attempt++) {
    let pids: number[] = [];
    try {
      pids = fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return;
    }
    for (const pid of pids) {
      try {
        fs.writeFileSync(path.join(to, "cgroup.procs"), `${pid}\n`);
      } catch {
        // exited meanwhile
      }
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    try {
      fs.rmdirSync(dir);
      return;
    } catch {
      sleepSync(100);
    }
  }
  throw new Error(`could not remove test cgroup ${dir}`);
}

test("cgroup: --by cgroup shows a process in a test memory cgroup; --charges shows the pages charged to it, and who maps them", { skip: cgroupSkip() }, async (t) => {
  const h = memoryHierarchy()!;
  const M = 64;
  const K = 16;
  const name = `pagelens-test-${process.pid}-${Date.now()}`;
  const cgPath = `/${name}`;
  const dir = path.join(h.mount, name);
  const home = path.join(h.mount, ownCgroup(h));
  fs.mkdirSync(dir);
  const cleanup = (): void => removeCgroup(dir, home);
  onExit(cleanup);
  const inode = Number(fs.statSync(dir, { bigint: true }).ino);

  // Join first, then allocate: pages are charged to the cgroup of the process that faults them in.
  const join = `echo $$ > ${JSON.stringify(path.join(dir, "cgroup.procs"))}`;
  const a = await start(t, ["alloc", String(M)], join);
  const b = await start(t, ["alloc", String(K)], join);
  // b leaves; its pages stay charged to the test cgroup (charges never move with a process on v2, nor on v1 by default).
  fs.writeFileSync(path.join(home, "cgroup.procs"), `${b.pid}\n`);
  t.after(cleanup);
  a.freeze();
  b.freeze();
  const inCg = fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  assert.deepEqual(inCg, [a.pid], "only the first process is in the test cgroup now");

  const byCg = cliJson(["--by", "cgroup"]);
  const row = byCg.groups.find((g) => g.key === cgPath);
  assert.ok(row, `--by cgroup has a ${cgPath} row: ${byCg.groups.map((g) => g.key).join(", ")}`);
  assert.deepEqual(row.pids, [a.pid]);
  assert.ok(row.rss >= M * MiB && row.rss <= (M + 4) * MiB, `RSS ${row.rss / MiB} MiB of the ${M} MiB process`);
  assert.ok(row.groupUss! >= M * MiB && row.groupUss! <= (M + 4) * MiB, `group USS ${row.groupUss! / MiB} MiB`);
  assert.equal(row.cgroup?.inode, inode, "the cgroup's inode, as kpagecgroup names it");
  assert.ok(row.cgroup?.accounting?.usage !== null && row.cgroup!.accounting!.usage! >= (M + K) * MiB, "the kernel's usage includes what b left behind");

  const ch = cliJson(["--charges"]);
  assert.ok(ch.charges?.available, ch.charges?.notes.join("; "));
  const c = ch.charges!.cgroups.find((r) => r.inode === inode);
  assert.ok(c, `a charges row for inode ${inode}`);
  assert.equal(c.path, cgPath);
  assert.equal(c.processes, 1);
  assert.equal(c.unknownCharge, 0, "--charges looks every page up");
  const slack = 2 * MiB; // stacks, libc data and the like, written after joining
  assert.ok(c.chargedAnon >= (M + K) * MiB && c.chargedAnon <= (M + K) * MiB + slack, `charged anon ${c.chargedAnon / MiB} MiB, built ${M} + ${K} MiB`);
  assert.ok(c.mappedByOwn >= M * MiB && c.mappedByOwn <= M * MiB + slack, `mapped by its own process: ${c.mappedByOwn / MiB} MiB`);
  assert.ok(c.mappedOnlyByOthers >= K * MiB && c.mappedOnlyByOthers <= K * MiB + slack, `mapped only by others: ${c.mappedOnlyByOthers / MiB} MiB (b, moved out)`);
  // The kernel's own count of the cgroup's anonymous memory, read here.
  const stat = new Map(
    fs
      .readFileSync(path.join(dir, "memory.stat"), "utf8")
      .split("\n")
      .map((l) => l.split(" "))
      .map(([k, v]) => [k!, Number(v)] as const),
  );
  const kernelAnon = h.version === 1 ? stat.get("total_rss")! : stat.get("anon")!;
  t.diagnostic(
    `cgroup v${h.version} ${cgPath} (inode ${inode}): charged ${c.charged / MiB} MiB (anon ${c.chargedAnon / MiB}), by own ${c.mappedByOwn / MiB}, ` +
      `only by others ${c.mappedOnlyByOthers / MiB}, elsewhere ${c.chargedElsewhere / MiB}; kernel anon ${kernelAnon / MiB} MiB; built ${M} + ${K} MiB`,
  );
  assert.ok(Math.abs(kernelAnon - c.chargedAnon) <= 1 * MiB, `kernel anon ${kernelAnon / MiB} MiB vs charged anon ${c.chargedAnon / MiB} MiB`);

  // b's K MiB: mapped by a process of its home cgroup, paid for by the test cgroup.
  const back = ch.charges!.flows.find((f) => f.chargedToInode === inode);
  assert.ok(back, "a flow into the test cgroup");
  assert.equal(back.mappedBy, ownCgroup(h));
  assert.ok(back.bytes >= K * MiB && back.bytes <= K * MiB + slack, `flow ${back.bytes / MiB} MiB`);
  // a's file pages (libc, the program's text) were read in by other cgroups: they pay for them.
  const out = ch.charges!.flows.filter((f) => f.mappedBy === cgPath);
  assert.ok(out.length > 0 && c.chargedElsewhere > 0, "the test cgroup's process uses pages other cgroups pay for");

  // The table view names both.
  const table = runCli(["groups", "--charges"]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`${name}`));
  assert.match(table.stdout, /Pages one cgroup's processes map but another cgroup pays for/);
});
