/**
 * The machinery that runs the page maths over a scan's structures: stored
 * pagemap runs (entry-store.ts) and their looked-up kpagecount/kpageflags
 * values (kpage-index.ts) are fed, a chunk of runs at a time, to the
 * WebAssembly accounting loop of wasm/kpages.ts, and the per-VMA sums it
 * writes are added to the usage rows. The rule the loop applies to each
 * page, and why, is the page maths of src/accounting/page-class.ts
 * (definitions in docs/numbers.md).
 */
import { NF, U } from "../accounting/usage.js";
import type { RunColumns } from "./entry-store.js";
import { KpageIndex, RUNS_AT_ONCE } from "./kpage-index.js";
import { PSS_UNITS_PER_BYTE } from "../accounting/kernel-pss.js";
import { forEachRefRun, objectRunAt, type ScanObjects, type ScanRefs } from "./scan-data.js";
import { OBJECT_FIELDS, OBJECT_STRIDE, SUM_FILE, SUM_HUGE_PSS, SUM_PSS, SUM_PSS_ANON, SUM_PSS_FILE, SUM_PSS_SHMEM, SUM_RSS, SUM_SHMEM, SUM_UNMANAGED, SUM_USS, SUMS } from "./wasm-abi.js";

/**
 * Per-PFN values by rank (scan/kpage-lookup.ts's KpageTable): the PFNs of a
 * stored run have consecutive ranks from the rank of its first PFN.
 */
export interface KpagePages {
  rankOf(pfn: number): number;
  readonly count: Uint32Array;
  readonly flagsLo: Uint32Array;
  /** kpageflags was read only where a page's class is not known from its mapping (E_SHMEM_VMA records have no flags). */
  readonly partialFlags: boolean;
  /** Where a lookup left the values (WebAssembly memory), if it did. */
  readonly index?: KpageIndex;
  /** The rank index: per 64 Ki-PFN block, its bitmap and the rank of each bitmap word's first PFN. */
  rankIndex(): { readonly pages: readonly (Uint32Array | undefined)[]; readonly bases: readonly (Uint32Array | undefined)[] };
}

/** Columns of stored runs. */
export interface RunSource {
  forEachChunk(start: number, end: number, fn: (cols: RunColumns, from: number, to: number) => void): void;
}

/** Usage row columns fed by each of the loop's sums (wasm-abi.ts SUM_ order), and the row's `shared` = rss - uss. */
const SUM_TO_U: readonly number[] = [
  U.rss, U.pss, U.uss, U.anon, U.pssAnon, U.shmem, U.pssShmem, U.file, U.pssFile,
  U.ksm, U.thp, U.zeroPage, U.unmanaged, U.hugetlbPrivate, U.hugetlbShared, U.hugetlbPss,
];

/** Sums in 1/4096 byte (the kernel's fixed-point PSS: wasm/kpages.ts shareOf); the others count pages. */
const IN_PSS_UNITS: readonly boolean[] = Array.from({ length: SUMS }, (_, f) => f === SUM_PSS || f === SUM_PSS_ANON || f === SUM_PSS_SHMEM || f === SUM_PSS_FILE || f === SUM_HUGE_PSS);

/**
 * The sums a shared object's page can have (a page-cache page: shmem or
 * file, or unmanaged when no page table maps it), kept as prefix sums over
 * the objects' runs (ObjectSums). A run with any other sum (none is
 * expected: anonymous, KSM, hugetlb and PMD-sized runs are never an
 * object's) makes its object's references be summed page by page instead.
 */
// wasm/kpages.ts prefixRuns writes them in this order.
const OBJECT_SUMS: readonly number[] = [SUM_RSS, SUM_PSS, SUM_USS, SUM_SHMEM, SUM_PSS_SHMEM, SUM_FILE, SUM_PSS_FILE, SUM_UNMANAGED];
const OBJ = OBJECT_FIELDS;

/**
 * Prefix sums of OBJECT_SUMS over all the shared objects' runs, a row every
 * OBJECT_STRIDE runs (row b: the sums of runs [0, b * OBJECT_STRIDE)), in
 * the loop's units (pages; PSS in 1/4096 byte): integers, so a difference of
 * two rows is exactly the sum of the runs between, in any order.
 */
export interface ObjectSums {
  readonly objects: ScanObjects;
  readonly prefix: Float64Array;
  /** Objects whose references are summed page by page (a run with a sum outside OBJECT_SUMS). */
  readonly pageByPage: Uint8Array;
}

/**
 * The accounting of one scan, by the WebAssembly loop of wasm/kpages.ts over
 * the lookup's KpageIndex (the values are read where the lookup left them;
 * a table built otherwise, as in tests, is copied into one). Create one per
 * scan and call `account` per process.
 */
export class Accounting {
  private readonly index: KpageIndex;
  private readonly partial: boolean;

  constructor(kpage: KpagePages) {
    this.partial = kpage.partialFlags;
    if (kpage.index) this.index = kpage.index;
    else {
      const { pages, bases } = kpage.rankIndex();
      this.index = KpageIndex.fromSet(pages, bases, kpage.count.length, false);
      this.index.count.set(kpage.count);
      this.index.flagsLo.set(kpage.flagsLo);
    }
  }

  /** Add the stored runs [start, end) of one process to its usage table. */
  account(entries: RunSource, start: number, end: number, usage: Float64Array, pageSize: number): void {
    const ix = this.index;
    ix.begin(pageSize);
    entries.forEachChunk(start, end, (cols, from, to) => {
      for (let a = from; a < to; a += RUNS_AT_ONCE) {
        const b = Math.min(to, a + RUNS_AT_ONCE);
        ix.runPfn.set(cols.pfn.subarray(a, b));
        ix.runLen.set(cols.len.subarray(a, b));
        ix.runVma.set(cols.vma.subarray(a, b));
        ix.runBits.set(cols.bits.subarray(a, b));
        this.addSegments(ix.account(b - a, this.partial), usage, pageSize);
      }
    });
    this.addSegments(ix.end(), usage, pageSize);
  }

  /**
   * Each shared object's run summed by the loop (each run its own segment),
   * as prefix sums: what accountRefs reads. Cost: one pass over the objects'
   * distinct pages, however many processes map them.
   */
  objectSums(objects: ScanObjects, pageSize: number): ObjectSums {
    const n = objects.pfn.length;
    const ix = this.index;
    const pageByPage = new Uint8Array(objects.first.length - 1);
    // Rows in the index's WebAssembly memory when the lookup made room for them (kpage-index.ts prefixRows), so a
    // scanner reuses them; otherwise (an index built elsewhere, as in tests) every reference is summed page by page.
    const rows = Math.floor(n / OBJECT_STRIDE) + 1;
    if (ix.prefix.length < rows * OBJ) return { objects, prefix: new Float64Array(0), pageByPage: pageByPage.fill(1) };
    const prefix = ix.prefix.subarray(0, rows * OBJ);
    prefix.fill(0, 0, OBJ);
    const flags = new Uint8Array(ix.out.buffer, ix.out.byteOffset, RUNS_AT_ONCE);
    let object = 0;
    for (let a = 0; a < n; a += RUNS_AT_ONCE) {
      const m = Math.min(n, a + RUNS_AT_ONCE) - a;
      ix.runPfn.set(objects.pfn.subarray(a, a + m));
      ix.runLen.set(objects.len.subarray(a, a + m));
      ix.runBits.set(objects.bits.subarray(a, a + m));
      // The rows of runs a .. a + m - 1, written by the loop in place.
      if (ix.prefixRuns(m, a, this.partial, pageSize) > 0)
        for (let i = 0; i < m; i++) {
          if (flags[i] === 0) continue;
          while (objects.first[object + 1]! <= a + i) object++;
          pageByPage[object] = 1;
        }
    }
    return { objects, prefix, pageByPage };
  }

  /**
   * Add references [start, end) of one process (scan-data.ts ScanRefs) to
   * its usage table: the runs a reference covers whole from the prefix sums
   * (two rows, whatever their number, plus up to 2 x 15 runs outside the rows),
   * the pieces of runs at its ends by the loop. The sums are integers, so this gives the same bits as expanding
   * every reference into runs (scan-data.ts forEachRefRun), which the
   * fixture test compares against the exact scan's runs.
   */
  accountRefs(sums: ObjectSums, refs: ScanRefs, start: number, end: number, usage: Float64Array, pageSize: number): void {
    const { objects, prefix, pageByPage } = sums;
    const ix = this.index;
    let pieces = 0;
    const piece = (pfn: number, len: number, vma: number, bits: number): void => {
      if (pieces === RUNS_AT_ONCE) flush();
      ix.runPfn[pieces] = pfn;
      ix.runLen[pieces] = len;
      ix.runVma[pieces] = vma;
      ix.runBits[pieces] = bits;
      pieces++;
    };
    const flush = (): void => {
      this.addSegments(ix.account(pieces, this.partial), usage, pageSize);
      pieces = 0;
    };
    const asPieces = (cols: RunColumns, from: number, to: number): void => {
      for (let i = from; i < to; i++) piece(cols.pfn[i]!, cols.len[i]!, cols.vma[i]!, cols.bits[i]!);
    };
    ix.begin(pageSize);
    for (let r = start; r < end; r++) {
      const o = refs.object[r]!;
      const vma = refs.vma[r]!;
      const off = refs.off[r]!;
      const stop = off + refs.len[r]!;
      // The runs holding its first and last page; every page between is in the runs between (decodeScan checks it).
      const k0 = objectRunAt(objects, o, off);
      const kl = objectRunAt(objects, o, stop - 1);
      const headCut = objects.off[k0]! < off;
      const tailCut = objects.off[kl]! + objects.len[kl]! > stop;
      if (pageByPage[o] === 1 || k0 === kl) {
        // Within one run, or page by page: the reference expanded into runs, as every reader expands it.
        forEachRefRun(objects, refs, r, r + 1, asPieces);
        continue;
      }
      if (headCut) piece(objects.pfn[k0]! + (off - objects.off[k0]!), objects.off[k0]! + objects.len[k0]! - off, vma, objects.bits[k0]!);
      if (tailCut) piece(objects.pfn[kl]!, stop - objects.off[kl]!, vma, objects.bits[kl]!);
      // Runs [from, to) are whole: those between two prefix rows from them, the few outside as runs.
      const from = headCut ? k0 + 1 : k0;
      const to = tailCut ? kl : kl + 1;
      const r0 = Math.ceil(from / OBJECT_STRIDE);
      const r1 = Math.floor(to / OBJECT_STRIDE);
      const wholeFrom = r1 > r0 ? r0 * OBJECT_STRIDE : to;
      const wholeTo = r1 > r0 ? r1 * OBJECT_STRIDE : to;
      for (let k = from; k < wholeFrom; k++) piece(objects.pfn[k]!, objects.len[k]!, vma, objects.bits[k]!);
      if (r1 > r0) this.addPrefix(prefix, r0, r1, vma, usage, pageSize);
      for (let k = wholeTo; k < to; k++) piece(objects.pfn[k]!, objects.len[k]!, vma, objects.bits[k]!);
    }
    if (pieces > 0) flush();
    this.addSegments(ix.end(), usage, pageSize);
  }

  /** Add the sums between prefix rows `from` and `to` to VMA row `vma` of `usage`, converted as addSegments converts. */
  private addPrefix(prefix: Float64Array, from: number, to: number, vma: number, usage: Float64Array, ps: number): void {
    const base = vma * NF;
    const a = from * OBJ;
    const b = to * OBJ;
    let rss = 0;
    let uss = 0;
    for (let f = 0; f < OBJ; f++) {
      const sum = prefix[b + f]! - prefix[a + f]!;
      const s = OBJECT_SUMS[f]!;
      usage[base + SUM_TO_U[s]!]! += IN_PSS_UNITS[s] ? sum / PSS_UNITS_PER_BYTE : sum * ps;
      if (s === SUM_RSS) rss = sum;
      else if (s === SUM_USS) uss = sum;
    }
    usage[base + U.shared]! += (rss - uss) * ps;
  }

  /** Add the per-VMA sums the loop wrote (each: VMA row, then the sums) to the usage rows. */
  private addSegments(k: number, usage: Float64Array, ps: number): void {
    const out = this.index.out;
    for (let j = 0; j < k; j++) {
      const o = j * (SUMS + 1);
      const base = out[o]! * NF;
      // Bytes: pages times the page size, PSS units over 4096 (exact: integers over a power of two).
      for (let f = 0; f < SUMS; f++) usage[base + SUM_TO_U[f]!]! += IN_PSS_UNITS[f] ? out[o + 1 + f]! / PSS_UNITS_PER_BYTE : out[o + 1 + f]! * ps;
      usage[base + U.shared]! += (out[o + 1 + SUM_RSS]! - out[o + 1 + SUM_USS]!) * ps;
    }
  }
}

/** Add the stored runs [start, end) of one process to its usage table (one-off; a scan uses one Accounting for all). */
export function accountEntries(entries: RunSource, start: number, end: number, kpage: KpagePages, usage: Float64Array, pageSize: number): void {
  new Accounting(kpage).account(entries, start, end, usage, pageSize);
}
