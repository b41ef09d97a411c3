/**
 * The per-mapping report (`pagelens libs`, librank's job): every mapped file
 * and special mapping across all processes, with RSS, PSS, USS and swap
 * summed over the processes that map it, and each process's share.
 *
 * Pure: a Scan (plus, optionally, per-VMA rows read from smaps for processes
 * the scan could only read from smaps_rollup) in, plain data out. A name's
 * PSS is exact: the sum of the per-VMA PSS of every VMA with that name, each
 * of which sums page/mapcount per page.
 */
import { NF, U } from "../accounting/usage.js";
import type { Vma, VmaKind } from "../parse/maps.js";
import { commandOf } from "../scan/process-info.js";
import type { Scan, ScannedProcess } from "../scan/scan-data.js";
import { scanHeader, type ScanHeader } from "./scan-header.js";

/** Unnamed anonymous memory is grouped under this name (and shown only with `all`). */
export const ANON_NAME = "[anon]";

export interface LibSizes {
  /** Virtual size of the mappings. */
  readonly vss: number;
  readonly rss: number;
  readonly pss: number;
  readonly uss: number;
  readonly swap: number;
  readonly swapPss: number;
  /** hugetlb pages mapped (not in RSS, as in smaps), and their proportional share. */
  readonly hugetlb: number;
  readonly hugetlbPss: number;
}

/** One process's share of one name. */
export interface LibProcessRow extends LibSizes {
  readonly pid: number;
  readonly user: string;
  readonly command: string;
  /** Number of VMAs of this process with this name (after the permission filter). */
  readonly vmas: number;
  /** Where the numbers come from: page tables ("pagemap") or the kernel's smaps ("smaps"). */
  readonly source: "pagemap" | "smaps";
}

export interface LibRow extends LibSizes {
  readonly name: string;
  /** The kind of mapping, from maps (file, heap, stack, vdso, shmem, anon...). */
  readonly kind: VmaKind;
  /** The name ends in " (deleted)": an unlinked file, or the internal file of shared anonymous memory, SysV shm or memfd. */
  readonly deleted: boolean;
  /** Distinct permission strings of the VMAs counted. */
  readonly perms: readonly string[];
  /** Number of processes that map it. */
  readonly count: number;
  readonly processes: readonly LibProcessRow[];
}

export const LIBS_SORT_KEYS = ["pss", "uss", "rss", "vss", "swap", "name", "count"] as const;
export type LibsSortKey = (typeof LIBS_SORT_KEYS)[number];

export interface LibsOptions {
  /** Only names matching this. */
  readonly path?: RegExp;
  /** Only VMAs whose permissions match (see matchPerms). */
  readonly perms?: string;
  /** Also unnamed anonymous memory ([anon]) and names with nothing resident, swapped or in hugetlb pages. */
  readonly all?: boolean;
  readonly sort?: LibsSortKey;
  readonly reverse?: boolean;
  /** Only the first N names after sorting. */
  readonly top?: number;
}

/** Per-VMA usage rows read from /proc/PID/smaps, for processes the scan read from smaps_rollup only. */
export interface SmapsRows {
  readonly vmas: readonly Vma[];
  readonly usage: Float64Array;
}

export interface LibsTotals extends LibSizes {
  /** Names in the report (before `top`). */
  readonly names: number;
  /** Distinct processes that map any of them. */
  readonly processes: number;
  /** Processes whose mappings were measured (page tables or smaps). */
  readonly measured: number;
}

export interface LibsReport extends ScanHeader {
  readonly notes: readonly string[];
  readonly filters: { readonly path: string | null; readonly perms: string | null; readonly all: boolean };
  readonly sort: LibsSortKey;
  readonly libraries: readonly LibRow[];
  readonly totals: LibsTotals;
  /** Pids with user memory whose mappings could not be measured (unreadable, or no page or smaps data). */
  readonly unmeasured: readonly number[];
  readonly vanished: readonly number[];
}

/**
 * Does a maps permission string ("r-xp") match a filter? A four-character
 * pattern of r/w/x/s/p, "-" and "?" (any) compares position by position
 * ("r-xp" exactly, "??x?" executable); any other pattern is a set of letters
 * that must all be present ("x": executable, "rw": readable and writable,
 * "s": shared, "p": private).
 */
export function matchPerms(perms: string, pattern: string): boolean {
  if (isPositionalPerms(pattern)) {
    for (let i = 0; i < 4; i++) {
      const c = pattern[i]!;
      if (c !== "?" && c !== perms[i]) return false;
    }
    return true;
  }
  for (const c of pattern) if (!perms.includes(c)) return false;
  return true;
}

function isPositionalPerms(pattern: string): boolean {
  return /^[r?-][w?-][x?-][sp?]$/.test(pattern);
}

/** A valid --perms value: positional (see matchPerms) or a set of the letters r, w, x, s, p. */
export function isPermsPattern(pattern: string): boolean {
  return isPositionalPerms(pattern) || /^[rwxsp]{1,5}$/.test(pattern);
}

/** The name a VMA is grouped under. */
export function groupName(v: Vma): string {
  return v.name === "" ? ANON_NAME : v.name;
}

interface Acc {
  vss: number;
  rss: number;
  pss: number;
  uss: number;
  swap: number;
  swapPss: number;
  hugetlb: number;
  hugetlbPss: number;
}

const zero = (): Acc => ({ vss: 0, rss: 0, pss: 0, uss: 0, swap: 0, swapPss: 0, hugetlb: 0, hugetlbPss: 0 });

function addVma(acc: Acc, v: Vma, usage: Float64Array, row: number): void {
  const b = row * NF;
  acc.vss += v.end - v.start;
  acc.rss += usage[b + U.rss]!;
  acc.pss += usage[b + U.pss]!;
  acc.uss += usage[b + U.uss]!;
  acc.swap += usage[b + U.swap]!;
  acc.swapPss += usage[b + U.swapPss]!;
  acc.hugetlb += usage[b + U.hugetlbPrivate]! + usage[b + U.hugetlbShared]!;
  acc.hugetlbPss += usage[b + U.hugetlbPss]!;
}

function addSizes(into: Acc, s: LibSizes): void {
  into.vss += s.vss;
  into.rss += s.rss;
  into.pss += s.pss;
  into.uss += s.uss;
  into.swap += s.swap;
  into.swapPss += s.swapPss;
  into.hugetlb += s.hugetlb;
  into.hugetlbPss += s.hugetlbPss;
}

interface Group {
  kind: VmaKind;
  deleted: boolean;
  perms: Set<string>;
  acc: Acc;
  procs: LibProcessRow[];
}

/** Where a process's per-VMA rows come from, if anywhere. */
function rowsOf(p: ScannedProcess, smaps: ReadonlyMap<number, SmapsRows> | undefined): { vmas: readonly Vma[]; usage: Float64Array; source: "pagemap" | "smaps" } | undefined {
  if (p.state !== "ok") return undefined;
  if (p.source === "pagemap") return { vmas: p.vmas, usage: p.usage, source: "pagemap" };
  const s = smaps?.get(p.info.pid);
  return s ? { vmas: s.vmas, usage: s.usage, source: "smaps" } : undefined;
}

const isSizeKey = (k: LibsSortKey): k is "pss" | "uss" | "rss" | "vss" | "swap" => k !== "name" && k !== "count";

export function buildLibsReport(scan: Scan, opts: LibsOptions = {}, smaps?: ReadonlyMap<number, SmapsRows>): LibsReport {
  const groups = new Map<string, Group>();
  const unmeasured: number[] = [];
  let measured = 0;
  for (const p of scan.processes) {
    if (p.state === "no-mm") continue;
    const rows = rowsOf(p, smaps);
    if (!rows) {
      unmeasured.push(p.info.pid);
      continue;
    }
    measured++;
    // This process's share of each name, then one row per name.
    const mine = new Map<string, { acc: Acc; vmas: number }>();
    rows.vmas.forEach((v, i) => {
      if (v.name === "" && !opts.all) return;
      const name = groupName(v);
      if (opts.path && !opts.path.test(name)) return;
      if (opts.perms !== undefined && !matchPerms(v.perms, opts.perms)) return;
      let m = mine.get(name);
      if (!m) {
        m = { acc: zero(), vmas: 0 };
        mine.set(name, m);
      }
      m.vmas++;
      addVma(m.acc, v, rows.usage, i);
      let g = groups.get(name);
      if (!g) {
        g = { kind: v.kind, deleted: v.deleted, perms: new Set(), acc: zero(), procs: [] };
        groups.set(name, g);
      }
      g.perms.add(v.perms);
    });
    for (const [name, m] of mine) {
      const g = groups.get(name)!;
      const row: LibProcessRow = { pid: p.info.pid, user: p.info.user, command: commandOf(p.info), vmas: m.vmas, source: rows.source, ...m.acc };
      g.procs.push(row);
      addSizes(g.acc, row);
    }
  }

  const sort = opts.sort ?? "pss";
  const dir = opts.reverse ? -1 : 1;
  // Process rows: by the size key (largest first), by PSS for name/count; ties by pid.
  const procKey = isSizeKey(sort) ? sort : "pss";
  let libs: LibRow[] = [];
  for (const [name, g] of groups) {
    if (!opts.all && g.acc.rss === 0 && g.acc.swap === 0 && g.acc.hugetlb === 0) continue;
    const processes = [...g.procs].sort((a, b) => (b[procKey] - a[procKey] || a.pid - b.pid) * dir);
    libs.push({ name, kind: g.kind, deleted: g.deleted, perms: [...g.perms].sort(), count: processes.length, ...g.acc, processes });
  }
  const cmp = (a: LibRow, b: LibRow): number => {
    let d: number;
    if (sort === "name") d = a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    else if (sort === "count") d = b.count - a.count || b.pss - a.pss;
    else d = b[sort] - a[sort];
    return (d !== 0 ? d : a.name < b.name ? -1 : a.name > b.name ? 1 : 0) * dir;
  };
  libs.sort(cmp);
  const tot = zero();
  const pids = new Set<number>();
  for (const l of libs) {
    addSizes(tot, l);
    for (const p of l.processes) pids.add(p.pid);
  }
  const names = libs.length;
  if (opts.top !== undefined) libs = libs.slice(0, opts.top);

  const notes = [...scan.notes];
  const viaSmaps = smaps ? scan.processes.filter((p) => p.state === "ok" && p.source !== "pagemap" && smaps.has(p.info.pid)).length : 0;
  if (viaSmaps > 0) notes.push(`${viaSmaps} process(es) without page-table access are counted from /proc/PID/smaps (the kernel's per-mapping totals).`);
  // Unreadable processes already have a scan note; these are the ones readable in total but not mapping by mapping.
  const totalsOnly = scan.processes.filter((p) => p.state === "ok" && unmeasured.includes(p.info.pid)).length;
  if (totalsOnly > 0) notes.push(`${totalsOnly} process(es) could only be read as totals (smaps_rollup), not mapping by mapping, and are not in these figures.`);
  return {
    ...scanHeader(scan),
    notes,
    filters: { path: opts.path?.source ?? null, perms: opts.perms ?? null, all: opts.all === true },
    sort,
    libraries: libs,
    totals: { names, processes: pids.size, measured, ...tot },
    unmeasured,
    vanished: scan.vanished,
  };
}
