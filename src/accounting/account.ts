/**
 * Pure accounting over decoded arrays: stored pagemap runs plus their
 * kpagecount/kpageflags values become usage rows, following the kernel's own
 * smaps rules (fs/proc/task_mmu.c smaps_account) so that the results can be
 * checked against smaps_rollup:
 *  - zero pages (KPF_ZERO_PAGE) are not memory use and are left out of Rss;
 *  - pages with map count 0 are not rmap-tracked (PFN maps, device memory)
 *    and are left out, as vm_normal_page() leaves them out;
 *  - hugetlb pages (KPF_HUGE) are reported apart, not in Rss/Pss;
 *  - PSS adds page/mapcount per page, exactly (the kernel truncates a fixed-
 *    point value per page and per VMA; see docs/numbers.md).
 * The loop over runs and pages is wasm/account.ts, compiled to WebAssembly.
 */
import { F_ANON, F_HUGE, F_KSM, F_SWAPBACKED, F_THP, F_ZERO_PAGE } from "../decode/kpageflags.js";
import { readFileSync } from "node:fs";
import { E_HUGE_RUN, E_SHMEM_VMA, type RunColumns } from "../scan/entry-store.js";
import { wasmFile } from "../scan/walk-wasm.js";
import { NF, U } from "./usage.js";

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
  /** The rank index: per 64 Ki-PFN block, its bitmap and the rank of each bitmap word's first PFN. */
  rankIndex(): { readonly pages: readonly (Uint32Array | undefined)[]; readonly bases: readonly (Uint32Array | undefined)[] };
}

/** The paging of PFN bitmaps (scan/kpage-lookup.ts PfnSet) and of the page-owner index. */
export const KPAGE_PAGE_SHIFT = 16;
const BLOCK_WORDS = (1 << KPAGE_PAGE_SHIFT) / 32;

/** Columns of stored runs. */
export interface RunSource {
  forEachChunk(start: number, end: number, fn: (cols: RunColumns, from: number, to: number) => void): void;
}

/** Per-run sums, in the order wasm/account.ts keeps them (PSS-like fields are fractional pages). */
const S_RSS = 0, S_USS = 2;
const S_FIELDS = 16;

/** Usage row columns fed by each sum, and the row's `shared` = rss - uss. */
const S_TO_U: readonly number[] = [
  U.rss, U.pss, U.uss, U.anon, U.pssAnon, U.shmem, U.pssShmem, U.file, U.pssFile,
  U.ksm, U.thp, U.zeroPage, U.unmanaged, U.hugetlbPrivate, U.hugetlbShared, U.hugetlbPss,
];

/** Runs handed to the WebAssembly loop at once (an EntryStore chunk). */
const RUNS_AT_ONCE = 16384;

interface AccountExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  setup(dir: number, blocks: number, bitmaps: number, bases: number, counts: number, flags: number, pfn: number, len: number, vma: number, bits: number, out: number, acc: number): void;
  setFlags(zero: number, huge: number, anon: number, swapbacked: number, ksm: number, thp: number, hugeRun: number, shmemVma: number): void;
  begin(): void;
  account(from: number, to: number, partial: number): number;
  end(): number;
}

let compiled: WebAssembly.Module | undefined;

/**
 * The accounting of one scan: a WebAssembly instance (wasm/account.ts)
 * holding a copy of the lookup's rank index, counts and flags, fed the
 * stored runs of each process in turn. Create one per scan (it copies the
 * table once) and call `account` per process.
 */
export class Accounting {
  private readonly x: AccountExports;
  private readonly runPfn: Float64Array;
  private readonly runLen: Uint32Array;
  private readonly runVma: Uint32Array;
  private readonly runBits: Uint32Array;
  private readonly out: Float64Array;
  private readonly partial: boolean;

  constructor(kpage: KpagePages) {
    compiled ??= new WebAssembly.Module(readFileSync(wasmFile("account.wasm")));
    this.x = new WebAssembly.Instance(compiled, {}).exports as unknown as AccountExports;
    this.partial = kpage.partialFlags;
    const { pages, bases } = kpage.rankIndex();
    const blocks = pages.length;
    const slots = pages.reduce((n, w) => n + (w ? 1 : 0), 0);
    const size = kpage.count.length;
    // Lay the areas out after the module's own data, each 16-aligned.
    let at = this.x.heapBase();
    const take = (bytes: number): number => {
      const p = at;
      at += Math.ceil(bytes / 16) * 16;
      return p;
    };
    const dirAt = take(blocks * 4);
    const bitmapAt = take(slots * BLOCK_WORDS * 4);
    const baseAt = take(slots * BLOCK_WORDS * 4);
    const countAt = take(size * 4);
    const flagAt = take(size * 4);
    const pfnAt = take(RUNS_AT_ONCE * 8);
    const lenAt = take(RUNS_AT_ONCE * 4);
    const vmaAt = take(RUNS_AT_ONCE * 4);
    const bitsAt = take(RUNS_AT_ONCE * 4);
    const outAt = take((RUNS_AT_ONCE + 1) * (S_FIELDS + 1) * 8);
    const accAt = take(2 * S_FIELDS * 8);
    const have = this.x.memory.buffer.byteLength;
    if (at > have) this.x.memory.grow(Math.ceil((at - have) / 65536));
    const buf = this.x.memory.buffer;
    const dir = new Int32Array(buf, dirAt, blocks).fill(-1);
    let slot = 0;
    pages.forEach((words, p) => {
      if (!words) return;
      dir[p] = slot;
      new Uint32Array(buf, bitmapAt + slot * BLOCK_WORDS * 4, BLOCK_WORDS).set(words);
      new Uint32Array(buf, baseAt + slot * BLOCK_WORDS * 4, BLOCK_WORDS).set(bases[p]!);
      slot++;
    });
    new Uint32Array(buf, countAt, size).set(kpage.count);
    new Uint32Array(buf, flagAt, size).set(kpage.flagsLo);
    this.runPfn = new Float64Array(buf, pfnAt, RUNS_AT_ONCE);
    this.runLen = new Uint32Array(buf, lenAt, RUNS_AT_ONCE);
    this.runVma = new Uint32Array(buf, vmaAt, RUNS_AT_ONCE);
    this.runBits = new Uint32Array(buf, bitsAt, RUNS_AT_ONCE);
    this.out = new Float64Array(buf, outAt, (RUNS_AT_ONCE + 1) * (S_FIELDS + 1));
    this.x.setup(dirAt, blocks, bitmapAt, baseAt, countAt, flagAt, pfnAt, lenAt, vmaAt, bitsAt, outAt, accAt);
    this.x.setFlags(F_ZERO_PAGE, F_HUGE, F_ANON, F_SWAPBACKED, F_KSM, F_THP, E_HUGE_RUN, E_SHMEM_VMA);
  }

  /** Add the stored runs [start, end) of one process to its usage table. */
  account(entries: RunSource, start: number, end: number, usage: Float64Array, pageSize: number): void {
    const x = this.x;
    x.begin();
    entries.forEachChunk(start, end, (cols, from, to) => {
      for (let a = from; a < to; a += RUNS_AT_ONCE) {
        const b = Math.min(to, a + RUNS_AT_ONCE);
        this.runPfn.set(cols.pfn.subarray(a, b));
        this.runLen.set(cols.len.subarray(a, b));
        this.runVma.set(cols.vma.subarray(a, b));
        this.runBits.set(cols.bits.subarray(a, b));
        this.addSegments(x.account(0, b - a, this.partial ? 1 : 0), usage, pageSize);
      }
    });
    this.addSegments(x.end(), usage, pageSize);
  }

  /** Add the per-VMA sums the loop wrote (each: VMA row, then the sums) to the usage rows. */
  private addSegments(k: number, usage: Float64Array, ps: number): void {
    const out = this.out;
    for (let j = 0; j < k; j++) {
      const o = j * (S_FIELDS + 1);
      const base = out[o]! * NF;
      for (let f = 0; f < S_FIELDS; f++) usage[base + S_TO_U[f]!]! += out[o + 1 + f]! * ps;
      usage[base + U.shared]! += (out[o + 1 + S_RSS]! - out[o + 1 + S_USS]!) * ps;
    }
  }
}

/** Add the stored runs [start, end) of one process to its usage table (one-off; a scan uses one Accounting for all). */
export function accountEntries(entries: RunSource, start: number, end: number, kpage: KpagePages, usage: Float64Array, pageSize: number): void {
  new Accounting(kpage).account(entries, start, end, usage, pageSize);
}

/**
 * Proportional swap: each swap slot's page divided by the number of scanned
 * page-table entries that reference it (procrank's PSwap). The kernel's
 * SwapPss divides by the slot's swap count, which also counts references we
 * cannot see (other processes not scanned, shmem): see docs/numbers.md.
 */
export function countSwapRefs(slots: readonly number[]): Map<number, number> {
  const refs = new Map<number, number>();
  for (const s of slots) refs.set(s, (refs.get(s) ?? 0) + 1);
  return refs;
}

export function accountSwap(slots: readonly number[], vmas: readonly number[], start: number, end: number, refs: ReadonlyMap<number, number>, usage: Float64Array, pageSize: number): void {
  for (let i = start; i < end; i++) {
    const n = refs.get(slots[i]!) ?? 1;
    usage[vmas[i]! * NF + U.swapPss]! += pageSize / n;
  }
}
