/**
 * Test support for `pagelens serve`: run the real CLI (dist/bin/pagelens.cjs)
 * as a child process, learn its address from the line it prints, and stop it
 * by pid; a free loopback port for other servers; small HTTP helpers; and a
 * process's resident memory from /proc (read here, not by pagelens).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { onExit, REPO_ROOT } from "./scenario.js";

export const CLI_BIN = path.join(REPO_ROOT, "dist", "bin", "pagelens.cjs");

/** A child process stopped (SIGTERM, then SIGKILL) by pid, also when the test process exits. */
export class Child {
  private exited = false;
  private readonly exitPromise: Promise<void>;
  out = "";
  err = "";

  constructor(readonly proc: ChildProcess) {
    this.exitPromise = new Promise((resolve) => proc.once("exit", () => resolve()));
    void this.exitPromise.then(() => (this.exited = true));
    proc.stdout?.setEncoding("utf8");
    proc.stderr?.setEncoding("utf8");
    proc.stdout?.on("data", (d: string) => (this.out = (this.out + d).slice(-65536)));
    proc.stderr?.on("data", (d: string) => (this.err = (this.err + d).slice(-65536)));
    onExit(() => this.killNow());
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get hasExited(): boolean {
    return this.exited;
  }

  /** Resolves with the first match of `re` in stderr (or stdout), or rejects after `ms`. */
  waitFor(re: RegExp, ms: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const poll = (): void => {
        const m = re.exec(this.err) ?? re.exec(this.out);
        if (m) return resolve(m);
        if (this.exited) return reject(new Error(`exited before printing ${re}: ${this.err.slice(-2000)}`));
        if (Date.now() - started > ms) return reject(new Error(`nothing matching ${re} within ${ms} ms: ${this.err.slice(-2000)}`));
        setTimeout(poll, 50);
      };
      poll();
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.proc.stdin?.end();
    this.signal("SIGTERM");
    const timer = new Promise<boolean>((r) => setTimeout(() => r(false), 5000));
    if (!(await Promise.race([this.exitPromise.then(() => true), timer]))) {
      this.signal("SIGKILL");
      await this.exitPromise;
    }
  }

  killNow(): void {
    if (!this.exited) this.signal("SIGKILL");
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      process.kill(this.pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Start a program; its stdin stays open until it is stopped (alloc.c holds its memory until stdin closes). */
export function startChild(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Child {
  return new Child(spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env }));
}

/** `pagelens [globals] serve --listen 127.0.0.1:0 [args]`, running, with its URL. */
export async function startServeCli(globals: readonly string[], args: readonly string[]): Promise<{ child: Child; url: string }> {
  const child = startChild(process.execPath, [CLI_BIN, ...globals, "serve", "--listen", "127.0.0.1:0", ...args]);
  const m = await child.waitFor(/serving (https?:\/\/127\.0\.0\.1:\d+)\/metrics/, 30_000);
  return { child, url: m[1]! };
}

/** A loopback port free a moment ago (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function get(url: string, timeoutMs = 300_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/** VmRSS of a process in bytes, from /proc/PID/status. */
export function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** One sample's value from an exposition text: `name{labels}` exactly as written, or a name without labels. */
export function sampleValue(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  return undefined;
}
