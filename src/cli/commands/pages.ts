/** `pagelens pages PID [--addr START-END]`: one process, page by page. */
import { pagesView } from "../../views/pages.js";
import { renderPagesJson, renderPagesTable } from "../../render/pages-render.js";
import { printNotes, type Context } from "../context.js";

export interface PagesCommandOptions {
  readonly addr?: { start: number; end: number };
  readonly each: boolean;
  readonly raw: boolean;
  readonly json: boolean;
}

export function pagesCommand(ctx: Context, pid: number, o: PagesCommandOptions): number {
  const report = pagesView(ctx, pid, o);
  if (o.json) ctx.io.stdout(renderPagesJson(report));
  else {
    ctx.io.stdout(renderPagesTable(report));
    printNotes(ctx, report.notes);
  }
  return 0;
}
