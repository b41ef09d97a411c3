/**
 * The PAGEMAP_SCAN ioctl (Linux 6.7+, fs/proc/task_mmu.c do_pagemap_scan) on
 * an open /proc/PID/pagemap, through koffi: which address ranges hold any
 * page table entry worth reading, so that pagemap is read only there.
 *
 * Why: reading pagemap costs the kernel about 5 ns per virtual page even
 * where nothing is mapped in (it writes a zero entry per page), so a 16 TiB
 * MAP_NORESERVE reservation costs 32 GiB of zeros and ~21 s. The ioctl walks
 * the same page tables but skips a missing PGD/PUD/PMD table in one step and
 * returns ranges, not entries: the same reservation answers in microseconds.
 *
 * What is asked: every page that is present, or "swapped" in the kernel's
 * sense (any non-none PTE: swap, migration, device, PTE markers such as guard
 * regions and uffd-wp: pagemap_page_category sets PAGE_IS_SWAPPED for all
 * is_swap_pte), or soft-dirty. Soft-dirty is included so that a kernel with
 * CONFIG_MEM_SOFT_DIRTY loses no present or swapped entry's bit either; holes
 * of a VM_SOFTDIRTY mapping then come back as ranges too, which costs time,
 * not exactness. (pagemap_scan_test_walk skips VM_PFNMAP mappings, whose
 * pagemap entries are holes as well: walk_page_test gives them to
 * pagemap_pte_hole.) With return_mask 0 every contiguous run of matching
 * pages merges into one region.
 *
 * The ABI (include/uapi/linux/fs.h): struct pm_scan_arg is twelve u64 (96
 * bytes), struct page_region three (start, end, categories; 24 bytes).
 * The argument and the region vector live in one block of native memory,
 * allocated once and read back through a typed-array view (no copy).
 */
import { endianness } from "node:os";
import { NativeUnavailableError, ScanUnsupportedError, SyscallError } from "../errors.js";
import { errnoName, koffiAndLibc } from "./libc.js";

/** _IOWR('f', 16, struct pm_scan_arg). */
const PAGEMAP_SCAN = 0xc0606610;
const ARG_BYTES = 96;
const REGION_BYTES = 24;

export const PAGE_IS_PRESENT = 1 << 3;
export const PAGE_IS_SWAPPED = 1 << 4;
export const PAGE_IS_SOFT_DIRTY = 1 << 7;
/** Categories of an entry pagemap reports anything for (see the module comment). */
export const SCAN_ANYOF = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_SOFT_DIRTY;

/** Regions per call; a call that fills them is resumed from walk_end. 4096 x 24 bytes = 96 KiB. */
export const SCAN_REGIONS = 4096;

const TWO_32 = 4294967296;

/** errno values the answer depends on (asm-generic/errno-base.h, the same on every Linux architecture koffi supports). */
const ESRCH = 3;
const EINTR = 4;
const ENOTTY = 25;
const EINVAL = 22;

/** The ioctl is not there (old kernel, not a pagemap file, no koffi): read pagemap as before. Lives in src/errors.ts. */
export { ScanUnsupportedError } from "../errors.js";

const made = new Map<string, PagemapScanner>();

/** One reusable argument block and region vector. */
export class PagemapScanner {
  /** Start and end page numbers of the regions of the last call. */
  readonly starts = new Float64Array(SCAN_REGIONS);
  readonly ends = new Float64Array(SCAN_REGIONS);
  /** Calls made, regions returned (for traces). */
  calls = 0;
  regions = 0;
  private readonly u32: Uint32Array;
  private readonly vecAddr: number;

  private constructor(
    private readonly ioctl: (fd: number, request: number, arg: unknown) => number,
    private readonly errno: () => number,
    private readonly block: unknown,
    view: ArrayBuffer,
    address: bigint,
    private readonly pageShift: number,
    private readonly capacity: number,
  ) {
    this.u32 = new Uint32Array(view);
    this.vecAddr = Number(address) + ARG_BYTES;
  }

  /**
   * The scanner for this page size and capacity, made once per process (its
   * native block is never freed: one per capacity, 96 KiB at most), or why
   * there can be none here (koffi missing, not Linux, ...).
   */
  static shared(pageSize: number, capacity = SCAN_REGIONS): PagemapScanner {
    const key = `${pageSize}/${capacity}`;
    let sc = made.get(key);
    if (!sc) {
      sc = PagemapScanner.create(pageSize, capacity);
      made.set(key, sc);
    }
    return sc;
  }

  private static create(pageSize: number, capacity: number): PagemapScanner {
    if (capacity < 1 || capacity > SCAN_REGIONS) throw new RangeError(`capacity ${capacity}`);
    if (endianness() !== "LE") throw new ScanUnsupportedError("PAGEMAP_SCAN is only used on little-endian hosts");
    let k;
    try {
      k = koffiAndLibc();
    } catch (err) {
      throw new ScanUnsupportedError(err instanceof NativeUnavailableError ? err.reason : String(err));
    }
    const { koffi, lib } = k;
    // Declared with its third argument fixed: ioctl(2) is variadic in C, but every 64-bit Linux ABI passes a lone pointer argument the same way either way.
    const ioctl = lib.func("int ioctl(int fd, unsigned long request, void *arg)") as (fd: number, request: number, arg: unknown) => number;
    const bytes = ARG_BYTES + SCAN_REGIONS * REGION_BYTES;
    const block = koffi.alloc("uint8_t", bytes);
    return new PagemapScanner(ioctl, () => koffi.errno(), block, koffi.view(block, bytes), koffi.address(block), Math.log2(pageSize), capacity);
  }

  /**
   * Regions of pages [startVpn, endVpn) that hold something, from the open
   * pagemap `fd`, into `starts`/`ends` (page numbers, ascending, disjoint).
   * Returns [count, walkEndVpn]: when the vector fills up, walkEndVpn < endVpn
   * and the caller continues from there. Throws ScanUnsupportedError when the
   * kernel has no such ioctl (ENOTTY before 6.7 or on a plain file; EINVAL for
   * an argument it does not know), SyscallError otherwise (ESRCH: the process
   * is gone), naming `file` (the pagemap's path) when given.
   */
  scan(fd: number, startVpn: number, endVpn: number, file?: string): [number, number] {
    const u = this.u32;
    const shift = this.pageShift;
    u.fill(0, 0, ARG_BYTES / 4);
    // Fields by u64 index: 0 size, 2 start, 3 end, 4 walk_end (out), 5 vec, 6 vec_len, 10 category_anyof_mask; the rest 0.
    set64(u, 0, ARG_BYTES);
    set64(u, 2 * 2, startVpn * 2 ** shift);
    set64(u, 2 * 3, endVpn * 2 ** shift);
    set64(u, 2 * 5, this.vecAddr);
    set64(u, 2 * 6, this.capacity);
    set64(u, 2 * 10, SCAN_ANYOF);
    let n: number;
    for (;;) {
      n = this.ioctl(fd, PAGEMAP_SCAN, this.block);
      if (n >= 0) break;
      const e = this.errno();
      if (e === EINTR) continue;
      if (e === ENOTTY) throw new ScanUnsupportedError("no PAGEMAP_SCAN ioctl here (ENOTTY: Linux before 6.7, or not a live pagemap)", "ENOTTY");
      if (e === EINVAL) throw new ScanUnsupportedError("PAGEMAP_SCAN refused its arguments (EINVAL)", "EINVAL");
      throw new SyscallError("ioctl(PAGEMAP_SCAN)", e === ESRCH ? "ESRCH" : errnoName(e), e, file);
    }
    this.calls++;
    this.regions += n;
    const scale = 2 ** shift;
    for (let i = 0; i < n; i++) {
      const at = (ARG_BYTES + i * REGION_BYTES) / 4;
      this.starts[i] = get64(u, at) / scale;
      this.ends[i] = Math.ceil(get64(u, at + 2) / scale);
    }
    return [n, Math.ceil(get64(u, 2 * 4) / scale)];
  }

  /**
   * The parts of pages [from, end) that hold something, as ascending,
   * disjoint [start, end) pairs: scan() called until the walk reaches `end`,
   * resumed from walk_end, regions merged where a resumed call continues the
   * last one. If a call makes no progress, the rest is returned as one part
   * (read it as it is). Throws as scan() does.
   */
  parts(fd: number, from: number, end: number, file?: string): number[] {
    const parts: number[] = [];
    let at = from;
    while (at < end) {
      const [n, walkEnd] = this.scan(fd, at, end, file);
      for (let i = 0; i < n; i++) {
        const a = this.starts[i]!;
        const b = this.ends[i]!;
        if (parts.length > 0 && parts[parts.length - 1]! >= a) parts[parts.length - 1] = Math.max(parts[parts.length - 1]!, b);
        else parts.push(a, b);
      }
      if (walkEnd <= at) break;
      at = walkEnd;
    }
    if (at < end) {
      if (parts.length > 0 && parts[parts.length - 1]! >= at) parts[parts.length - 1] = end;
      else parts.push(at, end);
    }
    return parts;
  }
}

/** Little-endian u64 at 32-bit word `w` (addresses stay below 2^57: exact as numbers). */
function set64(u: Uint32Array, w: number, v: number): void {
  u[w] = v % TWO_32;
  u[w + 1] = Math.floor(v / TWO_32);
}

function get64(u: Uint32Array, w: number): number {
  return u[w + 1]! * TWO_32 + u[w]!;
}

/** Is the error one saying the process exited (ESRCH)? */
export function isGone(err: unknown): boolean {
  return err instanceof SyscallError && err.errno === ESRCH;
}
