/**
 * A process's row of `pagelens ps` (src/report/process-report.ts processRow),
 * written field by field so that a Scanner's caller can build it after every
 * scan without temporary records: the same numbers, in the same key order
 * (the JSON output's), as the usage record spread into the identity fields.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { addUsage, NF, sumField, sumRows, U, zeroUsage } from "../../src/accounting/usage.js";
import { parseMaps } from "../../src/parse/maps.js";
import { processRow, totalsOf, vssOf } from "../../src/report/process-report.js";
import { commandOf } from "../../src/scan/process-info.js";
import type { ScannedProcess } from "../../src/scan/scan-data.js";

const MAPS = [
  "55d0c0000000-55d0c0021000 r--p 00000000 08:01 1234 /usr/bin/cat",
  "7f0000000000-7f0000200000 rw-p 00000000 00:00 0 ",
  "7fff00000000-7fff00021000 rw-p 00000000 00:00 0 [stack]",
  "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]",
].join("\n");

function proc(state: ScannedProcess["state"]): ScannedProcess {
  const vmas = parseMaps(MAPS);
  // Fractional PSS and values of very different sizes, so the order of additions shows.
  const usage = Float64Array.from({ length: vmas.length * NF }, (_, i) => (i % 7 === 0 ? 4096 / 3 : (i * 7919) % 65536) + (i % 5) * 2 ** 40);
  return {
    info: { pid: 42, ppid: 1, uid: 1000, user: "alice", comm: "cat", cmdline: ["cat", "-"], cgroup: "/user.slice", vmRssBytes: 8192, startTime: 12345 },
    state,
    source: state === "ok" ? "pagemap" : "none",
    reason: state === "ok" ? undefined : "denied",
    vmas,
    usage,
    runs: { start: 0, end: 0 },
    refs: { start: 0, end: 0 },
    swaps: { start: 0, end: 0 },
  };
}

/** The row as it was built before: the identity fields, then the summed usage record spread in. */
function spreadRow(p: ScannedProcess): Record<string, unknown> {
  const i = p.info;
  return {
    pid: i.pid,
    ppid: i.ppid,
    uid: i.uid ?? null,
    user: i.user,
    comm: i.comm,
    command: commandOf(i),
    cgroup: i.cgroup ?? null,
    startTime: i.startTime ?? null,
    state: p.state,
    source: p.source,
    reason: p.reason ?? null,
    vss: vssOf(p),
    ...(p.state === "ok" ? sumRows(p.usage) : zeroUsage()),
  };
}

test("processRow: the usage summed over the mappings, bit for bit, keys in the JSON output's order", () => {
  for (const state of ["ok", "unreadable"] as const) {
    const p = proc(state);
    const row = processRow(p);
    const want = spreadRow(p);
    assert.deepEqual(row, want);
    assert.deepEqual(Object.keys(row), Object.keys(want));
    assert.equal(JSON.stringify(row), JSON.stringify(want));
  }
  // Rows do not share the scratch sums: an earlier row keeps its numbers.
  const a = processRow(proc("ok"));
  const pss = a.pss;
  processRow(proc("unreadable"));
  assert.equal(a.pss, pss);
  assert.ok(pss > 0);
});

test("sumField: one column's sum, the same as sumRows's", () => {
  const p = proc("ok");
  for (const f of [U.rss, U.pss, U.uss, U.softDirty]) assert.equal(sumField(p.usage, f), Object.values(sumRows(p.usage))[f]);
});

test("totalsOf: the same sums and keys as adding the rows' usage records one by one", () => {
  const rows = [processRow(proc("ok")), processRow(proc("unreadable")), processRow({ ...proc("ok"), usage: proc("ok").usage.map((x) => x / 7) }), processRow({ ...proc("no-mm"), vmas: [] })];
  const acc = zeroUsage();
  let vss = 0;
  for (const r of rows)
    if (r.state === "ok") {
      addUsage(acc, r);
      vss += r.vss;
    }
  const want = { ...acc, processes: 4, vss, measured: 2, unreadable: 1, badInput: 0, noMemory: 1 };
  const got = totalsOf(rows);
  assert.deepEqual(got, want);
  assert.deepEqual(Object.keys(got), Object.keys(want));
});
