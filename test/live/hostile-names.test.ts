/**
 * Live: names from /proc never drive the terminal. A process (and its forked
 * child) started as
 *   exec -a "$(printf 'x\033]0;pwned\007\033[2J\nline2')" hostile DIR COMM
 * with a comm holding an escape, a newline and a backslash (prctl), and a
 * shared file mapping whose path holds a newline, escape sequences and a
 * bidi override (test/support/c/hostile.c). Every command's table and --csv
 * output (and stderr) must be free of raw control characters, show the
 * names escaped, and JSON must carry the true names: comm as the kernel
 * holds it in /proc/PID/comm (not the escaped Name: of status).
 * Skipped unless root with kpagecount and a C compiler.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startHostile } from "../support/hostile.js";
import { liveSkipReason, makeTempDir, runCli } from "../support/scenario.js";

const skip = liveSkipReason();

/** What a terminal acts on: C0 controls but newline, DEL, C1, bidi controls, line separators, lone surrogates. */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;

const ARGV0 = "x\x1b]0;pwned\x07\x1b[2J\nline2";
/** 15 bytes: the kernel keeps at most 15. */
const COMM = "c\x1b[31m\n\\nq";
const FILE_NAME = "lib\n\x1b[2J\x1b]0;pwned\x07\u202eos.so";

interface Started {
  readonly pid: number;
  readonly child: number;
  readonly dir: string;
  readonly file: string;
}

async function startHostileHere(t: { after: (fn: () => void) => void }): Promise<Started> {
  const dir = makeTempDir("pagelens-hostile-");
  const h = await startHostile(dir, ARGV0, COMM);
  t.after(h.kill);
  return { pid: h.pid, child: h.child, dir, file: path.join(dir, FILE_NAME) };
}

/** Run, insist on exit 0, and check stdout and stderr for raw control characters. */
function clean(args: readonly string[]): string {
  const r = runCli(args, { timeoutMs: 180_000 });
  assert.equal(r.code, 0, `pagelens ${args.join(" ")}: ${r.stderr}`);
  const bad = RAW_CONTROL.exec(r.stdout);
  assert.equal(bad, null, `pagelens ${args.join(" ")}: raw ${JSON.stringify(bad?.[0])} in stdout near ${JSON.stringify(r.stdout.slice(Math.max(0, (bad?.index ?? 0) - 60), (bad?.index ?? 0) + 20))}`);
  assert.equal(RAW_CONTROL.exec(r.stderr), null, `pagelens ${args.join(" ")}: raw control in stderr`);
  return r.stdout;
}

/** Tables: besides no raw controls, no line of the output may start with what followed a newline in a name. */
function table(args: readonly string[]): string {
  const out = clean(args);
  assert.doesNotMatch(out, /^line2/m, `pagelens ${args.join(" ")}: a newline in a name split a row`);
  assert.doesNotMatch(out, /^\\?nq/m, `pagelens ${args.join(" ")}: a newline in comm split a row`);
  return out;
}

const ARGV0_SHOWN = "x\\x1b]0;pwned\\x07\\x1b[2J\\nline2";
const COMM_SHOWN = "c\\x1b[31m\\n\\\\nq";
const FILE_SHOWN = "lib\\n\\x1b[2J\\x1b]0;pwned\\x07\\u202eos.so";

test("hostile names: every table and CSV shows them escaped and emits no control character; JSON has the true names", { skip }, async (t) => {
  const h = await startHostileHere(t);
  const pids = `${h.pid},${h.child}`;
  // The kernel's own view: comm holds the raw bytes (newline included), status escapes only \n and \\.
  assert.equal(fs.readFileSync(`/proc/${h.pid}/comm`, "utf8"), COMM + "\n");

  const ps = table(["ps", "--pid", pids]);
  assert.ok(ps.includes(ARGV0_SHOWN), ps);
  table(["ps"]);
  table(["ps", "--pid", pids, "--wide"]);
  const csv = clean(["ps", "--csv", "--pid", pids]);
  assert.ok(csv.includes(',"x\\x1b]0;pwned\\x07\\x1b[2J\nline2 '), `CSV keeps the newline (quoted) and shows the escape: ${csv}`);

  const maps = table(["maps", String(h.pid)]);
  assert.ok(maps.includes(FILE_SHOWN), maps);
  assert.ok(maps.split("\n")[0]!.includes(ARGV0_SHOWN), "the heading names the command, escaped");
  clean(["maps", String(h.pid), "--csv"]);
  table(["maps", String(h.pid), "--sort", "rss", "--wide"]);

  const pages = table(["pages", String(h.pid)]);
  assert.ok(pages.includes(FILE_SHOWN));
  clean(["pages", String(h.pid), "--csv"]);

  const flags = table(["flags", "--pid", String(h.pid)]);
  assert.ok(flags.includes(ARGV0_SHOWN));
  clean(["flags", "--pid", String(h.pid), "--csv"]);

  const libs = table(["libs", "--path", "pagelens-hostile"]);
  assert.ok(libs.includes(FILE_SHOWN), libs);
  assert.ok(libs.includes(ARGV0_SHOWN), libs);
  clean(["libs", "--path", "pagelens-hostile", "--csv"]);

  const shares = table(["shares", "--pid", pids, "--groups"]);
  assert.ok(shares.includes(ARGV0_SHOWN));
  clean(["shares", "--pid", pids, "--csv"]);

  const groups = table(["groups", "--by", "command"]);
  assert.ok(groups.includes(COMM_SHOWN), "groups by command name the comm, escaped");
  table(["groups", "--pids", pids]);
  clean(["groups", "--csv"]);

  const file = table(["file", h.file]);
  assert.ok(file.includes(FILE_SHOWN), file);
  table(["file", h.dir]);
  clean(["file", h.dir, "--csv"]);

  table(["system"]);
  table(["kernel"]);

  // JSON: the true names.
  const doc = JSON.parse(runCli(["ps", "--json", "--pid", pids]).stdout) as { processes: { pid: number; comm: string; command: string }[] };
  const me = doc.processes.find((p) => p.pid === h.pid)!;
  assert.equal(me.comm, COMM, "comm is the bytes of /proc/PID/comm");
  assert.ok(me.command.startsWith(ARGV0), "the command line is the true argv");
  const mj = JSON.parse(runCli(["maps", String(h.pid), "--json"]).stdout) as { mappings: { name: string }[] };
  assert.ok(mj.mappings.some((m) => m.name === h.file), "maps --json has the true path");
});
