/** `pagelens ps` (the default): every process, procrank-style. */
import { buildPsReport, type SortKey } from "../../report/process-report.js";
import { renderPsCsv, renderPsJson, renderPsTable } from "../../render/ps-render.js";
import type { Unit } from "../../render/units.js";
import { scanSystem } from "../../scan/system-scan.js";
import { printNotes, scanOutcome, traceTo, type Context } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { Progress } from "../progress.js";

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
  else if (o.csv) ctx.io.stdout(renderPsCsv(report));
  else {
    ctx.io.stdout(renderPsTable(report, o.units, o.wide));
    printNotes(ctx, report.notes);
  }
  // A pid asked for that is not shown is an error for that pid (exit 4); the others are still printed.
  for (const pid of report.notFound) ctx.io.stderr(`pagelens: no such process: ${pid}\n`);
  const exited = (o.pid ?? []).filter((pid) => report.vanished.includes(pid));
  // The table's notes already said this; JSON and CSV carry it in the data, and stderr says why the exit code.
  if (o.json || o.csv) for (const pid of exited) ctx.io.stderr(`pagelens: process ${pid} exited during the scan\n`);
  const code = scanOutcome(ctx, scan, o.json || o.csv);
  if (code !== EXIT.ok) return code;
  return report.notFound.length > 0 || exited.length > 0 ? EXIT.noSuchProcess : EXIT.ok;
}
