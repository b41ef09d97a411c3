/** `pagelens maps PID`: one process, mapping by mapping. */
import type { MapsSortKey } from "../../report/maps-report.js";
import { renderMapsJson, writeMapsCsv, writeMapsTable } from "../../render/maps-render.js";
import type { Unit } from "../../render/units.js";
import { mapsView } from "../../views/maps.js";
import { printNotes, type Context } from "../context.js";
import { noteFit, rejectJsonAndCsv, tableOutput } from "./output.js";

export interface MapsCommandOptions {
  readonly units: Unit;
  readonly json: boolean;
  readonly csv?: boolean;
  readonly exact: boolean;
  readonly sort?: MapsSortKey;
  readonly reverse?: boolean;
  readonly wide?: boolean;
}

export async function mapsCommand(ctx: Context, pid: number, o: MapsCommandOptions): Promise<number> {
  rejectJsonAndCsv(o);
  const report = await mapsView(ctx, pid, { exact: o.exact, sort: o.sort, reverse: o.reverse });
  if (o.json) ctx.io.stdout(renderMapsJson(report));
  else if (o.csv) writeMapsCsv(report, ctx.io.stdout);
  else {
    const t = tableOutput(ctx, o.units, o.wide === true);
    writeMapsTable(report, t, ctx.io.stdout);
    printNotes(ctx, report.notes);
    noteFit(ctx, t);
  }
  return 0;
}
