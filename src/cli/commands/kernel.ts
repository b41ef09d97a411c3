/** `pagelens kernel`: what the running kernel offers pagelens, and what it lacks (and why). */
import type { Command } from "commander";
import { renderKernelTable } from "../../render/kernel-render.js";
import { kernelView } from "../../views/kernel.js";
import { makeContext, type Context, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";

export function kernelCommand(ctx: Context, json: boolean): number {
  const report = kernelView(ctx);
  ctx.io.stdout(json ? JSON.stringify(report, null, 2) + "\n" : renderKernelTable(report));
  return 0;
}

export function registerKernelCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  program
    .command("kernel")
    .description("what the running kernel offers pagelens, and what it lacks (and why)")
    .option("--json", "print one JSON document", false)
    .action(function (this: Command) {
      const o = this.opts() as { json: boolean };
      setCode(kernelCommand(makeContext(this.optsWithGlobals() as GlobalOptions, io), o.json));
    });
}
