/**
 * `pagelens kernel`: what the running kernel offers pagelens, and what it
 * lacks, with the reason, so a user knows which numbers the tool can give here.
 */
import type { Command } from "commander";
import { renderKernelTable, writeKernelCsv } from "../../render/kernel-render.js";
import { kernelView } from "../../views/kernel.js";
import { makeContext, type Context, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { noteFit, rejectJsonAndCsv, tableOutput } from "./output.js";

export function kernelCommand(ctx: Context, o: { readonly json: boolean; readonly csv?: boolean; readonly wide?: boolean }): number {
  rejectJsonAndCsv(o);
  const report = kernelView(ctx);
  if (o.json) ctx.io.stdout(JSON.stringify(report, null, 2) + "\n");
  else if (o.csv) writeKernelCsv(report, ctx.io.stdout);
  else {
    const t = tableOutput(ctx, "human", o.wide === true);
    ctx.io.stdout(renderKernelTable(report, t));
    noteFit(ctx, t);
  }
  return 0;
}

export function registerKernelCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  program
    .command("kernel")
    .description("what the running kernel offers pagelens, and what it lacks (and why)")
    .option("--json", "print one JSON document", false)
    .option("--csv", "print the features as CSV", false)
    .option("--wide", "show every column whole, even when it does not fit the terminal", false)
    .action(function (this: Command) {
      const o = this.opts() as { json: boolean; csv: boolean; wide: boolean };
      setCode(kernelCommand(makeContext(this.optsWithGlobals() as GlobalOptions, io), o));
    });
}
