/**
 * `pagelens libs` (librank's job): every mapped file and special mapping
 * across all processes, with RSS, PSS, USS and swap summed over the
 * processes that map it, and each process's share.
 */
import { Option, type Command } from "commander";
import { NF, U } from "../../accounting/usage.js";
import { PermissionError, ProcessGoneError, UsageError } from "../../errors.js";
import { parseSmaps } from "../../parse/smaps.js";
import { buildLibsReport, isPermsPattern, LIBS_SORT_KEYS, type LibsSortKey, type SmapsRows } from "../../report/libs-report.js";
import { DEFAULT_LIBS_LIMIT, renderLibsJson, writeLibsCsv, writeLibsTable } from "../../render/libs-render.js";
import { COMMAND_WIDTH } from "../../render/ps-render.js";
import { UNITS, type Unit } from "../../render/units.js";
import { scanSystem, type Scan } from "../../scan/system-scan.js";
import { makeContext, printNotes, type Context, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { parseRegex, parseUnit } from "../options.js";
import { Progress } from "../progress.js";
import { noteFit, rejectJsonAndCsv, tableOutput } from "./output.js";

export interface LibsCommandOptions {
  readonly path?: RegExp;
  readonly perms?: string;
  readonly sort: LibsSortKey;
  readonly reverse: boolean;
  readonly all: boolean;
  readonly top?: number;
  readonly summary: boolean;
  readonly exact: boolean;
  readonly units: Unit;
  readonly json: boolean;
  readonly csv?: boolean;
  readonly wide: boolean;
  /** Processes listed per name in the table; 0 for all. */
  readonly limit?: number;
}

/**
 * Per-VMA rows from /proc/PID/smaps for processes the scan could only read
 * from smaps_rollup (no root: PFNs hidden). The kernel's own per-mapping
 * numbers are still exact for RSS, PSS and swap, so libs works unprivileged
 * on the processes the user may read.
 */
export function smapsRowsFor(ctx: Context, scan: Scan): Map<number, SmapsRows> {
  const out = new Map<number, SmapsRows>();
  for (const p of scan.processes) {
    if (p.state !== "ok" || p.source === "pagemap") continue;
    const pid = p.info.pid;
    let entries;
    try {
      entries = parseSmaps(ctx.procfs.readText(`${pid}/smaps`, pid), ctx.procfs.path(pid, "smaps"));
    } catch (err) {
      if (err instanceof PermissionError || err instanceof ProcessGoneError) continue;
      throw err;
    }
    const usage = new Float64Array(entries.length * NF);
    entries.forEach((e, i) => {
      const f = (k: string): number => e.fields[k] ?? 0;
      const b = i * NF;
      usage[b + U.rss] = f("Rss");
      usage[b + U.pss] = f("Pss");
      usage[b + U.uss] = f("Private_Clean") + f("Private_Dirty");
      usage[b + U.shared] = f("Shared_Clean") + f("Shared_Dirty");
      usage[b + U.swap] = f("Swap");
      usage[b + U.swapPss] = f("SwapPss");
      usage[b + U.hugetlbPrivate] = f("Private_Hugetlb");
      usage[b + U.hugetlbShared] = f("Shared_Hugetlb");
    });
    out.set(pid, { vmas: entries.map((e) => e.vma), usage });
  }
  return out;
}

export async function libsCommand(ctx: Context, o: LibsCommandOptions): Promise<number> {
  rejectJsonAndCsv(o);
  if (o.perms !== undefined && !isPermsPattern(o.perms))
    throw new UsageError(`--perms: expected four characters like r-xp (? for any) or letters of rwxsp that must all be present, got ${JSON.stringify(o.perms)}`);
  const progress = new Progress(ctx.io, "scanning processes");
  const scan = await scanSystem(ctx.procfs, { exact: o.exact, passwdFile: ctx.passwdFile, onProgress: progress.update });
  progress.done();
  const smaps = scan.processes.some((p) => p.state === "ok" && p.source !== "pagemap") ? smapsRowsFor(ctx, scan) : undefined;
  const report = buildLibsReport(scan, { path: o.path, perms: o.perms, all: o.all, sort: o.sort, reverse: o.reverse, top: o.top }, smaps);
  if (o.json) ctx.io.stdout(renderLibsJson(report));
  else if (o.csv) {
    writeLibsCsv(report, ctx.io.stdout);
    printNotes(ctx, report.notes);
  }
  else {
    const t = tableOutput(ctx, o.units, o.wide);
    writeLibsTable(report, { ...t, summary: o.summary, wide: o.wide, limit: o.limit }, ctx.io.stdout);
    printNotes(ctx, report.notes);
    noteFit(ctx, t);
  }
  return 0;
}

/** A count where 0 means "no limit", for --limit. */
export function parseLimit(text: string, option = "--limit"): number {
  if (!/^[0-9]{1,9}$/.test(text.trim())) throw new UsageError(`${option}: expected a whole number (0 for no limit), got ${JSON.stringify(text)}`);
  return Number(text.trim());
}

/** A positive count for --top. */
export function parseCount(text: string, option: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(text.trim())) throw new UsageError(`${option}: expected a positive whole number, got ${JSON.stringify(text)}`);
  return Number(text.trim());
}

/** Register `libs` on the program (run.ts calls this once). */
export function registerLibsCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  program
    .command("libs")
    .description("every mapped file and special mapping across processes: RSS, PSS, USS and swap, and each process's share (like librank)")
    .option("--path <regex>", "only mappings whose name (path) matches", (t: string) => parseRegex(t, "--path"))
    .option("--perms <pattern>", "only VMAs with these permissions: r-xp exactly (? for any position), or letters that must all be present (x: executable)")
    .addOption(new Option("--sort <key>", "sort key").choices(LIBS_SORT_KEYS).default("pss"))
    .option("--reverse", "reverse the sort order", false)
    .option("--all", "also unnamed anonymous memory ([anon]) and mappings with nothing resident, swapped or in hugetlb pages", false)
    .option("--top <n>", "only the first N mappings", (t: string) => parseCount(t, "--top"))
    .option("--summary", "one row per mapping, without the per-process rows", false)
    .option("--exact", "look every page up in kpagecount (slower)", false)
    .addOption(new Option("--units <unit>", `size units: ${UNITS.join(", ")}`).default("human").argParser(parseUnit))
    .option("--limit <n>", `processes listed under each mapping in the table (default ${DEFAULT_LIBS_LIMIT}; 0 lists all; --json and --csv have all)`, (t: string) => parseLimit(t))
    .option("--json", "print one JSON document (sizes in bytes)", false)
    .option("--csv", "print CSV, one row per mapping and process (sizes in bytes)", false)
    .option("--wide", `do not cut commands longer than ${COMMAND_WIDTH} characters, nor fit the table to the terminal`, false)
    .action(async function (this: Command) {
      const o = this.opts() as LibsCommandOptions;
      setCode(await libsCommand(makeContext(this.optsWithGlobals() as GlobalOptions, io), o));
    });
}
