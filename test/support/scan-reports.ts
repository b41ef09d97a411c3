/**
 * Every report pagelens builds from a scan (ps, maps, libs, shares, groups,
 * system), as the views build them, for comparing two scans that must give
 * the same reports (a scan and its encoded-and-decoded copy). The views'
 * other inputs (smaps, cgroup paths and hierarchy, the census and meminfo)
 * are read once by readOtherInputs, so that on a live machine both scans
 * are judged against the same readings.
 */
import { parseSmaps, type SmapsEntry } from "../../src/parse/smaps.js";
import { buildGroupsReport, GROUP_BY, type CgroupSource, type GroupsOptions } from "../../src/report/groups-report.js";
import { buildLibsReport, type SmapsRows } from "../../src/report/libs-report.js";
import { buildMapsReport } from "../../src/report/maps-report.js";
import { buildPsReport } from "../../src/report/process-report.js";
import { scanHeader } from "../../src/report/scan-header.js";
import { buildSharesReport } from "../../src/report/shares-report.js";
import { buildSystemReport, processFigures, type SystemInputs } from "../../src/report/system-report.js";
import type { ScanData } from "../../src/scan/scan-data.js";
import { groupsReportFrom } from "../../src/views/groups.js";
import { smapsRowsFor } from "../../src/views/libs.js";
import type { ViewSource } from "../../src/views/source.js";
import { gatherSystemFrom } from "../../src/views/system.js";

export interface OtherInputs {
  readonly smaps: ReadonlyMap<number, SmapsEntry[] | undefined>;
  readonly smapsRows: ReadonlyMap<number, SmapsRows>;
  readonly system: SystemInputs;
  /** Groups reports by option set: from the view (a fixture tree, which never changes), else built without the cgroup hierarchy. */
  readonly groups: (scan: ScanData, o: GroupsOptions) => unknown;
}

/** The views' inputs besides the scan, read once. `live`: the machine changes, so groups leave out what is read at build time. */
export function readOtherInputs(src: ViewSource, scan: ScanData, live = false): OtherInputs {
  const smaps = new Map<number, SmapsEntry[] | undefined>();
  for (const p of scan.processes) {
    if (p.state !== "ok") continue;
    try {
      smaps.set(p.info.pid, parseSmaps(src.procfs.readText(`${p.info.pid}/smaps`, p.info.pid), "smaps"));
    } catch {
      smaps.set(p.info.pid, undefined);
    }
  }
  const noHierarchy: CgroupSource | undefined = undefined;
  return {
    smaps,
    smapsRows: smapsRowsFor(src, scan),
    system: gatherSystemFrom(src, scan, 0).inputs,
    groups: live ? (s, o) => buildGroupsReport(s, { ...o, cgroups: noHierarchy }) : (s, o) => groupsReportFrom(src, s, o),
  };
}

export function reportsOf(scan: ScanData, inputs: OtherInputs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  out["ps"] = buildPsReport(scan, { all: true });
  out["ps sorted by uss"] = buildPsReport(scan, { sort: "uss", reverse: true });
  for (const p of scan.processes) if (p.state === "ok") out[`maps ${p.info.pid}`] = buildMapsReport(scan, p, inputs.smaps.get(p.info.pid));
  out["libs"] = buildLibsReport(scan, {}, inputs.smapsRows);
  out["libs all"] = buildLibsReport(scan, { all: true }, inputs.smapsRows);
  if (scan.mode === "pagemap") {
    out["shares"] = buildSharesReport(scan, {});
    out["shares of three"] = buildSharesReport(scan, { pids: scan.processes.slice(-3).map((p) => p.info.pid) });
  }
  for (const by of GROUP_BY) out[`groups by ${by}`] = inputs.groups(scan, { by });
  out["groups charges"] = inputs.groups(scan, { by: "cgroup", charges: true });
  out["groups pids"] = inputs.groups(scan, { pids: scan.processes.slice(-2).map((p) => p.info.pid) });
  out["system processes"] = processFigures(scan);
  out["system"] = buildSystemReport({ ...inputs.system, processes: processFigures(scan) }, {
    header: scanHeader(scan),
    timing: { scanMs: 1, censusMs: 1, spanMs: 2, memFreeChangeDuringCensus: 0 },
    live: false,
  });
  return out;
}
