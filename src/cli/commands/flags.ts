/**
 * `pagelens flags`: page-types' census of pages by flag combination, for the
 * whole machine, a process (--pid), a memory cgroup (--cgroup), PFN ranges
 * (--addr) or a saved kpageflags file (--kpageflags), with page-types' bit
 * filters, raw mode and listings.
 */
import * as fs from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import * as path from "node:path";
import type { Command } from "commander";
import { NoSuchProcessError, ProcessGoneError, UsageError } from "../../errors.js";
import { parseBitsSpec, parseCNumber, parseFlagList, type BitsFilter } from "../../decode/flag-filter.js";
import { PAGE_FLAGS } from "../../decode/kpageflags.js";
import { probeKernel } from "../../kernel/features.js";
import { parseMaps, type Vma } from "../../parse/maps.js";
import { ProcFs } from "../../procfs/procfs.js";
import { UserNames } from "../../procfs/users.js";
import { buildFlagsReport, describeFlags, type FlagsScope } from "../../report/flags-report.js";
import { renderDescribe, renderDescribeJson, writeFlagsCsv, writeFlagsJson, writeFlagsTable } from "../../render/flags-render.js";
import { censusPfns, normalizeRanges, type Census, type PageRange } from "../../scan/census.js";
import { censusProcess } from "../../scan/process-census.js";
import { commandOf, readProcessInfo } from "../../scan/process-info.js";
import { makeContext, printNotes, type Context, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { parsePid } from "../options.js";
import { MAPS_SORT_KEYS } from "./maps.js";
import { addTableOptions, noteFit, rejectJsonAndCsv, tableOutput } from "./output.js";

export interface FlagsCommandOptions {
  readonly pid?: number;
  readonly cgroup?: string;
  readonly addr: readonly PageRange[];
  readonly bits: readonly BitsFilter[];
  readonly raw: boolean;
  readonly describe?: string;
  readonly list: boolean;
  readonly listEach: boolean;
  /** false with --no-summary. */
  readonly summary: boolean;
  readonly kpageflags?: string;
  readonly json: boolean;
  readonly csv?: boolean;
  readonly wide?: boolean;
}

function pageNumber(text: string, spec: string): number {
  const n = parseCNumber(text.trim());
  if (n === undefined) throw new UsageError(`--addr: ${JSON.stringify(text)} in ${JSON.stringify(spec)} is not a page number (decimal, 0x hex or 0 octal)`);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`--addr: ${JSON.stringify(text)} in ${JSON.stringify(spec)} is too large`);
  return Number(n);
}

/**
 * page-types' addr-spec, in pages: N (one page), N+M (M pages from N),
 * N,M (N to M-1), N, or N+ (N to the end), ,M or +M (0 to M-1).
 */
export function parseAddrSpec(spec: string): PageRange {
  const text = spec.trim();
  if (text === "") throw new UsageError("--addr: empty (expected N, N+M, N,M, N, or ,M in pages)");
  let sep = text.indexOf(",");
  if (sep < 0) sep = text.indexOf("+");
  let range: PageRange;
  if (sep < 0) {
    const n = pageNumber(text, spec);
    range = { start: n, end: n + 1 };
  } else if (sep === 0) {
    range = { start: 0, end: pageNumber(text.slice(1), spec) };
  } else {
    const start = pageNumber(text.slice(0, sep), spec);
    const rest = text.slice(sep + 1);
    if (rest.trim() === "") range = { start, end: Infinity };
    else {
      const m = pageNumber(rest, spec);
      range = { start, end: text[sep] === "," ? m : start + m };
      if (!Number.isSafeInteger(range.end)) throw new UsageError(`--addr: ${JSON.stringify(spec)} ends past 2^53 pages`);
    }
  }
  if (range.end <= range.start) throw new UsageError(`--addr: ${JSON.stringify(spec)} is an empty range`);
  return range;
}

/** Commander collectors for the repeatable options. */
export function collectAddr(text: string, prev: readonly PageRange[] = []): PageRange[] {
  return [...prev, parseAddrSpec(text)];
}
export function collectBits(text: string, prev: readonly BitsFilter[] = []): BitsFilter[] {
  return [...prev, parseBitsSpec(text)];
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

/** --pid: the process's present and swapped-out pages, looked up in kpageflags. */
function countProcess(ctx: Context, pid: number, ranges: readonly PageRange[] | undefined, cgroup: number | undefined, runs: boolean, filters: ScopeFilters): Counted {
  const { procfs } = ctx;
  const kernel = probeKernel(procfs);
  let command: string;
  let vmas: Vma[];
  try {
    command = commandOf(readProcessInfo(procfs, pid, new UserNames(ctx.passwdFile)));
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

/**
 * Threads to read /proc/kpageflags with: one per CPU, unless the machine is
 * oversubscribed. Measured on 2 CPUs (with autogroup scheduling), one
 * thread vs two: at load 1.7, 728 vs 444 ms (the C floor took 628); at load
 * 6.8, 1134 vs 1234 ms, as the second thread adds its start-up but gets no
 * more CPU time.
 */
function readingThreads(): number {
  const cpus = availableParallelism();
  return loadavg()[0]! > 2 * cpus ? 1 : cpus;
}

/** The PFN space of the live (or --root) kpageflags, or of a saved file. */
function countPfns(ctx: Context, savedFile: string | undefined, ranges: readonly PageRange[] | undefined, cgroup: number | undefined, runs: boolean, filters: ScopeFilters): Counted {
  // A saved file is read through a ProcFs rooted at its directory: ProcFs stays the only module that opens files.
  const saved = savedFile !== undefined ? path.resolve(savedFile) : undefined;
  const procfs = saved ? new ProcFs({ root: path.dirname(saved), sysRoot: null }) : ctx.procfs;
  const rel = saved ? path.basename(saved) : "kpageflags";
  // Reader threads pay off only against the kernel's per-page cost, not for a saved file in the page cache.
  const threads = !saved && procfs.isLive ? readingThreads() : 1;
  const census = censusPfns(procfs, { kpageflags: rel, ranges, cgroup, runs, threads });
  const notes: string[] = [];
  if (census.examined === 0 && census.pfnEnd === 0) notes.push(`${procfs.path(rel)} is empty: no pages to count`);
  if (census.beyondEnd > 0) notes.push(`${census.beyondEnd} requested PFNs lie past the end of kpageflags (0x${(census.pfnEnd ?? 0).toString(16)}) and were skipped`);
  return { census, scope: { kind: "machine", ...filters, source: procfs.path(rel) }, pageSize: pageSizeOf(ctx.procfs), notes };
}

export function flagsCommand(ctx: Context, o: FlagsCommandOptions): number {
  rejectJsonAndCsv(o);
  if (o.describe !== undefined) {
    const w = parseFlagList(o.describe);
    const d = describeFlags(w.lo, w.hi);
    ctx.io.stdout(o.json ? renderDescribeJson(d) : renderDescribe(d));
    return 0;
  }
  if (o.list && o.listEach) throw new UsageError("--list and --list-each cannot be used together");
  if (!o.summary && !o.list && !o.listEach) throw new UsageError("--no-summary leaves nothing to print without --list or --list-each");
  if (o.kpageflags !== undefined && (o.pid !== undefined || o.cgroup !== undefined))
    throw new UsageError("--kpageflags reads a saved file, which has no matching pagemap or kpagecgroup: it cannot be combined with --pid or --cgroup (use --root on a saved tree instead)");
  const cgroup = o.cgroup !== undefined ? resolveCgroup(o.cgroup) : undefined;
  const listMode = o.list ? "ranges" : o.listEach ? "each" : undefined;
  const ranges = o.addr.length > 0 ? normalizeRanges(o.addr) : undefined;
  const filters: ScopeFilters = {
    cgroup: cgroup?.ino,
    cgroupPath: cgroup?.path,
    ranges: ranges?.map((r) => ({ start: r.start, end: r.end === Infinity ? null : r.end })),
  };
  const runs = listMode !== undefined;
  const { census, scope, pageSize, notes } =
    o.pid !== undefined ? countProcess(ctx, o.pid, ranges, cgroup?.ino, runs, filters) : countPfns(ctx, o.kpageflags, ranges, cgroup?.ino, runs, filters);
  const hidden = o.raw ? [] : hiddenBitsWanted(o.bits, census.scope);
  if (hidden.length > 0) notes.push(`--bits: ${hidden.join(", ")} ${hidden.length === 1 ? "is" : "are"} always clear in the default view; add --raw to filter on ${hidden.length === 1 ? "it" : "them"}`);
  if (cgroup && census.pages === 0) notes.push(`no page is charged to memory cgroup @${cgroup.ino}`);

  const report = buildFlagsReport(census, { raw: o.raw, filters: o.bits, pageSize, list: listMode, scope, notes });
  if (o.json) writeFlagsJson(report, ctx.io.stdout);
  else if (o.csv) {
    writeFlagsCsv(report, ctx.io.stdout);
    printNotes(ctx, notes);
  } else {
    const t = tableOutput(ctx, "human", o.wide === true);
    writeFlagsTable(report, ctx.io.stdout, o.summary, t);
    printNotes(ctx, notes);
    noteFit(ctx, t);
  }
  return 0;
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

/** The bit names with page-types' markers: (r) raw-mode bits, (o) synthetic bits. */
function bitNamesHelp(): string {
  const cells = PAGE_FLAGS.map((f) => `${f.name}${f.cls === "hacker" ? "(r)" : f.cls === "synthetic" ? "(o)" : ""}`);
  const lines: string[] = [];
  for (let i = 0; i < cells.length; i += 4) lines.push("  " + cells.slice(i, i + 4).map((c) => c.padEnd(19)).join("").trimEnd());
  return lines.join("\n");
}

const FLAGS_HELP = `
FLAGS (--describe) and bit names: a name, a unique prefix of one (anon, zero),
a number (0x10, 16) or a comma-separated list of them (0x10,anon).

bits-spec (--bits, repeatable; all must hold):
  bit1,bit2         (flags & (bit1|bit2)) != 0     any of them
  bit1,bit2=bit1    (flags & (bit1|bit2)) == bit1  mask=value
  bit1,~bit2        (flags & (bit1|bit2)) == bit1  set and clear
  =bit1,bit2        flags == (bit1|bit2)           exactly
  compound          compound_head|compound_tail

addr-spec (--addr, repeatable; PFNs, or virtual page numbers with --pid):
  N                 page N
  N+M               pages N to N+M-1
  N,M               pages N to M-1
  N,                pages N to the end
  ,M                pages 0 to M-1

bit names ((r) shown with --raw only, (o) synthesised by page-types' raw mode):
${bitNamesHelp()}
`;

/** Register `flags` on the program (run.ts calls this once). */
export function registerFlagsCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  // ps, maps and pages are defined in run.ts, before this is called: their table options are added
  // here until run.ts calls addTableOptions itself (run.ts belongs to another change in flight).
  addTableOptions(program, MAPS_SORT_KEYS);
  program
    .command("flags")
    .description("census of pages by flag combination, for the machine, a process or a memory cgroup (like page-types)")
    .option("--pid <pid>", "the present and swapped-out pages of this process", (t: string) => parsePid(t, "--pid"))
    .option("--cgroup <path|@inode>", "only pages charged to this memory cgroup (directory, v1 or v2, or @INODE from kpagecgroup)")
    .option("--addr <spec>", "only these pages: N, N+M, N,M, N, or ,M (repeatable)", collectAddr)
    .option("--bits <spec>", "only pages whose flags match, page-types syntax (repeatable, ANDed)", collectBits)
    .option("--raw", "raw flags: kernel-hacker bits, compound head/tail, overloaded bits expanded", false)
    .option("--describe <flags>", "decode a flag value or name list and exit")
    .option("--list", "list matching pages as coalesced ranges (hex, like page-types -l)", false)
    .option("--list-each", "list every matching page (like page-types -L)", false)
    .option("--no-summary", "with --list or --list-each: omit the summary table")
    .option("--kpageflags <file>", "read a saved kpageflags file instead of the live one")
    .option("--json", "print one JSON document (sizes in bytes)", false)
    .option("--csv", "print the summary as CSV (sizes in bytes)", false)
    .option("--wide", "show every column whole, even when it does not fit the terminal", false)
    .addHelpText("after", FLAGS_HELP)
    .action(function (this: Command) {
      const o = this.opts() as Omit<FlagsCommandOptions, "addr" | "bits"> & { addr?: PageRange[]; bits?: BitsFilter[] };
      const g = this.optsWithGlobals() as GlobalOptions;
      setCode(flagsCommand(makeContext(g, io), { ...o, addr: o.addr ?? [], bits: o.bits ?? [] }));
    });
}
