/**
 * /proc/kpageflags bits: the single table from which decoding, the page-types
 * letter strings, long names and documentation are derived.
 * Sources: include/uapi/linux/kernel-page-flags.h (0-26, stable ABI),
 * include/linux/kernel-page-flags.h (32+, kernel-hacking aids that may change),
 * tools/mm/page-types.c (letters, and the synthetic "overloaded" bits 47-63
 * that page-types itself derives; the kernel never emits those).
 *
 * A 64-bit flag word is handled as two 32-bit halves (lo = bits 0-31,
 * hi = bits 32-63) so hot loops never need BigInt.
 */

import { PM_EXCLUSIVE_HI, PM_FILE_HI, PM_SOFT_DIRTY_HI, PM_SWAP_HI } from "./pagemap.js";

export const KPF_LOCKED = 0;
export const KPF_ERROR = 1;
export const KPF_REFERENCED = 2;
export const KPF_UPTODATE = 3;
export const KPF_DIRTY = 4;
export const KPF_LRU = 5;
export const KPF_ACTIVE = 6;
export const KPF_SLAB = 7;
export const KPF_WRITEBACK = 8;
export const KPF_RECLAIM = 9;
export const KPF_BUDDY = 10;
export const KPF_MMAP = 11;
export const KPF_ANON = 12;
export const KPF_SWAPCACHE = 13;
export const KPF_SWAPBACKED = 14;
export const KPF_COMPOUND_HEAD = 15;
export const KPF_COMPOUND_TAIL = 16;
export const KPF_HUGE = 17;
export const KPF_UNEVICTABLE = 18;
export const KPF_HWPOISON = 19;
export const KPF_NOPAGE = 20;
export const KPF_KSM = 21;
export const KPF_THP = 22;
export const KPF_OFFLINE = 23;
export const KPF_ZERO_PAGE = 24;
export const KPF_IDLE = 25;
export const KPF_PGTABLE = 26;
export const KPF_RESERVED = 32;
export const KPF_MLOCKED = 33;
export const KPF_OWNER_2 = 34;
export const KPF_PRIVATE = 35;
export const KPF_PRIVATE_2 = 36;
export const KPF_OWNER_PRIVATE = 37;
export const KPF_ARCH = 38;
export const KPF_UNCACHED = 39;
export const KPF_SOFTDIRTY = 40;
export const KPF_ARCH_2 = 41;
export const KPF_ARCH_3 = 42;
// Synthetic bits (page-types only): overloaded kernel bits expanded, and pagemap bits ORed in.
export const KPF_ANON_EXCLUSIVE = 47;
export const KPF_READAHEAD = 48;
export const KPF_SLUB_FROZEN = 50;
export const KPF_SLUB_DEBUG = 51;
export const KPF_FILE = 61;
export const KPF_SWAP = 62;
export const KPF_MMAP_EXCLUSIVE = 63;

/** Masks for the low half, for hot loops. */
export const F_REFERENCED = 1 << KPF_REFERENCED;
export const F_DIRTY = 1 << KPF_DIRTY;
export const F_LRU = 1 << KPF_LRU;
export const F_ACTIVE = 1 << KPF_ACTIVE;
export const F_SLAB = 1 << KPF_SLAB;
export const F_BUDDY = 1 << KPF_BUDDY;
export const F_MMAP = 1 << KPF_MMAP;
export const F_ANON = 1 << KPF_ANON;
export const F_SWAPCACHE = 1 << KPF_SWAPCACHE;
export const F_SWAPBACKED = 1 << KPF_SWAPBACKED;
export const F_COMPOUND_HEAD = 1 << KPF_COMPOUND_HEAD;
export const F_COMPOUND_TAIL = 1 << KPF_COMPOUND_TAIL;
export const F_HUGE = 1 << KPF_HUGE;
export const F_UNEVICTABLE = 1 << KPF_UNEVICTABLE;
export const F_NOPAGE = 1 << KPF_NOPAGE;
export const F_KSM = 1 << KPF_KSM;
export const F_THP = 1 << KPF_THP;
export const F_ZERO_PAGE = 1 << KPF_ZERO_PAGE;
export const F_IDLE = 1 << KPF_IDLE;
export const F_PGTABLE = 1 << KPF_PGTABLE;

export type FlagClass = "stable" | "hacker" | "synthetic";

export interface PageFlagInfo {
  readonly bit: number;
  readonly letter: string;
  readonly name: string;
  readonly cls: FlagClass;
  readonly doc: string;
}

/** Every named bit, in bit order. Letters follow page-types (some repeat across classes, as there). */
export const PAGE_FLAGS: readonly PageFlagInfo[] = [
  { bit: 0, letter: "L", name: "locked", cls: "stable", doc: "page is locked, e.g. during I/O" },
  { bit: 1, letter: "E", name: "error", cls: "stable", doc: "I/O error (PG_error; removed in 6.12, never set since)" },
  { bit: 2, letter: "R", name: "referenced", cls: "stable", doc: "PG_referenced, the LRU software bit (not the PTE accessed bit)" },
  { bit: 3, letter: "U", name: "uptodate", cls: "stable", doc: "contents are valid" },
  { bit: 4, letter: "D", name: "dirty", cls: "stable", doc: "PG_dirty: must be written back (the PTE dirty bit is not visible)" },
  { bit: 5, letter: "l", name: "lru", cls: "stable", doc: "on an LRU list" },
  { bit: 6, letter: "A", name: "active", cls: "stable", doc: "on the active LRU list" },
  { bit: 7, letter: "S", name: "slab", cls: "stable", doc: "slab allocator page" },
  { bit: 8, letter: "W", name: "writeback", cls: "stable", doc: "being written back" },
  { bit: 9, letter: "I", name: "reclaim", cls: "stable", doc: "to be reclaimed after writeback (shares its bit with readahead)" },
  { bit: 10, letter: "B", name: "buddy", cls: "stable", doc: "free page in the buddy allocator" },
  { bit: 11, letter: "M", name: "mmap", cls: "stable", doc: "mapped into some page table" },
  { bit: 12, letter: "a", name: "anonymous", cls: "stable", doc: "anonymous memory (shmem is not anonymous)" },
  { bit: 13, letter: "s", name: "swapcache", cls: "stable", doc: "in the swap cache" },
  { bit: 14, letter: "b", name: "swapbacked", cls: "stable", doc: "backed by swap: anonymous, shmem or tmpfs" },
  { bit: 15, letter: "H", name: "compound_head", cls: "stable", doc: "first page of a compound page (THP, hugetlb, large folio, slab)" },
  { bit: 16, letter: "T", name: "compound_tail", cls: "stable", doc: "later page of a compound page" },
  { bit: 17, letter: "G", name: "huge", cls: "stable", doc: "hugetlb page" },
  { bit: 18, letter: "u", name: "unevictable", cls: "stable", doc: "on the unevictable LRU (mlock, SHM_LOCK, ramfs)" },
  { bit: 19, letter: "X", name: "hwpoison", cls: "stable", doc: "hardware memory error detected" },
  { bit: 20, letter: "n", name: "nopage", cls: "stable", doc: "no struct page: a hole or offline memory" },
  { bit: 21, letter: "x", name: "ksm", cls: "stable", doc: "merged by KSM" },
  { bit: 22, letter: "t", name: "thp", cls: "stable", doc: "part of a large folio: anonymous THP or mTHP, or a large page-cache folio" },
  { bit: 23, letter: "o", name: "offline", cls: "stable", doc: "logically offline (balloon, virtio-mem)" },
  { bit: 24, letter: "z", name: "zero_page", cls: "stable", doc: "the shared zero page or the huge zero page" },
  { bit: 25, letter: "i", name: "idle_page", cls: "stable", doc: "PG_idle (idle page tracking or DAMON)" },
  { bit: 26, letter: "g", name: "pgtable", cls: "stable", doc: "page-table page" },
  { bit: 32, letter: "r", name: "reserved", cls: "hacker", doc: "PG_reserved (zero page, kernel image, firmware)" },
  { bit: 33, letter: "m", name: "mlocked", cls: "hacker", doc: "PG_mlocked" },
  { bit: 34, letter: "d", name: "owner_2", cls: "hacker", doc: "PG_owner_2 (anon_exclusive on anonymous pages; mappedtodisk before 6.12)" },
  { bit: 35, letter: "P", name: "private", cls: "hacker", doc: "PG_private: filesystem-private data" },
  { bit: 36, letter: "p", name: "private_2", cls: "hacker", doc: "PG_private_2" },
  { bit: 37, letter: "O", name: "owner_private", cls: "hacker", doc: "PG_owner_priv_1" },
  { bit: 38, letter: "h", name: "arch", cls: "hacker", doc: "PG_arch_1" },
  { bit: 39, letter: "c", name: "uncached", cls: "hacker", doc: "PG_uncached" },
  { bit: 40, letter: "f", name: "softdirty", cls: "hacker", doc: "soft-dirty (filled from pagemap bit 55 in raw mode)" },
  { bit: 41, letter: "H", name: "arch_2", cls: "hacker", doc: "PG_arch_2" },
  { bit: 42, letter: "h", name: "arch_3", cls: "hacker", doc: "PG_arch_3" },
  { bit: 47, letter: "d", name: "anon_exclusive", cls: "synthetic", doc: "anonymous page mapped exclusively (owner_2 on an anon page)" },
  { bit: 48, letter: "I", name: "readahead", cls: "synthetic", doc: "readahead marker (reclaim without writeback)" },
  { bit: 50, letter: "A", name: "slub_frozen", cls: "synthetic", doc: "SLUB frozen slab (active on a slab page)" },
  { bit: 51, letter: "E", name: "slub_debug", cls: "synthetic", doc: "SLUB debug (error on a slab page)" },
  { bit: 61, letter: "F", name: "file", cls: "synthetic", doc: "pagemap: file page or shared anonymous" },
  { bit: 62, letter: "w", name: "swap", cls: "synthetic", doc: "pagemap: not present, swapped or another non-present entry" },
  { bit: 63, letter: "1", name: "mmap_exclusive", cls: "synthetic", doc: "pagemap: mapped exactly once" },
];

const BY_BIT = new Map(PAGE_FLAGS.map((f) => [f.bit, f]));
const BY_NAME = new Map(PAGE_FLAGS.map((f) => [f.name, f]));

export function flagInfo(bit: number): PageFlagInfo | undefined {
  return BY_BIT.get(bit);
}

export function flagByName(name: string): PageFlagInfo | undefined {
  return BY_NAME.get(name);
}

/** Is bit `bit` set in the (lo, hi) pair? */
export function hasBit(lo: number, hi: number, bit: number): boolean {
  return bit < 32 ? ((lo >>> bit) & 1) === 1 : ((hi >>> (bit - 32)) & 1) === 1;
}

/** Bits 32-47: kernel-hacker bits hidden unless raw. */
const HACKERS_HI = 0xffff;
const COMPOUND = (1 << KPF_COMPOUND_HEAD) | (1 << KPF_COMPOUND_TAIL);

/**
 * page-types' default view: hide the hacker bits, and hide compound head/tail
 * except on hugetlb pages (tools/mm/page-types.c well_known_flags).
 */
export function wellKnownFlags(lo: number, hi: number): [number, number] {
  let l = lo;
  if ((l & COMPOUND) !== 0 && (l & F_HUGE) === 0) l &= ~COMPOUND;
  return [l >>> 0, (hi & ~HACKERS_HI) >>> 0];
}

/**
 * page-types' raw view: expand the overloaded kernel bits into their synthetic
 * meaning and OR in the pagemap bits (tools/mm/page-types.c expand_overloaded_flags).
 * `pmHi` is the high half of the page's pagemap entry, or 0 when there is none.
 */
export function expandOverloadedFlags(lo: number, hi: number, pmHi = 0): [number, number] {
  let l = lo;
  let h = hi;
  const bitHi = (b: number): number => 1 << (b - 32);
  if ((l & F_ANON) !== 0 && (h & bitHi(KPF_OWNER_2)) !== 0) h ^= bitHi(KPF_OWNER_2) | bitHi(KPF_ANON_EXCLUSIVE);
  if ((l & F_SLAB) !== 0) {
    if ((l & F_ACTIVE) !== 0) {
      l ^= F_ACTIVE;
      h |= bitHi(KPF_SLUB_FROZEN);
    }
    if ((l & (1 << KPF_ERROR)) !== 0) {
      l ^= 1 << KPF_ERROR;
      h |= bitHi(KPF_SLUB_DEBUG);
    }
  }
  if ((l & ((1 << KPF_RECLAIM) | (1 << KPF_WRITEBACK))) === 1 << KPF_RECLAIM) {
    l ^= 1 << KPF_RECLAIM;
    h |= bitHi(KPF_READAHEAD);
  }
  if (pmHi & PM_SOFT_DIRTY_HI) h |= bitHi(KPF_SOFTDIRTY);
  if (pmHi & PM_FILE_HI) h |= bitHi(KPF_FILE);
  if (pmHi & PM_SWAP_HI) h |= bitHi(KPF_SWAP);
  if (pmHi & PM_EXCLUSIVE_HI) h |= bitHi(KPF_MMAP_EXCLUSIVE);
  return [l >>> 0, h >>> 0];
}

/** The highest bit shown in letter strings (page-types prints up to the last named bit). */
const LETTER_BITS = 64;

/**
 * page-types' symbolic string: one character per bit 0..63 that has a name,
 * the letter when set and '_' when clear; unnamed bits that are set show as '?'.
 */
export function flagLetters(lo: number, hi: number, raw = false): string {
  let out = "";
  for (let bit = 0; bit < LETTER_BITS; bit++) {
    const info = BY_BIT.get(bit);
    const set = hasBit(lo, hi, bit);
    if (!info) {
      if (set) out += "?";
      continue;
    }
    if (!raw && info.cls !== "stable") continue;
    out += set ? info.letter : "_";
  }
  return out;
}

/** Comma-separated long names of the set bits; unknown set bits as "bit<N>". */
export function flagNames(lo: number, hi: number): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if (!hasBit(lo, hi, bit)) continue;
    names.push(BY_BIT.get(bit)?.name ?? `bit${bit}`);
  }
  return names;
}

/** "0x..." for a (lo, hi) pair, 16 hex digits. */
export function flagsHex(lo: number, hi: number): string {
  return "0x" + (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");
}
