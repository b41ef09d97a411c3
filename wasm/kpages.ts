/**
 * The loops over looked-up pages, in AssemblyScript compiled to WebAssembly
 * (compiled before the first page, where the same loops in JavaScript ran a
 * scan's first tens of milliseconds interpreted before V8 optimised them):
 *  - compact(): values read from kpagecount/kpageflags/kpagecgroup over runs
 *    of PFNs (holes read through) stored by rank (src/scan/kpage-lookup.ts);
 *  - account(): per stored run, its pages' map counts and flags summed by
 *    class, by the rule of src/accounting/page-class.ts (imported here: the
 *    same source the reports call; it says which rules and why).
 *
 * Memory is laid out by the JavaScript side (src/scan/kpage-index.ts) and
 * passed in with setup(): the rank index of the PFN set (a directory of
 * 64 Ki-PFN blocks, each block's bitmap and per-word rank bases), the values
 * by rank, a buffer of run columns, and an output area of per-VMA sums.
 */

import {
  isKsmPage,
  isThpPage,
  PAGE_ANON,
  PAGE_HUGETLB,
  PAGE_MEMORY,
  PAGE_SHMEM,
  PAGE_ZERO,
  pageClass,
  SHMEM_MAPPING_FLAGS,
} from "../src/accounting/page-class";
import {
  PFN_BLOCK_SHIFT as BLOCK_SHIFT,
  BLOCK_WORDS,
  E_HUGE_RUN,
  E_SHMEM_VMA,
  INTO_COUNT,
  INTO_FLAGS,
  OBJECT_FIELDS,
  SUM_ANON as S_ANON,
  SUM_FILE as S_FILE,
  SUM_HUGE_PRIV as S_HUGE_PRIV,
  SUM_HUGE_PSS as S_HUGE_PSS,
  SUM_HUGE_SHARED as S_HUGE_SHARED,
  SUM_KSM as S_KSM,
  SUM_PSS as S_PSS,
  SUM_PSS_ANON as S_PSS_ANON,
  SUM_PSS_FILE as S_PSS_FILE,
  SUM_PSS_SHMEM as S_PSS_SHMEM,
  SUM_RSS as S_RSS,
  SUM_SHMEM as S_SHMEM,
  SUM_THP as S_THP,
  SUM_UNMANAGED as S_UNMANAGED,
  SUM_USS as S_USS,
  SUM_ZERO as S_ZERO,
  SUMS as S_FIELDS,
} from "../src/scan/wasm-abi";

/**
 * A whole page in the PSS sums' unit, 1/4096 byte (the kernel's PSS_SHIFT
 * of 12): PAGE_SIZE << 12, set by setPageSize(). A page of map count m >= 2
 * adds (PAGE_SIZE << 12) / m truncated, as fs/proc/task_mmu.c smaps_account
 * does, so every PSS sum is an integer: exact in a double up to 2^53 (2 TiB
 * of pages in one sum), the same whatever order or grouping the pages are
 * added in, and equal to the kernel's own sum (src/accounting/kernel-pss.ts).
 */
let pageUnits: u32 = 4096 << 12;

export function setPageSize(pageSize: u32): void {
  pageUnits = pageSize << 12;
}

/** A page's share of PSS for map count `c`, in 1/4096 byte. */
@inline function shareOf(c: u32): f64 {
  return <f64>(c >= 2 ? pageUnits / c : pageUnits);
}

let dir: usize = 0;
let nBlocks: u32 = 0;
let bitmaps: usize = 0;
let bases: usize = 0;
let counts: usize = 0;
let flags: usize = 0;
let runPfn: usize = 0;
let runLen: usize = 0;
let runVma: usize = 0;
let runBits: usize = 0;
let out: usize = 0;
let flagsHi: usize = 0;
let cgroups: usize = 0;
let acc: usize = 0;


/** Where the scratch areas begin: the first free byte, 16-aligned. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

export function setup(
  dirPtr: usize, blocks: u32, bitmapPtr: usize, basePtr: usize, countPtr: usize, flagPtr: usize,
  pfnPtr: usize, lenPtr: usize, vmaPtr: usize, bitsPtr: usize, outPtr: usize, accPtr: usize,
): void {
  dir = dirPtr; nBlocks = blocks; bitmaps = bitmapPtr; bases = basePtr; counts = countPtr; flags = flagPtr;
  runPfn = pfnPtr; runLen = lenPtr; runVma = vmaPtr; runBits = bitsPtr; out = outPtr; acc = accPtr;
}

/*
 * Building the set from the run store (the scan's path, where the PFN set is
 * not built in JavaScript): the runs' columns are copied in a batch at a
 * time (never all at once: that copy was 13 bytes a run, 30 MB for the
 * 2.3 M runs of fragmented shared memory), for maxBlock(), then
 * clearBlocks(), markRuns() and assignSlots() for the directory, then after
 * setup() buildSets() and rankBases() fill the bitmaps (the set's, and the
 * subset of PFNs whose flags are needed) and the rank bases.
 */
let subsetMaps: usize = 0;

/** One past the highest 64 Ki-PFN block that runs [0, n) touch. */
export function maxBlock(pfnPtr: usize, lenPtr: usize, n: i32): u32 {
  let top: u64 = 0;
  for (let i = 0; i < n; i++) {
    const end = <u64>load<f64>(pfnPtr + (<usize>i << 3)) + <u64>load<u32>(lenPtr + (<usize>i << 2));
    if (end > top) top = end;
  }
  if (top == 0) return 0;
  // Saturates instead of wrapping: a PFN no machine has (a hostile tree) must not look small.
  const blocks: u64 = ((top - 1) >> BLOCK_SHIFT) + 1;
  return blocks > <u64>0xffffffff ? 0xffffffff : <u32>blocks;
}

/** Empty the directory at `dirPtr` (-1: no slot) before markRuns(). */
export function clearBlocks(dirPtr: usize, blocks: u32): void {
  memory.fill(dirPtr, 0xff, <usize>blocks << 2);
}

/** Mark in the directory at `dirPtr` (0: touched) each block that runs [0, n) touch; called per batch of runs. */
export function markRuns(pfnPtr: usize, lenPtr: usize, n: i32, dirPtr: usize): void {
  for (let i = 0; i < n; i++) {
    const first = <u64>load<f64>(pfnPtr + (<usize>i << 3));
    const last = first + <u64>load<u32>(lenPtr + (<usize>i << 2)) - 1;
    for (let b = <u32>(first >> BLOCK_SHIFT); b <= <u32>(last >> BLOCK_SHIFT); b++) store<i32>(dirPtr + (<usize>b << 2), 0);
  }
}

/** Give each marked block a slot, in block order; returns the slots. */
export function assignSlots(dirPtr: usize, blocks: u32): i32 {
  let slots = 0;
  for (let b: u32 = 0; b < blocks; b++) {
    const p = dirPtr + (<usize>b << 2);
    if (load<i32>(p) == 0) store<i32>(p, slots++);
  }
  return slots;
}

@inline function setBits(maps: usize, pfn: u64, len: u32): void {
  let p = pfn;
  const end = pfn + <u64>len;
  while (p < end) {
    const slot = load<i32>(dir + (<usize>(p >> BLOCK_SHIFT) << 2));
    const o = <u32>p & ((1 << BLOCK_SHIFT) - 1);
    const k = <u32>min<u64>(end - p, <u64>(32 - (o & 31)));
    const mask: u32 = k == 32 ? 0xffffffff : ((<u32>1 << k) - 1) << (o & 31);
    const at = maps + ((<usize>slot * BLOCK_WORDS + <usize>(o >> 5)) << 2);
    store<u32>(at, load<u32>(at) | mask);
    p += <u64>k;
  }
}

/**
 * Set the bits of runs [0, n) in the set's bitmaps, and of those without
 * `shmemMark` in the subset's (when `subsetPtr` is not 0). Bitmaps must be
 * zeroed; setup() must have been called with the directory.
 */
export function buildSets(pfnPtr: usize, lenPtr: usize, bitsPtr: usize, n: i32, subsetPtr: usize, shmemMark: u32): void {
  subsetMaps = subsetPtr;
  for (let i = 0; i < n; i++) {
    const pfn = <u64>load<f64>(pfnPtr + (<usize>i << 3));
    const len = load<u32>(lenPtr + (<usize>i << 2));
    setBits(bitmaps, pfn, len);
    if (subsetPtr != 0 && (<u32>load<u8>(bitsPtr + <usize>i) & shmemMark) == 0) setBits(subsetPtr, pfn, len);
  }
}

/** Fill the rank bases from the set's bitmaps; returns the PFNs in the set. */
export function rankBases(slots: i32): u32 {
  let rank: u32 = 0;
  for (let b: u32 = 0; b < nBlocks; b++) {
    const slot = load<i32>(dir + (<usize>b << 2));
    if (slot < 0) continue;
    for (let w: usize = 0; w < <usize>BLOCK_WORDS; w++) {
      const at = (<usize>slot * BLOCK_WORDS + w) << 2;
      store<u32>(bases + at, rank);
      rank += popcnt<u32>(load<u32>(bitmaps + at));
    }
  }
  return rank;
}

/** PFNs in the subset's bitmaps. */
export function subsetSize(slots: i32): u32 {
  let n: u32 = 0;
  if (subsetMaps == 0) return 0;
  for (let at: usize = 0; at < <usize>slots * BLOCK_WORDS; at++) n += popcnt<u32>(load<u32>(subsetMaps + (at << 2)));
  return n;
}

export function setValues(flagsHiPtr: usize, cgroupPtr: usize): void {
  flagsHi = flagsHiPtr;
  cgroups = cgroupPtr;
}


/**
 * Store the words read for `n` runs (run i: `len[i]` PFNs from `start[i]`,
 * `got[i]` words read, laid out back to back from `buf`) by rank, for the
 * PFNs of the set only. Returns the PFNs past the end of the file (device
 * memory: a short read), which keep no values.
 */
export function compact(into: i32, n: i32, startPtr: usize, lenPtr: usize, gotPtr: usize, buf: usize): i32 {
  let at: usize = buf;
  let beyond: i32 = 0;
  for (let i = 0; i < n; i++) {
    const start = <u64>load<f64>(startPtr + (<usize>i << 3));
    const len = load<u32>(lenPtr + (<usize>i << 2));
    const got = load<u32>(gotPtr + (<usize>i << 2));
    for (let k: u32 = 0; k < len; k++) {
      const r = rankOf(start + <u64>k);
      if (r < 0) continue;
      if (k >= got) {
        beyond++;
        continue;
      }
      const word = at + (<usize>k << 3);
      const ro = <usize>r << 2;
      if (into == INTO_COUNT) store<u32>(counts + ro, load<u32>(word));
      else if (into == INTO_FLAGS) {
        store<u32>(flags + ro, load<u32>(word));
        store<u32>(flagsHi + ro, load<u32>(word, 4));
      } else store<f64>(cgroups + (<usize>r << 3), <f64>load<u64>(word));
    }
    at += <usize>len << 3;
  }
  return beyond;
}

/*
 * Runs of the set to read, window by window: a cursor over the bitmaps
 * (block, word, unconsumed bits of that word), one PFN looked ahead, and a
 * run kept back when it did not fit the last window.
 */
let cBlock: u32 = 0;
let cWord: u32 = 0;
let cBits: u32 = 0;
let cLoaded = false;
let peeked: i64 = -2;
let keptStart: i64 = -1;
let keptLen: u32 = 0;
/** The bitmaps the cursor walks: the set's, or the flags subset's (same directory and slots). */
let cMaps: usize = 0;

export function runsReset(subset: bool): void {
  cMaps = subset ? subsetMaps : bitmaps;
  cBlock = 0;
  cWord = 0;
  cLoaded = false;
  peeked = -2;
  keptStart = -1;
}

/** The next set PFN from the cursor, consumed, or -1 at the end. */
function nextPfn(): i64 {
  while (cBlock < nBlocks) {
    const slot = load<i32>(dir + (<usize>cBlock << 2));
    if (slot < 0) {
      cBlock++;
      cWord = 0;
      cLoaded = false;
      continue;
    }
    if (!cLoaded) {
      cBits = load<u32>(cMaps + ((<usize>slot * BLOCK_WORDS + <usize>cWord) << 2));
      cLoaded = true;
    }
    if (cBits != 0) {
      const bit = ctz<u32>(cBits);
      cBits &= cBits - 1;
      return (<i64>cBlock << BLOCK_SHIFT) + (<i64>cWord << 5) + <i64>bit;
    }
    cLoaded = false;
    if (++cWord == <u32>BLOCK_WORDS) {
      cWord = 0;
      cBlock++;
    }
  }
  return -1;
}

function peekPfn(): i64 {
  if (peeked == -2) peeked = nextPfn();
  return peeked;
}

/**
 * Write the next runs of the set into start (f64) / len (u32): set PFNs with
 * holes of at most `gap` read through, never crossing a 64 Ki-PFN block, as
 * many as fit `maxWords` words (at least one). Returns how many; 0 at the end.
 */
export function nextRuns(gap: u32, maxWords: u32, startPtr: usize, lenPtr: usize): i32 {
  let n = 0;
  let words: u32 = 0;
  for (;;) {
    let start: i64 = keptStart;
    let len: u32 = keptLen;
    if (start >= 0) keptStart = -1;
    else {
      start = peekPfn();
      if (start < 0) break;
      peeked = -2;
      let last = start;
      for (;;) {
        const q = peekPfn();
        if (q < 0 || q >> BLOCK_SHIFT != start >> BLOCK_SHIFT || q - last > <i64>gap) break;
        peeked = -2;
        last = q;
      }
      len = <u32>(last - start + 1);
    }
    if (n > 0 && words + len > maxWords) {
      keptStart = start;
      keptLen = len;
      break;
    }
    store<f64>(startPtr + (<usize>n << 3), <f64>start);
    store<u32>(lenPtr + (<usize>n << 2), len);
    words += len;
    n++;
  }
  return n;
}

/** Rank of a looked-up PFN, or -1. */
function rankOf(pfn: u64): i32 {
  const block = <u32>(pfn >> BLOCK_SHIFT);
  if (pfn >> BLOCK_SHIFT >= <u64>nBlocks) return -1;
  const slot = load<i32>(dir + (<usize>block << 2));
  if (slot < 0) return -1;
  const o = <u32>pfn & ((1 << BLOCK_SHIFT) - 1);
  const w = <usize>(o >> 5);
  const bit = o & 31;
  const word = load<u32>(bitmaps + ((<usize>slot * BLOCK_WORDS + w) << 2));
  if (((word >> bit) & 1) == 0) return -1;
  const base = load<u32>(bases + ((<usize>slot * BLOCK_WORDS + w) << 2));
  return <i32>(base + popcnt<u32>(word & ((<u32>1 << bit) - 1)));
}

@inline function add(to: usize, field: i32, v: f64): void {
  const p = to + (<usize>field << 3);
  store<f64>(p, load<f64>(p) + v);
}

/*
 * sumRun keeps the sums in locals for the length of a run and writes them
 * back once (all of them sums of integers, see shareOf: the same whatever
 * the order), without a load and a store of memory per page and field
 * (35 ms for the 2.4 M pages of the reference workload before). Each page is
 * classed by the one rule, pageClass (src/accounting/page-class.ts).
 */
function sumRun(pfn: u64, len: u32, huge: bool, shmem: bool, to: usize): void {
  const r0 = rankOf(pfn);
  if (r0 < 0) {
    add(to, S_UNMANAGED, <f64>len);
    return;
  }
  const end = <u32>r0 + len;
  let rss = load<f64>(to + (<usize>S_RSS << 3));
  let pss = load<f64>(to + (<usize>S_PSS << 3));
  let uss = load<f64>(to + (<usize>S_USS << 3));
  let shm = load<f64>(to + (<usize>S_SHMEM << 3));
  let pssShm = load<f64>(to + (<usize>S_PSS_SHMEM << 3));
  let unmanaged = load<f64>(to + (<usize>S_UNMANAGED << 3));
  if (shmem) {
    // No flags were read for a shmem mapping's pages (E_SHMEM_VMA): its mapping gives the class.
    for (let r = <u32>r0; r < end; r++) {
      const c = load<u32>(counts + (<usize>r << 2));
      // pageClass(c, SHMEM_MAPPING_FLAGS): unmanaged when no page table maps it, else shmem.
      if (pageClass(c, SHMEM_MAPPING_FLAGS) != PAGE_SHMEM) {
        unmanaged += 1;
        continue;
      }
      const share = shareOf(c);
      rss += 1;
      pss += share;
      if (c == 1) uss += 1;
      shm += 1;
      pssShm += share;
    }
  } else {
    let anon = load<f64>(to + (<usize>S_ANON << 3));
    let pssAnon = load<f64>(to + (<usize>S_PSS_ANON << 3));
    let file = load<f64>(to + (<usize>S_FILE << 3));
    let pssFile = load<f64>(to + (<usize>S_PSS_FILE << 3));
    let ksm = load<f64>(to + (<usize>S_KSM << 3));
    let thp = load<f64>(to + (<usize>S_THP << 3));
    let zero = load<f64>(to + (<usize>S_ZERO << 3));
    let hugeShared = load<f64>(to + (<usize>S_HUGE_SHARED << 3));
    let hugePriv = load<f64>(to + (<usize>S_HUGE_PRIV << 3));
    let hugePss = load<f64>(to + (<usize>S_HUGE_PSS << 3));
    for (let r = <u32>r0; r < end; r++) {
      const f = load<u32>(flags + (<usize>r << 2));
      const c = load<u32>(counts + (<usize>r << 2));
      const cls = pageClass(c, f);
      if (cls < PAGE_MEMORY) {
        if (cls == PAGE_ZERO) zero += 1;
        else if (cls == PAGE_HUGETLB) {
          if (c >= 2) hugeShared += 1;
          else hugePriv += 1;
          hugePss += shareOf(c);
        } else unmanaged += 1;
        continue;
      }
      const share = shareOf(c);
      rss += 1;
      pss += share;
      if (c == 1) uss += 1;
      if (cls == PAGE_ANON) {
        anon += 1;
        pssAnon += share;
      } else if (cls == PAGE_SHMEM) {
        shm += 1;
        pssShm += share;
      } else {
        file += 1;
        pssFile += share;
      }
      if (isKsmPage(f)) ksm += 1;
      if (huge && isThpPage(f)) thp += 1;
    }
    store<f64>(to + (<usize>S_ANON << 3), anon);
    store<f64>(to + (<usize>S_PSS_ANON << 3), pssAnon);
    store<f64>(to + (<usize>S_FILE << 3), file);
    store<f64>(to + (<usize>S_PSS_FILE << 3), pssFile);
    store<f64>(to + (<usize>S_KSM << 3), ksm);
    store<f64>(to + (<usize>S_THP << 3), thp);
    store<f64>(to + (<usize>S_ZERO << 3), zero);
    store<f64>(to + (<usize>S_HUGE_SHARED << 3), hugeShared);
    store<f64>(to + (<usize>S_HUGE_PRIV << 3), hugePriv);
    store<f64>(to + (<usize>S_HUGE_PSS << 3), hugePss);
  }
  store<f64>(to + (<usize>S_RSS << 3), rss);
  store<f64>(to + (<usize>S_PSS << 3), pss);
  store<f64>(to + (<usize>S_USS << 3), uss);
  store<f64>(to + (<usize>S_SHMEM << 3), shm);
  store<f64>(to + (<usize>S_PSS_SHMEM << 3), pssShm);
  store<f64>(to + (<usize>S_UNMANAGED << 3), unmanaged);
}

/** VMA row whose sums are in `acc` (-1: none yet); set by begin(). */
let current: i32 = -1;

export function begin(): void {
  current = -1;
  memory.fill(acc, 0, S_FIELDS * 8);
}

/** Write the sums in `acc` for the current VMA as segment `k` of the output area; returns k + 1. */
function flush(k: i32): i32 {
  if (current < 0) return k;
  const p = out + <usize>k * (S_FIELDS + 1) * 8;
  store<f64>(p, <f64>current);
  memory.copy(p + 8, acc, S_FIELDS * 8);
  memory.fill(acc, 0, S_FIELDS * 8);
  return k + 1;
}

/**
 * Account runs [from, to) of the run buffer. Returns the number of VMA
 * segments written to the output area (each: VMA row, then the 16 sums);
 * the last VMA's sums stay in `acc` until a later run changes VMA or end().
 */
export function account(from: i32, to: i32, partial: bool): i32 {
  let k = 0;
  for (let i = from; i < to; i++) {
    const vma = load<i32>(runVma + (<usize>i << 2));
    if (vma != current) {
      k = flush(k);
      current = vma;
    }
    const pfn = <u64>load<f64>(runPfn + (<usize>i << 3));
    const len = load<u32>(runLen + (<usize>i << 2));
    const bits = load<u32>(runBits + (<usize>i << 2));
    const huge = (bits & E_HUGE_RUN) != 0;
    const shmem = partial && (bits & E_SHMEM_VMA) != 0;
    sumRun(pfn, len, huge, shmem, acc);
  }
  return k;
}

/** Flush the last VMA's sums: writes segment 0 of the output area, returns 1 (0 when there was none). */
export function end(): i32 {
  const k = flush(0);
  current = -1;
  return k;
}

@inline function carryOn(carry: usize, k: i32, field: i32): void {
  store<f64>(carry + (<usize>k << 3), load<f64>(carry + (<usize>k << 3)) + load<f64>(acc + (<usize>field << 3)));
}

/**
 * Prefix sums over the shared objects' runs (src/scan/kpage-account.ts
 * objectSums), every `stride` runs: runs [0, n) of the run buffer are runs
 * first .. first + n - 1 of all, each summed on its own; after run g, when
 * g + 1 is a multiple of `stride`, the running totals of the OBJECT_FIELDS
 * sums (in that order: scan/wasm-abi.ts) are written as row (g + 1) / stride
 * from `rowsAt`. The totals carry over from call to call (from zero when
 * `first` is 0). A byte per run from `out` is 1 when the run has any other
 * sum (then its object's references are summed page by page); returns how
 * many such runs there were. The runs' VMA column is not read.
 */
export function prefixRuns(n: i32, partial: bool, rowsAt: usize, first: i32, stride: i32): i32 {
  const carry = acc + <usize>S_FIELDS * 8;
  if (first == 0) memory.fill(carry, 0, OBJECT_FIELDS * 8);
  let others = 0;
  for (let i = 0; i < n; i++) {
    memory.fill(acc, 0, S_FIELDS * 8);
    const bits = load<u32>(runBits + (<usize>i << 2));
    sumRun(<u64>load<f64>(runPfn + (<usize>i << 3)), load<u32>(runLen + (<usize>i << 2)), (bits & E_HUGE_RUN) != 0, partial && (bits & E_SHMEM_VMA) != 0, acc);
    carryOn(carry, 0, S_RSS);
    carryOn(carry, 1, S_PSS);
    carryOn(carry, 2, S_USS);
    carryOn(carry, 3, S_SHMEM);
    carryOn(carry, 4, S_PSS_SHMEM);
    carryOn(carry, 5, S_FILE);
    carryOn(carry, 6, S_PSS_FILE);
    carryOn(carry, 7, S_UNMANAGED);
    const g = first + i + 1;
    if (g % stride == 0) memory.copy(rowsAt + <usize>(g / stride) * OBJECT_FIELDS * 8, carry, OBJECT_FIELDS * 8);
    // The other sums are never negative: their total is 0 only when each is.
    let other: f64 = 0;
    for (let f = 0; f < S_FIELDS; f++)
      if (f != S_RSS && f != S_PSS && f != S_USS && f != S_SHMEM && f != S_PSS_SHMEM && f != S_FILE && f != S_PSS_FILE && f != S_UNMANAGED) other += load<f64>(acc + (<usize>f << 3));
    store<u8>(out + <usize>i, other != 0 ? 1 : 0);
    if (other != 0) others++;
  }
  memory.fill(acc, 0, S_FIELDS * 8);
  return others;
}
