/**
 * A process's address space as the HTML report draws it: every mapping, and
 * the pages in it as runs of consecutive virtual pages of one class
 * (present or swapped; shared or private; file-backed or anonymous; huge).
 * A 16 GiB process is millions of pages but, because pages of one class come
 * in long stretches, a few hundred or thousand runs: that is what keeps the
 * report light and lets the page zoom from the whole space to single pages.
 *
 * Two steps, both pure:
 *  1. `PagemapRuns.add` folds pagemap batches (as read by readPagemap) into
 *     runs of alike pagemap entries: consecutive pages, consecutive PFNs,
 *     the same present/swap/file/exclusive bits. No object per page.
 *  2. `buildAddressMap` splits those runs where a page's map count or flags
 *     (kpagecount, kpageflags) change its class, and coalesces again.
 * Pages that are mapped but neither present nor swapped are not stored: the
 * page draws the mappings underneath, so what no run covers is "not present".
 */
import { isThpPage, pageClass, PAGE_HUGETLB } from "../accounting/page-class.js";
import { classifyNonPresent, PM_EXCLUSIVE_HI, PM_FILE_HI, PM_FRAME_HI_MASK, PM_PRESENT_HI, PM_SWAP_HI, TWO_32 } from "../decode/pagemap.js";
import type { Vma } from "../parse/maps.js";
import type { PageValues } from "./pages-report.js";

/** Class bits of a run. A run is present or swapped; the other bits qualify present pages. */
export const AM_PRESENT = 1;
export const AM_SWAPPED = 2;
/** Map count above 1 (kpagecount), or, without it, not marked exclusive in pagemap. */
export const AM_SHARED = 4;
/** Page cache or shmem (pagemap's "file-page or shared-anon" bit); clear: anonymous. */
export const AM_FILE = 8;
/** Part of a transparent huge page or a hugetlb page (kpageflags THP or HUGE). */
export const AM_HUGE = 16;

export interface AddressMapVma {
  /** Bytes. Addresses stay below 2^57, exact in a double. */
  readonly start: number;
  readonly end: number;
  readonly perms: string;
  readonly name: string;
}

/** Runs as parallel arrays (compact in JSON): first virtual page number, length in pages, class bits. */
export interface AddressRuns {
  readonly vpn: readonly number[];
  readonly pages: readonly number[];
  readonly cls: readonly number[];
}

/** Pages by class, for the legend and the tests. */
export interface AddressMapTotals {
  readonly mapped: number;
  readonly present: number;
  readonly swapped: number;
  readonly shared: number;
  readonly private: number;
  readonly file: number;
  readonly anon: number;
  readonly huge: number;
}

export interface AddressMap {
  readonly pid: number;
  readonly command: string;
  readonly pageSize: number;
  /** Whether map counts and flags were known (root): without them sharing comes from pagemap's exclusive bit and huge pages are not told apart. */
  readonly pageValues: boolean;
  readonly vmas: readonly AddressMapVma[];
  readonly runs: AddressRuns;
  readonly totals: AddressMapTotals;
}

/** Runs of alike pagemap entries (step 1). `bits`: AM_PRESENT or AM_SWAPPED, plus AM_FILE, plus EXCL when pagemap marks the page exclusive. */
export class PagemapRuns {
  /** `maxSwapfiles`: the kernel's MAX_SWAPFILES (decode/pagemap.ts): only entries of a lower type are swap; PTE markers and migration entries are drawn as not present. */
  constructor(private readonly maxSwapfiles: number) {}
  readonly vpn: number[] = [];
  readonly len: number[] = [];
  /** First PFN of a present run (0 when hidden), else 0. */
  readonly pfn: number[] = [];
  readonly bits: number[] = [];
  static readonly EXCL = 64;

  /** Fold one batch of pagemap entries (lo, hi pairs in `u32`) starting at virtual page `firstVpn`. */
  add(u32: Uint32Array, count: number, firstVpn: number): void {
    let n = this.vpn.length;
    for (let i = 0; i < count; i++) {
      const lo = u32[2 * i]!;
      const hi = u32[2 * i + 1]!;
      let bits: number;
      let pfn = 0;
      if ((hi & PM_PRESENT_HI) !== 0) {
        bits = AM_PRESENT;
        pfn = (hi & PM_FRAME_HI_MASK) * TWO_32 + lo;
      } else if ((hi & PM_SWAP_HI) !== 0 && classifyNonPresent(lo, this.maxSwapfiles) === "swap") bits = AM_SWAPPED;
      else continue;
      if ((hi & PM_FILE_HI) !== 0) bits |= AM_FILE;
      if ((hi & PM_EXCLUSIVE_HI) !== 0) bits |= PagemapRuns.EXCL;
      const vpn = firstVpn + i;
      if (n > 0) {
        const k = n - 1;
        const l = this.len[k]!;
        // PFN 0 means hidden (no CAP_SYS_ADMIN): runs then fold by address alone.
        if (this.bits[k] === bits && this.vpn[k]! + l === vpn && (bits & AM_PRESENT ? this.pfn[k] === 0 ? pfn === 0 : this.pfn[k]! + l === pfn : true)) {
          this.len[k] = l + 1;
          continue;
        }
      }
      this.vpn.push(vpn);
      this.len.push(1);
      this.pfn.push(pfn);
      this.bits.push(bits);
      n++;
    }
  }

  /** Call `fn(pfn, pages)` for each present run with known PFNs (to collect the PFNs to look up). */
  forEachPresent(fn: (pfn: number, pages: number) => void): void {
    for (let i = 0; i < this.vpn.length; i++) if ((this.bits[i]! & AM_PRESENT) !== 0 && this.pfn[i]! !== 0) fn(this.pfn[i]!, this.len[i]!);
  }
}


/** Step 2: the classes from map counts and flags (when `values` has them), coalesced into runs. */
export function buildAddressMap(
  meta: { pid: number; command: string; pageSize: number },
  vmas: readonly Vma[],
  pre: PagemapRuns,
  values: PageValues | undefined,
): AddressMap {
  const vpnOut: number[] = [];
  const pagesOut: number[] = [];
  const clsOut: number[] = [];
  const t = { present: 0, swapped: 0, shared: 0, private: 0, file: 0, anon: 0, huge: 0 };
  const emit = (vpn: number, pages: number, cls: number): void => {
    const k = vpnOut.length - 1;
    if (k >= 0 && clsOut[k] === cls && vpnOut[k]! + pagesOut[k]! === vpn) pagesOut[k]! += pages;
    else {
      vpnOut.push(vpn);
      pagesOut.push(pages);
      clsOut.push(cls);
    }
    if (cls & AM_SWAPPED) t.swapped += pages;
    else {
      t.present += pages;
      if (cls & AM_SHARED) t.shared += pages;
      else t.private += pages;
      if (cls & AM_FILE) t.file += pages;
      else t.anon += pages;
      if (cls & AM_HUGE) t.huge += pages;
    }
  };
  for (let i = 0; i < pre.vpn.length; i++) {
    const bits = pre.bits[i]!;
    const vpn = pre.vpn[i]!;
    const len = pre.len[i]!;
    const base = bits & (AM_PRESENT | AM_SWAPPED | AM_FILE);
    if ((bits & AM_SWAPPED) !== 0) {
      emit(vpn, len, base);
      continue;
    }
    const pfn = pre.pfn[i]!;
    if (!values || pfn === 0) {
      emit(vpn, len, base | ((bits & PagemapRuns.EXCL) !== 0 ? 0 : AM_SHARED));
      continue;
    }
    // Page by page, but emitting only when the class changes.
    let runStart = vpn;
    let runCls = -1;
    for (let j = 0; j < len; j++) {
      const p = pfn + j;
      let cls = base;
      if (values.has(p)) {
        const count = values.countOf(p);
        const flags = values.flagsLoOf(p);
        if (count > 1) cls |= AM_SHARED;
        // Huge: a hugetlb page by the one class rule (accounting/page-class.ts), or part of a THP.
        if (pageClass(count, flags) === PAGE_HUGETLB || isThpPage(flags)) cls |= AM_HUGE;
      } else if ((bits & PagemapRuns.EXCL) === 0) cls |= AM_SHARED;
      if (cls !== runCls) {
        if (runCls >= 0) emit(runStart, vpn + j - runStart, runCls);
        runStart = vpn + j;
        runCls = cls;
      }
    }
    if (runCls >= 0) emit(runStart, vpn + len - runStart, runCls);
  }
  let mapped = 0;
  // [vsyscall] lies above 2^53 (not exact in a double) and has no pagemap: left out.
  const outVmas = vmas.filter((v) => v.kind !== "vsyscall").map((v) => {
    mapped += (v.end - v.start) / meta.pageSize;
    return { start: v.start, end: v.end, perms: v.perms, name: v.name };
  });
  return {
    pid: meta.pid,
    command: meta.command,
    pageSize: meta.pageSize,
    pageValues: values !== undefined,
    vmas: outVmas,
    runs: { vpn: vpnOut, pages: pagesOut, cls: clsOut },
    totals: { mapped, ...t },
  };
}
