/**
 * Who shares with whom (`pagelens shares`): for a set of processes (default
 * the top ones by PSS), the bytes of physical pages that each pair, and each
 * exact group, maps in common, split by the kind of page through which they
 * share, and through which mappings:
 *
 *   file     page cache of a file (a library, an executable, a data file)
 *   shmem    swap-backed but not anonymous: MAP_SHARED anonymous memory,
 *            SysV shm, memfd, tmpfs and /dev/shm files
 *   cow      anonymous pages mapped by both: inherited across fork and not
 *            yet written (copy-on-write)
 *   ksm      anonymous pages merged by KSM (shared between unrelated processes)
 *   hugetlb  hugetlb pages (shared hugetlb segments)
 *
 * Each page is counted once per pair however many times each process maps
 * it. The zero page and PFN maps are not memory use and are left out.
 *
 * How: one pass over the page-owner index (analysis/page-owners.ts), in PFN
 * order, folding PFNs that have the same list of mappers into one segment
 * (the pages of a library or a shared region mapped by the same VMAs fold
 * into a handful of segments wherever they lie, even interleaved with
 * another region's), so the per-pair work is per segment, not per page. Pages the scan settled as
 * mapped once are not in the index: they are never shared.
 */
import { NF, U } from "../accounting/usage.js";
import { isKsmPage, PAGE_ANON, PAGE_HUGETLB, PAGE_SHMEM, PAGE_UNMANAGED, PAGE_ZERO, pageClass } from "../accounting/page-class.js";
import { buildPageOwners, type PageOwners } from "../analysis/page-owners.js";
import { commandOf } from "../scan/process-info.js";
import { kpageDenseBlock, PFN_BLOCK_SHIFT, type Scan, type ScannedProcess } from "../scan/scan-data.js";
import { scanHeader, type ScanHeader } from "./scan-header.js";

export const SHARE_KINDS = ["file", "shmem", "cow", "ksm", "hugetlb"] as const;
export type ShareKind = (typeof SHARE_KINDS)[number];
const NK = SHARE_KINDS.length;
const OWNER_PAGE = 1 << PFN_BLOCK_SHIFT;
const K_FILE = 0;
const K_SHMEM = 1;
const K_COW = 2;
const K_KSM = 3;
const K_HUGETLB = 4;

/** Bytes shared, in all and by kind of page. */
export interface ShareBytes {
  readonly bytes: number;
  readonly file: number;
  readonly shmem: number;
  readonly cow: number;
  readonly ksm: number;
  readonly hugetlb: number;
}

/** A mapping through which pages are shared. */
export interface SharedMapping extends ShareBytes {
  /** The mapping's name in maps, or "[anon]" for unnamed anonymous memory. */
  readonly name: string;
  /** For unnamed anonymous memory: the VMA's start address in the first process (after fork it is the same in both). */
  readonly start: number | null;
  /** The name in the other process(es) when it differs (the same file under two paths, a memfd...). */
  readonly otherNames: readonly string[];
  /** The kind with the most bytes. */
  readonly kind: ShareKind;
}

export interface ShareProcessRef {
  readonly pid: number;
  readonly command: string;
}

export interface PairRow extends ShareBytes {
  readonly a: ShareProcessRef;
  readonly b: ShareProcessRef;
  /** Largest first. */
  readonly mappings: readonly SharedMapping[];
}

/** Pages mapped by exactly this set of selected processes (whatever processes outside the selection do). */
export interface GroupRow extends ShareBytes {
  readonly processes: readonly ShareProcessRef[];
  readonly mappings: readonly SharedMapping[];
}

export interface ShareProcessRow extends ShareProcessRef {
  readonly user: string;
  readonly rss: number;
  readonly pss: number;
  readonly uss: number;
  /** Bytes of its pages also mapped by any other scanned process. */
  readonly shared: number;
  /** ... by another selected process. */
  readonly withSelected: number;
  /** ... by a scanned process outside the selection. */
  readonly withOthers: number;
}

export interface SharesOptions {
  /** These processes (default: the top ones by PSS). */
  readonly pids?: readonly number[];
  /** Among processes whose name or command line matches. */
  readonly command?: RegExp;
  /** How many of the top processes by PSS (default 10); with `pids`, ignored. */
  readonly top?: number;
  /**
   * Pairs and groups kept, most shared bytes first (default DEFAULT_SHARES_LIMIT);
   * 0 keeps them all. Mappings (THROUGH) are worked out for at most
   * MAPPINGS_FOR pairs and groups, whatever the limit.
   */
  readonly limit?: number;
}

export interface SharesReport extends ScanHeader {
  readonly notes: readonly string[];
  /** The selected processes, in selection order (largest PSS first by default). */
  readonly processes: readonly ShareProcessRow[];
  /** Pairs that share anything, most bytes first: the first `limit` of `pairCount` (all with limit 0). */
  readonly pairs: readonly PairRow[];
  /** Exact sets of two or more selected processes, most bytes first: the first `limit` of `groupCount`. */
  readonly groups: readonly GroupRow[];
  /** Pairs and groups kept (0: all). */
  readonly limit: number;
  /** All pairs that share anything, and all groups, kept or not. */
  readonly pairCount: number;
  readonly groupCount: number;
  /** Distinct pages mapped by at least two selected processes. */
  readonly withinSelection: ShareBytes;
  /** Processes with page-level data (the ones the index covers). */
  readonly scanned: number;
  /** Requested pids that were not found, or have no page-level data. */
  readonly missing: readonly number[];
  readonly index: { readonly pfns: number; readonly entries: number };
  readonly vanished: readonly number[];
}

export const DEFAULT_SHARES_TOP = 10;

/**
 * Pairs and groups kept by default, most shared bytes first. 300 processes
 * make 44,850 pairs (a 45,147-line table that took 198 s); 2,000 make two
 * million, each with its mappings (the heap ran out). The totals of every
 * pair cost 20 bytes each; what they share through is worked out for the
 * kept ones only, in a second pass.
 */
export const DEFAULT_SHARES_LIMIT = 20;

/** Pairs (and groups) whose mappings are named, at most, also with limit 0: past these, sizes only. */
export const MAPPINGS_FOR = 1000;

/** Choose the processes: the given pids (in that order), else the top N by PSS (among those matching `command`). */
export function selectProcesses(scan: Scan, opts: SharesOptions): { selected: number[]; missing: number[] } {
  const measured = (p: ScannedProcess): boolean => p.state === "ok" && p.source === "pagemap";
  const byPid = new Map<number, number>();
  scan.processes.forEach((p, i) => byPid.set(p.info.pid, i));
  if (opts.pids) {
    const selected: number[] = [];
    const missing: number[] = [];
    for (const pid of opts.pids) {
      const i = byPid.get(pid);
      if (i === undefined || !measured(scan.processes[i]!)) missing.push(pid);
      else if (!selected.includes(i)) selected.push(i);
    }
    return { selected, missing };
  }
  const pssOf = new Map<number, number>();
  const candidates: number[] = [];
  scan.processes.forEach((p, i) => {
    if (!measured(p)) return;
    if (opts.command && !opts.command.test(p.info.comm) && !opts.command.test(commandOf(p.info))) return;
    let pss = 0;
    for (let r = 0; r < p.usage.length; r += NF) pss += p.usage[r + U.pss]!;
    pssOf.set(i, pss);
    candidates.push(i);
  });
  candidates.sort((a, b) => pssOf.get(b)! - pssOf.get(a)! || scan.processes[a]!.info.pid - scan.processes[b]!.info.pid);
  return { selected: candidates.slice(0, opts.top ?? DEFAULT_SHARES_TOP), missing: [] };
}

/** PFNs with the same list of mappers, counted by kind of page (pages). */
interface Segment {
  ids: Uint32Array;
  len: number;
  readonly kinds: Float64Array;
  pages: number;
}

/** Segments kept open at once (see segmentFor). */
const OPEN_SEGMENTS = 16;

/** Per-label accumulation of a pair or group: the mapping names and page kinds. */
interface MappingAcc {
  readonly name: string;
  readonly start: number | null;
  readonly otherNames: Set<string>;
  readonly kinds: Float64Array;
}

function bytesOf(kinds: Float64Array, off: number, pageSize: number): ShareBytes {
  let total = 0;
  for (let k = 0; k < NK; k++) total += kinds[off + k]!;
  return {
    bytes: total * pageSize,
    file: kinds[off + K_FILE]! * pageSize,
    shmem: kinds[off + K_SHMEM]! * pageSize,
    cow: kinds[off + K_COW]! * pageSize,
    ksm: kinds[off + K_KSM]! * pageSize,
    hugetlb: kinds[off + K_HUGETLB]! * pageSize,
  };
}

function mappingsOf(accs: Map<string, MappingAcc> | undefined, pageSize: number): SharedMapping[] {
  if (!accs) return [];
  const out: SharedMapping[] = [];
  for (const m of accs.values()) {
    const b = bytesOf(m.kinds, 0, pageSize);
    let best = 0;
    for (let k = 1; k < NK; k++) if (m.kinds[k]! > m.kinds[best]!) best = k;
    out.push({ name: m.name, start: m.start, otherNames: [...m.otherNames].sort(), kind: SHARE_KINDS[best]!, ...b });
  }
  return out.sort((x, y) => y.bytes - x.bytes || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

/**
 * The hot loop: the PFNs of one table page with two or more mappers, counted
 * by kind into the segment of their mapper list. A small function of its
 * own, so V8 optimises it after the first table page (inside the large
 * report function, on-stack replacement took ~100 ms of a cold run).
 */
function segmentPage(start: Uint32Array, ids: Uint32Array, counts: Uint32Array, flagsLo: Uint32Array, segmentFor: (ids: Uint32Array, from: number, n: number) => Segment): void {
  // The segment of the previous shared PFN, in locals for the hot loop.
  let cur: Segment | undefined;
  let curIds: Uint32Array = new Uint32Array(0);
  let curLen = -1;
  let curKinds: Float64Array = new Float64Array(NK);
  let curPages = 0;
  let end = start[0]!;
  for (let o = 0; o < OWNER_PAGE; o++) {
    const from = end;
    end = start[o + 1]!;
    const n = end - from;
    if (n < 2) continue; // one mapper: shared with no one
    const flags = flagsLo[o]!;
    const cls = pageClass(counts[o]!, flags);
    // Not memory use: the shared zero page, and PFN maps without a map count.
    if (cls === PAGE_ZERO || cls === PAGE_UNMANAGED) continue;
    const kind = cls === PAGE_HUGETLB ? K_HUGETLB : isKsmPage(flags) ? K_KSM : cls === PAGE_ANON ? K_COW : cls === PAGE_SHMEM ? K_SHMEM : K_FILE;
    let same = n === curLen;
    for (let i = 0; same && i < n; i++) if (ids[from + i] !== curIds[i]) same = false;
    if (!same) {
      if (cur) cur.pages += curPages;
      cur = segmentFor(ids, from, n);
      curIds = cur.ids;
      curLen = n;
      curKinds = cur.kinds;
      curPages = 0;
    }
    curKinds[kind]!++;
    curPages++;
  }
  if (cur) cur.pages += curPages;
}

/** What a flushed segment holds: the selected processes that map it, by position, and a mapping id of each. */
interface SegmentView {
  /** Selected positions, in mapper order (distinct processes). */
  readonly sel: readonly number[];
  /** The first mapping id of each, same order. */
  readonly selIds: readonly number[];
  /** Scanned processes outside the selection that map it. */
  readonly others: number;
  readonly kinds: Float64Array;
  readonly pages: number;
}

/**
 * Walk the owner index once, folding PFNs into segments of the same mapper
 * list, and hand each segment mapped by two or more processes, one of them
 * selected, to `visit`. The report walks twice: totals, then the mappings
 * of the pairs and groups it keeps.
 */
function walkSegments(scan: Scan, idx: PageOwners, selPos: Int32Array, visit: (v: SegmentView) => void): void {
  const { mappingProc } = idx;
  const sel: number[] = [];
  const selIds: number[] = [];
  const view: { sel: number[]; selIds: number[]; others: number; kinds: Float64Array; pages: number } = { sel, selIds, others: 0, kinds: new Float64Array(NK), pages: 0 };
  const flush = (seg: Segment): void => {
    const pages = seg.pages;
    if (pages === 0) return;
    sel.length = 0;
    selIds.length = 0;
    let distinct = 0;
    let others = 0;
    let prev = -1;
    for (let i = 0; i < seg.len; i++) {
      const id = seg.ids[i]!;
      const p = mappingProc[id]!;
      if (p === prev) continue;
      prev = p;
      distinct++;
      const s = selPos[p]!;
      if (s < 0) others++;
      else {
        sel.push(s);
        selIds.push(id);
      }
    }
    if (distinct >= 2 && sel.length > 0) {
      view.others = others;
      view.kinds = seg.kinds;
      view.pages = pages;
      visit(view);
    }
    seg.pages = 0;
    seg.len = 0;
    seg.kinds.fill(0);
  };

  // Open segments, most recently used first. Pages of a few different mapper lists often
  // interleave in PFN order (two shared regions allocated at the same time, a library's pages
  // next to another's), so a handful are kept open instead of flushing at every change.
  const open: Segment[] = [];
  const segmentFor = (ids: Uint32Array, from: number, n: number): Segment => {
    for (let s = 0; s < open.length; s++) {
      const seg = open[s]!;
      if (seg.len !== n) continue;
      let same = true;
      for (let i = 0; same && i < n; i++) if (ids[from + i] !== seg.ids[i]) same = false;
      if (!same) continue;
      if (s > 0) {
        open.splice(s, 1);
        open.unshift(seg);
      }
      return seg;
    }
    let seg: Segment;
    if (open.length < OPEN_SEGMENTS) seg = { ids: new Uint32Array(Math.max(n, 16)), len: 0, kinds: new Float64Array(NK), pages: 0 };
    else {
      seg = open.pop()!;
      flush(seg);
      if (seg.ids.length < n) seg.ids = new Uint32Array(Math.max(n, seg.ids.length * 2));
    }
    seg.ids.set(ids.subarray(from, from + n));
    seg.len = n;
    open.unshift(seg);
    return seg;
  };

  // The owner index is paged by 2^16 PFNs: walk it page by page, with the kpage values of the
  // same page laid out by PFN offset (one reused pair of arrays).
  const dense = { count: new Uint32Array(OWNER_PAGE), flagsLo: new Uint32Array(OWNER_PAGE) };
  for (let pg = 0; pg < idx.pages.length; pg++) {
    const owner = idx.pages[pg];
    if (!owner) continue;
    if (!kpageDenseBlock(scan.kpage, pg, dense)) continue; // no kpage values: device memory
    segmentPage(owner.start, owner.ids, dense.count, dense.flagsLo, segmentFor);
  }
  for (const seg of open) flush(seg);
}

/** Index of pair (a, b), a < b, in a triangular array of n(n-1)/2 pairs. */
function pairIndex(a: number, b: number, n: number): number {
  return a * n - (a * (a + 1)) / 2 + (b - a - 1);
}

/** A group's key: its selected positions, ascending. */
function groupKey(sel: readonly number[]): string {
  return [...sel].sort((x, y) => x - y).join(",");
}

/**
 * Build the report. `owners` may be passed when already built for the same
 * scan (it covers all its processes).
 */
export function buildSharesReport(scan: Scan, opts: SharesOptions = {}, owners?: PageOwners): SharesReport {
  const idx = owners ?? buildPageOwners(scan.processes, scan);
  const { selected, missing } = selectProcesses(scan, opts);
  const limit = opts.limit ?? DEFAULT_SHARES_LIMIT;
  const ps = scan.kernel.pageSize;
  const nSel = selected.length;
  const selPos = new Int32Array(scan.processes.length).fill(-1);
  selected.forEach((p, s) => {
    selPos[p] = s;
  });
  const { mappingProc, mappingVma } = idx;

  // Pass 1: totals, in pages. Pairs in a triangular array of page counts by kind (Uint32: up to
  // 16 TiB of 4 KiB pages per pair): 2,000 selected processes take 40 MB.
  const nPairs = (nSel * (nSel - 1)) / 2;
  const pairKinds = new Uint32Array(nPairs * NK);
  const groupKinds = new Map<string, Float64Array>();
  const within = new Float64Array(NK);
  const shared = new Float64Array(nSel);
  const withSel = new Float64Array(nSel);
  const withOthers = new Float64Array(nSel);
  const nonzero: number[] = [];
  walkSegments(scan, idx, selPos, (v) => {
    const k = v.sel.length;
    for (let i = 0; i < k; i++) {
      const s = v.sel[i]!;
      shared[s]! += v.pages;
      if (k >= 2) withSel[s]! += v.pages;
      if (v.others > 0) withOthers[s]! += v.pages;
    }
    if (k < 2) return;
    nonzero.length = 0;
    for (let c = 0; c < NK; c++) if (v.kinds[c]! > 0) nonzero.push(c);
    for (const c of nonzero) within[c]! += v.kinds[c]!;
    // Every pair of the segment's selected processes: k(k-1)/2 of them, only the kinds present.
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++) {
        const a = Math.min(v.sel[i]!, v.sel[j]!);
        const b = Math.max(v.sel[i]!, v.sel[j]!);
        const off = pairIndex(a, b, nSel) * NK;
        for (const c of nonzero) pairKinds[off + c]! += v.kinds[c]!;
      }
    }
    const key = groupKey(v.sel);
    let g = groupKinds.get(key);
    if (!g) {
      g = new Float64Array(NK);
      groupKinds.set(key, g);
    }
    for (const c of nonzero) g[c]! += v.kinds[c]!;
  });

  // Keep the pairs with the most bytes (ties: lower positions first, i.e. larger processes).
  const pagesOfPair = (p: number): number => {
    let t = 0;
    for (let c = 0; c < NK; c++) t += pairKinds[p * NK + c]!;
    return t;
  };
  const sharing: number[] = [];
  for (let p = 0; p < nPairs; p++) if (pagesOfPair(p) > 0) sharing.push(p);
  const pairCount = sharing.length;
  const pairTotals = new Float64Array(nPairs > 0 ? nPairs : 0);
  for (const p of sharing) pairTotals[p] = pagesOfPair(p);
  const posOf = new Int32Array(nPairs * 2);
  for (let a = 0, p = 0; a < nSel; a++) for (let b = a + 1; b < nSel; b++, p++) {
    posOf[2 * p] = a;
    posOf[2 * p + 1] = b;
  }
  const ref = (s: number): ShareProcessRef => refs[s]!;
  const refs: ShareProcessRef[] = selected.map((pi) => {
    const p = scan.processes[pi]!;
    return { pid: p.info.pid, command: commandOf(p.info) };
  });
  const lowPid = (p: number): number => Math.min(ref(posOf[2 * p]!).pid, ref(posOf[2 * p + 1]!).pid);
  const highPid = (p: number): number => Math.max(ref(posOf[2 * p]!).pid, ref(posOf[2 * p + 1]!).pid);
  sharing.sort((p, q) => pairTotals[q]! - pairTotals[p]! || lowPid(p) - lowPid(q) || highPid(p) - highPid(q));
  const keptPairs = limit > 0 ? sharing.slice(0, limit) : sharing;
  const groupEntries = [...groupKinds.entries()].map(([key, kinds]) => ({ key, kinds, pages: kinds.reduce((s, x) => s + x, 0), size: key.split(",").length }));
  groupEntries.sort((g, h) => h.pages - g.pages || h.size - g.size);
  const groupCount = groupEntries.length;
  const keptGroups = limit > 0 ? groupEntries.slice(0, limit) : groupEntries;

  // Pass 2: the mappings of the first MAPPINGS_FOR kept pairs and groups.
  const labels: (string | undefined)[] = [];
  const nameOf = (id: number): string => {
    const v = scan.processes[mappingProc[id]!]!.vmas[mappingVma[id]!]!;
    return v.name === "" ? "[anon]" : v.name;
  };
  /** A key for a mapping: its name, plus the address for unnamed anonymous memory (each region is its own story). */
  const labelOf = (id: number): string => {
    let l = labels[id];
    if (l === undefined) {
      const v = scan.processes[mappingProc[id]!]!.vmas[mappingVma[id]!]!;
      l = v.name === "" ? `[anon]@${v.start}` : v.name;
      labels[id] = l;
    }
    return l;
  };
  const addMapping = (accs: Map<string, MappingAcc>, ids: readonly number[], kinds: Float64Array): void => {
    const first = ids[0]!;
    const key = labelOf(first);
    let m = accs.get(key);
    if (!m) {
      const v = scan.processes[mappingProc[first]!]!.vmas[mappingVma[first]!]!;
      m = { name: nameOf(first), start: v.name === "" ? v.start : null, otherNames: new Set(), kinds: new Float64Array(NK) };
      accs.set(key, m);
    }
    for (let i = 1; i < ids.length; i++) {
      const n = nameOf(ids[i]!);
      if (n !== m.name) m.otherNames.add(n);
    }
    for (let k = 0; k < NK; k++) m.kinds[k]! += kinds[k]!;
  };
  const mapPairs = keptPairs.slice(0, MAPPINGS_FOR);
  const mapGroups = keptGroups.slice(0, MAPPINGS_FOR);
  const pairMaps = new Map<number, Map<string, MappingAcc>>(mapPairs.map((p) => [p, new Map()]));
  const groupMaps = new Map<string, Map<string, MappingAcc>>(mapGroups.map((g) => [g.key, new Map()]));
  if (pairMaps.size > 0 || groupMaps.size > 0) {
    // Where each selected position sits in the current segment (+1; 0 = absent).
    const inSeg = new Int32Array(nSel);
    walkSegments(scan, idx, selPos, (v) => {
      const k = v.sel.length;
      if (k < 2) return;
      for (let i = 0; i < k; i++) inSeg[v.sel[i]!] = i + 1;
      for (const p of mapPairs) {
        const a = posOf[2 * p]!;
        const b = posOf[2 * p + 1]!;
        const ia = inSeg[a]!;
        const ib = inSeg[b]!;
        // Label by the mapping of the process selected first (the larger one by default).
        if (ia > 0 && ib > 0) addMapping(pairMaps.get(p)!, [v.selIds[ia - 1]!, v.selIds[ib - 1]!], v.kinds);
      }
      for (let i = 0; i < k; i++) inSeg[v.sel[i]!] = 0;
      if (groupMaps.size > 0) {
        const accs = groupMaps.get(groupKey(v.sel));
        if (accs) {
          const order = v.sel.map((s, i) => [s, v.selIds[i]!] as const).sort((x, y) => x[0] - y[0]);
          addMapping(accs, order.map((o) => o[1]), v.kinds);
        }
      }
    });
  }

  const processes: ShareProcessRow[] = selected.map((pi, s) => {
    const p = scan.processes[pi]!;
    let rss = 0;
    let pss = 0;
    let uss = 0;
    for (let r = 0; r < p.usage.length; r += NF) {
      rss += p.usage[r + U.rss]!;
      pss += p.usage[r + U.pss]!;
      uss += p.usage[r + U.uss]!;
    }
    return { ...ref(s), user: p.info.user, rss, pss, uss, shared: shared[s]! * ps, withSelected: withSel[s]! * ps, withOthers: withOthers[s]! * ps };
  });
  const kinds = new Float64Array(NK);
  const pairs: PairRow[] = keptPairs.map((p) => {
    for (let c = 0; c < NK; c++) kinds[c] = pairKinds[p * NK + c]!;
    const a = ref(posOf[2 * p]!);
    const b = ref(posOf[2 * p + 1]!);
    // List the lower pid first, so a pair reads the same whatever the selection order.
    const [x, y] = a.pid < b.pid ? [a, b] : [b, a];
    return { a: x, b: y, ...bytesOf(kinds, 0, ps), mappings: mappingsOf(pairMaps.get(p), ps) };
  });
  const groups: GroupRow[] = keptGroups.map((g) => {
    const members = g.key.split(",").map(Number).map(ref).sort((x, y) => x.pid - y.pid);
    return { processes: members, ...bytesOf(g.kinds, 0, ps), mappings: mappingsOf(groupMaps.get(g.key), ps) };
  });

  const notes = [...scan.notes];
  if (missing.length > 0) notes.push(`no page-level data for pid(s) ${missing.join(", ")} (not found, exited, unreadable or without user memory): left out`);
  const blind = scan.processes.filter((p) => p.state === "unreadable" || (p.state === "ok" && p.source !== "pagemap")).length;
  if (blind > 0) notes.push(`${blind} process(es) without page-level data are not in the index: pages shared with them are not seen`);
  if (keptPairs.length > MAPPINGS_FOR || keptGroups.length > MAPPINGS_FOR)
    notes.push(`the mappings shared through are named for the first ${MAPPINGS_FOR} pairs and groups only; the rest have their sizes`);
  return {
    ...scanHeader(scan),
    notes,
    processes,
    pairs,
    groups,
    limit,
    pairCount,
    groupCount,
    withinSelection: bytesOf(within, 0, ps),
    scanned: scan.processes.filter((p) => p.state === "ok" && p.source === "pagemap").length,
    missing,
    index: { pfns: idx.pfns, entries: idx.entries },
    vanished: scan.vanished,
  };
}
