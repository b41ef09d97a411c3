/**
 * The pagemap walk's hot loop, in AssemblyScript compiled to WebAssembly
 * (see src/scan/pagemap-walk.ts for the rules it implements and why).
 *
 * WebAssembly has native 64-bit integers and is compiled once, up front:
 * the loop runs at full speed from the first entry, where the same code in
 * JavaScript spent a short scan's first tens of milliseconds interpreted,
 * then compiled, thrown away and compiled again by V8 (up to 100 ms of
 * compiler time per scan on a 2-core machine).
 *
 * Memory is laid out by the JavaScript side (layout() below gives the
 * bases): input batches of pagemap entries, the runs found, the swap slots
 * found, and the counters of one call.
 */

import {
  E_HUGE_RUN,
  E_PAGEMAP_MASK,
  WALK_BATCH as BATCH,
  WALK_COUNTERS as S_FIELDS,
  WALK_GUARD as S_GUARD,
  WALK_HIDDEN as S_HIDDEN,
  WALK_MIGRATION as S_MIGRATION,
  WALK_PAGES as S_PAGES,
  WALK_REF_PAGES as S_REF_PAGES,
  WALK_REFS as S_REFS,
  WALK_RUNS as S_RUNS,
  WALK_SLOTS as SLOTS,
  WALK_SOFT_DIRTY as S_SOFT_DIRTY,
  WALK_SWAPS as S_SWAPS,
  WALK_TRUSTED as S_TRUSTED,
  WALK_UFFD_WP as S_UFFD_WP,
} from "../src/scan/wasm-abi";
import { PM_EXCLUSIVE_BIT, PM_FILE_BIT, PM_FRAME_BITS, PM_GUARD_BIT, PM_PRESENT_BIT, PM_SOFT_DIRTY_BIT, PM_SWAP_BIT, PM_UFFD_WP_BIT } from "../src/decode/pagemap-bits";

const PM_PRESENT: u64 = <u64>1 << PM_PRESENT_BIT;
const PM_SWAP: u64 = <u64>1 << PM_SWAP_BIT;
const PM_FILE: u64 = <u64>1 << PM_FILE_BIT;
const PM_GUARD: u64 = <u64>1 << PM_GUARD_BIT;
const PM_UFFD_WP: u64 = <u64>1 << PM_UFFD_WP_BIT;
const PM_EXCLUSIVE: u64 = <u64>1 << PM_EXCLUSIVE_BIT;
const PM_SOFT_DIRTY: u64 = <u64>1 << PM_SOFT_DIRTY_BIT;
const PM_FRAME: u64 = (<u64>1 << PM_FRAME_BITS) - 1;
const TRUSTED_MASK: u64 = PM_PRESENT | PM_EXCLUSIVE | PM_FILE | PM_SOFT_DIRTY | PM_UFFD_WP;
const TRUSTED_VALUE: u64 = PM_PRESENT | PM_EXCLUSIVE;
const PMD_PAGES: i32 = 512;
const SWP_PTE_MARKER: u32 = 31;

let inputBase: usize = 0;
let runsBase: usize = 0;
let swapsBase: usize = 0;
let statsBase: usize = 0;
let refsBase: usize = 0;

/** Lay the buffers out from the first free byte; returns the bytes needed in all (the caller grows memory to fit). */
export function layout(): usize {
  const align: usize = 16;
  inputBase = (__heap_base + align - 1) & ~(align - 1);
  runsBase = inputBase + <usize>(SLOTS * BATCH * 8);
  swapsBase = runsBase + <usize>(BATCH * 16);
  refsBase = swapsBase + <usize>(BATCH * 8);
  statsBase = refsBase + <usize>(BATCH * 8);
  return statsBase + <usize>(S_FIELDS * 4);
}

/** Where shared objects' page tables may start (after every fixed area; the caller grows memory to fit them). */
export function tablesAt(): usize {
  return (statsBase + <usize>(S_FIELDS * 4) + 15) & ~15;
}

export function inputAt(slot: i32): usize {
  return inputBase + <usize>(slot * BATCH * 8);
}
export function runsAt(): usize {
  return runsBase;
}
export function swapsAt(): usize {
  return swapsBase;
}
export function statsAt(): usize {
  return statsBase;
}
export function refsAt(): usize {
  return refsBase;
}

@inline function entry(base: usize, i: i32): u64 {
  return load<u64>(base + (<usize>i << 3));
}

@inline function bump(field: i32, by: i32): void {
  const p = statsBase + (<usize>field << 2);
  store<i32>(p, load<i32>(p) + by);
}

/**
 * A run of `len` pages from `pfn`, into three columns (as the run store keeps
 * them): PFNs (f64) from runsBase, lengths (u32) after BATCH of them, bits
 * (u8) after as many lengths.
 */
@inline function emit(pfn: u64, len: i32, bits: u32): void {
  const n = load<i32>(statsBase + (S_RUNS << 2));
  store<f64>(runsBase + (<usize>n << 3), <f64>pfn);
  store<u32>(runsBase + <usize>(BATCH * 8) + (<usize>n << 2), <u32>len);
  store<u8>(runsBase + <usize>(BATCH * 12) + <usize>n, <u8>bits);
  store<i32>(statsBase + (S_RUNS << 2), n + 1);
  bump(S_PAGES, len);
}

/**
 * A stretch of `len` entries from entry `start` of this call that matched
 * the shared object's table (see walk): two columns, starts (u32) from
 * refsBase and lengths (u32) after BATCH of them.
 */
@inline function emitRef(start: i32, len: i32): void {
  const n = load<i32>(statsBase + (S_REFS << 2));
  store<u32>(refsBase + (<usize>n << 2), <u32>start);
  store<u32>(refsBase + <usize>(BATCH * 4) + (<usize>n << 2), <u32>len);
  store<i32>(statsBase + (S_REFS << 2), n + 1);
  bump(S_REF_PAGES, len);
}

/** Entries i..i+511: one physically contiguous, aligned run with the same bits? */
function isHugeRun(base: usize, i: i32): bool {
  const v0 = entry(base, i);
  if (((v0 & PM_FRAME) & <u64>(PMD_PAGES - 1)) != 0) return false;
  for (let k: i32 = 1; k < PMD_PAGES; k++) if (entry(base, i + k) != v0 + <u64>k) return false;
  return true;
}

/**
 * Walk `count` entries at input slot `slot` from entry `from`; entry i
 * starts a 2 MiB-aligned block when (i - first) % 512 == 0. Counters start
 * from zero; runs, swap slots and references are written from the start of
 * their areas.
 *
 * `table` (0: none) is the page table of the shared object this mapping
 * maps (src/scan/shared-objects.ts): one entry per page offset, entry i of
 * this call at table + 8 i. A present page-cache entry (PM_FILE; not part of
 * a PMD-sized run) that equals the table's entry, or finds it empty and
 * fills it, is the object's page at that offset as every other mapper that
 * matched sees it: it is written out as part of a reference (a stretch of
 * matching entries), not as a run. Any other entry (a page replaced since
 * another mapper was read, an anonymous copy-on-write page) is a run as
 * without a table.
 */
export function walk(slot: i32, from: i32, count: i32, first: i32, trust: bool, shmemMark: u32, maxSwapfiles: u32, table: usize): void {
  memory.fill(statsBase, 0, S_FIELDS * 4);
  const base = inputAt(slot) + (<usize>from << 3);
  let trusted: i32 = 0;
  let softDirty: i32 = 0;
  let uffdWp: i32 = 0;
  let runPfn: u64 = 0;
  let runLen: i32 = 0;
  let runBits: u32 = 0;
  let runEnd: i32 = -1;
  let refStart: i32 = 0;
  let refLen: i32 = 0;
  for (let i: i32 = 0; i < count; i++) {
    const v = entry(base, i);
    // pte_none. A hole of a VM_SOFTDIRTY mapping reads as PM_SOFT_DIRTY alone
    // (pagemap_pte_hole): no page and no entry, so not counted as one (and
    // PAGEMAP_SCAN may leave such holes unread: src/native/pagemap-scan.ts).
    if ((v & (PM_PRESENT | PM_SWAP)) == 0) continue;
    const aligned = ((i - first) & (PMD_PAGES - 1)) == 0;
    if (trust && (v & TRUSTED_MASK) == TRUSTED_VALUE && !aligned && (v & PM_FRAME) != 0) {
      let j = i + 1;
      while (j < count && ((j - first) & (PMD_PAGES - 1)) != 0) {
        const h = entry(base, j);
        if ((h & TRUSTED_MASK) != TRUSTED_VALUE || (h & PM_FRAME) == 0) break;
        j++;
      }
      trusted += j - i;
      i = j - 1;
      continue;
    }
    if ((v & PM_SOFT_DIRTY) != 0) softDirty++;
    if ((v & PM_UFFD_WP) != 0) uffdWp++;
    if ((v & PM_PRESENT) != 0) {
      const pfn = v & PM_FRAME;
      if (pfn == 0) {
        bump(S_HIDDEN, 1);
        continue;
      }
      if (aligned && (pfn & <u64>(PMD_PAGES - 1)) == 0 && i + PMD_PAGES <= count && isHugeRun(base, i)) {
        if (runLen > 0) emit(runPfn, runLen, runBits);
        emit(pfn, PMD_PAGES, (<u32>(v >> 55) & <u32>E_PAGEMAP_MASK) | <u32>E_HUGE_RUN);
        runLen = 0;
        i += PMD_PAGES - 1;
        continue;
      }
      if (trust && (v & (PM_EXCLUSIVE | PM_FILE)) == PM_EXCLUSIVE) {
        trusted++;
        continue;
      }
      if (table != 0 && (v & PM_FILE) != 0) {
        const at = table + (<usize>i << 3);
        const t = load<u64>(at);
        if (t == v || t == 0) {
          if (t == 0) store<u64>(at, v);
          if (refLen > 0 && refStart + refLen == i) refLen++;
          else {
            if (refLen > 0) emitRef(refStart, refLen);
            refStart = i;
            refLen = 1;
          }
          continue;
        }
      }
      const bits = (<u32>(v >> 55) & <u32>E_PAGEMAP_MASK) | ((v & PM_FILE) != 0 ? shmemMark : 0);
      // Entries continuing this one physically with the same bits, up to the next 2 MiB boundary.
      let j = i + 1;
      let expect = v + 1;
      while (j < count && ((j - first) & (PMD_PAGES - 1)) != 0 && entry(base, j) == expect) {
        j++;
        expect++;
      }
      const n = j - i;
      if ((v & PM_SOFT_DIRTY) != 0) softDirty += n - 1;
      if ((v & PM_UFFD_WP) != 0) uffdWp += n - 1;
      if (runLen > 0 && runEnd == i && pfn == runPfn + <u64>runLen && bits == runBits) {
        runLen += n;
      } else {
        if (runLen > 0) emit(runPfn, runLen, runBits);
        runPfn = pfn;
        runLen = n;
        runBits = bits;
      }
      runEnd = j;
      i = j - 1;
    } else if ((v & PM_SWAP) != 0) {
      const type = <u32>v & 0x1f;
      if ((v & PM_GUARD) != 0) bump(S_GUARD, 1);
      else if (type == SWP_PTE_MARKER) {
        // Other markers (uffd-wp, poisoned) are counted from the pagemap bits above.
      } else if (type < maxSwapfiles) {
        const s = load<i32>(statsBase + (S_SWAPS << 2));
        store<f64>(swapsBase + (<usize>s << 3), <f64>(v & PM_FRAME));
        store<i32>(statsBase + (S_SWAPS << 2), s + 1);
      } else bump(S_MIGRATION, 1);
    }
  }
  if (runLen > 0) emit(runPfn, runLen, runBits);
  if (refLen > 0) emitRef(refStart, refLen);
  bump(S_TRUSTED, trusted);
  bump(S_SOFT_DIRTY, softDirty);
  bump(S_UFFD_WP, uffdWp);
}
