/** The ps view: every process, procrank-style. */
import { buildPsReport, type PsOptions, type PsReport } from "../report/process-report.js";
import { scanSystem } from "../scan/system-scan.js";
import type { ViewHooks, ViewSource } from "./source.js";

export interface PsViewOptions extends PsOptions {
  /** Look every page up in kpagecount (never settle pages from pagemap bits). */
  readonly exact?: boolean;
}

export async function psView(src: ViewSource, o: PsViewOptions = {}, hooks: ViewHooks = {}): Promise<PsReport> {
  const scan = await scanSystem(src.procfs, {
    pids: o.pids,
    exact: o.exact,
    // ps needs flags only where a page's class is not known from its mapping.
    pageFlags: "accounting",
    passwdFile: src.passwdFile,
    // Filters by user and command are applied before any memory is read.
    select: (info) =>
      (o.user === undefined || info.user === o.user || String(info.uid) === o.user) &&
      (o.command === undefined || o.command.test(info.comm) || o.command.test(info.cmdline.join(" "))),
    onProgress: hooks.onProgress,
    trace: hooks.trace,
  });
  hooks.onScan?.(scan);
  return buildPsReport(scan, o);
}
