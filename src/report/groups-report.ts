/**
 * Groups of processes (`pagelens groups`): pure functions from a Scan to one
 * row per group — by user, command, memory cgroup, systemd unit or container,
 * process tree, or an ad hoc set of pids — and to the kpagecgroup view of who
 * pays for the pages a cgroup's processes map.
 *
 * Besides the usual sums of the members' RSS, PSS, USS and swap, a group gets
 * two figures no per-process tool can give:
 *
 *  - group USS: pages every mapping of which comes from members (the
 *    members' mappings of the page add up to its kpagecount). These are what
 *    exiting the whole group would unmap: anonymous ones are freed, file and
 *    shmem ones stay as page cache. A page a parent shares with its forked
 *    children is in no member's USS but in the group's;
 *  - shared outside: pages members map that some process outside the group
 *    maps too (kpagecount exceeds the members' mappings).
 *
 * kpagecount is the kernel's count of every mapping, so both are right even
 * for mappings by processes the scan could not read. Counting is done per
 * PFN with two typed arrays per 2^16 PFNs (a stamp saying which group last
 * touched the PFN and a mapping count), two passes over each group's
 * run-length records, no object per page. Groups may overlap.
 *
 * Pages the scan settled without a lookup (private anonymous pages proved
 * mapped once) are in no run: each is unique to its process, so it is in
 * the group USS of every group holding that process, and never shared.
 * Like RSS, both figures leave out the zero page, PFN maps (map count 0)
 * and hugetlb pages (which return to the hugetlb pool, not to free memory).
 */
import { PAGE_ANON, PAGE_MEMORY, PAGE_SHMEM, pageClass } from "../accounting/page-class.js";
import { distinctMappedOf } from "./distinct-mapped.js";
import { sumRows } from "../accounting/usage.js";
import { isAncestorPath, unitOf, type CgroupAccounting, type UnitInfo } from "../kernel/cgroups.js";
import { forEachRankRange, type Scan, type ScannedProcess } from "../scan/scan-data.js";
import { scanHeader, type ScanHeader } from "./scan-header.js";


export const GROUP_BY = ["user", "command", "cgroup", "unit", "tree"] as const;
export type GroupBy = (typeof GROUP_BY)[number];
/** How the groups of a report were formed: a GroupBy, or one ad hoc set of pids. */
export type GroupKind = GroupBy | "pids";

export const GROUP_SORT_KEYS = ["pss", "rss", "uss", "group-uss", "shared-outside", "swap", "processes", "name"] as const;
export type GroupSortKey = (typeof GROUP_SORT_KEYS)[number];

/** What the report needs to know about memory cgroups (kernel/cgroups.ts MemoryCgroups fits). */
export interface CgroupSource {
  pathOf(inode: number): string | undefined;
  inodeOf(cgroupPath: string): number | undefined;
  accounting(cgroupPath: string): CgroupAccounting | undefined;
}

/** A set of processes measured together. */
export interface GroupSpec {
  readonly key: string;
  readonly label: string;
  readonly members: readonly ScannedProcess[];
  /** The "everything else" group shown next to an ad hoc set or chosen trees. */
  readonly rest: boolean;
  readonly unit?: UnitInfo;
}

// ---------------------------------------------------------------------------
// forming groups

/** Processes that can be in a group: kernel threads and zombies have no user memory. */
function groupable(scan: Scan): ScannedProcess[] {
  return scan.processes.filter((p) => p.state !== "no-mm");
}

/** The cgroup paths a unit is derived from: those given per pid (memory, systemd, v2), else the memory cgroup. */
function unitPaths(p: ScannedProcess, cgroupPaths: ReadonlyMap<number, readonly string[]> | undefined): readonly (string | undefined)[] {
  return cgroupPaths?.get(p.info.pid) ?? [p.info.cgroup];
}

/** The group key of a process for a partition-forming `by`. */
export function groupKeyOf(p: ScannedProcess, by: Exclude<GroupBy, "tree">, cgroupPaths?: ReadonlyMap<number, readonly string[]>): string {
  switch (by) {
    case "user":
      return p.info.user;
    case "command":
      // The kernel's name (comm), as ps_mem groups: the command line of an interpreter names its script, not the program.
      return p.info.comm;
    case "cgroup":
      return p.info.cgroup ?? "?";
    case "unit":
      return unitOf(unitPaths(p, cgroupPaths)).name;
  }
}

/** One group per distinct key. */
export function partitionGroups(scan: Scan, by: Exclude<GroupBy, "tree">, cgroupPaths?: ReadonlyMap<number, readonly string[]>): GroupSpec[] {
  const groups = new Map<string, { members: ScannedProcess[]; unit?: UnitInfo }>();
  for (const p of groupable(scan)) {
    const key = groupKeyOf(p, by, cgroupPaths);
    let g = groups.get(key);
    if (!g) {
      g = { members: [], unit: by === "unit" ? unitOf(unitPaths(p, cgroupPaths)) : undefined };
      groups.set(key, g);
    }
    g.members.push(p);
  }
  return [...groups].map(([key, g]) => ({ key, label: key, members: g.members, rest: false, ...(g.unit ? { unit: g.unit } : {}) }));
}

function restGroup(scan: Scan, taken: ReadonlySet<number>): GroupSpec {
  return { key: "(rest)", label: "everything else", members: groupable(scan).filter((p) => !taken.has(p.info.pid)), rest: true };
}

/** One ad hoc group of the given pids, and everything else. Pids not in the scan are returned as `missing`. */
export function pidsGroups(scan: Scan, pids: readonly number[]): { groups: GroupSpec[]; missing: number[] } {
  const want = new Set(pids);
  const members = groupable(scan).filter((p) => want.has(p.info.pid));
  const found = new Set(members.map((p) => p.info.pid));
  const missing = [...want].filter((pid) => !found.has(pid));
  return { groups: [{ key: "pids", label: `pids ${[...found].join(",")}`, members, rest: false }, restGroup(scan, found)], missing };
}

/**
 * Process trees. With `rootPids`: one group per given pid holding it and
 * all its descendants (trees may nest; a process can be in several), plus
 * everything else. Without: every process under PID 1 is in the tree of its
 * ancestor that is a child of PID 1 (a service, a session, a container's
 * init), PID 1 is a group of its own, and a process whose parent is not in
 * the scan roots a tree. Descendants are by current parent: orphans
 * reparented to PID 1 or a subreaper have left their original tree.
 */
export function treeGroups(scan: Scan, rootPids?: readonly number[]): { groups: GroupSpec[]; missing: number[] } {
  const all = scan.processes;
  const byPid = new Map(all.map((p) => [p.info.pid, p]));
  const children = new Map<number, ScannedProcess[]>();
  for (const p of all) {
    if (p.info.pid === p.info.ppid) continue;
    const list = children.get(p.info.ppid);
    if (list) list.push(p);
    else children.set(p.info.ppid, [p]);
  }
  // pid and name: a command line can run to kilobytes (an --env of JSON), too long for a group label.
  const label = (p: ScannedProcess): string => `${p.info.pid} ${p.info.comm}`;
  if (rootPids !== undefined) {
    const groups: GroupSpec[] = [];
    const missing: number[] = [];
    const taken = new Set<number>();
    for (const root of rootPids) {
      const r = byPid.get(root);
      if (!r) {
        missing.push(root);
        continue;
      }
      const members: ScannedProcess[] = [];
      const seen = new Set<number>();
      const todo = [r];
      while (todo.length > 0) {
        const p = todo.pop()!;
        if (seen.has(p.info.pid)) continue;
        seen.add(p.info.pid);
        if (p.state !== "no-mm") members.push(p);
        taken.add(p.info.pid);
        todo.push(...(children.get(p.info.pid) ?? []));
      }
      members.sort((a, b) => a.info.pid - b.info.pid);
      groups.push({ key: `tree:${root}`, label: label(r), members, rest: false });
    }
    groups.push(restGroup(scan, taken));
    return { groups, missing };
  }
  const rootOf = new Map<number, number>();
  const findRoot = (p: ScannedProcess): number => {
    const path: number[] = [];
    let cur = p;
    // Bounded: a parent loop (pid reuse mid-scan) must not hang.
    for (let i = 0; i < all.length + 1; i++) {
      const known = rootOf.get(cur.info.pid);
      if (known !== undefined) {
        for (const q of path) rootOf.set(q, known);
        return known;
      }
      path.push(cur.info.pid);
      const parent = byPid.get(cur.info.ppid);
      if (cur.info.pid === 1 || cur.info.ppid === 1 || parent === undefined || parent.info.pid === cur.info.pid) break;
      cur = parent;
    }
    for (const q of path) rootOf.set(q, cur.info.pid);
    return cur.info.pid;
  };
  const groups = new Map<number, ScannedProcess[]>();
  for (const p of groupable(scan)) {
    const r = findRoot(p);
    const list = groups.get(r);
    if (list) list.push(p);
    else groups.set(r, [p]);
  }
  return {
    groups: [...groups].map(([root, members]) => ({ key: `tree:${root}`, label: byPid.has(root) ? label(byPid.get(root)!) : String(root), members, rest: false })),
    missing: [],
  };
}

// ---------------------------------------------------------------------------
// per-PFN counting

/** Marks a PFN already classified for the current group (a mapping count never gets near it). */
const DONE = 0xffffffff;

/**
 * Per-PFN scratch, indexed like the kpage table's values (by rank): which
 * group last touched a PFN (stamp) and how many of that group's mappings it
 * has (count). A stamp that differs from the current group's means "not seen
 * yet", so the arrays never need clearing between groups.
 */
class PfnScratch {
  readonly stamps: Int32Array;
  readonly counts: Uint32Array;
  private nextStamp = 1;

  constructor(size: number) {
    this.stamps = new Int32Array(size);
    this.counts = new Uint32Array(size);
  }

  /** A stamp no PFN carries yet: one per group visit. */
  newStamp(): number {
    return this.nextStamp++;
  }
}

/**
 * Call `fn` for every looked-up page of `p`'s runs, as rank ranges [from, to)
 * of the kpage value arrays (a run's PFNs have consecutive ranks).
 */
const forEachSegment = forEachRankRange;

/**
 * Bytes of a process's pages that the scan settled without a lookup. They
 * are exactly the USS not explained by looked-up pages of map count 1: the
 * usage rows hold both, the runs hold only the looked-up ones.
 */
export function settledBytes(scan: Scan, p: ScannedProcess): number {
  if (p.source !== "pagemap") return 0;
  const known = settledCache.get(p);
  if (known !== undefined) return known;
  const pageSize = scan.kernel.pageSize;
  let single = 0;
  const counts = scan.kpage.count;
  const flags = scan.kpage.flagsLo;
  forEachSegment(scan, p, (from, to) => {
    for (let o = from; o < to; o++) if (counts[o] === 1 && pageClass(1, flags[o]!) >= PAGE_MEMORY) single++;
  });
  // Whole pages either way: rounding only guards against float noise in the row sums.
  const bytes = Math.max(0, Math.round((sumRows(p.usage).uss - single * pageSize) / pageSize) * pageSize);
  settledCache.set(p, bytes);
  return bytes;
}

/** A scanned process belongs to one scan (one kpage table, one page size), so its settled bytes never change. */
const settledCache = new WeakMap<ScannedProcess, number>();

export interface GroupFigures {
  /** Sums of the members' own figures (RSS double-counts pages members share, as usual). */
  readonly rss: number;
  readonly pss: number;
  readonly uss: number;
  readonly swap: number;
  readonly swapPss: number;
  /** Pages mapped only by members (bytes); null without page-level data. */
  readonly groupUss: number | null;
  readonly groupUssAnon: number | null;
  readonly groupUssFile: number | null;
  readonly groupUssShmem: number | null;
  /** Pages members map that processes outside the group map too (bytes, each page once). */
  readonly sharedOutside: number | null;
}

export interface MeasureStats {
  /** Pages whose members' mappings exceeded kpagecount: mapped after pagemap was read (counted as the group's). */
  readonly overcounted: number;
}

/** Measure each group. Figures of pages need a pagemap-mode scan; otherwise they are null. */
export function measureGroups(scan: Scan, groups: readonly GroupSpec[]): { figures: GroupFigures[]; stats: MeasureStats } {
  const ps = scan.kernel.pageSize;
  const kpage = scan.kpage;
  const pageLevel = scan.mode === "pagemap";
  const scratch = new PfnScratch(kpage.size);
  let overcounted = 0;
  const figures = groups.map((g): GroupFigures => {
    let rss = 0;
    let pss = 0;
    let uss = 0;
    let swap = 0;
    let swapPss = 0;
    for (const p of g.members) {
      if (p.state !== "ok") continue;
      const u = sumRows(p.usage);
      rss += u.rss;
      pss += u.pss;
      uss += u.uss;
      swap += u.swap;
      swapPss += u.swapPss;
    }
    if (!pageLevel) return { rss, pss, uss, swap, swapPss, groupUss: null, groupUssAnon: null, groupUssFile: null, groupUssShmem: null, sharedOutside: null };
    const members = g.members.filter((p) => p.source === "pagemap");
    const stamp = scratch.newStamp();
    // Pass 1: the members' mappings of each PFN.
    for (const p of members) {
      forEachSegment(scan, p, (from, to) => {
        const counts = kpage.count;
        const flags = kpage.flagsLo;
        const st = scratch.stamps;
        const cnt = scratch.counts;
        for (let o = from; o < to; o++) {
          if (pageClass(counts[o]!, flags[o]!) < PAGE_MEMORY) continue;
          if (st[o] !== stamp) {
            st[o] = stamp;
            cnt[o] = 1;
          } else cnt[o]!++;
        }
      });
    }
    // Pass 2: each PFN once: all its mappings are members', or not.
    let anon = 0;
    let file = 0;
    let shmem = 0;
    let outside = 0;
    for (const p of members) {
      forEachSegment(scan, p, (from, to) => {
        const counts = kpage.count;
        const flags = kpage.flagsLo;
        const cnt = scratch.counts;
        for (let o = from; o < to; o++) {
          const c = counts[o]!;
          const cls = pageClass(c, flags[o]!);
          if (cls < PAGE_MEMORY) continue;
          const m = cnt[o]!;
          if (m === DONE) continue;
          cnt[o] = DONE;
          if (m >= c) {
            if (m > c) overcounted++;
            if (cls === PAGE_ANON) anon++;
            else if (cls === PAGE_SHMEM) shmem++;
            else file++;
          } else outside++;
        }
      });
    }
    let own = 0;
    for (const p of members) own += settledBytes(scan, p);
    return {
      rss,
      pss,
      uss,
      swap,
      swapPss,
      groupUss: (anon + file + shmem) * ps + own,
      groupUssAnon: anon * ps + own,
      groupUssFile: file * ps,
      groupUssShmem: shmem * ps,
      sharedOutside: outside * ps,
    };
  });
  return { figures, stats: { overcounted } };
}

// ---------------------------------------------------------------------------
// charges: which cgroup pays for the pages a cgroup's processes map

/** How the cgroup charged for a page relates to the cgroup of a process mapping it. */
export type ChargeRelation = "ancestor" | "descendant" | "other" | "uncharged" | "unknown";

export interface ChargeRow {
  /** Hierarchy path; null when the inode names no directory found (or the page is uncharged: inode 0). */
  readonly path: string | null;
  readonly inode: number | null;
  /** Scanned processes whose memory cgroup this is. */
  readonly processes: number;
  /** Distinct pages mapped by scanned processes and charged to exactly this cgroup (bytes), by kind. */
  readonly charged: number;
  readonly chargedAnon: number;
  readonly chargedFile: number;
  readonly chargedShmem: number;
  /** Charged here and mapped by at least one of this cgroup's own processes. */
  readonly mappedByOwn: number;
  /** Charged here but mapped only by processes of other cgroups: this cgroup pays for them. */
  readonly mappedOnlyByOthers: number;
  /** Pages this cgroup's processes map that are charged to another cgroup: someone else pays. */
  readonly chargedElsewhere: number;
  /** Own processes' pages settled without a lookup (no kpagecgroup value): 0 in an exact scan. */
  readonly unknownCharge: number;
  /** Charged to this cgroup or any below it: comparable with the kernel's hierarchical figures. */
  readonly chargedSubtree: number;
  readonly chargedSubtreeAnon: number;
  /** The kernel's own accounting of the cgroup (hierarchical); null when it cannot be read. */
  readonly accounting: CgroupAccounting | null;
}

export interface ChargeFlow {
  /** The memory cgroup of the processes that map the pages. */
  readonly mappedBy: string;
  readonly mappedByInode: number | null;
  /** The cgroup charged for them; null when unknown or uncharged. */
  readonly chargedTo: string | null;
  readonly chargedToInode: number;
  /** Distinct pages (bytes). */
  readonly bytes: number;
  readonly relation: ChargeRelation;
}

export interface ChargesReport {
  readonly available: boolean;
  /** Why the view is empty or partial. */
  readonly notes: readonly string[];
  readonly cgroups: readonly ChargeRow[];
  /** Pages mapped by one cgroup's processes but charged to another, largest first. */
  readonly flows: readonly ChargeFlow[];
}

function relationOf(chargedPath: string | undefined, inode: number, mapperPath: string): ChargeRelation {
  if (inode === 0) return "uncharged";
  if (chargedPath === undefined) return "unknown";
  if (isAncestorPath(chargedPath, mapperPath)) return "ancestor";
  if (isAncestorPath(mapperPath, chargedPath)) return "descendant";
  return "other";
}

/**
 * The kpagecgroup view. Needs a scan with `cgroups: true`, and `exact: true`
 * for private pages to have a charge too (settled pages are never looked up).
 */
export function buildCharges(scan: Scan, cgroups: CgroupSource | undefined): ChargesReport {
  const notes: string[] = [];
  if (scan.mode !== "pagemap") return { available: false, notes: ["cgroup charges need page-level data (root)"], cgroups: [], flows: [] };
  if (!scan.kernel.features.kpagecgroup.available)
    return { available: false, notes: [scan.kernel.features.kpagecgroup.note ?? "no /proc/kpagecgroup (kernel built without CONFIG_MEMCG)"], cgroups: [], flows: [] };
  if (scan.kpage.cgroup === undefined) return { available: false, notes: ["the scan did not read /proc/kpagecgroup"], cgroups: [], flows: [] };
  if (scan.trustedExclusive) notes.push("private anonymous pages settled without a lookup have no charge (run an exact scan): they are counted as unknownCharge");
  if (!cgroups) notes.push("the memory cgroup hierarchy is not visible here: cgroups are shown by inode and relations are unknown");
  const ps = scan.kernel.pageSize;
  const kpage = scan.kpage;
  const pathOf = (inode: number): string | undefined => (inode === 0 ? undefined : cgroups?.pathOf(inode));

  // Distinct pages per charged inode.
  const charged = new Map<number, { all: number; anon: number; file: number; shmem: number }>();
  const cgOf = kpage.cgroup!;
  for (let r = 0; r < kpage.count.length; r++) {
    const cls = pageClass(kpage.count[r]!, kpage.flagsLo[r]!);
    if (cls < PAGE_MEMORY) continue;
    const ino = cgOf[r]!;
    let c = charged.get(ino);
    if (!c) {
      c = { all: 0, anon: 0, file: 0, shmem: 0 };
      charged.set(ino, c);
    }
    c.all++;
    if (cls === PAGE_ANON) c.anon++;
    else if (cls === PAGE_SHMEM) c.shmem++;
    else c.file++;
  }

  // Per mapping cgroup: distinct pages its processes map, by charged inode.
  const mappers = partitionGroups(scan, "cgroup");
  const scratch = new PfnScratch(kpage.size);
  const byMapper = mappers.map((g) => {
    const pairs = new Map<number, number>();
    const stamp = scratch.newStamp();
    let unknown = 0;
    for (const p of g.members) {
      if (p.source !== "pagemap") continue;
      unknown += settledBytes(scan, p);
      forEachSegment(scan, p, (from, to) => {
        const cg = cgOf;
        const st = scratch.stamps;
        let last = -1;
        let run = 0;
        for (let o = from; o < to; o++) {
          if (pageClass(kpage.count[o]!, kpage.flagsLo[o]!) < PAGE_MEMORY || st[o] === stamp) continue;
          st[o] = stamp;
          const ino = cg[o]!;
          // Neighbouring pages are nearly always charged alike: one map update per run of them.
          if (ino !== last) {
            if (run > 0) pairs.set(last, (pairs.get(last) ?? 0) + run);
            last = ino;
            run = 0;
          }
          run++;
        }
        if (run > 0) pairs.set(last, (pairs.get(last) ?? 0) + run);
      });
    }
    const path = g.key;
    return { path, inode: path === "?" ? undefined : cgroups?.inodeOf(path), members: g.members.length, pairs, unknown };
  });

  // Rows: every cgroup that is charged or has processes.
  const rows = new Map<string, { path: string | null; inode: number | null; mapper?: (typeof byMapper)[number] }>();
  const rowKey = (path: string | undefined, inode: number | undefined): string => (path !== undefined ? `p:${path}` : `i:${inode ?? "?"}`);
  for (const ino of charged.keys()) {
    const path = pathOf(ino);
    rows.set(rowKey(path, ino), { path: path ?? null, inode: ino });
  }
  for (const m of byMapper) {
    const key = rowKey(m.path, m.inode);
    const row = rows.get(key);
    if (row) row.mapper = m;
    else rows.set(key, { path: m.path, inode: m.inode ?? null, mapper: m });
  }
  const chargedPaths = [...charged].flatMap(([ino, c]) => {
    const path = pathOf(ino);
    return path === undefined ? [] : [{ path, c }];
  });
  const out: ChargeRow[] = [...rows.values()].map((r) => {
    const c = r.inode !== null ? charged.get(r.inode) : undefined;
    const pairs = r.mapper?.pairs ?? new Map<number, number>();
    const own = r.inode !== null ? (pairs.get(r.inode) ?? 0) : 0;
    let elsewhere = 0;
    for (const [ino, n] of pairs) if (ino !== r.inode) elsewhere += n;
    let subtree = 0;
    let subtreeAnon = 0;
    if (r.path !== null) {
      for (const x of chargedPaths)
        if (isAncestorPath(r.path, x.path)) {
          subtree += x.c.all;
          subtreeAnon += x.c.anon;
        }
    } else if (c) {
      subtree = c.all;
      subtreeAnon = c.anon;
    }
    return {
      path: r.path,
      inode: r.inode,
      processes: r.mapper?.members ?? 0,
      charged: (c?.all ?? 0) * ps,
      chargedAnon: (c?.anon ?? 0) * ps,
      chargedFile: (c?.file ?? 0) * ps,
      chargedShmem: (c?.shmem ?? 0) * ps,
      mappedByOwn: own * ps,
      mappedOnlyByOthers: ((c?.all ?? 0) - own) * ps,
      chargedElsewhere: elsewhere * ps,
      unknownCharge: r.mapper?.unknown ?? 0,
      chargedSubtree: subtree * ps,
      chargedSubtreeAnon: subtreeAnon * ps,
      accounting: (r.path !== null ? cgroups?.accounting(r.path) : undefined) ?? null,
    };
  });
  out.sort((a, b) => b.charged - a.charged || b.processes - a.processes || (a.path ?? "").localeCompare(b.path ?? ""));

  const flows: ChargeFlow[] = [];
  for (const m of byMapper)
    for (const [ino, n] of m.pairs) {
      if (m.inode !== undefined && ino === m.inode) continue;
      const chargedPath = pathOf(ino);
      // Without the mapper's inode, its own pages can still be told apart by path.
      if (m.inode === undefined && chargedPath !== undefined && chargedPath === m.path) continue;
      flows.push({ mappedBy: m.path, mappedByInode: m.inode ?? null, chargedTo: chargedPath ?? null, chargedToInode: ino, bytes: n * ps, relation: relationOf(chargedPath, ino, m.path) });
    }
  flows.sort((a, b) => b.bytes - a.bytes || a.mappedBy.localeCompare(b.mappedBy));
  return { available: true, notes, cgroups: out, flows };
}

// ---------------------------------------------------------------------------
// the report

export interface GroupRow extends GroupFigures {
  readonly key: string;
  readonly label: string;
  readonly kind: GroupKind;
  /** The "everything else" row of an ad hoc set or chosen trees. */
  readonly rest: boolean;
  readonly pids: readonly number[];
  readonly processes: number;
  /** Members read page by page / from smaps_rollup only / not at all. */
  readonly measured: number;
  readonly rollup: number;
  readonly unreadable: number;
  /** For --by unit: what the key names. */
  readonly unit: UnitInfo | null;
  /** For --by cgroup: the cgroup's inode and the kernel's own accounting of it. */
  readonly cgroup: { readonly path: string; readonly inode: number | null; readonly accounting: CgroupAccounting | null } | null;
}

export interface GroupsTotals {
  readonly processes: number;
  readonly rss: number;
  readonly pss: number;
  readonly uss: number;
  readonly swap: number;
  /** Distinct memory mapped by all scanned processes; null without page data. */
  readonly distinct: number | null;
  /** When the groups partition the processes: memory private to one group, and the rest of `distinct`. */
  readonly privateToOneGroup: number | null;
  readonly sharedAcrossGroups: number | null;
}

export interface GroupsReport extends ScanHeader {
  readonly by: GroupKind;
  readonly notes: readonly string[];
  readonly groups: readonly GroupRow[];
  readonly totals: GroupsTotals;
  readonly charges: ChargesReport | null;
  readonly vanished: readonly number[];
}

export interface GroupsOptions {
  /** Default "command". Ignored when `pids` is given. */
  readonly by?: GroupBy;
  /** One ad hoc group of these pids (and everything else). */
  readonly pids?: readonly number[];
  /** For by "tree": one group per pid, each with its descendants (and everything else). */
  readonly rootPids?: readonly number[];
  readonly sort?: GroupSortKey;
  readonly reverse?: boolean;
  /** Per pid, the cgroup paths a unit is derived from (memory, name=systemd, v2), most telling first. */
  readonly cgroupPaths?: ReadonlyMap<number, readonly string[]>;
  readonly cgroups?: CgroupSource;
  /** Add the kpagecgroup view. */
  readonly charges?: boolean;
}

function sortValue(r: GroupRow, key: GroupSortKey): number {
  switch (key) {
    case "group-uss":
      return r.groupUss ?? -1;
    case "shared-outside":
      return r.sharedOutside ?? -1;
    case "processes":
      return r.processes;
    case "name":
      return 0;
    default:
      return r[key];
  }
}

/** Sizes descending, name ascending; `reverse` flips. The "everything else" row stays last. */
export function sortGroups(rows: readonly GroupRow[], key: GroupSortKey, reverse = false): GroupRow[] {
  const cmp = (a: GroupRow, b: GroupRow): number => {
    if (a.rest !== b.rest) return a.rest ? 1 : -1;
    const d = key === "name" ? a.label.localeCompare(b.label) : sortValue(b, key) - sortValue(a, key);
    return (d !== 0 ? d : a.key.localeCompare(b.key)) * (reverse ? -1 : 1);
  };
  return [...rows].sort(cmp);
}

export function buildGroupsReport(scan: Scan, opts: GroupsOptions = {}): GroupsReport {
  const notes = [...scan.notes];
  let kind: GroupKind;
  let specs: GroupSpec[];
  if (opts.pids !== undefined) {
    const r = pidsGroups(scan, opts.pids);
    if (r.missing.length > 0) notes.push(`not in the scan (exited, or no such process): pid ${r.missing.join(", ")}`);
    kind = "pids";
    specs = r.groups;
  } else {
    const by = opts.by ?? "command";
    kind = by;
    if (by === "tree") {
      const r = treeGroups(scan, opts.rootPids);
      if (r.missing.length > 0) notes.push(`not in the scan (exited, or no such process): pid ${r.missing.join(", ")}`);
      specs = r.groups;
    } else specs = partitionGroups(scan, by, opts.cgroupPaths);
  }
  // Chosen trees can nest (a process in two groups): then group USS figures overlap and do not add up.
  const memberCount = specs.reduce((a, g) => a + g.members.length, 0);
  const partition = new Set(specs.flatMap((g) => g.members.map((p) => p.info.pid))).size === memberCount;
  if (scan.mode === "pagemap" && scan.kernel.mapcount !== "precise")
    notes.push(
      `this kernel's map counts are ${scan.kernel.mapcount === "average" ? "per-folio averages (CONFIG_NO_PAGE_MAPCOUNT)" : "of unknown kind"}: group USS and shared-outside of large folios are estimates`,
    );
  const { figures, stats } = measureGroups(scan, specs);
  if (stats.overcounted > 0) notes.push(`${stats.overcounted} page(s) gained mappings while the scan ran; they are counted as their group's own`);
  if (scan.mode === "pagemap" && specs.some((g) => g.members.some((p) => p.state === "ok" && p.source !== "pagemap")))
    notes.push("groups with members read from smaps_rollup have group USS and shared-outside from their page-level members only");

  const rows: GroupRow[] = specs.map((g, i) => {
    const f = figures[i]!;
    let cgroup: GroupRow["cgroup"] = null;
    if (kind === "cgroup" && !g.rest && g.key !== "?")
      cgroup = { path: g.key, inode: opts.cgroups?.inodeOf(g.key) ?? null, accounting: opts.cgroups?.accounting(g.key) ?? null };
    return {
      key: g.key,
      label: g.label,
      kind,
      rest: g.rest,
      pids: g.members.map((p) => p.info.pid),
      processes: g.members.length,
      measured: g.members.filter((p) => p.state === "ok" && p.source === "pagemap").length,
      rollup: g.members.filter((p) => p.state === "ok" && p.source === "smaps_rollup").length,
      unreadable: g.members.filter((p) => p.state === "unreadable").length,
      ...f,
      unit: g.unit ?? null,
      cgroup,
    };
  });

  const measured = groupable(scan);
  const sum = (k: "rss" | "pss" | "uss" | "swap"): number => measured.reduce((a, p) => a + (p.state === "ok" ? sumRows(p.usage)[k] : 0), 0);
  const distinct = distinctMappedOf(scan)?.bytes ?? null;
  const privateSum = partition && distinct !== null ? rows.reduce((a, r) => a + (r.groupUss ?? 0), 0) : null;
  return {
    ...scanHeader(scan),
    by: kind,
    notes,
    groups: sortGroups(rows, opts.sort ?? "pss", opts.reverse),
    totals: {
      processes: measured.length,
      rss: sum("rss"),
      pss: sum("pss"),
      uss: sum("uss"),
      swap: sum("swap"),
      distinct,
      privateToOneGroup: privateSum,
      sharedAcrossGroups: privateSum !== null && distinct !== null ? distinct - privateSum : null,
    },
    charges: opts.charges ? buildCharges(scan, opts.cgroups) : null,
    vanished: scan.vanished,
  };
}
