/**
 * The groups view: memory by group of processes (user, command, memory
 * cgroup, unit, process tree, or an ad hoc set of pids), with each group's
 * own USS and, with `charges`, who pays for the pages (kpagecgroup).
 */
import { NoSuchProcessError, ProcReadError, ProcessGoneError, UsageError } from "../errors.js";
import { MemoryCgroups } from "../kernel/cgroups.js";
import { parseCgroupFile } from "../parse/kernel-config.js";
import { buildGroupsReport, type GroupBy, type GroupsOptions, type GroupsReport } from "../report/groups-report.js";
import { scanSystem, type Scan } from "../scan/system-scan.js";
import type { ViewHooks, ViewSource } from "./source.js";

/** The report's options, less what the view reads itself (the cgroup paths and hierarchy). */
export interface GroupsViewOptions extends Omit<GroupsOptions, "cgroupPaths" | "cgroups"> {
  readonly exact?: boolean;
}

/**
 * The cgroup paths a unit is derived from, per pid: the memory hierarchy's,
 * systemd's own (name=systemd, v1) and the v2 one. On a v1 machine the
 * memory controller's path can stop short of the unit (systemd only creates
 * memory cgroups for units with memory accounting), while systemd's
 * hierarchy always names it.
 */
function readUnitPaths(src: ViewSource, scan: Scan): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const p of scan.processes) {
    if (p.state === "no-mm") continue;
    let text: string;
    try {
      text = src.procfs.readText(`${p.info.pid}/cgroup`, p.info.pid);
    } catch (err) {
      // Exited since the scan: its memory cgroup from the scan is all there is.
      if (err instanceof ProcessGoneError || err instanceof ProcReadError) continue;
      throw err;
    }
    const lines = parseCgroupFile(text);
    const paths = [
      p.info.cgroup,
      lines.find((l) => l.controllers.includes("name=systemd"))?.path,
      lines.find((l) => l.id === 0)?.path,
    ].filter((x): x is string => x !== undefined);
    out.set(p.info.pid, paths);
  }
  return out;
}

/** The groups report; its notes include why the charges or the cgroup hierarchy are missing, if they are. */
export async function groupsView(src: ViewSource, o: GroupsViewOptions = {}, hooks: ViewHooks = {}): Promise<GroupsReport> {
  if (o.pids !== undefined && (o.by !== undefined || o.rootPids !== undefined))
    throw new UsageError("--pids makes one ad hoc group: it cannot be combined with --by or --root-pid");
  if (o.rootPids !== undefined && o.by !== undefined && o.by !== "tree") throw new UsageError(`--root-pid chooses process trees: it needs --by tree (got --by ${o.by})`);

  // Charges need every page looked up: pages settled from pagemap bits alone have no kpagecgroup value.
  const scan = await scanSystem(src.procfs, {
    exact: o.exact || o.charges,
    cgroups: o.charges,
    passwdFile: src.passwdFile,
    onProgress: hooks.onProgress,
    trace: hooks.trace,
  });
  hooks.onScan?.(scan);

  return groupsReportFrom(src, scan, o);
}

/**
 * The groups report from a scan already taken (`serve` builds ps, groups and
 * system from one scan); the scan must have been taken with `exact` and
 * `cgroups` when `o.charges` is set.
 */
export function groupsReportFrom(src: ViewSource, scan: Scan, o: GroupsViewOptions = {}): GroupsReport {
  const by: GroupBy = o.by ?? (o.rootPids !== undefined ? "tree" : o.charges ? "cgroup" : "command");
  const wanted = o.pids ?? o.rootPids;
  if (wanted !== undefined) {
    const present = new Set(scan.processes.map((p) => p.info.pid));
    const found = wanted.filter((pid) => present.has(pid));
    if (found.length === 0) throw new NoSuchProcessError(wanted[0]!);
  }
  const cgroups = by === "cgroup" || o.charges ? MemoryCgroups.find(src.procfs) : undefined;
  const report = buildGroupsReport(scan, {
    by,
    pids: o.pids,
    rootPids: o.rootPids,
    sort: o.sort,
    reverse: o.reverse,
    cgroupPaths: by === "unit" ? readUnitPaths(src, scan) : undefined,
    cgroups,
    charges: o.charges,
  });
  // An unavailable charges view says why in its own place (the table, or charges.notes in JSON).
  const notes = [...report.notes, ...(report.charges?.available ? report.charges.notes : [])];
  if (cgroups?.walkNote) notes.push(`memory cgroups: ${cgroups.walkNote}`);
  if ((by === "cgroup" || o.charges) && !cgroups) notes.push("no memory cgroup hierarchy found (no sysfs, or the memory controller is not mounted): the kernel's own cgroup accounting is not shown");
  return { ...report, notes };
}
