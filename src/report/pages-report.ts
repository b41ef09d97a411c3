/**
 * One process, page by page (`pagelens pages PID`), like page-types -L/-l:
 * virtual address, PFN (or swap slot), kpageflags as letters, map count and
 * memory cgroup. Runs of alike pages are folded into one row unless asked not to.
 */
import { classifyNonPresent, decodePagemapEntry } from "../decode/pagemap.js";
import { expandOverloadedFlags, flagLetters, flagNames, flagsHex, wellKnownFlags } from "../decode/kpageflags.js";
import type { Vma } from "../parse/maps.js";
import { SCHEMA_VERSION } from "./scan-header.js";

/** Decoded pagemap entries of one process: parallel arrays (only non-empty entries). */
export interface PageEntries {
  readonly vpn: number[];
  readonly lo: number[];
  readonly hi: number[];
  readonly vma: number[];
}

export interface PageValues {
  countOf(pfn: number): number;
  flagsLoOf(pfn: number): number;
  flagsHiOf(pfn: number): number;
  cgroupOf(pfn: number): number;
  has(pfn: number): boolean;
}

export type PageKind = "present" | "swap" | "marker" | "migration-or-device";

export interface PageRun {
  /** First virtual address of the run, hex. */
  readonly address: string;
  readonly pages: number;
  readonly kind: PageKind;
  /** First PFN of the run (present pages), else null. */
  readonly pfn: number | null;
  readonly swapType: number | null;
  readonly swapOffset: number | null;
  /** kpageflags as 16 hex digits (present pages), null otherwise. */
  readonly flags: string | null;
  readonly letters: string | null;
  readonly flagNames: readonly string[];
  readonly mapcount: number | null;
  /** Inode of the memory cgroup charged (kpagecgroup); null when unknown. */
  readonly cgroup: number | null;
  readonly exclusive: boolean;
  readonly file: boolean;
  readonly softDirty: boolean;
  readonly uffdWp: boolean;
  readonly guard: boolean;
  readonly mapping: string;
}

export interface PagesReport {
  readonly schemaVersion: number;
  readonly pid: number;
  readonly command: string;
  readonly raw: boolean;
  readonly pageSize: number;
  readonly notes: readonly string[];
  readonly runs: readonly PageRun[];
}

function runOf(e: PageEntries, i: number, vmas: readonly Vma[], values: PageValues | undefined, pageSize: number, raw: boolean, maxSwapfiles: number): PageRun {
  const lo = e.lo[i]!;
  const hi = e.hi[i]!;
  const d = decodePagemapEntry(lo, hi);
  const kind: PageKind = d.present ? "present" : classifyNonPresent(lo, maxSwapfiles);
  let flags: string | null = null;
  let letters: string | null = null;
  let names: string[] = [];
  let mapcount: number | null = null;
  let cgroup: number | null = null;
  if (d.present && d.pfn && values?.has(d.pfn)) {
    const [l, h] = raw ? expandOverloadedFlags(values.flagsLoOf(d.pfn), values.flagsHiOf(d.pfn), hi) : wellKnownFlags(values.flagsLoOf(d.pfn), values.flagsHiOf(d.pfn));
    flags = flagsHex(l, h);
    letters = flagLetters(l, h, raw);
    names = flagNames(l, h);
    mapcount = values.countOf(d.pfn);
    const cg = values.cgroupOf(d.pfn);
    cgroup = cg === 0 ? null : cg;
  }
  // Without CAP_SYS_ADMIN the kernel zeroes PFNs and swap slots. PFN 0 is never a user page and
  // swap offset 0 is the swap header, so zero means "hidden": null, and runs fold by address.
  const swapHidden = kind === "swap" && d.swapType === 0 && d.swapOffset === 0;
  return {
    address: (e.vpn[i]! * pageSize).toString(16),
    pages: 1,
    kind,
    pfn: d.present && d.pfn ? d.pfn : null,
    swapType: swapHidden ? null : (d.swapType ?? null),
    swapOffset: swapHidden ? null : (d.swapOffset ?? null),
    flags,
    letters,
    flagNames: names,
    mapcount,
    cgroup,
    exclusive: d.exclusive,
    file: d.file,
    softDirty: d.softDirty,
    uffdWp: d.uffdWp,
    guard: d.guard,
    mapping: vmas[e.vma[i]!]?.name ?? "",
  };
}

/** Can `next` (one page) extend `run`: same mapping, next address, next PFN/slot, same flags and counts? */
function extends_(run: PageRun, next: PageRun, pageSize: number): boolean {
  const nextAddr = parseInt(run.address, 16) + run.pages * pageSize;
  if (parseInt(next.address, 16) !== nextAddr) return false;
  if (run.kind !== next.kind || run.mapping !== next.mapping) return false;
  if (run.flags !== next.flags || run.mapcount !== next.mapcount || run.cgroup !== next.cgroup) return false;
  if (run.exclusive !== next.exclusive || run.file !== next.file || run.softDirty !== next.softDirty || run.uffdWp !== next.uffdWp || run.guard !== next.guard)
    return false;
  if (run.pfn !== null) return next.pfn === run.pfn + run.pages;
  if (run.swapOffset !== null) return next.swapType === run.swapType && next.swapOffset === run.swapOffset + run.pages;
  return true;
}

export interface PagesOptions {
  readonly each?: boolean;
  readonly raw?: boolean;
}

export function buildPagesReport(
  meta: { pid: number; command: string; pageSize: number; maxSwapfiles: number; notes: readonly string[] },
  vmas: readonly Vma[],
  entries: PageEntries,
  values: PageValues | undefined,
  opts: PagesOptions = {},
): PagesReport {
  const runs: PageRun[] = [];
  for (let i = 0; i < entries.vpn.length; i++) {
    const r = runOf(entries, i, vmas, values, meta.pageSize, opts.raw === true, meta.maxSwapfiles);
    const last = runs[runs.length - 1];
    if (!opts.each && last && extends_(last, r, meta.pageSize)) runs[runs.length - 1] = { ...last, pages: last.pages + 1 };
    else runs.push(r);
  }
  return { schemaVersion: SCHEMA_VERSION, pid: meta.pid, command: meta.command, raw: opts.raw === true, pageSize: meta.pageSize, notes: meta.notes, runs };
}

/** Collect the non-empty pagemap entries of a batch (used with readPagemap). */
export function collectEntries(into: PageEntries, u32: Uint32Array, count: number, firstVpn: number, vma: number): void {
  for (let i = 0; i < count; i++) {
    const lo = u32[2 * i]!;
    const hi = u32[2 * i + 1]!;
    if (lo === 0 && hi === 0) continue;
    into.vpn.push(firstVpn + i);
    into.lo.push(lo);
    into.hi.push(hi);
    into.vma.push(vma);
  }
}

