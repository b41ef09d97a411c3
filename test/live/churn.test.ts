/**
 * Live: scanning while processes come and go.
 *
 * A memscenario `churn` program forks short-lived children without pause
 * (half of them exec /bin/sleep 0.01) while the whole machine is scanned
 * several times and the CLI prints JSON. Nothing may throw; a pid is either
 * in `processes` or in `vanished`, never both, never twice; and the JSON
 * still parses. Two deterministic races are also staged through the scan's
 * `select` hook: a process killed (and reaped) between its identity being
 * read and its maps being read, and one killed after discovery, before its
 * page tables are read; and a third, through the progress hook, while its
 * page table is being read with reads in flight. All must come back in
 * `vanished`, not as errors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { ProcFs } from "../../src/procfs/procfs.js";
import { scanSystem, type Scan } from "../../src/scan/system-scan.js";
import { liveSkipReason, pidExists, runCli, scenarioFor, sleepSync } from "../support/scenario.js";

const skip = liveSkipReason();
const procfs = new ProcFs();

function checkConsistent(scan: Scan, label: string): void {
  const seen = new Set<number>();
  for (const p of scan.processes) {
    assert.ok(!seen.has(p.info.pid), `${label}: pid ${p.info.pid} listed twice`);
    seen.add(p.info.pid);
    assert.ok(["ok", "unreadable", "no-mm"].includes(p.state), `${label}: pid ${p.info.pid} state ${p.state}`);
    if (p.source === "pagemap") for (const v of p.usage) assert.ok(Number.isFinite(v) && v >= 0, `${label}: pid ${p.info.pid} has usage value ${v}`);
  }
  for (const pid of scan.vanished) assert.ok(!seen.has(pid), `${label}: pid ${pid} is both in processes and in vanished`);
  assert.equal(new Set(scan.vanished).size, scan.vanished.length, `${label}: a pid is in vanished twice`);
}

/** Wait (synchronously) until `pid` has been reaped. */
function waitGone(pid: number, ms = 3000): void {
  const until = Date.now() + ms;
  while (pidExists(pid) && Date.now() < until) sleepSync(2);
  assert.ok(!pidExists(pid), `pid ${pid} still exists after SIGKILL`);
}

test("churn: whole-machine scans and ps --json while short-lived processes come and go", { skip }, async (t) => {
  const churn = await scenarioFor(t, "churn");
  const churnPid = churn.pid;
  let observedChildren = 0;
  let vanishedTotal = 0;
  for (const [i, opts] of [{}, { exact: true }, {}, { exact: true }, {}].entries()) {
    const scan = await scanSystem(procfs, opts);
    const label = `scan ${i} ${JSON.stringify(opts)}`;
    checkConsistent(scan, label);
    observedChildren += scan.processes.filter((p) => p.info.ppid === churnPid).length;
    vanishedTotal += scan.vanished.length;
    assert.ok(scan.processes.some((p) => p.info.pid === process.pid && p.source === "pagemap"), `${label}: this process itself is missing`);
  }
  for (let i = 0; i < 2; i++) {
    const r = runCli(["ps", "--json"]);
    assert.equal(r.code, 0, `ps --json exited ${r.code}: ${r.stderr}`);
    let doc: { processes: { pid: number }[]; vanished: number[] };
    try {
      doc = JSON.parse(r.stdout) as typeof doc;
    } catch (err) {
      assert.fail(`ps --json printed invalid JSON during churn (${(err as Error).message}): ${r.stdout.slice(0, 200)}`);
    }
    assert.ok(Array.isArray(doc.processes) && doc.processes.length > 0, "ps --json lists processes");
    assert.ok(Array.isArray(doc.vanished), "ps --json has a vanished list");
    const pids = new Set(doc.processes.map((p) => p.pid));
    assert.equal(pids.size, doc.processes.length, "ps --json lists a pid twice");
    for (const v of doc.vanished) assert.ok(!pids.has(v), `ps --json: pid ${v} both listed and vanished`);
  }
  t.diagnostic(`churn children seen in scans: ${observedChildren}; vanished pids over 5 scans: ${vanishedTotal}`);
});

test("churn: a pid asked for that does not exist is not found, not 'exited during the scan'", { skip }, async () => {
  // Find a pid that is not in use right now (pid_max is far above what this machine uses).
  let pid = 4_000_000;
  while (pidExists(pid)) pid--;
  const scan = await scanSystem(procfs, { pids: [pid, process.pid] });
  assert.deepEqual(scan.notFound, [pid]);
  assert.deepEqual(scan.vanished, []);
  assert.deepEqual(
    scan.processes.map((p) => p.info.pid),
    [process.pid],
  );
});

{
  test("churn: processes killed mid-scan end up in vanished", { skip }, async (t) => {
    // Two victims, children of cow scenarios (their parents reap them at once).
    const a = await scenarioFor(t, "cow", [64]);
    const b = await scenarioFor(t, "cow", [64]);
    const victimEarly = a.children[0]!; // killed when select() sees it: after status, before maps
    const victimLate = b.children[0]!; // killed when select() sees a later pid: after maps, before pagemap
    const pids = [victimEarly, victimLate, a.pid, b.pid];
    const scan = await scanSystem(procfs, {
      pids,
      select: (info) => {
        if (info.pid === victimEarly) {
          a.signal(victimEarly, "SIGKILL");
          waitGone(victimEarly);
        } else if (info.pid === b.pid) {
          b.signal(victimLate, "SIGKILL");
          waitGone(victimLate);
        }
        return true;
      },
    });
    checkConsistent(scan, "killed mid-scan");
    assert.deepEqual([...scan.vanished].sort((x, y) => x - y), [victimEarly, victimLate].sort((x, y) => x - y), "both victims are in vanished");
    assert.deepEqual(
      scan.processes.map((p) => p.info.pid).sort((x, y) => x - y),
      [a.pid, b.pid].sort((x, y) => x - y),
      "only the survivors are listed",
    );
    for (const p of scan.processes) assert.equal(p.source, "pagemap", `survivor ${p.info.pid} read from pagemap`);
  });

  test("churn: a process killed while its page table is being read (reads in flight) ends up in vanished", { skip }, async (t) => {
    const first = await scenarioFor(t, "cow", [64]);
    // 2.5 GiB of zero-page mappings: 10 pagemap reads of 64 Ki entries, more than are ever in flight at once.
    const victim = await scenarioFor(t, "zero", [655360]);
    let killed = false;
    const scan = await scanSystem(procfs, {
      pids: [first.pid, victim.pid],
      onProgress: (done) => {
        if (done < 1 || killed) return;
        killed = true;
        victim.signal(victim.pid, "SIGKILL");
        waitDead(victim.pid);
      },
    });
    assert.ok(killed, "the victim was killed during the pass");
    checkConsistent(scan, "killed while read");
    assert.deepEqual(scan.vanished, [victim.pid], "the victim is in vanished");
    assert.deepEqual(
      scan.processes.map((p) => [p.info.pid, p.source]),
      [[first.pid, "pagemap"]],
      "the process read before it is intact",
    );
  });
}

/** Wait (synchronously) until `pid` is a zombie or gone: its page tables are then gone. */
function waitDead(pid: number, ms = 3000): void {
  const until = Date.now() + ms;
  const state = (): string | undefined => {
    try {
      return /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    } catch {
      return undefined;
    }
  };
  while (Date.now() < until) {
    const st = state();
    if (st === undefined || st === "Z" || st === "X") return;
    sleepSync(2);
  }
  assert.fail(`pid ${pid} still alive after SIGKILL`);
}
