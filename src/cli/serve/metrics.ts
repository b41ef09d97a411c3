/**
 * The mapping from one scan's reports to Prometheus samples: pure (reports
 * in, metric families out), so every number on /metrics is a number of
 * `pagelens ps`, `groups` or `system` from the same scan, and can be tested
 * on fixture reports without a server or a client library.
 *
 * Names follow the Prometheus conventions: a `pagelens_` prefix, base units
 * (bytes, seconds), `_bytes` on sizes, one metric per quantity with labels
 * for the dimensions, and only labels whose sum over a metric is meaningful
 * (the `system` lines add up to MemTotal, so `sum(pagelens_system_bytes)` is
 * MemTotal; parts are a metric of their own so they are not counted twice).
 *
 * Cardinality is bounded: at most `top` processes by PSS get their own
 * series, and one row (pid="other") holds the sum of all the others, so that
 * `sum(pagelens_process_pss_bytes)` is still the total over every process.
 * Groups are bounded the same way per grouping (group="other").
 */
import type { ProcessRow, PsReport } from "../../report/process-report.js";
import type { GroupRow, GroupsReport } from "../../report/groups-report.js";
import type { SystemReport } from "../../report/system-report.js";
import { safeLabel } from "./labels.js";

/** The groupings exported per group (tree and ad hoc sets are not stable dimensions). */
export const SERVE_GROUP_BY = ["user", "cgroup", "unit"] as const;
export type ServeGroupBy = (typeof SERVE_GROUP_BY)[number];

/** One scan's reports: everything /metrics and the JSON endpoints show. */
export interface ScanReports {
  readonly ps: PsReport;
  readonly groups: Readonly<Record<ServeGroupBy, GroupsReport>>;
  readonly system: SystemReport;
}

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

/** One metric: its name, help text, label names and samples (all gauges: a scan's figures go up and down). */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly samples: readonly Sample[];
}

export interface MetricsOptions {
  /** Processes (and groups per grouping) with a series of their own; the rest are summed into "other". */
  readonly top: number;
}

/** The label value of the row that sums everything outside the top N. */
export const OTHER = "other";

const PROCESS_FIELDS = [
  ["rss", "Resident set size: pages of the process present in memory (as smaps Rss)."],
  ["pss", "Proportional set size: each present page divided by the number of processes mapping it."],
  ["uss", "Unique set size: pages mapped by this process only (what exiting it would free)."],
  ["swap", "Swap entries in the process's page tables."],
] as const;

type ProcessField = (typeof PROCESS_FIELDS)[number][0];

/** The `top` rows with the largest PSS (ties by pid), and the sums of the others. */
export function topByPss<R extends Record<ProcessField, number>>(
  rows: readonly R[],
  top: number,
  tie: (a: R, b: R) => number,
): { top: R[]; restRows: R[]; rest: Record<ProcessField, number> & { count: number } } {
  const sorted = [...rows].sort((a, b) => b.pss - a.pss || tie(a, b));
  const n = Math.max(0, Math.floor(top));
  const rest = { rss: 0, pss: 0, uss: 0, swap: 0, count: 0 };
  const restRows = sorted.slice(n);
  for (const r of restRows) {
    rest.rss += r.rss;
    rest.pss += r.pss;
    rest.uss += r.uss;
    rest.swap += r.swap;
    rest.count++;
  }
  return { top: sorted.slice(0, n), restRows, rest };
}

function processFamilies(ps: PsReport, top: number): Family[] {
  // Rows without numbers (unreadable) carry zeros: counted in pagelens_processes, not given series.
  const rows = ps.processes.filter((r) => r.state === "ok");
  const t = topByPss<ProcessRow>(rows, top, (a, b) => a.pid - b.pid);
  const labelsOf = (r: ProcessRow): Labels => ({ pid: String(r.pid), command: safeLabel(r.command), user: safeLabel(r.user) });
  const other: Labels = { pid: OTHER, command: OTHER, user: OTHER };
  const families: Family[] = PROCESS_FIELDS.map(([f, help]) => ({
    name: `pagelens_process_${f}_bytes`,
    help: `${help} Top processes by PSS; pid="other" sums the rest.`,
    labelNames: ["pid", "command", "user"],
    samples: [...t.top.map((r) => ({ labels: labelsOf(r), value: r[f] })), { labels: other, value: t.rest[f] }],
  }));
  const count = (pred: (r: ProcessRow) => boolean): number => ps.processes.filter(pred).length;
  families.push({
    name: "pagelens_processes",
    help: "Processes by how their memory was read: page_level (pagemap), smaps_rollup (the kernel's totals, no root), unreadable (refused), no_memory (kernel threads, zombies).",
    labelNames: ["state"],
    samples: [
      { labels: { state: "page_level" }, value: count((r) => r.state === "ok" && r.source === "pagemap") },
      { labels: { state: "smaps_rollup" }, value: count((r) => r.state === "ok" && r.source === "smaps_rollup") },
      { labels: { state: "unreadable" }, value: ps.totals.unreadable },
      { labels: { state: "no_memory" }, value: ps.totals.noMemory },
    ],
  });
  families.push({
    name: "pagelens_process_series_other_processes",
    help: 'Processes summed into the pid="other" row (outside the top N by PSS).',
    labelNames: [],
    samples: [{ labels: {}, value: t.rest.count }],
  });
  return families;
}

/** Group names are cgroup paths whose distinguishing part is at the end (a container id): kept whole up to this. */
const GROUP_LABEL_MAX = 1024;

const GROUP_FIELDS = [
  ["rss", "Sum of the members' RSS."],
  ["pss", "Sum of the members' PSS."],
  ["uss", "Sum of the members' USS."],
  ["swap", "Sum of the members' swap."],
] as const;

function groupFamilies(groups: ScanReports["groups"], top: number): Family[] {
  const out = new Map<string, { help: string; samples: Sample[] }>();
  const add = (name: string, help: string, s: Sample): void => {
    let f = out.get(name);
    if (!f) out.set(name, (f = { help, samples: [] }));
    f.samples.push(s);
  };
  for (const by of SERVE_GROUP_BY) {
    const rows = groups[by].groups.filter((g) => !g.rest);
    const t = topByPss<GroupRow>(rows, top, (a, b) => a.key.localeCompare(b.key));
    const otherLabels: Labels = { by, group: OTHER };
    for (const [f, help] of GROUP_FIELDS) {
      const name = `pagelens_group_${f}_bytes`;
      const h = `${help} Per group of processes (by user, memory cgroup or unit); group="other" sums the groups outside the top N by PSS.`;
      for (const g of t.top) add(name, h, { labels: { by, group: safeLabel(g.label, GROUP_LABEL_MAX) }, value: g[f] });
      add(name, h, { labels: otherLabels, value: t.rest[f] });
    }
    // Group USS and shared-outside need page-level data (root); without it they are absent, not zero.
    for (const g of t.top) {
      const labels = { by, group: safeLabel(g.label, GROUP_LABEL_MAX) };
      if (g.groupUss !== null)
        add("pagelens_group_group_uss_bytes", "Group USS: memory mapped only by the group's members (what exiting the whole group would unmap).", { labels, value: g.groupUss });
      if (g.sharedOutside !== null)
        add("pagelens_group_shared_outside_bytes", "Memory the group's members map that processes outside the group map too (each page once).", { labels, value: g.sharedOutside });
      add("pagelens_group_processes", "Processes in the group.", { labels, value: g.processes });
    }
    add("pagelens_group_processes", "Processes in the group.", { labels: otherLabels, value: t.restRows.reduce((a, g) => a + g.processes, 0) });
  }
  return [...out].map(([name, f]) => ({ name, help: f.help, labelNames: ["by", "group"], samples: f.samples }));
}

function machineFamilies(r: ScanReports): Family[] {
  const m = r.ps.machine;
  const one = (name: string, help: string, value: number | null): Family[] => (value === null ? [] : [{ name, help, labelNames: [], samples: [{ labels: {}, value }] }]);
  const sys = r.system;
  return [
    ...one("pagelens_machine_memory_total_bytes", "MemTotal: the memory the kernel manages.", sys.memTotal),
    ...one("pagelens_machine_mapped_bytes", "Distinct physical memory mapped by the processes read page by page (each page once; needs root).", m.distinctMapped),
    ...one("pagelens_machine_hugetlb_mapped_bytes", "Distinct hugetlb memory mapped by processes (needs root).", m.distinctHugetlb),
    {
      name: "pagelens_system_bytes",
      help: 'Where MemTotal goes (pagelens system): lines that do not overlap and add up to MemTotal; line="notAttributed" is the remainder.',
      labelNames: ["line"],
      samples: sys.lines.map((l) => ({ labels: { line: l.id }, value: l.bytes })),
    },
    {
      name: "pagelens_system_part_bytes",
      help: "The parts of a pagelens_system_bytes line; a line's parts add up to it.",
      labelNames: ["line", "part"],
      samples: sys.lines.flatMap((l) => l.parts.map((p) => ({ labels: { line: l.id, part: p.id }, value: p.bytes }))),
    },
    {
      name: "pagelens_scan_info",
      help: 'How the last scan read memory (mode="pagemap": page by page as root; "smaps_rollup": the kernel\'s totals) and the kernel release; always 1.',
      labelNames: ["mode", "kernel"],
      samples: [{ labels: { mode: r.ps.mode, kernel: safeLabel(r.ps.kernel.release ?? "unknown") }, value: 1 }],
    },
  ];
}

/**
 * Samples whose labels came out the same (two names alike once made safe or
 * cut) are summed into one: a client library would otherwise keep only the
 * last, and the sums over a metric would silently lose the first.
 */
function mergeDuplicates(f: Family): Family {
  const byKey = new Map<string, Sample>();
  for (const s of f.samples) {
    const key = JSON.stringify(f.labelNames.map((n) => s.labels[n]));
    const prev = byKey.get(key);
    byKey.set(key, prev ? { labels: s.labels, value: prev.value + s.value } : s);
  }
  return byKey.size === f.samples.length ? f : { ...f, samples: [...byKey.values()] };
}

/** Every scan-derived metric family of one scan. */
export function metricFamilies(r: ScanReports, o: MetricsOptions): Family[] {
  return [...processFamilies(r.ps, o.top), ...groupFamilies(r.groups, o.top), ...machineFamilies(r)].map(mergeDuplicates);
}
