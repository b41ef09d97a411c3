/** `pagelens maps PID`: one process, mapping by mapping. */
import { renderMapsJson, renderMapsTable } from "../../render/maps-render.js";
import type { Unit } from "../../render/units.js";
import { mapsView } from "../../views/maps.js";
import { printNotes, type Context } from "../context.js";

export interface MapsCommandOptions {
  readonly units: Unit;
  readonly json: boolean;
  readonly exact: boolean;
}

export async function mapsCommand(ctx: Context, pid: number, o: MapsCommandOptions): Promise<number> {
  const report = await mapsView(ctx, pid, { exact: o.exact });
  if (o.json) ctx.io.stdout(renderMapsJson(report));
  else {
    ctx.io.stdout(renderMapsTable(report, o.units));
    printNotes(ctx, report.notes);
  }
  return 0;
}
