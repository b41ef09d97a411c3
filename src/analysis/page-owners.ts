/**
 * Who maps each physical page: for every PFN in the scan's run-length
 * records, the mappings (one VMA of one process) that map it. This is the
 * index behind "who shares with whom" (report/shares-report.ts) and any
 * other question about sets of processes, e.g. group USS (the pages whose
 * every mapper is inside a group).
 *
 * Layout, per table page of 2^16 PFNs (the paging of scan/kpage-lookup.ts):
 *
 *   start: Uint32Array(2^16 + 1)   mappers of PFN base+o are ids[start[o] .. start[o+1])
 *   ids:   Uint32Array             mapping ids, all PFNs of the page back to back
 *
 * A mapping id names one VMA of one process:
 *
 *   id = firstMapping[p] + vmaRow        p = index into the processes given (scan.processes)
 *   mappingProc[id] = p,  mappingVma[id] = vmaRow
 *
 * Ids are handed out process by process and filled in that order, so the
 * list of one PFN is sorted by process (then by record order within a
 * process, which is virtual-address order). A PFN appears once per page
 * table entry that maps it: a process mapping the same page at two
 * addresses contributes two entries, exactly as the kernel's mapcount does.
 * Two typed arrays per table page and no object per page: the index of a
 * machine with a few million mapped shared pages costs a few tens of MiB
 * and is built in two passes over the records.
 *
 * What is NOT in the index: pages the scan settled from pagemap bits alone
 * (private anonymous pages proven mapped exactly once, counted straight
 * into the usage rows). Each has exactly one mapper, the process whose USS
 * it is in, and is never shared. Processes without page-level data
 * (smaps_rollup source, unreadable) have mapping ids but no entries.
 * The zero page and PFN maps (map count 0) are in the index like any other
 * PFN; callers that count memory skip them by their kpageflags.
 */
import { forEachProcessRun, PFN_BLOCK_SHIFT, type IndexRange, type RunChunk, type ScanData } from "../scan/scan-data.js";

/** Paged exactly like the kpage table (by PFN_BLOCK_SHIFT), so a loop can walk both page by page with the same offsets. */
const PAGE = 1 << PFN_BLOCK_SHIFT;

/** What the index needs of a scanned process (ScannedProcess fits). */
export interface OwnerSource {
  readonly vmas: { readonly length: number };
  readonly source: string;
  /** The process's runs and references to shared objects' pages: indexes into the scan's columns. */
  readonly runs: IndexRange;
  readonly refs: IndexRange;
}

/** The page columns the index reads (a ScanData fits). */
export type OwnerPages = Pick<ScanData, "runs" | "objects" | "refs">;

/** The mappers of the PFNs of one table page. */
export interface OwnerPage {
  readonly start: Uint32Array;
  readonly ids: Uint32Array;
}

export class PageOwners {
  constructor(
    /** Per table page of 2^16 PFNs; undefined where no indexed PFN lies. */
    readonly pages: readonly (OwnerPage | undefined)[],
    /** First mapping id of each process; firstMapping[processes.length] = number of ids. */
    readonly firstMapping: Uint32Array,
    /** Mapping id -> index of its process. */
    readonly mappingProc: Uint32Array,
    /** Mapping id -> VMA row in its process. */
    readonly mappingVma: Uint32Array,
    /** Distinct PFNs with at least one mapper. */
    readonly pfns: number,
    /** Entries in all: Σ over PFNs of the number of mappers. */
    readonly entries: number,
  ) {}

  /** The mapping id of VMA row `vma` of process `proc`. */
  mappingId(proc: number, vma: number): number {
    return this.firstMapping[proc]! + vma;
  }

  /** Number of page-table entries that map `pfn` among the scanned processes. */
  mapperCount(pfn: number): number {
    const page = this.pages[Math.floor(pfn / PAGE)];
    if (!page) return 0;
    const o = pfn % PAGE; // not `& (PAGE - 1)`: PFNs of device memory can pass 2^31
    return page.start[o + 1]! - page.start[o]!;
  }

  /** The mapping ids that map `pfn` (a view, not a copy; empty if none). */
  mappersOf(pfn: number): Uint32Array {
    const page = this.pages[Math.floor(pfn / PAGE)];
    if (!page) return new Uint32Array(0);
    const o = pfn % PAGE; // not `& (PAGE - 1)`: PFNs of device memory can pass 2^31
    return page.ids.subarray(page.start[o]!, page.start[o + 1]!);
  }

  /**
   * Visit every indexed PFN in ascending order with at least `minMappers`
   * mappers: its mappers are ids[from .. to). No allocation per PFN, so this
   * is the loop to use over a whole machine.
   */
  forEachPfn(minMappers: number, fn: (pfn: number, ids: Uint32Array, from: number, to: number) => void): void {
    const min = Math.max(1, minMappers);
    for (let p = 0; p < this.pages.length; p++) {
      const page = this.pages[p];
      if (!page) continue;
      const { start, ids } = page;
      const base = p * PAGE;
      for (let o = 0; o < PAGE; o++) {
        const from = start[o]!;
        const to = start[o + 1]!;
        if (to - from >= min) fn(base + o, ids, from, to);
      }
    }
  }
}

/**
 * Build the index from the processes' run records, in place in each page's
 * `start` array (no second array per page, so the peak is the index itself):
 * pass 1 counts the mappers of PFN o into start[o + 1]; a prefix sum makes
 * start[o] the first slot of o; pass 2 writes ids at start[o]++, which
 * leaves start[o] at the first slot of o + 1; shifting by one restores it.
 */
export function buildPageOwners(processes: readonly OwnerSource[], source: OwnerPages): PageOwners {
  const firstMapping = new Uint32Array(processes.length + 1);
  let ids = 0;
  processes.forEach((p, i) => {
    firstMapping[i] = ids;
    ids += p.vmas.length;
  });
  firstMapping[processes.length] = ids;
  const mappingProc = new Uint32Array(ids);
  const mappingVma = new Uint32Array(ids);
  processes.forEach((p, i) => {
    const f = firstMapping[i]!;
    for (let v = 0; v < p.vmas.length; v++) {
      mappingProc[f + v] = i;
      mappingVma[f + v] = v;
    }
  });

  // Pass 1: mappers per PFN, into start[o + 1].
  const starts: (Uint32Array | undefined)[] = [];
  processes.forEach((p) => {
    if (p.source !== "pagemap") return;
    forEachProcessRun(source, p, (cols, from, to) => countRuns(cols, from, to, starts));
  });

  // Prefix sums: start[o] = first slot of PFN o.
  const pages: (OwnerPage | undefined)[] = [];
  let pfns = 0;
  let entries = 0;
  for (let pg = 0; pg < starts.length; pg++) {
    const start = starts[pg];
    if (!start) continue;
    pfns += prefixSum(start);
    entries += start[PAGE]!;
    pages[pg] = { start, ids: new Uint32Array(start[PAGE]!) };
  }

  // Pass 2: write the ids, process by process, so each PFN's list is sorted by process.
  processes.forEach((p, i) => {
    if (p.source !== "pagemap") return;
    const first = firstMapping[i]!;
    forEachProcessRun(source, p, (cols, from, to) => fillRuns(cols, from, to, first, pages));
  });

  // Each start[o] now holds the first slot of o + 1: shift back by one.
  for (const page of pages) {
    if (!page) continue;
    page.start.copyWithin(1, 0, PAGE);
    page.start[0] = 0;
  }
  return new PageOwners(pages, firstMapping, mappingProc, mappingVma, pfns, entries);
}

/*
 * The two passes over run records, as small module-level functions rather
 * than a shared per-record callback: they run once per record of the whole
 * machine, and small functions get optimised within the first chunk.
 */

/** Pass 1: add each record's pages to the mapper counts, kept in start[o + 1]. */
function countRuns(cols: RunChunk, from: number, to: number, starts: (Uint32Array | undefined)[]): void {
  const pfnCol = cols.pfn;
  const lenCol = cols.len;
  for (let r = from; r < to; r++) {
    let at = pfnCol[r]!;
    let left = lenCol[r]!;
    while (left > 0) {
      const pg = Math.floor(at / PAGE);
      let c = starts[pg];
      if (c === undefined) {
        c = new Uint32Array(PAGE + 1);
        starts[pg] = c;
      }
      const o0 = at % PAGE;
      const n = Math.min(left, PAGE - o0);
      for (let o = o0 + 1; o <= o0 + n; o++) c[o]!++;
      at += n;
      left -= n;
    }
  }
}

/** Turn counts in start[1..PAGE] into running sums; returns how many PFNs have a mapper. */
function prefixSum(start: Uint32Array): number {
  let pfns = 0;
  for (let o = 1; o <= PAGE; o++) {
    if (start[o] !== 0) pfns++;
    start[o]! += start[o - 1]!;
  }
  return pfns;
}

/** Pass 2: write each record's mapping id at its PFNs' cursors (start[o]++). */
function fillRuns(cols: RunChunk, from: number, to: number, firstId: number, pages: readonly (OwnerPage | undefined)[]): void {
  const pfnCol = cols.pfn;
  const lenCol = cols.len;
  const vmaCol = cols.vma;
  for (let r = from; r < to; r++) {
    const id = firstId + vmaCol[r]!;
    let at = pfnCol[r]!;
    let left = lenCol[r]!;
    while (left > 0) {
      const pg = Math.floor(at / PAGE);
      const page = pages[pg]!;
      const cursor = page.start;
      const out = page.ids;
      const o0 = at % PAGE;
      const n = Math.min(left, PAGE - o0);
      for (let o = o0; o < o0 + n; o++) out[cursor[o]!++] = id;
      at += n;
      left -= n;
    }
  }
}
