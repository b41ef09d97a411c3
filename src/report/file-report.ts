/**
 * `pagelens file`: per file, how much is in the page cache, with what flags,
 * mapped by whom; optionally the cached page ranges (page-types -f -l / -L).
 * A pure fold over what scan/file-pages.ts reads: it implements that
 * module's sink, so unit tests feed it made-up pages.
 *
 * Where each figure comes from, so that a reader can trust it:
 *  - cached: the page walk (mincore) when the file was walked, else
 *    cachestat(2);
 *  - dirty, writeback: cachestat(2) when the kernel has it (its own counters),
 *    else the DIRTY/WRITEBACK bits of kpageflags (root);
 *  - evicted, recentlyEvicted: cachestat(2) only;
 *  - flags, combinations, mapped: kpageflags/kpagecount (root).
 */
import { expandOverloadedFlags, flagLetters, flagNames, flagsHex, KPF_DIRTY, KPF_WRITEBACK, wellKnownFlags } from "../decode/kpageflags.js";
import type { CachestatCounts } from "../native/page-cache.js";
import type { FileMapper } from "../scan/file-mappers.js";
import type { FileProbe, FilePagesSink, ResidentPages } from "../scan/file-pages.js";
import type { FileTarget, WalkSkip } from "../scan/file-walk.js";
import { SCHEMA_VERSION } from "./scan-header.js";

/** A run of cached pages alike in flags, map count and cgroup, with consecutive PFNs (page-types -l). */
export interface FileRange {
  /** First file page (offset / page size). */
  readonly page: number;
  readonly pages: number;
  /** Byte offset in the file and length. */
  readonly offset: number;
  readonly bytes: number;
  /** First PFN; null when PFNs are not known (no root) or could not be read. */
  readonly pfn: number | null;
  /** kpageflags as shown (16 hex digits), letters and names; null without root. */
  readonly flags: string | null;
  readonly letters: string | null;
  readonly flagNames: readonly string[];
  /** Page-table mappings by processes (kpagecount, without pagelens's own). */
  readonly mapcount: number | null;
  /** Memory cgroup inode charged (kpagecgroup); null when unknown or uncharged. */
  readonly cgroup: number | null;
}

/** Cached pages with one exact flag combination (page-types' summary rows). */
export interface FlagCombination {
  readonly flags: string;
  readonly letters: string;
  readonly names: readonly string[];
  readonly pages: number;
  readonly bytes: number;
}

export interface FileProcess {
  readonly pid: number;
  readonly user: string;
  readonly command: string;
  readonly mappings: number;
  /** Address space of its mappings of the file. */
  readonly mappedBytes: number;
  /** Cached pages of the file in its page tables; null when its pagemap was unreadable. */
  readonly resident: number | null;
  readonly reason?: string;
}

/** cachestat(2)'s counts, in bytes. */
export interface CachestatBytes {
  readonly cached: number;
  readonly dirty: number;
  readonly writeback: number;
  readonly evicted: number;
  readonly recentlyEvicted: number;
}

/** How much per-page detail a file got: see scan/file-pages.ts. */
export type FileSource = "pagemap" | "mincore" | "cachestat" | "none";

export interface FileEntry {
  readonly path: string;
  readonly size: number;
  /** Pages the file spans (size rounded up). */
  readonly pages: number;
  /** "major:minor" as /proc/PID/maps prints it. */
  readonly device: string;
  readonly inode: number;
  readonly source: FileSource;
  readonly cached: number | null;
  readonly cachedPages: number | null;
  readonly dirty: number | null;
  readonly writeback: number | null;
  readonly evicted: number | null;
  readonly recentlyEvicted: number | null;
  /** Cached bytes mapped into some process's page table (kpagecount > 0). */
  readonly mapped: number | null;
  /** Cached bytes per flag name (of the flags as shown). */
  readonly flags: Readonly<Record<string, number>> | null;
  readonly combinations: readonly FlagCombination[] | null;
  readonly cachestat: CachestatBytes | null;
  /** null when processes were not looked at. */
  readonly processes: readonly FileProcess[] | null;
  /** Only with a listing (--list or --each). */
  readonly ranges?: readonly FileRange[];
  /** Why some figure is missing. */
  readonly note: string | null;
}

export interface FileTotals {
  readonly files: number;
  readonly size: number;
  readonly cached: number;
  readonly dirty: number;
  readonly writeback: number;
  readonly evicted: number;
  readonly recentlyEvicted: number;
  readonly mapped: number;
  /** Cached bytes per flag name, over the files with flags; null when no file has them (no root). */
  readonly flags: Readonly<Record<string, number>> | null;
  /** Files for which the cached size is unknown (not in `cached`). */
  readonly unknown: number;
}

export interface FileReport {
  readonly schemaVersion: number;
  readonly takenAt: string;
  readonly pageSize: number;
  /** The detail asked for and available: "pagemap" (root), "mincore", or "cachestat". */
  readonly detail: "pagemap" | "mincore" | "cachestat";
  readonly raw: boolean;
  readonly list: "ranges" | "each" | null;
  /** With --top: how many files were kept, of how many. */
  readonly top: number | null;
  readonly files: readonly FileEntry[];
  /** Over every file, also those --top left out. */
  readonly totals: FileTotals;
  readonly skipped: readonly WalkSkip[];
  readonly notes: readonly string[];
}

export interface FileReportOptions {
  readonly pageSize: number;
  readonly raw?: boolean;
  readonly list?: "ranges" | "each";
}

interface Run {
  page: number;
  pages: number;
  pfn: number; // 0: unknown
  lo: number;
  hi: number;
  known: boolean;
  mapcount: number;
  cgroup: number;
}

interface Acc {
  readonly target: FileTarget;
  probe?: FileProbe;
  combos: Map<string, { lo: number; hi: number; pages: number }>;
  pagesWithFlags: number;
  dirtyPages: number;
  writebackPages: number;
  mappedPages: number;
  ranges?: Run[];
  processes?: readonly FileMapper[];
}

const DIRTY = 1 << KPF_DIRTY;
const WRITEBACK = 1 << KPF_WRITEBACK;

function bytesOf(c: CachestatCounts, ps: number): CachestatBytes {
  return { cached: c.cached * ps, dirty: c.dirty * ps, writeback: c.writeback * ps, evicted: c.evicted * ps, recentlyEvicted: c.recentlyEvicted * ps };
}

/** Folds the page walk of many files into a report. */
export class FileReportBuilder implements FilePagesSink {
  private readonly accs: Acc[] = [];
  private readonly ps: number;
  private readonly raw: boolean;
  private readonly list: "ranges" | "each" | undefined;
  private rawLo = -1;
  private rawHi = -1;
  private viewLo = 0;
  private viewHi = 0;

  constructor(
    files: readonly FileTarget[],
    options: FileReportOptions,
  ) {
    this.ps = options.pageSize;
    this.raw = options.raw === true;
    this.list = options.list;
    for (const target of files)
      this.accs.push({ target, combos: new Map(), pagesWithFlags: 0, dirtyPages: 0, writebackPages: 0, mappedPages: 0, ranges: this.list ? [] : undefined });
  }

  pages(p: ResidentPages): void {
    const a = this.accs[p.file];
    if (!a) throw new RangeError(`no file #${p.file}`);
    const withFlags = p.pfn !== undefined && p.flagsLo !== undefined && p.flagsHi !== undefined;
    // Consecutive pages mostly share their flags: count a combination once per stretch, not once per page.
    let lastLo = -1;
    let lastHi = -1;
    let stretch = 0;
    const flushStretch = (): void => {
      if (stretch === 0) return;
      const key = `${lastHi}:${lastLo}`;
      const c = a.combos.get(key);
      if (c) c.pages += stretch;
      else a.combos.set(key, { lo: lastLo, hi: lastHi, pages: stretch });
      stretch = 0;
    };
    for (let k = 0; k < p.count; k++) {
      const page = p.index[k]!;
      let lo = 0;
      let hi = 0;
      let pfn = 0;
      let known = false;
      let mapcount = 0;
      let cgroup = 0;
      if (withFlags && p.pfn![k]! !== 0) {
        known = true;
        pfn = p.pfn![k]!;
        const klo = p.flagsLo![k]!;
        const khi = p.flagsHi![k]!;
        mapcount = p.mapcount?.[k] ?? 0;
        cgroup = p.cgroup?.[k] ?? 0;
        if ((klo & DIRTY) !== 0) a.dirtyPages++;
        if ((klo & WRITEBACK) !== 0) a.writebackPages++;
        if (mapcount > 0) a.mappedPages++;
        a.pagesWithFlags++;
        // Pages in a row mostly share their flags: convert to the view once per change.
        if (klo !== this.rawLo || khi !== this.rawHi) {
          this.rawLo = klo;
          this.rawHi = khi;
          [this.viewLo, this.viewHi] = this.raw ? expandOverloadedFlags(klo, khi, 0) : wellKnownFlags(klo, khi);
        }
        lo = this.viewLo;
        hi = this.viewHi;
        if (lo !== lastLo || hi !== lastHi) {
          flushStretch();
          lastLo = lo;
          lastHi = hi;
        }
        stretch++;
      }
      if (a.ranges) {
        const r = a.ranges[a.ranges.length - 1];
        if (
          this.list === "ranges" &&
          r !== undefined &&
          r.page + r.pages === page &&
          r.known === known &&
          (!known || (r.pfn + r.pages === pfn && r.lo === lo && r.hi === hi && r.mapcount === mapcount && r.cgroup === cgroup))
        )
          r.pages++;
        else a.ranges.push({ page, pages: 1, pfn, lo, hi, known, mapcount, cgroup });
      }
    }
    flushStretch();
  }

  done(probe: FileProbe): void {
    const a = this.accs[probe.file];
    if (!a) throw new RangeError(`no file #${probe.file}`);
    a.probe = probe;
  }

  /** The processes mapping file #i (null: not looked at). */
  setProcesses(file: number, mappers: readonly FileMapper[]): void {
    const a = this.accs[file];
    if (!a) throw new RangeError(`no file #${file}`);
    a.processes = mappers;
  }

  private entry(a: Acc): FileEntry {
    const ps = this.ps;
    const p = a.probe;
    const size = p?.size ?? a.target.size;
    const cs = p?.cachestat;
    const source: FileSource = p === undefined ? "none" : p.walked !== "none" ? p.walked : cs !== undefined ? "cachestat" : "none";
    const cachedPages = source === "pagemap" || source === "mincore" ? p!.resident : cs !== undefined ? cs.cached : null;
    const hasFlags = source === "pagemap";
    let flags: Record<string, number> | null = null;
    let combinations: FlagCombination[] | null = null;
    if (hasFlags) {
      flags = {};
      combinations = [];
      for (const c of a.combos.values()) {
        const names = flagNames(c.lo, c.hi);
        for (const n of names) flags[n] = (flags[n] ?? 0) + c.pages * ps;
        combinations.push({ flags: flagsHex(c.lo, c.hi), letters: flagLetters(c.lo, c.hi, this.raw), names, pages: c.pages, bytes: c.pages * ps });
      }
      combinations.sort((x, y) => y.pages - x.pages || (x.flags < y.flags ? -1 : 1));
    }
    const notes: string[] = [];
    if (p?.why) notes.push(p.why);
    if (p && p.unresolved > 0) notes.push(`${p.unresolved} cached pages could not be looked up (evicted or changed while being read)`);
    // ENOSYS (no cachestat in this kernel) is said once for the whole report, by the command.
    if (p && cs === undefined && p.cachestatError !== undefined && p.cachestatError !== "ENOSYS")
      notes.push(`cachestat failed (${p.cachestatError})${hasFlags ? ": no evicted counts" : source === "mincore" ? ": no dirty, writeback or evicted counts" : ""}`);
    const entry: FileEntry = {
      path: a.target.path,
      size,
      pages: Math.ceil(size / ps),
      device: `${a.target.major.toString(16).padStart(2, "0")}:${a.target.minor.toString(16).padStart(2, "0")}`,
      inode: a.target.inode,
      source,
      cached: cachedPages === null ? null : cachedPages * ps,
      cachedPages,
      dirty: cs ? cs.dirty * ps : hasFlags ? a.dirtyPages * ps : null,
      writeback: cs ? cs.writeback * ps : hasFlags ? a.writebackPages * ps : null,
      evicted: cs ? cs.evicted * ps : null,
      recentlyEvicted: cs ? cs.recentlyEvicted * ps : null,
      mapped: hasFlags ? a.mappedPages * ps : null,
      flags,
      combinations,
      cachestat: cs ? bytesOf(cs, ps) : null,
      processes:
        a.processes === undefined
          ? null
          : a.processes.map((m) => ({
              pid: m.pid,
              user: m.user,
              command: m.command,
              mappings: m.mappings,
              mappedBytes: m.mappedBytes,
              resident: m.residentPages === null ? null : m.residentPages * ps,
              ...(m.reason === undefined ? {} : { reason: m.reason }),
            })),
      note: notes.length > 0 ? notes.join("; ") : null,
    };
    if (a.ranges) {
      // Ranges of one file share a handful of flag words: decode each once.
      const decoded = new Map<string, { hex: string; letters: string; names: readonly string[] }>();
      const decode = (lo: number, hi: number): { hex: string; letters: string; names: readonly string[] } => {
        const key = `${hi}:${lo}`;
        let d = decoded.get(key);
        if (!d) decoded.set(key, (d = { hex: flagsHex(lo, hi), letters: flagLetters(lo, hi, this.raw), names: flagNames(lo, hi) }));
        return d;
      };
      const ranges: FileRange[] = a.ranges.map((r) => ({
        page: r.page,
        pages: r.pages,
        offset: r.page * ps,
        bytes: r.pages * ps,
        pfn: r.known ? r.pfn : null,
        flags: r.known ? decode(r.lo, r.hi).hex : null,
        letters: r.known ? decode(r.lo, r.hi).letters : null,
        flagNames: r.known ? decode(r.lo, r.hi).names : [],
        mapcount: r.known ? r.mapcount : null,
        cgroup: r.known && r.cgroup !== 0 ? r.cgroup : null,
      }));
      return { ...entry, ranges };
    }
    return entry;
  }

  build(meta: { takenAt: string; detail: FileReport["detail"]; top?: number; skipped: readonly WalkSkip[]; notes: readonly string[] }): FileReport {
    const all = this.accs.map((a) => this.entry(a));
    const totals: FileTotals = {
      files: all.length,
      size: sum(all, (e) => e.size),
      cached: sum(all, (e) => e.cached),
      dirty: sum(all, (e) => e.dirty),
      writeback: sum(all, (e) => e.writeback),
      evicted: sum(all, (e) => e.evicted),
      recentlyEvicted: sum(all, (e) => e.recentlyEvicted),
      mapped: sum(all, (e) => e.mapped),
      flags: sumFlags(all),
      unknown: all.filter((e) => e.cached === null).length,
    };
    let files = all;
    if (meta.top !== undefined) files = [...all].sort((x, y) => (y.cached ?? -1) - (x.cached ?? -1) || (x.path < y.path ? -1 : 1)).slice(0, meta.top);
    return {
      schemaVersion: SCHEMA_VERSION,
      takenAt: meta.takenAt,
      pageSize: this.ps,
      detail: meta.detail,
      raw: this.raw,
      list: this.list ?? null,
      top: meta.top ?? null,
      files,
      totals,
      skipped: meta.skipped,
      notes: meta.notes,
    };
  }
}

function sum(entries: readonly FileEntry[], f: (e: FileEntry) => number | null): number {
  let s = 0;
  for (const e of entries) s += f(e) ?? 0;
  return s;
}

function sumFlags(entries: readonly FileEntry[]): Record<string, number> | null {
  let out: Record<string, number> | null = null;
  for (const e of entries) {
    if (e.flags === null) continue;
    out ??= {};
    for (const [k, v] of Object.entries(e.flags)) out[k] = (out[k] ?? 0) + v;
  }
  return out;
}
