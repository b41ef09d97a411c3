/**
 * Page-cache primitives on top of the bound C library: cachestat(2) totals,
 * a read-only shared mapping of part of a file with mincore() and madvise(),
 * and posix_fadvise(). Every failure becomes a SyscallError naming the call,
 * the errno and the file, so callers can tell "the kernel lacks it" (ENOSYS,
 * EINVAL for an unknown advice) from "not allowed" (EPERM) from a real error.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { SyscallError } from "../errors.js";
import { libc } from "./libc.js";

// Linux values, the same on every architecture libc.ts accepts (asm-generic/mman-common.h, fadvise.h).
const PROT_READ = 0x1;
const MAP_SHARED = 0x01;
export const MADV_RANDOM = 1;
const MFD_CLOEXEC = 0x1;
/** IOV_MAX on Linux: iovecs per pwritev call. */
const IOV_MAX = 1024;
export const POSIX_FADV_RANDOM = 1;
export const POSIX_FADV_DONTNEED = 4;

/** cachestat(2)'s answer for a byte range of a file, in pages (struct cachestat, linux/mman.h). */
export interface CachestatCounts {
  /** Pages in the page cache. */
  readonly cached: number;
  readonly dirty: number;
  readonly writeback: number;
  /** Pages evicted from the cache whose shadow entries remain (refault distance tracking). */
  readonly evicted: number;
  /** Evicted pages that would still be in the cache were the working set a little larger. */
  readonly recentlyEvicted: number;
}

function fail(syscall: string, target: string | undefined, errno?: number): never {
  const c = libc();
  const n = errno ?? c.errno();
  throw new SyscallError(syscall, c.errnoName(n), n, target);
}

/**
 * cachestat(2) (Linux 6.5) over [offset, offset+length) of an open file;
 * length 0 means to the end of the file. Throws SyscallError: ENOSYS on
 * older kernels or without CONFIG_CACHESTAT_SYSCALL, EPERM for a file the
 * caller can neither write nor owns (kernels since early 2025 hide it, as
 * mincore does), EOPNOTSUPP on hugetlbfs.
 */
export function cachestat(fd: number, target?: string, offset = 0, length = 0): CachestatCounts {
  const c = libc();
  const range = new BigUint64Array([BigInt(offset), BigInt(length)]);
  const out = new BigUint64Array(5);
  for (;;) {
    if (c.cachestat(fd, range, out) === 0) break;
    if (c.errnoName(c.errno()) !== "EINTR") fail("cachestat", target);
  }
  return { cached: Number(out[0]), dirty: Number(out[1]), writeback: Number(out[2]), evicted: Number(out[3]), recentlyEvicted: Number(out[4]) };
}

/** posix_fadvise(2); `advice` is one of the POSIX_FADV_* values above. */
export function posixFadvise(fd: number, offset: number, length: number, advice: number, target?: string): void {
  const err = libc().posixFadvise(fd, offset, length, advice);
  if (err !== 0) fail("posix_fadvise", target, err);
}

/**
 * A read-only MAP_SHARED mapping of `length` bytes of a file from `offset`
 * (a multiple of the page size). Shared, so a resident page is the page-cache
 * page itself and not a private copy. The caller must unmap() it.
 */
export class FileMapping {
  private mapped = true;

  private constructor(
    readonly address: number,
    readonly length: number,
    readonly target: string | undefined,
  ) {}

  static map(fd: number, offset: number, length: number, target?: string): FileMapping {
    const addr = libc().mmap(0, length, PROT_READ, MAP_SHARED, fd, offset);
    if (addr === -1) fail("mmap", target);
    return new FileMapping(addr, length, target);
  }

  /**
   * mincore(2): bit 0 of vec[i] is set when page i of the mapping is in the
   * page cache. Faults nothing in. `vec` must hold one byte per page.
   */
  residency(vec: Uint8Array): void {
    this.live();
    if (libc().mincore(this.address, this.length, vec) !== 0) fail("mincore", this.target);
  }

  /** madvise(2) over the whole mapping. */
  advise(advice: number): void {
    this.live();
    if (libc().madvise(this.address, this.length, advice) !== 0) fail("madvise", this.target);
  }

  unmap(): void {
    if (!this.mapped) return;
    this.mapped = false;
    if (libc().munmap(this.address, this.length) !== 0) fail("munmap", this.target);
  }

  private live(): void {
    if (!this.mapped) throw new Error("FileMapping used after unmap()");
  }
}

/**
 * Faults pages of a mapping into our page table the way a user's read would,
 * without touching them from JavaScript: one pwritev(2) per 1024 pages, of one
 * byte from each page, into a private memfd. The kernel's copy from our
 * address takes an ordinary read fault (filemap_fault, no readahead under
 * MADV_RANDOM) and, unlike MADV_POPULATE_READ or any get_user_pages() path,
 * does not mark the page accessed (FOLL_TOUCH), which would change the very
 * REFERENCED/ACTIVE flags being reported. A page that cannot be faulted in
 * (the file shrank, an I/O error) makes the copy stop with EFAULT rather than
 * raise SIGBUS, so a file truncated under us cannot kill the process.
 */
export class PageToucher {
  private fd: number;
  private readonly iov = new Uint32Array(IOV_MAX * 4);
  private readonly little = os.endianness() === "LE";

  constructor() {
    const fd = libc().memfdCreate("pagelens-touch", MFD_CLOEXEC);
    if (fd < 0) fail("memfd_create", undefined);
    this.fd = fd;
  }

  /**
   * Fault in page `pages[k]` (page numbers within the mapping, ascending) for
   * k < count. Returns how many could not be faulted.
   */
  touch(mapping: FileMapping, pages: ArrayLike<number>, count: number, pageSize: number, firstPage = 0): number {
    if (this.fd < 0) throw new Error("PageToucher used after close()");
    const c = libc();
    const iov = this.iov;
    const [lo, hi] = this.little ? [0, 1] : [1, 0];
    let failed = 0;
    let k = 0;
    while (k < count) {
      const n = Math.min(IOV_MAX, count - k);
      for (let i = 0; i < n; i++) {
        const addr = mapping.address + (pages[k + i]! - firstPage) * pageSize;
        iov[4 * i + lo] = addr % 4294967296;
        iov[4 * i + hi] = Math.floor(addr / 4294967296);
        iov[4 * i + 2 + lo] = 1;
        iov[4 * i + 2 + hi] = 0;
      }
      const r = c.pwritev(this.fd, iov, n, 0);
      if (r === n) {
        k += n;
        continue;
      }
      if (r < 0) {
        const code = c.errnoName(c.errno());
        if (code === "EINTR") continue;
        if (code !== "EFAULT") fail("pwritev", mapping.target);
        // The first page itself failed.
        failed++;
        k += 1;
      } else {
        // Short copy: page k + r faulted; the ones before it are in.
        failed++;
        k += r + 1;
      }
    }
    return failed;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
