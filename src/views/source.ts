/**
 * Where a view reads from, and how it reports on its way. A view is one
 * function per report (ps, maps, pages, libs, shares, groups, flags, system,
 * file, kernel): source and options in, report data out. The CLI commands
 * render what a view returns; `top`, `report`, `serve` and `diff` call the
 * same functions.
 */
import type { ProcFs } from "../procfs/procfs.js";
import type { Scan } from "../scan/system-scan.js";
import type { PasswdSource } from "../procfs/users.js";

export interface ViewSource {
  /** The procfs (and sysfs) tree to read: the live /proc, a fixture tree or a capture. */
  readonly procfs: ProcFs;
  /** passwd file for user names (default /etc/passwd). */
  readonly passwdFile?: PasswdSource;
}

/** What a long view may tell its caller while it runs. */
export interface ViewHooks {
  /** Processes (or files) done of the total, for a progress line. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Scan phase timings (PAGELENS_TRACE=1). */
  readonly trace?: (phase: string, ms: number, detail?: string) => void;
  /** The scan the view read, for a caller that judges its outcome (the CLI's exit code: a process left out for bad input). */
  readonly onScan?: (scan: Scan) => void;
}
