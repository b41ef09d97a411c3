/**
 * `pagelens system`: the whole machine reconciled. MemTotal is cut into lines
 * that do not overlap, each taken from the source that measures it best:
 *
 *   - memory mapped by processes: the page-table scan, every physical page
 *     counted once (the same figure as `ps`'s distinct mapped memory);
 *   - page cache, shmem and anonymous pages that nobody maps: the kpageflags
 *     census, which sees every page's state;
 *   - kernel, hugetlb pools and free memory: /proc/meminfo, the kernel's own
 *     counters (kernel allocations mostly carry no page flags to count);
 *   - what is left, MemTotal minus all of the above: "not attributed", shown
 *     as computed, negative or not, never folded into another line.
 *
 * Every line also carries the other sources' view of the same quantity
 * (cross-checks), so a disagreement is visible rather than averaged away.
 * Pure: the inputs are a parsed meminfo, a census summary and the scan's
 * machine figures, plus three facts about the kernel that decide overlaps
 * and explain the remainder (vmap'd stacks, the pages the zones manage,
 * free page reporting); the command gathers them.
 */
import { memoryKind, PAGE_ANON, PAGE_FILE, PAGE_SHMEM } from "../accounting/page-class.js";
import { F_BUDDY, F_HUGE, F_LRU, F_MMAP, F_NOPAGE, F_PGTABLE, F_SLAB, F_ZERO_PAGE, KPF_OFFLINE, KPF_RESERVED } from "../decode/kpageflags.js";
import type { Meminfo } from "../parse/meminfo.js";
import type { Census } from "../scan/census.js";
import type { Scan } from "../scan/scan-data.js";
import { distinctMappedOf } from "./distinct-mapped.js";
import { buildPsReport } from "./process-report.js";
import type { ScanHeader } from "./scan-header.js";

const F_OFFLINE = 1 << KPF_OFFLINE;
/** RESERVED is a kernel-hacker bit: bit 0 of the high half. */
const H_RESERVED = 1 << (KPF_RESERVED - 32);

// ---------------------------------------------------------------------------
// The census, in classes

/**
 * Census classes: every physical page falls in exactly one, tested in this
 * order. Typed pages first (a slab page may also show `anonymous`, a bit its
 * metadata happens to set), then mapped user pages, then unmapped ones.
 */
export const CENSUS_CLASSES = [
  "noMemmap", // NOPAGE: a hole or an offline memory section
  "offline", // OFFLINE: logically offline (balloon, virtio-mem)
  "hugetlb", // HUGE: hugetlb pool pages, in use or free
  "buddy", // BUDDY: free in the buddy allocator
  "slab", // SLAB
  "pageTables", // PGTABLE
  "zeroPage", // ZERO_PAGE: the shared zero page and the huge zero page
  "mappedAnon", // MMAP + ANON
  "mappedShmem", // MMAP + SWAPBACKED, not ANON
  "mappedFile", // MMAP, neither
  "anonUnmapped", // ANON, not MMAP: swap cache, pages being freed
  "shmemUnmapped", // SWAPBACKED, not ANON nor MMAP: tmpfs, shm, memfd nobody maps
  "pageCacheUnmapped", // LRU, none of the above: file pages nobody maps
  "reserved", // RESERVED (kernel image, firmware, boot allocations)
  "noFlags", // the word is 0
  "other", // anything else (kernel allocations with only compound or private bits, pages off the LRU for a moment)
] as const;
export type CensusClass = (typeof CENSUS_CLASSES)[number];

export const CENSUS_CLASS_LABELS: Readonly<Record<CensusClass, string>> = {
  noMemmap: "no memory map (hole, offline section)",
  offline: "offline (balloon, virtio-mem)",
  hugetlb: "hugetlb pool",
  buddy: "free (buddy allocator)",
  slab: "slab",
  pageTables: "page tables",
  zeroPage: "zero pages",
  mappedAnon: "mapped, anonymous",
  mappedShmem: "mapped, shmem",
  mappedFile: "mapped, file",
  anonUnmapped: "anonymous, not mapped",
  shmemUnmapped: "shmem and tmpfs, not mapped",
  pageCacheUnmapped: "page cache, not mapped",
  reserved: "reserved",
  noFlags: "no flags (not initialised yet, untyped kernel, firmware, unknown)",
  other: "other flag combinations",
};

/** The census class of a mapped page, by the kind accounting/page-class.ts gives it. */
const MAPPED_CLASS: Readonly<Record<number, CensusClass>> = { [PAGE_ANON]: "mappedAnon", [PAGE_SHMEM]: "mappedShmem", [PAGE_FILE]: "mappedFile" };

/** The class of one raw kpageflags word (lo, hi halves). */
export function classifyFlags(lo: number, hi: number): CensusClass {
  if (lo === 0 && hi === 0) return "noFlags";
  if (lo & F_NOPAGE) return "noMemmap";
  if (lo & F_OFFLINE) return "offline";
  if (lo & F_HUGE) return "hugetlb";
  if (lo & F_BUDDY) return "buddy";
  if (lo & F_SLAB) return "slab";
  if (lo & F_PGTABLE) return "pageTables";
  if (lo & F_ZERO_PAGE) return "zeroPage";
  // MMAP before RESERVED: vDSO pages are reserved kernel pages that processes map, and the scan counts them.
  const kind = memoryKind(lo);
  if (lo & F_MMAP) return MAPPED_CLASS[kind]!;
  if (kind === PAGE_ANON) return "anonUnmapped";
  if (kind === PAGE_SHMEM) return "shmemUnmapped";
  if (lo & F_LRU) return "pageCacheUnmapped";
  if (hi & H_RESERVED) return "reserved";
  return "other";
}

/** A whole-machine census reduced to page counts per class. */
export interface CensusSummary {
  /** The kpageflags file read. */
  readonly source: string;
  /** Pages examined (the whole PFN space). */
  readonly pfns: number;
  readonly pages: Readonly<Record<CensusClass, number>>;
}

export function emptyClassCounts(): Record<CensusClass, number> {
  return Object.fromEntries(CENSUS_CLASSES.map((c) => [c, 0])) as Record<CensusClass, number>;
}

/** Classify once per distinct flag word (a few hundred), never per page. */
export function summarizeCensus(census: Census, source: string): CensusSummary {
  const pages = emptyClassCounts();
  census.counts.forEach((lo, hi, n) => {
    pages[classifyFlags(lo, hi)] += n;
  });
  return { source, pfns: census.pages, pages };
}

/**
 * Pages managed by the memory zones: the sum of /proc/zoneinfo's `managed`
 * lines (one per zone). The kernel's MemTotal is normally this sum.
 */
export function zoneManagedPages(zoneinfo: string): number {
  let n = 0;
  for (const m of zoneinfo.matchAll(/^\s+managed\s+(\d+)$/gm)) n += Number(m[1]);
  return n;
}

// ---------------------------------------------------------------------------
// What the scan knows

/** The scan's machine-wide figures, in bytes. */
export interface ProcessFigures {
  /** Distinct physical pages mapped by the processes read page by page: `ps`'s `machine.distinctMapped`. */
  readonly distinct: number;
  /** Its split. anon includes the private pages settled from pagemap bits (no flags looked up: anonymous by the walk's rule). */
  readonly anon: number;
  readonly file: number;
  readonly shmem: number;
  /** Distinct hugetlb pages mapped (in the hugetlb pool line, not in `distinct`). */
  readonly hugetlbMapped: number;
  /** Processes read page by page. */
  readonly measured: number;
  /** Processes the kernel would not let us read (their pages are in no line). */
  readonly unreadable: number;
  /** Processes with smaps_rollup totals only (no PFNs): not in `distinct` either. */
  readonly rollupOnly: number;
}

/**
 * The figures from a scan, or undefined when it has no page-level data (no
 * root): report/distinct-mapped.ts, the computation behind `ps`'s
 * machine.distinctMapped, so the line is `ps`'s number by construction. file
 * and shmem are exact (every mapped file or shmem page is looked up: only
 * exclusive private anonymous pages are settled without a lookup).
 */
export function processFigures(scan: Scan): ProcessFigures | undefined {
  const d = distinctMappedOf(scan);
  if (d === null) return undefined;
  const ps = buildPsReport(scan);
  let rollupOnly = 0;
  for (const p of scan.processes) if (p.state === "ok" && p.source === "smaps_rollup") rollupOnly++;
  return {
    distinct: d.bytes,
    anon: d.anon,
    file: d.file,
    shmem: d.shmem,
    hugetlbMapped: d.hugetlb,
    measured: ps.processes.filter((r) => r.state === "ok" && r.source === "pagemap").length,
    unreadable: ps.totals.unreadable,
    rollupOnly,
  };
}

// ---------------------------------------------------------------------------
// The reconciliation

/** Where a figure comes from. "remainder": MemTotal minus the other lines. */
export type SystemSource = "scan" | "census" | "meminfo" | "remainder";

/** Another source's figure for the same quantity. */
export interface CrossCheck {
  readonly source: SystemSource;
  /** How it is computed from that source. */
  readonly how: string;
  readonly bytes: number;
}

export interface SystemLine {
  readonly id: string;
  readonly label: string;
  /** Bytes; negative only for "not attributed" (or, under heavy churn, the anonymous remainder of the scan). */
  readonly bytes: number;
  readonly source: SystemSource;
  /** How `bytes` is computed from the source (meminfo fields, census classes). */
  readonly how: string;
  readonly checks: readonly CrossCheck[];
  /** Parts of this line; they add up to `bytes` exactly. */
  readonly parts: readonly SystemLine[];
}

export interface SystemInputs {
  readonly meminfo: Meminfo;
  readonly census?: CensusSummary;
  readonly processes?: ProcessFigures;
  readonly pageSize: number;
  /**
   * CONFIG_VMAP_STACK: kernel stacks are vmalloc areas, so VmallocUsed
   * includes KernelStack (measured: 400 new processes raised both by the
   * same 6336 kB). Undefined: not known (no kernel config).
   */
  readonly vmapStack?: boolean;
  /**
   * Bytes the memory zones manage (/proc/zoneinfo, the sum of `managed`).
   * Normally equal to MemTotal; less when the kernel counts memory it has
   * not initialised yet (deferred struct page init done lazily).
   */
  readonly zoneManaged?: number;
  /**
   * Free page reporting (virtio-balloon), when the kernel has it
   * (/sys/module/page_reporting): pages being reported are taken off the
   * buddy lists and out of MemFree for a while.
   */
  readonly pageReporting?: PageReporting;
}

export interface PageReporting {
  /** page_reporting_order: free blocks of 2^order pages and larger are reported. */
  readonly order: number;
  /** A kernel-specific bound on the pages waiting to be reported (max_waiting_mib), in bytes; upstream has none. */
  readonly maxWaiting?: number;
}

/** Upstream's PAGE_REPORTING_CAPACITY: blocks isolated at once by one reporting pass (mm/page_reporting.h). */
const REPORTING_CAPACITY = 32;

export interface Reconciliation {
  readonly memTotal: number;
  /** Top-level lines, "not attributed" last: they add up to memTotal exactly. */
  readonly lines: readonly SystemLine[];
  readonly notes: readonly string[];
}

function line(id: string, label: string, bytes: number, source: SystemSource, how: string, checks: readonly CrossCheck[] = [], parts: readonly SystemLine[] = []): SystemLine {
  return { id, label, bytes, source, how, checks, parts };
}

function sumOf(lines: readonly SystemLine[]): number {
  let s = 0;
  for (const l of lines) s += l.bytes;
  return s;
}

/** A whole number of bytes as a short size for notes ("1.5 GiB", "-3.0 MiB"). */
function short(bytes: number): string {
  const a = Math.abs(bytes);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = a;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${bytes < 0 ? "-" : ""}${i === 0 ? String(v) : v.toFixed(1)} ${units[i]}`;
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

/** Above this share of MemTotal a disagreement between sources earns a note. */
const NOTE_SHARE = 0.01;

/**
 * Split MemTotal. Every line's figure comes from one source, chosen per
 * line; the remainder is "not attributed". See docs/numbers.md, "The whole
 * machine", for each definition.
 */
export function reconcileSystem(inp: SystemInputs): Reconciliation {
  const mi = inp.meminfo;
  const has = (k: string): boolean => mi[k] !== undefined;
  const m = (k: string): number => mi[k] ?? 0;
  const memTotal = m("MemTotal");
  const c = inp.census;
  const cb = (k: CensusClass): number => (c ? c.pages[k] * inp.pageSize : 0);
  /** The census's figure as a cross-check, when there is a census. */
  const byCensus = (bytes: number, how: string): CrossCheck[] => (c ? [{ source: "census", how, bytes }] : []);
  const p = inp.processes;
  const notes: string[] = [];
  const lines: SystemLine[] = [];

  // Mapped by processes.
  const censusMapped = cb("mappedAnon") + cb("mappedFile") + cb("mappedShmem");
  if (p) {
    lines.push(
      line(
        "processes",
        "mapped by processes",
        p.distinct,
        "scan",
        `distinct pages of ${p.measured} ${plural(p.measured, "process", "processes")}`,
        [...byCensus(censusMapped, "mmap"), { source: "meminfo", how: "AnonPages + Mapped", bytes: m("AnonPages") + m("Mapped") }],
        [
          line("anon", "anonymous", p.anon, "scan", "the rest (distinct − file − shmem)", [...byCensus(cb("mappedAnon"), "mmap, anon"), { source: "meminfo", how: "AnonPages", bytes: m("AnonPages") }]),
          line("file", "file", p.file, "scan", "by page flags", byCensus(cb("mappedFile"), "mmap, not anon or swapbacked")),
          line("shmem", "shmem, tmpfs, SysV shm, memfd", p.shmem, "scan", "by page flags", byCensus(cb("mappedShmem"), "mmap, swapbacked, not anon")),
        ],
      ),
    );
    if (p.unreadable > 0) notes.push(`${p.unreadable} ${plural(p.unreadable, "process", "processes")} could not be read: pages only ${plural(p.unreadable, "it maps", "they map")} are in "not attributed".`);
    if (p.rollupOnly > 0)
      notes.push(`${p.rollupOnly} ${plural(p.rollupOnly, "process was", "processes were")} read from smaps_rollup only (no PFNs): pages only ${plural(p.rollupOnly, "it maps", "they map")} are in "not attributed".`);
  } else {
    lines.push(
      line("processes", "mapped by processes", m("AnonPages") + m("Mapped"), "meminfo", "AnonPages + Mapped", byCensus(censusMapped, "mmap"), [
        line("anon", "anonymous", m("AnonPages"), "meminfo", "AnonPages", byCensus(cb("mappedAnon"), "mmap, anon")),
        line("fileAndShmem", "file and shmem", m("Mapped"), "meminfo", "Mapped", byCensus(cb("mappedFile") + cb("mappedShmem"), "mmap, not anon")),
      ]),
    );
    notes.push("Memory mapped by processes is meminfo's AnonPages + Mapped: counting distinct pages needs root (PFNs in pagemap, /proc/kpagecount).");
  }

  // Page cache, shmem and anonymous memory nobody maps.
  const bufCached = m("Buffers") + m("Cached");
  if (c) {
    // meminfo's view of the same pages: its totals less the census's mapped share (meminfo's Mapped does not split file from shmem).
    lines.push(
      line("pageCache", "page cache, not mapped", cb("pageCacheUnmapped"), "census", "lru, not mmap, anon or swapbacked", [
        { source: "meminfo", how: "Buffers + Cached − Shmem − (Mapped − census mapped shmem)", bytes: bufCached - m("Shmem") - (m("Mapped") - cb("mappedShmem")) },
      ]),
      line("shmem", "shmem and tmpfs, not mapped", cb("shmemUnmapped"), "census", "swapbacked, not mmap or anon", [
        { source: "meminfo", how: "Shmem − census mapped shmem", bytes: m("Shmem") - cb("mappedShmem") },
      ]),
      line("anonUnmapped", "anonymous, not mapped (swap cache)", cb("anonUnmapped"), "census", "anon, not mmap"),
    );
  } else {
    lines.push(line("pageCacheAndShmem", "page cache and shmem, not mapped", bufCached - m("Mapped"), "meminfo", "Buffers + Cached − Mapped"));
    notes.push("Page cache and shmem not mapped are meminfo's Buffers + Cached − Mapped, in one line: telling them apart needs root (/proc/kpageflags).");
  }

  // Kernel: meminfo's counters. With CONFIG_VMAP_STACK kernel stacks are vmalloc areas, so they are taken out of VmallocUsed.
  const stacks = m("KernelStack");
  const scs = m("ShadowCallStack"); // arm64; always vmalloc'd (scs_alloc)
  let vmap = inp.vmapStack;
  if (vmap === undefined) {
    // Unknown config: the 64-bit default is on; a VmallocUsed smaller than the stacks proves it off.
    vmap = m("VmallocUsed") >= stacks + scs;
    notes.push(`No kernel config: kernel stacks are assumed ${vmap ? "" : "not "}to be vmalloc'd (CONFIG_VMAP_STACK), so they ${vmap ? "are" : "are not"} taken out of VmallocUsed.`);
  }
  const kernelParts: SystemLine[] = [];
  const slabHow = has("SReclaimable") || has("SUnreclaim") ? "SReclaimable + SUnreclaim" : "Slab";
  kernelParts.push(line("slab", "slab", slabHow === "Slab" ? m("Slab") : m("SReclaimable") + m("SUnreclaim"), "meminfo", slabHow, byCensus(cb("slab"), "slab")));
  if (has("KReclaimable") && m("KReclaimable") - m("SReclaimable") !== 0)
    kernelParts.push(line("otherReclaimable", "other reclaimable", m("KReclaimable") - m("SReclaimable"), "meminfo", "KReclaimable − SReclaimable"));
  kernelParts.push(line("pageTables", "page tables", m("PageTables"), "meminfo", "PageTables", byCensus(cb("pageTables"), "pgtable")));
  if (m("SecPageTables") !== 0) kernelParts.push(line("secPageTables", "secondary page tables (KVM, IOMMU)", m("SecPageTables"), "meminfo", "SecPageTables"));
  kernelParts.push(line("kernelStack", "kernel stacks", stacks, "meminfo", "KernelStack"));
  if (scs !== 0) kernelParts.push(line("shadowCallStack", "shadow call stacks", scs, "meminfo", "ShadowCallStack"));
  const vmallocHow = ["VmallocUsed", ...(vmap ? ["KernelStack"] : []), ...(scs !== 0 ? ["ShadowCallStack"] : [])].join(" − ");
  kernelParts.push(line("vmalloc", vmap ? "vmalloc (without stacks)" : "vmalloc", m("VmallocUsed") - (vmap ? stacks : 0) - scs, "meminfo", vmallocHow));
  kernelParts.push(line("percpu", "per-CPU areas", m("Percpu"), "meminfo", "Percpu"));
  if (m("Zswap") !== 0) kernelParts.push(line("zswap", "zswap pool", m("Zswap"), "meminfo", "Zswap"));
  lines.push(line("kernel", "kernel", sumOf(kernelParts), "meminfo", "the parts below", [], kernelParts));

  // hugetlb pools: every size (Hugetlb, 5.16+), with the default size split into used and free.
  const hpSize = m("Hugepagesize");
  const hpTotal = m("HugePages_Total") * hpSize;
  const hpFree = m("HugePages_Free") * hpSize;
  const pool = has("Hugetlb") ? m("Hugetlb") : hpTotal;
  const hugeParts: SystemLine[] = [
    line("used", "in use (default size)", hpTotal - hpFree, "meminfo", "(HugePages_Total − _Free) × Hugepagesize", p ? [{ source: "scan", how: "distinct hugetlb pages mapped", bytes: p.hugetlbMapped }] : []),
    line("free", "free (default size)", hpFree, "meminfo", "HugePages_Free × Hugepagesize"),
  ];
  if (pool - hpTotal !== 0) hugeParts.push(line("otherSizes", "other page sizes", pool - hpTotal, "meminfo", "Hugetlb − HugePages_Total × Hugepagesize"));
  lines.push(line("hugetlb", "hugetlb pools", pool, "meminfo", has("Hugetlb") ? "Hugetlb" : "HugePages_Total × Hugepagesize", byCensus(cb("hugetlb"), "huge"), hugeParts));

  // Free.
  lines.push(line("free", "free", m("MemFree"), "meminfo", "MemFree", byCensus(cb("buddy"), "buddy")));
  const unmanaged = inp.zoneManaged === undefined ? 0 : memTotal - inp.zoneManaged;
  if (unmanaged > NOTE_SHARE * memTotal)
    notes.push(
      `MemTotal counts ${short(unmanaged)} more than the memory zones manage (/proc/zoneinfo): memory the kernel has not initialised yet ` +
        `(deferred struct page init). It is counted in MemFree but is not on the buddy lists, and its pages read as flags 0.`,
    );
  if (c) {
    const gap = m("MemFree") - cb("buddy");
    // Unexplained by memory not yet initialised: say so only for the part that is left.
    if (gap - Math.max(0, unmanaged) > NOTE_SHARE * memTotal)
      notes.push(
        `MemFree is ${short(gap)} more than the free pages the census found in the buddy allocator: this kernel counts as free some memory that is ` +
          `not on the buddy lists (memory it initialises lazily, or free pages handed back to a hypervisor, for example), and such pages read as flags 0.`,
      );
    else if (-gap > NOTE_SHARE * memTotal) notes.push(`The census found ${short(-gap)} more free buddy pages than MemFree: memory was allocated between the census and the meminfo read.`);
    if (c.pages.noFlags > 0)
      notes.push(
        `The census found ${short(cb("noFlags"))} of pages with no flags at all, listed apart and in no line: not-yet-initialised memory, ` +
          `kernel allocations without a page type (vmalloc, stacks, per-CPU free lists, drivers) and memory outside MemTotal (the memory map, firmware).`,
      );
  }
  const pr = inp.pageReporting;
  if (pr) {
    const bound = pr.maxWaiting ?? REPORTING_CAPACITY * 2 ** pr.order * inp.pageSize;
    notes.push(
      `Free page reporting is built in (page_reporting_order ${pr.order}): freed pages waiting to be reported to the hypervisor are off the buddy lists ` +
        `and out of MemFree, so they read as flags 0 and are part of "not attributed", up to ${short(bound)} at a time` +
        (pr.maxWaiting !== undefined ? " (max_waiting_mib)." : ` (${REPORTING_CAPACITY} blocks of 2^${pr.order} pages).`),
    );
  }
  if (m("Balloon") !== 0)
    notes.push(`The virtio balloon holds ${short(m("Balloon"))}: outside MemTotal, unless the balloon deflates on OOM, in which case it is part of "not attributed".`);

  const residual = memTotal - sumOf(lines);
  lines.push(line("notAttributed", "not attributed", residual, "remainder", "MemTotal − the lines above"));
  // The one part of the remainder the census can name: pages it sees mapped that the scan did not count (signed: churn goes both ways).
  const unseen =
    p && c
      ? ` (the census sees ${short(Math.abs(censusMapped - p.distinct))} ${censusMapped >= p.distinct ? "more" : "fewer"} mapped pages than the scan counted)`
      : "";
  notes.push(
    `"Not attributed" (${short(residual)}) is MemTotal minus every line above, as computed: kernel memory no meminfo counter covers ` +
      `(pages without flags: driver and network buffers, per-CPU free lists), ` +
      (p ? `pages mapped only by processes not read${unseen}, ` : "") +
      `and whatever changed between the reads.`,
  );
  return { memTotal, lines, notes };
}

// ---------------------------------------------------------------------------
// The report

export interface CensusClassRow {
  readonly id: CensusClass;
  readonly label: string;
  readonly pages: number;
  readonly bytes: number;
}

export interface SystemTiming {
  /** How long the page-table scan took. */
  readonly scanMs: number;
  /** How long the census took (0 without one). */
  readonly censusMs: number;
  /** From the start of the scan to the last meminfo read: the window in which the sources may disagree. */
  readonly spanMs: number;
  /** MemFree after the census minus MemFree before it (bytes): how much memory moved while it ran. */
  readonly memFreeChangeDuringCensus: number;
}

export interface SystemReport extends ScanHeader {
  readonly memTotal: number;
  readonly lines: readonly SystemLine[];
  readonly census: { readonly source: string; readonly pfns: number; readonly bytes: number; readonly classes: readonly CensusClassRow[] } | null;
  readonly processes: ProcessFigures | null;
  /** Bytes the memory zones manage (/proc/zoneinfo); null when it could not be read. */
  readonly zoneManaged: number | null;
  readonly timing: SystemTiming | null;
  readonly notes: readonly string[];
}

export interface SystemReportMeta {
  /** The scan's header (schema, time, mode, kernel), as every report document starts. */
  readonly header: ScanHeader;
  readonly timing?: SystemTiming;
  /** The sources were read one after another from a live machine (adds the note on races). */
  readonly live: boolean;
  /** Notes from gathering (the scan's, for example), printed first. */
  readonly notes?: readonly string[];
}

export function buildSystemReport(inp: SystemInputs, meta: SystemReportMeta): SystemReport {
  const r = reconcileSystem(inp);
  const notes = [...(meta.notes ?? []), ...r.notes];
  const t = meta.timing;
  if (meta.live && t) {
    const read = inp.census
      ? `The scan (${(t.scanMs / 1000).toFixed(1)} s), the census (${(t.censusMs / 1000).toFixed(1)} s) and /proc/meminfo were`
      : `The scan (${(t.scanMs / 1000).toFixed(1)} s) and /proc/meminfo were`;
    notes.push(
      `${read} read one after another over ${(t.spanMs / 1000).toFixed(1)} s: pages that changed state in between are counted twice or not at all, ` +
        `and that error is part of "not attributed"` +
        (inp.census ? ` (MemFree moved by ${short(t.memFreeChangeDuringCensus)} during the census alone).` : "."),
    );
  }
  const c = inp.census;
  return {
    ...meta.header,
    memTotal: r.memTotal,
    lines: r.lines,
    census: c
      ? {
          source: c.source,
          pfns: c.pfns,
          bytes: c.pfns * inp.pageSize,
          classes: CENSUS_CLASSES.map((id) => ({ id, label: CENSUS_CLASS_LABELS[id], pages: c.pages[id], bytes: c.pages[id] * inp.pageSize })),
        }
      : null,
    processes: inp.processes ?? null,
    zoneManaged: inp.zoneManaged ?? null,
    timing: t ?? null,
    notes,
  };
}
