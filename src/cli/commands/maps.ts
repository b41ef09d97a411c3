/** `pagelens maps PID`: one process, mapping by mapping. */
import { NoSuchProcessError, PermissionError, ProcessGoneError, ProcessInputError, ProcessRefusedError } from "../../errors.js";
import { parseSmaps, type SmapsEntry } from "../../parse/smaps.js";
import { buildMapsReport } from "../../report/maps-report.js";
import { renderMapsJson, renderMapsTable } from "../../render/maps-render.js";
import type { Unit } from "../../render/units.js";
import { scanSystem, type Scan, type ScannedProcess } from "../../scan/system-scan.js";
import { printNotes, type Context } from "../context.js";

export interface MapsCommandOptions {
  readonly units: Unit;
  readonly json: boolean;
  readonly exact: boolean;
}

/** Scan one process; a missing or unreadable one is an error here, as the user asked for it by pid. */
export async function scanOne(ctx: Context, pid: number, exact = false): Promise<{ scan: Scan; proc: ScannedProcess }> {
  const scan = await scanSystem(ctx.procfs, { pids: [pid], exact, passwdFile: ctx.passwdFile });
  const proc = scan.processes.find((p) => p.info.pid === pid);
  if (!proc) throw new NoSuchProcessError(pid);
  if (proc.state === "unreadable") throw new ProcessRefusedError(pid, proc.reason ?? "the kernel refused access");
  if (proc.state === "bad-input") throw new ProcessInputError(pid, proc.reason ?? "a file of it could not be read");
  return { scan, proc };
}

export async function mapsCommand(ctx: Context, pid: number, o: MapsCommandOptions): Promise<number> {
  const { scan, proc } = await scanOne(ctx, pid, o.exact);
  let smaps: SmapsEntry[] | undefined;
  try {
    smaps = parseSmaps(ctx.procfs.readText(`${pid}/smaps`, pid), ctx.procfs.path(pid, "smaps"));
  } catch (err) {
    // smaps only adds the kernel's clean/dirty split; without it those columns show "-".
    if (!(err instanceof PermissionError || err instanceof ProcessGoneError)) throw err;
  }
  const report = buildMapsReport(scan, proc, smaps);
  if (o.json) ctx.io.stdout(renderMapsJson(report));
  else {
    ctx.io.stdout(renderMapsTable(report, o.units));
    printNotes(ctx, report.notes);
  }
  return 0;
}
