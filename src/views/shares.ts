/** The shares view: who shares which physical pages with whom. */
import { NoSuchProcessError, PermissionError, UsageError } from "../errors.js";
import { buildPageOwners } from "../analysis/page-owners.js";
import { buildSharesReport, type SharesOptions, type SharesReport } from "../report/shares-report.js";
import { scanSystem } from "../scan/system-scan.js";
import type { ViewHooks, ViewSource } from "./source.js";

export interface SharesViewOptions extends SharesOptions {
  readonly exact?: boolean;
}

export async function sharesView(src: ViewSource, o: SharesViewOptions = {}, hooks: ViewHooks = {}): Promise<SharesReport> {
  if (o.pids && (o.top !== undefined || o.command)) throw new UsageError("--pid names the processes: it cannot be combined with --top or --command");
  // Every process is scanned, also with --pid: sharing with processes outside the selection is part of the answer.
  const scan = await scanSystem(src.procfs, { exact: o.exact, passwdFile: src.passwdFile, onProgress: hooks.onProgress, trace: hooks.trace });
  hooks.onScan?.(scan);
  if (scan.mode !== "pagemap")
    throw new PermissionError(src.procfs.path("kpagecount"), "who shares which pages needs page frame numbers and kpagecount/kpageflags: run as root");
  if (o.pids) {
    // A pid the user named that is not there at all is an error; one without page data is a note.
    const known = new Set(scan.processes.map((p) => p.info.pid));
    const absent = o.pids.filter((pid) => !known.has(pid));
    if (absent.length === o.pids.length) throw new NoSuchProcessError(absent[0]!);
  }
  return buildSharesReport(scan, o, buildPageOwners(scan.processes, scan));
}
