/**
 * The flags view: page-types' census of pages by flag combination, for the
 * whole machine, a process, a memory cgroup, PFN ranges or a saved
 * kpageflags file, with page-types' bit filters, raw mode and listings.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseCNumber, type BitsFilter } from "../decode/flag-filter.js";
import { PAGE_FLAGS } from "../decode/kpageflags.js";
import { NoSuchProcessError, ProcessGoneError, UsageError } from "../errors.js";
import { probeKernel } from "../kernel/features.js";
import { parseMaps, type Vma } from "../parse/maps.js";
import { ProcFs } from "../procfs/procfs.js";
import { UserNames } from "../procfs/users.js";
import { buildFlagsReport, type FlagsReport, type FlagsScope } from "../report/flags-report.js";
import { censusPfns, censusThreads, normalizeRanges, type Census, type PageRange } from "../scan/census.js";
import { censusProcess } from "../scan/process-census.js";
import { commandOf, readProcessInfo } from "../scan/process-info.js";
import type { ViewSource } from "./source.js";

export interface FlagsViewOptions {
  /** The present and swapped-out pages of this process, instead of the PFN space. */
  readonly pid?: number;
  /** Only pages charged to this memory cgroup: a directory (v1 or v2) or @INODE. */
  readonly cgroup?: string;
  /** Only these pages (PFNs, or virtual page numbers with `pid`). */
  readonly addr?: readonly PageRange[];
  /** page-types bit filters, all of which must hold. */
  readonly bits?: readonly BitsFilter[];
  readonly raw?: boolean;
  /** List matching pages as coalesced ranges, or every page. */
  readonly list?: "ranges" | "each";
  /** A saved kpageflags file instead of the live one. */
  readonly kpageflags?: string;
}

const CGROUP_SUPER_MAGIC = 0x27e0eb;
const CGROUP2_SUPER_MAGIC = 0x63677270;

/**
 * `PATH` (a memory cgroup directory, v1 or v2) or `@INODE`: the inode number
 * that /proc/kpagecgroup reports for pages charged to it.
 */
export function resolveCgroup(spec: string): { ino: number; path?: string } {
  if (spec.startsWith("@")) {
    const n = parseCNumber(spec.slice(1).trim());
    if (n === undefined || n > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`--cgroup: ${JSON.stringify(spec)} is not @INODE (a decimal inode number)`);
    return { ino: Number(n) };
  }
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(spec, { bigint: true });
  } catch (err) {
    throw new UsageError(`--cgroup: cannot stat ${spec}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!st.isDirectory()) throw new UsageError(`--cgroup: ${spec} is not a directory (expected a memory cgroup directory or @INODE)`);
  let fsType: number | undefined;
  try {
    fsType = Number(fs.statfsSync(spec).type);
  } catch {
    fsType = undefined; // cannot tell: the memory.stat check below still applies
  }
  if (fsType !== undefined && fsType !== CGROUP_SUPER_MAGIC && fsType !== CGROUP2_SUPER_MAGIC)
    throw new UsageError(`--cgroup: ${spec} is not on a cgroup filesystem (expected a memory cgroup directory or @INODE)`);
  // Only memory cgroups appear in kpagecgroup: a cpu-only v1 directory, or a v2 group without the memory controller, never matches.
  if (!fs.existsSync(path.join(spec, "memory.stat")))
    throw new UsageError(`--cgroup: ${spec} is not a memory cgroup directory (no memory.stat): /proc/kpagecgroup names memory cgroups only; give @INODE to count by inode anyway`);
  if (st.ino > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`--cgroup: inode of ${spec} is too large`);
  return { ino: Number(st.ino), path: spec };
}

/**
 * Bits that never show in the default view but that a filter wants set (an
 * any-of mask, or a required value): such a filter silently matches less
 * than meant. Bits a filter wants clear are harmless and not reported.
 */
function hiddenBitsWanted(filters: readonly BitsFilter[], scope: Census["scope"]): string[] {
  const names: string[] = [];
  const wants = (b: BitsFilter, bit: number): boolean => {
    const lo = b.anyOf ? b.maskLo : b.valueLo;
    const hi = b.anyOf ? b.maskHi : b.valueHi;
    return bit < 32 ? ((lo >>> bit) & 1) === 1 : ((hi >>> (bit - 32)) & 1) === 1;
  };
  for (const f of PAGE_FLAGS) {
    if (f.cls === "stable" || (f.name === "swap" && scope === "process")) continue;
    if (filters.some((b) => wants(b, f.bit))) names.push(f.name);
  }
  return names;
}

interface Counted {
  readonly census: Census;
  readonly scope: FlagsScope;
  readonly pageSize: number;
  readonly notes: string[];
}

type ScopeFilters = Pick<FlagsScope, "cgroup" | "cgroupPath" | "ranges">;

/** A process's present and swapped-out pages, looked up in kpageflags. */
function countProcess(src: ViewSource, pid: number, ranges: readonly PageRange[] | undefined, cgroup: number | undefined, runs: boolean, filters: ScopeFilters): Counted {
  const { procfs } = src;
  const kernel = probeKernel(procfs);
  let command: string;
  let vmas: Vma[];
  try {
    command = commandOf(readProcessInfo(procfs, pid, new UserNames(src.passwdFile)));
    vmas = parseMaps(procfs.readText(`${pid}/maps`, pid), procfs.path(pid, "maps"));
  } catch (err) {
    if (err instanceof ProcessGoneError) throw new NoSuchProcessError(pid);
    throw err;
  }
  const census = censusProcess(procfs, pid, { vmas, pageSize: kernel.pageSize, maxSwapfiles: kernel.maxSwapfiles, ranges, cgroup, runs });
  const notes: string[] = [];
  if (vmas.length === 0) notes.push(`process ${pid} has no user memory (a kernel thread or zombie)`);
  if (census.skippedNonPresent > 0) notes.push(`${census.skippedNonPresent} non-present entries that are not swap (PTE markers, migration entries) are not counted`);
  if (census.beyondEnd > 0) notes.push(`${census.beyondEnd} present pages lie past the end of kpageflags (device memory) and are not counted`);
  return { census, scope: { kind: "process", pid, command, ...filters, source: procfs.path("kpageflags") }, pageSize: kernel.pageSize, notes };
}

/** The PFN space of the live (or --root) kpageflags, or of a saved file. */
function countPfns(src: ViewSource, savedFile: string | undefined, ranges: readonly PageRange[] | undefined, cgroup: number | undefined, runs: boolean, filters: ScopeFilters): Counted {
  // A saved file is read through a ProcFs rooted at its directory: ProcFs stays the only module that opens files.
  const saved = savedFile !== undefined ? path.resolve(savedFile) : undefined;
  const procfs = saved ? new ProcFs({ root: path.dirname(saved), sysRoot: null }) : src.procfs;
  const rel = saved ? path.basename(saved) : "kpageflags";
  const census = censusPfns(procfs, { kpageflags: rel, ranges, cgroup, runs, threads: censusThreads(procfs) });
  const notes: string[] = [];
  if (census.examined === 0 && census.pfnEnd === 0) notes.push(`${procfs.path(rel)} is empty: no pages to count`);
  if (census.beyondEnd > 0) notes.push(`${census.beyondEnd} requested PFNs lie past the end of kpageflags (0x${(census.pfnEnd ?? 0).toString(16)}) and were skipped`);
  return { census, scope: { kind: "machine", ...filters, source: procfs.path(rel) }, pageSize: pageSizeOf(src.procfs), notes };
}

/**
 * The page size, from KernelPageSize in our own smaps (Node has no
 * sysconf). Cheaper than a full kernel probe, which the whole-machine
 * census does not otherwise need; 4096 when the tree has no self/smaps.
 */
function pageSizeOf(procfs: ProcFs): number {
  let text: string | undefined;
  try {
    text = procfs.readOptionalText("self/smaps");
  } catch {
    text = undefined;
  }
  const m = text === undefined ? null : /^KernelPageSize:\s+([0-9]+) kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : 4096;
}

export function flagsView(src: ViewSource, o: FlagsViewOptions = {}): FlagsReport {
  if (o.kpageflags !== undefined && (o.pid !== undefined || o.cgroup !== undefined))
    throw new UsageError("--kpageflags reads a saved file, which has no matching pagemap or kpagecgroup: it cannot be combined with --pid or --cgroup (use --root on a saved tree instead)");
  const cgroup = o.cgroup !== undefined ? resolveCgroup(o.cgroup) : undefined;
  const bits = o.bits ?? [];
  const ranges = o.addr !== undefined && o.addr.length > 0 ? normalizeRanges(o.addr) : undefined;
  const filters: ScopeFilters = {
    cgroup: cgroup?.ino,
    cgroupPath: cgroup?.path,
    ranges: ranges?.map((r) => ({ start: r.start, end: r.end === Infinity ? null : r.end })),
  };
  const runs = o.list !== undefined;
  const { census, scope, pageSize, notes } =
    o.pid !== undefined ? countProcess(src, o.pid, ranges, cgroup?.ino, runs, filters) : countPfns(src, o.kpageflags, ranges, cgroup?.ino, runs, filters);
  const hidden = o.raw ? [] : hiddenBitsWanted(bits, census.scope);
  if (hidden.length > 0) notes.push(`--bits: ${hidden.join(", ")} ${hidden.length === 1 ? "is" : "are"} always clear in the default view; add --raw to filter on ${hidden.length === 1 ? "it" : "them"}`);
  if (cgroup && census.pages === 0) notes.push(`no page is charged to memory cgroup @${cgroup.ino}`);
  return buildFlagsReport(census, { raw: o.raw ?? false, filters: bits, pageSize, list: o.list, scope, notes });
}
