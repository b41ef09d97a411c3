/**
 * `pagelens libs` (librank's job): every mapped file and special mapping
 * across all processes, with RSS, PSS, USS and swap summed over the
 * processes that map it, and each process's share.
 */
import { Option, type Command } from "commander";
import { UsageError } from "../../errors.js";
import { LIBS_SORT_KEYS, type LibsSortKey } from "../../report/libs-report.js";
import { DEFAULT_LIBS_LIMIT, renderLibsJson, writeLibsCsv, writeLibsTable } from "../../render/libs-render.js";
import { COMMAND_WIDTH } from "../../render/ps-render.js";
import { UNITS, type Unit } from "../../render/units.js";
import type { Scan } from "../../scan/system-scan.js";
import { libsView } from "../../views/libs.js";
import { makeContext, printNotes, scanOutcome, traceTo, type Context, type GlobalOptions } from "../context.js";
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

export async function libsCommand(ctx: Context, o: LibsCommandOptions): Promise<number> {
  rejectJsonAndCsv(o);
  const progress = new Progress(ctx.io, "scanning processes");
  let scan: Scan | undefined;
  const report = await libsView(
    ctx,
    { path: o.path, perms: o.perms, all: o.all, sort: o.sort, reverse: o.reverse, top: o.top, exact: o.exact },
    { onProgress: progress.update, trace: traceTo(ctx), onScan: (s) => (scan = s) },
  );
  progress.done();
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
  // A process left out for a bad file: the report is printed, the exit code says so (README, exit codes).
  return scanOutcome(ctx, scan!, o.json || o.csv === true);
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
