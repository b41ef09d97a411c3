/** `pagelens ps` (the default): every process, procrank-style. */
import type { SortKey } from "../../report/process-report.js";
import { renderPsCsv, renderPsJson, renderPsTable } from "../../render/ps-render.js";
import type { Unit } from "../../render/units.js";
import { psView } from "../../views/ps.js";
import { printNotes, traceTo, type Context } from "../context.js";
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
  const report = await psView(
    ctx,
    { sort: o.sort, reverse: o.reverse, pids: o.pid, user: o.user, command: o.command, all: o.all, exact: o.exact },
    { onProgress: progress.update, trace: traceTo(ctx) },
  );
  progress.done();
  if (o.json) ctx.io.stdout(renderPsJson(report));
  else if (o.csv) ctx.io.stdout(renderPsCsv(report));
  else {
    ctx.io.stdout(renderPsTable(report, o.units, o.wide));
    printNotes(ctx, report.notes);
  }
  return 0;
}
