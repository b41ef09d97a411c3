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
import { SUM_HUGE_PSS, SUM_PSS, SUM_PSS_ANON, SUM_PSS_FILE, SUM_PSS_SHMEM, SUM_RSS, SUM_USS, SUMS } from "./wasm-abi.js";

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
