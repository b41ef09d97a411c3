/**
 * Live: states of the running machine through the CLI, as root.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { liveSkipReason, pidExists, runCli } from "../support/scenario.js";

const skip = liveSkipReason();

test("live: ps --pid of a pid that never existed says no such process (exit 4), not 'exited'", { skip }, () => {
  let pid = 4_000_000;
  while (pidExists(pid)) pid--;
  const r = runCli(["ps", "--pid", String(pid)]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, new RegExp(`^pagelens: no such process: ${pid}$`, "m"));
  assert.doesNotMatch(r.stdout + r.stderr, /exited/);
});

test("live: a process that refuses even root (maps PID): exit 5, the reason said once", { skip }, (t) => {
  let refused: number | undefined;
  for (const pid of [1]) {
    try {
      fs.readFileSync(`/proc/${pid}/maps`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EACCES") refused = pid;
    }
  }
  if (refused === undefined) return t.skip("no process here refuses root");
  const r = runCli(["maps", String(refused)]);
  assert.equal(r.code, 5, r.stderr);
  assert.equal(r.stderr, `pagelens: cannot read process ${refused}: permission denied: /proc/${refused}/maps (the process refuses ptrace read access even to root: it is not dumpable, or a security module denies it)\n`);
  const ps = runCli(["ps"]);
  assert.equal(ps.code, 0, ps.stderr);
  assert.match(ps.stderr, /^pagelens: note: \d+ process(es)? refuses? ptrace read access even to root/m);
  assert.doesNotMatch(ps.stdout, /exited during the scan/, "notes are on stderr only");
});

test("live: maps of a kernel thread says it has no user memory", { skip }, () => {
  const r = runCli(["maps", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.split("\n")[0]!, /^2 \[kthreadd\] \(root\): kernel thread or zombie, no user memory$/);
  assert.doesNotMatch(r.stdout, /numbers from none/);
});
