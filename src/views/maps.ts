/** The maps view: one process, mapping by mapping (procmem, showmap, pmap -X). */
import { NoSuchProcessError, PermissionError, ProcessGoneError, ProcessInputError, ProcessRefusedError } from "../errors.js";
import { parseSmaps, type SmapsEntry } from "../parse/smaps.js";
import { buildMapsReport, sortMappings, type MapsReport, type MapsSortKey } from "../report/maps-report.js";
import { scanSystem, type Scan, type ScannedProcess } from "../scan/system-scan.js";
import type { ViewSource } from "./source.js";

export interface MapsViewOptions {
  readonly exact?: boolean;
  /** Mapping order (default: address). */
  readonly sort?: MapsSortKey;
  readonly reverse?: boolean;
}

/** Scan one process; a missing or unreadable one is an error here, as the user asked for it by pid. */
export async function scanOne(src: ViewSource, pid: number, exact = false): Promise<{ scan: Scan; proc: ScannedProcess }> {
  const scan = await scanSystem(src.procfs, { pids: [pid], exact, passwdFile: src.passwdFile });
  const proc = scan.processes.find((p) => p.info.pid === pid);
  if (!proc) throw new NoSuchProcessError(pid);
  if (proc.state === "unreadable") throw new ProcessRefusedError(pid, proc.reason ?? "the kernel refused access");
  if (proc.state === "bad-input") throw new ProcessInputError(pid, proc.reason ?? "a file of it could not be read");
  return { scan, proc };
}

export async function mapsView(src: ViewSource, pid: number, o: MapsViewOptions = {}): Promise<MapsReport> {
  const { scan, proc } = await scanOne(src, pid, o.exact);
  let smaps: SmapsEntry[] | undefined;
  try {
    smaps = parseSmaps(src.procfs.readText(`${pid}/smaps`, pid), src.procfs.path(pid, "smaps"));
  } catch (err) {
    // smaps only adds the kernel's clean/dirty split; without it those columns show "-".
    if (!(err instanceof PermissionError || err instanceof ProcessGoneError)) throw err;
  }
  const report = buildMapsReport(scan, proc, smaps);
  return o.sort !== undefined || o.reverse ? sortMappings(report, o.sort ?? "address", o.reverse === true) : report;
}
