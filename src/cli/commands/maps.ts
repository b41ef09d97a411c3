/** `pagelens maps PID`: one process, mapping by mapping. */
import { NoSuchProcessError, PermissionError, ProcessGoneError } from "../../errors.js";
import { parseSmaps, type SmapsEntry } from "../../parse/smaps.js";
import { buildMapsReport, type MappingRow, type MapsReport } from "../../report/maps-report.js";
import { renderMapsJson, writeMapsCsv, writeMapsTable } from "../../render/maps-render.js";
import type { Unit } from "../../render/units.js";
import { scanSystem, type Scan, type ScannedProcess } from "../../scan/system-scan.js";
import { printNotes, type Context } from "../context.js";
import { noteFit, rejectJsonAndCsv, tableOutput } from "./output.js";

/** `maps --sort`: address order by default; sizes largest first; name alphabetically. */
export const MAPS_SORT_KEYS = ["address", "size", "rss", "pss", "uss", "shared", "swap", "name"] as const;
export type MapsSortKey = (typeof MAPS_SORT_KEYS)[number];

export interface MapsCommandOptions {
  readonly units: Unit;
  readonly json: boolean;
  readonly csv?: boolean;
  readonly exact: boolean;
  readonly sort?: MapsSortKey;
  readonly reverse?: boolean;
  readonly wide?: boolean;
}

/** The mappings in `key` order (ties in address order), reversed with `reverse`. */
export function sortMappings(report: MapsReport, key: MapsSortKey, reverse: boolean): MapsReport {
  const mappings = report.mappings.map((m, i) => [m, i] as const);
  const cmp =
    key === "address"
      ? undefined
      : key === "name"
        ? (a: MappingRow, b: MappingRow) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
        : (a: MappingRow, b: MappingRow) => b[key] - a[key];
  if (cmp) mappings.sort((a, b) => cmp(a[0], b[0]) || a[1] - b[1]);
  const rows = mappings.map(([m]) => m);
  if (reverse) rows.reverse();
  return { ...report, mappings: rows };
}

/** Scan one process; a missing or unreadable one is an error here, as the user asked for it by pid. */
export async function scanOne(ctx: Context, pid: number, exact = false): Promise<{ scan: Scan; proc: ScannedProcess }> {
  const scan = await scanSystem(ctx.procfs, { pids: [pid], exact, passwdFile: ctx.passwdFile });
  const proc = scan.processes.find((p) => p.info.pid === pid);
  if (!proc) throw new NoSuchProcessError(pid);
  if (proc.state === "unreadable") throw new PermissionError(ctx.procfs.path(pid, "maps"), proc.reason ?? "the kernel refused access");
  return { scan, proc };
}

export async function mapsCommand(ctx: Context, pid: number, o: MapsCommandOptions): Promise<number> {
  rejectJsonAndCsv(o);
  const { scan, proc } = await scanOne(ctx, pid, o.exact);
  let smaps: SmapsEntry[] | undefined;
  try {
    smaps = parseSmaps(ctx.procfs.readText(`${pid}/smaps`, pid), ctx.procfs.path(pid, "smaps"));
  } catch (err) {
    // smaps only adds the kernel's clean/dirty split; without it those columns show "-".
    if (!(err instanceof PermissionError || err instanceof ProcessGoneError)) throw err;
  }
  let report = buildMapsReport(scan, proc, smaps);
  if (o.sort !== undefined || o.reverse) report = sortMappings(report, o.sort ?? "address", o.reverse === true);
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
