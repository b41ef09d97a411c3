/**
 * Live: the machine's own scan, encoded and decoded, is the same value and
 * gives the same report for every view built from a scan (ps, maps, libs,
 * shares, groups, system). A workload scenario (known sharing between
 * processes) is running so that the scan has runs, shared pages and
 * kpagecgroup values to carry; the views' other inputs (smaps, the census,
 * meminfo) are read once and used for both, so nothing the machine does
 * between two readings can make them differ. Skipped unless root.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProcFs } from "../../src/procfs/procfs.js";
import { decodeScan, encodeScan } from "../../src/scan/scan-codec.js";
import { Scanner } from "../../src/scan/scanner.js";
import { scanSystem } from "../../src/scan/system-scan.js";
import { liveSkipReason, startScenario } from "../support/scenario.js";
import { readOtherInputs, reportsOf } from "../support/scan-reports.js";

const skip = liveSkipReason();

test("the machine's scan, encoded and decoded: the same value, the same reports for every view", { skip }, async (t) => {
  const s = await startScenario("workload", [4, 16, 64]);
  t.after(() => s.stop());
  const src = { procfs: new ProcFs() };
  for (const options of [{}, { exact: true, cgroups: true }]) {
    const scan = await scanSystem(src.procfs, options);
    assert.equal(scan.mode, "pagemap");
    assert.ok(s.allPids.every((pid) => scan.processes.some((p) => p.info.pid === pid && p.source === "pagemap")), "the scenario's processes are in the scan");
    assert.ok(scan.processes.some((p) => p.info.startTime !== undefined && p.info.startTime > 0), "start times from /proc/PID/stat");
    const bytes = encodeScan(scan);
    const back = decodeScan(bytes);
    assert.deepEqual(back, scan, "the value itself");
    assert.deepEqual(encodeScan(back), bytes, "encoding the decoded value gives the same bytes");
    const inputs = readOtherInputs(src, scan, true);
    const want = reportsOf(scan, inputs);
    const got = reportsOf(back, inputs);
    assert.deepEqual(Object.keys(got), Object.keys(want));
    for (const k of Object.keys(want)) assert.deepEqual(got[k], want[k], k);
    t.diagnostic(
      `${JSON.stringify(options)}: ${scan.processes.length} processes, ${scan.runs.length} runs, ${scan.kpage.size} looked-up PFNs: ` +
        `${(bytes.length / 1024).toFixed(0)} KiB encoded`,
    );
  }
});

test("a Scanner's scan detached before the next scan encodes as it did", { skip }, async () => {
  const scanner = new Scanner(new ProcFs());
  const first = await scanner.scan({ pageFlags: "accounting" });
  const kept = scanner.detach(first);
  const bytes = encodeScan(first);
  await scanner.scan({ pageFlags: "accounting" });
  assert.deepEqual(encodeScan(kept), bytes);
});
