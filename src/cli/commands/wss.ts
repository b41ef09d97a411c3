/**
 * `pagelens wss PID...`: working-set size over time: how much of each
 * process's memory was used in each interval, by the best mechanism the
 * kernel offers, one line per interval, then a summary.
 */
import { Option, type Command } from "commander";
import { UsageError } from "../../errors.js";
import { renderWssInterval, renderWssIntervalJson, renderWssPreamble, renderWssSummary, renderWssSummaryJson } from "../../render/wss-render.js";
import { UNITS, type Unit } from "../../render/units.js";
import { METHOD_SCOPE } from "../../report/wss-report.js";
import { WSS_METHODS, type WssMethod } from "../../scan/working-set.js";
import { wssView } from "../../views/wss.js";
import { makeContext, printNotes, type Context, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { parsePid, parseUnit } from "../options.js";
import { parseCount } from "./libs.js";

export interface WssCommandOptions {
  readonly interval: number;
  readonly count: number;
  readonly method: WssMethod | "auto";
  readonly reset: boolean;
  readonly mappings?: number;
  readonly units: Unit;
  readonly json: boolean;
}

/** Seconds, at least 0.1 (a shorter interval measures the reading more than the process). */
export function parseSeconds(text: string): number {
  const n = Number(text.trim());
  if (!/^[0-9]*\.?[0-9]+$/.test(text.trim()) || !(n >= 0.1) || n > 86400) throw new UsageError(`--interval: expected seconds between 0.1 and 86400, got ${JSON.stringify(text)}`);
  return n;
}

/** A wait that ends early, without error, when the signal aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export async function wssCommand(ctx: Context, pids: readonly number[], o: WssCommandOptions): Promise<number> {
  const stop = new AbortController();
  // Ctrl-C ends the measurement: the interval in progress is dropped, the summary is printed.
  const onInterrupt = (): void => stop.abort();
  process.once("SIGINT", onInterrupt);
  process.once("SIGTERM", onInterrupt);
  let preamble = false;
  try {
    const report = await wssView(
      ctx,
      pids,
      { interval: o.interval, count: o.count, method: o.method, reset: o.reset, mappings: o.mappings },
      {
        sleep,
        signal: stop.signal,
        onInterval: (iv, processes) => ctx.io.stdout(o.json ? renderWssIntervalJson(iv) : renderWssInterval(iv, processes, o.units)),
        onStart: (r) => {
          preamble = true;
          if (!o.json) ctx.io.stdout(renderWssPreamble(r));
        },
      },
    );
    if (!preamble && !o.json) ctx.io.stdout(renderWssPreamble(report));
    ctx.io.stdout(o.json ? renderWssSummaryJson(report) : renderWssSummary(report, o.units));
    printNotes(ctx, report.notes);
    return 0;
  } finally {
    process.removeListener("SIGINT", onInterrupt);
    process.removeListener("SIGTERM", onInterrupt);
  }
}

const WSS_HELP = `
Methods (--method; auto picks the first this kernel has, see "pagelens kernel"):
  idle        ${METHOD_SCOPE.idle.sees}.
              Needs root and CONFIG_IDLE_PAGE_TRACKING. Resets nothing reclaim uses.
  accessed    ${METHOD_SCOPE.accessed.sees}.
  soft-dirty  ${METHOD_SCOPE["soft-dirty"].sees}. Needs CONFIG_MEM_SOFT_DIRTY.

Why --reset: the accessed and soft-dirty methods work by resetting the process's
page bits at every interval, and those bits are what the kernel itself uses:
  accessed    ${METHOD_SCOPE.accessed.resets}.
  soft-dirty  ${METHOD_SCOPE["soft-dirty"].resets}.
pagelens never does this unless --reset is given. Resetting needs the process's
owner or root (write access to /proc/PID/clear_refs).

Ctrl-C stops the measurement and prints the summary of the intervals completed.
`;

/** Register `wss` on the program (run.ts calls this once). */
export function registerWssCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  program
    .command("wss")
    .description("working-set size over time: the memory each process used in each interval, then a summary")
    .argument("<pid...>", "processes to measure")
    .option("--interval <seconds>", "length of each interval", parseSeconds, 5)
    .option("--count <n>", "intervals to measure (default: until Ctrl-C)", (t: string) => parseCount(t, "--count"))
    .addOption(new Option("--method <method>", "how to see use").choices(["auto", ...WSS_METHODS]).default("auto"))
    .option("--reset", "allow resetting the process's accessed or soft-dirty bits (see below)", false)
    .option("--mappings <n>", "also show the N mappings with the most pages used", (t: string) => parseCount(t, "--mappings"))
    .addOption(new Option("--units <unit>", `size units: ${UNITS.join(", ")}`).default("human").argParser(parseUnit))
    .option("--json", "print JSON lines: one per interval, then the summary (sizes in bytes)", false)
    .addHelpText("after", WSS_HELP)
    .action(async function (this: Command, pidArgs: string[]) {
      const o = this.opts() as Omit<WssCommandOptions, "count"> & { count?: number };
      const pids = [...new Set(pidArgs.map((t) => parsePid(t)))];
      setCode(await wssCommand(makeContext(this.optsWithGlobals() as GlobalOptions, io), pids, { ...o, count: o.count ?? 0 }));
    });
}
