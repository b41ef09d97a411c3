/**
 * Live: `pagelens system` on this machine, as root.
 *
 *  - the lines add up to MemTotal exactly, and every line's parts to the line;
 *  - the "mapped by processes" line is `ps`'s distinct figure from the same scan;
 *  - while a program of ours (test/support/c/alloc.c) holds N MiB of fresh
 *    anonymous memory, the mapped line is about N MiB higher than before it
 *    started and after it ended.
 *
 * Other processes on the machine keep allocating and freeing (on the shared
 * test VM: 10-25 MiB between two reports a couple of seconds apart, and now
 * and then a benchmark workload taking or returning gigabytes), so the growth
 * check uses a large N, measures before / during / after up to eight times
 * and passes on the first round quiet at both edges; every round's figures
 * are in the failure message.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ProcFs } from "../../src/procfs/procfs.js";
import { buildPsReport } from "../../src/report/process-report.js";
import type { SystemLine, SystemReport } from "../../src/report/system-report.js";
import { gatherSystem, systemReportOf } from "../../src/views/system.js";
import { compileC, liveSkipReason, MiB, REPO_ROOT, runCli, Scenario, startProgram } from "../support/scenario.js";

const skip = liveSkipReason();
const procfs = new ProcFs();

function lineOf(r: SystemReport, id: string): SystemLine {
  const [top, part] = id.split(".");
  const l = r.lines.find((x) => x.id === top);
  assert.ok(l, `no line ${top}`);
  if (part === undefined) return l;
  const p = l.parts.find((x) => x.id === part);
  assert.ok(p, `no part ${id}`);
  return p;
}

function assertAddsUp(r: SystemReport): void {
  const sum = r.lines.reduce((a, l) => a + l.bytes, 0);
  assert.equal(sum, r.memTotal, `the lines add up to ${sum}, MemTotal is ${r.memTotal}`);
  for (const l of r.lines)
    if (l.parts.length > 0)
      assert.equal(
        l.parts.reduce((a, p) => a + p.bytes, 0),
        l.bytes,
        `the parts of ${l.id} add up to it`,
      );
  assert.equal(r.lines[r.lines.length - 1]!.id, "notAttributed");
}

/** MemTotal as the kernel prints it, read here without pagelens's parser. */
function memTotalBytes(): number {
  const m = /^MemTotal:\s+(\d+) kB$/m.exec(fs.readFileSync("/proc/meminfo", "utf8"));
  assert.ok(m);
  return Number(m[1]) * 1024;
}

test("the lines add up to MemTotal, and the mapped line is ps's distinct figure from the same scan", { skip }, async () => {
  const g = await gatherSystem({ procfs });
  const r = systemReportOf(g, true);
  assert.equal(r.memTotal, memTotalBytes());
  assertAddsUp(r);
  assert.ok(g.census, "as root there is a census");
  assert.equal(
    r.census!.classes.reduce((a, c) => a + c.pages, 0),
    r.census!.pfns,
    "the census classes partition the PFNs",
  );
  const ps = buildPsReport(g.scan);
  assert.notEqual(ps.machine.distinctMapped, null);
  assert.equal(lineOf(r, "processes").bytes, ps.machine.distinctMapped, "mapped by processes = ps's distinct mapped memory");
  assert.equal(lineOf(r, "processes").source, "scan");
  // A sanity bound, not a definition: a line counted twice (or a source misread) would push the remainder far past
  // 10% of MemTotal. Memory that other processes take or give back between the reads moves it too; the report
  // measures that churn (mapped pages the census sees beyond the scan, MemFree's move during the census), so it is allowed for.
  const rest = lineOf(r, "notAttributed").bytes;
  const censusMapped = lineOf(r, "processes").checks.find((c) => c.source === "census")!.bytes;
  const churn = Math.abs(censusMapped - lineOf(r, "processes").bytes) + Math.abs(r.timing!.memFreeChangeDuringCensus);
  assert.ok(Math.abs(rest) < 0.1 * r.memTotal + churn, `not attributed is ${rest} bytes of ${r.memTotal} (churn ${churn})`);
  assert.ok(
    r.notes.some((n) => n.includes("one after another")),
    "the race between the sources is said",
  );
});

test("the CLI: --json adds up to MemTotal; the table shows every line and the remainder", { skip }, () => {
  const j = runCli(["system", "--json"]);
  assert.equal(j.code, 0, j.stderr);
  assert.equal(j.stderr, "");
  const doc = JSON.parse(j.stdout) as SystemReport;
  assert.equal(doc.memTotal, memTotalBytes());
  assertAddsUp(doc);
  for (const l of doc.lines) assert.ok(Number.isInteger(l.bytes), `${l.id}: ${l.bytes} is a whole number of bytes`);

  const t = runCli(["system"]);
  assert.equal(t.code, 0, t.stderr);
  for (const label of ["mapped by processes", "page cache, not mapped", "shmem and tmpfs, not mapped", "kernel", "hugetlb pools", "free", "not attributed", "MemTotal"])
    assert.match(t.stdout, new RegExp(`^${label.replace(/[()]/g, "\\$&")}\\s`, "m"), `the table has a ${label} line`);
  assert.match(t.stderr, /pagelens: note: "Not attributed"/);
});

// ---------------------------------------------------------------------------
// A process that maps N MiB.

const ALLOC_SOURCE = path.join(REPO_ROOT, "test", "support", "c", "alloc.c");
function startAlloc(mib: number): Promise<Scenario> {
  return startProgram(compileC(ALLOC_SOURCE), [mib], { label: "alloc", env: { ALLOC_TIMEOUT: "120" } });
}

interface Round {
  before: number;
  during: number;
  after: number;
  anonBefore: number;
  anonDuring: number;
  anonAfter: number;
  allocUss: number;
}

const mb = (b: number): string => `${(b / MiB).toFixed(2)} MiB`;

test("a process holding N MiB of fresh anonymous memory raises the mapped line by about N MiB", { skip, timeout: 300_000 }, async () => {
  const N = 512;
  // The program's own pages besides its N MiB (stack, data, libc's private pages: ~0.1 MiB) and what other processes do meanwhile.
  const tolerance = 16 * MiB;
  const rounds: Round[] = [];
  for (let attempt = 0; attempt < 8; attempt++) {
    const r0 = systemReportOf(await gatherSystem({ procfs }), true);
    const s = await startAlloc(N);
    let r1: SystemReport;
    let allocUss: number;
    try {
      const g1 = await gatherSystem({ procfs });
      r1 = systemReportOf(g1, true);
      assertAddsUp(r1);
      const row = buildPsReport(g1.scan).processes.find((p) => p.pid === s.pid);
      assert.ok(row, `the alloc process ${s.pid} is in the scan`);
      allocUss = row.uss;
      assert.equal(lineOf(r1, "processes").bytes, buildPsReport(g1.scan).machine.distinctMapped);
    } finally {
      await s.stop();
    }
    const r2 = systemReportOf(await gatherSystem({ procfs }), true);
    const round: Round = {
      before: lineOf(r0, "processes").bytes,
      during: lineOf(r1, "processes").bytes,
      after: lineOf(r2, "processes").bytes,
      anonBefore: lineOf(r0, "processes.anon").bytes,
      anonDuring: lineOf(r1, "processes.anon").bytes,
      anonAfter: lineOf(r2, "processes.anon").bytes,
      allocUss,
    };
    rounds.push(round);
    // Its own N MiB are private pages: at least N MiB of its USS, whatever else happens on the machine.
    assert.ok(allocUss >= N * MiB, `alloc's USS ${mb(allocUss)} < ${N} MiB`);
    const near = (x: number): boolean => Math.abs(x - N * MiB) <= tolerance;
    if (
      near(round.during - round.before) &&
      near(round.during - round.after) &&
      near(round.anonDuring - round.anonBefore) &&
      near(round.anonDuring - round.anonAfter)
    )
      return;
  }
  assert.fail(
    `the mapped line never moved by ${N} MiB ± ${mb(tolerance)} in ${rounds.length} rounds:\n` +
      rounds
        .map(
          (r, i) =>
            `  round ${i + 1}: mapped ${mb(r.during - r.before)} up on start, ${mb(r.during - r.after)} down on exit; ` +
            `anonymous ${mb(r.anonDuring - r.anonBefore)} up, ${mb(r.anonDuring - r.anonAfter)} down; alloc USS ${mb(r.allocUss)}`,
        )
        .join("\n"),
  );
});
