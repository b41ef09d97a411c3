/**
 * `pagelens flags`: a census turned into page-types' summary rows (one per
 * flag combination as shown), most pages first, with a total, and the
 * optional listing of matching page ranges. Pure: no I/O.
 *
 * The view and the `--bits` filters are applied once per distinct raw word,
 * not per page, which is exact because both depend on the word alone.
 */
import { matchesFilters, type BitsFilter } from "../decode/flag-filter.js";
import { expandOverloadedFlags, flagLetters, flagNames, flagsHex, KPF_FILE, KPF_MMAP_EXCLUSIVE, wellKnownFlags } from "../decode/kpageflags.js";
import type { Census } from "../scan/census.js";
import { SCHEMA_VERSION } from "./scan-header.js";

export interface FlagsRow {
  /** The flags as shown, 16 hex digits. */
  readonly flags: string;
  readonly pages: number;
  readonly bytes: number;
  /** page-types' letter string ('_' for a clear bit). */
  readonly symbolic: string;
  readonly names: readonly string[];
}

/** One coalesced run of matching pages (page-types -l). */
export interface FlagsRange {
  /** Virtual page number (process censuses only). */
  readonly voffset: number | null;
  /** PFN, or swap offset for a swapped-out page. */
  readonly offset: number;
  readonly pages: number;
  readonly flags: string;
  readonly symbolic: string;
}

export interface FlagsScope {
  readonly kind: "machine" | "process";
  readonly pid?: number;
  readonly command?: string;
  /** Memory cgroup inode filter. */
  readonly cgroup?: number;
  readonly cgroupPath?: string;
  /** --addr ranges as [start, end) page numbers (PFNs, or virtual page numbers with a pid); end null = to the end. */
  readonly ranges?: readonly { start: number; end: number | null }[];
  /** The kpageflags file read. */
  readonly source: string;
}

export interface FlagsReport {
  readonly schemaVersion: number;
  readonly scope: FlagsScope;
  readonly raw: boolean;
  readonly filters: readonly string[];
  readonly pageSize: number;
  readonly rows: readonly FlagsRow[];
  readonly total: { readonly pages: number; readonly bytes: number };
  /** Pages examined before the --bits and --cgroup filters. */
  readonly examined: number;
  /** First PFN past the end of kpageflags, when the sweep reached it. */
  readonly pfnEnd: number | null;
  /** Coalesced matching ranges, when a listing was asked for. */
  readonly list: readonly FlagsRange[] | null;
  /** List every page on its own line (page-types -L): renderers expand the ranges. */
  readonly listEach: boolean;
  readonly notes: readonly string[];
}

export interface FlagsReportOptions {
  readonly raw: boolean;
  readonly filters: readonly BitsFilter[];
  readonly pageSize: number;
  /** "ranges": coalesced runs (page-types -l); "each": one entry per page (-L). */
  readonly list?: "ranges" | "each";
  readonly scope: FlagsScope;
  readonly notes?: readonly string[];
}

const FILE_HI = 1 << (KPF_FILE - 32);
const EXCLUSIVE_HI = (1 << (KPF_MMAP_EXCLUSIVE - 32)) >>> 0;

/**
 * The flags as page-types shows them: raw mode expands the overloaded bits;
 * the default view hides kernel-hacker bits and non-hugetlb compound bits.
 * For a process, the default view also drops the pagemap file and
 * exclusive bits (page-types adds them in raw mode only) but keeps `swap`,
 * so swapped-out pages do not pose as flagless RAM (page-types counts them
 * as 0x0 there).
 */
export function viewFlags(lo: number, hi: number, raw: boolean, scope: Census["scope"]): [number, number] {
  if (raw) return expandOverloadedFlags(lo, hi);
  const [l, h] = wellKnownFlags(lo, hi);
  return scope === "process" ? [l, (h & ~(FILE_HI | EXCLUSIVE_HI)) >>> 0] : [l, h];
}

export function buildFlagsReport(census: Census, o: FlagsReportOptions): FlagsReport {
  const merged = new Map<string, { lo: number; hi: number; pages: number }>();
  let total = 0;
  census.counts.forEach((lo, hi, pages) => {
    const [l, h] = viewFlags(lo, hi, o.raw, census.scope);
    if (!matchesFilters(o.filters, l, h)) return;
    const key = flagsHex(l, h);
    const row = merged.get(key);
    if (row) row.pages += pages;
    else merged.set(key, { lo: l, hi: h, pages });
    total += pages;
  });
  const rows: FlagsRow[] = [...merged.entries()]
    .map(([flags, r]) => ({
      flags,
      pages: r.pages,
      bytes: r.pages * o.pageSize,
      symbolic: flagLetters(r.lo, r.hi, o.raw),
      names: flagNames(r.lo, r.hi),
    }))
    .sort((a, b) => b.pages - a.pages || (a.flags < b.flags ? -1 : a.flags > b.flags ? 1 : 0));
  return {
    schemaVersion: SCHEMA_VERSION,
    scope: o.scope,
    raw: o.raw,
    filters: o.filters.map((f) => f.spec),
    pageSize: o.pageSize,
    rows,
    total: { pages: total, bytes: total * o.pageSize },
    examined: census.examined,
    pfnEnd: census.pfnEnd ?? null,
    list: o.list ? buildList(census, o.raw, o.filters) : null,
    listEach: o.list === "each",
    notes: o.notes ?? [],
  };
}

/**
 * Matching runs, coalesced like page-types' show_page_range: neighbours
 * merge when their shown flags are equal and both the offset and the
 * virtual page number continue (raw runs differing only in hidden bits join).
 */
export function buildList(census: Census, raw: boolean, filters: readonly BitsFilter[]): FlagsRange[] {
  const runs = census.runs;
  const out: FlagsRange[] = [];
  if (!runs) return out;
  // The shown word and its verdict are cached for the last raw word: runs alternate among few values.
  let cLo = -1;
  let cHi = -1;
  let vLo = 0;
  let vHi = 0;
  let ok = false;
  let cur: { voffset: number; offset: number; pages: number; lo: number; hi: number } | undefined;
  // A whole-machine listing has ~10^5 ranges over a few hundred distinct words: letter strings are built once per word.
  const letters = new Map<string, string>();
  const emit = (r: { voffset: number; offset: number; pages: number; lo: number; hi: number }): void => {
    const flags = flagsHex(r.lo, r.hi);
    let symbolic = letters.get(flags);
    if (symbolic === undefined) {
      symbolic = flagLetters(r.lo, r.hi, raw);
      letters.set(flags, symbolic);
    }
    out.push({ voffset: Number.isNaN(r.voffset) ? null : r.voffset, offset: r.offset, pages: r.pages, flags, symbolic });
  };
  for (let i = 0; i < runs.length; i++) {
    const lo = runs.lo[i]!;
    const hi = runs.hi[i]!;
    if (lo !== cLo || hi !== cHi) {
      [vLo, vHi] = viewFlags(lo, hi, raw, census.scope);
      ok = matchesFilters(filters, vLo, vHi);
      cLo = lo;
      cHi = hi;
    }
    if (!ok) continue;
    const voffset = runs.voffset[i]!;
    const offset = runs.offset[i]!;
    const len = runs.len[i]!;
    if (
      cur &&
      cur.lo === vLo &&
      cur.hi === vHi &&
      cur.offset + cur.pages === offset &&
      (Number.isNaN(voffset) ? Number.isNaN(cur.voffset) : cur.voffset + cur.pages === voffset)
    ) {
      cur.pages += len;
      continue;
    }
    if (cur) emit(cur);
    cur = { voffset, offset, pages: len, lo: vLo, hi: vHi };
  }
  if (cur) emit(cur);
  return out;
}

/** `--describe`: one flag word decoded, with every bit shown (page-types describe_flags). */
export interface FlagsDescription {
  readonly flags: string;
  readonly symbolic: string;
  readonly names: readonly string[];
}

export function describeFlags(lo: number, hi: number): FlagsDescription {
  return { flags: flagsHex(lo, hi), symbolic: flagLetters(lo, hi, true), names: flagNames(lo, hi) };
}
