/**
 * The data of the HTML report (`pagelens report`, and `serve`'s web view at
 * /api/report): every report the page draws, built from ONE scan so that
 * the treemap, the table, the groups and the reconciliation agree with each
 * other. Pure: reports and a scan in, plain data out.
 *
 * The page gets the reports as the commands' --json print them, trimmed
 * where a report has a list per row that the page does not show in full
 * (the processes of each library), and, per process, its mappings summed by
 * name (the treemap's second level) and, for the top processes by PSS, the
 * address map (address-map.ts).
 */
import { U, NF } from "../accounting/usage.js";
import type { Scan } from "../scan/scan-data.js";
import type { AddressMap } from "./address-map.js";
import type { FlagsReport } from "./flags-report.js";
import type { GroupsReport } from "./groups-report.js";
import type { LibsReport } from "./libs-report.js";
import type { PsReport } from "./process-report.js";
import { scanHeader, type ScanHeader } from "./scan-header.js";
import type { SharesReport } from "./shares-report.js";
import type { SystemReport } from "./system-report.js";

/** Default number of processes (largest PSS first) whose address map is embedded. */
export const DEFAULT_ADDRESS_MAPS = 20;
/** Mapping names kept per process in the treemap; the rest are summed into one "other mappings" cell. */
export const MAPPINGS_PER_PROCESS = 24;
/** Processes kept per library row. */
export const LIB_PROCESSES = 10;

/** One process's mappings summed by name: [name, rss, pss, uss, swap] rows, largest PSS first. */
export interface MappingSummary {
  readonly pid: number;
  readonly rows: ReadonlyArray<readonly [string, number, number, number, number]>;
}

export interface HtmlReport extends ScanHeader {
  readonly kind: "pagelens-report";
  readonly pagelensVersion: string;
  /** Where it was read: "live" (/proc), or the capture / tree it was read from. */
  readonly source: string;
  readonly ps: PsReport;
  readonly mappings: readonly MappingSummary[];
  readonly system: SystemReport;
  readonly groups: { readonly user: GroupsReport; readonly cgroup: GroupsReport; readonly unit: GroupsReport };
  readonly libs: LibsReport;
  /** Who shares with whom (the pairs; the page does not show exact groups): null without page-level data (not root). */
  readonly shares: Omit<SharesReport, "groups"> | null;
  /** The machine's flags census: null without kpageflags. */
  readonly flags: FlagsReport | null;
  /** How many of the top processes by PSS have an address map, as asked. */
  readonly addressMapLimit: number;
  readonly addressMaps: readonly AddressMap[];
  readonly notes: readonly string[];
}

/** Per process, its mappings summed by name ("[anon]" for unnamed), top `keep` by PSS plus the rest as one row. */
export function mappingSummaries(scan: Scan, keep = MAPPINGS_PER_PROCESS): MappingSummary[] {
  const out: MappingSummary[] = [];
  for (const p of scan.processes) {
    if (p.state !== "ok" || p.source !== "pagemap") continue;
    const by = new Map<string, [string, number, number, number, number]>();
    const u = p.usage;
    p.vmas.forEach((v, i) => {
      const b = i * NF;
      if (u[b + U.rss]! === 0 && u[b + U.swap]! === 0) return;
      const name = v.name === "" ? "[anon]" : v.name;
      let r = by.get(name);
      if (!r) by.set(name, (r = [name, 0, 0, 0, 0]));
      r[1] += u[b + U.rss]!;
      r[2] += u[b + U.pss]!;
      r[3] += u[b + U.uss]!;
      r[4] += u[b + U.swap]!;
    });
    const rows = [...by.values()].sort((a, b) => b[2] - a[2] || (a[0] < b[0] ? -1 : 1));
    if (rows.length > keep) {
      const rest: [string, number, number, number, number] = ["(other mappings)", 0, 0, 0, 0];
      for (const r of rows.splice(keep - 1)) for (let k = 1; k < 5; k++) rest[k as 1] += r[k as 1];
      rows.push(rest);
    }
    out.push({ pid: p.info.pid, rows });
  }
  return out;
}

export interface HtmlReportParts {
  readonly pagelensVersion: string;
  readonly source: string;
  readonly ps: PsReport;
  readonly system: SystemReport;
  readonly groups: HtmlReport["groups"];
  readonly libs: LibsReport;
  readonly shares: SharesReport | null;
  readonly flags: FlagsReport | null;
  readonly addressMapLimit: number;
  readonly addressMaps: readonly AddressMap[];
  readonly notes?: readonly string[];
}

function withoutGroups(s: SharesReport): Omit<SharesReport, "groups"> {
  const { groups: _groups, ...rest } = s;
  return rest;
}

/** The report document from its parts and the scan they were built from. */
export function buildHtmlReport(scan: Scan, parts: HtmlReportParts): HtmlReport {
  const libs: LibsReport = { ...parts.libs, libraries: parts.libs.libraries.map((l) => ({ ...l, processes: l.processes.slice(0, LIB_PROCESSES) })) };
  return {
    ...scanHeader(scan),
    kind: "pagelens-report",
    pagelensVersion: parts.pagelensVersion,
    source: parts.source,
    ps: parts.ps,
    mappings: mappingSummaries(scan),
    system: parts.system,
    groups: parts.groups,
    libs,
    shares: parts.shares ? withoutGroups(parts.shares) : null,
    flags: parts.flags,
    addressMapLimit: parts.addressMapLimit,
    addressMaps: parts.addressMaps,
    notes: [...scan.notes, ...(parts.notes ?? [])],
  };
}
