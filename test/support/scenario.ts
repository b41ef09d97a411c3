/**
 * Live-test support: processes with exactly known memory.
 *
 * `test/support/c/memscenario.c` is compiled once per test process with
 * `cc -O2` into a private temp directory; `startScenario(mode, args)` runs one
 * of its modes, reads its `key=value` lines up to `READY`, and returns a
 * handle whose `stop()` closes stdin, then escalates to SIGTERM and SIGKILL by
 * pid. Every started process and the temp directory are also cleaned up when
 * the test process exits, whatever happened.
 *
 * Also here: the reason a live test must skip, independent readers of
 * /proc/PID/smaps and smaps_rollup (so the oracle does not share pagelens's
 * parser), and small helpers to find one VMA in a scan.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { usageRow, type MemUsage } from "../../src/accounting/usage.js";
import type { Scan, ScannedProcess } from "../../src/scan/system-scan.js";

/** The repository root: this file runs as dist/test/support/scenario.js. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const MEMSCENARIO_SOURCE = path.join(REPO_ROOT, "test", "support", "c", "memscenario.c");
export const CLI_MAIN = path.join(REPO_ROOT, "dist", "src", "cli", "main.js");

export const PAGE = 4096;
export const MiB = 1024 * 1024;

/** Why live tests cannot run here, or undefined when they can. */
export function liveSkipReason(): string | undefined {
  if (process.platform !== "linux") return `live tests need Linux (this is ${process.platform})`;
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "live tests need root (kpagecount, kpageflags and PFNs are root-only)";
  if (!fs.existsSync("/proc/kpagecount")) return "no /proc/kpagecount (kernel built without CONFIG_PROC_PAGE_MONITOR)";
  const cc = spawnSync("cc", ["--version"], { stdio: "ignore" });
  if (cc.error || cc.status !== 0) return "no C compiler (cc) to build the memscenario program";
  return undefined;
}

// ---------------------------------------------------------------------------
// Cleanup registry: anything started here dies when this process exits.

const live = new Set<Scenario>();
const tempDirs = new Set<string>();
const exitHooks: (() => void)[] = [];

/** Run `fn` synchronously when the test process exits (after the test's own cleanup, if that failed). */
export function onExit(fn: () => void): void {
  exitHooks.push(fn);
}

process.on("exit", () => {
  for (const s of live) s.killNow();
  for (const fn of exitHooks.splice(0)) {
    try {
      fn();
    } catch {
      // best effort: keep cleaning up the rest
    }
  }
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(sig, () => {
    process.exit(128 + (os.constants.signals[sig] ?? 0));
  });
}

/** A temp directory removed at exit; mode 0755 so that user nobody can use what is in it. */
export function makeTempDir(prefix: string, mode = 0o755): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, mode);
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

const binaries = new Map<string, string>();

/** Compile a C program of the tests (once per test process) and return the executable's path. */
export function compileC(source: string): string {
  const known = binaries.get(source);
  if (known) return known;
  const name = path.basename(source, ".c");
  const out = path.join(makeTempDir(`pagelens-${name}-`), name);
  const r = spawnSync("cc", ["-O2", "-Wall", "-o", out, source], { encoding: "utf8" });
  if (r.error) throw new Error(`cannot run cc: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`cc failed to build ${source}:\n${r.stderr}`);
  fs.chmodSync(out, 0o755);
  binaries.set(source, out);
  return out;
}

/** Compile memscenario.c (once per test process) and return the executable's path. */
export function memscenarioBinary(): string {
  return compileC(MEMSCENARIO_SOURCE);
}

// ---------------------------------------------------------------------------
// Scenarios

export interface StartOptions {
  /** How long to wait for READY (default 60 s). */
  readonly readyTimeoutMs?: number;
  /** Run as this uid/gid (supplementary groups are dropped). */
  readonly uid?: number;
  readonly gid?: number;
  /** Seconds after which the program ends itself (safety net; default 300). */
  readonly selfTimeoutSec?: number;
}

export class Scenario {
  readonly values = new Map<string, string[]>();
  private exited = false;
  private exitStatus: number | string | null = null;
  private stderrText = "";
  private readonly exitPromise: Promise<void>;

  constructor(
    readonly mode: string,
    readonly args: readonly string[],
    private readonly proc: ChildProcess,
  ) {
    this.exitPromise = new Promise((resolve) => {
      proc.once("exit", (code, sig) => {
        this.exitStatus = code ?? sig;
        this.exited = true;
        live.delete(this);
        resolve();
      });
    });
    proc.stderr?.setEncoding("utf8");
    proc.stderr?.on("data", (d: string) => {
      this.stderrText += d;
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get stderr(): string {
    return this.stderrText;
  }

  get hasExited(): boolean {
    return this.exited;
  }

  /** The single value of `key` (throws if absent). */
  get(key: string): string {
    const v = this.values.get(key);
    if (!v || v.length === 0) throw new Error(`memscenario ${this.mode} printed no ${key}= line`);
    return v[v.length - 1]!;
  }

  getAll(key: string): string[] {
    return this.values.get(key) ?? [];
  }

  num(key: string): number {
    const n = Number(this.get(key));
    if (!Number.isFinite(n)) throw new Error(`memscenario ${this.mode}: ${key}=${this.get(key)} is not a number`);
    return n;
  }

  /** An address printed as 0x-hex. */
  addr(key: string): number {
    const v = this.get(key);
    if (!/^0x[0-9a-f]+$/i.test(v)) throw new Error(`memscenario ${this.mode}: ${key}=${v} is not an address`);
    return parseInt(v.slice(2), 16);
  }

  /** Pids of the children it forked (child= lines). */
  get children(): number[] {
    return this.getAll("child").map(Number);
  }

  /** The parent and its children. */
  get allPids(): number[] {
    return [this.pid, ...this.children];
  }

  /** SIGSTOP the parent and children so their memory cannot change. */
  freeze(): void {
    for (const p of this.allPids) signalIfOurs(p, "SIGSTOP", this.binaryPath);
  }

  /** Send `sig` to one of its processes (by pid, only while it still runs our binary). */
  signal(pid: number, sig: NodeJS.Signals): void {
    if (!this.allPids.includes(pid)) throw new Error(`pid ${pid} is not part of this memscenario`);
    signalIfOurs(pid, sig, this.binaryPath);
  }

  thaw(): void {
    for (const p of this.allPids) signalIfOurs(p, "SIGCONT", this.binaryPath);
  }

  /** Resolves once the program has printed READY. */
  ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let buf = "";
      let settled = false;
      const timer = setTimeout(() => fail(new Error(`memscenario ${this.mode} ${this.args.join(" ")}: no READY within ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error): void => {
        settled = true;
        clearTimeout(timer);
        this.proc.stdout?.off("data", onData);
        reject(err);
      };
      const onProcExit = (): void => {
        // Let the last stdout/stderr chunks arrive before giving up.
        setTimeout(() => {
          if (!settled) fail(new Error(`memscenario ${this.mode} ${this.args.join(" ")} exited (${this.exitStatus}) before READY: ${this.stderrText.trim()}`));
        }, 50);
      };
      const onData = (d: string): void => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line === "READY") {
            settled = true;
            clearTimeout(timer);
            this.proc.stdout?.off("data", onData);
            this.proc.stdout?.resume(); // nothing more is expected; never let a full pipe block it
            resolve();
            return;
          }
          const eq = line.indexOf("=");
          if (eq > 0) {
            const k = line.slice(0, eq);
            const list = this.values.get(k) ?? [];
            list.push(line.slice(eq + 1));
            this.values.set(k, list);
          }
        }
      };
      this.proc.stdout?.setEncoding("utf8");
      this.proc.stdout?.on("data", onData);
      void this.exitPromise.then(onProcExit);
    });
  }

  binaryPath = "";

  /**
   * Stop it: close stdin (the program then kills its children and exits); if it
   * is still there after a while, SIGCONT + SIGTERM, then SIGKILL, by pid.
   * Children left over (they should have died with PR_SET_PDEATHSIG) are SIGKILLed too.
   */
  async stop(): Promise<void> {
    const kids = this.children;
    if (!this.exited) {
      this.thaw(); // a SIGSTOPped program cannot see its stdin close
      this.proc.stdin?.end();
      if (!(await this.waitExit(2000))) {
        signalIfOurs(this.pid, "SIGCONT", this.binaryPath);
        signalIfOurs(this.pid, "SIGTERM", this.binaryPath);
        if (!(await this.waitExit(2000))) {
          this.proc.kill("SIGKILL");
          await this.waitExit(5000);
        }
      }
    }
    for (const k of kids) signalIfOurs(k, "SIGKILL", this.binaryPath);
    live.delete(this);
  }

  /** Synchronous last resort (process exit): SIGKILL the parent and its children. */
  killNow(): void {
    for (const p of this.allPids) signalIfOurs(p, "SIGKILL", this.binaryPath);
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (this.exited) return true;
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), ms);
    });
    const ok = await Promise.race([this.exitPromise.then(() => true), t]);
    clearTimeout(timer);
    return ok;
  }
}

/** Signal `pid` only if it still runs our memscenario binary (never a reused pid). */
function signalIfOurs(pid: number, sig: NodeJS.Signals, bin: string): void {
  if (!(pid > 0)) return;
  try {
    const exe = fs.readlinkSync(`/proc/${pid}/exe`);
    if (bin !== "" && exe !== bin) return;
  } catch {
    return; // gone (or a zombie, whose exe link is unreadable: nothing to stop)
  }
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

/**
 * Start a program of the tests that prints key=value lines and READY (memscenario, alloc,
 * toucher ...), and wait for READY. It is killed when the test process exits, whatever happens.
 * `env` adds variables (each program's self-timeout); a shell `prefix` runs first (`sh -c`).
 */
export async function startProgram(
  bin: string,
  args: readonly (string | number)[],
  opts: StartOptions & { readonly env?: Readonly<Record<string, string>>; readonly label?: string; readonly prefix?: string } = {},
): Promise<Scenario> {
  const argv = args.map(String);
  const spawnOpts = { stdio: ["pipe", "pipe", "pipe"] as ["pipe", "pipe", "pipe"], env: { ...process.env, ...opts.env }, uid: opts.uid, gid: opts.gid };
  const proc = opts.prefix === undefined ? spawn(bin, argv, spawnOpts) : spawn("sh", ["-c", `${opts.prefix} && exec "$0" "$@"`, bin, ...argv], spawnOpts);
  const s = new Scenario(opts.label ?? argv[0] ?? path.basename(bin), opts.label === undefined ? argv.slice(1) : argv, proc);
  s.binaryPath = bin;
  live.add(s);
  await new Promise<void>((resolve, reject) => {
    proc.once("spawn", () => resolve());
    proc.once("error", reject);
  });
  try {
    await s.ready(opts.readyTimeoutMs ?? 60_000);
  } catch (err) {
    await s.stop();
    throw err;
  }
  return s;
}

/** Start `memscenario MODE ARGS...` and wait for READY. */
export async function startScenario(mode: string, args: readonly (string | number)[] = [], opts: StartOptions = {}): Promise<Scenario> {
  return startProgram(memscenarioBinary(), [mode, ...args], { ...opts, env: { MEMSCENARIO_TIMEOUT: String(opts.selfTimeoutSec ?? 300) } });
}

/** Start a scenario for the duration of a test: stopped in t.after even when the test fails. */
export async function scenarioFor(
  t: { after: (fn: () => Promise<void> | void) => void },
  mode: string,
  args: readonly (string | number)[] = [],
  opts: StartOptions = {},
): Promise<Scenario> {
  const s = await startScenario(mode, args, opts);
  t.after(() => s.stop());
  return s;
}

// ---------------------------------------------------------------------------
// Independent readers of the kernel's own numbers (kB, as printed).

export type KbFields = Record<string, number>;

function fieldsOf(lines: readonly string[]): KbFields {
  const out: KbFields = {};
  for (const l of lines) {
    const m = /^([A-Za-z_]+):\s+(\d+) kB$/.exec(l.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** /proc/PID/smaps_rollup fields in kB; undefined if the process is gone or unreadable. */
export function readRollupKb(pid: number): KbFields | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  } catch {
    return undefined;
  }
  return fieldsOf(text.split("\n"));
}

/** The smaps fields (kB) of the VMA that starts at `start`. */
export interface SmapsVmaKb {
  readonly fields: KbFields;
  readonly vmFlags: readonly string[];
  readonly end: number;
}

export function readSmapsVmaKb(pid: number, start: number): KbFields | undefined {
  return readSmapsVma(pid, start)?.fields;
}

/** The smaps block of the VMA that starts at `start`: fields in kB, VmFlags and the end address. */
export function readSmapsVma(pid: number, start: number): SmapsVmaKb | undefined {
  const text = fs.readFileSync(`/proc/${pid}/smaps`, "utf8");
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(lines[i]!);
    if (!m || parseInt(m[1]!, 16) !== start) continue;
    const block: string[] = [];
    let flags: string[] = [];
    for (let j = i + 1; j < lines.length && !/^[0-9a-f]+-[0-9a-f]+ /.test(lines[j]!); j++) {
      if (lines[j]!.startsWith("VmFlags:")) flags = lines[j]!.slice(8).trim().split(/\s+/);
      else block.push(lines[j]!);
    }
    return { fields: fieldsOf(block), vmFlags: flags, end: parseInt(m[2]!, 16) };
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Finding things in a scan.

export function processIn(scan: Scan, pid: number): ScannedProcess {
  const p = scan.processes.find((q) => q.info.pid === pid);
  if (!p) throw new Error(`pid ${pid} is not in the scan (vanished: ${scan.vanished.includes(pid)})`);
  return p;
}

/** The usage row of the VMA of `pid` that starts exactly at `start` (and its end). */
export function vmaUsage(scan: Scan, pid: number, start: number): MemUsage & { vmaStart: number; vmaEnd: number } {
  const p = processIn(scan, pid);
  if (p.source !== "pagemap") throw new Error(`pid ${pid} was read from ${p.source} (${p.reason ?? p.state}), not pagemap`);
  const i = p.vmas.findIndex((v) => v.start === start);
  if (i < 0) throw new Error(`pid ${pid} has no VMA starting at 0x${start.toString(16)}`);
  return { ...usageRow(p.usage, i), vmaStart: p.vmas[i]!.start, vmaEnd: p.vmas[i]!.end };
}

/** Is a process alive (not reaped)? */
export function pidExists(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`);
}

/** Block the thread for `ms` (for use inside synchronous callbacks). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Run the built CLI with `args` (optionally as another user via setpriv); returns code, stdout, stderr. */
export function runCli(
  args: readonly string[],
  opts: { asUid?: number; asGid?: number; main?: string; cwd?: string; timeoutMs?: number } = {},
): { code: number | null; stdout: string; stderr: string } {
  const main = opts.main ?? CLI_MAIN;
  const cmd =
    opts.asUid === undefined
      ? [process.execPath, main, ...args]
      : ["setpriv", `--reuid=${opts.asUid}`, `--regid=${opts.asGid ?? opts.asUid}`, "--clear-groups", process.execPath, main, ...args];
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    encoding: "utf8",
    cwd: opts.cwd ?? "/",
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 256 * 1024 * 1024,
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LANG: "C.UTF-8" },
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The CLI entry point as user nobody can reach it: in place when nobody can read it and the
 * packages it loads (`needs`, paths under the repository), else a world-readable copy of
 * dist/src, node_modules and package.json in a temporary directory.
 */
export function cliForNobody(needs: readonly string[], tmpPrefix = "pagelens-nonroot-"): string {
  const probe = spawnSync(
    "setpriv",
    ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", "for (const f of process.argv.slice(1)) require('fs').accessSync(f, require('fs').constants.R_OK)", CLI_MAIN, ...needs.map((n) => path.join(REPO_ROOT, n))],
    { encoding: "utf8" },
  );
  if (probe.status === 0) return CLI_MAIN;
  const dir = makeTempDir(tmpPrefix);
  fs.cpSync(path.join(REPO_ROOT, "dist", "src"), path.join(dir, "dist", "src"), { recursive: true });
  fs.cpSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"), { recursive: true });
  fs.copyFileSync(path.join(REPO_ROOT, "package.json"), path.join(dir, "package.json"));
  spawnSync("chmod", ["-R", "a+rX", dir]);
  return path.join(dir, "dist", "src", "cli", "main.js");
}
