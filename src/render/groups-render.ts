/** Renderers for the groups report: pure `report -> text`. */
import type { ChargeFlow, ChargeRow, ChargesReport, GroupRow, GroupsReport } from "../report/groups-report.js";
import type { Write } from "./chunked-writer.js";
import { safeText } from "./safe-text.js";
import { renderTable, writeTable, writeTableCsv, type Column, type TableOptions } from "./table.js";
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


/** Members that could not be measured page by page, said in the row so a partial figure is never silent. */
function memberNote(r: GroupRow): string {
  const parts: string[] = [];
  if (r.unreadable > 0) parts.push(`${r.unreadable} unreadable`);
  if (r.rollup > 0) parts.push(`${r.rollup} from smaps_rollup`);
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}

function groupColumns(report: GroupsReport): Column<Row>[] {
  const withUsage = report.by === "cgroup" && report.groups.some((g) => g.cgroup?.accounting?.usage != null);
  const cols: Column<Row>[] = [
    { header: "PROCS", value: (r) => ("total" in r ? String(r.r.processes) : String(r.processes)) },
    { header: "RSS", size: (r) => ("total" in r ? r.r.rss : r.rss), drop: 2 },
    { header: "PSS", size: (r) => ("total" in r ? r.r.pss : r.pss) },
    { header: "USS", size: (r) => ("total" in r ? r.r.uss : r.uss) },
    { header: "GROUP-USS", size: (r) => ("total" in r ? r.r.privateToOneGroup : r.groupUss) },
    { header: "SHARED-OUT", size: (r) => ("total" in r ? undefined : r.sharedOutside), drop: 1 },
    { header: "SWAP", size: (r) => ("total" in r ? r.r.swap : r.swap), drop: 3 },
  ];
  // The kernel's own figure for the cgroup (memory.usage_in_bytes / memory.current), next to what its processes map.
  if (withUsage) cols.push({ header: "CG-USAGE", size: (r) => ("total" in r ? undefined : (r.cgroup?.accounting?.usage ?? null)), drop: 4 });
  cols.push({ header: KIND_TITLE[report.by], align: "left", cut: "middle", value: (r) => ("total" in r ? "TOTAL" : r.label + memberNote(r)) });
  return cols;
}

/** One row per group, sizes in bytes ("-" figures empty). */
export function writeGroupsCsv(report: GroupsReport, write: Write): void {
  writeTableCsv(write, groupColumns(report), report.groups);
}

export function writeGroupsTable(report: GroupsReport, o: TableOptions, write: Write): void {
  const unit = o.unit ?? "human";
  writeTable(write, groupColumns(report), report.groups, [{ total: true, r: report.totals }], o);
  let out = "";
  const t = report.totals;
  if (t.distinct !== null) {
    out += `\nDistinct memory mapped by processes: ${formatSize(t.distinct, unit)}`;
    if (t.privateToOneGroup !== null && t.sharedAcrossGroups !== null)
      out += `: ${formatSize(t.privateToOneGroup, unit)} private to one group, ${formatSize(t.sharedAcrossGroups, unit)} shared across groups`;
    out += "\n";
  }
  out += "GROUP-USS: pages mapped only by the group's processes (what exiting all of them would unmap). SHARED-OUT: pages they share with processes outside the group.\n";
  if (report.charges) out += "\n" + renderChargesTable(report.charges, unit, o);
  write(out);
}

export function renderGroupsTable(report: GroupsReport, unit: Unit, o: TableOptions = {}): string {
  const parts: string[] = [];
  writeGroupsTable(report, { ...o, unit }, (t) => parts.push(t));
  return parts.join("");
}

function cgroupName(path: string | null, inode: number | null): string {
  if (inode === 0) return "(uncharged)";
  return path ?? `@${inode ?? "?"}`;
}

export function renderChargesTable(c: ChargesReport, unit: Unit, o: TableOptions = {}): string {
  const opts = { ...o, unit };
  if (!c.available) return `Cgroup charges: not available (${safeText(c.notes.join("; "))}).\n`;
  const kernelMapped = (r: ChargeRow): number | null => {
    const a = r.accounting;
    return a && a.anon !== null && a.fileMapped !== null ? a.anon + a.fileMapped : null;
  };
  const cols: Column<ChargeRow>[] = [
    { header: "PROCS", value: (r) => String(r.processes) },
    { header: "CHARGED", size: (r) => r.charged },
    { header: "BY-OWN", size: (r) => r.mappedByOwn, drop: 1 },
    { header: "OTHERS-ONLY", size: (r) => r.mappedOnlyByOthers, drop: 1 },
    { header: "ELSEWHERE", size: (r) => r.chargedElsewhere, drop: 1 },
    { header: "SUBTREE", size: (r) => r.chargedSubtree, drop: 2 },
    { header: "K-MAPPED", size: (r) => kernelMapped(r), drop: 3 },
    { header: "K-USAGE", size: (r) => r.accounting?.usage ?? null, drop: 3 },
    { header: "MEMORY CGROUP", align: "left", cut: "middle", value: (r) => cgroupName(r.path, r.inode) },
  ];
  let out = "Mapped pages by the memory cgroup charged for them (/proc/kpagecgroup):\n";
  out += renderTable(cols, c.cgroups, [], opts);
  out +=
    "CHARGED: mapped pages charged to the cgroup itself; BY-OWN / OTHERS-ONLY: of these, mapped by its own processes / only by other cgroups' processes;\n" +
    "ELSEWHERE: pages its processes map that other cgroups pay for; SUBTREE: charged to it or below, to compare with the kernel's\n" +
    "K-MAPPED (anon + mapped file) and K-USAGE (all charged memory, page cache and kernel memory included).\n";
  if (c.flows.length > 0) {
    const fcols: Column<ChargeFlow>[] = [
      { header: "SIZE", size: (f) => f.bytes },
      { header: "RELATION", align: "left", drop: 1, value: (f) => f.relation },
      { header: "MAPPED BY", align: "left", cut: "middle", value: (f) => f.mappedBy },
      { header: "CHARGED TO", align: "left", cut: "middle", value: (f) => cgroupName(f.chargedTo, f.chargedToInode) },
    ];
    out += "\nPages one cgroup's processes map but another cgroup pays for (RELATION: of the charged cgroup to the mapping one):\n";
    out += renderTable(fcols, c.flows.slice(0, MAX_FLOWS), [], opts);
    if (c.flows.length > MAX_FLOWS) out += `... and ${c.flows.length - MAX_FLOWS} smaller ones (all of them are in --json)\n`;
  }
  return out;
}

export function renderGroupsJson(report: GroupsReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
