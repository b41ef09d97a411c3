/**
 * Live: the CLI run as user nobody (uid 65534), as root would run it for a
 * user, through `setpriv --reuid=65534 --regid=65534 --clear-groups`.
 *
 * Without root, /proc/kpagecount and /proc/kpageflags cannot be opened and
 * PFNs read as zero, so `ps` must fall back to smaps_rollup for the user's own
 * processes, say why in a note, and list other users' processes as unreadable
 * rather than leave them out. `pages` on the user's own process still shows
 * the pagemap bits (present, exclusive) but no PFNs, flags or map counts.
 *
 * The built CLI must be readable by nobody; if a parent directory of dist/
 * blocks it, dist and node_modules are copied to a world-readable temp dir.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { CLI_MAIN, cliForNobody as cliForNobodyIn, liveSkipReason, PAGE, readRollupKb, runCli, scenarioFor } from "../support/scenario.js";

const NOBODY = 65534;

function skipReason(): string | undefined {
  const base = liveSkipReason();
  if (base) return base;
  const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "true"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return `cannot switch to uid 65534 with setpriv: ${r.error?.message ?? r.stderr.trim()}`;
  if (!fs.existsSync(CLI_MAIN)) return `the CLI is not built (${CLI_MAIN} missing): run npx tsc -p .`;
  return undefined;
}

const skip = skipReason();

/** The CLI entry point as nobody can reach it. */
function cliForNobody(): string {
  return cliForNobodyIn(["node_modules/commander/package.json"], "pagelens-nonroot-");
}

interface PsRow {
  pid: number;
  uid: number | null;
  state: string;
  source: string;
  reason: string | null;
  rss: number;
  pss: number;
  uss: number;
}

interface PageRun {
  address: string;
  pages: number;
  kind: string;
  pfn: number | null;
  flags: string | null;
  mapcount: number | null;
  exclusive: boolean;
  file: boolean;
}

test("nonroot: ps --json as nobody falls back to smaps_rollup, explains why, lists root's processes as unreadable", { skip }, async (t) => {
  const main = cliForNobody();
  const N = 300;
  const mine = await scenarioFor(t, "private", [N], { uid: NOBODY, gid: NOBODY });
  mine.freeze();
  // Even a stopped process's RSS moves when reclaim (here DAMON) unmaps a file page, so the
  // kernel's figures are read before and after the CLI and the CLI's must lie between them.
  const before = readRollupKb(mine.pid);
  const r = runCli(["ps", "--json", "--all"], { asUid: NOBODY, main });
  assert.equal(r.code, 0, `ps --json as nobody exited ${r.code}: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { mode: string; notes: string[]; processes: PsRow[] };
  assert.equal(doc.mode, "smaps_rollup");
  assert.ok(
    doc.notes.some((n) => /kpage(count|flags)/.test(n) && /root/i.test(n)),
    `a note should say that the kpage files need root; notes: ${JSON.stringify(doc.notes)}`,
  );
  // Other users' processes: the note names the privilege, never "refuse even root" (that is for root).
  assert.ok(
    doc.notes.some((n) => /of other users cannot be read/.test(n) && /ptrace read access/.test(n)),
    `a note should name the missing privilege; notes: ${JSON.stringify(doc.notes)}`,
  );
  assert.ok(!doc.notes.some((n) => /even (by|to) root/.test(n)), `no 'even root' note for nobody: ${JSON.stringify(doc.notes)}`);
  const table = runCli(["ps"], { asUid: NOBODY, main });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stderr, /^pagelens: note: \d+ process(es)? of other users cannot be read/m);
  assert.doesNotMatch(table.stdout, /exited during the scan/, "notes are on stderr only");

  // This test process runs as root: listed, as unreadable, with a reason.
  const me = doc.processes.find((p) => p.pid === process.pid);
  assert.ok(me, `root process ${process.pid} (this test) is missing from ps as nobody`);
  assert.equal(me.state, "unreadable", `root process ${process.pid} as seen by nobody`);
  assert.ok(me.reason && /permission/i.test(me.reason), `unreadable row should say why: ${me.reason}`);
  assert.equal(me.uid, 0);

  // Nobody's own process: the kernel's totals from smaps_rollup.
  const own = doc.processes.find((p) => p.pid === mine.pid);
  assert.ok(own, `nobody's own process ${mine.pid} is missing`);
  assert.equal(own.state, "ok");
  assert.equal(own.source, "smaps_rollup");
  const k = readRollupKb(mine.pid);
  assert.ok(k && before, "smaps_rollup of the scenario");
  const between = (v: number, a: number, b: number, what: string): void =>
    assert.ok(v >= Math.min(a, b) && v <= Math.max(a, b), `${what}: ${v} not between the kernel's ${a} (before) and ${b} (after)`);
  between(own.rss, before["Rss"]! * 1024, k["Rss"]! * 1024, "rss = smaps_rollup Rss");
  // USS = Private_Clean + Private_Dirty, read while the CLI (a Node process mapping libc) runs: a
  // library page the scenario alone mapped is shared with the CLI for that moment. So the CLI's USS
  // lies between the scenario's dirty private pages (which no one else can map) and its USS alone.
  between(
    own.uss,
    Math.min(before["Private_Dirty"]!, k["Private_Dirty"]!) * 1024,
    Math.max(before["Private_Clean"]! + before["Private_Dirty"]!, k["Private_Clean"]! + k["Private_Dirty"]!) * 1024,
    "uss = Private_Clean + Private_Dirty",
  );
  assert.ok(own.uss >= N * PAGE, `uss ${own.uss} covers the ${N} private pages`);
});

test("nonroot: pages of nobody's own process shows pagemap bits, but no PFNs, flags or map counts", { skip }, async (t) => {
  const main = cliForNobody();
  const N = 300;
  const mine = await scenarioFor(t, "private", [N], { uid: NOBODY, gid: NOBODY });
  mine.freeze();
  const addr = mine.addr("addr");
  const range = `${addr.toString(16)}-${(addr + N * PAGE).toString(16)}`;
  const r = runCli(["pages", String(mine.pid), "--addr", range, "--json"], { asUid: NOBODY, main });
  assert.equal(r.code, 0, `pages as nobody exited ${r.code}: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { notes: string[]; runs: PageRun[] };
  assert.ok(
    doc.notes.some((n) => /PFN/.test(n)),
    `a note should say PFNs read as zero; notes: ${JSON.stringify(doc.notes)}`,
  );
  const total = doc.runs.reduce((a, run) => a + run.pages, 0);
  assert.equal(total, N, `pages listed in ${range}`);
  for (const run of doc.runs) {
    assert.equal(run.kind, "present", `run at ${run.address}`);
    assert.ok(run.exclusive, `run at ${run.address}: PM_MMAP_EXCLUSIVE is visible without root`);
    assert.equal(run.file, false, `run at ${run.address}: anonymous`);
    assert.ok(run.pfn === null || run.pfn === 0, `run at ${run.address}: PFN hidden, got ${run.pfn}`);
    assert.equal(run.flags, null, `run at ${run.address}: no kpageflags without root`);
    assert.equal(run.mapcount, null, `run at ${run.address}: no kpagecount without root`);
  }
  t.diagnostic(`${N} pages came back as ${doc.runs.length} run(s)`);

  // As root, the same range has flags and map count 1.
  const rr = runCli(["pages", String(mine.pid), "--addr", range, "--json"]);
  assert.equal(rr.code, 0, rr.stderr);
  const rdoc = JSON.parse(rr.stdout) as { runs: PageRun[] };
  assert.equal(
    rdoc.runs.reduce((a, run) => a + run.pages, 0),
    N,
  );
  for (const run of rdoc.runs) {
    assert.ok(run.pfn !== null && run.pfn > 0, `root: run at ${run.address} has a PFN`);
    assert.notEqual(run.flags, null, `root: run at ${run.address} has flags`);
    assert.equal(run.mapcount, 1, `root: run at ${run.address} is mapped once`);
  }
});

test("nonroot: maps of nobody's own process comes from smaps, and root's process is refused with a clear error", { skip }, async (t) => {
  const main = cliForNobody();
  const N = 300;
  const mine = await scenarioFor(t, "private", [N], { uid: NOBODY, gid: NOBODY });
  mine.freeze();
  const addr = mine.addr("addr");
  const r = runCli(["maps", String(mine.pid), "--json"], { asUid: NOBODY, main });
  assert.equal(r.code, 0, `maps as nobody exited ${r.code}: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { source: string; mappings: { start: string; rss: number; pss: number; uss: number }[] };
  assert.equal(doc.source, "smaps_rollup");
  const row = doc.mappings.find((m) => parseInt(m.start, 16) === addr);
  assert.ok(row, `no mapping at 0x${addr.toString(16)}`);
  assert.equal(row.rss, N * PAGE, "rss of the private mapping (from smaps)");
  assert.equal(row.pss, N * PAGE, "pss of the private mapping (from smaps)");
  assert.equal(row.uss, N * PAGE, "uss of the private mapping (from smaps)");

  const denied = runCli(["maps", String(process.pid), "--json"], { asUid: NOBODY, main });
  assert.notEqual(denied.code, 0, "maps of a root process as nobody must fail");
  assert.match(denied.stderr, /permission denied/i);
  assert.equal(denied.stderr.match(/permission denied/gi)?.length, 1, `the reason is said once: ${denied.stderr}`);
  assert.match(denied.stderr, /ptrace read access: run as that user or as root/);
  assert.doesNotMatch(denied.stderr, /internal error|\n\s+at /, "no internal error or stack trace");
});

test("nonroot: pages folds alike neighbouring pages into one run when PFNs are hidden", { skip }, async (t) => {
  // Without PFNs, contiguity can only be judged by address: N neighbouring pages that look the same
  // in every visible bit (present, exclusive, anonymous, same mapping) should be one row, not N.
  // Otherwise `pagelens pages PID` as a normal user prints one row per page (262,144 rows per GiB).
  const main = cliForNobody();
  const N = 300;
  const mine = await scenarioFor(t, "private", [N], { uid: NOBODY, gid: NOBODY });
  mine.freeze();
  const addr = mine.addr("addr");
  const range = `${addr.toString(16)}-${(addr + N * PAGE).toString(16)}`;
  const r = runCli(["pages", String(mine.pid), "--addr", range, "--json"], { asUid: NOBODY, main });
  assert.equal(r.code, 0, `pages as nobody exited ${r.code}: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { runs: PageRun[] };
  assert.equal(doc.runs.length, 1, `${N} alike pages at ${range} came back as ${doc.runs.length} runs (first: ${JSON.stringify(doc.runs[0])})`);
  assert.equal(doc.runs[0]!.pages, N);
});
