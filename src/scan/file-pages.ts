/**
 * Which pages of a file are in the page cache, and (as root) which physical
 * pages they are and what kpageflags/kpagecount/kpagecgroup say about them.
 *
 * Three levels of detail, each a superset of the one before:
 *  - "cachestat": cachestat(2) totals only (cached, dirty, writeback,
 *    evicted, recently evicted). One system call per file, nothing mapped.
 *  - "mincore": also which pages are resident. The file is mapped read-only
 *    and shared, in windows of at most 16 Ki pages, and mincore(2) reads
 *    residency without faulting anything in.
 *  - "pagemap" (root): also each resident page's PFN and flags. This is
 *    page-types -f's method: the resident pages, and only those, are faulted
 *    into our own page table (by a kernel copy from the mapping, under
 *    MADV_RANDOM so no readahead is triggered: see native/page-cache.ts
 *    PageToucher), our own /proc/self/pagemap gives their PFNs, and
 *    kpagecount/kpageflags/kpagecgroup are read while the mapping still holds
 *    them, in one batch per group of windows.
 *
 * What the "pagemap" level does to the pages, and how it is undone in the
 * figures: while mapped, each page's kpagecount is one higher and KPF_MMAP is
 * set because of us, so one is subtracted and MMAP is cleared where nobody
 * else maps the page. The faults do not mark pages accessed, and MADV_RANDOM
 * keeps our young PTEs from doing so at munmap (mm/memory.c
 * vma_has_recency), so REFERENCED and ACTIVE are left as they were (checked
 * by test/live/file.test.ts). What remains: reclaim running in the few
 * milliseconds a page is mapped may see our young PTE, and a page evicted
 * between mincore and the fault is read back from disk (page-types has both).
 */
import * as fs from "node:fs";
import { errnoOf, SyscallError } from "../errors.js";
import { F_MMAP } from "../decode/kpageflags.js";
import { PM_PRESENT_HI, pfnOf } from "../decode/pagemap.js";
import { cachestat, FileMapping, MADV_RANDOM, PageToucher, type CachestatCounts } from "../native/page-cache.js";
import type { ProcFs } from "../procfs/procfs.js";
import type { FileTarget } from "./file-walk.js";
import { readPfnValues } from "./pfn-values.js";

export type Detail = "cachestat" | "mincore" | "pagemap";

/** The resident pages of one window of one file, ascending by page number. */
export interface ResidentPages {
  /** Index of the file in the list given to readFilePages. */
  readonly file: number;
  readonly count: number;
  /** File page numbers (offset / page size). */
  readonly index: Float64Array;
  /** "pagemap" detail only: PFN per page, 0 where it could not be read (see FileProbe.unresolved). */
  readonly pfn?: Float64Array;
  readonly flagsLo?: Uint32Array;
  readonly flagsHi?: Uint32Array;
  /** kpagecount without our own mapping: how many page-table mappings other processes have. */
  readonly mapcount?: Uint32Array;
  /** Memory cgroup inode (kpagecgroup), 0 when uncharged or unknown. */
  readonly cgroup?: Float64Array;
}

/** How one file went. */
export interface FileProbe {
  readonly file: number;
  /** Size when opened (the walk's stat may be older). */
  readonly size: number;
  readonly cachestat: CachestatCounts | undefined;
  /** errno name when cachestat failed (ENOSYS: kernel before 6.5; EPERM: not the caller's to see). */
  readonly cachestatError: string | undefined;
  /** The detail actually obtained page by page ("none": totals only, or nothing). */
  readonly walked: "pagemap" | "mincore" | "none";
  /** Why the file was not walked, or walked with less detail than asked. */
  readonly why: string | undefined;
  /** Resident pages per mincore. */
  readonly resident: number;
  /** Resident pages whose PFN could not be had (evicted meanwhile, or could not be faulted in). */
  readonly unresolved: number;
}

export interface FilePagesSink {
  /** Resident pages of the next window of a file (windows of a file arrive in order). */
  pages(p: ResidentPages): void;
  /** Called once per file, after all its pages. */
  done(probe: FileProbe): void;
}

export interface FilePagesOptions {
  readonly detail: Detail;
  readonly pageSize: number;
  /** Also read /proc/kpagecgroup ("pagemap" detail). */
  readonly cgroups?: boolean;
  /** Pages per mapping window and per batch of lookups (default 16 Ki). */
  readonly windowPages?: number;
}

export interface FilePagesStats {
  readonly files: number;
  readonly windows: number;
  readonly resident: number;
  readonly lookups: number;
}

/**
 * page-types maps 64 Ki pages at a time. The faulted-in part of a window
 * counts in our RSS while mapped (shared page-cache pages, no new memory,
 * but it reads as 330 MB for a 1 GiB file); 16 Ki pages keeps that near
 * 64 MiB for about 10% more time, measured on a 1 GiB file.
 */
const DEFAULT_WINDOW = 16 * 1024;
/** Small files are batched: this many windows share one pagemap open and one kpage lookup. */
const MAX_GROUP = 512;

interface FileState {
  readonly index: number;
  readonly target: FileTarget;
  /** Open until its last window is mapped (the mapping keeps the file), then -1. */
  fd: number;
  size: number;
  cachestat: CachestatCounts | undefined;
  cachestatError: string | undefined;
  walked: FileProbe["walked"];
  why: string | undefined;
  resident: number;
  unresolved: number;
  windowsLeft: number;
}

interface Window {
  readonly file: FileState;
  readonly firstPage: number;
  readonly pages: number;
  mapping?: FileMapping;
  resident?: Float64Array;
  pfn?: Float64Array;
}

/**
 * Can the kernel's residency answer be trusted? For a file the caller can
 * neither write nor owns, mincore reports every page resident and recent
 * kernels refuse cachestat with EPERM (mm/mincore.c can_do_mincore, a
 * page-cache side channel fix). Root passes through CAP_FOWNER.
 */
export function residencyVisible(t: FileTarget, euid: number): boolean {
  if (euid === 0 || t.uid === euid) return true;
  try {
    fs.accessSync(t.path, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Open read-only, without touching atime where we may (O_NOATIME needs ownership or CAP_FOWNER). */
function openQuietly(p: string): number {
  const noatime = fs.constants.O_NOATIME ?? 0;
  try {
    return fs.openSync(p, fs.constants.O_RDONLY | noatime);
  } catch (err) {
    if (noatime !== 0 && errnoOf(err) === "EPERM") return fs.openSync(p, fs.constants.O_RDONLY);
    throw err;
  }
}

function probeOf(s: FileState): FileProbe {
  return {
    file: s.index,
    size: s.size,
    cachestat: s.cachestat,
    cachestatError: s.cachestatError,
    walked: s.walked,
    why: s.why,
    resident: s.resident,
    unresolved: s.unresolved,
  };
}

/** Read the page-cache state of `files`, in order, feeding `sink`. */
export function readFilePages(procfs: ProcFs, files: readonly FileTarget[], options: FilePagesOptions, sink: FilePagesSink): FilePagesStats {
  const ps = options.pageSize;
  const W = options.windowPages ?? DEFAULT_WINDOW;
  const euid = typeof process.geteuid === "function" ? process.geteuid() : -1;
  const vec = new Uint8Array(W);
  const pmBuf = new Uint8Array(W * 8);
  const pmU32 = new Uint32Array(pmBuf.buffer);
  let group: Window[] = [];
  let groupPages = 0;
  let windows = 0;
  let resident = 0;
  let lookups = 0;
  let toucher: PageToucher | undefined;

  const closeFd = (s: FileState): void => {
    if (s.fd >= 0) fs.closeSync(s.fd);
    s.fd = -1;
  };

  const finish = (s: FileState): void => {
    closeFd(s);
    sink.done(probeOf(s));
  };

  /** Map, read residency, and (pagemap detail) fault in the resident pages of one window. */
  const mapWindow = (w: Window): void => {
    const s = w.file;
    if (s.why !== undefined && s.walked === "none") return; // an earlier window of this file failed
    try {
      w.mapping = FileMapping.map(s.fd, w.firstPage * ps, w.pages * ps, s.target.path);
      // A group holds up to MAX_GROUP mappings: do not hold as many descriptors too.
      if ((w.firstPage + w.pages) * ps >= s.size) closeFd(s);
      const v = vec.subarray(0, w.pages);
      w.mapping.residency(v);
      let n = 0;
      for (let i = 0; i < w.pages; i++) n += v[i]! & 1;
      const idx = new Float64Array(n);
      let k = 0;
      for (let i = 0; i < w.pages; i++) if ((v[i]! & 1) !== 0) idx[k++] = w.firstPage + i;
      w.resident = idx;
      s.resident += n;
      resident += n;
      if (options.detail !== "pagemap" || n === 0 || s.walked !== "pagemap") return;
      // No readahead around the faults below, and no reference harvesting at munmap.
      w.mapping.advise(MADV_RANDOM);
      // A page that cannot be faulted in shows as not present in pagemap below.
      toucher ??= new PageToucher();
      toucher.touch(w.mapping, idx, n, ps, w.firstPage);
    } catch (err) {
      if (!(err instanceof SyscallError)) throw err;
      s.walked = "none";
      s.why = `${err.syscall} failed (${err.code})`;
      s.resident -= w.resident?.length ?? 0;
      resident -= w.resident?.length ?? 0;
      w.resident = undefined;
    }
  };

  const flush = (): void => {
    if (group.length === 0) return;
    const done: FileState[] = [];
    try {
      for (const w of group) mapWindow(w);
      const wantPfns = group.filter((w) => w.file.walked === "pagemap" && w.resident !== undefined && w.resident.length > 0);
      // Every window's PFNs in one list, so the kpage files are read once per group.
      let total = 0;
      for (const w of wantPfns) total += w.resident!.length;
      const all = new Float64Array(total);
      if (wantPfns.length > 0) {
        const pm = procfs.openU64("self/pagemap");
        try {
          let at = 0;
          for (const w of wantPfns) {
            const idx = w.resident!;
            const base = w.mapping!.address / ps - w.firstPage; // vpn of file page p is base + p
            const first = idx[0]!;
            const span = idx[idx.length - 1]! - first + 1;
            const got = pm.readWords(base + first, span, pmBuf);
            for (let k = 0; k < idx.length; k++) {
              const o = idx[k]! - first;
              if (o >= got) break;
              const hi = pmU32[2 * o + 1]!;
              // Not present: evicted since mincore, or could not be faulted in. 0 marks it.
              if ((hi & PM_PRESENT_HI) !== 0) all[at + k] = pfnOf(pmU32[2 * o]!, hi);
            }
            w.pfn = all.subarray(at, at + idx.length);
            at += idx.length;
          }
        } finally {
          pm.close();
        }
      }
      const values = total > 0 ? readPfnValues(procfs, all, total, { cgroups: options.cgroups === true }) : undefined;
      if (values) lookups++;
      let at = 0;
      for (const w of group) {
        const idx = w.resident;
        if (idx !== undefined && idx.length > 0) {
          if (w.pfn !== undefined && values !== undefined) {
            const n = idx.length;
            const lo = values.flagsLo.subarray(at, at + n);
            const hi = values.flagsHi.subarray(at, at + n);
            const count = values.count.subarray(at, at + n);
            const cg = values.cgroup?.subarray(at, at + n);
            at += n;
            for (let k = 0; k < n; k++) {
              if (w.pfn[k] === 0 || values.found[at - n + k] === 0) {
                // Unknown: say so rather than report a page with no flags.
                w.pfn[k] = 0;
                w.file.unresolved++;
                continue;
              }
              // Our own mapping adds one to the map count and sets MMAP: take it back out.
              const others = count[k]! > 0 ? count[k]! - 1 : 0;
              count[k] = others;
              if (others === 0) lo[k] = lo[k]! & ~F_MMAP;
            }
            sink.pages({ file: w.file.index, count: n, index: idx, pfn: w.pfn, flagsLo: lo, flagsHi: hi, mapcount: count, cgroup: cg });
          } else sink.pages({ file: w.file.index, count: idx.length, index: idx });
        }
        if (--w.file.windowsLeft === 0) done.push(w.file);
      }
    } finally {
      for (const w of group) w.mapping?.unmap();
      group = [];
      groupPages = 0;
    }
    for (const s of done) finish(s);
  };

  try {
    for (let f = 0; f < files.length; f++) readOne(f);
    flush();
  } finally {
    toucher?.close();
  }
  return { files: files.length, windows, resident, lookups };

  function readOne(f: number): void {
    const target = files[f]!;
    let fd: number;
    try {
      fd = openQuietly(target.path);
    } catch (err) {
      const code = errnoOf(err) ?? String(err);
      sink.done({ file: f, size: target.size, cachestat: undefined, cachestatError: undefined, walked: "none", why: `cannot open (${code})`, resident: 0, unresolved: 0 });
      return;
    }
    const s: FileState = {
      index: f,
      target,
      fd,
      size: target.size,
      cachestat: undefined,
      cachestatError: undefined,
      walked: options.detail === "cachestat" ? "none" : options.detail,
      why: undefined,
      resident: 0,
      unresolved: 0,
      windowsLeft: 0,
    };
    try {
      s.size = fs.fstatSync(fd).size;
      s.cachestat = cachestat(fd, target.path);
    } catch (err) {
      if (!(err instanceof SyscallError)) {
        fs.closeSync(fd);
        throw err;
      }
      s.cachestatError = err.code;
    }
    const pages = Math.ceil(s.size / ps);
    if (options.detail !== "cachestat" && !residencyVisible(target, euid)) {
      s.walked = "none";
      s.why = "the kernel hides the page-cache state of files you can neither write nor own";
    }
    // Nothing cached by cachestat's count: no page to find, so no mapping (most files of a big tree).
    if (s.walked === "none" || pages === 0 || s.cachestat?.cached === 0) {
      finish(s);
      return;
    }
    // Counted up front: a big file's first windows are flushed before its last ones are queued.
    s.windowsLeft = Math.ceil(pages / W);
    for (let p = 0; p < pages; p += W) {
      const n = Math.min(W, pages - p);
      group.push({ file: s, firstPage: p, pages: n });
      groupPages += n;
      windows++;
      if (groupPages >= W || group.length >= MAX_GROUP) flush();
    }
  }
}
