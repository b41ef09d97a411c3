/**
 * pagelens wss against a real process that uses a known number of pages per
 * interval (test/support/c/toucher.c: TOTAL resident, mlocked pages, of
 * which it touches exactly the first HOT every 50 ms).
 *
 * This kernel has neither idle page tracking nor soft-dirty, so the method
 * measured live is the accessed bits (clear_refs 1 + smaps Referenced); the
 * others are tested on fixture trees (test/fixture/wss.test.ts), and here only
 * for the message a kernel without them gives.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { compileC, liveSkipReason, readSmapsVmaKb, REPO_ROOT, runCli, Scenario, startProgram } from "../support/scenario.js";

const skip = liveSkipReason();
const TOTAL = 25_600; // 100 MiB
const HOT = 2_560; // 10 MiB
const PAGE = 4096;
const SOURCE = path.join(REPO_ROOT, "test", "support", "c", "toucher.c");
async function startToucher(t: { after: (fn: () => Promise<void> | void) => void }): Promise<Scenario> {
  const s = await startProgram(compileC(SOURCE), [TOTAL, HOT, 50], { label: "toucher", env: { TOUCHER_TIMEOUT: "120" } });
  t.after(() => s.stop());
  return s;
}

interface JsonLine {
  type: string;
  processes?: { pid: number; state: string; used: number; resident: number; mappings: { start: string; used: number; resident: number }[] | null }[];
  summary?: { median: number; intervals: number }[];
  method?: string;
}

const lines = (stdout: string): JsonLine[] => stdout.trim().split("\n").map((l) => JSON.parse(l) as JsonLine);

test("wss: the accessed bits see exactly the pages touched in each interval", { skip }, async (t) => {
  const s = await startToucher(t);
  const addr = s.addr("addr").toString(16);
  const r = runCli(["wss", String(s.pid), "--reset", "--interval", "1", "--count", "3", "--mappings", "5", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  assert.deepEqual(out.map((l) => l.type), ["interval", "interval", "interval", "summary"]);
  for (const iv of out.slice(0, 3)) {
    const p = iv.processes![0]!;
    const buffer = p.mappings!.find((m) => m.start === addr);
    assert.ok(buffer, `the buffer mapping ${addr} is among the top mappings: ${JSON.stringify(p.mappings)}`);
    assert.equal(buffer.used, HOT * PAGE, "the hot pages, all of them and no other page of the buffer");
    assert.equal(buffer.resident, TOTAL * PAGE);
    // The rest is the program's own code, stack and libc. Library pages count when any process on
    // the machine used them (a page's referenced state is its own, not this mapping's), so on a busy
    // machine that part is bounded only by what the rest has resident.
    assert.ok(p.used >= HOT * PAGE, `process used ${p.used / PAGE} pages`);
    assert.ok(p.used - buffer.used <= p.resident - buffer.resident, `the rest used ${(p.used - buffer.used) / PAGE} of its ${(p.resident - buffer.resident) / PAGE} resident pages`);
  }
  assert.equal(out[3]!.method, "accessed");
  assert.equal(out[3]!.summary![0]!.intervals, 3);
});

test("wss: without --reset nothing is reset, and the command says why it refuses", { skip }, async (t) => {
  const s = await startToucher(t);
  const before = readSmapsVmaKb(s.pid, s.addr("addr"));
  assert.equal(before?.["Referenced"], (TOTAL * PAGE) / 1024, "every page of the buffer is referenced since it was written");
  const r = runCli(["wss", String(s.pid), "--interval", "0.2", "--count", "1"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--reset/);
  assert.match(r.stderr, /reclaim/);
  assert.doesNotMatch(r.stderr, /at [a-zA-Z.]+ \(/, "no stack trace");
  const after = readSmapsVmaKb(s.pid, s.addr("addr"));
  assert.equal(after?.["Referenced"], (TOTAL * PAGE) / 1024, "the accessed bits were left alone");
});

test("wss: a process that exits mid-way is reported as exited, the others go on; bad pids and missing features exit with their codes", { skip }, async (t) => {
  const a = await startToucher(t);
  const b = await startToucher(t);
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "dist", "src", "cli", "main.js"), "wss", String(a.pid), String(b.pid), "--reset", "--interval", "0.5", "--count", "4", "--json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  setTimeout(() => void b.stop(), 1200);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  assert.equal(code, 0, stderr);
  const out = lines(stdout);
  assert.equal(out.filter((l) => l.type === "interval").length, 4);
  const states = out.filter((l) => l.type === "interval").map((l) => l.processes!.find((p) => p.pid === b.pid)?.state ?? "absent");
  assert.equal(states[0], "ok");
  assert.ok(states.includes("exited"), `b exited: ${states.join(",")}`);
  assert.ok(out.filter((l) => l.type === "interval").every((l) => l.processes!.find((p) => p.pid === a.pid)?.state === "ok"));
  assert.match(stderr, new RegExp(`process ${b.pid} exited during interval`));

  assert.equal(runCli(["wss", "999999", "--reset", "--count", "1"]).code, 4);
  const kthread = runCli(["wss", "2", "--reset", "--count", "1"]);
  assert.equal(kthread.code, 2);
  assert.match(kthread.stderr, /no user memory/);
  const kernel = fs.readFileSync("/proc/config.gz").length > 0 ? runCli(["kernel", "--json"]) : undefined;
  const softDirty = kernel ? (JSON.parse(kernel.stdout) as { features: { name: string; available: boolean }[] }).features.find((f) => f.name === "softDirty") : undefined;
  if (softDirty && !softDirty.available) {
    const sd = runCli(["wss", String(a.pid), "--method", "soft-dirty", "--reset", "--count", "1"]);
    assert.equal(sd.code, 3);
    assert.match(sd.stderr, /soft-dirty is not available here: kernel built without CONFIG_MEM_SOFT_DIRTY/);
  }
});
