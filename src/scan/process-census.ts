/**
 * The census of one process's pages: its present pages looked up in
 * kpageflags (and kpagecgroup), its swapped-out pages counted from pagemap
 * alone, each with page-types' synthetic pagemap bits. Split from census.ts,
 * which holds the whole-machine sweep.
 */
import { PermissionError } from "../errors.js";
import { KPF_FILE, KPF_MMAP_EXCLUSIVE, KPF_SOFTDIRTY, KPF_SWAP } from "../decode/kpageflags.js";
import { classifyNonPresent, PM_EXCLUSIVE_HI, PM_FILE_HI, PM_PRESENT_HI, PM_SOFT_DIRTY_HI, PM_SWAP_HI, pfnOf, swapOffsetOf } from "../decode/pagemap.js";
import type { Vma } from "../parse/maps.js";
import type { ProcFs } from "../procfs/procfs.js";
import { FlagCounter, findKpageEnd, normalizeRanges, openCgroupFile, PageRuns, type Census, type PageRange } from "./census.js";
import { lookupKpages, PfnSet } from "./kpage-lookup.js";
import { PagemapBuffer, readPagemap } from "./read-pagemap.js";
import { F64Column } from "./f64-column.js";


/** pagemap's high-half bits moved to page-types' synthetic kpageflags positions (in the high half). */
const SYN_SOFTDIRTY = 1 << (KPF_SOFTDIRTY - 32);
const SYN_FILE = 1 << (KPF_FILE - 32);
const SYN_SWAP = 1 << (KPF_SWAP - 32);
const SYN_EXCLUSIVE = (1 << (KPF_MMAP_EXCLUSIVE - 32)) >>> 0;

/** page-types expand_overloaded_flags' pagemap part, kept in the census word. */
export function pagemapSyntheticHi(pmHi: number): number {
  let h = 0;
  if (pmHi & PM_SOFT_DIRTY_HI) h |= SYN_SOFTDIRTY;
  if (pmHi & PM_FILE_HI) h |= SYN_FILE;
  if (pmHi & PM_SWAP_HI) h |= SYN_SWAP;
  if (pmHi & PM_EXCLUSIVE_HI) h |= SYN_EXCLUSIVE;
  return h >>> 0;
}

export interface ProcessCensusOptions {
  readonly vmas: readonly Vma[];
  readonly pageSize: number;
  /** MAX_SWAPFILES: only swap types below it are real swap (others are markers and migration entries). */
  readonly maxSwapfiles: number;
  /** Virtual page number ranges (page-types --addr with --pid). */
  readonly ranges?: readonly PageRange[];
  readonly cgroup?: number;
  readonly runs?: boolean;
}

/**
 * Census of one process's pages: its present pages looked up in kpageflags
 * (batched, sorted reads via lookupKpages, never one read per page as
 * page-types does) and its swapped-out pages, which page-types counts too.
 */
export function censusProcess(procfs: ProcFs, pid: number, o: ProcessCensusOptions): Census {
  // One entry per present or swapped page, in virtual-address order.
  const vpns = new F64Column();
  const offsets = new F64Column(); // PFN, or swap offset
  const pmHis = new F64Column();
  let skippedNonPresent = 0;
  let hiddenPfns = false;
  const collect = (u32: Uint32Array, count: number, firstVpn: number): void => {
    for (let i = 0; i < count; i++) {
      const lo = u32[2 * i]!;
      const hi = u32[2 * i + 1]!;
      if (hi & PM_PRESENT_HI) {
        const pfn = pfnOf(lo, hi);
        if (pfn === 0) {
          hiddenPfns = true;
          continue;
        }
        vpns.push(firstVpn + i);
        offsets.push(pfn);
        pmHis.push(hi);
      } else if (hi & PM_SWAP_HI) {
        if (classifyNonPresent(lo, o.maxSwapfiles) !== "swap") {
          skippedNonPresent++;
          continue;
        }
        vpns.push(firstVpn + i);
        offsets.push(swapOffsetOf(lo, hi));
        pmHis.push(hi);
      }
    }
  };
  const buf = new PagemapBuffer();
  const ranges = o.ranges ? normalizeRanges(o.ranges) : [undefined];
  for (const r of ranges)
    readPagemap(procfs, pid, o.vmas, o.pageSize, buf, collect, { range: r ? { startVpn: r.start, endVpn: Math.min(r.end, Number.MAX_SAFE_INTEGER) } : undefined });
  if (hiddenPfns)
    throw new PermissionError(procfs.path(pid, "pagemap"), "PFNs read as zero: page flags need CAP_SYS_ADMIN in the initial user namespace");

  const set = new PfnSet();
  for (let i = 0; i < vpns.length; i++) if ((pmHis.data[i]! & PM_PRESENT_HI) !== 0) set.add(offsets.data[i]!);
  const wantCgroup = o.cgroup !== undefined;
  if (wantCgroup) openCgroupFile(procfs).close(); // a clear message when kpagecgroup is missing
  const { table } = lookupKpages(procfs, set, { cgroups: wantCgroup });
  let pfnEnd: number | undefined;
  if (table.beyondEnd > 0) {
    const f = procfs.openU64("kpageflags");
    try {
      pfnEnd = findKpageEnd(f);
    } finally {
      f.close();
    }
  }

  const counts = new FlagCounter();
  const runs = o.runs ? new PageRuns() : undefined;
  let pages = 0;
  let beyondEnd = 0;
  // Current listing run: extends while vpn and offset both advance by one and the word is equal.
  let rv = NaN;
  let ro = NaN;
  let rl = 0;
  let rLo = 0;
  let rHi = 0;
  for (let i = 0; i < vpns.length; i++) {
    const vpn = vpns.data[i]!;
    const off = offsets.data[i]!;
    const pmHi = pmHis.data[i]!;
    let lo: number;
    let hi: number;
    if (pmHi & PM_PRESENT_HI) {
      if (pfnEnd !== undefined && off >= pfnEnd) {
        beyondEnd++;
        continue;
      }
      if (wantCgroup && table.cgroupOf(off) !== o.cgroup) continue;
      lo = table.flagsLoOf(off);
      hi = (table.flagsHiOf(off) | pagemapSyntheticHi(pmHi)) >>> 0;
    } else {
      // A swapped-out page has no cgroup word: page-types leaves it out of cgroup censuses.
      if (wantCgroup) continue;
      lo = 0;
      hi = pagemapSyntheticHi(pmHi);
    }
    counts.add(lo, hi, 1);
    pages++;
    if (!runs) continue;
    if (rl > 0 && lo === rLo && hi === rHi && vpn === rv + rl && off === ro + rl) {
      rl++;
      continue;
    }
    if (rl > 0) runs.push(rv, ro, rl, rLo, rHi);
    rv = vpn;
    ro = off;
    rl = 1;
    rLo = lo;
    rHi = hi;
  }
  if (runs && rl > 0) runs.push(rv, ro, rl, rLo, rHi);
  return { scope: "process", counts, pages, examined: vpns.length, runs, pfnEnd, beyondEnd, skippedNonPresent };
}
