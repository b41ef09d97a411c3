/** What every command needs: the procfs handle built from the global options, and the io. */
import { openCapture } from "../capture/open.js";
import { ProcFs } from "../procfs/procfs.js";
import type { PasswdSource } from "../procfs/users.js";
import type { ViewSource } from "../views/source.js";
import { safeText } from "../render/safe-text.js";
import type { CliIo } from "./io.js";
import { scanExitCode } from "./exit-codes.js";

export interface GlobalOptions {
  readonly root: string;
  readonly sysRoot?: string;
  readonly passwd?: string;
  /** A capture file to read instead of a procfs tree (`--from`). */
  readonly from?: string;
}

/** A command reads through the same source its view does, and writes to the io. */
export interface Context extends ViewSource {
  readonly procfs: ProcFs;
  readonly io: CliIo;
  readonly passwdFile: PasswdSource | undefined;
}

export function makeContext(g: GlobalOptions, io: CliIo): Context {
  if (g.from !== undefined) {
    // Names come from the capture's own passwd entries unless --passwd says otherwise.
    const c = openCapture(g.from);
    return { procfs: c.procfs, io, passwdFile: g.passwd ?? { text: c.passwdText } };
  }
  const procfs = new ProcFs({ root: g.root, sysRoot: g.sysRoot });
  procfs.checkRoot();
  return { procfs, io, passwdFile: g.passwd };
}

/** Notes go to stderr once, so stdout stays clean for tables and JSON. */
export function printNotes(ctx: Context, notes: readonly string[]): void {
  // Notes quote paths, cgroup names and reasons from /proc: shown, never obeyed, like every name.
  for (const n of notes) ctx.io.stderr(`pagelens: note: ${safeText(n)}\n`);
}

/**
 * The exit code of a command over many processes that printed its report
 * (exit-codes.ts scanExitCode). In JSON or CSV mode the notes are in the
 * data, not on stderr, so a process left out for a bad file is named there
 * too: a non-zero exit code always comes with a reason on stderr.
 */
export function scanOutcome(ctx: Context, scan: { readonly processes: readonly { readonly state: string; readonly reason?: string; readonly info: { readonly pid: number } }[] }, data: boolean): number {
  if (data) for (const p of scan.processes) if (p.state === "bad-input") ctx.io.stderr(`pagelens: process ${p.info.pid} left out: ${p.reason ?? "bad input"}\n`);
  return scanExitCode(scan);
}

/** With PAGELENS_TRACE=1, phase timings go to stderr: where a slow scan spends its time. */
export function traceTo(ctx: Context): ((phase: string, ms: number, detail?: string) => void) | undefined {
  if (!ctx.io.env["PAGELENS_TRACE"]) return undefined;
  return (phase, ms, detail) => ctx.io.stderr(`pagelens: trace: ${phase}: ${ms.toFixed(1)} ms${detail ? ` (${detail})` : ""}\n`);
}
