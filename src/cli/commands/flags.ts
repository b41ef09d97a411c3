/**
 * `pagelens flags`: page-types' census of pages by flag combination, for the
 * whole machine, a process (--pid), a memory cgroup (--cgroup), PFN ranges
 * (--addr) or a saved kpageflags file (--kpageflags), with page-types' bit
 * filters, raw mode and listings.
 */
import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { parseBitsSpec, parseCNumber, parseFlagList, type BitsFilter } from "../../decode/flag-filter.js";
import { PAGE_FLAGS } from "../../decode/kpageflags.js";
import { describeFlags } from "../../report/flags-report.js";
import { renderDescribe, renderDescribeJson, writeFlagsCsv, writeFlagsJson, writeFlagsTable } from "../../render/flags-render.js";
import type { PageRange } from "../../scan/census.js";
import { flagsView } from "../../views/flags.js";
import { makeContext, printNotes, type Context, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { parsePid } from "../options.js";
import { noteFit, rejectJsonAndCsv, tableOutput } from "./output.js";

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
  const report = flagsView(ctx, {
    pid: o.pid,
    cgroup: o.cgroup,
    addr: o.addr,
    bits: o.bits,
    raw: o.raw,
    list: o.list ? "ranges" : o.listEach ? "each" : undefined,
    kpageflags: o.kpageflags,
  });
  if (o.json) writeFlagsJson(report, ctx.io.stdout);
  else if (o.csv) {
    writeFlagsCsv(report, ctx.io.stdout);
    printNotes(ctx, report.notes);
  } else {
    const t = tableOutput(ctx, "human", o.wide === true);
    writeFlagsTable(report, ctx.io.stdout, o.summary, t);
    printNotes(ctx, report.notes);
    noteFit(ctx, t);
  }
  return 0;
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
