/**
 * test/support/c/hostile.c, built and started with a chosen argv[0] and comm:
 * a process (and a forked child) whose names and a mapped file's path are
 * bytes meant to break terminals and pages. Used by the live tests of names
 * in tables (hostile-names) and in the HTML report (html-report).
 */
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { onExit, REPO_ROOT } from "./scenario.js";

export interface Hostile {
  readonly pid: number;
  /** The forked child. */
  readonly child: number;
  /** SIGKILL (both exit: the child dies with its parent, see hostile.c); safe to call twice. */
  readonly kill: () => void;
}

/** Compile hostile.c into `dir`, start it as `argv0` with comm `comm` (and its mapped file in `dir`), and wait until it is ready. */
export async function startHostile(dir: string, argv0: string, comm: string): Promise<Hostile> {
  const bin = path.join(dir, "hostile");
  const r = spawnSync("cc", ["-O2", "-Wall", "-o", bin, path.join(REPO_ROOT, "test", "support", "c", "hostile.c")], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cc failed: ${r.stderr}`);
  const proc = spawn(bin, [dir, comm], { argv0, stdio: ["ignore", "pipe", "inherit"] });
  const kill = (): void => {
    try {
      proc.kill("SIGKILL");
    } catch {
      // already gone
    }
  };
  onExit(kill);
  const lines = await new Promise<string[]>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`hostile did not get ready: ${out}`)), 30_000);
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString("utf8");
      if (out.includes("READY\n")) {
        clearTimeout(timer);
        resolve(out.split("\n"));
      }
    });
    proc.once("error", reject);
  });
  return { pid: Number(lines[0]), child: Number(lines[1]), kill };
}
