/** `pagelens ps` (the default): every process, procrank-style. */
import type { SortKey } from "../../report/process-report.js";
import { renderPsJson, writePsCsv, writePsTable } from "../../render/ps-render.js";
import type { Unit } from "../../render/units.js";
import type { Scan } from "../../scan/system-scan.js";
import { psView } from "../../views/ps.js";
import { printNotes, scanOutcome, traceTo, type Context } from "../context.js";
import { EXIT } from "../exit-codes.js";
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
  let scan: Scan | undefined;
  const report = await psView(
    ctx,
    { sort: o.sort, reverse: o.reverse, pids: o.pid, user: o.user, command: o.command, all: o.all, exact: o.exact },
    { onProgress: progress.update, trace: traceTo(ctx), onScan: (s) => (scan = s) },
  );
  progress.done();
  if (o.json) ctx.io.stdout(renderPsJson(report));
  else if (o.csv) writePsCsv(report, ctx.io.stdout);
  else {
    const t = tableOutput(ctx, o.units, o.wide);
    writePsTable(report, { ...t, wide: o.wide }, ctx.io.stdout);
    printNotes(ctx, report.notes);
    noteFit(ctx, t);
  }
  // A pid asked for that is not shown is an error for that pid (exit 4); the others are still printed.
  for (const pid of report.notFound) ctx.io.stderr(`pagelens: no such process: ${pid}\n`);
  const exited = (o.pid ?? []).filter((pid) => report.vanished.includes(pid));
  // The table's notes already said this; JSON and CSV carry it in the data, and stderr says why the exit code.
  if (o.json || o.csv) for (const pid of exited) ctx.io.stderr(`pagelens: process ${pid} exited during the scan\n`);
  const code = scanOutcome(ctx, scan!, o.json || o.csv);
  if (code !== EXIT.ok) return code;
  return report.notFound.length > 0 || exited.length > 0 ? EXIT.noSuchProcess : EXIT.ok;
}
