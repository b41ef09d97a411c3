/**
 * Readable builders for the 64-bit words of /proc/PID/pagemap and the
 * PFN-indexed /proc/kpagecount, /proc/kpageflags and /proc/kpagecgroup, and a
 * writer for sparse files of such words. Built on the library's own encoder
 * (src/decode/pagemap.ts) and KPF_* bit numbers (src/decode/kpageflags.ts),
 * so a fixture says what the kernel would say in the kernel's own terms.
 */
import * as fs from "node:fs";
import { encodePagemapEntry, type PagemapEntry, PTE_MARKER_GUARD, PTE_MARKER_UFFD_WP, SWP_PTE_MARKER, TWO_32 } from "../../src/decode/pagemap.js";
import {
  KPF_ANON,
  KPF_COMPOUND_HEAD,
  KPF_COMPOUND_TAIL,
  KPF_HUGE,
  KPF_LRU,
  KPF_MMAP,
  KPF_RESERVED,
  KPF_SWAPBACKED,
  KPF_THP,
  KPF_UPTODATE,
  KPF_ZERO_PAGE,
} from "../../src/decode/kpageflags.js";

export const PAGE_SIZE = 4096;
/** 4 KiB pages in a 2 MiB PMD. */
export const PMD_PAGES = 512;

/** One little-endian u64 as its two 32-bit halves (lo = bits 0-31, hi = bits 32-63). */
export interface Word {
  readonly lo: number;
  readonly hi: number;
}

export const ZERO_WORD: Word = { lo: 0, hi: 0 };

/** Entries as the kernel writes them into a read buffer: (lo, hi) pairs in a Uint32Array. */
export function pagemapWords(list: readonly Partial<PagemapEntry>[]): Uint32Array {
  const u32 = new Uint32Array(list.length * 2);
  list.forEach((e, i) => {
    const { lo, hi } = encodePagemapEntry(e);
    u32[2 * i] = lo;
    u32[2 * i + 1] = hi;
  });
  return u32;
}

/** A u64 value below 2^53 as a Word. */
export function wordOf(value: number): Word {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a u64 below 2^53: ${value}`);
  return { lo: value % TWO_32 >>> 0, hi: Math.floor(value / TWO_32) >>> 0 };
}

// ---------------------------------------------------------------------------
// pagemap entries

export interface PteSpec {
  /** Physical frame number (bits 0-54). */
  readonly pfn: number;
  /** PM_MMAP_EXCLUSIVE (bit 56). Default false. */
  readonly exclusive?: boolean;
  /** PM_FILE (bit 61): page cache, shmem, vDSO, huge zero page. Default false. */
  readonly file?: boolean;
  readonly softDirty?: boolean;
  readonly uffdWp?: boolean;
}

/** A present page-table entry (bit 63). */
export function pte(spec: PteSpec): Word {
  return encodePagemapEntry({
    present: true,
    pfn: spec.pfn,
    exclusive: spec.exclusive === true,
    file: spec.file === true,
    softDirty: spec.softDirty === true,
    uffdWp: spec.uffdWp === true,
  });
}

/** A private anonymous page mapped once: present, exclusive, not PM_FILE. */
export function anonPte(pfn: number): Word {
  return pte({ pfn, exclusive: true });
}

export interface SwapPteSpec {
  /** Swap type (bits 0-4): an index into /proc/swaps below MAX_SWAPFILES; 31 is a PTE marker. */
  readonly type: number;
  /** Swap offset (bits 5-54); for migration entries the PFN; for markers the marker bits. */
  readonly offset: number;
  readonly softDirty?: boolean;
  readonly uffdWp?: boolean;
  readonly guard?: boolean;
  readonly file?: boolean;
}

/** A non-present, non-none entry (bit 62): swap, migration entry or PTE marker, by type. */
export function swapPte(spec: SwapPteSpec): Word {
  if (spec.type < 0 || spec.type > 31) throw new RangeError(`swap type out of range: ${spec.type}`);
  return encodePagemapEntry({
    present: false,
    swapped: true,
    swapType: spec.type,
    swapOffset: spec.offset,
    softDirty: spec.softDirty === true,
    uffdWp: spec.uffdWp === true,
    guard: spec.guard === true,
    file: spec.file === true,
  });
}

/** A MADV_GUARD_INSTALL marker as 6.15+ reports it: bit 62 + bit 58, type 31, offset 4 (measured 0x440000000000009f). */
export function guardPte(): Word {
  return swapPte({ type: SWP_PTE_MARKER, offset: PTE_MARKER_GUARD, guard: true });
}

/** A uffd-wp PTE marker on an unpopulated page: bit 62 + bit 57, type 31, offset 1. */
export function uffdWpMarkerPte(): Word {
  return swapPte({ type: SWP_PTE_MARKER, offset: PTE_MARKER_UFFD_WP, uffdWp: true });
}

/** A migration entry: type `type` (MAX_SWAPFILES..30), the offset is the PFN being migrated. */
export function migrationPte(type: number, pfn: number): Word {
  return swapPte({ type, offset: pfn });
}

// ---------------------------------------------------------------------------
// kpage* values

/** What the three PFN-indexed files hold for one PFN. */
export interface KPage {
  /** /proc/kpagecount: the page's map count. */
  readonly count: number;
  /** /proc/kpageflags word. */
  readonly flags: Word;
  /** /proc/kpagecgroup: inode of the memory cgroup charged, 0 for none. */
  readonly cgroup: number;
}

export interface PageSpec {
  readonly count: number;
  /** KPF_* bit numbers (0-63). */
  readonly flags?: readonly number[];
  readonly cgroup?: number;
}

/** A kpageflags word from KPF_* bit numbers. */
export function flagsWord(bits: readonly number[]): Word {
  let lo = 0;
  let hi = 0;
  for (const b of bits) {
    if (!Number.isInteger(b) || b < 0 || b > 63) throw new RangeError(`not a kpageflags bit: ${b}`);
    if (b < 32) lo |= 1 << b;
    else hi |= 1 << (b - 32);
  }
  return { lo: lo >>> 0, hi: hi >>> 0 };
}

export function page(spec: PageSpec): KPage {
  return { count: spec.count, flags: flagsWord(spec.flags ?? []), cgroup: spec.cgroup ?? 0 };
}

/** Typical flag sets, as measured on a 6.18 machine (reference §3.3). */
export const ANON_FLAGS: readonly number[] = [KPF_UPTODATE, KPF_LRU, KPF_MMAP, KPF_ANON, KPF_SWAPBACKED];
export const FILE_FLAGS: readonly number[] = [KPF_UPTODATE, KPF_LRU, KPF_MMAP];
export const SHMEM_FLAGS: readonly number[] = [KPF_UPTODATE, KPF_LRU, KPF_MMAP, KPF_SWAPBACKED];
/** The 4 KiB shared zero page: ZERO_PAGE | RESERVED, kpagecount 0. */
export const ZERO_PAGE_FLAGS: readonly number[] = [KPF_ZERO_PAGE, KPF_RESERVED];

export function anonPage(count = 1, cgroup = 0): KPage {
  return page({ count, flags: ANON_FLAGS, cgroup });
}

export function filePage(count: number, cgroup = 0): KPage {
  return page({ count, flags: FILE_FLAGS, cgroup });
}

export function shmemPage(count: number, cgroup = 0): KPage {
  return page({ count, flags: SHMEM_FLAGS, cgroup });
}

export function zeroPage(): KPage {
  return page({ count: 0, flags: ZERO_PAGE_FLAGS });
}

/** Page `i` of a large folio: head or tail flags added to `flags`. */
export function folioPage(i: number, count: number, flags: readonly number[], cgroup = 0): KPage {
  return page({ count, flags: [...flags, i === 0 ? KPF_COMPOUND_HEAD : KPF_COMPOUND_TAIL], cgroup });
}

/** Page `i` of an anonymous THP / mTHP folio. */
export function thpPage(i: number, count: number, cgroup = 0): KPage {
  return folioPage(i, count, [...ANON_FLAGS, KPF_THP], cgroup);
}

/** Page `i` of a hugetlb folio (KPF_HUGE). Private hugetlb pages have count 1 on every subpage (measured). */
export function hugetlbPage(i: number, count = 1): KPage {
  return folioPage(i, count, [KPF_UPTODATE, KPF_MMAP, KPF_ANON, KPF_HUGE]);
}

// ---------------------------------------------------------------------------
// sparse files of u64 words

/**
 * Write a file of `lengthWords` u64 words, all zero except `words`
 * (index -> value). The file is created sparse: ftruncate to the full length,
 * then 8-byte writes at index*8 only where an entry exists.
 */
export function writeSparseWords(file: string, lengthWords: number, words: Iterable<readonly [number, Word]>): void {
  const fd = fs.openSync(file, "w", 0o400);
  try {
    fs.ftruncateSync(fd, lengthWords * 8);
    const buf = Buffer.alloc(8);
    for (const [index, w] of words) {
      if (w.lo === 0 && w.hi === 0) continue;
      if (index < 0 || index >= lengthWords) throw new RangeError(`word ${index} outside ${file} (${lengthWords} words)`);
      buf.writeUInt32LE(w.lo >>> 0, 0);
      buf.writeUInt32LE(w.hi >>> 0, 4);
      fs.writeSync(fd, buf, 0, 8, index * 8);
    }
  } finally {
    fs.closeSync(fd);
  }
}
