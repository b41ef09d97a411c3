/** Renderers for the groups report: pure `report -> text`. */
import type { ChargeFlow, ChargeRow, ChargesReport, GroupRow, GroupsReport } from "../report/groups-report.js";
import { renderTable, type Column } from "./table.js";
import { formatSize, type Unit } from "./units.js";

const KIND_TITLE: Record<GroupsReport["by"], string> = {
  user: "USER",
  command: "COMMAND",
  cgroup: "CGROUP",
  unit: "UNIT",
  tree: "TREE",
  pids: "GROUP",
};

/** A machine with hundreds of cgroups has thousands of pairs: the table shows the largest. */
const MAX_FLOWS = 25;

type Row = GroupRow | { total: true; r: GroupsReport["totals"] };

function sizeOrDash(v: number | null, unit: Unit): string {
  return v === null ? "-" : formatSize(v, unit);
}

/** Members that could not be measured page by page, said in the row so a partial figure is never silent. */
function memberNote(r: GroupRow): string {
  const parts: string[] = [];
  if (r.unreadable > 0) parts.push(`${r.unreadable} unreadable`);
  if (r.rollup > 0) parts.push(`${r.rollup} from smaps_rollup`);
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}

export function renderGroupsTable(report: GroupsReport, unit: Unit): string {
  const withUsage = report.by === "cgroup" && report.groups.some((g) => g.cgroup?.accounting?.usage != null);
  const cols: Column<Row>[] = [
    { header: "PROCS", value: (r) => ("total" in r ? String(r.r.processes) : String(r.processes)) },
    { header: "RSS", value: (r) => formatSize("total" in r ? r.r.rss : r.rss, unit) },
    { header: "PSS", value: (r) => formatSize("total" in r ? r.r.pss : r.pss, unit) },
    { header: "USS", value: (r) => formatSize("total" in r ? r.r.uss : r.uss, unit) },
    { header: "GROUP-USS", value: (r) => ("total" in r ? sizeOrDash(r.r.privateToOneGroup, unit) : sizeOrDash(r.groupUss, unit)) },
    { header: "SHARED-OUT", value: (r) => ("total" in r ? "" : sizeOrDash(r.sharedOutside, unit)) },
    { header: "SWAP", value: (r) => formatSize("total" in r ? r.r.swap : r.swap, unit) },
  ];
  // The kernel's own figure for the cgroup (memory.usage_in_bytes / memory.current), next to what its processes map.
  if (withUsage) cols.push({ header: "CG-USAGE", value: (r) => ("total" in r ? "" : sizeOrDash(r.cgroup?.accounting?.usage ?? null, unit)) });
  cols.push({ header: KIND_TITLE[report.by], align: "left", value: (r) => ("total" in r ? "TOTAL" : r.label + memberNote(r)) });
  let out = renderTable(cols, report.groups, [{ total: true, r: report.totals }]);
  const t = report.totals;
  if (t.distinct !== null) {
    out += `\nDistinct memory mapped by processes: ${formatSize(t.distinct, unit)}`;
    if (t.privateToOneGroup !== null && t.sharedAcrossGroups !== null)
      out += `: ${formatSize(t.privateToOneGroup, unit)} private to one group, ${formatSize(t.sharedAcrossGroups, unit)} shared across groups`;
    out += "\n";
  }
  out += "GROUP-USS: pages mapped only by the group's processes (what exiting all of them would unmap). SHARED-OUT: pages they share with processes outside the group.\n";
  if (report.charges) out += "\n" + renderChargesTable(report.charges, unit);
  return out;
}

function cgroupName(path: string | null, inode: number | null): string {
  if (inode === 0) return "(uncharged)";
  return path ?? `@${inode ?? "?"}`;
}

export function renderChargesTable(c: ChargesReport, unit: Unit): string {
  if (!c.available) return `Cgroup charges: not available (${c.notes.join("; ")}).\n`;
  const kernelMapped = (r: ChargeRow): number | null => {
    const a = r.accounting;
    return a && a.anon !== null && a.fileMapped !== null ? a.anon + a.fileMapped : null;
  };
  const cols: Column<ChargeRow>[] = [
    { header: "PROCS", value: (r) => String(r.processes) },
    { header: "CHARGED", value: (r) => formatSize(r.charged, unit) },
    { header: "BY-OWN", value: (r) => formatSize(r.mappedByOwn, unit) },
    { header: "OTHERS-ONLY", value: (r) => formatSize(r.mappedOnlyByOthers, unit) },
    { header: "ELSEWHERE", value: (r) => formatSize(r.chargedElsewhere, unit) },
    { header: "SUBTREE", value: (r) => formatSize(r.chargedSubtree, unit) },
    { header: "K-MAPPED", value: (r) => sizeOrDash(kernelMapped(r), unit) },
    { header: "K-USAGE", value: (r) => sizeOrDash(r.accounting?.usage ?? null, unit) },
    { header: "MEMORY CGROUP", align: "left", value: (r) => cgroupName(r.path, r.inode) },
  ];
  let out = "Mapped pages by the memory cgroup charged for them (/proc/kpagecgroup):\n";
  out += renderTable(cols, c.cgroups);
  out +=
    "CHARGED: mapped pages charged to the cgroup itself; BY-OWN / OTHERS-ONLY: of these, mapped by its own processes / only by other cgroups' processes;\n" +
    "ELSEWHERE: pages its processes map that other cgroups pay for; SUBTREE: charged to it or below, to compare with the kernel's\n" +
    "K-MAPPED (anon + mapped file) and K-USAGE (all charged memory, page cache and kernel memory included).\n";
  if (c.flows.length > 0) {
    const fcols: Column<ChargeFlow>[] = [
      { header: "SIZE", value: (f) => formatSize(f.bytes, unit) },
      { header: "RELATION", align: "left", value: (f) => f.relation },
      { header: "MAPPED BY", align: "left", value: (f) => f.mappedBy },
      { header: "CHARGED TO", align: "left", value: (f) => cgroupName(f.chargedTo, f.chargedToInode) },
    ];
    out += "\nPages one cgroup's processes map but another cgroup pays for (RELATION: of the charged cgroup to the mapping one):\n";
    out += renderTable(fcols, c.flows.slice(0, MAX_FLOWS));
    if (c.flows.length > MAX_FLOWS) out += `... and ${c.flows.length - MAX_FLOWS} smaller ones (all of them are in --json)\n`;
  }
  return out;
}

export function renderGroupsJson(report: GroupsReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
