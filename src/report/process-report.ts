/**
 * The per-process report (`pagelens ps`): pure functions from a Scan to rows,
 * totals and the JSON document. Sizes are bytes; PSS is fractional.
 */
import { NF, sumRowsInto, U, USAGE_FIELDS, usageRow, type MemUsage } from "../accounting/usage.js";
import { commandOf } from "../scan/process-info.js";
import type { Scan, ScannedProcess } from "../scan/scan-data.js";
import { distinctMappedOf } from "./distinct-mapped.js";
import { scanHeader, type ScanHeader } from "./scan-header.js";

export { SCHEMA_VERSION } from "./scan-header.js";

export interface ProcessRow extends MemUsage {
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number | null;
  readonly user: string;
  readonly comm: string;
  readonly command: string;
  readonly cgroup: string | null;
  /**
   * When the process started, in clock ticks after boot (/proc/PID/stat
   * field 22); null where stat could not be read. With the pid it names one
   * process across a boot: a reused pid has another start time (what `top`
   * and `diff` match processes by).
   */
  readonly startTime: number | null;
  readonly state: ScannedProcess["state"];
  readonly source: ScannedProcess["source"];
  readonly reason: string | null;
  /** Virtual size: all mappings except [vsyscall] (as VmSize in status). */
  readonly vss: number;
  /** USS is known exactly only from pagemap; from smaps_rollup it is Private_Clean + Private_Dirty. */
}

/** Virtual size of a process (the kernel's total_vm, which leaves out the [vsyscall] gate). */
export function vssOf(p: ScannedProcess): number {
  let v = 0;
  for (const vma of p.vmas) if (vma.kind !== "vsyscall") v += vma.end - vma.start;
  return v;
}

/**
 * Display commands by command line: a Scanner hands an unchanged process
 * the same command-line array scan after scan (collect.ts MapsCache
 * infoOf), so its row's command is joined once, not in every report.
 */
const commands = new WeakMap<readonly string[], string>();

function commandFor(info: ScannedProcess["info"]): string {
  if (info.cmdline.length === 0) return commandOf(info);
  let c = commands.get(info.cmdline);
  if (c === undefined) commands.set(info.cmdline, (c = commandOf(info)));
  return c;
}

/** The column sums of the row being built (processRow is synchronous: one scratch array serves every call). */
const sums = new Float64Array(NF);

/**
 * One process's row: one object, written out field by field (no usage
 * record spread into it, no temporary arrays), since a long-running caller
 * builds these after every scan (docs/performance.md section 3). The usage
 * fields follow USAGE_FIELDS's order, as the JSON output always has.
 */
export function processRow(p: ScannedProcess): ProcessRow {
  const s = p.state === "ok" ? sumRowsInto(p.usage, sums) : sums.fill(0);
  const i = p.info;
  return {
    pid: i.pid,
    ppid: i.ppid,
    uid: i.uid ?? null,
    user: i.user,
    comm: i.comm,
    command: commandFor(i),
    cgroup: i.cgroup ?? null,
    startTime: i.startTime ?? null,
    state: p.state,
    source: p.source,
    reason: p.reason ?? null,
    vss: vssOf(p),
    rss: s[U.rss]!,
    pss: s[U.pss]!,
    uss: s[U.uss]!,
    shared: s[U.shared]!,
    anon: s[U.anon]!,
    file: s[U.file]!,
    shmem: s[U.shmem]!,
    pssAnon: s[U.pssAnon]!,
    pssFile: s[U.pssFile]!,
    pssShmem: s[U.pssShmem]!,
    swap: s[U.swap]!,
    swapPss: s[U.swapPss]!,
    ksm: s[U.ksm]!,
    thp: s[U.thp]!,
    hugetlbPrivate: s[U.hugetlbPrivate]!,
    hugetlbShared: s[U.hugetlbShared]!,
    hugetlbPss: s[U.hugetlbPss]!,
    zeroPage: s[U.zeroPage]!,
    unmanaged: s[U.unmanaged]!,
    migration: s[U.migration]!,
    guard: s[U.guard]!,
    uffdWp: s[U.uffdWp]!,
    softDirty: s[U.softDirty]!,
  };
}

export const SORT_KEYS = ["pss", "uss", "rss", "vss", "swap", "pid", "command"] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface ProcessFilter {
  readonly pids?: readonly number[];
  readonly user?: string;
  readonly command?: RegExp;
}

export function filterRows(rows: readonly ProcessRow[], f: ProcessFilter): ProcessRow[] {
  return rows.filter(
    (r) =>
      (f.pids === undefined || f.pids.includes(r.pid)) &&
      (f.user === undefined || r.user === f.user || String(r.uid) === f.user) &&
      (f.command === undefined || f.command.test(r.command) || f.command.test(r.comm)),
  );
}

/** Sort: sizes descending (largest first), pid and command ascending; `reverse` flips. Ties by pid. */
export function sortRows(rows: readonly ProcessRow[], key: SortKey, reverse = false): ProcessRow[] {
  const dir = key === "pid" || key === "command" ? 1 : -1;
  const cmp = (a: ProcessRow, b: ProcessRow): number => {
    const d = key === "command" ? a.command.localeCompare(b.command) : (a[key] as number) - (b[key] as number);
    return (d !== 0 ? d * dir : a.pid - b.pid) * (reverse ? -1 : 1);
  };
  return [...rows].sort(cmp);
}

export interface Totals extends MemUsage {
  readonly processes: number;
  readonly vss: number;
  /** Processes whose numbers are in the totals / that could not be read / with a bad file / without user memory. */
  readonly measured: number;
  readonly unreadable: number;
  readonly badInput: number;
  readonly noMemory: number;
}

export function totalsOf(rows: readonly ProcessRow[]): Totals {
  // Sums in a typed array, one record at the end: adding into a record field by field by name
  // made V8 allocate a number for every field of every row (23 per process, every report).
  const acc = new Float64Array(NF);
  let vss = 0;
  let measured = 0;
  let unreadable = 0;
  let badInput = 0;
  let noMemory = 0;
  for (const r of rows) {
    if (r.state === "ok") {
      for (let f = 0; f < NF; f++) acc[f]! += r[USAGE_FIELDS[f]!];
      vss += r.vss;
      measured++;
    } else if (r.state === "unreadable") unreadable++;
    else if (r.state === "bad-input") badInput++;
    else noMemory++;
  }
  return { ...usageRow(acc, 0), processes: rows.length, vss, measured, unreadable, badInput, noMemory };
}

/** Machine-wide figures that are not sums over processes. */
export interface MachineFigures {
  /** Bytes of distinct physical pages mapped by the scanned processes (no page counted twice); null without page data. */
  readonly distinctMapped: number | null;
  /** Bytes of distinct hugetlb pages mapped. */
  readonly distinctHugetlb: number | null;
  readonly memTotal: number | null;
}

/** Distinct pages: report/distinct-mapped.ts, every physical page mapped by a scanned process once. */
export function machineFigures(scan: Scan): MachineFigures {
  const d = distinctMappedOf(scan);
  return { distinctMapped: d?.bytes ?? null, distinctHugetlb: d?.hugetlb ?? null, memTotal: scan.meminfo?.["MemTotal"] ?? null };
}

export interface PsOptions extends ProcessFilter {
  readonly sort?: SortKey;
  readonly reverse?: boolean;
  /** Include kernel threads and zombies (no user memory) as rows. */
  readonly all?: boolean;
}

export interface PsReport extends ScanHeader {
  readonly notes: readonly string[];
  readonly processes: readonly ProcessRow[];
  readonly totals: Totals;
  readonly machine: MachineFigures;
  /** Pids that exited while the scan ran. */
  readonly vanished: readonly number[];
  /** Pids asked for with --pid that do not exist. */
  readonly notFound: readonly number[];
}

export function buildPsReport(scan: Scan, opts: PsOptions = {}): PsReport {
  const all = scan.processes.map(processRow);
  const shown = filterRows(
    all.filter((r) => opts.all || r.state !== "no-mm"),
    opts,
  );
  const rows = sortRows(shown, opts.sort ?? "pss", opts.reverse);
  const unfiltered = opts.pids === undefined && opts.user === undefined && opts.command === undefined;
  return {
    ...scanHeader(scan),
    notes: scan.notes,
    processes: rows,
    totals: totalsOf(unfiltered ? all : rows),
    // Distinct pages are a whole-machine figure: only meaningful for an unfiltered scan.
    machine: unfiltered ? machineFigures(scan) : { distinctMapped: null, distinctHugetlb: null, memTotal: scan.meminfo?.["MemTotal"] ?? null },
    vanished: scan.vanished,
    notFound: scan.notFound,
  };
}
