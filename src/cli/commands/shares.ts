/**
 * `pagelens shares`: who shares with whom. For the top processes by PSS (or
 * the ones named), the physical pages each pair and group maps in common,
 * by kind (file, shmem, copy-on-write, KSM, hugetlb) and by mapping.
 */
import { Option, type Command } from "commander";
import { DEFAULT_SHARES_LIMIT, DEFAULT_SHARES_TOP } from "../../report/shares-report.js";
import { writeSharesCsv, writeSharesJson, writeSharesTable } from "../../render/shares-render.js";
import { COMMAND_WIDTH } from "../../render/ps-render.js";
import { UNITS, type Unit } from "../../render/units.js";
import type { Scan } from "../../scan/system-scan.js";
import { sharesView } from "../../views/shares.js";
import { makeContext, printNotes, scanOutcome, traceTo, type Context, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { parsePidList, parseRegex, parseUnit } from "../options.js";
import { Progress } from "../progress.js";
import { parseCount, parseLimit } from "./libs.js";
import { noteFit, rejectJsonAndCsv, tableOutput } from "./output.js";

export interface SharesCommandOptions {
  readonly pid?: readonly number[];
  readonly command?: RegExp;
  readonly top?: number;
  readonly groups: boolean;
  readonly mappings?: number;
  readonly exact: boolean;
  readonly units: Unit;
  readonly json: boolean;
  readonly csv?: boolean;
  readonly wide: boolean;
  /** Pairs and groups kept, most shared first; 0 for all. */
  readonly limit?: number;
}

export async function sharesCommand(ctx: Context, o: SharesCommandOptions): Promise<number> {
  rejectJsonAndCsv(o);
  const progress = new Progress(ctx.io, "scanning processes");
  let scan: Scan | undefined;
  const report = await sharesView(
    ctx,
    { pids: o.pid, command: o.command, top: o.top, limit: o.limit, exact: o.exact },
    { onProgress: progress.update, trace: traceTo(ctx), onScan: (s) => (scan = s) },
  );
  progress.done();
  if (o.json) writeSharesJson(report, ctx.io.stdout);
  else if (o.csv) {
    writeSharesCsv(report, ctx.io.stdout);
    printNotes(ctx, report.notes);
  } else {
    const t = tableOutput(ctx, o.units, o.wide);
    writeSharesTable(report, { ...t, unit: o.units, groups: o.groups, mappings: o.mappings, wide: o.wide }, ctx.io.stdout);
    printNotes(ctx, report.notes);
    noteFit(ctx, t);
  }
  // A process left out for a bad file: the report is printed, the exit code says so (README, exit codes).
  return scanOutcome(ctx, scan!, o.json || o.csv === true);
}

/** Register `shares` on the program (run.ts calls this once). */
export function registerSharesCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  program
    .command("shares")
    .description("who shares with whom: the physical pages each pair and group of processes maps in common, by kind and mapping")
    .option("--pid <list>", "these processes (comma-separated)", (t: string) => parsePidList(t))
    .option("--top <n>", `the top N processes by PSS (default ${DEFAULT_SHARES_TOP})`, (t: string) => parseCount(t, "--top"))
    .option("--command <regex>", "choose among processes whose name or command line matches", (t: string) => parseRegex(t, "--command"))
    .option("--groups", "also list the exact groups of processes that map common pages", false)
    .option("--mappings <n>", "mappings named per pair or group in the table (default 3)", (t: string) => parseCount(t, "--mappings"))
    .option("--exact", "look every page up in kpagecount (slower)", false)
    .addOption(new Option("--units <unit>", `size units: ${UNITS.join(", ")}`).default("human").argParser(parseUnit))
    .option("--limit <n>", `pairs and groups listed, most shared bytes first (default ${DEFAULT_SHARES_LIMIT}; 0 lists all)`, (t: string) => parseLimit(t))
    .option("--json", "print one JSON document (sizes in bytes)", false)
    .option("--csv", "print the pairs as CSV (sizes in bytes)", false)
    .option("--wide", `do not cut commands longer than ${COMMAND_WIDTH} characters, nor fit the table to the terminal`, false)
    .action(async function (this: Command) {
      const o = this.opts() as SharesCommandOptions;
      setCode(await sharesCommand(makeContext(this.optsWithGlobals() as GlobalOptions, io), o));
    });
}
