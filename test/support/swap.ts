/**
 * Live-test support: a swap file for the duration of a test. The machine has
 * no swap; makeSwap creates a swap file in /var/tmp (fallocate, or dd if that
 * fails; chmod 600; mkswap; swapon) and returns its cleanup (swapoff, delete),
 * which also runs at process exit should the test's own cleanup not.
 * Stop every process holding swapped pages before cleaning up: swapoff would
 * have to read their pages back in.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { onExit } from "./scenario.js";

const SWAP_MIB = 256;

function run(cmd: string, args: readonly string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000 });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? r.error.message : ""}`.trim();
  return { ok: !r.error && r.status === 0, out };
}

function swapActive(file: string): boolean {
  return fs
    .readFileSync("/proc/swaps", "utf8")
    .split("\n")
    .slice(1)
    .some((l) => l.split(/\s+/)[0] === file);
}

/** Create and enable a swap file; returns a cleanup function, or a reason to skip. */
export function makeSwap(): { file: string; cleanup: () => void } | { skip: string } {
  const dir = fs.mkdtempSync(path.join("/var/tmp", "pagelens-swap-"));
  const file = path.join(dir, "swapfile");
  let cleaned = false;
  const cleanup = (): void => {
    if (cleaned) return;
    cleaned = true;
    if (swapActive(file)) {
      const off = run("swapoff", [file]);
      if (!off.ok || swapActive(file)) throw new Error(`swapoff ${file} failed: ${off.out}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  onExit(cleanup);
  try {
    const fa = run("fallocate", ["-l", `${SWAP_MIB}M`, file]);
    if (!fa.ok) {
      fs.rmSync(file, { force: true });
      const dd = run("dd", ["if=/dev/zero", `of=${file}`, "bs=1M", `count=${SWAP_MIB}`, "status=none"]);
      if (!dd.ok) throw new Error(`cannot create ${file}: ${fa.out}; ${dd.out}`);
    }
    fs.chmodSync(file, 0o600);
    const mk = run("mkswap", [file]);
    if (!mk.ok) {
      cleanup();
      return { skip: `mkswap ${file} failed: ${mk.out}` };
    }
    const on = run("swapon", [file]);
    if (!on.ok || !swapActive(file)) {
      cleanup();
      return { skip: `swapon ${file} was refused: ${on.out || "not listed in /proc/swaps"}` };
    }
    return { file, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

