/** The libs view (librank's job): every mapped file and special mapping across processes. */
import { NF, usageFromSmaps } from "../accounting/usage.js";
import { PermissionError, ProcessGoneError, UsageError } from "../errors.js";
import { parseSmaps } from "../parse/smaps.js";
import { buildLibsReport, isPermsPattern, type LibsOptions, type LibsReport, type SmapsRows } from "../report/libs-report.js";
import { scanSystem, type Scan } from "../scan/system-scan.js";
import type { ViewHooks, ViewSource } from "./source.js";

export interface LibsViewOptions extends LibsOptions {
  readonly exact?: boolean;
}

/**
 * Per-VMA rows from /proc/PID/smaps for processes the scan could only read
 * from smaps_rollup (no root: PFNs hidden). The kernel's own per-mapping
 * numbers are still exact for RSS, PSS and swap, so libs works unprivileged
 * on the processes the user may read.
 */
export function smapsRowsFor(src: ViewSource, scan: Scan): Map<number, SmapsRows> {
  const out = new Map<number, SmapsRows>();
  for (const p of scan.processes) {
    if (p.state !== "ok" || p.source === "pagemap") continue;
    const pid = p.info.pid;
    let entries;
    try {
      entries = parseSmaps(src.procfs.readText(`${pid}/smaps`, pid), src.procfs.path(pid, "smaps"));
    } catch (err) {
      if (err instanceof PermissionError || err instanceof ProcessGoneError) continue;
      throw err;
    }
    const usage = new Float64Array(entries.length * NF);
    entries.forEach((e, i) => usageFromSmaps(e.fields, usage, i));
    out.set(pid, { vmas: entries.map((e) => e.vma), usage });
  }
  return out;
}

/**
 * The libs report of a scan already taken (top, report, serve build several
 * reports from one scan): per-mapping rows from smaps for the processes the
 * scan could read only from smaps_rollup, read only when there are any.
 */
export function libsReportFrom(src: ViewSource, scan: Scan, o: LibsOptions = {}): LibsReport {
  const smaps = scan.processes.some((p) => p.state === "ok" && p.source !== "pagemap") ? smapsRowsFor(src, scan) : undefined;
  return buildLibsReport(scan, o, smaps);
}

export async function libsView(src: ViewSource, o: LibsViewOptions = {}, hooks: ViewHooks = {}): Promise<LibsReport> {
  if (o.perms !== undefined && !isPermsPattern(o.perms))
    throw new UsageError(`--perms: expected four characters like r-xp (? for any) or letters of rwxsp that must all be present, got ${JSON.stringify(o.perms)}`);
  const scan = await scanSystem(src.procfs, { exact: o.exact, passwdFile: src.passwdFile, onProgress: hooks.onProgress, trace: hooks.trace });
  hooks.onScan?.(scan);
  return libsReportFrom(src, scan, o);
}
