/**
 * Shared helpers for `npm run bench`: locating the repository and the shared
 * C floors, building C programs, timing commands alternately, measuring a
 * child's peak RSS, running a memory workload (and always tearing it down),
 * statistics and printing.
 *
 * Everything here is synchronous where timing matters (spawnSync: no event
 * loop between spawn and exit) and asynchronous only where waiting is the
 * point (workload readiness). Suites import from this module (and the scale
 * suite from its case helpers in bench/scale/); they do not import from src/
 * (pagelens is benchmarked as a command, like the floor). The one exception is
 * bench/scale/repeat-scan.ts, a child process that times the library itself.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

// ---------------------------------------------------------------------------
// Locations

/** The repository root: the nearest directory above this file holding pagelens's package.json. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, "utf8")) as { name?: string }).name === "pagelens") return dir;
      } catch {
        // not ours; keep climbing
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error("bench: cannot find the pagelens repository root above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/**
 * The shared bench directory, where the C floors and the reference workload
 * live (beside the repository, never copied into it): $BENCH_SHARED_DIR when
 * set, else the first `shared/bench` found beside the repository or beside
 * one of its parent directories (`<repo>/../shared/bench` for a main checkout,
 * `<repo>/../../shared/bench` for a worktree under `wt/`); undefined when absent.
 */
export function sharedBenchDir(root = repoRoot()): string | undefined {
  const forced = process.env["BENCH_SHARED_DIR"];
  if (forced) return fs.existsSync(forced) ? path.resolve(forced) : undefined;
  for (let dir = path.resolve(root); ; ) {
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    const candidate = path.join(up, "shared", "bench");
    if (fs.existsSync(candidate)) return candidate;
    dir = up;
  }
}

/** A file in the shared bench directory, or undefined when it (or the directory) is absent. */
export function sharedFile(name: string, root = repoRoot()): string | undefined {
  const dir = sharedBenchDir(root);
  if (dir === undefined) return undefined;
  const f = path.join(dir, name);
  return fs.existsSync(f) ? f : undefined;
}

/**
 * The pagelens executable as users run it: $BENCH_PAGELENS when set (a path,
 * relative to the repository root or absolute), else package.json's
 * `bin.pagelens` when that file has been built (e.g. a bundle), else
 * dist/src/cli/main.js.
 */
export function pagelensEntry(root = repoRoot()): string {
  const forced = process.env["BENCH_PAGELENS"];
  if (forced) {
    const f = path.resolve(root, forced);
    if (!fs.existsSync(f)) throw new Error(`bench: BENCH_PAGELENS=${forced}: ${f} does not exist`);
    return f;
  }
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { bin?: string | Record<string, string> };
    const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin?.["pagelens"];
    if (bin !== undefined && fs.existsSync(path.join(root, bin))) return path.join(root, bin);
  } catch {
    // fall back to the compiled entry point
  }
  const main = path.join(root, "dist", "src", "cli", "main.js");
  if (!fs.existsSync(main)) throw new Error(`bench: ${main} is missing; build first (npm run build)`);
  return main;
}

/** argv running the built pagelens CLI (see pagelensEntry) with the same Node as the bench. */
export function pagelensArgv(args: readonly string[], root = repoRoot()): string[] {
  return [process.execPath, pagelensEntry(root), ...args];
}

// ---------------------------------------------------------------------------
// Cleanup: temp directory, workloads, signals

const cleanups: (() => void)[] = [];
let handlersInstalled = false;

function runCleanups(): void {
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      fn();
    } catch {
      // best effort: keep cleaning
    }
  }
}

/**
 * Register a synchronous cleanup, run (last registered first) on normal exit,
 * on an uncaught error and on SIGINT/SIGTERM/SIGHUP. Returns a function that
 * unregisters it (call it once the resource has been released normally).
 */
export function onCleanup(fn: () => void): () => void {
  if (!handlersInstalled) {
    handlersInstalled = true;
    process.on("exit", runCleanups);
    for (const [sig, num] of [
      ["SIGINT", 2],
      ["SIGTERM", 15],
      ["SIGHUP", 1],
    ] as const) {
      process.on(sig, () => {
        process.stderr.write(`\nbench: ${sig}: cleaning up\n`);
        runCleanups();
        process.exit(128 + num);
      });
    }
  }
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

let tmp: string | undefined;

/** A private temporary directory for this bench run, removed at exit. */
export function benchTmpDir(): string {
  if (tmp === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pagelens-bench-"));
    tmp = dir;
    onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return tmp;
}

// ---------------------------------------------------------------------------
// Building C

const built = new Map<string, string>();

/**
 * Compile one C file with `cc -O2` (or $CC) into the bench's temp directory
 * and return the executable's path. Built once per bench run per source.
 * Throws with the compiler's output when compilation fails.
 */
export function buildC(sourcePath: string, extraFlags: readonly string[] = []): string {
  const src = path.resolve(sourcePath);
  const key = [src, ...extraFlags].join("\0");
  const done = built.get(key);
  if (done !== undefined) return done;
  const dir = fs.mkdtempSync(path.join(benchTmpDir(), "cc-"));
  const out = path.join(dir, path.basename(src).replace(/\.c$/, ""));
  const cc = process.env["CC"] || "cc";
  const r = spawnSync(cc, ["-O2", "-o", out, src, ...extraFlags], { encoding: "utf8" });
  if (r.error) throw new Error(`bench: cannot run ${cc}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`bench: ${cc} -O2 ${src} failed (exit ${r.status}):\n${r.stderr}`);
  built.set(key, out);
  return out;
}

/** Compile C source text (the bench's own small helpers) like buildC; `name` names the executable. */
export function buildCSource(name: string, code: string): string {
  const file = path.join(benchTmpDir(), `${name}.c`);
  fs.writeFileSync(file, code);
  return buildC(file);
}

// ---------------------------------------------------------------------------
// Running and timing commands

export interface RunResult {
  /** Wall time from spawn to exit, in milliseconds. */
  readonly ms: number;
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** File holding the command's stdout, when one was asked for. */
  readonly stdoutFile: string | undefined;
}

/** A command that ran past its time limit (and was killed with SIGKILL). */
export class CommandTimeout extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly timeoutMs: number,
  ) {
    super(`bench: ${argv.join(" ")} ran past its time limit of ${fmtMs(timeoutMs)} and was killed`);
  }
}

/**
 * Run `argv` to completion and time it (wall clock, spawn to exit). stdout
 * goes to `stdoutFile` (truncated first) or /dev/null; stderr is captured.
 * Throws when the command cannot start, exits non-zero or dies of a signal,
 * and CommandTimeout when it runs longer than `timeoutMs` (it is then killed
 * with SIGKILL; only the command itself, so time single processes this way).
 */
export function runTimed(argv: readonly string[], stdoutFile?: string, timeoutMs?: number): RunResult {
  const out = fs.openSync(stdoutFile ?? "/dev/null", "w");
  try {
    const t0 = performance.now();
    const r = spawnSync(argv[0]!, argv.slice(1), {
      stdio: ["ignore", out, "pipe"],
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      ...(timeoutMs !== undefined ? { timeout: timeoutMs, killSignal: "SIGKILL" as const } : {}),
    });
    const ms = performance.now() - t0;
    if (timeoutMs !== undefined && (r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT") throw new CommandTimeout(argv, timeoutMs);
    if (r.error) throw new Error(`bench: cannot run ${argv.join(" ")}: ${r.error.message}`);
    if (r.status !== 0)
      throw new Error(`bench: ${argv.join(" ")} failed (${r.signal ? `signal ${r.signal}` : `exit ${r.status}`}):\n${r.stderr.slice(-4000)}`);
    return { ms, status: r.status, signal: r.signal, stderr: r.stderr, stdoutFile };
  } finally {
    fs.closeSync(out);
  }
}

export interface AlternatingOptions {
  /** The two commands, run a, b, a, b, ... */
  readonly a: readonly string[];
  readonly b: readonly string[];
  /** Timed runs of each (after the warm-up). */
  readonly runs: number;
  /** Untimed warm-up runs of each before timing (default 1). */
  readonly warmup?: number;
  /** Keep the stdout of each command's last run in these files (default: /dev/null). */
  readonly aStdout?: string;
  readonly bStdout?: string;
  /** Called after every timed run (for progress output). */
  readonly onRun?: (which: "a" | "b", index: number, ms: number) => void;
}

/**
 * Time two commands alternately (a, b, a, b, ...), so that drift in the
 * machine's state (page cache, other load) hits both alike. Warm-up runs are
 * discarded. Returns the wall times in milliseconds, in run order.
 */
export function timeAlternating(o: AlternatingOptions): { aMs: number[]; bMs: number[] } {
  const t = timeInTurn({
    commands: [
      { argv: o.a, stdoutFile: o.aStdout },
      { argv: o.b, stdoutFile: o.bStdout },
    ],
    runs: o.runs,
    warmup: o.warmup,
    onRun: o.onRun ? (i, run, ms) => o.onRun!(i === 0 ? "a" : "b", run, ms) : undefined,
  });
  return { aMs: t.ms[0]!, bMs: t.ms[1]! };
}

export interface InTurnCommand {
  readonly argv: readonly string[];
  /** Keep the stdout of the last run here (default: /dev/null). */
  readonly stdoutFile?: string;
}

export interface InTurnOptions {
  /** Run in turn: c0, c1, c2, c0, c1, c2, ... */
  readonly commands: readonly InTurnCommand[];
  /** Timed runs of each (after the warm-up). */
  readonly runs: number;
  /** Untimed warm-up runs of each before timing (default 1). */
  readonly warmup?: number;
  /**
   * Per-run time limit. A command that exceeds it (warm-up included) is
   * killed, marked timed out and not run again, so a slow command cannot hold
   * the bench up for runs x its time; the others carry on.
   */
  readonly timeoutMs?: number;
  /** Called after every timed run with the command's index. */
  readonly onRun?: (command: number, run: number, ms: number) => void;
}

/**
 * Time several commands in turn (the generalisation of timeAlternating to
 * more than two, with a per-run time limit). Returns each command's wall
 * times in ms, in run order, and whether it timed out (then its list holds
 * only the runs that finished in time, possibly none).
 */
export function timeInTurn(o: InTurnOptions): { ms: number[][]; timedOut: boolean[] } {
  const ms = o.commands.map((): number[] => []);
  const timedOut = o.commands.map(() => false);
  const once = (i: number): number | undefined => {
    if (timedOut[i]) return undefined;
    const c = o.commands[i]!;
    try {
      return runTimed(c.argv, c.stdoutFile, o.timeoutMs).ms;
    } catch (err) {
      if (!(err instanceof CommandTimeout)) throw err;
      timedOut[i] = true;
      return undefined;
    }
  };
  for (let w = 0; w < (o.warmup ?? 1); w++) for (let i = 0; i < o.commands.length; i++) once(i);
  for (let run = 0; run < o.runs; run++) {
    for (let i = 0; i < o.commands.length; i++) {
      const t = once(i);
      if (t === undefined) continue;
      ms[i]!.push(t);
      o.onRun?.(i, run, t);
    }
  }
  return { ms, timedOut };
}

/**
 * Time one command `runs` times after `warmup` (default 1) discarded runs;
 * wall times in ms. stdout of the last run is kept in `stdoutFile` if given.
 */
export function timeRepeated(
  argv: readonly string[],
  runs: number,
  o: { warmup?: number; stdoutFile?: string; onRun?: (index: number, ms: number) => void } = {},
): number[] {
  for (let i = 0; i < (o.warmup ?? 1); i++) runTimed(argv, o.stdoutFile);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = runTimed(argv, o.stdoutFile).ms;
    ms.push(t);
    o.onRun?.(i, t);
  }
  return ms;
}

// ---------------------------------------------------------------------------
// Peak RSS

export type PeakRssMethod = "gnu-time" | "wait4" | "python";

const WAIT4_WRAPPER = `/* pagelens bench: run a command, write its peak RSS (KiB, from wait4) to a file. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s OUTFILE COMMAND [ARGS...]\\n", argv[0]); return 2; }
  pid_t p = fork();
  if (p < 0) { perror("fork"); return 1; }
  if (p == 0) { execvp(argv[2], argv + 2); perror("execvp"); _exit(127); }
  int st; struct rusage ru;
  if (wait4(p, &st, 0, &ru) < 0) { perror("wait4"); return 1; }
  FILE *f = fopen(argv[1], "w");
  if (!f) { perror(argv[1]); return 1; }
  fprintf(f, "%ld\\n", ru.ru_maxrss);
  fclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
`;

const PY_WRAPPER =
  "import resource,subprocess,sys\n" +
  "r=subprocess.run(sys.argv[2:],stdout=subprocess.DEVNULL)\n" +
  "open(sys.argv[1],'w').write('%d\\n'%resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n" +
  "sys.exit(r.returncode if r.returncode>=0 else 128-r.returncode)\n";

function onPath(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** The first usable peak-RSS method: GNU time, else a wait4() wrapper built with cc, else python3. */
export function defaultPeakRssMethod(): PeakRssMethod {
  if (fs.existsSync("/usr/bin/time") && spawnSync("/usr/bin/time", ["-f", "%M", "true"], { stdio: "ignore" }).status === 0) return "gnu-time";
  if (onPath(process.env["CC"] || "cc")) return "wait4";
  if (onPath("python3")) return "python";
  throw new Error("bench: no way to measure peak RSS (need /usr/bin/time, cc or python3)");
}

/**
 * Peak resident set size (ru_maxrss, KiB) of one run of `argv` (its stdout
 * discarded). With GNU time that is `/usr/bin/time -f %M`; otherwise a tiny
 * wait4() wrapper built with cc, or python3's getrusage(RUSAGE_CHILDREN).
 */
export function peakRssKiB(
  argv: readonly string[],
  method: PeakRssMethod = defaultPeakRssMethod(),
  timeoutMs?: number,
): { kib: number; method: PeakRssMethod } {
  const outFile = path.join(benchTmpDir(), `maxrss-${process.pid}-${Date.now()}`);
  // With a time limit, coreutils' timeout runs the command under the wrapper, so that
  // the command itself (not only the wrapper) is killed; its peak RSS still reaches the
  // wrapper through wait4 (ru_maxrss covers waited-for descendants).
  const limited = timeoutMs === undefined ? argv : ["timeout", "-s", "KILL", `${Math.ceil(timeoutMs / 1000)}`, ...argv];
  let wrapped: string[];
  if (method === "gnu-time") wrapped = ["/usr/bin/time", "-f", "%M", "-o", outFile, ...limited];
  else if (method === "wait4") wrapped = [buildCSource("maxrss", WAIT4_WRAPPER), outFile, ...limited];
  else wrapped = ["python3", "-c", PY_WRAPPER, outFile, ...limited];
  try {
    runTimed(wrapped, undefined, timeoutMs === undefined ? undefined : timeoutMs + 10_000);
  } catch (err) {
    // timeout(1) kills with SIGKILL: the wrappers report that as exit 137 (or a signal).
    if (timeoutMs !== undefined && err instanceof Error && /exit 137|signal SIGKILL|exit 124/.test(err.message)) throw new CommandTimeout(argv, timeoutMs);
    throw err;
  }
  const text = fs.readFileSync(outFile, "utf8").trim();
  fs.rmSync(outFile, { force: true });
  const kib = Number(text.split(/\s+/).pop());
  if (!Number.isFinite(kib) || kib <= 0) throw new Error(`bench: unexpected peak RSS output from ${method}: ${JSON.stringify(text)}`);
  return { kib, method };
}

/**
 * Peak RSS over several runs (it varies with garbage-collection timing):
 * every run's KiB, and the max, which is what a target should be held to.
 */
export function peakRssRuns(
  argv: readonly string[],
  runs: number,
  method: PeakRssMethod = defaultPeakRssMethod(),
  timeoutMs?: number,
): { kib: number[]; max: number; method: PeakRssMethod } {
  const kib: number[] = [];
  for (let i = 0; i < runs; i++) kib.push(peakRssKiB(argv, method, timeoutMs).kib);
  return { kib, max: Math.max(...kib), method };
}

// ---------------------------------------------------------------------------
// /proc helpers

/** A /proc/PID/status field in KiB (e.g. "VmRSS"), or undefined when the process is gone or a zombie. */
export function statusKiB(pid: number, field: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The 1-, 5- and 15-minute load averages. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = fs.readFileSync("/proc/loadavg", "utf8").split(" ").map(Number);
  return [a ?? 0, b ?? 0, c ?? 0];
}

function cpuJiffies(): { busy: number; own: number; ncpu: number } {
  const stat = fs.readFileSync("/proc/stat", "utf8");
  const cpu = (/^cpu (.*)$/m.exec(stat)?.[1] ?? "").trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const busy = (cpu[0] ?? 0) + (cpu[1] ?? 0) + (cpu[2] ?? 0) + (cpu[5] ?? 0) + (cpu[6] ?? 0) + (cpu[7] ?? 0);
  // utime stime cutime cstime of this process: its threads and every child it has waited for.
  const self = statFields(process.pid) ?? [];
  const own = Number(self[11] ?? 0) + Number(self[12] ?? 0) + Number(self[13] ?? 0) + Number(self[14] ?? 0);
  return { busy, own, ncpu: (stat.match(/^cpu\d+ /gm) ?? []).length || 1 };
}

/**
 * Start measuring how busy the machine is with work that is not ours. The
 * returned function gives, since the start, the CPU used by other processes
 * and by this bench (itself plus the children it has waited for, e.g. every
 * timed command) as a percentage of all CPUs. Other processes' share is the
 * noise indicator: above ~10% timings are disturbed. Children not yet waited
 * for (a running workload) count as "others", so measure around timing loops,
 * not around workload start-up.
 */
export function startCpuMeter(): () => { othersPct: number; oursPct: number } {
  const a = cpuJiffies();
  const t0 = performance.now();
  return () => {
    const b = cpuJiffies();
    // Both in USER_HZ (100 per second) ticks.
    const capacity = ((performance.now() - t0) / 1000) * 100 * a.ncpu;
    const ours = b.own - a.own;
    const others = Math.max(0, b.busy - a.busy - ours);
    return { othersPct: capacity > 0 ? (100 * others) / capacity : 0, oursPct: capacity > 0 ? (100 * ours) / capacity : 0 };
  };
}

/** MemAvailable from /proc/meminfo, in KiB. */
export function memAvailableKiB(): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync("/proc/meminfo", "utf8"));
  return m ? Number(m[1]) : 0;
}

function statFields(pid: number): string[] | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses. Index 0 here is field 3 (state).
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** A process's start time (field 22 of /proc/PID/stat, clock ticks since boot): with the pid, a unique identity. */
export function startTimeOf(pid: number): number | undefined {
  const f = statFields(pid);
  return f === undefined ? undefined : Number(f[19]);
}

/**
 * Is `pid` alive and not a zombie? With `startTime`, also: is it still the
 * same process (guards against pid reuse before sending a signal)?
 */
export function isAlive(pid: number, startTime?: number): boolean {
  const f = statFields(pid);
  if (f === undefined || f[0] === "Z" || f[0] === "X") return false;
  return startTime === undefined || Number(f[19]) === startTime;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Block the whole process for `ms` (for cleanup paths that must stay synchronous, e.g. on exit). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Every live descendant of `pid` (children, grandchildren, ...), from the ppid field of /proc/PID/stat. */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f === undefined) continue;
    const ppid = Number(f[1]);
    let list = children.get(ppid);
    if (list === undefined) children.set(ppid, (list = []));
    list.push(Number(name));
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    for (const c of children.get(todo.pop()!) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

/**
 * A group of processes the bench started (a server and what it forked),
 * remembered by pid and start time so that a signal never reaches a process
 * that merely reused one of their pids.
 */
export class ProcessGroup {
  private readonly known = new Map<number, number | undefined>();

  constructor(readonly leader: number) {
    this.known.set(leader, startTimeOf(leader));
  }

  /** Remember the leader's current descendants (call it whenever they may have changed). */
  refresh(): void {
    if (!isAlive(this.leader, this.known.get(this.leader))) return;
    for (const p of descendantsOf(this.leader)) if (!this.known.has(p)) this.known.set(p, startTimeOf(p));
  }

  /** The live members: the leader and every descendant seen so far. */
  alive(): number[] {
    return [...this.known].filter(([p, st]) => isAlive(p, st)).map(([p]) => p);
  }

  signalLeader(sig: NodeJS.Signals): void {
    if (isAlive(this.leader, this.known.get(this.leader))) safeKill(this.leader, sig);
  }

  /** SIGKILL every live member. */
  killAll(): void {
    this.refresh();
    for (const p of this.alive()) safeKill(p, "SIGKILL");
  }

  /** Wait up to `ms` for every member to be gone; true if they are. */
  async waitGone(ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (performance.now() < deadline) {
      if (this.alive().length === 0) return true;
      await sleep(50);
    }
    return this.alive().length === 0;
  }

  /** Synchronous twin of waitGone, for exit handlers. */
  waitGoneSync(ms: number): boolean {
    const deadline = performance.now() + ms;
    while (performance.now() < deadline) {
      if (this.alive().length === 0) return true;
      sleepSync(50);
    }
    return this.alive().length === 0;
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it). */
export async function freeLoopbackPort(): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error("bench: no free loopback port"))));
    });
  });
}

/**
 * Make sure a Debian package is installed: `present()` says whether what the
 * bench needs is there; if not, `apt-get install` it (after `apt-get update`
 * when the first attempt fails). Returns undefined when it is usable, else
 * a plain sentence saying why not (the case is then skipped with it).
 * BENCH_NO_INSTALL=1 forbids installing.
 */
export function ensureDebianPackage(pkg: string, present: () => boolean, log: (line: string) => void = note): string | undefined {
  if (present()) return undefined;
  if (process.env["BENCH_NO_INSTALL"]) return `Debian package ${pkg} is not installed and BENCH_NO_INSTALL is set`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) return `Debian package ${pkg} is not installed and installing it needs root`;
  if (!onPath("apt-get")) return `Debian package ${pkg} is not installed and there is no apt-get on this machine`;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  // Wait for another apt/dpkg (other helpers share the machine) instead of failing at once.
  const install = (): ReturnType<typeof spawnSync> =>
    spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends", pkg], { env, encoding: "utf8", maxBuffer: 64 << 20 });
  log(`installing Debian package ${pkg} (apt-get install)`);
  let r = install();
  if (r.status !== 0) {
    log(`apt-get install ${pkg} failed; running apt-get update and trying again`);
    spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=300", "update"], { env, stdio: "ignore" });
    r = install();
  }
  if (r.status !== 0) {
    const why = String(r.stderr ?? "").trim().split("\n").slice(-3).join(" / ");
    return `Debian package ${pkg} is not installed and apt-get install failed (exit ${r.status}): ${why}`;
  }
  return present() ? undefined : `apt-get installed ${pkg} but what the bench needs from it is still missing`;
}

// ---------------------------------------------------------------------------
// Workload

export interface WorkloadSpec {
  readonly nproc: number;
  readonly privateMiB: number;
  readonly sharedMiB: number;
}

export interface WorkloadCommand {
  readonly argv: string[];
  /** Where it came from, for the report ("../shared/bench/workload.c", ...). */
  readonly source: string;
}

/** The reference workload of the issues: 8 processes x 512 MiB private + 1 GiB shared. */
export const REFERENCE_WORKLOAD = { nproc: 8, privateMiB: 512, sharedMiB: 1024 } as const;

/**
 * The workload generator to use: `../shared/bench/workload.c` when present,
 * else the project's own `test/support/c/memscenario.c` in `workload` mode;
 * undefined when neither exists. Builds it with cc -O2.
 * `lifetimeSec` bounds how long a leaked workload.c could outlive the bench.
 */
export function resolveWorkload(spec: WorkloadSpec, lifetimeSec = 3600, root = repoRoot()): WorkloadCommand | undefined {
  const nums = [spec.nproc, spec.privateMiB, spec.sharedMiB].map(String);
  const shared = sharedFile("workload.c", root);
  if (shared !== undefined) return { argv: [buildC(shared), ...nums, String(lifetimeSec)], source: "../shared/bench/workload.c" };
  const own = path.join(root, "test", "support", "c", "memscenario.c");
  if (fs.existsSync(own)) return { argv: [buildC(own), "workload", ...nums], source: "test/support/c/memscenario.c workload" };
  return undefined;
}

export interface Workload {
  readonly pid: number;
  /** The worker processes (the ones holding the memory), as the generator printed them. */
  readonly children: readonly number[];
  /** Per-child VmRSS (KiB) when it was declared settled. */
  readonly settledRssKiB: readonly number[];
  /** Whether every child reached the expected RSS (false: it stopped growing below it). */
  readonly reachedExpected: boolean;
  readonly settleMs: number;
  /** Terminate children (by pid) and the generator; waits for them to go. Idempotent. */
  stop(): Promise<void>;
}

export interface StartWorkloadOptions {
  readonly argv: readonly string[];
  /** Each child's expected VmRSS in KiB when fully touched (e.g. (private + shared) MiB * 1024). */
  readonly expectedChildRssKiB?: number;
  /** Give up waiting for READY / settling after this long (default 180 s). */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

/**
 * Start a memory workload generator and wait until it is ready to measure.
 * The generator prints its children's pids (one per line, bare or as
 * `child=PID`) and then `READY`. Children may still be touching memory after
 * READY, so this also waits until every child's VmRSS has reached
 * `expectedChildRssKiB` (99%) and stopped growing, or has stopped growing for
 * 5 s. The generator's stdin is a pipe that stop() closes (memscenario exits
 * then); stop() also sends SIGTERM to every child and the generator by pid,
 * then SIGKILL to stragglers. A cleanup hook kills everything (SIGKILL) if
 * the bench exits or is interrupted first.
 */
export async function startWorkload(o: StartWorkloadOptions): Promise<Workload> {
  const log = o.log ?? (() => {});
  const timeoutMs = o.timeoutMs ?? 180_000;
  const t0 = performance.now();
  const child: ChildProcess = spawn(o.argv[0]!, o.argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  const pid = child.pid;
  if (pid === undefined) {
    await new Promise((r) => child.once("error", r));
    throw new Error(`bench: cannot start workload ${o.argv.join(" ")}`);
  }
  const children: number[] = [];
  const startTimes = new Map<number, number | undefined>();
  let exited: string | undefined;
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.once("exit", (code, sig) => (exited = sig ? `signal ${sig}` : `exit ${code}`));

  const kill = (sig: NodeJS.Signals): void => {
    for (const c of children) if (isAlive(c, startTimes.get(c))) safeKill(c, sig);
    if (exited === undefined) safeKill(pid, sig);
  };
  const unregister = onCleanup(() => kill("SIGKILL"));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    child.stdin?.end();
    kill("SIGTERM");
    const deadline = performance.now() + 5000;
    while (performance.now() < deadline && (exited === undefined || children.some((c) => isAlive(c, startTimes.get(c))))) await sleep(50);
    kill("SIGKILL");
    unregister();
  };

  try {
    // Children's pids, then READY.
    await new Promise<void>((resolve, reject) => {
      let buf = "";
      const timer = setTimeout(() => reject(new Error(`bench: workload printed no READY within ${timeoutMs} ms`)), timeoutMs);
      child.stdout!.setEncoding("utf8").on("data", (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          const m = /^(?:child=)?(\d+)$/.exec(line);
          if (m) {
            const c = Number(m[1]);
            children.push(c);
            // Children of our own child: a pid printed now cannot have been reused yet.
            startTimes.set(c, startTimeOf(c));
          }
          else if (line === "READY") {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      child.once("exit", () => {
        clearTimeout(timer);
        reject(new Error(`bench: workload exited (${exited}) before READY:\n${stderr.slice(-2000)}`));
      });
    });
    child.stdout!.resume(); // keep draining anything further
    log(`workload pid ${pid}: ${children.length} children, READY after ${((performance.now() - t0) / 1000).toFixed(1)} s; waiting for their RSS to settle`);

    // Wait for every child's RSS to settle.
    const expected = o.expectedChildRssKiB;
    let last = children.map(() => -1);
    let stableSince = performance.now();
    let reachedExpected = false;
    for (;;) {
      if (exited !== undefined) throw new Error(`bench: workload exited (${exited}) while settling:\n${stderr.slice(-2000)}`);
      const now = children.map((c) => statusKiB(c, "VmRSS") ?? 0);
      if (now.some((v, i) => v !== last[i])) stableSince = performance.now();
      last = now;
      const stableMs = performance.now() - stableSince;
      reachedExpected = expected !== undefined && now.every((v) => v >= 0.99 * expected);
      if (now.every((v) => v > 0) && ((reachedExpected && stableMs >= 500) || stableMs >= 5000)) break;
      if (performance.now() - t0 > timeoutMs) throw new Error(`bench: workload RSS did not settle within ${timeoutMs} ms (children KiB: ${now.join(" ")})`);
      await sleep(100);
    }
    const settleMs = performance.now() - t0;
    return { pid, children, settledRssKiB: last, reachedExpected, settleMs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function safeKill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------
// Statistics

/** Median of a non-empty list (mean of the middle two for even lengths). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Stats {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function stats(xs: readonly number[]): Stats {
  return { n: xs.length, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** Round for JSON output (keeps BENCH lines short). */
export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---------------------------------------------------------------------------
// Printing

/** Timing stats for the BENCH json line. */
export function statsJson(s: Stats): Record<string, number> {
  return { median: round(s.median), min: round(s.min), max: round(s.max), n: s.n };
}

/**
 * The verdict on a pagelens/floor timing: records the medians' ratio, the
 * median of per-pair ratios and the target in `data`, and returns the line
 * to print and put in the summary. `against` names what pagelens is compared
 * with (default "floor"; other names prefix the data keys, e.g. "smemRatio");
 * without a target the ratio is reported for information only.
 */
export function ratioVerdict(
  pl: Stats,
  fl: Stats,
  pairRatio: number,
  target: number | undefined,
  data: Record<string, unknown>,
  against = "floor",
): string {
  const ratio = pl.median / fl.median;
  const verdict = target === undefined ? "INFO" : ratio <= target ? "PASS" : "OVER";
  const key = (k: string): string => (against === "floor" ? k : against + k[0]!.toUpperCase() + k.slice(1));
  data[`${against}Ms`] = statsJson(fl);
  data[key("ratio")] = round(ratio, 3);
  data[key("ratioOfPairs")] = round(pairRatio, 3);
  data[key("ratioTarget")] = target ?? null;
  data[key("ratioVerdict")] = verdict;
  const goal = target === undefined ? "no target" : `target <= ${target}`;
  return `ratio pagelens/${against} (medians): ${ratio.toFixed(2)}  (median of per-pair ratios ${pairRatio.toFixed(2)}; ${goal}) ${verdict}`;
}

export function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 100 ? 1 : 0)} ms`;
}

export function fmtMiB(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

/** Left-align the first column and right-align the others. */
export function table(rows: readonly (readonly string[])[], indent = "  "): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd()).join("\n");
}

/** Print a line of progress/detail to stderr (stdout carries the results). */
export function note(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

/** Positive integer from an environment variable, or the default. */
export function envInt(name: string, dflt: number, min = 1): number {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`bench: ${name}=${v} is not an integer >= ${min}`);
  return n;
}

// ---------------------------------------------------------------------------
// Suites

export interface SuiteContext {
  readonly root: string;
  /** `<repo>/../shared/bench`, or undefined when absent. */
  readonly sharedDir: string | undefined;
  /** Timed runs per command (BENCH_RUNS, default 7, at least 5 recommended). */
  readonly runs: number;
}

export interface SuiteResult {
  /** Human-readable summary lines for the final summary. */
  readonly summary: string[];
  /** What was not measured and why. */
  readonly skipped: string[];
  /** Machine-readable results, merged into the final `BENCH {json}` line under the suite's name. */
  readonly data: Record<string, unknown>;
}

export interface Suite {
  readonly name: string;
  readonly title: string;
  run(ctx: SuiteContext): Promise<SuiteResult>;
}
