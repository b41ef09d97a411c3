/** `pagelens pages PID [--addr START-END]`: one process, page by page. */
import { writePagesCsv, writePagesJson, writePagesTable } from "../../render/pages-render.js";
import { pagesView } from "../../views/pages.js";
import { printNotes, type Context } from "../context.js";
import { noteFit, rejectJsonAndCsv, tableOutput } from "./output.js";

export interface PagesCommandOptions {
  readonly addr?: { start: number; end: number };
  readonly each: boolean;
  readonly raw: boolean;
  readonly json: boolean;
  readonly csv?: boolean;
  readonly wide?: boolean;
}

export function pagesCommand(ctx: Context, pid: number, o: PagesCommandOptions): number {
  rejectJsonAndCsv(o);
  const report = pagesView(ctx, pid, o);
  if (o.json) writePagesJson(report, ctx.io.stdout);
  else if (o.csv) writePagesCsv(report, ctx.io.stdout);
  else {
    const t = tableOutput(ctx, "human", o.wide === true);
    writePagesTable(report, t, ctx.io.stdout);
    printNotes(ctx, report.notes);
    noteFit(ctx, t);
  }
  return 0;
}
