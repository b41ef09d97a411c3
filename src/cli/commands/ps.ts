/** `pagelens ps` (the default): every process, procrank-style. */
import { buildPsReport, type SortKey } from "../../report/process-report.js";
import { renderPsJson, writePsCsv, writePsTable } from "../../render/ps-render.js";
import type { Unit } from "../../render/units.js";
import { scanSystem } from "../../scan/system-scan.js";
import { printNotes, traceTo, type Context } from "../context.js";
import { Progress } from "../progress.js";
import { noteFit, tableOutput } from "./output.js";

export interface PsCommandOptions {
  readonly sort: SortKey;
  readonly reverse: boolean;
  readonly pid?: readonly number[];
  readonly user?: string;
  readonly command?: RegExp;
  readonly all: boolean;
  readonly exact: boolean;
  readonly units: Unit;
  readonly json: boolean;
  readonly csv: boolean;
  readonly wide: boolean;
}

export async function psCommand(ctx: Context, o: PsCommandOptions): Promise<number> {
  const progress = new Progress(ctx.io, "scanning processes");
  const scan = await scanSystem(ctx.procfs, {
    pids: o.pid,
    exact: o.exact,
    // ps needs flags only where a page's class is not known from its mapping.
    pageFlags: "accounting",
    passwdFile: ctx.passwdFile,
    // Filters by user and command are applied before any memory is read.
    select: (info) =>
      (o.user === undefined || info.user === o.user || String(info.uid) === o.user) &&
      (o.command === undefined || o.command.test(info.comm) || o.command.test(info.cmdline.join(" "))),
    onProgress: progress.update,
    trace: traceTo(ctx),
  });
  progress.done();
  const report = buildPsReport(scan, { sort: o.sort, reverse: o.reverse, pids: o.pid, user: o.user, command: o.command, all: o.all });
  if (o.json) ctx.io.stdout(renderPsJson(report));
  else if (o.csv) writePsCsv(report, ctx.io.stdout);
  else {
    const t = tableOutput(ctx, o.units, o.wide);
    writePsTable(report, { ...t, wide: o.wide }, ctx.io.stdout);
    printNotes(ctx, report.notes);
    noteFit(ctx, t);
  }
  return 0;
}
