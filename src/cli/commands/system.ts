/**
 * `pagelens system`: where all of MemTotal goes. The sources are gathered by
 * views/system.ts and reconciled by report/system-report.ts; this module
 * prints the result.
 */
import type { Command } from "commander";
import { Option } from "commander";
import { renderSystemJson, renderSystemTable, writeSystemCsv } from "../../render/system-render.js";
import { UNITS, type Unit } from "../../render/units.js";
import type { Scan } from "../../scan/system-scan.js";
import { systemView } from "../../views/system.js";
import { makeContext, printNotes, scanOutcome, traceTo, type Context, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { parseUnit } from "../options.js";
import { Progress } from "../progress.js";
import { noteFit, rejectJsonAndCsv, tableOutput } from "./output.js";

export interface SystemCommandOptions {
  readonly units: Unit;
  readonly json: boolean;
  readonly csv?: boolean;
  readonly wide?: boolean;
}

export async function systemCommand(ctx: Context, o: SystemCommandOptions): Promise<number> {
  rejectJsonAndCsv(o);
  const progress = new Progress(ctx.io, "scanning processes");
  let scan: Scan | undefined;
  const report = await systemView(ctx, { onProgress: progress.update, trace: traceTo(ctx), onScan: (s) => (scan = s) });
  progress.done();
  if (o.json) ctx.io.stdout(renderSystemJson(report));
  else if (o.csv) {
    writeSystemCsv(report, ctx.io.stdout);
    printNotes(ctx, report.notes);
  } else {
    const t = tableOutput(ctx, o.units, o.wide === true);
    ctx.io.stdout(renderSystemTable(report, o.units, t));
    printNotes(ctx, report.notes);
    noteFit(ctx, t);
  }
  // A process left out for a bad file: the report is printed, the exit code says so (README, exit codes).
  return scanOutcome(ctx, scan!, o.json);
}

/** Register `system` on the program (run.ts calls this once). */
export function registerSystemCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  program
    .command("system")
    .description("the whole machine: MemTotal split into processes, page cache, shmem, kernel, hugetlb and free, with the rest shown as not attributed")
    .addOption(new Option("--units <unit>", `size units: ${UNITS.join(", ")}`).default("human").argParser(parseUnit))
    .option("--json", "print one JSON document (sizes in bytes)", false)
    .option("--csv", "print the reconciliation as CSV, one row per line (sizes in bytes)", false)
    .option("--wide", "show every column whole, even when it does not fit the terminal", false)
    .action(async function (this: Command) {
      const o = this.opts() as SystemCommandOptions;
      setCode(await systemCommand(makeContext(this.optsWithGlobals() as GlobalOptions, io), o));
    });
}
